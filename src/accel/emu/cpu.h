/* The emulated CPU's state and the helpers its instruction files share.
 * Internal to src/accel/emu.
 *
 * Faults: an instruction that faults calls vs_emu_raise(), which records the
 * exception and longjmps back to the run loop; RIP is only advanced when an
 * instruction completes, and every instruction does its loads (and the
 * checks that can fault) before it changes architectural state, so a fault
 * leaves the CPU at the faulting instruction as the hardware does. */
#ifndef VESSEL_ACCEL_EMU_CPU_H
#define VESSEL_ACCEL_EMU_CPU_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "accel/accel.h"
#include "accel/emu/fpu.h"
#include "hw/timebase.h"
#include "x86/cpu_state.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NONE = 7 };

/* Address widths CPUID 0x80000008 reports; paging entries with address
 * bits at or above EMU_PHYS_BITS fault as reserved. */
#define EMU_PHYS_BITS 40
#define EMU_LINEAR_BITS 48

/* Exceptions. */
enum {
	EX_DE = 0,
	EX_DB = 1,
	EX_NMI = 2,
	EX_BP = 3,
	EX_OF = 4,
	EX_BR = 5,
	EX_UD = 6,
	EX_NM = 7,
	EX_DF = 8,
	EX_TS = 10,
	EX_NP = 11,
	EX_SS = 12,
	EX_GP = 13,
	EX_PF = 14,
	EX_MF = 16,
	EX_AC = 17,
	EX_XM = 19,
};

/* RFLAGS bits. */
#define F_CF (1ull << 0)
#define F_PF (1ull << 2)
#define F_AF (1ull << 4)
#define F_ZF (1ull << 6)
#define F_SF (1ull << 7)
#define F_TF (1ull << 8)
#define F_IF (1ull << 9)
#define F_DF (1ull << 10)
#define F_OF (1ull << 11)
#define F_IOPL (3ull << 12)
#define F_NT (1ull << 14)
#define F_RF (1ull << 16)
#define F_VM (1ull << 17)
#define F_AC (1ull << 18)
#define F_VIF (1ull << 19)
#define F_VIP (1ull << 20)
#define F_ID (1ull << 21)
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* Lazy flags: the last flag-setting operation, evaluated on demand. */
enum lf_op {
	LF_NONE, /* rflags holds the arithmetic flags */
	LF_ADD,
	LF_ADC,
	LF_SUB,
	LF_SBB,
	LF_LOGIC,
	LF_INC,
	LF_DEC,
};

/* Software TLB: direct-mapped, per vCPU. A tag is the linear page address
 * with bit 0 set; each access kind has its own tag so one compare decides
 * (tag_w is only filled once the page is dirty and writable). User-mode
 * tags only match CPL 3 accesses. */
/* 1024 entries: a gzip run in Linux walked the page tables 6.3M times with
 * 256, 3.9M with 1024, 3.4M with 4096 (flushes only visit the slots
 * filled since the last one, so size costs nothing there). */
#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
struct tlb_entry {
	uint64_t tag_r, tag_w, tag_x;
	uint8_t *host; /* host address of the page */
	uint64_t gpa;
	bool global;
	uint8_t page_shift; /* of the guest page this 4 KiB piece belongs to: 12, 21, 22 or 30 */
};

/* One decoded instruction while it executes. */
struct insn {
	uint64_t ip;	   /* offset of the next byte to fetch (within CS) */
	uint8_t opsize;	   /* 2, 4 or 8 */
	uint8_t addrsize;  /* 2, 4 or 8 */
	uint8_t seg;	   /* segment of the memory operand (S_*) */
	uint8_t rex;	   /* 0 when no REX prefix */
	uint8_t rep;	   /* 0, 0xf2 or 0xf3 */
	uint8_t mandatory; /* last of 66/F2/F3 */
	bool lock;
	bool has66;
	bool seg_override;
	uint8_t modrm, mod, reg, rm; /* reg and rm with REX bits applied */
	bool is_mem;
	bool riprel;
	uint64_t ea; /* linear address of the memory operand */
	uint64_t off;
	uint16_t opcode; /* map << 8 | byte, for the #UD statistics */
	/* Fetch window: host bytes of the code page from ip on. */
	const uint8_t *fp, *fend;
};

enum run_state { CPU_RUNNING, CPU_HALTED, CPU_WAIT_SIPI };

