/* Differential harness for the FPU unit: the same instruction, encoded as
 * real machine code, runs natively on the host CPU (from an FXRSTOR64'd
 * state, captured with FXSAVE64) and through vs_emu_fpu_exec (from the
 * same image, loaded with the unit's own FXRSTOR64); the images, the
 * memory operand area, the general registers and RFLAGS must agree. */
#ifndef VESSEL_TESTS_FPU_HARNESS_H
#define VESSEL_TESTS_FPU_HARNESS_H

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "accel/emu/fpu.h"

/* ---- native side ------------------------------------------------------ */

struct h_native {
	uint64_t gpr[16];			      /* 0: rax..r15; 0-3 and 8-11 are loaded and saved */
	uint64_t rflags;			      /* 128 */
	uint64_t mem;				      /* 136: rsi, the memory operand's base */
	uint64_t code;				      /* 144 */
	uint64_t host_mxcsr;			      /* 152 */
	uint8_t fx[512] __attribute__((aligned(16))); /* 160 */
};

void h_native_run(struct h_native *n);
__asm__(".text\n"
	".type h_native_run, @function\n"
	"h_native_run:\n"
	"push %rbx\n push %r12\n push %r13\n push %r14\n"
	"mov %rdi, %r12\n"
	"stmxcsr 152(%r12)\n"
	"fxrstor64 160(%r12)\n"
	"mov 0(%r12), %rax\n mov 8(%r12), %rcx\n mov 16(%r12), %rdx\n mov 24(%r12), %rbx\n"
	"mov 64(%r12), %r8\n mov 72(%r12), %r9\n mov 80(%r12), %r10\n mov 88(%r12), %r11\n"
	"mov 136(%r12), %rsi\n"
	"pushq 128(%r12)\n popfq\n"
	"call *144(%r12)\n"
	"pushfq\n popq 128(%r12)\n"
	"mov %rax, 0(%r12)\n mov %rcx, 8(%r12)\n mov %rdx, 16(%r12)\n mov %rbx, 24(%r12)\n"
	"mov %r8, 64(%r12)\n mov %r9, 72(%r12)\n mov %r10, 80(%r12)\n mov %r11, 88(%r12)\n"
	"fxsave64 160(%r12)\n"
	"fninit\n ldmxcsr 152(%r12)\n"
	"pop %r14\n pop %r13\n pop %r12\n pop %rbx\n"
	"ret\n"
	".size h_native_run, .-h_native_run\n");

/* A SIMD exception the test leaves unmasked arrives as SIGFPE: the handler
 * keeps the state at the fault (destination untouched, flags set) and
 * jumps back. */
static sigjmp_buf h_fpe_jmp;
static uint8_t h_fpe_fx[512];

/* SIGILL (an encoding the host refuses) comes back the same way, as 2. */
static inline void h_fpe_handler(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)si;
	memcpy(h_fpe_fx, uc->uc_mcontext.fpregs, 512);
	siglongjmp(h_fpe_jmp, sig == SIGILL ? 2 : 1);
}

static uint8_t *h_code;
static uint64_t h_rng = 0x9e3779b97f4a7c15ull;

static inline void h_init(void)
{
	struct sigaction sa;

	if (!h_code) {
		h_code =
		    mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (h_code == MAP_FAILED)
			h_code = NULL;
	}
	/* H_SEED=n explores other operands; the default seed is fixed. */
	if (getenv("H_SEED"))
		h_rng ^= strtoull(getenv("H_SEED"), NULL, 0) * 0x9e3779b97f4a7c15ull;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_fpe_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
}

/* ---- the instruction -------------------------------------------------- */

struct h_insn {
	uint8_t map, opcode, prefix; /* prefix: 0, 0x66, 0xf2, 0xf3 */
	bool rex_w, is_mem;
	uint8_t reg, rm; /* full register numbers; reg may be a sub-opcode */
	uint8_t imm8;
	bool has_imm;
	uint32_t ea; /* offset in the memory area */
};

/* Machine code: [prefix] [REX] [0F] opcode ModRM [imm8] ret. A memory
 * operand is [rsi] (mod 00, rm 110), rsi pointing into the area. */
static inline unsigned h_encode(const struct h_insn *in, uint8_t *b)
{
	unsigned n = 0;
	uint8_t rex = 0x40;

	if (in->prefix)
		b[n++] = in->prefix;
	if (in->rex_w)
		rex |= 8;
	if (in->reg & 8)
		rex |= 4;
	if (!in->is_mem && (in->rm & 8))
		rex |= 1;
	if (rex != 0x40)
		b[n++] = rex;
	if (in->map == 1)
		b[n++] = 0x0f;
	b[n++] = in->opcode;
	b[n++] =
	    (uint8_t)(in->is_mem ? ((in->reg & 7) << 3 | 6) : (0xc0 | (in->reg & 7) << 3 | (in->rm & 7)));
	if (in->has_imm)
		b[n++] = in->imm8;
	b[n++] = 0xc3;
	return n;
}

