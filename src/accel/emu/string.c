/* String instructions (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS) with
 * REP/REPE/REPNE. RCX, RSI and RDI are updated per element, so a fault or
 * an interruption in the middle leaves a restartable state; RIP moves past
 * the instruction only once the count is exhausted. REP MOVS/STOS with
 * DF = 0 copy whole page runs through host pointers. */
#include "accel/emu/cpu.h"

/* Elements one call may process before looking at interrupts again. */
#define REP_BUDGET 16384

static uint64_t amask(const struct insn *d)
{
	return d->addrsize == 8 ? ~0ull : d->addrsize == 4 ? 0xffffffffull : 0xffff;
}

static uint64_t areg(struct vs_emu_cpu *c, const struct insn *d, int r)
{
	return c->r[r] & amask(d);
}

static void aset(struct vs_emu_cpu *c, const struct insn *d, int r, uint64_t v)
{
	if (d->addrsize == 8)
		c->r[r] = v;
	else if (d->addrsize == 4)
		c->r[r] = (uint32_t)v;
	else
		c->r[r] = (c->r[r] & ~0xffffull) | (v & 0xffff);
}

/* Fast path for REP MOVS / REP STOS, DF = 0: as many elements as fit in
 * the current source and destination pages, as one memmove/memset (or a
 * word fill). Returns the elements done (0: take the slow path). */
static uint64_t rep_fast(struct vs_emu_cpu *c, const struct insn *d, bool movs, unsigned size, uint64_t count)
{
	uint64_t di = areg(c, d, R_DI), si = areg(c, d, R_SI);
	uint64_t dla = seg_la(c, S_ES, di), sla = 0, n;
	uint64_t room = (4096 - (dla & 0xfff)) / size;
	uint8_t *dst, *src = NULL;
	uint64_t gpa;
	if ((dla & (size - 1)) || room == 0)
		return 0;
	if (d->addrsize != 8 && (di + count * size > amask(d) || (movs && si + count * size > amask(d))))
		return 0; /* the index would wrap: element by element */
	if (movs) {
		sla = seg_la(c, d->seg, si);
		if ((sla & (size - 1)))
			return 0;
		if ((4096 - (sla & 0xfff)) / size < room)
			room = (4096 - (sla & 0xfff)) / size;
	}
	n = count < room ? count : room;
	if (n == 0)
		return 0;
	if (movs) {
		src = vs_emu_translate(c, sla, 0, &gpa);
		if (!src)
			return 0;
	}
	dst = vs_emu_translate(c, dla, ACC_W, &gpa);
	if (!dst)
		return 0;
	if (movs) {
		/* MOVS copies forward element by element: an overlap where the
		 * destination starts inside the source replicates a pattern,
		 * which memmove would not. */
		if (dst > src && dst < src + n * size)
			return 0;
		memmove(dst, src, n * size);
		aset(c, d, R_SI, si + n * size);
	} else {
		uint64_t v = c->r[R_AX];
		if (size == 1) {
			memset(dst, (int)(v & 0xff), n);
		} else {
			for (uint64_t i = 0; i < n; i++)
				st_host(dst + i * size, size, v);
		}
	}
	aset(c, d, R_DI, di + n * size);
	return n;
}

void vs_emu_string(struct vs_emu_cpu *c, struct insn *d, uint8_t op)
{
	unsigned size = (op & 1) ? d->opsize : 1;
	int64_t step = (c->rflags & F_DF) ? -(int64_t)size : (int64_t)size;
	bool rep = d->rep != 0;
	uint64_t budget = REP_BUDGET;
	unsigned kind = op & ~1u;
	if (kind == 0x6c || kind == 0x6e) {
		vs_emu_check_io(c, (uint16_t)c->r[R_DX], size);
		if (op == 0x6d || op == 0x6f)
			size = d->opsize == 8 ? 4 : d->opsize;
		step = (c->rflags & F_DF) ? -(int64_t)size : (int64_t)size;
	}
	for (;;) {
		uint64_t count = rep ? areg(c, d, R_CX) : 1;
		uint64_t v, w, si, di;
		if (count == 0)
			break;
		if (rep && step > 0 && (kind == 0xa4 || kind == 0xaa)) {
			uint64_t n = rep_fast(c, d, kind == 0xa4, size, count < budget ? count : budget);
			if (n) {
				aset(c, d, R_CX, count - n);
				budget = budget > n ? budget - n : 0;
				goto next;
			}
		}
		si = areg(c, d, R_SI);
		di = areg(c, d, R_DI);
		switch (kind) {
		case 0xa4: /* MOVS */
			v = lin_read(c, seg_la(c, d->seg, si), size);
			lin_write(c, seg_la(c, S_ES, di), size, v);
			aset(c, d, R_SI, si + (uint64_t)step);
			aset(c, d, R_DI, di + (uint64_t)step);
			break;
		case 0xa6: /* CMPS */
			v = lin_read(c, seg_la(c, d->seg, si), size);
			w = lin_read(c, seg_la(c, S_ES, di), size);
			vs_emu_alu(c, 7, size, v, w);
			aset(c, d, R_SI, si + (uint64_t)step);
			aset(c, d, R_DI, di + (uint64_t)step);
			break;
		case 0xaa: /* STOS */
			lin_write(c, seg_la(c, S_ES, di), size, c->r[R_AX]);
			aset(c, d, R_DI, di + (uint64_t)step);
			break;
		case 0xac: /* LODS */
			v = lin_read(c, seg_la(c, d->seg, si), size);
			reg_set(c, d, R_AX, size, v);
			aset(c, d, R_SI, si + (uint64_t)step);
			break;
		case 0xae: /* SCAS */
			w = lin_read(c, seg_la(c, S_ES, di), size);
			vs_emu_alu(c, 7, size, c->r[R_AX], w);
			aset(c, d, R_DI, di + (uint64_t)step);
			break;
		case 0x6c: /* INS: the destination is checked before the port is read */
			lin_write(c, seg_la(c, S_ES, di), size, lin_read(c, seg_la(c, S_ES, di), size));
			vs_emu_port_in(c, (uint16_t)c->r[R_DX], size, &v);
			lin_write(c, seg_la(c, S_ES, di), size, v);
			aset(c, d, R_DI, di + (uint64_t)step);
			break;
		default: /* OUTS */
			v = lin_read(c, seg_la(c, d->seg, si), size);
			vs_emu_port_out(c, (uint16_t)c->r[R_DX], size, v);
			aset(c, d, R_SI, si + (uint64_t)step);
			break;
		}
		if (!rep)
			break;
		aset(c, d, R_CX, count - 1);
		budget--;
		if ((kind == 0xa6 || kind == 0xae) && count - 1 != 0) {
			bool zf = vs_emu_cond(c, 4);
			if ((d->rep == 0xf3 && !zf) || (d->rep == 0xf2 && zf))
				break;
		}
		if ((kind == 0xa6 || kind == 0xae) && count - 1 == 0)
			break;
	next:
		if (budget == 0 || atomic_load_explicit(&c->attention, memory_order_relaxed)) {
			if (areg(c, d, R_CX) != 0)
				return; /* not done: RIP stays, the instruction resumes */
			break;
		}
	}
	commit_ip(c, d);
}
