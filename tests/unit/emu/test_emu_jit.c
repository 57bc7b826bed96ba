/* The JIT and block chaining (src/accel/emu/jit.c, block.c): faults in
 * the middle of a compiled block, self-modifying code of a compiled block,
 * blocks at a page's end, chained loops against the same loop computed
 * in C, and step limits / kicks reaching a chained loop. The harness
 * compiles every block on its first run (VESSEL_EMU_JIT_HOT=1); the suite
 * also passes with VESSEL_EMU_JIT=0 (the records run). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"

#define STOP "out %al, $0xe0\n"
#define HANDLER 0x30000ull
#define UNMAPPED 0x80000000ull /* above the 1 GiB the page tables map */
/* RFLAGS bits */
#define F_CF_T 0x1ull
#define F_ZF_T 0x40ull
#define F_SF_T 0x80ull
#define F_OF_T 0x800ull

static struct emu_t T;

static void put(uint64_t gpa, const uint8_t *start, const uint8_t *end)
{
	vs_gpa_write(&T.mem, gpa, start, (uint64_t)(end - start));
}

/* The #PF handler stops with the frame's RIP in r15 and RFLAGS in r14. */
GUEST_CODE(g_pf_stop, "mov 8(%rsp), %r15\n mov 24(%rsp), %r14\n" STOP);

/* A compiled block: flags from ADD, a store (host code, TLB miss, then
 * the slow path faults), and instructions after it that must not run. */
GUEST_CODE(g_fault_store, "mov $-1, %rax\n"
			  "add $1, %rax\n"
			  "mov $0x80000000, %edi\n"
			  "mov %rax, (%rdi)\n"
			  "mov $5, %ebx\n"
			  "sub $3, %rcx\n" STOP);
/* The same with the faulting instruction called out (ADD to memory). */
GUEST_CODE(g_fault_call, "mov $0x7f, %eax\n"
			 "cmp $0x80, %eax\n"
			 "mov $0x80000000, %edi\n"
			 "add %rax, (%rdi)\n"
			 "mov $5, %ebx\n"
			 "xor %eax, %eax\n" STOP);

static void fault_case(int *failed_, const uint8_t *start, const uint8_t *end, uint64_t insn_off,
		       uint64_t flags, uint64_t rax)
{
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, start, end);
	emu_t_long64(&T);
	put(HANDLER, g_pf_stop, g_pf_stop_end);
	emu_t_gate64(&T, 14, HANDLER, 0, 0);
	T.st.rcx = 10;
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.r15, CODE + insn_off); /* RIP of the faulting instruction */
	CHECK_EQ_U64(T.st.cr2, UNMAPPED);
	CHECK_EQ_U64(T.st.rax, rax);
	CHECK_EQ_U64(T.st.rbx, 0); /* nothing after it ran */
	CHECK_EQ_U64(T.st.rcx, 10);
	CHECK_EQ_U64(T.st.r14 & (F_CF_T | F_ZF_T | F_SF_T | F_OF_T), flags);
	emu_t_fini(&T);
}

TEST(fault_in_host_code_store)
{
	/* mov $-1,%rax: 7 bytes; add $1,%rax: 4; mov $..,%edi: 5 */
	fault_case(failed_, g_fault_store, g_fault_store_end, 16, F_CF_T | F_ZF_T, 0);
}

TEST(fault_in_called_out_record)
{
	/* mov $0x7f,%eax: 5 bytes; cmp $0x80,%eax: 5; mov: 5. 0x7f - 0x80:
	 * borrow and negative. */
	fault_case(failed_, g_fault_call, g_fault_call_end, 15, F_CF_T | F_SF_T, 0x7f);
}

/* A compiled block rewrites the immediate of the instruction right after
 * its store (a host-code store, slow path: the page has blocks), every
 * iteration with a new value: each must run with the value just stored. */
GUEST_CODE(g_patch_next, "mov $10, %ecx\n"
			 "mov $1, %edx\n"
			 "xor %ebx, %ebx\n"
			 "1: mov %edx, 2f+1(%rip)\n"
			 "2: mov $0, %eax\n"
			 "add %eax, %ebx\n"
			 "inc %edx\n"
			 "dec %ecx\n"
			 "jnz 1b\n" STOP);
