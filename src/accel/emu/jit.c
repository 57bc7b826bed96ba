/* The JIT: host x86-64 code for hot 64-bit blocks (a block that ran
 * c->jit_hot times), compiled from its records. As host code: register
 * ALU/TEST/MOV/LEA/NOT/NEG/INC/DEC; 8- and 16-bit MOV and ALU; MOVZX/
 * MOVSX/MOVSXD; ALU/CMP/TEST with a memory operand, MOV r/m, imm; SETcc
 * and CMOVcc; IMUL whose flags are dead; shifts and rotates by an
 * immediate (SHL/SHR/SAR also when their flags are read); 32/64-bit loads
 * and stores and PUSH/POP/CALL/RET. Memory operands go through an inline
 * software-TLB look-up (anything else runs the record's handler), and the
 * closing Jcc/JMP too. Every other record is a call to its handler, so
 * the JIT covers whatever the records do. A block's exits jump straight
 * into the next block's code when it is on the same page (emit_exit), a
 * RET or an exit to another page into its target's code through the
 * block table (emit_far_chain).
 * VESSEL_EMU_JIT_STATS=1 prints, when the vCPU goes, which records the
 * compiled code still ran through their handlers, most frequent first.
 *
 * Guest registers stay in c->r (rbx holds c): no register allocation, and
 * a fault in a called-out handler or slow path sees memory exactly as the
 * records would leave it. State kept exact at every point that can fault
 * or leave:
 * - RIP: c->rip holds the block's start plus `synced` bytes; before a
 *   call that can fault it is advanced to the faulting instruction (and
 *   back after, on the slow paths), at every exit to where the block
 *   leaves. A fault therefore sees its own instruction's RIP with nothing
 *   after it executed.
 * - Flags: a flag-writing record stores the lazy-flag state (flags.c)
 *   unless the next record that touches flags overwrites them all with no
 *   exit or possible fault in between (liveness at compile time). A Jcc
 *   right after the flag writer uses the host's own flags from the same
 *   host operation (CMP+Jcc fusion).
 * - Stores: a store that took the slow path may have hit a page with
 *   blocks (self-modifying code) or an MMIO register: if it raised
 *   `attention`, the code returns right after that instruction, as the
 *   records do.
 *
 * Code goes into a per-vCPU buffer mapped twice from one memfd: written
 * through a read-write view, run through a read-execute view (never both
 * on one mapping). When it fills up it starts again from the beginning and
 * bumps c->jit_gen, which drops every block's code at once (block.c checks
 * the generation before running it).
 *
 * VESSEL_EMU_JIT=0 turns it off (the records run); VESSEL_EMU_JIT_HOT=N
 * compiles a block on its Nth run (default 8; the unit tests use 1). Hosts
 * other than x86-64 run the records. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/emu/block.h"

#define JIT_HOT_DEFAULT 8

void vs_jit_init(struct vs_emu_cpu *c)
{
	const char *on = getenv("VESSEL_EMU_JIT"), *hot = getenv("VESSEL_EMU_JIT_HOT");
	long n = hot ? strtol(hot, NULL, 10) : JIT_HOT_DEFAULT;
	c->jit_hot = (uint16_t)(n >= 1 && n <= 65535 ? n : JIT_HOT_DEFAULT);
#if !defined(__x86_64__)
	c->jit_hot = 0;
#endif
	if (on && on[0] == '0' && on[1] == 0)
		c->jit_hot = 0;
}

#if defined(__x86_64__)

#include "accel/emu/jit_emit.h"

#define JIT_SIZE (16u << 20) /* per vCPU; memfd pages are only used once written */
#define JIT_BLOCK_MAX 8192   /* room a block's code may take */

/* VESSEL_EMU_JIT_STATS=1: compiled code counts the records it runs
 * through their handlers (by form) and the blocks it leaves to the run
 * loop through an indirect branch; printed when the vCPU goes. */
#define ST_FORMS (1u << 16) /* stat_form; | 0x8000: a tail the interpreter runs */
enum { ST_RET = ST_FORMS, ST_RET_CHAINED, ST_FAR, ST_FAR_CHAINED, ST_INDIRECT, ST_N };

struct jit_buf {
	uint8_t *rw, *rx;
	size_t used;
	uint64_t *stats; /* ST_N counters, or NULL */
};