/* ---- emulated side ---------------------------------------------------- */

#define H_MEM 4096
struct h_cpu {
	uint8_t mem[H_MEM];
	uint64_t gpr[16];
	uint64_t rflags;
	unsigned faults;
};

static inline int h_read(void *cpu, uint64_t la, void *buf, unsigned len)
{
	struct h_cpu *c = cpu;

	if (la > H_MEM || len > H_MEM - la) {
		c->faults++;
		return -1;
	}
	memcpy(buf, c->mem + la, len);
	return 0;
}

static inline int h_write(void *cpu, uint64_t la, const void *buf, unsigned len)
{
	struct h_cpu *c = cpu;

	if (la > H_MEM || len > H_MEM - la) {
		c->faults++;
		return -1;
	}
	memcpy(c->mem + la, buf, len);
	return 0;
}

static inline uint64_t h_get_gpr(void *cpu, int reg)
{
	return ((struct h_cpu *)cpu)->gpr[reg & 15];
}

static inline void h_set_gpr(void *cpu, int reg, uint64_t v)
{
	((struct h_cpu *)cpu)->gpr[reg & 15] = v;
}

static inline struct vs_emu_fpu_env h_env(struct h_cpu *c)
{
	struct vs_emu_fpu_env env = { c, h_read, h_write, h_get_gpr, h_set_gpr, &c->rflags };

	return env;
}

static inline struct vs_emu_fpu_insn h_to_emu(const struct h_insn *in)
{
	struct vs_emu_fpu_insn e;

	memset(&e, 0, sizeof(e));
	e.map = in->map;
	e.opcode = in->opcode;
	e.mandatory = in->prefix;
	e.opsize16 = in->prefix == 0x66;
	e.rex_w = in->rex_w;
	e.reg = in->reg;
	e.rm = in->is_mem ? 0 : in->rm;
	e.modrm =
	    (uint8_t)(in->is_mem ? ((in->reg & 7) << 3 | 6) : (0xc0 | (in->reg & 7) << 3 | (in->rm & 7)));
	e.is_mem = in->is_mem;
	e.ea = in->ea;
	e.imm8 = in->imm8;
	e.long_mode = true;
	e.rip = 0x1000;
	return e;
}

/* FXRSTOR64 / FXSAVE64 through the unit itself, from/to offset 2048 of a
 * scratch cpu. */
static inline int h_emu_fx(struct vs_emu_fpu *fpu, uint8_t *img, bool save)
{
	static struct h_cpu scratch;
	struct vs_emu_fpu_env env = h_env(&scratch);
	struct vs_emu_fpu_insn e;

	memset(&e, 0, sizeof(e));
	e.map = 1;
	e.opcode = 0xae;
	e.reg = save ? 0 : 1;
	e.modrm = (uint8_t)(e.reg << 3 | 6);
	e.is_mem = true;
	e.ea = 2048;
	e.rex_w = true;
	e.long_mode = true;
	memcpy(scratch.mem + 2048, img, 512);
	if (vs_emu_fpu_exec(fpu, &e, &env) != VS_EMU_FPU_OK)
		return -1;
	if (save)
		memcpy(img, scratch.mem + 2048, 512);
	return 0;
}

/* ---- random operands -------------------------------------------------- */

static inline uint64_t h_rand(void)
{
	/* xorshift64*: fixed seed, reproducible */
	h_rng ^= h_rng >> 12;
	h_rng ^= h_rng << 25;
	h_rng ^= h_rng >> 27;
	return h_rng * 0x2545f4914f6cdd1dull;
}

static inline unsigned h_pick(unsigned n)
{
	return (unsigned)(h_rand() % n);
}

static inline uint32_t h_f32(void)
{
	static const uint32_t special[] = {
		0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
		0x7fc00000, 0xffc00001, 0x7f800001, 0x7fa00000, 0x00000001, 0x807fffff,
		0x00800000, 0x7f7fffff, 0xff7fffff, 0x4f000000, 0xcf000000, 0x4effffff,
		0xcf000001, 0x5f000000, 0xdf000000, 0x3f000000, 0x3fc00000, 0x40200000,
	};
	uint32_t r = (uint32_t)h_rand();

	switch (h_pick(4)) {
	case 0:
		return special[h_pick(sizeof(special) / sizeof(special[0]))];
	case 1:
		return r;
	default: /* ordinary numbers of moderate size */
		return (r & 0x807fffff) | ((uint32_t)(110 + h_pick(40)) << 23);
	}
}