TEST(store_into_a_compiled_block)
{
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_patch_next, g_patch_next_end);
	emu_t_long64(&T);
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rbx, 55); /* 1 + 2 + ... + 10 */
	CHECK_EQ_U64(T.st.rax, 10);
	emu_t_fini(&T);
}

/* The integer loop of bench/emu-mips (chained, compiled, flags through
 * INC after AND, SHL and ROR called out) against the same loop in C. */
GUEST_CODE(g_int_loop, "1: add %rbx, %rax\n"
		       "xor %rax, %rbx\n"
		       "lea 3(%rax,%rbx,2), %rax\n"
		       "shl $1, %rbx\n"
		       "or $5, %rbx\n"
		       "sub %rbx, %rax\n"
		       "ror $7, %rax\n"
		       "and $0xffffff, %rbx\n"
		       "inc %rax\n"
		       "not %rbx\n"
		       "mov %eax, %edx\n"
		       "cmp %edx, %esi\n"
		       "adc $0, %r8\n"
		       "sub $1, %rcx\n"
		       "jnz 1b\n" STOP);
TEST(chained_loop_matches_c)
{
	uint64_t a = 1, b = 2, n = 100000, carries = 0;
	for (uint64_t i = 0; i < n; i++) {
		a += b;
		b ^= a;
		a = a + b * 2 + 3;
		b <<= 1;
		b |= 5;
		a -= b;
		a = (a >> 7) | (a << 57);
		b &= 0xffffff;
		a++;
		b = ~b;
		carries += (uint32_t)0x1234 < (uint32_t)a;
	}
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_int_loop, g_int_loop_end);
	emu_t_long64(&T);
	T.st.rax = 1;
	T.st.rbx = 2;
	T.st.rcx = n;
	T.st.rsi = 0x1234;
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rax, a);
	CHECK_EQ_U64(T.st.rbx, b);
	CHECK_EQ_U64(T.st.r8, carries);
	CHECK_EQ_U64(T.st.rcx, 0);
	emu_t_fini(&T);
}

/* A loop whose body runs to the end of a page and on into the next (one
 * instruction straddles the boundary): blocks end at the page, chaining
 * stops there and looks the next page up in full. Loads and stores
 * through the TLB on a data page too. */
GUEST_CODE(g_cross_page, "1: mov (%rsi), %rdx\n"
			 "add %rcx, %rdx\n"
			 "mov %rdx, (%rsi)\n"
			 "lea 8(%rsi), %rsi\n"
			 "movabs $0x1122334455667788, %rax\n"
			 "add %rax, %rbx\n"
			 "dec %rcx\n"
			 "jnz 1b\n" STOP);
TEST(block_across_a_page_end)
{
	uint64_t start = CODE + 0x1000 - 20, sum = 0;
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_cross_page, g_cross_page); /* nothing at CODE */
	put(start, g_cross_page, g_cross_page_end);
	emu_t_long64(&T);
	for (uint64_t i = 0; i < 64; i++)
		emu_t_write64(&T, DATA + 8 * i, i * 3);
	T.st.rip = start;
	T.st.rcx = 64;
	T.st.rsi = DATA;
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	for (uint64_t i = 0; i < 64; i++)
		sum += emu_t_read64(&T, DATA + 8 * i) == i * 3 + (64 - i);
	CHECK_EQ_U64(sum, 64);
	CHECK_EQ_U64(T.st.rbx, 64 * 0x1122334455667788ull);
	CHECK_EQ_U64(T.st.rsi, DATA + 64 * 8);
	emu_t_fini(&T);
}

/* 8-byte loads and stores across a page boundary from a compiled block
 * (the TLB fast path must not take them), in a loop. */
GUEST_CODE(g_split, "1: mov (%rsi), %rax\n add %rcx, %rax\n mov %rax, (%rdi)\n dec %rcx\n jnz 1b\n" STOP);
TEST(accesses_across_a_page)
{
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_split, g_split_end);
	emu_t_long64(&T);
	emu_t_write64(&T, DATA + 0xffc, 0x1122334455667788ull);
	emu_t_write64(&T, DATA + 0x2000, 0);
	T.st.rsi = DATA + 0xffc;
	T.st.rdi = DATA + 0x2ffd;
	T.st.rcx = 5;
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(emu_t_read64(&T, DATA + 0x2ffd), 0x1122334455667788ull + 1);
	CHECK_EQ_U64(T.st.rax, 0x1122334455667788ull + 1);
	emu_t_fini(&T);
}

