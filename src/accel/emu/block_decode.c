/* The block decoder: guest bytes into records. */
#include "accel/emu/block.h"

/* ---- the block decoder ---- */

struct dec {
	const uint8_t *p;
	unsigned n, avail;
	bool bad;
};

static uint8_t nb(struct dec *x)
{
	if (x->n >= x->avail || x->n >= 15) {
		x->bad = true;
		return 0;
	}
	return x->p[x->n++];
}

static uint64_t nbytes(struct dec *x, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)nb(x) << (8 * i);
	return v;
}

static uint64_t nimm(struct dec *x, unsigned size)
{
	if (size == 8)
		return (uint64_t)(int64_t)(int32_t)nbytes(x, 4);
	return nbytes(x, size);
}

/* ModRM, SIB and displacement into the record's address recipe. 32- and
 * 64-bit addressing only (16-bit addressing: the caller gives up). */
static void dec_modrm(struct vs_emu_cpu *c, struct dec *x, struct blk_rec *r)
{
	struct insn *d = &r->d;
	uint8_t m = nb(x);
	int def_seg = S_DS;
	d->modrm = m;
	d->mod = m >> 6;
	d->reg = (uint8_t)(((m >> 3) & 7) | ((d->rex & 4) << 1));
	d->rm = m & 7;
	r->base = r->index = -1;
	if (d->mod == 3) {
		d->rm |= (uint8_t)((d->rex & 1) << 3);
		d->is_mem = false;
		return;
	}
	d->is_mem = true;
	if (d->rm == 4) {
		uint8_t sib = nb(x);
		unsigned idx = ((sib >> 3) & 7) | ((d->rex & 2) << 2);
		unsigned b = (sib & 7) | ((d->rex & 1) << 3);
		if ((sib & 7) == 5 && d->mod == 0) {
			r->disp = (int32_t)nbytes(x, 4);
		} else {
			r->base = (int8_t)b;
			if ((sib & 7) == 4 || (sib & 7) == 5)
				def_seg = b == R_SP || b == R_BP ? S_SS : S_DS;
		}
		if (idx != 4) {
			r->index = (int8_t)idx;
			r->scale = sib >> 6;
		}
	} else if (d->rm == 5 && d->mod == 0) {
		r->disp = (int32_t)nbytes(x, 4);
		d->riprel = c->long64;
	} else {
		r->base = (int8_t)(d->rm | ((d->rex & 1) << 3));
		if ((d->rm == 5 || d->rm == 4) && !(d->rex & 1))
			def_seg = S_SS;
	}
	if (d->mod == 1)
		r->disp += (int8_t)nb(x);
	else if (d->mod == 2)
		r->disp += (int32_t)nbytes(x, 4);
	if (!d->seg_override)
		d->seg = (uint8_t)def_seg;
}

/* Decode one instruction at x->p into r. Returns 1 for a record that may
 * continue the block, 2 for one that ends it (a branch), 0 when the
 * instruction is not one the records cover (or runs past the page). */