static inline uint64_t h_f64(void)
{
	static const uint64_t special[] = {
		0,
		0x8000000000000000ull,
		0x3ff0000000000000ull,
		0xbff0000000000000ull,
		0x7ff0000000000000ull,
		0xfff0000000000000ull,
		0x7ff8000000000000ull,
		0xfff8000000000001ull,
		0x7ff0000000000001ull,
		0x7ff4000000000000ull,
		1,
		0x800fffffffffffffull,
		0x0010000000000000ull,
		0x7fefffffffffffffull,
		0x41e0000000000000ull,
		0xc1e0000000000000ull,
		0x41dfffffffc00000ull,
		0xc1e0000000200000ull,
		0x43e0000000000000ull,
		0xc3e0000000000000ull,
		0x3fe0000000000000ull,
		0x3ff8000000000000ull,
		0x4004000000000000ull,
		0x36a0000000000000ull,
		0x3810000000000000ull,
		0x47f0000000000000ull,
	};
	uint64_t r = h_rand();

	switch (h_pick(4)) {
	case 0:
		return special[h_pick(sizeof(special) / sizeof(special[0]))];
	case 1:
		return r;
	default:
		return (r & 0x800fffffffffffffull) | ((uint64_t)(1000 + h_pick(48)) << 52);
	}
}

static inline uint32_t h_i32(void)
{
	static const uint32_t special[] = { 0,	    1,	    0xffffffff, 0x7fffffff, 0x80000000, 0x7fff,
					    0x8000, 0xffff, 0x80,	0x7f,	    0xff,	0x01000001 };

	if (h_pick(3) == 0)
		return special[h_pick(sizeof(special) / sizeof(special[0]))];
	return (uint32_t)h_rand() >> h_pick(32);
}

/* 16 bytes of one flavour: float lanes, double lanes or integers. */
static inline void h_fill16(uint8_t *p)
{
	unsigned kind = h_pick(3);

	for (unsigned i = 0; i < 16; i += kind == 1 ? 8 : 4) {
		if (kind == 0) {
			uint32_t v = h_f32();
			memcpy(p + i, &v, 4);
		} else if (kind == 1) {
			uint64_t v = h_f64();
			memcpy(p + i, &v, 8);
		} else {
			uint32_t v = h_i32();
			memcpy(p + i, &v, 4);
		}
	}
}

/* An 80-bit value: normals, zeros, infinities, NaNs, denormals,
 * unnormals, integers and values that round at every precision. */
static inline void h_f80(uint8_t *p)
{
	uint64_t m = h_rand();
	uint16_t se = (uint16_t)(h_rand() & 0x8000);

	switch (h_pick(12)) {
	case 0: /* zero */
		m = 0;
		break;
	case 1: /* infinity */
		m = 1ull << 63;
		se |= 0x7fff;
		break;
	case 2: /* NaN, quiet or signalling */
		m |= 1ull << 63;
		if (h_pick(2))
			m |= 1ull << 62;
		else
			m &= ~(1ull << 62);
		se |= 0x7fff;
		break;
	case 3: /* denormal */
		m >>= 1 + h_pick(62);
		break;
	case 4: /* integer-valued */
		m = (h_rand() >> h_pick(64)) | 1;
		{
			int sh = __builtin_clzll(m);
			m <<= sh;
			se |= (uint16_t)(16383 + 63 - sh);
		}
		break;
	case 5: /* huge or tiny */
		m |= 1ull << 63;
		se |= (uint16_t)(h_pick(2) ? 0x7ffe - h_pick(20) : 1 + h_pick(20));
		break;
	case 6: /* unnormal (unsupported) */
		m &= ~(1ull << 63);
		se |= (uint16_t)(16383 + h_pick(10));
		break;
	default: /* ordinary, around 1 */
		m |= 1ull << 63;
		se |= (uint16_t)(16383 - 40 + h_pick(80));
		break;
	}
	memcpy(p, &m, 8);
	memcpy(p + 8, &se, 2);
}

/* A random, consistent FXSAVE64 image. x87: every exception masked
 * unless unmask_x87 (flags then only where masked, so nothing is
 * pending); SSE: masks as given. */