/* A chained jump into a block's code after its slot in the cache went to
 * a block of another page (a hash collision): the run loop must not go
 * on from the other block's page. X: A jumps to N, N to Z (a stop).
 * After links A->N exist, blocks M on other pages take N's set, the last
 * one N's slot (the least recently used of the set's BLK_WAYS); a run from
 * A must still end at X's Z, not at an M page's offset of Z. The set hash
 * and the number of ways mirror block.c's. */
#define X_PAGE (CODE + 0x4000)
#define WAYS 4
GUEST_CODE(g_to_n, "jmp .+0x100\n");
GUEST_CODE(g_n, "inc %rax\n jmp .+0x100\n");
GUEST_CODE(g_stop, STOP);
GUEST_CODE(g_wrong, "mov $0xbad, %ebx\n" STOP);

static unsigned set_of(uint64_t off)
{
	return (unsigned)((off * 0x9e3779b97f4a7c15ull) >> (64 - 13));
}

TEST(chained_into_a_replaced_slot)
{
	uint64_t n = X_PAGE + 0x100, z = n + 3 + 0x100, m[WAYS]; /* INC is 3 bytes */
	unsigned nm = 0;
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	/* One M a page, none on a page of another's M + 0x100 block. */
	for (uint64_t off = DATA; off < DATA + 0x800000 && nm < WAYS; off += 0x10)
		if (set_of(off) == set_of(n) && (off & 0xfff) < 0xd00 &&
		    (nm == 0 || (off & ~0xfffull) > (m[nm - 1] & ~0xfffull)))
			m[nm++] = off;
	CHECK_EQ_U64(nm, WAYS);
	put(X_PAGE, g_to_n, g_to_n_end);
	put(n, g_n, g_n_end);
	put(z, g_stop, g_stop_end);
	for (unsigned i = 0; i < WAYS; i++) {
		put(m[i], g_to_n, g_to_n_end); /* a block without an interpreted tail */
		put(m[i] + 0x100, g_stop, g_stop_end);
		put((m[i] & ~0xfffull) + (z & 0xfff), g_wrong, g_wrong_end);
	}
	emu_t_code(&T, g_stop, g_stop); /* nothing at CODE */
	emu_t_long64(&T);
	for (int i = 0; i < 3; i++) { /* compile, then link A->N */
		T.st.rip = X_PAGE;
		CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	}
	for (unsigned i = 0; i < WAYS; i++) { /* the Ms fill N's set, the last takes its slot */
		T.st.rip = m[i];
		CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	}
	T.st.rip = X_PAGE;
	T.st.rax = 0;
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rax, 1);
	CHECK_EQ_U64(T.st.rbx, 0);
	emu_t_fini(&T);
}

/* A step limit stops a chained, compiled loop at exactly that many
 * instructions (blocks that could pass the limit run one by one). */
GUEST_CODE(g_forever, "1: inc %rax\n add $2, %rbx\n jmp 1b\n");
TEST(step_limit_in_a_chained_loop)
{
	struct vs_error err = { 0 };
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_forever, g_forever_end);
	emu_t_long64(&T);
	vs_accel_emu_ops.vcpu_set_state(T.vcpu, &T.st, &err);
	vs_emu_set_step_limit(T.vcpu, 30001);
	vs_accel_emu_ops.vcpu_run(T.vcpu, &T.exit);
	vs_emu_set_step_limit(T.vcpu, 0);
	vs_accel_emu_ops.vcpu_get_state(T.vcpu, &T.st);
	CHECK_EQ_U64(T.exit.kind, VS_EXIT_INTR);
	CHECK_EQ_U64(vs_emu_instructions(T.vcpu), 30001);
	CHECK_EQ_U64(T.st.rax, 10001);
	CHECK_EQ_U64(T.st.rbx, 20000);
	CHECK_EQ_U64(T.st.rip, CODE + 3);
	emu_t_fini(&T);
}

