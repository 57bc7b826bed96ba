/* libFuzzer target: the emulator's FPU unit given any decoded instruction
 * (map, opcode, prefixes, ModRM fields, address, immediate), any register
 * state and any memory contents never crashes, never asks for memory
 * outside the fake guest area or for a general register beyond 15, and
 * leaves the state untouched when it refuses (#UD, #GP, #MF) or faults. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/fpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM 1024

struct fz {
	uint8_t mem[MEM];
	uint64_t gpr[16];
	uint64_t rflags;
	unsigned failed_accesses;
};

static int fz_read(void *cpu, uint64_t la, void *buf, unsigned len)
{
	struct fz *f = cpu;

	if (len < 1 || len > 512)
		abort();
	if (la > MEM || len > MEM - la) {
		f->failed_accesses++;
		return -1;
	}
	memcpy(buf, f->mem + la, len);
	return 0;
}

static int fz_write(void *cpu, uint64_t la, const void *buf, unsigned len)
{
	struct fz *f = cpu;

	if (len < 1 || len > 512)
		abort();
	if (la > MEM || len > MEM - la) {
		f->failed_accesses++;
		return -1;
	}
	memcpy(f->mem + la, buf, len);
	return 0;
}

static uint64_t fz_get(void *cpu, int reg)
{
	if (reg < 0 || reg > 15)
		abort();
	return ((struct fz *)cpu)->gpr[reg];
}

static void fz_set(void *cpu, int reg, uint64_t v)
{
	if (reg < 0 || reg > 15)
		abort();
	((struct fz *)cpu)->gpr[reg] = v;
}

static size_t take(const uint8_t **data, size_t *size, void *out, size_t n)
{
	size_t k = n < *size ? n : *size;

	memset(out, 0, n);
	memcpy(out, *data, k);
	*data += k;
	*size -= k;
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t prefixes[4] = { 0, 0x66, 0xf2, 0xf3 };
	static const uint64_t eas[8] = { 0, 0x10, 0x100, MEM - 16, MEM - 8, MEM - 1, MEM, ~0ull - 7 };
	static struct fz f, before_mem;
	struct vs_emu_fpu fpu, before;
	struct vs_emu_fpu_insn in;
	struct vs_emu_fpu_env env = { &f, fz_read, fz_write, fz_get, fz_set, &f.rflags };
	uint8_t b[12];
	enum vs_emu_fpu_status st;

	memset(&in, 0, sizeof(in));
	take(&data, &size, b, sizeof(b));
	in.map = b[0] & 3;
	in.opcode = b[1];
	in.mandatory = prefixes[b[2] & 3];
	in.opsize16 = (b[2] & 4) || in.mandatory == 0x66;
	in.rex_w = b[2] & 8;
	in.is_mem = b[2] & 16;
	in.long_mode = !(b[2] & 32);
	in.modrm = b[3];
	if (b[2] & 64) { /* ModRM fields consistent with the raw byte */
		in.is_mem = (b[3] >> 6) != 3;
		in.reg = (uint8_t)((b[3] >> 3) & 7);
		in.rm = (uint8_t)(b[3] & 7);
	} else {
		in.reg = b[4] & 15;
		in.rm = b[5] & 15;
	}
	in.imm8 = b[6];
	in.ea = (b[7] & 8) ? eas[b[7] & 7] : ((uint64_t)b[8] << 8 | b[9]) % (MEM + 64);
	in.rip = b[10];

	/* Any register image, but an MXCSR the architecture allows. */
	vs_emu_fpu_reset(&fpu);
	take(&data, &size, &fpu, sizeof(fpu));
	fpu.mxcsr &= 0xffff;
	take(&data, &size, f.gpr, sizeof(f.gpr));
	take(&data, &size, &f.rflags, sizeof(f.rflags));
	take(&data, &size, f.mem, sizeof(f.mem));
	f.failed_accesses = 0;
	before = fpu;
	before_mem = f;

	st = vs_emu_fpu_exec(&fpu, &in, &env);
	(void)vs_emu_fpu_has_imm8(in.map, in.opcode);

	if (st > VS_EMU_FPU_FAULT)
		abort();
	if (st == VS_EMU_FPU_FAULT && f.failed_accesses == 0)
		abort(); /* a fault the core would never see */
	if (st != VS_EMU_FPU_FAULT && f.failed_accesses != 0)
		abort(); /* a swallowed fault */
	if (st == VS_EMU_FPU_UD || st == VS_EMU_FPU_GP || st == VS_EMU_FPU_MF) {
		if (memcmp(&fpu, &before, sizeof(fpu)) || memcmp(&f, &before_mem, sizeof(f)))
			abort(); /* a refused instruction changed something */
	}
	if (st == VS_EMU_FPU_FAULT && memcmp(&fpu, &before, sizeof(fpu)))
		abort();
	if (fpu.mxcsr & ~0xffffu)
		abort();
	return 0;
}
