/* libFuzzer target: any byte string as guest code on the emulated CPU, in
 * real, 32-bit or 64-bit mode (chosen by the first byte), for a bounded
 * number of instructions. It must never crash or hang vessel, nor touch
 * memory outside guest RAM (AddressSanitizer watches the host). The same
 * bytes also fill the IDT area so that exceptions land somewhere.
 *
 * The input runs twice, on two guests: one vCPU compiles every block with
 * the JIT on its first run (jit.c), the other runs the decoded records
 * only (VESSEL_EMU_JIT=0). Both must end in the same architectural state
 * (registers, flags, instruction count, the low 2 MiB of RAM): the JIT
 * must do exactly what the records do, faults and self-modifying code
 * included. Inputs that read the host clock (RDTSC, RDTSCP, RDMSR, RDPMC)
 * are not compared. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../unit/emu/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STEPS 4000
#define COMPARED_RAM (2u << 20)

GUEST_CODE(g_warm, "out %al, $0xe0\n");

/* A guest whose vCPU reads the JIT settings now, on its first run. */
static void guest_init(struct emu_t *t, const char *jit, const char *hot)
{
	if (emu_t_init(t) < 0)
		abort();
	setenv("VESSEL_EMU_JIT", jit, 1);
	setenv("VESSEL_EMU_JIT_HOT", hot, 1);
	emu_t_code(t, g_warm, g_warm_end);
	emu_t_long64(t);
	emu_t_run(t);
	unsetenv("VESSEL_EMU_JIT");
	unsetenv("VESSEL_EMU_JIT_HOT");
}

/* Run the input; returns the instructions it executed. */
static uint64_t run(struct emu_t *t, uint8_t mode, const uint8_t *data, size_t size)
{
	struct vs_error err;
	uint64_t start = vs_emu_instructions(t->vcpu);
	madvise(t->mem.base, t->mem.total, MADV_DONTNEED);
	if (mode == 0)
		emu_t_long64(t);
	else if (mode == 1)
		emu_t_prot32(t);
	else
		emu_t_real(t);
	vs_gpa_write(&t->mem, CODE, data, size);
	/* IDT entries made of the input too: wild handlers, odd gates. */
	vs_gpa_write(&t->mem, IDT_BASE + 0x100, data, size < 0xf00 ? size : 0xf00);
	if (vs_accel_emu_ops.vcpu_set_state(t->vcpu, &t->st, &err) < 0)
		abort();
	vs_emu_set_step_limit(t->vcpu, STEPS);
	for (int i = 0; i < 4; i++) {
		uint64_t before = vs_emu_instructions(t->vcpu);
		/* Returns on the step limit, HLT, shutdown or the stop port. */
		if (vs_accel_emu_ops.vcpu_run(t->vcpu, &t->exit) < 0)
			abort();
		if (t->exit.kind != VS_EXIT_INTR)
			break;
		if (vs_emu_instructions(t->vcpu) == before)
			break;
		vs_emu_set_step_limit(t->vcpu, STEPS / 4);
	}
	vs_emu_set_step_limit(t->vcpu, 0);
	vs_accel_emu_ops.vcpu_get_state(t->vcpu, &t->st);
	return vs_emu_instructions(t->vcpu) - start;
}

static bool reads_clock(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == 0x0f && (data[i + 1] == 0x31 || data[i + 1] == 0x32 || data[i + 1] == 0x33 ||
					(data[i + 1] == 0x01 && i + 2 < size && data[i + 2] == 0xf9)))
			return true;
	return false;
}

static void same_state(const struct emu_t *a, const struct emu_t *b, uint64_t na, uint64_t nb)
{
	const struct vs_cpu_state *x = &a->st, *y = &b->st;
	const uint64_t gx[] = { x->rax, x->rbx, x->rcx, x->rdx,	   x->rsi, x->rdi, x->rsp,
				x->rbp, x->r8,	x->r9,	x->r10,	   x->r11, x->r12, x->r13,
				x->r14, x->r15, x->rip, x->rflags, x->cr2 };
	const uint64_t gy[] = { y->rax, y->rbx, y->rcx, y->rdx,	   y->rsi, y->rdi, y->rsp,
				y->rbp, y->r8,	y->r9,	y->r10,	   y->r11, y->r12, y->r13,
				y->r14, y->r15, y->rip, y->rflags, y->cr2 };
	if (memcmp(gx, gy, sizeof(gx)) != 0 || a->exit.kind != b->exit.kind || na != nb ||
	    memcmp(a->mem.base, b->mem.base, COMPARED_RAM) != 0)
		abort(); /* the JIT and the records disagree */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Two guests for the whole process; their RAM is zeroed per input. */
	static struct emu_t jit, rec;
	static int ready;
	uint8_t mode;
	uint64_t nj, nr;
	if (!ready) {
		guest_init(&jit, "1", "1");
		guest_init(&rec, "0", "1");
		ready = 1;
	}
	if (size < 1)
		return 0;
	mode = data[0] % 3;
	data++;
	size--;
	if (size > 0x4000)
		size = 0x4000;
	nj = run(&jit, mode, data, size);
	nr = run(&rec, mode, data, size);
	if (!reads_clock(data, size))
		same_state(&jit, &rec, nj, nr);
	return 0;
}
