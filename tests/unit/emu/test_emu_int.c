/* Integer instructions in 64-bit mode: ALU and flags, shifts, multiply
 * and divide, bit operations, string instructions, LOCK'd operations. */
#include <time.h>

#include "harness.h"
#include "../tap.h"

#define STOP "out %al, $0xe0\n"

static struct emu_t T;

static bool setup(const uint8_t *start, const uint8_t *end)
{
	if (emu_t_init(&T) < 0)
		return false;
	emu_t_code(&T, start, end);
	emu_t_long64(&T);
	return true;
}

#define FLAGS_MASK 0x8d5 /* CF PF AF ZF SF OF */

GUEST_CODE(g_add, "add %rbx, %rax\n pushfq\n pop %rcx\n" STOP);
TEST(add_sets_carry_and_zero)
{
	if (!setup(g_add, g_add_end))
		SKIP("no guest");
	T.st.rax = ~0ull;
	T.st.rbx = 1;
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rax, 0);
	CHECK_EQ_U64(T.st.rcx & FLAGS_MASK, 0x55); /* CF PF AF ZF */
	CHECK_EQ_U64(T.st.rip, CODE + (g_add_end - g_add));
	emu_t_fini(&T);
}

GUEST_CODE(g_sub_of, "sub %ebx, %eax\n pushfq\n pop %rcx\n" STOP);
TEST(sub_overflow_32bit_zero_extends)
{
	if (!setup(g_sub_of, g_sub_of_end))
		SKIP("no guest");
	T.st.rax = 0xffffffff80000000ull;
	T.st.rbx = 1;
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax, 0x7fffffff);
	CHECK_EQ_U64(T.st.rcx & FLAGS_MASK, 0x814); /* OF AF PF */
	emu_t_fini(&T);
}

/* Sum 1..1000 with a loop: Jcc, INC, CMP, ADD. */
GUEST_CODE(g_loop, "xor %eax, %eax\n mov $1, %ecx\n"
		   "1: add %rcx, %rax\n inc %ecx\n cmp $1000, %ecx\n jbe 1b\n" STOP);
