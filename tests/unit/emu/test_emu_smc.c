/* Self-modifying and cross-modifying code against the decoded-block cache:
 * a store into code already decoded must be seen by the next instruction
 * that runs it, from the same vCPU or from another one. */
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define STOP "out %al, $0xe0\n"
#define PAGE2 (CODE + 0x1000)

static struct emu_t T;

static void put(uint64_t gpa, const uint8_t *start, const uint8_t *end)
{
	vs_gpa_write(&T.mem, gpa, start, (uint64_t)(end - start));
}

/* Run T's vCPU for at most `steps` instructions (no watchdog needed). */
static void run_steps(uint64_t steps)
{
	struct vs_error err = { 0 };
	vs_accel_emu_ops.vcpu_set_state(T.vcpu, &T.st, &err);
	vs_emu_set_step_limit(T.vcpu, steps);
	vs_accel_emu_ops.vcpu_run(T.vcpu, &T.exit);
	vs_emu_set_step_limit(T.vcpu, 0);
	vs_accel_emu_ops.vcpu_get_state(T.vcpu, &T.st);
}

/* Page 1 writes data into page 2 (its TLB now has a write tag for page 2),
 * then jumps there; page 2 rewrites the instruction right after the store
 * within the same block. Entering page 2's block must drop that tag. */
GUEST_CODE(g_in_block_a, "movl $0, 0x11800\n mov $0x11000, %eax\n jmp *%rax\n");
GUEST_CODE(g_in_block_b, "lea 1f(%rip), %rsi\n movl $0x99, 1(%rsi)\n 1: mov $0x11, %eax\n" STOP);
TEST(store_into_the_running_block)
{
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_in_block_a, g_in_block_a_end);
	put(PAGE2, g_in_block_b, g_in_block_b_end);
	emu_t_long64(&T);
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rax, 0x99);
	emu_t_fini(&T);
}

/* A loop runs its (cached) block many times, then its own code patches
 * the loop's compare through a store on a page the TLB already holds. */
GUEST_CODE(g_loop_patch, "mov $1000, %ecx\n"
			 "1: mov $1, %eax\n"
			 "dec %ecx\n"
			 "jnz 2f\n"
			 "movl $7, 1b+1(%rip)\n"
			 "2: cmp $7, %eax\n"
			 "jne 1b\n" STOP);
TEST(loop_patches_itself)
{
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_loop_patch, g_loop_patch_end);
	emu_t_long64(&T);
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rax, 7);
	emu_t_fini(&T);
}

/* Cross-modifying code: vCPU 0 spins in a loop decoded into its cache;
 * another vCPU (its own TLB, with a write tag for that page, so its
 * store takes the fast path) rewrites the loop's immediate; vCPU 0 must
 * leave the loop. The second vCPU belongs to a second accelerator on the
 * same guest RAM, which gives it its own TLB and block cache as a second
 * vCPU of one machine has. */
GUEST_CODE(g_spin, "1: mov $1, %eax\n cmp $2, %eax\n jne 1b\n" STOP);
GUEST_CODE(g_patcher, "movb $0, 0x10800\n" STOP "movl $2, 0x10001\n" STOP);

struct other {
	struct vs_bus pio, mmio;
	struct vs_accel *acc;
	struct vs_vcpu *vcpu;
	unsigned stops;
};

static void other_port_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, size);
}

static void other_port_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct other *o = opaque;
	(void)data;
	(void)size;
	if (offset == 0) {
		o->stops++;
		vs_accel_emu_ops.vcpu_kick(o->vcpu);
	}
}

static const struct vs_bus_ops other_ops = { .read = other_port_read, .write = other_port_write };

/* Run the other vCPU to its next stop (or a step limit: no hang). */
static void other_run(struct other *o)
{
	struct vs_exit ex;
	unsigned stops = o->stops;
	vs_emu_set_step_limit(o->vcpu, 1000);
	while (o->stops == stops && vs_accel_emu_ops.vcpu_run(o->vcpu, &ex) == 0 && ex.kind == VS_EXIT_INTR &&
	       vs_emu_instructions(o->vcpu) < 1000)
		;
}

TEST(another_vcpu_patches_a_cached_loop)
{
	struct other o;
	struct vs_error err = { 0 };
	struct vs_accel_config cfg;
	struct vs_cpu_state st;
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	memset(&o, 0, sizeof(o));
	vs_bus_init(&o.pio, "pio");
	vs_bus_init(&o.mmio, "mmio");
	cfg = (struct vs_accel_config){ .ncpus = 1, .mem = &T.mem, .pio = &o.pio, .mmio = &o.mmio };
	CHECK(vs_bus_register(&o.pio, STOP_PORT, 2, &other_ops, &o, "test", &err) == 0);
	CHECK(vs_accel_emu_ops.create(&cfg, &o.acc, &err) == 0);
	CHECK(vs_accel_emu_ops.vcpu_create(o.acc, 0, &o.vcpu, &err) == 0);

	emu_t_code(&T, g_spin, g_spin_end);
	put(CODE + 0x2000, g_patcher, g_patcher_end);
	emu_t_long64(&T);
	st = T.st;
	st.rip = CODE + 0x2000;
	st.rsp = STACK_TOP - 0x1000;
	vs_accel_emu_ops.vcpu_set_state(o.vcpu, &st, &err);

	other_run(&o); /* a plain store on the code page: a write tag */
	CHECK_EQ_U64(o.stops, 1);
	run_steps(3000); /* vCPU 0 spins, from its block cache */
	CHECK_EQ_U64(T.st.rip >= CODE && T.st.rip < CODE + 12, 1);
	CHECK_EQ_U64(T.stops, 0);
	other_run(&o); /* the patch */
	CHECK_EQ_U64(o.stops, 2);
	CHECK_EQ_U64(emu_t_resume(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.stops, 1);
	CHECK_EQ_U64(T.st.rax, 2);

	vs_accel_emu_ops.vcpu_destroy(o.vcpu);
	vs_accel_emu_ops.destroy(o.acc);
	vs_bus_release(&o.pio);
	vs_bus_release(&o.mmio);
	emu_t_fini(&T);
}

VS_TAP_MAIN(TAP_CASE(store_into_the_running_block), TAP_CASE(loop_patches_itself),
	    TAP_CASE(another_vcpu_patches_a_cached_loop))