static void *kick_later(void *opaque)
{
	usleep(50 * 1000);
	vs_accel_emu_ops.vcpu_kick(opaque);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A kick reaches a loop that only chains compiled blocks: vcpu_run
 * returns soon after it, between two instructions of the loop. */
TEST(kick_reaches_a_chained_loop)
{
	struct vs_error err = { 0 };
	pthread_t th;
	double t0;
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_forever, g_forever_end);
	emu_t_long64(&T);
	vs_accel_emu_ops.vcpu_set_state(T.vcpu, &T.st, &err);
	t0 = now();
	pthread_create(&th, NULL, kick_later, T.vcpu);
	vs_accel_emu_ops.vcpu_run(T.vcpu, &T.exit);
	pthread_join(th, NULL);
	vs_accel_emu_ops.vcpu_get_state(T.vcpu, &T.st);
	CHECK_EQ_U64(T.exit.kind, VS_EXIT_INTR);
	CHECK(now() - t0 < 5.0);
	CHECK(T.st.rax > 1000);
	CHECK_EQ_U64(T.st.rip == CODE || T.st.rip == CODE + 3 || T.st.rip == CODE + 7, 1);
	emu_t_fini(&T);
}

/* Guest RAM written from outside the vCPU (a device, another vCPU) while
 * a compiled loop runs only from its own code, chained to itself: the
 * byte check at the chained entry sees the new bytes. */
GUEST_CODE(g_spin, "1: mov $1, %eax\n cmp $2, %eax\n jne 1b\n" STOP);

static void *run_guest(void *opaque)
{
	(void)opaque;
	emu_t_run(&T);
	return NULL;
}

TEST(outside_write_reaches_a_chained_loop)
{
	pthread_t th;
	uint8_t two = 2;
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_spin, g_spin_end);
	emu_t_long64(&T);
	pthread_create(&th, NULL, run_guest, NULL);
	usleep(100 * 1000);
	vs_gpa_write(&T.mem, CODE + 1, &two, 1);
	pthread_join(th, NULL);
	CHECK_EQ_U64(T.exit.kind, VS_EXIT_INTR);
	CHECK_EQ_U64(T.stops, 1);
	CHECK_EQ_U64(T.st.rax, 2);
	emu_t_fini(&T);
}

/* ---- templates against the records ----
 * Each loop runs on a JIT vCPU (every block compiled on its first run)
 * and on a records-only one (VESSEL_EMU_JIT=0): registers, flags and the
 * data they wrote must agree. The data holds pseudo-random values, and the
 * first pass over each page misses the TLB (the slow path runs the
 * record's handler) while later ones hit it (host code). */
#define DATA_QWORDS 1024

/* stride 0: DATA_QWORDS of data; else 300 steps of `stride` bytes, 16
 * bytes of data at each. */
static void diff_init(struct emu_t *t, const uint8_t *start, const uint8_t *end, bool jit, uint64_t stride)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	if (!jit)
		setenv("VESSEL_EMU_JIT", "0", 1);
	if (emu_t_init(t) < 0)
		return;
	emu_t_code(t, start, end);
	emu_t_long64(t);
	for (unsigned i = 0; i < DATA_QWORDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* some small values too, for the sign and zero cases */
		if (!stride)
			emu_t_write64(t, DATA + 8 * i, i % 5 == 0 ? x & 0x80ff : x);
		else if (i < 300)
			for (unsigned k = 0; k < 16; k += 8)
				emu_t_write64(t, DATA + stride * i + k, (x >> k) ^ (i & 1 ? 0x80 : 0));
	}
	t->st.rsi = DATA;
	t->st.rcx = stride ? 300 : DATA_QWORDS / 2 - 4;
	t->st.rdi = stride;
	t->st.rdx = 0x123456789abcdef0ull;
	t->st.r8 = 7;
	t->st.r9 = 0xfedcba9876543210ull;
	t->st.rbx = 0x8000000000000001ull;
	emu_t_run(t);
	if (!jit)
		unsetenv("VESSEL_EMU_JIT");
}

