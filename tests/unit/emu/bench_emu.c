/* emu-bench [N]: guest instructions per second of the emulated CPU on
 * CPU-bound loops (N million iterations of each, default 5): an integer
 * loop, a load/store loop, calls and returns, REP MOVSB page copies, and a
 * loop touching a new page each iteration (TLB misses). Not a test: the
 * numbers depend on the host and its load. */
#include <stdlib.h>
#include <time.h>

#include "harness.h"

#define STOP "out %al, $0xe0\n"

GUEST_CODE(b_int, "1: add %rcx, %rax\n xor %rdx, %rax\n dec %rcx\n jnz 1b\n" STOP);
GUEST_CODE(b_mem, "mov $0x100000, %rsi\n 1: mov (%rsi), %rdx\n add %rdx, 8(%rsi)\n lea 1(%rdx), %rdx\n"
		  "mov %rdx, (%rsi)\n dec %rcx\n jnz 1b\n" STOP);
GUEST_CODE(b_call,
	   "1: call 2f\n dec %rcx\n jnz 1b\n" STOP "2: push %rbx\n mov %rcx, %rbx\n pop %rbx\n ret\n");
GUEST_CODE(b_movs, "mov %rcx, %rbx\n 1: mov $0x100000, %rsi\n mov $0x200000, %rdi\n mov $4096, %ecx\n"
		   "rep movsb\n dec %rbx\n jnz 1b\n" STOP);
GUEST_CODE(b_pages, "mov $0x400000, %rdi\n 1: mov %rcx, (%rdi)\n add $4096, %rdi\n and $0x7fffff, %rdi\n"
		    "or $0x400000, %rdi\n dec %rcx\n jnz 1b\n" STOP);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bytes: guest bytes moved per iteration, to report a copy rate instead
 * (REP MOVSB counts as one instruction). */
static void row(const char *name, const uint8_t *start, const uint8_t *end, uint64_t iters, uint64_t bytes)
{
	struct emu_t t;
	struct vs_error err;
	double t0, t1;
	uint64_t n;
	if (emu_t_init(&t) < 0)
		exit(1);
	emu_t_code(&t, start, end);
	emu_t_long64(&t);
	t.st.rcx = iters;
	vs_accel_emu_ops.vcpu_set_state(t.vcpu, &t.st, &err);
	t0 = now();
	emu_t_resume(&t);
	t1 = now();
	n = vs_emu_instructions(t.vcpu);
	if (bytes)
		printf("%-28s %12llu bytes %8.3f s %8.1f MB/s\n", name, (unsigned long long)(bytes * iters),
		       t1 - t0, (double)(bytes * iters) / (t1 - t0) / 1e6);
	else
		printf("%-28s %12llu insns %8.3f s %8.1f MIPS\n", name, (unsigned long long)n, t1 - t0,
		       (double)n / (t1 - t0) / 1e6);
	emu_t_fini(&t);
}

int main(int argc, char **argv)
{
	double m = argc > 1 ? strtod(argv[1], NULL) : 5;
	uint64_t n = (uint64_t)(m * 1e6);
	row("integer loop", b_int, b_int_end, n, 0);
	row("load/store loop", b_mem, b_mem_end, n, 0);
	row("call/ret", b_call, b_call_end, n, 0);
	row("rep movsb 4 KiB", b_movs, b_movs_end, n / 100 + 1, 4096);
	row("new page per store (TLB)", b_pages, b_pages_end, n, 0);
	return 0;
}