struct vs_emu_cpu {
	uint64_t r[16];
	uint64_t rip;
	uint64_t rflags;
	uint32_t lf_op;
	uint8_t lf_size; /* bytes */
	bool lf_cf;	 /* carry in (ADC/SBB) or carried over (INC/DEC) */
	uint64_t lf_res, lf_a, lf_b;

	struct vs_segment seg[6];
	struct vs_segment tr, ldt;
	struct vs_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint8_t cpl;
	uint8_t code_size; /* 2, 4, 8 */
	bool long64;	   /* 64-bit code */
	bool user;	   /* cpl == 3, for the TLB */
	bool paging;

	uint64_t star, lstar, cstar, sfmask, kernel_gs_base, pat, misc_enable;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip, tsc_aux;
	int64_t tsc_offset;
	uint64_t dr[8];

	struct tlb_entry tlb[TLB_SIZE];
	/* Instruction fetch: host pointer of the current code page. */
	uint64_t fetch_page; /* linear page | 1, or 0 */
	bool tlb_large;	     /* some entry maps part of a 2M/4M/1G page */
	const uint8_t *fetch_host;

	/* Exception being raised (see vs_emu_raise). */
	jmp_buf *jb;
	int exc_vector;
	uint32_t exc_error;
	bool exc_has_error;
	int delivering; /* vector being delivered, -1 when none */
	bool nmi_blocked;
	bool shadow; /* interrupt shadow after STI / MOV SS / POP SS */
	/* The last instruction delivered a software interrupt (INT n, INT3,
	 * INTO): no single-step trap after it (emu.c, debug_step). */
	bool soft_int;

	/* Where it lives. */
	int index;
	struct vs_accel *acc;
	const struct vs_guest_mem *mem;
	const struct vs_bus *pio, *mmio;
	struct vs_irqchip *irqchip;
	const struct vs_timebase *tb;

	/* Run state and wake-ups. `attention` is polled between instructions;
	 * whoever sets a reason sets it too. */
	enum run_state state;
	atomic_int attention;
	atomic_bool stop;	/* vcpu_kick: return VS_EXIT_INTR */
	atomic_bool irq_kicked; /* the irqchip has something new */
	bool irq_waiting;	/* an interrupt is pending but IF was 0 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool wake;
	bool shutdown;
	char shutdown_detail[96];
	uint64_t icount;      /* instructions (and faults) executed */
	uint64_t icount_stop; /* vcpu_run returns when icount reaches it; 0: never */

	/* Decoded-block cache (block.c), allocated on first use. code_map:
	 * a byte per guest page of RAM, set while this vCPU has blocks there
	 * (the TLB then keeps no write tag for it). */
	void *blk_tab;
	uint8_t *code_map;
	bool blk_off; /* allocation failed: interpret only */
	/* The JIT (jit.c): its code buffer, the buffer's generation (blocks
	 * hold code of this generation only) and the runs after which a block
	 * is compiled (0: off). */
	void *jit;
	uint32_t jit_gen;
	uint16_t jit_hot;
	/* The block running whole (its RIP at entry), so that a fault inside
	 * it can count the instructions it completed (vs_emu_blocks_fault). */
	void *blk_cur;
	uint64_t blk_cur_rip;
	/* A compiled block's exit that found no link to the next block's
	 * code: the link to fill (jit.c), and the code generation it is in. */
	void *jit_link;
	uint32_t jit_link_gen;

	struct vs_emu_fpu fpu;

	/* For the -v report: instructions the interpreter ran (vs_emu_step),
	 * by opcode (one-byte map, 0F map), and how much of icount the
	 * accelerator's totals already hold. */
	uint64_t interp[2][256];
	uint64_t icount_reported;

	/* TLB slots filled since the last flush (mem.c), so that a flush (a
	 * CR3 write: every context switch, and with page-table isolation
	 * every kernel entry and exit) and INVLPG's large-page scan touch
	 * only those. More than TLB_SIZE: it overflowed, scan them all. */
	uint16_t tlb_fill[TLB_SIZE];
	unsigned tlb_nfill;
};

/* Statistics shared by the vCPUs of one accelerator. */
struct vs_emu_stats {
	atomic_uint_least64_t ud[3][256]; /* by map: one-byte, 0F, others */
	atomic_uint_least64_t insns;	  /* every vCPU's icount */
	atomic_uint_least64_t interp[2][256];
};

