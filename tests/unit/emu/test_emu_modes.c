/* 16- and 32-bit code: operand and address sizes, segment registers, far
 * calls and returns, the 32-bit IDT with a ring change, and LOCK'd
 * operations from two vCPUs at once. */
#include <pthread.h>

#include "../tap.h"
#include "harness.h"

#define STOP "out %al, $0xe0\n"

static struct emu_t T;

static bool setup32(const uint8_t *start, const uint8_t *end)
{
	if (emu_t_init(&T) < 0)
		return false;
	emu_t_code(&T, start, end);
	emu_t_prot32(&T);
	return true;
}

GUEST_CODE(g_ops32, ".code32\n mov $0x12345678, %eax\n mov %ax, %bx\n add $0x8000, %bx\n"
		    "movzwl %bx, %ecx\n movswl %bx, %edx\n xchg %al, %ah\n mov $3, %esi\n"
		    "cmp $4, %esi\n cmovb %esi, %edi\n setb %bl\n lea 0x10(%esi,%esi,2), %ebp\n"
		    "mov $0x100000, %esp\n push $0x7f\n pop %eax\n pushw $0x1234\n popw %ax\n" STOP);
TEST(operand_sizes_in_32bit_code)
{
	if (!setup32(g_ops32, g_ops32_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rcx, 0xd678);
	CHECK_EQ_U64(T.st.rdx, 0xffffd678);
	CHECK_EQ_U64(T.st.rax, 0x1234);
	CHECK_EQ_U64(T.st.rdi, 3);
	CHECK_EQ_U64(T.st.rbx & 0xff, 1);
	CHECK_EQ_U64(T.st.rbp, 0x19);
	CHECK_EQ_U64(T.st.rsp, 0x100000);
	emu_t_fini(&T);
}

/* Far CALL to a 16-bit code segment and far RET back; a 32-bit interrupt
 * gate; data segment loads. */
GUEST_CODE(g_far32, ".code32\n lcall $0x20, $(f16 - g_far32)\n mov %eax, %esi\n"
		    "int $0x21\n mov $0x10, %ax\n mov %ax, %es\n mov %es, %edx\n" STOP
		    ".code16\n f16: mov $0x4242, %ax\n lretl\n"
		    ".code32\n h21: mov $0x99, %edi\n mov 4(%esp), %ecx\n iret\n");
TEST(far_call_to_16bit_code_and_32bit_idt)
{
	if (!setup32(g_far32, g_far32_end))
		SKIP("no guest");
	/* h21 is the last 10 bytes: mov $imm32 (5), mov 4(%esp) (4), iret (1). */
	{
		uint64_t handler = CODE + (uint64_t)(g_far32_end - g_far32) - 1 - 4 - 5;
		uint64_t gate = (handler & 0xffff) | ((uint64_t)SEL_CODE32 << 16) | (0x8eull << 40) |
				((handler >> 16) << 48);
		emu_t_write64(&T, IDT_BASE + 0x21 * 8, gate);
	}
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rsi & 0xffff, 0x4242);
	CHECK_EQ_U64(T.st.rdi, 0x99);
	CHECK_EQ_U64(T.st.rcx, SEL_CODE32);
	CHECK_EQ_U64(T.st.rdx, SEL_DATA);
	CHECK_EQ_U64(T.st.rsp, STACK_TOP);
	emu_t_fini(&T);
}

/* 16-bit addressing forms, LOOP, string ops with 16-bit registers. */
GUEST_CODE(g_real16,
	   ".code16\n mov $0x2000, %bx\n mov $4, %si\n movw $0x1111, 6(%bx,%si)\n"
	   "mov 0x200a, %ax\n mov $5, %cx\n xor %dx, %dx\n 1: add %cx, %dx\n loop 1b\n"
	   "push %cs\n pop %es\n mov $0x3000, %di\n mov $3, %cx\n mov $0xab, %al\n cld\n rep stosb\n"
	   "mov %di, %bp\n" STOP);
TEST(real_mode_addressing_and_loops)
{
	uint8_t *p;
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_real16, g_real16_end);
	emu_t_real(&T);
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax & 0xffff, 0x11ab);
	CHECK_EQ_U64(T.st.rdx, 15);
	CHECK_EQ_U64(T.st.rbp, 0x3003);
	p = vs_gpa_ptr(&T.mem, CODE + 0x3000, 4);
	CHECK(p && p[0] == 0xab && p[2] == 0xab && p[3] == 0);
	emu_t_fini(&T);
}

