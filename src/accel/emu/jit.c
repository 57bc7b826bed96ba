/* The JIT: host x86-64 code for hot 64-bit blocks (a block that ran
 * c->jit_hot times), compiled from its records. Register ALU/TEST/MOV/
 * LEA/NOT/NEG/INC/DEC, shifts and rotates by an immediate whose flags are
 * dead, 32/64-bit loads and stores and PUSH/POP/CALL/RET (an inline
 * software-TLB look-up; anything else runs the record's handler) and the
 * closing Jcc/JMP are emitted as host code; every other record is a call
 * to its handler, so the JIT covers whatever the records do. A block's
 * exits jump straight into the next block's code when it is on the same
 * page (emit_exit).
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

struct jit_buf {
	uint8_t *rw, *rx;
	size_t used;
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

void vs_jit_free(struct vs_emu_cpu *c)
{
	struct jit_buf *jb = c->jit;
	if (!jb)
		return;
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
	unsigned page_off;	 /* of the block's first byte */
};

static int alu_lf(unsigned op)
{
	return op == A_ADD ? LF_ADD : op == A_SUB || op == A_CMP ? LF_SUB : LF_LOGIC;
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
			if (!r->d.is_mem && (r->size == 4 || r->size == 8)) {
				k = C_FULLW;
				cf = 0;
			} else {
				cf = -1;
			}
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
			if (!r->d.is_mem && (r->size == 4 || r->size == 8) && r->imm != 0x100 && n != 0 &&
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
			break;
		}
		if (k == C_CALL)
			cf = -1;
		e->cls[i] = k;
	}
	for (unsigned i = b->nrec; i-- > 0;) {
		if (e->cls[i] == C_SHIFT && live)
			e->cls[i] = C_CALL; /* its flags are read: the handler makes them */
		switch (e->cls[i]) {
		case C_PURE:
			break;
		case C_SHIFT:
			/* SHL/SHR/SAR write all six flags; ROL/ROR pass the others
			 * through, dead as well here. */
			break;
		case C_FULLW:
			e->store_flags[i] = live;
			live = false;
			break;
		case C_INCDEC:
			e->store_flags[i] = live;
			live = true;
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

/* Leave the block to RIP + `delta`, counting its instructions. When the
 * target lies on the block's own page (`target`: its offset there, or
 * -1) and nothing needs the run loop (`attention`, a step limit), jump
 * straight into the next block's code through link `slot`; an empty link
 * asks the run loop to fill it (c->jit_link). */
static void emit_exit(struct em *e, int64_t delta, int64_t target, unsigned slot)
{
	struct jb *j = &e->j;
	uint8_t *plain[2], *link;
	int32_t rel;
	rip_add(e, delta);
	alu_mem_imm(j, true, A_ADD, H_BX, OFF(icount), e->b->nrec);
	if (target < 0 || target >= 4096) {
		leave(e, 0);
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
	default: /* NOT */
		ld(j, w, H_AX, H_BX, OFF_R(r->d.rm));
		unary(j, w, 0xf7, 2, H_AX);
		st(j, true, H_AX, H_BX, OFF_R(r->d.rm));
		break;
	}
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
		leave(e, e->b->nrec);
	else
		done = jmp_fwd(j);
	for (int i = 0; i < 3; i++)
		if (miss[i] != NULL)
			patch_here(j, miss[i]);
	/* The handler, with RIP at this instruction while it may fault; it
	 * leaves RIP at the next one (or the branch target). */
	back = (int64_t)e->cur - e->synced;
	rip_add(e, back);
	mov_rr(j, true, H_DI, H_BX);
	mov_ri(j, H_SI, (uint64_t)(uintptr_t)r);
	call_abs(j, (const void *)r->fn);
	if (branch) {
		leave(e, e->b->nrec);
		e->hostflags = false;
		return;
	}
	if (r->stores)
		emit_stop_check(e, idx);
	rip_add(e, -(back + r->len));
	patch_here(j, done);
	e->hostflags = false;
}

static int jit_cond(struct vs_emu_cpu *c, unsigned cc)
{
	return cond_fast(c, cc);
}

static void emit_call(struct em *e, const struct blk_rec *r, unsigned idx)
{
	struct jb *j = &e->j;
	sync_rip(e);
	mov_rr(j, true, H_DI, H_BX);
	mov_ri(j, H_SI, (uint64_t)(uintptr_t)r);
	call_abs(j, (const void *)r->fn);
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
			shift_ri(&e.j, r->size == 8, r->op == 6 ? 4 : r->op, H_AX,
				 (uint8_t)(r->imm & (r->size == 8 ? 63 : 31)));
			st(&e.j, true, H_AX, H_BX, OFF_R(r->d.rm));
			e.hostflags = false;
			e.lf = -1;
			break;
		case C_MEM:
			emit_mem(&e, r, i);
			ended = r->kind == K_S_CALL || r->kind == K_S_RET;
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
				leave(&e, b->nrec);
				ended = true;
			}
			break;
		}
		e.cur += r->len;
	}
	if (!ended) {
		int64_t delta = (int64_t)e.cur - e.synced;
		emit_exit(&e, delta, b->tail ? -1 : exit_target(&e, delta), 0);
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
