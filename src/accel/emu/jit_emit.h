/* A small x86-64 instruction encoder for the JIT (jit.c): just the forms
 * it emits, always with 32-bit displacements so every encoding has one
 * shape. Internal to src/accel/emu. */
#ifndef VESSEL_ACCEL_EMU_JIT_EMIT_H
#define VESSEL_ACCEL_EMU_JIT_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Host registers. */
enum { H_AX, H_CX, H_DX, H_BX, H_SP, H_BP, H_SI, H_DI, H_R8 };

/* ALU opcodes, as in the ModRM reg field of 0x81 and in (op << 3) | 1. */
enum { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP };

struct jb {
	uint8_t *p, *end;
	bool full; /* ran out of room: the caller drops the code */
};

static inline void put1(struct jb *j, unsigned v)
{
	if (j->p >= j->end) {
		j->full = true;
		return;
	}
	*j->p++ = (uint8_t)v;
}

static inline void put4(struct jb *j, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		put1(j, (v >> (8 * i)) & 0xff);
}

static inline void put8(struct jb *j, uint64_t v)
{
	put4(j, (uint32_t)v);
	put4(j, (uint32_t)(v >> 32));
}

static inline void rex(struct jb *j, bool w, unsigned reg, unsigned idx, unsigned base)
{
	unsigned r = 0x40 | (w ? 8 : 0) | ((reg >> 3) << 2) | ((idx >> 3) << 1) | (base >> 3);
	if (r != 0x40)
		put1(j, r);
}

/* op reg, [base + disp32] (base is neither RSP nor R12). `op2`: a second
 * opcode byte after 0x0f, or 0. */
static inline void e_mem(struct jb *j, bool w, unsigned op, unsigned op2, unsigned reg, unsigned base,
			 int32_t disp)
{
	rex(j, w, reg, 0, base);
	put1(j, op);
	if (op == 0x0f)
		put1(j, op2);
	put1(j, 0x80 | ((reg & 7) << 3) | (base & 7));
	put4(j, (uint32_t)disp);
}

/* op reg, [base + idx << scale + disp32] (idx is not RSP). */
static inline void e_sib(struct jb *j, bool w, unsigned op, unsigned reg, unsigned base, unsigned idx,
			 unsigned scale, int32_t disp)
{
	rex(j, w, reg, idx, base);
	put1(j, op);
	put1(j, 0x84 | ((reg & 7) << 3));
	put1(j, (scale << 6) | ((idx & 7) << 3) | (base & 7));
	put4(j, (uint32_t)disp);
}

/* op dst, src with the r/m form (dst in r/m, src in reg). */
static inline void e_rr(struct jb *j, bool w, unsigned op, unsigned dst, unsigned src)
{
	rex(j, w, src, 0, dst);
	put1(j, op);
	put1(j, 0xc0 | ((src & 7) << 3) | (dst & 7));
}

static inline void ld(struct jb *j, bool w, unsigned reg, unsigned base, int32_t disp)
{
	e_mem(j, w, 0x8b, 0, reg, base, disp);
}

static inline void st(struct jb *j, bool w, unsigned reg, unsigned base, int32_t disp)
{
	e_mem(j, w, 0x89, 0, reg, base, disp);
}

/* mov qword/dword [base + disp], simm32 */
static inline void st_imm(struct jb *j, bool w, unsigned base, int32_t disp, uint32_t imm)
{
	e_mem(j, w, 0xc7, 0, 0, base, disp);
	put4(j, imm);
}

static inline void st_imm8(struct jb *j, unsigned base, int32_t disp, uint8_t imm)
{
	e_mem(j, false, 0xc6, 0, 0, base, disp);
	put1(j, imm);
}

/* ALU qword/dword [base + disp], simm32 (0x81 /op). */
static inline void alu_mem_imm(struct jb *j, bool w, unsigned op, unsigned base, int32_t disp, uint32_t imm)
{
	e_mem(j, w, 0x81, 0, op, base, disp);
	put4(j, imm);
}

/* ALU reg, simm32 (0x81 /op). */
static inline void alu_ri(struct jb *j, bool w, unsigned op, unsigned reg, uint32_t imm)
{
	rex(j, w, 0, 0, reg);
	put1(j, 0x81);
	put1(j, 0xc0 | (op << 3) | (reg & 7));
	put4(j, imm);
}

/* mov reg, imm: the shortest exact form. */
static inline void mov_ri(struct jb *j, unsigned reg, uint64_t imm)
{
	if (imm <= 0xffffffffull) {
		rex(j, false, 0, 0, reg);
		put1(j, 0xb8 | (reg & 7));
		put4(j, (uint32_t)imm);
	} else if ((uint64_t)(int64_t)(int32_t)imm == imm) {
		rex(j, true, 0, 0, reg);
		put1(j, 0xc7);
		put1(j, 0xc0 | (reg & 7));
		put4(j, (uint32_t)imm);
	} else {
		rex(j, true, 0, 0, reg);
		put1(j, 0xb8 | (reg & 7));
		put8(j, imm);
	}
}

static inline void mov_rr(struct jb *j, bool w, unsigned dst, unsigned src)
{
	e_rr(j, w, 0x89, dst, src);
}

/* shr/shl reg, imm8 (0xc1 /5, /4) */
static inline void shift_ri(struct jb *j, bool w, unsigned ext, unsigned reg, uint8_t n)
{
	rex(j, w, 0, 0, reg);
	put1(j, 0xc1);
	put1(j, 0xc0 | (ext << 3) | (reg & 7));
	put1(j, n);
}

/* F7 /2 NOT, /3 NEG; FF /0 INC, /1 DEC */
static inline void unary(struct jb *j, bool w, unsigned op, unsigned ext, unsigned reg)
{
	rex(j, w, 0, 0, reg);
	put1(j, op);
	put1(j, 0xc0 | (ext << 3) | (reg & 7));
}

static inline void call_abs(struct jb *j, const void *fn)
{
	mov_ri(j, H_AX, (uint64_t)(uintptr_t)fn);
	put1(j, 0xff); /* call rax */
	put1(j, 0xd0);
}

/* Forward jumps: the rel32 is patched once the target is known. */
static inline uint8_t *jcc_fwd(struct jb *j, unsigned cc)
{
	put1(j, 0x0f);
	put1(j, 0x80 | cc);
	put4(j, 0);
	return j->p - 4;
}

static inline uint8_t *jmp_fwd(struct jb *j)
{
	put1(j, 0xe9);
	put4(j, 0);
	return j->p - 4;
}

static inline void patch_here(struct jb *j, uint8_t *at)
{
	int32_t rel = (int32_t)(j->p - (at + 4));
	if (!j->full)
		memcpy(at, &rel, 4);
}

#endif
