/* The emulator's floating-point and vector unit: x87, MMX, SSE and SSE2
 * (the x86-64 baseline), FXSAVE/FXRSTOR, LDMXCSR/STMXCSR. It owns no
 * decoding of prefixes or addressing: the CPU core decodes the instruction
 * (prefixes, opcode map, ModRM, effective address, immediate) and hands
 * over a struct vs_emu_fpu_insn; the unit reads and writes memory and
 * general-purpose registers only through the callbacks in struct
 * vs_emu_fpu_env, so it never sees guest-physical memory or paging.
 *
 * Contract between the core (cpu_*.c) and the unit (fpu_*.c):
 *   - The core calls vs_emu_fpu_exec() for: every x87 escape (D8-DF), and in
 *     the 0F map the MMX/SSE/SSE2 opcodes 0F 10-17, 28-2F, 50-7F, C2, C4-C6,
 *     D0-FF, 0F AE /0-/3 (fxsave, fxrstor, ldmxcsr, stmxcsr), 0F 77 (emms),
 *     and the 0F 38 / 0F 3A maps (which return VS_EMU_FPU_UD until SSSE3+
 *     is advertised). 0F AE /5-/7 (lfence, mfence, sfence / clflush) stay in
 *     the core.
 *   - The core checks CR0.EM/TS and CR4.OSFXSR before the call and raises
 *     #UD/#NM itself; the unit raises nothing itself: it returns a status
 *     and the core delivers the exception.
 *   - A memory callback that returns -1 has already queued the guest fault
 *     (#PF, #GP, ...): the unit returns VS_EMU_FPU_FAULT at once, leaving
 *     architectural state as it was before the instruction whenever the
 *     fault is on the first access (load before modify).
 */
#ifndef VESSEL_ACCEL_EMU_FPU_H
#define VESSEL_ACCEL_EMU_FPU_H

#include <stdbool.h>
#include <stdint.h>

/* Architectural state, laid out as FXSAVE's 512-byte image would be filled
 * (the unit converts on fxsave/fxrstor; this struct is its working form). */
struct vs_emu_fpu {
	/* x87: st[i] are physical registers R0..R7 as 80-bit values
	 * (MMX registers alias their low 64 bits, exponent set to all ones). */
	struct {
		uint64_t mant;
		uint16_t sign_exp;
	} st[8];
	uint16_t fcw, fsw; /* FSW.TOP lives in bits 11-13 */
	uint16_t ftw;	   /* full 16-bit tag word (2 bits per register) */
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr;
	uint8_t xmm[16][16];
};

/* Reset state (FNINIT + MXCSR 0x1f80, XMM zero). */
void vs_emu_fpu_reset(struct vs_emu_fpu *fpu);

/* Decoded instruction as the core hands it over. */
struct vs_emu_fpu_insn {
	uint8_t map;	   /* 0 = one-byte map (x87 escapes D8-DF), 1 = 0F, 2 = 0F38, 3 = 0F3A */
	uint8_t opcode;	   /* the opcode byte within its map */
	uint8_t mandatory; /* last of 0x66 / 0xF2 / 0xF3 seen, 0 if none (SSE's "mandatory prefix") */
	bool opsize16;	   /* a 0x66 prefix was present (also for non-SSE meanings) */
	bool rex_w;
	uint8_t reg;   /* ModRM.reg with REX.R: 0..15 */
	uint8_t rm;    /* ModRM.rm with REX.B when !is_mem: 0..15 */
	uint8_t modrm; /* the raw ModRM byte (x87 decodes mod/reg/rm from it) */
	bool is_mem;
	uint64_t ea;	/* linear address of the memory operand (segment applied) */
	uint8_t imm8;	/* immediate byte, for opcodes that take one */
	bool long_mode; /* 64-bit code: fxsave64 layout when rex_w */
	uint64_t rip;	/* of this instruction, for FIP */
};

/* What the core lends the unit for one instruction. */
struct vs_emu_fpu_env {
	void *cpu;
	/* Linear-address accesses with the CPU's current privilege; len is 1 to
	 * 512. Return 0, or -1 after queueing the fault (see above). */
	int (*read)(void *cpu, uint64_t la, void *buf, unsigned len);
	int (*write)(void *cpu, uint64_t la, const void *buf, unsigned len);
	/* General-purpose registers 0..15 (RAX..R15), full 64 bits. Writes of
	 * 32-bit results zero-extend as the architecture does: the unit passes
	 * the zero-extended value. */
	uint64_t (*get_gpr)(void *cpu, int reg);
	void (*set_gpr)(void *cpu, int reg, uint64_t value);
	/* RFLAGS for COMISS/UCOMISD/FCOMI (ZF, PF, CF set; OF, SF, AF cleared). */
	uint64_t *rflags;
};

enum vs_emu_fpu_status {
	VS_EMU_FPU_OK = 0,
	VS_EMU_FPU_UD,	  /* not an instruction the unit implements: #UD */
	VS_EMU_FPU_GP,	  /* #GP(0): misaligned 16-byte operand, bad MXCSR value */
	VS_EMU_FPU_MF,	  /* unmasked x87 exception pending (#MF) */
	VS_EMU_FPU_XM,	  /* unmasked SIMD exception (#XM, as CR4.OSXMMEXCPT is set) */
	VS_EMU_FPU_FAULT, /* a memory callback failed; its fault is already queued */
};

enum vs_emu_fpu_status vs_emu_fpu_exec(struct vs_emu_fpu *fpu, const struct vs_emu_fpu_insn *insn,
				       const struct vs_emu_fpu_env *env);

/* Whether the opcode (map, opcode) takes an imm8 after the ModRM/SIB/disp
 * bytes, so the core's decoder can find the end of the instruction. */
bool vs_emu_fpu_has_imm8(uint8_t map, uint8_t opcode);

#endif