static inline void h_random_image(uint8_t *fx, bool unmask_x87, uint32_t mxcsr_masks)
{
	static const uint16_t pcs[3] = { 0x000, 0x200, 0x300 };
	uint16_t fcw = (uint16_t)(0x40 | pcs[h_pick(3)] | (h_pick(4) << 10) | 0x3f);
	uint16_t fsw;
	uint32_t mxcsr, mmask = 0xffff;

	if (unmask_x87)
		fcw = (uint16_t)(fcw & ~(h_rand() & 0x3f));
	fsw = (uint16_t)((h_rand() & 0x4700) | (h_pick(8) << 11) | (h_rand() & 0x3f & fcw));
	memset(fx, 0, 512);
	memcpy(fx + 0, &fcw, 2);
	memcpy(fx + 2, &fsw, 2);
	fx[4] = (uint8_t)h_rand();
	mxcsr = (uint32_t)((h_rand() & 0x3f) | mxcsr_masks | (h_pick(4) << 13) | (h_pick(2) ? 0x40 : 0) |
			   (h_pick(2) ? 0x8000 : 0));
	memcpy(fx + 24, &mxcsr, 4);
	memcpy(fx + 28, &mmask, 4);
	for (unsigned i = 0; i < 8; i++) {
		if (h_pick(4) == 0) { /* an MMX-looking integer */
			uint64_t v = h_rand();
			uint16_t se = 0xffff;
			memcpy(fx + 32 + 16 * i, &v, 8);
			memcpy(fx + 40 + 16 * i, &se, 2);
		} else {
			h_f80(fx + 32 + 16 * i);
		}
	}
	for (unsigned i = 0; i < 16; i++)
		h_fill16(fx + 160 + 16 * i);
}

/* ---- one differential run --------------------------------------------- */

struct h_result {
	bool native_ill;   /* SIGILL natively */
	bool native_fault; /* SIGFPE natively */
	enum vs_emu_fpu_status emu;
	unsigned mismatches;
};

/* Bytes of the FXSAVE image not compared: FOP, FIP, FDP (AMD stores them
 * only with an exception pending), MXCSR_MASK (the unit advertises its
 * own, AMD hosts add bit 17) and the reserved tail. */
static inline bool h_fx_ignored(unsigned off)
{
	return (off >= 6 && off < 24) || (off >= 28 && off < 32) || off >= 416;
}

static unsigned h_prints;

/* FSW bits a test does not compare for the current form: condition codes
 * the SDM leaves undefined, where the unit does what AMD hosts do. */
static uint16_t h_fsw_loose;

static inline bool h_host_is_amd(void)
{
	unsigned a = 0, b, c, d;

	__asm__("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	return b == 0x68747541; /* "Auth"enticAMD */
}

static inline void h_dump(const char *what, const uint8_t *a, const uint8_t *b, unsigned n, unsigned base)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i] && (strcmp(what, "fx") || !h_fx_ignored(i))) {
			printf("#     %s+%u: native %02x emu %02x\n", what, base + i, a[i], b[i]);
		}
}

/* Runs one instruction both ways from fx/mem/gpr/rflags. mem_skip masks a
 * byte range of the memory area (for FNSTENV's selectors). */