/* Decimal and ASCII adjustments (legacy modes only). */
GUEST_CODE(g_bcd, ".code32\n mov $0x79, %al\n add $0x35, %al\n daa\n mov %eax, %ebx\n setc %cl\n"
		  "mov $0x47, %al\n aam\n mov %eax, %edx\n aad\n mov %eax, %esi\n"
		  "mov $0x35, %al\n sub $0x47, %al\n das\n mov %eax, %edi\n"
		  "xor %eax, %eax\n mov $0x0f, %al\n aaa\n mov %eax, %ebp\n" STOP);
TEST(decimal_adjust)
{
	if (!setup32(g_bcd, g_bcd_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rbx & 0xff, 0x14);
	CHECK_EQ_U64(T.st.rcx & 0xff, 1);
	CHECK_EQ_U64(T.st.rdx & 0xffff, 0x0701);
	CHECK_EQ_U64(T.st.rsi & 0xffff, 0x0047);
	CHECK_EQ_U64(T.st.rdi & 0xff, 0x88);
	CHECK_EQ_U64(T.st.rbp & 0xffff, 0x0105);
	emu_t_fini(&T);
}

/* Two vCPUs add to one counter with LOCK XADD and LOCK INC: no update may
 * be lost. */
GUEST_CODE(g_smp, "mov $200000, %ecx\n mov $1, %eax\n 1: lock xadd %eax, 0x300000\n mov $1, %eax\n"
		  "lock incl 0x300004\n dec %ecx\n jnz 1b\n hlt\n");

struct runner {
	struct vs_vcpu *vcpu;
	struct vs_exit exit;
};

static void *run_one(void *opaque)
{
	struct runner *r = opaque;
	vs_accel_emu_ops.vcpu_run(r->vcpu, &r->exit);
	return NULL;
}

TEST(locked_operations_are_atomic_across_vcpus)
{
	struct vs_guest_mem mem;
	struct vs_bus pio, mmio;
	struct vs_error err;
	struct vs_accel *acc = NULL;
	struct runner r[2] = { 0 };
	pthread_t th[2];
	struct emu_t tmp;
	uint32_t counters[2];
	vs_bus_init(&pio, "pio");
	vs_bus_init(&mmio, "mmio");
	if (vs_guest_mem_create(&mem, 16 * VS_MiB, &err) < 0)
		SKIP("no memory");
	{
		struct vs_accel_config cfg = { .ncpus = 2, .mem = &mem, .pio = &pio, .mmio = &mmio };
		CHECK(vs_accel_emu_ops.create(&cfg, &acc, &err) == 0);
	}
	/* Borrow the harness's tables and state for the same layout. */
	tmp.mem = mem;
	emu_t_long64(&tmp);
	vs_gpa_write(&mem, CODE, g_smp, (uint64_t)(g_smp_end - g_smp));
	for (int i = 0; i < 2; i++) {
		CHECK(vs_accel_emu_ops.vcpu_create(acc, i, &r[i].vcpu, &err) == 0);
		tmp.st.rsp = STACK_TOP - (uint64_t)i * 0x1000;
		vs_accel_emu_ops.vcpu_set_state(r[i].vcpu, &tmp.st, &err);
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, run_one, &r[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	vs_gpa_read(&mem, 0x300000, counters, sizeof(counters));
	CHECK_EQ_U64(r[0].exit.kind, VS_EXIT_HLT);
	CHECK_EQ_U64(r[1].exit.kind, VS_EXIT_HLT);
	CHECK_EQ_U64(counters[0], 400000);
	CHECK_EQ_U64(counters[1], 400000);
	for (int i = 0; i < 2; i++)
		vs_accel_emu_ops.vcpu_destroy(r[i].vcpu);
	vs_accel_emu_ops.destroy(acc);
	vs_guest_mem_release(&mem);
	vs_bus_release(&pio);
	vs_bus_release(&mmio);
}

VS_TAP_MAIN(TAP_CASE(operand_sizes_in_32bit_code), TAP_CASE(far_call_to_16bit_code_and_32bit_idt),
	    TAP_CASE(real_mode_addressing_and_loops), TAP_CASE(decimal_adjust),
	    TAP_CASE(locked_operations_are_atomic_across_vcpus))