static struct jit_buf *jit_buf(struct vs_emu_cpu *c)
{
	struct jit_buf *jb;
	int fd;
	if (c->jit)
		return c->jit;
	jb = calloc(1, sizeof(*jb));
	fd = memfd_create("vessel-emu-jit", MFD_CLOEXEC);
	if (!jb || fd < 0 || ftruncate(fd, JIT_SIZE) < 0)
		goto fail;
	jb->rw = mmap(NULL, JIT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	jb->rx = mmap(NULL, JIT_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (jb->rw == MAP_FAILED || jb->rx == MAP_FAILED)
		goto fail;
	close(fd);
	{
		const char *st = getenv("VESSEL_EMU_JIT_STATS");
		if (st && st[0] == '1')
			jb->stats = calloc(ST_N, sizeof(uint64_t));
	}
	c->jit = jb;
	return jb;
fail:
	/* No code buffer (an executable mapping may be forbidden): the
	 * records run. */
	if (jb && jb->rw && jb->rw != MAP_FAILED)
		munmap(jb->rw, JIT_SIZE);
	if (jb && jb->rx && jb->rx != MAP_FAILED)
		munmap(jb->rx, JIT_SIZE);
	if (fd >= 0)
		close(fd);
	free(jb);
	c->jit_hot = 0;
	return NULL;
}

static int stat_cmp(const void *a, const void *b)
{
	uint64_t x = **(const uint64_t *const *)a, y = **(const uint64_t *const *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The top forms compiled code ran through handlers, on stderr. */
static void stats_print(struct vs_emu_cpu *c, const uint64_t *st)
{
	const uint64_t **top = malloc(ST_FORMS * sizeof(*top));
	uint64_t sum = 0, tails = 0;
	unsigned n = 0;
	if (!top)
		return;
	for (unsigned i = 0; i < ST_FORMS; i++)
		if (st[i]) {
			top[n++] = &st[i];
			*(i & 0x8000 ? &tails : &sum) += st[i];
		}
	qsort(top, n, sizeof(top[0]), stat_cmp);
	fprintf(stderr,
		"jit stats vCPU %d: %llu instructions, %llu through handlers, %llu interpreted after "
		"compiled blocks, %llu RET and %llu other exits to the run loop, %llu RET into the next "
		"block's code, %llu exits to another page chained and %llu not\n",
		c->index, (unsigned long long)c->icount, (unsigned long long)sum, (unsigned long long)tails,
		(unsigned long long)st[ST_RET], (unsigned long long)st[ST_INDIRECT],
		(unsigned long long)st[ST_RET_CHAINED], (unsigned long long)st[ST_FAR_CHAINED],
		(unsigned long long)st[ST_FAR]);
	for (unsigned i = 0; i < n && i < 40; i++) {
		unsigned f = (unsigned)(top[i] - st);
		fprintf(stderr, "  %s%s%02x /%u %s size %u: %llu\n", f & 0x8000 ? "tail " : "",
			f & 0x100 ? "0f " : "", f & 0xff, (f >> 12) & 7, f & 0x200 ? "mem" : "reg",
			1u << ((f >> 10) & 3), (unsigned long long)*top[i]);
	}
	free(top);
}

/* A record's form for the statistics: opcode, memory or register, size,
 * ModRM reg field. */
static unsigned stat_form(const struct blk_rec *r)
{
	unsigned sz = r->size == 2 ? 1 : r->size == 4 ? 2 : r->size == 8 ? 3 : 0;
	return (r->d.opcode & 0x1ff) | (r->d.is_mem ? 0x200u : 0) | sz << 10 | (unsigned)(r->d.reg & 7) << 12;
}

/* The form of the instruction after a block that ends in a tail (its
 * opcode and ModRM reg field, from the guest bytes). */
static unsigned tail_form(const struct vs_emu_cpu *c, const struct blk *b)
{
	const uint8_t *p = b->host + b->nbytes, *end;
	uint64_t off = (uint64_t)(p - c->mem->base);
	unsigned f = 0x8000;
	end = c->mem->base + ((off | 0xfff) + 1);
	while (p < end && ((*p & 0xf0) == 0x40 || *p == 0x66 || *p == 0x67 || *p == 0xf2 || *p == 0xf3 ||
			   *p == 0xf0 || *p == 0x64 || *p == 0x65 || *p == 0x2e || *p == 0x3e))
		p++;
	if (p < end && *p == 0x0f) {
		f |= 0x100;
		p++;
	}
	if (p < end)
		f |= *p++;
	if (p < end)
		f |= (unsigned)((*p >> 3) & 7) << 12;
	return f;
}

void vs_jit_free(struct vs_emu_cpu *c)
{
	struct jit_buf *jb = c->jit;
	if (!jb)
		return;
	if (jb->stats) {
		stats_print(c, jb->stats);
		free(jb->stats);
	}
	munmap(jb->rw, JIT_SIZE);
	munmap(jb->rx, JIT_SIZE);
	free(jb);
	c->jit = NULL;
}

/* Offsets into the vCPU for the generated code. */
#define OFF_R(i) ((int32_t)(offsetof(struct vs_emu_cpu, r) + 8 * (unsigned)(i)))
#define OFF(f) ((int32_t)offsetof(struct vs_emu_cpu, f))
#define OFF_TLB(f) ((int32_t)(offsetof(struct vs_emu_cpu, tlb) + offsetof(struct tlb_entry, f)))

/* How the compiler treats a record. */
enum cls {
	C_CALL,	  /* call its handler */
	C_PURE,	  /* host code, no flags, cannot fault */
	C_FULLW,  /* host code writing all six flags, reading none */
	C_INCDEC, /* host code; CF carried over from a known writer */
	C_MEM,	  /* host load/store with the TLB inline */
	C_SHIFT,  /* register shift/rotate by an immediate, its flags dead */
	C_JCC,
	C_JMP,
	C_RM,	  /* any operand size, register or memory operand (emit_rm) */
	C_COND,	  /* SETcc/CMOVcc on a register (emit_cond) */
	C_IMUL,	  /* IMUL r, r (, imm) with its flags dead */
	C_SHIFTF, /* SHL/SHR/SAR reg, imm whose flags are read (emit_shift_flags) */
};

struct em {
	struct jb j;
	struct blk *b;
	unsigned cur;	 /* guest bytes from the block's start to this record */
	unsigned synced; /* bytes c->rip has been advanced by so far */
	bool hostflags;	 /* the host's flags are those of the last guest flag writer */
	int lf;		 /* LF_* of the last flag writer in the block, -1: unknown */
	uint8_t cls[BLK_RECS];
	bool store_flags[BLK_RECS];
	int8_t cf_in[BLK_RECS];	 /* CF before an INC/DEC: 0, 1 or -1 (ask cf_now) */
	struct jit_links *links; /* this block's, in the read-write view */
	uint64_t *stats;	 /* VESSEL_EMU_JIT_STATS's counters, or NULL */
	const struct vs_emu_cpu *c;
	unsigned page_off; /* of the block's first byte */
};

/* Statistics: ++counter (clobbers rax and the host flags). */
static void emit_count(struct em *e, uint64_t *counter)
{
	mov_ri(&e->j, H_AX, (uint64_t)(uintptr_t)counter);
	put1(&e->j, 0x48); /* inc qword [rax] */
	put1(&e->j, 0xff);
	put1(&e->j, 0x00);
}

static int alu_lf(unsigned op)
{
	return op == A_ADD		    ? LF_ADD
	       : op == A_ADC		    ? LF_ADC
	       : op == A_SBB		    ? LF_SBB
	       : op == A_SUB || op == A_CMP ? LF_SUB
					    : LF_LOGIC;
}

/* The records emit_rm compiles: MOVZX/MOVSX/MOVSXD, 8- and 16-bit MOV,
 * MOV r/m, imm, ADD/OR/AND/SUB/XOR/CMP/TEST with a memory operand or of
 * 8 or 16 bits, NOP. A memory operand has a 64-bit address. */
static bool rm_ok(const struct blk_rec *r)
{
	if (r->d.is_mem && r->d.addrsize != 8)
		return false;
	switch (r->kind) {
	case K_NOP:
		return true;
	case K_MOVX:
		return r->size != 1;
	case K_MOVSXD:
		return r->size == 8;
	case K_MOV_REG_RM:
	case K_MOV_RM_REG:
		return r->size <= 2;
	case K_MOV_RM_IMM:
		return true;
	case K_ALU_REG_RM:
	case K_ALU_RM_REG:
	case K_ALU_RM_IMM:
	case K_ALU_ACC_IMM:
		return true;
	case K_TEST_RM_REG:
	case K_TEST_RM_IMM:
		return true;
	default:
		return false;
	}
}

/* ADC and SBB: emit_rm records that read CF too. */
static bool rm_reads_cf(const struct blk_rec *r)
{
	return (r->kind == K_ALU_REG_RM || r->kind == K_ALU_RM_REG || r->kind == K_ALU_RM_IMM ||
		r->kind == K_ALU_ACC_IMM) &&
	       (r->op == A_ADC || r->op == A_SBB);
}

/* Whether an emit_rm record writes the six flags (ALU, CMP, TEST). */
static bool rm_flags(const struct blk_rec *r)
{
	switch (r->kind) {
	case K_ALU_REG_RM:
	case K_ALU_RM_REG:
	case K_ALU_RM_IMM:
	case K_ALU_ACC_IMM:
	case K_TEST_RM_REG:
	case K_TEST_RM_IMM:
		return true;
	default:
		return false;
	}
}

/* Classify the records (tracking CF where INC/DEC needs it), then find
 * which flag writers must store the lazy state. */
static void plan(struct em *e)
{
	struct blk *b = e->b;
	int cf = -1;
	bool live = true;
	for (unsigned i = 0; i < b->nrec; i++) {
		const struct blk_rec *r = &b->rec[i];
		uint8_t k = C_CALL;
		switch (r->kind) {
		case K_S_ALU_RR:
		case K_S_ALU_RI:
			k = C_FULLW;
			cf = alu_lf(r->op) == LF_LOGIC ? 0 : -1;
			break;
		case K_S_MOV_RR:
		case K_S_MOV_RI:
		case K_S_LEA:
			k = C_PURE;
			break;
		case K_TEST_RM_REG:
		case K_TEST_RM_IMM:
			if (!r->d.is_mem && (r->size == 4 || r->size == 8))
				k = C_FULLW;
			else if (rm_ok(r))
				k = C_RM;
			cf = 0;
			break;
		case K_LEA:
			if (r->d.addrsize == 8 && r->size != 8)
				k = C_PURE;
			break;
		case K_IMUL:
			cf = -1;
			if (!r->d.is_mem && (r->size == 4 || r->size == 8))
				k = C_IMUL;
			break;
		case K_SETCC:
		case K_CMOV:
			if (!r->d.is_mem && (r->kind == K_SETCC || r->size == 4 || r->size == 8))
				k = C_COND;
			break;
		case K_NOTNEG:
			if (!r->d.is_mem && (r->size == 4 || r->size == 8)) {
				k = r->op == 2 ? C_PURE : C_FULLW;
				if (r->op == 3)
					cf = -1;
			} else {
				cf = -1;
			}
			break;
		case K_SHIFT: {
			unsigned n = (unsigned)r->imm & (r->size == 8 ? 63 : 31);
			cf = -1;
			/* by CL (imm 0x100) too, the count 0 included */
			if (!r->d.is_mem && (r->size == 4 || r->size == 8) && (r->imm == 0x100 || n != 0) &&
			    r->op != 2 && r->op != 3)
				k = C_SHIFT;
			break;
		}
		case K_S_INCDEC:
			k = C_INCDEC;
			e->cf_in[i] = (int8_t)cf;
			break;
		case K_S_LOAD:
		case K_S_STORE:
			if (r->d.addrsize == 8)
				k = C_MEM;
			break;
		case K_S_PUSH:
		case K_S_POP:
			k = C_MEM;
			break;
		case K_S_CALL:
			if ((int64_t)r->imm >= -0x10000000 && (int64_t)r->imm <= 0x10000000)
				k = C_MEM;
			break;
		case K_S_RET:
			k = C_MEM;
			break;
		case K_S_JCC:
		case K_S_JMP:
			if ((int64_t)r->imm >= -0x10000000 && (int64_t)r->imm <= 0x10000000)
				k = r->kind == K_S_JCC ? C_JCC : C_JMP;
			break;
		default:
			if (rm_ok(r)) {
				k = C_RM;
				if (rm_flags(r))
					cf = alu_lf(r->op) == LF_LOGIC ? 0 : -1;
			}
			break;
		}
		if (k == C_CALL)
			cf = -1;
		e->cls[i] = k;
	}
	for (unsigned i = b->nrec; i-- > 0;) {
		if (e->cls[i] == C_SHIFT && live)
			/* Its flags are read: SHL/SHR/SAR make them as host
			 * code, the handler the rotates'. */
			e->cls[i] = b->rec[i].op >= 4 && b->rec[i].imm != 0x100 ? C_SHIFTF : C_CALL;
		if (e->cls[i] == C_IMUL && live)
			e->cls[i] = C_CALL;
		switch (e->cls[i]) {
		case C_PURE:
			break;
		case C_SHIFT:
			/* SHL/SHR/SAR write all six flags; ROL/ROR pass the others
			 * through, dead as well here. */
			break;
		case C_IMUL:
		case C_SHIFTF:
			live = false;
			break;
		case C_FULLW:
			e->store_flags[i] = live;
			live = false;
			break;
		case C_INCDEC:
			e->store_flags[i] = live;
			live = true;
			break;
		case C_RM:
			/* A memory operand may fault: the flags before it are
			 * live then. */
			if (rm_flags(&b->rec[i]))
				e->store_flags[i] = live;
			if (b->rec[i].d.is_mem || rm_reads_cf(&b->rec[i]))
				live = true;
			else if (rm_flags(&b->rec[i]))
				live = false;
			break;
		default: /* exits, possible faults, flag readers */
			live = true;
			break;
		}
	}
}

static void leave(struct em *e, unsigned done)
{
	mov_ri(&e->j, H_AX, done);
	put1(&e->j, 0x5b); /* pop rbx */
	put1(&e->j, 0xc3); /* ret */
}

/* Where a block's code starts in the buffer: the links of its two exits
 * (the code of the block each leads to, and that block's guest bytes'
 * host address, which vs_jit_link checks), then the code. */
struct jit_links {
	const void *to[2];
	const uint8_t *host[2];
};

/* c->rip += delta (clobbers the host flags) */
static void rip_add(struct em *e, int64_t delta)
{
	if (delta)
		alu_mem_imm(&e->j, true, delta > 0 ? A_ADD : A_SUB, H_BX, OFF(rip),
			    (uint32_t)(delta > 0 ? delta : -delta));
}

static void emit_far_chain(struct em *e, unsigned stat_chained, unsigned stat_left);

#define EXIT_LEAVE INT64_MIN /* emit_exit's target: back to the run loop */

/* Leave the block to RIP + `delta`, counting its instructions. When the
 * target lies on the block's own page (`target`: its offset there) and
 * nothing needs the run loop (`attention`, a step limit), jump straight
 * into the next block's code through link `slot`; an empty link asks the
 * run loop to fill it (c->jit_link). A target on another page goes
 * through the block table (emit_far_chain); EXIT_LEAVE returns. */
static void emit_exit(struct em *e, int64_t delta, int64_t target, unsigned slot)
{
	struct jb *j = &e->j;
	uint8_t *plain[2], *link;
	int32_t rel;
	rip_add(e, delta);
	alu_mem_imm(j, true, A_ADD, H_BX, OFF(icount), e->b->nrec);
	if (target == EXIT_LEAVE) {
		leave(e, 0);
		return;
	}
	if (target < 0 || target >= 4096) {
		emit_far_chain(e, ST_FAR_CHAINED, ST_FAR);
		return;
	}
	e->links->host[slot] = e->b->host - e->page_off + target;
	e_mem(j, false, 0x83, 0, 7, H_BX, OFF(attention));
	put1(j, 0);
	plain[0] = jcc_fwd(j, 0x5);
	e_mem(j, true, 0x83, 0, 7, H_BX, OFF(icount_stop));
	put1(j, 0);
	plain[1] = jcc_fwd(j, 0x5);
	/* mov rax, [rip + links.to[slot]] */
	put1(j, 0x48);
	put1(j, 0x8b);
	put1(j, 0x05);
	rel = (int32_t)((const uint8_t *)&e->links->to[slot] - (j->p + 4));
	put4(j, (uint32_t)rel);
	put1(j, 0x48); /* test rax, rax */
	put1(j, 0x85);
	put1(j, 0xc0);
	link = jcc_fwd(j, 0x4);
	/* lea rcx, [rip + links.to[slot]]: a failing entry check hands the
	 * link back to the run loop, which points it at the block there now */
	put1(j, 0x48);
	put1(j, 0x8d);
	put1(j, 0x0d);
	rel = (int32_t)((const uint8_t *)&e->links->to[slot] - (j->p + 4));
	put4(j, (uint32_t)rel);
	put1(j, 0xff); /* jmp rax */
	put1(j, 0xe0);
	patch_here(j, link);
	/* lea rax, [rip + links.to[slot]]; c->jit_link = rax */
	put1(j, 0x48);
	put1(j, 0x8d);
	put1(j, 0x05);
	rel = (int32_t)((const uint8_t *)&e->links->to[slot] - (j->p + 4));
	put4(j, (uint32_t)rel);
	st(j, true, H_AX, H_BX, OFF(jit_link));
	patch_here(j, plain[0]);
	patch_here(j, plain[1]);
	leave(e, 0);
}

/* The page offset RIP + delta lands on (delta as for emit_exit). */
static int64_t exit_target(const struct em *e, int64_t delta)
{
	return (int64_t)(e->page_off + e->synced) + delta;
}

/* c->rip at this record's instruction, for a call that may fault. */
static void sync_rip(struct em *e)
{
	rip_add(e, (int64_t)e->cur - e->synced);
	e->synced = e->cur;
}

static void store_lazy(struct em *e, int lf, unsigned size, unsigned a, unsigned b, unsigned res)
{
	struct jb *j = &e->j;
	st(j, true, a, H_BX, OFF(lf_a));
	st(j, true, b, H_BX, OFF(lf_b));
	st(j, true, res, H_BX, OFF(lf_res));
	st_imm(j, false, H_BX, OFF(lf_op), (uint32_t)lf);
	st_imm8(j, H_BX, OFF(lf_size), (uint8_t)size);
}

/* ADD/OR/AND/SUB/XOR/CMP reg, reg|imm and NEG: a in rax, b in rcx, the
 * host operation of the same size gives the result and the flags. */
static void emit_alu(struct em *e, const struct blk_rec *r, bool store)
{
	struct jb *j = &e->j;
	bool w = r->size == 8;
	bool test = r->kind == K_TEST_RM_REG || r->kind == K_TEST_RM_IMM;
	unsigned op = test ? A_AND : r->op, dst = r->dst;
	if (r->kind == K_NOTNEG) { /* NEG: 0 - reg */
		op = A_SUB;
		dst = r->d.rm;
		ld(j, w, H_CX, H_BX, OFF_R(dst));
		mov_ri(j, H_AX, 0);
	} else {
		if (test)
			dst = r->d.rm;
		ld(j, w, H_AX, H_BX, OFF_R(dst));
		if (r->kind == K_S_ALU_RR || r->kind == K_TEST_RM_REG)
			ld(j, w, H_CX, H_BX, OFF_R(test ? r->d.reg : r->src));
		else
			mov_ri(j, H_CX, w ? r->imm : (uint32_t)r->imm);
	}
	if (store)
		mov_rr(j, true, H_DX, H_AX);
	/* CMP as SUB: the same flags, and the result for the lazy state;
	 * TEST as AND. */
	e_rr(j, w, ((op == A_CMP ? A_SUB : op) << 3) | 1, H_AX, H_CX);
	if (op != A_CMP && !test)
		st(j, true, H_AX, H_BX, OFF_R(dst));
	if (store)
		store_lazy(e, alu_lf(op), r->size, H_DX, H_CX, H_AX);
	e->hostflags = true;
	e->lf = alu_lf(op);
}

static int jit_cf(struct vs_emu_cpu *c)
{
	return vs_emu_cf(c);
}

static void emit_incdec(struct em *e, const struct blk_rec *r, bool store, int cf)
{
	struct jb *j = &e->j;
	bool w = r->size == 8;
	if (store && cf < 0) {
		/* CF of the lazy state before it (stored: INC/DEC reads it). */
		mov_rr(j, true, H_DI, H_BX);
		call_abs(j, (const void *)jit_cf);
		e_mem(j, false, 0x88, 0, H_AX, H_BX, OFF(lf_cf)); /* mov c->lf_cf, al */
	}
	ld(j, w, H_AX, H_BX, OFF_R(r->dst));
	if (store)
		mov_rr(j, true, H_DX, H_AX);
	unary(j, w, 0xff, r->op ? 1 : 0, H_AX);
	st(j, true, H_AX, H_BX, OFF_R(r->dst));
	if (store) {
		mov_ri(j, H_CX, 1);
		store_lazy(e, r->op ? LF_DEC : LF_INC, r->size, H_DX, H_CX, H_AX);
		if (cf >= 0)
			st_imm8(j, H_BX, OFF(lf_cf), (uint8_t)cf);
	}
	e->hostflags = true;
	e->lf = r->op ? LF_DEC : LF_INC;
}

/* Where guest register g's low `size` bytes are in the vCPU (AH..BH for
 * registers 4 to 7 of a byte operation without REX). */
static int32_t reg_loc(const struct blk_rec *r, unsigned g, unsigned size)
{
	if (size == 1 && !r->d.rex && g >= 4 && g < 8)
		return OFF_R(g - 4) + 1;
	return OFF_R(g);
}

/* hr = `size` bytes at [base + disp], zero- or sign-extended to 64 bits. */
static void ld_ext(struct jb *j, unsigned hr, unsigned base, int32_t disp, unsigned size, bool sx)
{
	switch (size) {
	case 1:
		e_mem(j, sx, 0x0f, sx ? 0xbe : 0xb6, hr, base, disp);
		break;
	case 2:
		e_mem(j, sx, 0x0f, sx ? 0xbf : 0xb7, hr, base, disp);
		break;
	case 4:
		if (sx)
			e_mem(j, true, 0x63, 0, hr, base, disp); /* movsxd */
		else
			ld(j, false, hr, base, disp);
		break;
	default:
		ld(j, true, hr, base, disp);
		break;
	}
}

/* [base + disp] = the low `size` bytes of hr (rax, rcx or rdx). */
static void st_sized(struct jb *j, unsigned hr, unsigned base, int32_t disp, unsigned size)
{
	if (size == 2)
		put1(j, 0x66);
	e_mem(j, size == 8, size == 1 ? 0x88 : 0x89, 0, hr, base, disp);
}

/* Guest register g's low `size` bytes = hr's, as a register write of
 * that size does (32 bits: zero-extended). No host flags change. */
static void write_reg(struct jb *j, const struct blk_rec *r, unsigned g, unsigned size, unsigned hr)
{
	if (size == 4)
		mov_rr(j, false, hr, hr);
	st_sized(j, hr, H_BX, reg_loc(r, g, size), size < 4 ? size : 8);
}

/* op dst, src of `size` bytes (A_* op, r/m form). */
static void alu_sized(struct jb *j, unsigned op, unsigned size, unsigned dst, unsigned src)
{
	if (size == 2)
		put1(j, 0x66);
	e_rr(j, size == 8, (op << 3) | (size == 1 ? 0 : 1), dst, src);
}

/* rsi = the record's address offset (before any segment base). */
static void emit_addr(struct em *e, const struct blk_rec *r)
{
	struct jb *j = &e->j;
	int64_t disp = r->disp;
	if (r->base >= 0)
		ld(j, true, H_SI, H_BX, OFF_R(r->base));
	else
		mov_ri(j, H_SI, 0);
	if (r->d.riprel) {
		ld(j, true, H_DX, H_BX, OFF(rip));
		disp += (int64_t)e->cur + r->len - e->synced;
		e_sib(j, true, 0x8d, H_SI, H_SI, H_DX, 0, (int32_t)disp);
	} else if (r->index >= 0) {
		ld(j, true, H_DX, H_BX, OFF_R(r->index));
		e_sib(j, true, 0x8d, H_SI, H_SI, H_DX, r->scale, (int32_t)disp);
	} else {
		e_mem(j, true, 0x8d, 0, H_SI, H_SI, (int32_t)disp);
	}
}

static void emit_pure(struct em *e, const struct blk_rec *r)
{
	struct jb *j = &e->j;
	bool w = r->size == 8;
	switch (r->kind) {
	case K_S_MOV_RR:
		ld(j, w, H_AX, H_BX, OFF_R(r->src));
		st(j, true, H_AX, H_BX, OFF_R(r->dst));
		break;
	case K_S_MOV_RI:
		mov_ri(j, H_AX, r->imm);
		st(j, true, H_AX, H_BX, OFF_R(r->dst));
		break;
	case K_S_LEA:
		emit_addr(e, r);
		st(j, true, H_SI, H_BX, OFF_R(r->dst));
		break;
	case K_LEA: /* 32- or 16-bit result of a 64-bit address */
		emit_addr(e, r);
		write_reg(j, r, r->d.reg, r->size, H_SI);
		break;
	case K_NOTNEG:
		ld(j, w, H_AX, H_BX, OFF_R(r->d.rm));
		unary(j, w, 0xf7, 2, H_AX);
		st(j, true, H_AX, H_BX, OFF_R(r->d.rm));
		break;
	default: /* NOP */
		break;
	}
}

/* SHL/SHR/SAR r32/64, imm (count not 0) with the flags the handler
 * makes (alu.c): SF/ZF/PF/CF from the host, OF computed (the host's is
 * undefined past a count of 1), AF clear, into rflags (LF_NONE). */
static void emit_shift_flags(struct em *e, const struct blk_rec *r)
{
	struct jb *j = &e->j;
	bool w = r->size == 8;
	unsigned bits = w ? 64 : 32, op = r->op == 6 ? 4 : r->op;
	ld(j, w, H_AX, H_BX, OFF_R(r->d.rm));
	mov_rr(j, true, H_DX, H_AX);
	shift_ri(j, w, op, H_AX, (uint8_t)(r->imm & (bits - 1)));
	put1(j, 0x9c); /* pushfq; pop rcx */
	put1(j, 0x59);
	st(j, true, H_AX, H_BX, OFF_R(r->d.rm));
	alu_ri(j, false, A_AND, H_CX, (uint32_t)(F_CF | F_PF | F_ZF | F_SF));
	if (op == 4) { /* OF = the result's top bit ^ CF */
		mov_rr(j, true, H_DX, H_AX);
		shift_ri(j, w, 5, H_DX, (uint8_t)(bits - 1));
		e_rr(j, false, 0x31, H_DX, H_CX); /* xor edx, ecx */
		alu_ri(j, false, A_AND, H_DX, 1);
	} else if (op == 5) { /* OF = the operand's top bit */
		shift_ri(j, w, 5, H_DX, (uint8_t)(bits - 1));
	}
	if (op != 7) {
		shift_ri(j, false, 4, H_DX, 11);
		e_rr(j, false, 0x09, H_CX, H_DX); /* or ecx, edx */
	}
	ld(j, true, H_DX, H_BX, OFF(rflags));
	alu_ri(j, true, A_AND, H_DX, (uint32_t)~F_ARITH);
	e_rr(j, true, 0x09, H_DX, H_CX);
	st(j, true, H_DX, H_BX, OFF(rflags));
	st_imm(j, false, H_BX, OFF(lf_op), LF_NONE);
	e->hostflags = false;
	e->lf = -1;
}

/* IMUL r, r/m (, imm) on registers, its flags dead (plan). */
static void emit_imul(struct em *e, const struct blk_rec *r)
{
	struct jb *j = &e->j;
	bool w = r->size == 8;
	ld(j, w, H_CX, H_BX, OFF_R(r->d.rm));
	if (r->op)
		mov_ri(j, H_AX, r->imm);
	else
		ld(j, w, H_AX, H_BX, OFF_R(r->d.reg));
	rex(j, w, H_AX, 0, H_CX); /* imul rax, rcx */
	put1(j, 0x0f);
	put1(j, 0xaf);
	put1(j, 0xc0 | (H_AX << 3) | H_CX);
	st(j, true, H_AX, H_BX, OFF_R(r->d.reg));
	e->hostflags = false;
	e->lf = -1;
}

/* After record `idx` stored through a slow path (RIP past it): a store
 * into a page with blocks (or MMIO) raised `attention` when the block
 * must stop right after it. */
static void emit_stop_check(struct em *e, unsigned idx)
{
	struct jb *j = &e->j;
	uint8_t *cont;
	e_mem(j, false, 0x83, 0, 7, H_BX, OFF(attention));
	put1(j, 0);
	cont = jcc_fwd(j, 0x4);
	leave(e, (idx + 1) | JIT_STOPPED);
	patch_here(j, cont);
}

/* call the record's handler: handler(c, r) */
static void call_record(struct jb *j, const struct blk_rec *r)
{
	mov_rr(j, true, H_DI, H_BX);
	mov_ri(j, H_SI, (uint64_t)(uintptr_t)r);
	call_abs(j, (const void *)r->fn);
}

/* The slow path of an inlined access (a TLB miss, MMIO, a page-crossing
 * access: the `nmiss` labels): the record's handler from the start, with
 * RIP at the instruction while it may fault; it leaves RIP at the next
 * one (or a branch target). Returns how far RIP was moved back, for
 * emit_miss_resume. */
static int64_t emit_miss_call(struct em *e, const struct blk_rec *r, uint8_t *const *miss, unsigned nmiss)
{
	int64_t back = (int64_t)e->cur - e->synced;
	for (unsigned i = 0; i < nmiss; i++)
		if (miss[i] != NULL)
			patch_here(&e->j, miss[i]);
	rip_add(e, back);
	call_record(&e->j, r);
	return back;
}

/* After emit_miss_call of record `idx`, when compiled code goes on: stop
 * if its store raised `attention`, and RIP back where compiled code keeps
 * it. */
static void emit_miss_resume(struct em *e, const struct blk_rec *r, unsigned idx, int64_t back)
{
	if (r->stores)
		emit_stop_check(e, idx);
	rip_add(e, -(back + r->len));
}

/* The software-TLB look-up (mem.c's layout) for `size` bytes at the
 * linear address in rsi: on a hit, rdi holds the host page and rcx the
 * offset in it; a miss, a page-crossing access or a missing write tag
 * jumps to the returned label(s). Clobbers rdx and the host flags. */
static void emit_tlb(struct em *e, unsigned size, bool write, uint8_t *miss[2])
{
	struct jb *j = &e->j;
	/* edi = slot * sizeof(entry); rdx = the tag this access needs */
	mov_rr(j, false, H_DI, H_SI);
	shift_ri(j, false, 5, H_DI, 12);
	alu_ri(j, false, A_AND, H_DI, TLB_SIZE - 1);
	put1(j, 0x69); /* imul edi, edi, imm32 */
	put1(j, 0xff);
	put4(j, (uint32_t)sizeof(struct tlb_entry));
	/* The page of the access's last byte: an access crossing into the
	 * next page cannot match the slot of its first (QEMU's trick). */
	e_mem(j, true, 0x8d, 0, H_DX, H_SI, (int32_t)size - 1);
	alu_ri(j, true, A_AND, H_DX, 0xfffff000u);
	e_mem(j, false, 0x0f, 0xb6, H_CX, H_BX, OFF(user)); /* movzx ecx, byte c->user */
	e_sib(j, true, 0x8d, H_DX, H_DX, H_CX, 1, 1);
	e_sib(j, true, 0x3b, H_DX, H_BX, H_DI, 0, write ? OFF_TLB(tag_w) : OFF_TLB(tag_r));
	miss[0] = jcc_fwd(j, 0x5);
	miss[1] = NULL;
	mov_rr(j, false, H_CX, H_SI);
	alu_ri(j, false, A_AND, H_CX, 0xfff);
	e_sib(j, true, 0x8b, H_DI, H_BX, H_DI, 0, OFF_TLB(host));
}

/* rax = [rdi + rcx] or [rdi + rcx] = rax */
static void host_access(struct em *e, bool w, bool write)
{
	e_sib(&e->j, w, write ? 0x89 : 0x8b, H_AX, H_DI, H_CX, 0, 0);
}

/* Leaving a block for another page (a RET, a branch or the fall-through
 * off the page; c->rip set, the block's instructions counted): go on
 * into the target block's code when the run loop would find it. The
 * target is translated through the TLB's fetch tag, must be in guest RAM
 * (as blk_find checks), its page must keep its code mark (stores to it
 * stop the code), and the block table's slot for it must hold a block of
 * this mode compiled in this code generation; the
 * block's chained entry then checks its bytes (emit_self_check). Anything
 * else, `attention` or a step limit: back to the run loop. The run loop
 * takes the linear page of the blocks that follow from c->blk_cur_rip. */
static void emit_far_chain(struct em *e, unsigned stat_chained, unsigned stat_left)
{
	struct jb *j = &e->j;
	const struct vs_emu_cpu *c = e->c;
	uint8_t *out[12];
	unsigned n = 0;
	ld(j, true, H_AX, H_BX, OFF(rip));
	e_mem(j, false, 0x83, 0, 7, H_BX, OFF(attention));
	put1(j, 0);
	out[n++] = jcc_fwd(j, 0x5);
	e_mem(j, true, 0x83, 0, 7, H_BX, OFF(icount_stop));
	put1(j, 0);
	out[n++] = jcc_fwd(j, 0x5);
	/* rdi = TLB slot offset; rdx = the fetch tag */
	mov_rr(j, false, H_DI, H_AX);
	shift_ri(j, false, 5, H_DI, 12);
	alu_ri(j, false, A_AND, H_DI, TLB_SIZE - 1);
	put1(j, 0x69); /* imul edi, edi, imm32 */
	put1(j, 0xff);
	put4(j, (uint32_t)sizeof(struct tlb_entry));
	mov_rr(j, true, H_DX, H_AX);
	alu_ri(j, true, A_AND, H_DX, 0xfffff000u);
	e_mem(j, false, 0x0f, 0xb6, H_CX, H_BX, OFF(user));
	e_sib(j, true, 0x8d, H_DX, H_DX, H_CX, 1, 1);
	e_sib(j, true, 0x3b, H_DX, H_BX, H_DI, 0, OFF_TLB(tag_x));
	out[n++] = jcc_fwd(j, 0x5);
	/* rsi = the page's offset in guest RAM; its code mark */
	e_sib(j, true, 0x8b, H_SI, H_BX, H_DI, 0, OFF_TLB(host));
	mov_ri(j, H_DX, (uint64_t)(uintptr_t)c->mem->base);
	e_rr(j, true, 0x29, H_SI, H_DX); /* sub rsi, rdx */
	mov_ri(j, H_DX, c->mem->total);	 /* a page of guest RAM (as blk_find) */
	e_rr(j, true, 0x39, H_SI, H_DX); /* cmp rsi, rdx */
	out[n++] = jcc_fwd(j, 0x3);	 /* jae */
	mov_rr(j, true, H_CX, H_SI);
	shift_ri(j, true, 5, H_CX, 12);
	mov_ri(j, H_DX, (uint64_t)(uintptr_t)c->code_map);
	e_sib(j, false, 0x80, 7, H_DX, H_CX, 0, 0); /* cmp byte [rdx + rcx], 0 */
	put1(j, 0);
	out[n++] = jcc_fwd(j, 0x4);
	/* rsi = the target's offset; rdx = its set (block.c's set_of) */
	mov_rr(j, false, H_CX, H_AX);
	alu_ri(j, false, A_AND, H_CX, 0xfff);
	e_rr(j, true, 0x01, H_SI, H_CX); /* add rsi, rcx */
	mov_ri(j, H_DX, 0x9e3779b97f4a7c15ull);
	rex(j, true, H_DX, 0, H_SI); /* imul rdx, rsi */
	put1(j, 0x0f);
	put1(j, 0xaf);
	put1(j, 0xc0 | (H_DX << 3) | H_SI);
	shift_ri(j, true, 5, H_DX, 64 - BLK_BITS);
	/* rdi = &tab->set[s]; rdx = &tab->blk[s * BLK_WAYS] */
	put1(j, 0x69); /* imul edi, edx, imm32 */
	put1(j, 0xfa);
	put4(j, (uint32_t)sizeof(struct blk_set));
	mov_ri(j, H_CX, (uint64_t)(uintptr_t)((struct blk_cache *)c->blk_tab)->set);
	e_rr(j, true, 0x01, H_DI, H_CX); /* add rdi, rcx */
	put1(j, 0x69);			 /* imul edx, edx, imm32 */
	put1(j, 0xd2);
	put4(j, (uint32_t)(BLK_WAYS * sizeof(struct blk)));
	mov_ri(j, H_CX, (uint64_t)(uintptr_t)((struct blk_cache *)c->blk_tab)->blk);
	e_rr(j, true, 0x01, H_DX, H_CX); /* add rdx, rcx */
	/* key: offset << 2 | 1 (64-bit code); the way of the set holding it
	 * (rdi = &set->key[way], rdx = its block), marked used as blk_get
	 * does, so that blocks reached only from compiled code are not the
	 * ones the set replaces. */
	shift_ri(j, true, 4, H_SI, 2);
	alu_ri(j, true, A_OR, H_SI, 1);
	{
		uint8_t *found[BLK_WAYS];
		for (unsigned w = 0; w < BLK_WAYS; w++) {
			uint8_t *next;
			e_mem(j, true, 0x3b, 0, H_SI, H_DI, (int32_t)(w * 8)); /* cmp rsi, [rdi + 8w] */
			next = jcc_fwd(j, 0x5);
			e_mem(j, true, 0x8d, 0, H_DI, H_DI, (int32_t)(w * 8));
			e_mem(j, true, 0x8d, 0, H_DX, H_DX, (int32_t)(w * sizeof(struct blk)));
			found[w] = jmp_fwd(j);
			patch_here(j, next);
		}
		out[n++] = jmp_fwd(j);
		for (unsigned w = 0; w < BLK_WAYS; w++)
			patch_here(j, found[w]);
	}
	mov_ri(j, H_CX, (uint64_t)(uintptr_t) & ((struct blk_cache *)c->blk_tab)->clock);
	ld(j, true, H_AX, H_CX, 0);
	unary(j, true, 0xff, 0, H_AX); /* inc rax */
	st(j, true, H_AX, H_CX, 0);
	st(j, true, H_AX, H_DI, (int32_t)(offsetof(struct blk_set, used) - offsetof(struct blk_set, key)));
	e_mem(j, true, 0x3b, 0, H_SI, H_DX, (int32_t)offsetof(struct blk, key));
	out[n++] = jcc_fwd(j, 0x5);
	ld(j, false, H_CX, H_DX, (int32_t)offsetof(struct blk, jit_gen));
	e_mem(j, false, 0x3b, 0, H_CX, H_BX, OFF(jit_gen));
	out[n++] = jcc_fwd(j, 0x5);
	ld(j, true, H_AX, H_DX, (int32_t)offsetof(struct blk, jit_chain));
	put1(j, 0x48); /* test rax, rax */
	put1(j, 0x85);
	put1(j, 0xc0);
	out[n++] = jcc_fwd(j, 0x4);
	ld(j, true, H_CX, H_BX, OFF(rip));
	st(j, true, H_CX, H_BX, OFF(blk_cur_rip));
	if (e->stats)
		emit_count(e, &e->stats[stat_chained]);
	ld(j, true, H_AX, H_DX, (int32_t)offsetof(struct blk, jit_chain));
	/* no link to repair: a failing entry check (emit_self_check) hands
	 * rcx to the run loop as the link that came here */
	e_rr(j, false, 0x31, H_CX, H_CX); /* xor ecx, ecx */
	put1(j, 0xff);			  /* jmp rax */
	put1(j, 0xe0);
	for (unsigned i = 0; i < n; i++)
		patch_here(j, out[i]);
	if (e->stats)
		emit_count(e, &e->stats[stat_left]);
	leave(e, 0);
}

static void emit_ret_chain(struct em *e)
{
	alu_mem_imm(&e->j, true, A_ADD, H_BX, OFF(icount), e->b->nrec);
	emit_far_chain(e, ST_RET_CHAINED, ST_RET);
}

/* Loads, stores, PUSH, POP, CALL and RET with the TLB hit inline. Every
 * other case (a miss, MMIO, a page-crossing access, a non-canonical
 * return address) runs the record's own handler from the start, with
 * c->rip at the instruction: nothing architectural changed before the
 * look-up decided. */
static void emit_mem(struct em *e, const struct blk_rec *r, unsigned idx)
{
	struct jb *j = &e->j;
	bool w = r->size == 8, branch = r->kind == K_S_CALL || r->kind == K_S_RET;
	int64_t back, next = (int64_t)e->cur + r->len - e->synced;
	uint8_t *miss[3] = { NULL, NULL, NULL }, *done = NULL;
	switch (r->kind) {
	case K_S_LOAD:
	case K_S_STORE:
		emit_addr(e, r);
		if (r->d.seg == S_FS || r->d.seg == S_GS)
			e_mem(j, true, 0x03, 0, H_SI, H_BX,
			      (int32_t)offsetof(struct vs_emu_cpu, seg[r->d.seg].base));
		emit_tlb(e, r->size, r->kind == K_S_STORE, miss);
		if (r->kind == K_S_LOAD) {
			host_access(e, w, false);
			st(j, true, H_AX, H_BX, OFF_R(r->dst));
		} else {
			ld(j, w, H_AX, H_BX, OFF_R(r->src));
			host_access(e, w, true);
		}
		break;
	case K_S_PUSH:
	case K_S_CALL:
		ld(j, true, H_SI, H_BX, OFF_R(R_SP));
		e_mem(j, true, 0x8d, 0, H_SI, H_SI, -8);
		emit_tlb(e, 8, true, miss);
		if (r->kind == K_S_PUSH) {
			ld(j, true, H_AX, H_BX, OFF_R(r->dst));
		} else {
			ld(j, true, H_AX, H_BX, OFF(rip));
			e_mem(j, true, 0x8d, 0, H_AX, H_AX, (int32_t)next);
		}
		host_access(e, true, true);
		st(j, true, H_SI, H_BX, OFF_R(R_SP));
		if (r->kind == K_S_CALL) {
			e_mem(j, true, 0x8d, 0, H_AX, H_AX, (int32_t)r->imm);
			st(j, true, H_AX, H_BX, OFF(rip));
		}
		break;
	default: /* POP, RET */
		ld(j, true, H_SI, H_BX, OFF_R(R_SP));
		emit_tlb(e, 8, false, miss);
		host_access(e, true, false);
		if (r->kind == K_S_RET) { /* canonical: bits 63..47 equal */
			mov_rr(j, true, H_DX, H_AX);
			shift_ri(j, true, 4, H_DX, 16);
			shift_ri(j, true, 7, H_DX, 16);
			e_rr(j, true, 0x39, H_DX, H_AX); /* cmp rdx, rax */
			miss[2] = jcc_fwd(j, 0x5);
		}
		e_mem(j, true, 0x8d, 0, H_SI, H_SI, 8);
		st(j, true, H_SI, H_BX, OFF_R(R_SP));
		st(j, true, H_AX, H_BX, r->kind == K_S_RET ? OFF(rip) : OFF_R(r->dst));
		break;
	}
	if (r->kind == K_S_CALL)
		emit_exit(e, 0, exit_target(e, next + (int64_t)r->imm), 0);
	else if (branch)
		emit_ret_chain(e);
	else
		done = jmp_fwd(j);
	back = emit_miss_call(e, r, miss, 3);
	if (branch) {
		leave(e, e->b->nrec);
		e->hostflags = false;
		return;
	}
	emit_miss_resume(e, r, idx, back);
	patch_here(j, done);
	e->hostflags = false;
}

static int jit_cond(struct vs_emu_cpu *c, unsigned cc)
{
	return cond_fast(c, cc);
}

/* The host's flags from the lazy state a handler left (`lf`: LF_ADD,
 * LF_ADC, LF_SUB, LF_SBB or LF_LOGIC of `size` bytes), for a flag reader after a slow
 * path that ran the handler. */
static void flags_from_lazy(struct em *e, int lf, unsigned size)
{
	struct jb *j = &e->j;
	if (lf == LF_LOGIC) {
		ld(j, true, H_AX, H_BX, OFF(lf_res));
		alu_sized(j, A_OR, size, H_AX, H_AX);
		return;
	}
	if (lf == LF_ADC || lf == LF_SBB) { /* CF = lf_cf first */
		e_mem(j, false, 0x0f, 0xb6, H_DX, H_BX, OFF(lf_cf));
		put1(j, 0x0f); /* bt edx, 0 */
		put1(j, 0xba);
		put1(j, 0xe2);
		put1(j, 0);
	}
	ld(j, true, H_AX, H_BX, OFF(lf_a));
	ld(j, true, H_CX, H_BX, OFF(lf_b));
	alu_sized(j,
		  lf == LF_ADD	 ? A_ADD
		  : lf == LF_ADC ? A_ADC
		  : lf == LF_SBB ? A_SBB
				 : A_SUB,
		  size, H_AX, H_CX);
}

/* The records rm_ok accepts. The r/m operand is a guest register in the
 * vCPU or, through the inline TLB look-up, guest memory at [rdi]; a miss
 * (or MMIO, a page-crossing access...) runs the record's handler with RIP
 * at the instruction, as emit_mem does. Flag writers compute on the host
 * operation of the same size, the lazy state as the handler leaves it
 * (8/16-bit results with the bits above them: flags.c masks them). */
static void emit_rm(struct em *e, const struct blk_rec *r, unsigned idx, bool store)
{
	struct jb *j = &e->j;
	unsigned k = r->kind, sz = r->size, g = k == K_ALU_ACC_IMM ? R_AX : r->d.rm;
	unsigned msz = k == K_MOVX ? r->op : k == K_MOVSXD ? 4 : sz, base = H_BX;
	bool mem = r->d.is_mem, test = k == K_TEST_RM_REG || k == K_TEST_RM_IMM, flags = rm_flags(r);
	unsigned op = test ? A_AND : r->op;
	bool wr_rm = k == K_MOV_RM_REG || k == K_MOV_RM_IMM ||
		     ((k == K_ALU_RM_REG || k == K_ALU_RM_IMM || k == K_ALU_ACC_IMM) && op != A_CMP);
	int32_t disp = 0;
	uint8_t *miss[2] = { NULL, NULL }, *done;
	int64_t back;
	if (k == K_NOP)
		return;
	if (rm_reads_cf(r)) {
		/* r8 = CF in: the host's when its flags are the guest's
		 * (INC/DEC leave the host's CF alone), else the lazy state's
		 * (stored: plan). */
		if (e->hostflags && e->lf != LF_INC && e->lf != LF_DEC) {
			put1(j, 0x41); /* setc r8b */
			put1(j, 0x0f);
			put1(j, 0x92);
			put1(j, 0xc0);
		} else {
			mov_rr(j, true, H_DI, H_BX);
			call_abs(j, (const void *)jit_cf);
			mov_rr(j, false, H_R8, H_AX);
		}
	}
	if (mem) {
		emit_addr(e, r);
		if (r->d.seg == S_FS || r->d.seg == S_GS)
			e_mem(j, true, 0x03, 0, H_SI, H_BX,
			      (int32_t)offsetof(struct vs_emu_cpu, seg[r->d.seg].base));
		emit_tlb(e, msz, wr_rm, miss);
		e_sib(j, true, 0x8d, H_DI, H_DI, H_CX, 0, 0); /* lea rdi, [rdi + rcx] */
		base = H_DI;
	} else {
		disp = reg_loc(r, g, msz);
	}
	switch (k) {
	case K_MOVX:
	case K_MOVSXD:
		ld_ext(j, H_AX, base, disp, msz, k == K_MOVSXD || r->imm);
		write_reg(j, r, r->d.reg, sz, H_AX);
		break;
	case K_MOV_REG_RM:
		ld_ext(j, H_AX, base, disp, sz, false);
		write_reg(j, r, r->d.reg, sz, H_AX);
		break;
	case K_MOV_RM_REG:
	case K_MOV_RM_IMM:
		if (k == K_MOV_RM_REG)
			ld_ext(j, H_AX, H_BX, reg_loc(r, r->d.reg, sz), sz, false);
		else
			mov_ri(j, H_AX, r->imm);
		if (mem)
			st_sized(j, H_AX, base, disp, sz);
		else
			write_reg(j, r, g, sz, H_AX);
		break;
	default: /* ALU, CMP, TEST: a in rax, b in rcx */
		if (k == K_ALU_REG_RM) {
			ld_ext(j, H_AX, H_BX, reg_loc(r, r->d.reg, sz), sz, false);
			ld_ext(j, H_CX, base, disp, sz, false);
		} else {
			ld_ext(j, H_AX, base, disp, sz, false);
			if (k == K_ALU_RM_REG || k == K_TEST_RM_REG)
				ld_ext(j, H_CX, H_BX, reg_loc(r, r->d.reg, sz), sz, false);
			else
				mov_ri(j, H_CX, r->imm);
		}
		if (store)
			mov_rr(j, true, H_DX, H_AX);
		if (rm_reads_cf(r)) { /* bt r8d, 0: CF = r8 */
			put1(j, 0x41);
			put1(j, 0x0f);
			put1(j, 0xba);
			put1(j, 0xe0);
			put1(j, 0);
		}
		alu_sized(j, op == A_CMP ? A_SUB : op, sz, H_AX, H_CX);
		if (op != A_CMP && !test) {
			if (k == K_ALU_REG_RM)
				write_reg(j, r, r->d.reg, sz, H_AX);
			else if (mem)
				st_sized(j, H_AX, base, disp, sz);
			else
				write_reg(j, r, g, sz, H_AX);
		}
		if (store) {
			store_lazy(e, alu_lf(op), sz, H_DX, H_CX, H_AX);
			if (rm_reads_cf(r)) /* mov c->lf_cf, r8b */
				e_mem(j, false, 0x88, 0, H_R8, H_BX, OFF(lf_cf));
		}
		break;
	}
	if (flags) {
		e->hostflags = !mem || store;
		e->lf = alu_lf(op);
	} else if (mem) {
		e->hostflags = false;
	}
	if (!mem)
		return;
	done = jmp_fwd(j);
	back = emit_miss_call(e, r, miss, 2);
	emit_miss_resume(e, r, idx, back);
	if (flags && store)
		flags_from_lazy(e, alu_lf(op), sz);
	patch_here(j, done);
}

/* SETcc r8 and CMOVcc r32/64, r32/64: the condition from the host's flags
 * when the last flag writer just ran as host code (as emit_jcc), else
 * through cond_fast. */
static void emit_cond(struct em *e, const struct blk_rec *r)
{
	struct jb *j = &e->j;
	unsigned cc = r->op, host_cc = cc;
	bool cf_cond = (cc >> 1) == 1 || (cc >> 1) == 3;
	bool w = r->size == 8;
	if (!e->hostflags || ((e->lf == LF_INC || e->lf == LF_DEC) && cf_cond)) {
		mov_rr(j, true, H_DI, H_BX);
		mov_ri(j, H_SI, cc);
		call_abs(j, (const void *)jit_cond);
		put1(j, 0x85); /* test eax, eax */
		put1(j, 0xc0);
		host_cc = 0x5;
		e->hostflags = false;
	}
	if (r->kind == K_SETCC) {
		put1(j, 0x0f); /* setcc al */
		put1(j, 0x90 | host_cc);
		put1(j, 0xc0);
		st_sized(j, H_AX, H_BX, reg_loc(r, r->d.rm, 1), 1);
		return;
	}
	ld(j, w, H_AX, H_BX, OFF_R(r->d.reg));
	ld(j, w, H_CX, H_BX, OFF_R(r->d.rm));
	/* cmovcc rax, rcx: 32 bits zero-extend either way, as the handler */
	rex(j, w, H_AX, 0, H_CX);
	put1(j, 0x0f);
	put1(j, 0x40 | host_cc);
	put1(j, 0xc0 | (H_AX << 3) | H_CX);
	st(j, true, H_AX, H_BX, OFF_R(r->d.reg));
}

static void emit_call(struct em *e, const struct blk_rec *r, unsigned idx)
{
	struct jb *j = &e->j;
	if (e->stats)
		emit_count(e, &e->stats[stat_form(r)]);
	sync_rip(e);
	call_record(j, r);
	e->synced = e->cur + r->len; /* handlers leave RIP at the next instruction */
	e->hostflags = false;
	e->lf = -1;
	if (r->stores)
		emit_stop_check(e, idx);
}

/* The closing Jcc: on the host's flags when the flag writer just ran as
 * host code (INC/DEC leave the host's CF alone: not for conditions on CF),
 * else through cond_fast. */
static void emit_jcc(struct em *e, const struct blk_rec *r)
{
	struct jb *j = &e->j;
	unsigned cc = r->op, host_cc = cc;
	bool cf_cond = (cc >> 1) == 1 || (cc >> 1) == 3;
	int64_t next = (int64_t)e->cur + r->len - e->synced;
	uint8_t *taken;
	if (!e->hostflags || ((e->lf == LF_INC || e->lf == LF_DEC) && cf_cond)) {
		mov_rr(j, true, H_DI, H_BX);
		mov_ri(j, H_SI, cc);
		call_abs(j, (const void *)jit_cond);
		put1(j, 0x85); /* test eax, eax */
		put1(j, 0xc0);
		host_cc = 0x5;
	}
	taken = jcc_fwd(j, host_cc);
	emit_exit(e, next, exit_target(e, next), 1);
	patch_here(j, taken);
	emit_exit(e, next + (int64_t)r->imm, exit_target(e, next + (int64_t)r->imm), 0);
}

/* At the entry from another block: the block's slot still holds it, and
 * the guest bytes are still those the code was compiled from (another
 * vCPU, a device or a string store may have changed them: the byte check
 * block.c does on its own entries); else back to the run loop with no
 * block (c->blk_cur = NULL). */
static void emit_self_check(struct em *e)
{
	struct jb *j = &e->j;
	const struct blk *b = e->b;
	unsigned n = b->nbytes;
	uint8_t *bad[BLK_BYTES / 4 + 4];
	unsigned nbad = 0;
	uint64_t v8;
	uint32_t v4;
	/* The slot still holds this block (not one decoded since in its
	 * place): the run loop goes on from c->blk_cur's page. */
	mov_ri(j, H_AX, (uint64_t)(uintptr_t)b);
	mov_ri(j, H_DX, b->key);
	e_mem(j, true, 0x39, 0, H_DX, H_AX, (int32_t)offsetof(struct blk, key)); /* cmp [rax].key, rdx */
	bad[nbad++] = jcc_fwd(j, 0x5);
	mov_ri(j, H_DX, (uint64_t)(uintptr_t)b->host);
	if (n >= 8) {
		for (unsigned off = 0;; off += 8) {
			if (off + 8 > n)
				off = n - 8;
			memcpy(&v8, b->bytes + off, 8);
			mov_ri(j, H_AX, v8);
			e_mem(j, true, 0x39, 0, H_AX, H_DX, (int32_t)off); /* cmp [rdx + off], rax */
			bad[nbad++] = jcc_fwd(j, 0x5);
			if (off + 8 >= n)
				break;
		}
	} else if (n >= 4) {
		memcpy(&v4, b->bytes, 4);
		alu_mem_imm(j, false, A_CMP, H_DX, 0, v4);
		bad[nbad++] = jcc_fwd(j, 0x5);
		memcpy(&v4, b->bytes + n - 4, 4);
		alu_mem_imm(j, false, A_CMP, H_DX, (int32_t)(n - 4), v4);
		bad[nbad++] = jcc_fwd(j, 0x5);
	} else {
		for (unsigned i = 0; i < n; i++) {
			e_mem(j, false, 0x80, 0, 7, H_DX, (int32_t)i); /* cmp byte [rdx + i], imm8 */
			put1(j, b->bytes[i]);
			bad[nbad++] = jcc_fwd(j, 0x5);
		}
	}
	{
		uint8_t *ok = jmp_fwd(j);
		for (unsigned i = 0; i < nbad; i++)
			patch_here(j, bad[i]);
		st_imm(j, true, H_BX, OFF(blk_cur), 0);
		/* The link that came here (rcx, emit_exit) is stale: the run
		 * loop relinks it to the block it finds (vs_jit_link checks
		 * that block is at the link's guest address). */
		st(j, true, H_CX, H_BX, OFF(jit_link));
		leave(e, 0);
		patch_here(j, ok);
	}
}

void vs_jit_link(struct vs_emu_cpu *c, void *link, const struct blk *to)
{
	struct jit_buf *jb = c->jit;
	const uint8_t *host = to->host;
	struct jit_links *l;
	uint8_t *at;
	unsigned slot;
	if (!jb || !to->jit_chain || to->jit_gen != c->jit_gen)
		return;
	/* `link` is &links->to[slot] in the read-execute view. */
	at = jb->rw + ((uint8_t *)link - jb->rx);
	slot = (unsigned)(((uintptr_t)at & 15) / 8);
	l = (struct jit_links *)(void *)(at - slot * 8);
	if (l->host[slot] == host)
		l->to[slot] = to->jit_chain;
}

/* Branch records: their handlers set RIP and end the block. */
static bool sets_rip(unsigned kind)
{
	switch (kind) {
	case K_CALL:
	case K_RET:
	case K_JCC:
	case K_JMP:
	case K_S_CALL:
	case K_S_RET:
	case K_S_JCC:
	case K_S_JMP:
		return true;
	default:
		return false;
	}
}

jit_fn vs_jit_compile(struct vs_emu_cpu *c, struct blk *b)
{
	struct jit_buf *jb;
	struct em e;
	uint8_t *start;
	void *code;
	jit_fn fn;
	uint8_t *body, *chain;
	bool ended = false;
	if ((b->key & 3) != 1 || b->nrec == 0 || !(jb = jit_buf(c)))
		return NULL;
	if (JIT_SIZE - jb->used < JIT_BLOCK_MAX) {
		/* Full: start over; every block's code goes at once. */
		jb->used = 0;
		c->jit_gen++;
	}
	memset(&e, 0, sizeof(e));
	e.links = (struct jit_links *)(void *)(jb->rw + jb->used);
	memset(e.links, 0, sizeof(*e.links));
	start = jb->rw + jb->used + sizeof(struct jit_links);
	e.j = (struct jb){ start, start + JIT_BLOCK_MAX - sizeof(struct jit_links), false };
	e.b = b;
	e.lf = -1;
	e.page_off = (unsigned)((b->host - c->mem->base) & 0xfff);
	e.stats = jb->stats;
	e.c = c;
	plan(&e);
	/* Entry from the run loop (which checked the bytes). */
	put4(&e.j, 0xfa1e0ff3); /* endbr64 */
	put1(&e.j, 0x53);	/* push rbx */
	mov_rr(&e.j, true, H_BX, H_DI);
	body = jmp_fwd(&e.j);
	/* Entry from another block's exit: the bytes, then the body. */
	chain = e.j.p;
	put4(&e.j, 0xfa1e0ff3);
	emit_self_check(&e);
	mov_ri(&e.j, H_AX, (uint64_t)(uintptr_t)b);
	st(&e.j, true, H_AX, H_BX, OFF(blk_cur));
	patch_here(&e.j, body);
	for (unsigned i = 0; i < b->nrec && !ended; i++) {
		const struct blk_rec *r = &b->rec[i];
		switch (e.cls[i]) {
		case C_PURE:
			emit_pure(&e, r);
			break;
		case C_FULLW:
			emit_alu(&e, r, e.store_flags[i]);
			break;
		case C_INCDEC:
			emit_incdec(&e, r, e.store_flags[i], e.cf_in[i]);
			break;
		case C_SHIFT:
			ld(&e.j, r->size == 8, H_AX, H_BX, OFF_R(r->d.rm));
			if (r->imm == 0x100) { /* shl/shr/sar/rol/ror rax, cl */
				ld(&e.j, false, H_CX, H_BX, OFF_R(R_CX));
				unary(&e.j, r->size == 8, 0xd3, r->op == 6 ? 4 : r->op, H_AX);
			} else {
				shift_ri(&e.j, r->size == 8, r->op == 6 ? 4 : r->op, H_AX,
					 (uint8_t)(r->imm & (r->size == 8 ? 63 : 31)));
			}
			st(&e.j, true, H_AX, H_BX, OFF_R(r->d.rm));
			e.hostflags = false;
			e.lf = -1;
			break;
		case C_MEM:
			emit_mem(&e, r, i);
			ended = r->kind == K_S_CALL || r->kind == K_S_RET;
			break;
		case C_RM:
			emit_rm(&e, r, i, e.store_flags[i]);
			break;
		case C_COND:
			emit_cond(&e, r);
			break;
		case C_IMUL:
			emit_imul(&e, r);
			break;
		case C_SHIFTF:
			emit_shift_flags(&e, r);
			break;
		case C_JCC:
			emit_jcc(&e, r);
			ended = true;
			break;
		case C_JMP: {
			int64_t delta = (int64_t)e.cur + r->len - e.synced + (int64_t)r->imm;
			emit_exit(&e, delta, exit_target(&e, delta), 0);
			ended = true;
			break;
		}
		default:
			emit_call(&e, r, i);
			if (sets_rip(r->kind)) {
				/* It set RIP itself. */
				if (e.stats)
					emit_count(&e, &e.stats[ST_INDIRECT]);
				leave(&e, b->nrec);
				ended = true;
			}
			break;
		}
		e.cur += r->len;
	}
	if (!ended) {
		int64_t delta = (int64_t)e.cur - e.synced;
		if (e.stats && b->tail && b->nbytes < 4096 - e.page_off)
			emit_count(&e, &e.stats[tail_form(c, b)]);
		emit_exit(&e, delta, b->tail ? EXIT_LEAVE : exit_target(&e, delta), 0);
	}
	if (e.j.full)
		return NULL;
	code = jb->rx + (start - jb->rw);
	b->jit_chain = jb->rx + (chain - jb->rw);
	jb->used = ((size_t)(e.j.p - jb->rw) + 15) & ~(size_t)15;
	memcpy(&fn, &code, sizeof(fn));
	b->jit_gen = c->jit_gen;
	return fn;
}

#else /* not an x86-64 host: the records run */

jit_fn vs_jit_compile(struct vs_emu_cpu *c, struct blk *b)
{
	(void)c;
	(void)b;
	return NULL;
}

void vs_jit_free(struct vs_emu_cpu *c)
{
	(void)c;
}

void vs_jit_link(struct vs_emu_cpu *c, void *link, const struct blk *to)
{
	(void)c;
	(void)link;
	(void)to;
}

#endif