/* One message-signalled interrupt route: the message its vector sends. */
struct vs_emu_msi_route {
	uint64_t addr;
	uint32_t data;
};

struct vs_accel {
	struct vs_accel_config cfg;
	struct vs_timebase own_tb;
	struct vs_emu_stats stats;
	int ncpus;
	struct vs_emu_msi_route msi_routes[VS_ACCEL_MSI_ROUTES];
};

/* ---- faults ---- */
__attribute__((noreturn)) void vs_emu_raise(struct vs_emu_cpu *c, int vector, uint32_t error, bool has_error);
__attribute__((noreturn)) static inline void raise_gp(struct vs_emu_cpu *c, uint32_t err)
{
	vs_emu_raise(c, EX_GP, err, true);
}
__attribute__((noreturn)) static inline void raise_ud(struct vs_emu_cpu *c)
{
	vs_emu_raise(c, EX_UD, 0, false);
}
__attribute__((noreturn)) void vs_emu_undefined(struct vs_emu_cpu *c, const struct insn *d);

/* Deliver an exception or interrupt through the IDT (except.c). `soft` for
 * INT n / INT3 / INTO (privilege check on the gate; RIP already past the
 * instruction). */
void vs_emu_deliver(struct vs_emu_cpu *c, int vector, bool soft, bool has_error, uint32_t error);
/* INT n, INT3, INTO: the frame returns to `next_ip`, but a fault while
 * delivering (a DPL 0 gate from ring 3, say) is reported at the
 * instruction itself, whose RIP is still in c->rip. */
void vs_emu_deliver_soft(struct vs_emu_cpu *c, int vector, uint64_t next_ip);

/* ---- memory (mem.c) ---- */
#define ACC_W 1u
#define ACC_X 2u
#define ACC_SUP 4u /* implicit supervisor access (descriptor tables, TSS, IDT) */

/* Host pointer for `len` bytes at linear `la` (within one page) or NULL
 * when it is not RAM; faults as the access would. */
uint8_t *vs_emu_translate(struct vs_emu_cpu *c, uint64_t la, unsigned acc, uint64_t *gpa);
uint64_t vs_emu_read_slow(struct vs_emu_cpu *c, uint64_t la, unsigned size, unsigned acc);
void vs_emu_write_slow(struct vs_emu_cpu *c, uint64_t la, unsigned size, uint64_t val, unsigned acc);
void vs_emu_tlb_flush(struct vs_emu_cpu *c, bool global);
void vs_emu_tlb_flush_page(struct vs_emu_cpu *c, uint64_t la);
void vs_emu_fetch_slow(struct vs_emu_cpu *c, uint64_t la);
void vs_emu_read_block(struct vs_emu_cpu *c, uint64_t la, void *buf, unsigned len, unsigned acc);
void vs_emu_write_block(struct vs_emu_cpu *c, uint64_t la, const void *buf, unsigned len, unsigned acc);

static inline uint64_t ld_host(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1:
		return *p;
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

static inline void st_host(uint8_t *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1:
		*p = (uint8_t)v;
		break;
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, 4);
		break;
	}
	default:
		memcpy(p, &v, 8);
		break;
	}
}

static inline struct tlb_entry *tlb_slot(struct vs_emu_cpu *c, uint64_t la)
{
	return &c->tlb[(la >> 12) & (TLB_SIZE - 1)];
}

static inline uint64_t tlb_tag(struct vs_emu_cpu *c, uint64_t la)
{
	return (la & ~0xfffull) | 1 | ((uint64_t)c->user << 1);
}

/* A TLB entry whose tag matches always holds its page's host address; the
 * static analyzer cannot know that (entries are filled in mem.c). */
#ifdef __clang_analyzer__
#define VS_EMU_TLB_HAS_PAGE(e)                   \
	do {                                     \
		if (!(e)->host)                  \
			__builtin_unreachable(); \
	} while (0)
#else
#define VS_EMU_TLB_HAS_PAGE(e) ((void)0)
#endif

/* Linear-address accesses with the current privilege. */
static inline uint64_t lin_read(struct vs_emu_cpu *c, uint64_t la, unsigned size)
{
	struct tlb_entry *e = tlb_slot(c, la);
	if (likely(e->tag_r == tlb_tag(c, la) && (la & 0xfff) + size <= 4096)) {
		VS_EMU_TLB_HAS_PAGE(e);
		return ld_host(e->host + (la & 0xfff), size);
	}
	return vs_emu_read_slow(c, la, size, 0);
}