static void diff_case(int *failed_, const uint8_t *start, const uint8_t *end, uint64_t stride)
{
	static struct emu_t R;
	diff_init(&T, start, end, true, stride);
	diff_init(&R, start, end, false, stride);
	if (!T.vcpu || !R.vcpu)
		SKIP("no guest");
	CHECK_EQ_U64(T.exit.kind, VS_EXIT_INTR);
	CHECK_EQ_U64(R.exit.kind, VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rcx, 0);
	CHECK_EQ_U64(T.st.rax, R.st.rax);
	CHECK_EQ_U64(T.st.rbx, R.st.rbx);
	CHECK_EQ_U64(T.st.rdx, R.st.rdx);
	CHECK_EQ_U64(T.st.rsi, R.st.rsi);
	CHECK_EQ_U64(T.st.rdi, R.st.rdi);
	CHECK_EQ_U64(T.st.rbp, R.st.rbp);
	CHECK_EQ_U64(T.st.r8, R.st.r8);
	CHECK_EQ_U64(T.st.r9, R.st.r9);
	CHECK_EQ_U64(T.st.r10, R.st.r10);
	CHECK_EQ_U64(T.st.r11, R.st.r11);
	CHECK_EQ_U64(T.st.r12, R.st.r12);
	CHECK_EQ_U64(T.st.r13, R.st.r13);
	CHECK_EQ_U64(T.st.r14, R.st.r14);
	CHECK_EQ_U64(T.st.r15, R.st.r15);
	CHECK_EQ_U64(T.st.rflags, R.st.rflags);
	CHECK(memcmp(emu_t_ptr(&T, DATA), emu_t_ptr(&R, DATA),
		     stride ? 300 * stride : 8 * DATA_QWORDS + 0x3000) == 0);
	emu_t_fini(&T);
	emu_t_fini(&R);
}

/* MOVZX/MOVSX/MOVSXD, 8- and 16-bit MOV (AH..BH included), MOV r/m, imm:
 * registers and memory. */
GUEST_CODE(g_ext, "1: movzbl (%rsi), %eax\n"
		  "movsbq 1(%rsi), %rdx\n"
		  "movzwl 2(%rsi), %edi\n"
		  "movswq 3(%rsi), %r8\n"
		  "movslq 4(%rsi), %r9\n"
		  "movslq %eax, %r10\n"
		  "movsbl %dh, %ebp\n"
		  "movzbw %al, %bx\n"
		  "movswl %di, %r11d\n"
		  "mov 5(%rsi), %bl\n"
		  "mov 6(%rsi), %ah\n"
		  "mov 7(%rsi), %r12w\n"
		  "mov %dl, %bh\n"
		  "mov %r9w, %r12w\n"
		  "add %rax, %r13\n"
		  "add %rbx, %r13\n"
		  "add %rbp, %r13\n"
		  "add %r11, %r13\n"
		  "add %r12, %r13\n"
		  "rol $5, %r13\n"
		  "mov %ah, 0x2000(%rsi)\n"
		  "mov %r12w, 0x2002(%rsi)\n"
		  "movb $0x5a, 0x2004(%rsi)\n"
		  "movw $0x1234, 0x2005(%rsi)\n"
		  "movl $-7, 0x2008(%rsi)\n"
		  "movq $-9, 0x2010(%rsi)\n"
		  "movb $3, %ah\n"
		  "movw $-2, %r14w\n"
		  "nopl 8(%rax)\n"
		  "add $8, %rsi\n"
		  "sub $1, %rcx\n"
		  "jnz 1b\n" STOP);
TEST(template_extending_moves)
{
	diff_case(failed_, g_ext, g_ext_end, 0);
}

/* ALU/ADC/SBB/CMP/TEST with memory operands and on 8/16-bit registers, their
 * flags read by Jcc, SETcc, CMOVcc, ADC/SBB and PUSHF (after a host
 * operation, after a slow path, after INC/DEC). */