static int dec_one(struct vs_emu_cpu *c, struct dec *x, struct blk_rec *r)
{
	struct insn *d = &r->d;
	uint8_t op;
	unsigned size;
	int ends = 1;
	memset(r, 0, sizeof(*r));
	d->seg = S_DS;
	d->addrsize = c->code_size;
	for (;;) {
		uint8_t b = nb(x);
		if (x->bad)
			return 0;
		if (c->long64 && (b & 0xf0) == 0x40) {
			d->rex = b;
			continue;
		}
		if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e) {
			if (!c->long64) {
				d->seg = (b >> 3) & 3;
				d->seg_override = true;
			}
			d->rex = 0;
			continue;
		}
		if (b == 0x64 || b == 0x65) {
			d->seg = b == 0x64 ? S_FS : S_GS;
			d->seg_override = true;
			d->rex = 0;
			continue;
		}
		if (b == 0x66) {
			d->has66 = true;
			d->mandatory = b;
			d->rex = 0;
			continue;
		}
		if (b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3)
			return 0;
		op = b;
		break;
	}
	if (c->long64)
		d->opsize = (d->rex & 8) ? 8 : d->has66 ? 2 : 4;
	else
		d->opsize = (uint8_t)(d->has66 ? 2 : 4);
	size = d->opsize;
	d->opcode = op;
	r->base = r->index = -1;
	if (op < 0x40 && (op & 7) < 6) {
		r->op = op >> 3;
		switch (op & 7) {
		case 0:
		case 1:
			r->size = (uint8_t)(op & 1 ? size : 1);
			dec_modrm(c, x, r);
			r->kind = K_ALU_RM_REG;
			break;
		case 2:
		case 3:
			r->size = (uint8_t)(op & 1 ? size : 1);
			dec_modrm(c, x, r);
			r->kind = K_ALU_REG_RM;
			break;
		case 4:
			r->size = 1;
			r->imm = nb(x);
			r->kind = K_ALU_ACC_IMM;
			break;
		default:
			r->size = (uint8_t)size;
			r->imm = nimm(x, size);
			r->kind = K_ALU_ACC_IMM;
			break;
		}
	} else if (op >= 0x40 && op <= 0x4f) { /* INC/DEC r outside 64-bit mode */
		d->mod = 3;
		d->rm = op & 7;
		r->size = (uint8_t)size;
		r->op = op >= 0x48;
		r->kind = K_INCDEC;
	} else if (op >= 0x50 && op <= 0x5f) {
		d->mod = 3;
		d->rm = (uint8_t)((op & 7) | ((d->rex & 1) << 3));
		r->size = (uint8_t)(c->long64 ? (d->has66 ? 2 : 8) : size);
		r->kind = op < 0x58 ? K_PUSH : K_POP;
	} else if (op == 0x63 && c->long64) {
		dec_modrm(c, x, r);
		r->size = (uint8_t)size;
		r->kind = K_MOVSXD;
	} else if (op == 0x69 || op == 0x6b) {
		dec_modrm(c, x, r);
		r->size = (uint8_t)size;
		r->imm = op == 0x69 ? nimm(x, size) : (uint64_t)(int64_t)(int8_t)nb(x);
		r->op = 1;
		r->kind = K_IMUL;
	} else if (op >= 0x70 && op <= 0x7f) {
		r->imm = (uint64_t)(int64_t)(int8_t)nb(x);
		r->op = op & 15;
		r->kind = K_JCC;
		ends = 2;
	} else if (op == 0x80 || op == 0x81 || op == 0x83) {
		unsigned s = op & 1 ? size : 1;
		dec_modrm(c, x, r);
		r->imm = op == 0x81 ? nimm(x, s) : (uint64_t)(int64_t)(int8_t)nb(x);
		r->imm &= size_mask(s);
		r->op = d->reg & 7;
		r->size = (uint8_t)s;
		r->kind = K_ALU_RM_IMM;
	} else if (op == 0x84 || op == 0x85) {
		r->size = (uint8_t)(op & 1 ? size : 1);
		dec_modrm(c, x, r);
		r->kind = K_TEST_RM_REG;
	} else if (op >= 0x88 && op <= 0x8b) {
		r->size = (uint8_t)(op & 1 ? size : 1);
		dec_modrm(c, x, r);
		r->kind = op < 0x8a ? K_MOV_RM_REG : K_MOV_REG_RM;
	} else if (op == 0x8d) {
		dec_modrm(c, x, r);
		if (!d->is_mem)
			return 0;
		r->size = (uint8_t)size;
		r->kind = K_LEA;
	} else if (op == 0x90 && !(d->rex & 1)) {
		r->kind = K_NOP;
	} else if (op == 0xa8 || op == 0xa9) {
		d->mod = 3;
		d->rm = R_AX;
		r->size = (uint8_t)(op & 1 ? size : 1);
		r->imm = op & 1 ? nimm(x, size) : nb(x);
		r->kind = K_TEST_RM_IMM;
	} else if (op >= 0xb0 && op <= 0xbf) {
		d->mod = 3;
		d->rm = (uint8_t)((op & 7) | ((d->rex & 1) << 3));
		r->size = (uint8_t)(op >= 0xb8 ? size : 1);
		r->imm = nbytes(x, r->size);
		r->kind = K_MOV_REG_IMM;
	} else if (op == 0xc0 || op == 0xc1 || (op >= 0xd0 && op <= 0xd3)) {
		r->size = (uint8_t)(op & 1 ? size : 1);
		dec_modrm(c, x, r);
		r->op = d->reg & 7;
		r->imm = op <= 0xc1 ? nb(x) : op >= 0xd2 ? 0x100 : 1;
		r->kind = K_SHIFT;
	} else if (op == 0xc3) {
		r->size = (uint8_t)(c->long64 && size != 2 ? 8 : size);
		r->kind = K_RET;
		ends = 2;
	} else if (op == 0xc6 || op == 0xc7) {
		unsigned s = op & 1 ? size : 1;
		dec_modrm(c, x, r);
		if ((d->reg & 7) != 0)
			return 0;
		r->size = (uint8_t)s;
		r->imm = s == 1 ? nb(x) : nimm(x, s);
		r->kind = K_MOV_RM_IMM;
	} else if (op == 0xc9) {
		r->size = (uint8_t)(c->long64 && size != 2 ? 8 : size);
		r->kind = K_LEAVE;
	} else if (op == 0xe8) {
		uint64_t v = nimm(x, size == 8 ? 4 : size);
		r->imm = size == 2 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
		r->size = (uint8_t)(c->long64 ? 8 : size);
		r->kind = K_CALL;
		ends = 2;
	} else if (op == 0xe9 || op == 0xeb) {
		uint64_t v = op == 0xeb ? (uint64_t)(int64_t)(int8_t)nb(x) : nbytes(x, size == 2 ? 2 : 4);
		if (op == 0xe9)
			v = size == 2 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
		r->imm = v;
		r->kind = K_JMP;
		ends = 2;
	} else if (op == 0xf6 || op == 0xf7) {
		unsigned s = op & 1 ? size : 1;
		dec_modrm(c, x, r);
		r->size = (uint8_t)s;
		if ((d->reg & 7) == 2 || (d->reg & 7) == 3) {
			r->op = d->reg & 7;
			r->kind = K_NOTNEG;
		} else if ((d->reg & 7) <= 1) {
			r->imm = s == 1 ? nb(x) : nimm(x, s);
			r->kind = K_TEST_RM_IMM;
		} else {
			return 0;
		}
	} else if (op == 0xfe || op == 0xff) {
		dec_modrm(c, x, r);
		if ((d->reg & 7) > 1)
			return 0;
		r->size = (uint8_t)(op & 1 ? size : 1);
		r->op = d->reg & 1;
		r->kind = K_INCDEC;
	} else if (op == 0x0f) {
		uint8_t op2 = nb(x);
		d->opcode = 0x100 | op2;
		if (op2 >= 0x80 && op2 <= 0x8f) {
			uint64_t v = nbytes(x, size == 2 ? 2 : 4);
			r->imm = size == 2 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
			r->op = op2 & 15;
			r->kind = K_JCC;
			ends = 2;
		} else if (op2 >= 0x40 && op2 <= 0x4f) {
			dec_modrm(c, x, r);
			r->size = (uint8_t)size;
			r->op = op2 & 15;
			r->kind = K_CMOV;
		} else if (op2 >= 0x90 && op2 <= 0x9f) {
			dec_modrm(c, x, r);
			r->op = op2 & 15;
			r->kind = K_SETCC;
		} else if (op2 == 0xb6 || op2 == 0xb7 || op2 == 0xbe || op2 == 0xbf) {
			dec_modrm(c, x, r);
			r->size = (uint8_t)size;
			r->op = op2 & 1 ? 2 : 1;
			r->imm = op2 >= 0xbe;
			r->kind = K_MOVX;
		} else if (op2 == 0xaf) {
			dec_modrm(c, x, r);
			r->size = (uint8_t)size;
			r->kind = K_IMUL;
		} else if (op2 == 0xba) {
			dec_modrm(c, x, r);
			if ((d->reg & 7) < 4)
				return 0;
			r->size = (uint8_t)size;
			r->op = (d->reg & 7) - 4;
			r->imm = nb(x);
			r->kind = K_BT_IMM;
		} else if (op2 == 0x1f) {
			dec_modrm(c, x, r);
			r->kind = K_NOP;
		} else {
			return 0;
		}
	} else {
		return 0;
	}
	if (x->bad)
		return 0;
	vs_blk_bind(c, r);
	return ends;
}

void vs_blk_build(struct vs_emu_cpu *c, struct blk *b, const uint8_t *host, unsigned avail, uint64_t key)
{
	struct dec x = { host, 0, avail, false };
	b->key = 0;
	b->host = host;
	b->nrec = 0;
	b->tail = false;
	b->runs = 0;
	b->jit = NULL;
	b->link[0] = b->link[1] = NULL;
	while (b->nrec < BLK_RECS) {
		unsigned start = x.n;
		int k;
		x.bad = false;
		x.p = host + start;
		x.avail = avail - start;
		x.n = 0;
		k = dec_one(c, &x, &b->rec[b->nrec]);
		if (k == 0 || start + x.n > BLK_BYTES) {
			/* The interpreter runs it (and a fault it raises comes
			 * from there, with its exact state). */
			b->tail = true;
			x.n = start;
			break;
		}
		b->rec[b->nrec].len = (uint8_t)x.n;
		b->nrec++;
		x.n += start;
		if (k == 2 || x.n >= avail)
			break;
	}
	b->nbytes = (uint16_t)x.n;
	memcpy(b->bytes, host, x.n);
	b->key = key;
}