static inline struct h_result h_run(const char *name, const struct h_insn *in, const uint8_t *fx,
				    const uint8_t *mem, const uint64_t *gpr, uint64_t rflags,
				    unsigned mem_skip_lo, unsigned mem_skip_hi)
{
	static struct h_native nat;
	static struct h_cpu cpu;
	static uint8_t native_mem[H_MEM] __attribute__((aligned(16)));
	struct h_result res = { false, false, VS_EMU_FPU_OK, 0 };
	int jumped;
	struct vs_emu_fpu fpu;
	struct vs_emu_fpu_insn e = h_to_emu(in);
	struct vs_emu_fpu_env env;
	uint8_t emu_fx[512];
	unsigned n;

	/* native */
	memset(&nat, 0, sizeof(nat));
	memcpy(nat.fx, fx, 512);
	memcpy(nat.gpr, gpr, sizeof(nat.gpr));
	nat.rflags = rflags;
	memcpy(native_mem, mem, H_MEM);
	nat.mem = (uint64_t)(uintptr_t)(native_mem + in->ea);
	n = h_encode(in, h_code);
	(void)n;
	nat.code = (uint64_t)(uintptr_t)h_code;
	jumped = sigsetjmp(h_fpe_jmp, 1);
	if (jumped == 0) {
		h_native_run(&nat);
	} else {
		__asm__ __volatile__("fninit");
		res.native_fault = jumped == 1;
		res.native_ill = jumped == 2;
		memcpy(nat.fx, h_fpe_fx, 512);
	}

	/* emulated */
	vs_emu_fpu_reset(&fpu);
	memcpy(emu_fx, fx, 512);
	if (h_emu_fx(&fpu, emu_fx, false) < 0) {
		printf("#   %s: fxrstor64 of the random image refused\n", name);
		res.mismatches++;
		return res;
	}
	memcpy(cpu.mem, mem, H_MEM);
	memcpy(cpu.gpr, gpr, sizeof(cpu.gpr));
	cpu.rflags = rflags;
	env = h_env(&cpu);
	res.emu = vs_emu_fpu_exec(&fpu, &e, &env);
	h_emu_fx(&fpu, emu_fx, true);

	if (res.native_ill || res.emu == VS_EMU_FPU_UD) {
		if (!res.native_ill || res.emu != VS_EMU_FPU_UD) {
			res.mismatches++;
			printf("#   %s: modrm %02x: native %s, emu status %d\n", name, e.modrm,
			       res.native_ill ? "SIGILL" : "ran", res.emu);
		}
		return res;
	}
	if (res.native_fault != (res.emu == VS_EMU_FPU_XM))
		res.mismatches++;
	if (res.emu != VS_EMU_FPU_OK && res.emu != VS_EMU_FPU_XM)
		res.mismatches++;
	for (unsigned i = 0; i < 416; i++) {
		uint8_t loose = i == 2 ? (uint8_t)h_fsw_loose : i == 3 ? (uint8_t)(h_fsw_loose >> 8) : 0;

		if (!h_fx_ignored(i) && ((nat.fx[i] ^ emu_fx[i]) & ~loose))
			res.mismatches++;
	}
	if (!res.native_fault) {
		for (unsigned i = 0; i < H_MEM; i++)
			if ((i < mem_skip_lo || i >= mem_skip_hi) && native_mem[i] != cpu.mem[i])
				res.mismatches++;
		if (memcmp(nat.gpr, cpu.gpr, 4 * 8) || memcmp(nat.gpr + 8, cpu.gpr + 8, 4 * 8))
			res.mismatches++;
		if ((nat.rflags ^ cpu.rflags) & 0x8d5)
			res.mismatches++;
	}
	if (res.mismatches && h_prints < (getenv("H_PRINTS") ? 100000u : 12u)) {
		h_prints++;
		printf("#   %s: %02x %02x/%02x pfx %02x w%d %s reg %u rm %u imm %02x ea %u: native%s, emu "
		       "status %d\n",
		       name, in->map, in->opcode, in->reg, in->prefix, in->rex_w, in->is_mem ? "mem" : "reg",
		       in->reg, in->rm, in->imm8, in->ea, res.native_fault ? " SIGFPE" : "", res.emu);
		{
			uint32_t mx;
			uint16_t cw, sw;
			memcpy(&mx, fx + 24, 4);
			memcpy(&cw, fx, 2);
			memcpy(&sw, fx + 2, 2);
			printf("#     before: mxcsr %08x fcw %04x fsw %04x\n", mx, cw, sw);
		}
		h_dump("fx", nat.fx, emu_fx, 416, 0);
		if (!res.native_fault) {
			h_dump("mem", native_mem + in->ea, cpu.mem + in->ea, 16, in->ea);
			for (unsigned r = 0; r < 12; r++)
				if (nat.gpr[r] != cpu.gpr[r] && (r < 4 || r >= 8))
					printf("#     gpr%u: native %llx emu %llx\n", r,
					       (unsigned long long)nat.gpr[r],
					       (unsigned long long)cpu.gpr[r]);
			if ((nat.rflags ^ cpu.rflags) & 0x8d5)
				printf("#     rflags: native %llx emu %llx\n", (unsigned long long)nat.rflags,
				       (unsigned long long)cpu.rflags);
		}
	}
	return res;
}

/* Random memory area, general registers (operand registers 0-3, 8-11)
 * and arithmetic flags. */
static inline void h_random_world(uint8_t *mem, uint64_t *gpr, uint64_t *rflags)
{
	for (unsigned i = 0; i < H_MEM; i += 16)
		h_fill16(mem + i);
	for (unsigned i = 0; i < 16; i++) {
		gpr[i] = h_pick(2) ? h_i32() : h_rand();
		if (h_pick(4) == 0) { /* a float's or double's bits, for cvtsi2ss & co. */
			uint64_t f = h_f64();
			gpr[i] = f;
		}
	}
	*rflags = 0x2 | (h_rand() & 0x8d5);
}

/* GPR operand registers the native stub loads. */
static inline uint8_t h_gpr_reg(void)
{
	static const uint8_t r[8] = { 0, 1, 2, 3, 8, 9, 10, 11 };

	return r[h_pick(8)];
}

#endif