GUEST_CODE(g_alu, "1: cmpb $0x80, (%rsi)\n"
		  "setb %al\n"
		  "cmp %edx, 4(%rsi)\n"
		  "cmovb %r8, %r9\n"
		  "adc $0, %r10\n"
		  "testb $0x10, 1(%rsi)\n"
		  "jz 2f\n"
		  "add (%rsi), %rdx\n"
		  "sub 2(%rsi), %bx\n"
		  "cmovl %edx, %edi\n"
		  "2: xor %dl, 3(%rsi)\n"
		  "pushfq\n"
		  "pop %r11\n"
		  "add %r11, %r13\n"
		  "or 8(%rsi), %edi\n"
		  "and %r8, 16(%rsi)\n"
		  "addw $0x55, 6(%rsi)\n"
		  "sete %ah\n"
		  "inc %r12\n"
		  "cmovnc %rdx, %r13\n"
		  "setc %bl\n"
		  "test %al, %ah\n"
		  "setnz %bh\n"
		  "cmp $5, %al\n"
		  "sbb %r14, %r14\n"
		  "or $0x1234, %ax\n"
		  "js 3f\n"
		  "add %al, %bh\n"
		  "3: sub %dx, %r12w\n"
		  "setg %r15b\n"
		  "test %edx, 12(%rsi)\n"
		  "setle %dh\n"
		  "cmp 20(%rsi), %r9\n"
		  "ja 4f\n"
		  "xor %r9b, %dl\n"
		  "4: lea 3(%rax,%rdx,4), %ebp\n"
		  "lea -1(%rbp,%rbp,2), %r8w\n"
		  "imul %rdx, %rbp\n"
		  "imul $7, %ebp, %eax\n"
		  "imul $-3, %r9, %r8\n"
		  "add %rax, %r15\n"
		  "imul %r8d, %r9d\n"
		  "adc %r9, %r15\n"
		  "cmp %r9, %rdx\n"
		  "adc 4(%rsi), %edx\n"
		  "sbb %al, 5(%rsi)\n"
		  "jb 5f\n"
		  "adcw $3, 6(%rsi)\n"
		  "5: inc %r12\n"
		  "sbb %bl, %bh\n"
		  "adc $0x12, %al\n"
		  "seto %bl\n"
		  "sbb %r12w, %r13w\n"
		  "mov $-1, %r11\n"
		  "add $1, %r11\n"
		  "adc $0, %r10\n"
		  "pushfq\n"
		  "pop %r11\n"
		  "add %r11, %r13\n"
		  "cmp %rax, %rax\n"
		  "adc $0, %r10\n"
		  "pushfq\n"
		  "pop %r11\n"
		  "add %r11, %r13\n"
		  "add $8, %rsi\n"
		  "sub $1, %rcx\n"
		  "jnz 1b\n" STOP);
TEST(template_alu_memory_and_conditions)
{
	diff_case(failed_, g_alu, g_alu_end, 0);
}

/* Every access on a new page (rdi: the stride): the TLB misses, the
 * handler runs, and the flag readers after it need the host's flags made
 * again from the lazy state it left. */
GUEST_CODE(g_miss, "1: cmp %r9, %r8\n"
		   "adc 0x200000(%rsi), %r8\n"
		   "setp %bl\n"
		   "adc %rbx, %r12\n"
		   "cmp %r8, %r9\n"
		   "sbb 0x300000(%rsi), %r9\n"
		   "setc %bh\n"
		   "add %rbx, %r12\n"
		   "cmpb $0x80, (%rsi)\n"
		   "setb %al\n"
		   "add %rax, %r10\n"
		   "cmp %edx, 4(%rsi)\n"
		   "cmovl %r8, %r9\n"
		   "sbb $0, %r11\n"
		   "testb $0x81, 9(%rsi)\n"
		   "setnz %bl\n"
		   "add %rbx, %r12\n"
		   "addw $0x8001, 2(%rsi)\n"
		   "seto %bl\n"
		   "add %rbx, %r12\n"
		   "adc %edx, 4(%rsi)\n"
		   "seto %bl\n"
		   "add %rbx, %r12\n"
		   "sbb 8(%rsi), %r9\n"
		   "setc %bl\n"
		   "setp %bh\n"
		   "add %rbx, %r12\n"
		   "adc 12(%rsi), %edx\n"
		   "setp %bl\n"
		   "add %rbx, %r12\n"
		   "orb $0, 12(%rsi)\n"
		   "js 2f\n"
		   "inc %r13\n"
		   "2: add %rdi, %rsi\n"
		   "sub $1, %rcx\n"
		   "jnz 1b\n" STOP);