TEST(counted_loop)
{
	if (!setup(g_loop, g_loop_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax, 500500);
	CHECK_EQ_U64(T.st.rcx, 1001);
	emu_t_fini(&T);
}

GUEST_CODE(g_adc, "stc\n mov $0, %eax\n adc $0, %eax\n mov $5, %ebx\n stc\n sbb $2, %ebx\n"
		  "mov $0x80, %dl\n add %dl, %dl\n setc %sil\n seto %dil\n" STOP);
TEST(adc_sbb_setcc)
{
	if (!setup(g_adc, g_adc_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax, 1);
	CHECK_EQ_U64(T.st.rbx, 2);
	CHECK_EQ_U64(T.st.rdx & 0xff, 0);
	CHECK_EQ_U64(T.st.rsi & 0xff, 1);
	CHECK_EQ_U64(T.st.rdi & 0xff, 1);
	emu_t_fini(&T);
}

GUEST_CODE(g_shift, "mov $0x8000000000000001, %rax\n rol $1, %rax\n mov %rax, %rbx\n"
		    "mov $0xf0, %ecx\n shr $4, %ecx\n mov $-16, %rdx\n sar $2, %rdx\n"
		    "mov $0x1234, %esi\n mov $0xabcd, %edi\n shld $4, %di, %si\n"
		    "mov $1, %r8d\n stc\n rcl $1, %r8d\n mov $1, %r9\n mov $3, %cl\n shl %cl, %r9\n" STOP);
TEST(shifts_and_rotates)
{
	if (!setup(g_shift, g_shift_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rbx, 3);
	CHECK_EQ_U64(T.st.rcx & 0xff, 3);
	CHECK_EQ_U64(T.st.rdx, (uint64_t)-4);
	CHECK_EQ_U64(T.st.rsi, 0x234a);
	CHECK_EQ_U64(T.st.r8, 3);
	CHECK_EQ_U64(T.st.r9, 8);
	emu_t_fini(&T);
}

GUEST_CODE(g_muldiv, "mov $0x100000000, %rax\n mov $0x100000000, %rbx\n mul %rbx\n mov %rdx, %r8\n"
		     "mov $-7, %rax\n cqo\n mov $2, %rbx\n idiv %rbx\n mov %rax, %r9\n mov %rdx, %r10\n"
		     "mov $100, %eax\n imul $-3, %eax, %r11d\n mov $7, %ecx\n imul %ecx, %ecx\n" STOP);
TEST(multiply_divide)
{
	if (!setup(g_muldiv, g_muldiv_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.r8, 1);
	CHECK_EQ_U64(T.st.r9, (uint64_t)-3);
	CHECK_EQ_U64(T.st.r10, (uint64_t)-1);
	CHECK_EQ_U64(T.st.r11, 0xfffffed4);
	CHECK_EQ_U64(T.st.rcx, 49);
	emu_t_fini(&T);
}

/* #DE goes through IDT vector 0; the handler stops with the error-free
 * frame on the stack. */
GUEST_CODE(g_de, "xor %ecx, %ecx\n div %ecx\n" STOP);
GUEST_CODE(g_de_handler, "mov (%rsp), %rbx\n" STOP);
TEST(divide_error_is_delivered)
{
	if (!setup(g_de, g_de_end))
		SKIP("no guest");
	vs_gpa_write(&T.mem, CODE + 0x800, g_de_handler, (uint64_t)(g_de_handler_end - g_de_handler));
	emu_t_gate64(&T, 0, CODE + 0x800, 0, 0);
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rbx, CODE + 2); /* the faulting DIV */
	CHECK_EQ_U64(T.st.rsp, STACK_TOP - 40);
	emu_t_fini(&T);
}

GUEST_CODE(g_bits, "mov $0x10, %eax\n bsf %eax, %ebx\n bsr %eax, %ecx\n mov $5, %edx\n bts $1, %edx\n"
		   "setc %sil\n btr $0, %edx\n setc %dil\n mov $0x12345678, %r8d\n bswap %r8d\n"
		   "movzbl %r8b, %r9d\n movsbq %al, %r10\n mov $-1, %r11d\n movslq %r11d, %r11\n" STOP);
TEST(bit_operations)
{
	if (!setup(g_bits, g_bits_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rbx, 4);
	CHECK_EQ_U64(T.st.rcx, 4);
	CHECK_EQ_U64(T.st.rdx, 6);
	CHECK_EQ_U64(T.st.rsi & 0xff, 0);
	CHECK_EQ_U64(T.st.rdi & 0xff, 1);
	CHECK_EQ_U64(T.st.r8, 0x78563412);
	CHECK_EQ_U64(T.st.r9, 0x12);
	CHECK_EQ_U64(T.st.r10, 0x10);
	CHECK_EQ_U64(T.st.r11, ~0ull);
	emu_t_fini(&T);
}

GUEST_CODE(g_string, "mov $0x100000, %rdi\n mov $0xab, %eax\n mov $10000, %ecx\n rep stosb\n"
		     "mov $0x100000, %rsi\n mov $0x200000, %rdi\n mov $1250, %ecx\n rep movsq\n"
		     "mov $0x200000, %rdi\n mov $0xab, %al\n mov $20000, %ecx\n repe scasb\n"
		     "mov %rcx, %rbx\n" STOP);
TEST(rep_string_operations)
{
	uint8_t *p;
	if (!setup(g_string, g_string_end))
		SKIP("no guest");
	emu_t_run(&T);
	p = vs_gpa_ptr(&T.mem, 0x200000, 10001);
	CHECK(p && p[0] == 0xab && p[9999] == 0xab && p[10000] == 0);
	/* REPE SCASB stops after the first mismatch at index 10000. */
	CHECK_EQ_U64(T.st.rbx, 20000 - 10001);
	CHECK_EQ_U64(T.st.rdi, 0x200000 + 10001);
	emu_t_fini(&T);
}

GUEST_CODE(g_lock, "mov $0x100000, %rdi\n movq $5, (%rdi)\n lock addq $3, (%rdi)\n mov $1, %eax\n"
		   "lock xadd %rax, (%rdi)\n mov $9, %eax\n mov $42, %ebx\n lock cmpxchg %rbx, (%rdi)\n"
		   "mov %rax, %rcx\n mov $9, %eax\n lock cmpxchg %rbx, (%rdi)\n setz %dl\n" STOP);
TEST(locked_operations)
{
	if (!setup(g_lock, g_lock_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax, 42); /* the second CMPXCHG failed and loaded it */
	CHECK_EQ_U64(T.st.rcx, 9);
	CHECK_EQ_U64(T.st.rdx & 0xff, 0);
	CHECK_EQ_U64(emu_t_read64(&T, 0x100000), 42);
	emu_t_fini(&T);
}

GUEST_CODE(g_call, "lea 1f(%rip), %rax\n call *%rax\n mov $2, %ebx\n" STOP "1: mov $1, %ecx\n push %rcx\n"
		   "pop %rdx\n enter $16, $0\n leave\n ret\n");
TEST(call_ret_enter_leave)
{
	if (!setup(g_call, g_call_end))
		SKIP("no guest");
	T.st.rbp = 0x1234;
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rbx, 2);
	CHECK_EQ_U64(T.st.rcx, 1);
	CHECK_EQ_U64(T.st.rdx, 1);
	CHECK_EQ_U64(T.st.rbp, 0x1234);
	CHECK_EQ_U64(T.st.rsp, STACK_TOP);
	emu_t_fini(&T);
}

GUEST_CODE(g_ud, ".byte 0x0f, 0x0e\n" STOP);
GUEST_CODE(g_ud_handler, "mov (%rsp), %rbx\n" STOP);
TEST(unimplemented_opcode_raises_ud_and_is_counted)
{
	char buf[256] = { 0 };
	FILE *f;
	if (!setup(g_ud, g_ud_end))
		SKIP("no guest");
	vs_gpa_write(&T.mem, CODE + 0x800, g_ud_handler, (uint64_t)(g_ud_handler_end - g_ud_handler));
	emu_t_gate64(&T, 6, CODE + 0x800, 0, 0);
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rbx, CODE);
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	vs_accel_emu_ops.report(T.acc, f);
	fclose(f);
	CHECK(strstr(buf, "0f 0e: 1") != NULL);
	emu_t_fini(&T);
}

/* Speed, reported and not checked (the machine is shared and noisy): an
 * integer loop of 3 instructions per iteration, and a memory-heavy loop.
 * Sized to finish well inside the harness's watchdog under ASan on a
 * loaded host (about 8M instructions; ASan at load 20 ran 2.7 MIPS). */
GUEST_CODE(g_bench, "mov $2000000, %ecx\n xor %eax, %eax\n 1: add %rcx, %rax\n dec %rcx\n jnz 1b\n"
		    "mov $400000, %ecx\n mov $0x100000, %rsi\n 2: mov (%rsi), %rdx\n add %rdx, 8(%rsi)\n"
		    "lea 1(%rdx), %rdx\n mov %rdx, (%rsi)\n dec %ecx\n jnz 2b\n" STOP);
TEST(speed_of_integer_loops)
{
	struct timespec a, b;
	double s;
	if (!setup(g_bench, g_bench_end))
		SKIP("no guest");
	vs_accel_emu_ops.vcpu_set_state(T.vcpu, &T.st, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	emu_t_resume(&T);
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK_EQ_U64(T.st.rax, 2000001000000ull);
	printf("# %llu instructions in %.3f s: %.1f MIPS\n", (unsigned long long)vs_emu_instructions(T.vcpu),
	       s, (double)vs_emu_instructions(T.vcpu) / s / 1e6);
	emu_t_fini(&T);
}

VS_TAP_MAIN(TAP_CASE(add_sets_carry_and_zero), TAP_CASE(sub_overflow_32bit_zero_extends),
	    TAP_CASE(counted_loop), TAP_CASE(adc_sbb_setcc), TAP_CASE(shifts_and_rotates),
	    TAP_CASE(multiply_divide), TAP_CASE(divide_error_is_delivered), TAP_CASE(bit_operations),
	    TAP_CASE(rep_string_operations), TAP_CASE(locked_operations), TAP_CASE(call_ret_enter_leave),
	    TAP_CASE(unimplemented_opcode_raises_ud_and_is_counted), TAP_CASE(speed_of_integer_loops))