static inline void lin_write(struct vs_emu_cpu *c, uint64_t la, unsigned size, uint64_t v)
{
	struct tlb_entry *e = tlb_slot(c, la);
	if (likely(e->tag_w == tlb_tag(c, la) && (la & 0xfff) + size <= 4096)) {
		VS_EMU_TLB_HAS_PAGE(e);
		st_host(e->host + (la & 0xfff), size, v);
		return;
	}
	vs_emu_write_slow(c, la, size, v, 0);
}

/* Host pointer for a read-modify-write of `size` bytes at `la` within one
 * RAM page (for LOCK'd operations as host atomics), or NULL. */
static inline uint8_t *lin_rmw_ptr(struct vs_emu_cpu *c, uint64_t la, unsigned size)
{
	struct tlb_entry *e = tlb_slot(c, la);
	uint64_t gpa;
	if ((la & 0xfff) + size > 4096)
		return NULL;
	if (likely(e->tag_w == tlb_tag(c, la)))
		return e->host + (la & 0xfff);
	return vs_emu_translate(c, la, ACC_W, &gpa);
}

/* Linear address of segment:offset, without limit checks (flat as Linux
 * uses it); 32-bit wrap outside long mode. */
/* Bits 63..47 all equal (48-bit linear addresses). */
static inline bool is_canonical(uint64_t v)
{
	return ((v + (1ull << 47)) >> 48) == 0;
}

static inline uint64_t seg_la(struct vs_emu_cpu *c, int seg, uint64_t off)
{
	if (c->long64)
		return (seg == S_FS || seg == S_GS) ? off + c->seg[seg].base : off;
	return (uint32_t)(c->seg[seg].base + off);
}

/* Supervisor-privilege accesses for system structures. */
static inline uint64_t sys_read(struct vs_emu_cpu *c, uint64_t la, unsigned size)
{
	return vs_emu_read_slow(c, la, size, ACC_SUP);
}
static inline void sys_write(struct vs_emu_cpu *c, uint64_t la, unsigned size, uint64_t v)
{
	vs_emu_write_slow(c, la, size, v, ACC_SUP);
}

/* ---- flags (flags.c) ---- */
uint64_t vs_emu_flags(struct vs_emu_cpu *c); /* full RFLAGS */
bool vs_emu_cond(struct vs_emu_cpu *c, unsigned cc);
bool vs_emu_cf(struct vs_emu_cpu *c);
/* Write RFLAGS bits in `mask` (arithmetic ones included). */
void vs_emu_set_flags(struct vs_emu_cpu *c, uint64_t value, uint64_t mask);
static inline void set_lazy(struct vs_emu_cpu *c, enum lf_op op, unsigned size, uint64_t a, uint64_t b,
			    uint64_t res)
{
	c->lf_op = op;
	c->lf_size = (uint8_t)size;
	c->lf_a = a;
	c->lf_b = b;
	c->lf_res = res;
}
/* Set the six arithmetic flags outright. */
static inline void set_arith(struct vs_emu_cpu *c, uint64_t flags)
{
	c->lf_op = LF_NONE;
	c->rflags = (c->rflags & ~F_ARITH) | (flags & F_ARITH);
}
uint64_t vs_emu_szp(uint64_t res, unsigned size); /* SF, ZF, PF of a result */

static inline uint64_t size_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}
static inline uint64_t sign_bit(unsigned size)
{
	return 1ull << (size * 8 - 1);
}
static inline int64_t sext(uint64_t v, unsigned size)
{
	switch (size) {
	case 1:
		return (int8_t)v;
	case 2:
		return (int16_t)v;
	case 4:
		return (int32_t)v;
	default:
		return (int64_t)v;
	}
}

/* ---- mode (mode.c) ---- */
/* Recompute the cached mode (code size, CPL, paging) after CR0, EFER, CS
 * or SS change. */
void vs_emu_update_mode(struct vs_emu_cpu *c);
/* Load a segment register the way MOV/POP do in the current mode. */
void vs_emu_load_seg(struct vs_emu_cpu *c, int seg, uint16_t sel);
/* Read the descriptor for `sel` from the GDT/LDT (faults with #GP(sel)
 * when outside the table). `high` is the next quadword. */