TEST(template_slow_paths_and_flags)
{
	diff_case(failed_, g_miss, g_miss_end, 4097);
}

/* RET into the next block's code (jit.c's return target cache): a loop
 * on page A calls a function on page B whose RET goes on into A's code
 * with no run loop in between; A's CALL then leaves for B again. The run
 * loop must then take the blocks' page from where the code went, not from
 * where it entered: A holds other code at B's function's offset. */
GUEST_CODE(g_ret_a, "1: call .+0x1800\n"
		    "add %rcx, %rax\n"
		    "sub $1, %rcx\n"
		    "jnz 1b\n" STOP);
GUEST_CODE(g_ret_b, "add $3, %rbx\n"
		    "ret\n");
TEST(ret_into_compiled_code_on_another_page)
{
	uint64_t n = 5000;
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_ret_a, g_ret_a_end);
	put(CODE + 0x800, g_wrong, g_wrong_end);
	put(CODE + 0x1800, g_ret_b, g_ret_b_end);
	emu_t_long64(&T);
	T.st.rcx = n;
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rax, n * (n + 1) / 2);
	CHECK_EQ_U64(T.st.rbx, 3 * n);
	CHECK_EQ_U64(T.st.rcx, 0);
	emu_t_fini(&T);
}

/* SHL/SHR/SAR by an immediate whose flags are read (SETcc, ADC, PUSHF,
 * Jcc, INC's CF); shifts and rotates by CL (counts of 0 included) whose
 * flags are dead (rbp keeps the loop count meanwhile). */
GUEST_CODE(g_shift, "1: mov (%rsi), %rax\n"
		    "mov 8(%rsi), %edx\n"
		    "shl $3, %rax\n"
		    "setc %bl\n"
		    "seto %bh\n"
		    "add %rbx, %r8\n"
		    "shr $1, %edx\n"
		    "pushfq\n"
		    "pop %r9\n"
		    "add %r9, %r10\n"
		    "sar $63, %rax\n"
		    "adc %rax, %r11\n"
		    "shr $17, %rdx\n"
		    "seto %bl\n"
		    "sets %bh\n"
		    "add %rbx, %r12\n"
		    "sar $5, %edx\n"
		    "inc %r13\n"
		    "adc $0, %r13\n"
		    "shl $1, %edx\n"
		    "seto %bl\n"
		    "setp %bh\n"
		    "add %rbx, %r14\n"
		    "mov %rcx, %rbp\n"
		    "mov %r9d, %ecx\n"
		    "shl %cl, %rdx\n"
		    "ror %cl, %eax\n"
		    "sar %cl, %edx\n"
		    "shr %cl, %r8d\n"
		    "rol %cl, %r8\n"
		    "and $0x3f, %ecx\n"
		    "add %rdx, %r15\n"
		    "mov %r14d, %ecx\n"
		    "shl %cl, %r9\n"
		    "mov %rbp, %rcx\n"
		    "shl $31, %eax\n"
		    "jz 2f\n"
		    "add %rax, %r15\n"
		    "2: add $16, %rsi\n"
		    "sub $1, %rcx\n"
		    "jnz 1b\n" STOP);
TEST(template_shifts_with_flags)
{
	diff_case(failed_, g_shift, g_shift_end, 0);
}

VS_TAP_MAIN(TAP_CASE(fault_in_host_code_store), TAP_CASE(fault_in_called_out_record),
	    TAP_CASE(store_into_a_compiled_block), TAP_CASE(chained_loop_matches_c),
	    TAP_CASE(block_across_a_page_end), TAP_CASE(accesses_across_a_page),
	    TAP_CASE(chained_into_a_replaced_slot), TAP_CASE(step_limit_in_a_chained_loop),
	    TAP_CASE(kick_reaches_a_chained_loop), TAP_CASE(outside_write_reaches_a_chained_loop),
	    TAP_CASE(template_extending_moves), TAP_CASE(template_alu_memory_and_conditions),
	    TAP_CASE(template_slow_paths_and_flags), TAP_CASE(ret_into_compiled_code_on_another_page),
	    TAP_CASE(template_shifts_with_flags))