uint64_t vs_emu_read_desc(struct vs_emu_cpu *c, uint16_t sel, uint64_t *high);
void vs_emu_mark_desc_accessed(struct vs_emu_cpu *c, uint16_t sel, uint64_t raw);
void vs_emu_set_cr0(struct vs_emu_cpu *c, uint64_t v);
void vs_emu_set_cr3(struct vs_emu_cpu *c, uint64_t v);
void vs_emu_set_cr4(struct vs_emu_cpu *c, uint64_t v);
void vs_emu_reset(struct vs_emu_cpu *c);
void vs_emu_get_state(const struct vs_emu_cpu *c, struct vs_cpu_state *st);
void vs_emu_set_state(struct vs_emu_cpu *c, const struct vs_cpu_state *st);

/* ---- stack (exec_helpers) ---- */
static inline unsigned stack_size(struct vs_emu_cpu *c)
{
	return c->long64 ? 8 : c->seg[S_SS].db ? 4 : 2;
}
static inline uint64_t sp_get(struct vs_emu_cpu *c)
{
	unsigned s = stack_size(c);
	return s == 8 ? c->r[R_SP] : s == 4 ? (uint32_t)c->r[R_SP] : (uint16_t)c->r[R_SP];
}
static inline void sp_set(struct vs_emu_cpu *c, uint64_t v)
{
	unsigned s = stack_size(c);
	if (s == 8)
		c->r[R_SP] = v;
	else if (s == 4)
		c->r[R_SP] = (uint32_t)v;
	else
		c->r[R_SP] = (c->r[R_SP] & ~0xffffull) | (v & 0xffff);
}
static inline void push(struct vs_emu_cpu *c, unsigned size, uint64_t v)
{
	uint64_t sp = sp_get(c) - size;
	lin_write(c, seg_la(c, S_SS, stack_size(c) == 2 ? (uint16_t)sp : sp), size, v);
	sp_set(c, sp);
}
static inline uint64_t pop(struct vs_emu_cpu *c, unsigned size)
{
	uint64_t sp = sp_get(c);
	uint64_t v = lin_read(c, seg_la(c, S_SS, sp), size);
	sp_set(c, sp + size);
	return v;
}

/* ---- registers ---- */
static inline uint64_t reg_get(struct vs_emu_cpu *c, const struct insn *d, int r, unsigned size)
{
	switch (size) {
	case 1:
		if (!d->rex && r >= 4 && r < 8)
			return (c->r[r - 4] >> 8) & 0xff;
		return c->r[r] & 0xff;
	case 2:
		return c->r[r] & 0xffff;
	case 4:
		return c->r[r] & 0xffffffff;
	default:
		return c->r[r];
	}
}
static inline void reg_set(struct vs_emu_cpu *c, const struct insn *d, int r, unsigned size, uint64_t v)
{
	switch (size) {
	case 1:
		if (!d->rex && r >= 4 && r < 8)
			c->r[r - 4] = (c->r[r - 4] & ~0xff00ull) | ((v & 0xff) << 8);
		else
			c->r[r] = (c->r[r] & ~0xffull) | (v & 0xff);
		break;
	case 2:
		c->r[r] = (c->r[r] & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		c->r[r] = (uint32_t)v;
		break;
	default:
		c->r[r] = v;
		break;
	}
}

/* ModRM r/m operand. */
static inline uint64_t rm_read(struct vs_emu_cpu *c, const struct insn *d, unsigned size)
{
	return d->is_mem ? lin_read(c, d->ea, size) : reg_get(c, d, d->rm, size);
}
static inline void rm_write(struct vs_emu_cpu *c, const struct insn *d, unsigned size, uint64_t v)
{
	if (d->is_mem)
		lin_write(c, d->ea, size, v);
	else
		reg_set(c, d, d->rm, size, v);
}

/* Instruction fetch through the current code page. */
uint8_t vs_emu_fetch8_slow(struct vs_emu_cpu *c, struct insn *d);
static inline uint8_t fetch8(struct vs_emu_cpu *c, struct insn *d)
{
	if (likely(d->fp < d->fend)) {
		d->ip++;
		return *d->fp++;
	}
	return vs_emu_fetch8_slow(c, d);
}
static inline uint64_t fetch_n(struct vs_emu_cpu *c, struct insn *d, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)fetch8(c, d) << (8 * i);
	return v;
}
/* Immediate of operand size (at most 4 bytes, sign-extended for 64-bit). */
static inline uint64_t fetch_imm(struct vs_emu_cpu *c, struct insn *d, unsigned size)
{
	if (size == 8)
		return (uint64_t)(int64_t)(int32_t)fetch_n(c, d, 4);
	return fetch_n(c, d, size);
}

/* Decode the ModRM byte (and SIB, displacement) into d; `imm` is the
 * number of immediate bytes that follow (for RIP-relative addresses).
 * Register operands are decoded inline, memory operands out of line. */
void vs_emu_modrm_mem(struct vs_emu_cpu *c, struct insn *d, unsigned imm);
static inline void vs_emu_modrm(struct vs_emu_cpu *c, struct insn *d, unsigned imm)
{
	uint8_t m = fetch8(c, d);
	d->modrm = m;
	d->mod = m >> 6;
	d->reg = (uint8_t)(((m >> 3) & 7) | ((d->rex & 4) << 1));
	d->rm = m & 7;
	if (d->mod == 3) {
		d->rm |= (uint8_t)((d->rex & 1) << 3);
		d->is_mem = false;
		return;
	}
	vs_emu_modrm_mem(c, d, imm);
}

/* A RIP-relative operand followed by `n` immediate bytes the decoder did
 * not know of when it read the ModRM byte (group 3 TEST). */
static inline void vs_emu_riprel_imm(struct vs_emu_cpu *c, struct insn *d, unsigned n)
{
	if (d->riprel) {
		d->off += n;
		d->ea = seg_la(c, d->seg, d->off);
	}
}

/* Move RIP past the decoded instruction. */
/* The RIP after the decoded instruction, wrapped to the code size. */
static inline uint64_t insn_next_ip(const struct vs_emu_cpu *c, const struct insn *d)
{
	return c->code_size == 8 ? d->ip : c->code_size == 4 ? (uint32_t)d->ip : (uint16_t)d->ip;
}

static inline void commit_ip(struct vs_emu_cpu *c, const struct insn *d)
{
	c->rip = insn_next_ip(c, d);
}

/* Read-modify-write of the r/m operand: rmw_load, compute, rmw_store;
 * loop while rmw_store fails (a LOCK'd compare-and-swap lost a race). The
 * destination is checked for writing before anything is computed, so a
 * fault leaves flags and registers untouched. */
struct rmw {
	uint8_t *host; /* NULL: register, or memory outside RAM */
	bool atomic;
};
uint64_t vs_emu_rmw_load(struct vs_emu_cpu *c, const struct insn *d, unsigned size, struct rmw *r);
bool vs_emu_rmw_store(struct vs_emu_cpu *c, const struct insn *d, unsigned size, const struct rmw *r,
		      uint64_t old, uint64_t v);

/* ---- instruction groups ---- */
/* Execute one instruction at c->rip. */
void vs_emu_step(struct vs_emu_cpu *c);
/* Execute until `attention` is set, through the decoded-block cache. */
void vs_emu_run_blocks(struct vs_emu_cpu *c);
void vs_emu_blocks_free(struct vs_emu_cpu *c);
/* A fault longjmp'ed out of the run loop: count the instructions the
 * interrupted block completed before it. */
void vs_emu_blocks_fault(struct vs_emu_cpu *c);
void vs_emu_exec_0f(struct vs_emu_cpu *c, struct insn *d);
uint64_t vs_emu_alu(struct vs_emu_cpu *c, unsigned op, unsigned size, uint64_t a, uint64_t b);
/* ADD, SUB/CMP and the logic ops inline; ADC/SBB (which read CF) out of
 * line. */
static inline uint64_t alu_fast(struct vs_emu_cpu *c, unsigned op, unsigned size, uint64_t a, uint64_t b)
{
	uint64_t m = size_mask(size), res;
	switch (op & 7) {
	case 0:
		res = (a + b) & m;
		set_lazy(c, LF_ADD, size, a, b, res);
		return res;
	case 5:
	case 7:
		res = (a - b) & m;
		set_lazy(c, LF_SUB, size, a, b, res);
		return res;
	case 4:
		res = a & b & m;
		set_lazy(c, LF_LOGIC, size, a, b, res);
		return res;
	case 6:
		res = (a ^ b) & m;
		set_lazy(c, LF_LOGIC, size, a, b, res);
		return res;
	default:
		return vs_emu_alu(c, op, size, a, b);
	}
}
/* Jcc/SETcc/CMOVcc after CMP or SUB (unsigned and signed orders) and ZF
 * after any lazy op, inline; the rest in flags.c. */
static inline bool cond_fast(struct vs_emu_cpu *c, unsigned cc)
{
	if (c->lf_op == LF_SUB && (cc >> 1) == 1) {
		uint64_t m = size_mask(c->lf_size);
		bool r = (c->lf_a & m) < (c->lf_b & m);
		return (cc & 1) ? !r : r;
	}
	if (c->lf_op != LF_NONE && (cc >> 1) == 2) {
		bool r = (c->lf_res & size_mask(c->lf_size)) == 0;
		return (cc & 1) ? !r : r;
	}
	return vs_emu_cond(c, cc);
}
uint64_t vs_emu_shift(struct vs_emu_cpu *c, unsigned op, unsigned size, uint64_t v, unsigned count);
uint64_t vs_emu_shiftd(struct vs_emu_cpu *c, bool left, unsigned size, uint64_t dst, uint64_t src,
		       unsigned count);
void vs_emu_string(struct vs_emu_cpu *c, struct insn *d, uint8_t op);
void vs_emu_bcd(struct vs_emu_cpu *c, uint8_t op, uint8_t imm);
void vs_emu_muldiv(struct vs_emu_cpu *c, struct insn *d, unsigned op, unsigned size);
void vs_emu_cpuid(struct vs_emu_cpu *c);
void vs_emu_rdmsr(struct vs_emu_cpu *c);
void vs_emu_wrmsr(struct vs_emu_cpu *c);
uint64_t vs_emu_tsc(struct vs_emu_cpu *c);
void vs_emu_port_in(struct vs_emu_cpu *c, uint16_t port, unsigned size, uint64_t *val);
void vs_emu_port_out(struct vs_emu_cpu *c, uint16_t port, unsigned size, uint64_t val);
void vs_emu_check_io(struct vs_emu_cpu *c, uint16_t port, unsigned size);
void vs_emu_far_jump(struct vs_emu_cpu *c, uint16_t sel, uint64_t off, bool call, unsigned opsize,
		     uint64_t ret_ip);
void vs_emu_far_ret(struct vs_emu_cpu *c, unsigned opsize, uint16_t imm);
void vs_emu_iret(struct vs_emu_cpu *c, unsigned opsize);
void vs_emu_syscall(struct vs_emu_cpu *c, uint64_t next);
void vs_emu_sysret(struct vs_emu_cpu *c, bool rex_w);
void vs_emu_sysenter(struct vs_emu_cpu *c);
void vs_emu_sysexit(struct vs_emu_cpu *c, bool rex_w);
void vs_emu_group7(struct vs_emu_cpu *c, struct insn *d);
void vs_emu_group6(struct vs_emu_cpu *c, struct insn *d);
void vs_emu_mov_cr(struct vs_emu_cpu *c, struct insn *d, bool to_cr);
void vs_emu_fpu_op(struct vs_emu_cpu *c, struct insn *d, uint8_t map, uint8_t op);
void vs_emu_hlt(struct vs_emu_cpu *c);
/* RFLAGS written by POPF/IRET: IF only at CPL <= IOPL, IOPL only at CPL 0. */
void vs_emu_write_rflags(struct vs_emu_cpu *c, uint64_t v, unsigned size);
/* STI / MOV SS / POP SS: no interrupt before the next instruction
 * completes. The run loop steps that one instruction on its own. */
static inline void set_shadow(struct vs_emu_cpu *c)
{
	c->shadow = true;
	atomic_store_explicit(&c->attention, 1, memory_order_relaxed);
}

/* Note that IF may have become 1: check for a waiting interrupt. */
static inline void irq_window(struct vs_emu_cpu *c)
{
	if (c->irq_waiting && (c->rflags & F_IF))
		atomic_store_explicit(&c->attention, 1, memory_order_relaxed);
}

/* TF or DR7 just changed: leave the decoded blocks, so that the run loop
 * single-steps with the debug checks (emu.c, debug_step). */
static inline void debug_window(struct vs_emu_cpu *c)
{
	if ((c->rflags & F_TF) || (c->dr[7] & 0xff))
		atomic_store_explicit(&c->attention, 1, memory_order_relaxed);
}

#endif
