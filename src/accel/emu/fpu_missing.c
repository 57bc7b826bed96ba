/* TEMPORARY stand-in for the FPU unit (branch wt-emu-fpu) so the core links
 * before it is merged: every FP/SIMD instruction raises #UD. The lead
 * deletes this file when merging the real unit. */
#include <string.h>

#include "accel/emu/fpu.h"

void vs_emu_fpu_reset(struct vs_emu_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = 0x37f;
	fpu->ftw = 0xffff;
	fpu->mxcsr = 0x1f80;
}

enum vs_emu_fpu_status vs_emu_fpu_exec(struct vs_emu_fpu *fpu, const struct vs_emu_fpu_insn *insn,
				       const struct vs_emu_fpu_env *env)
{
	(void)fpu;
	(void)insn;
	(void)env;
	return VS_EMU_FPU_UD;
}

bool vs_emu_fpu_has_imm8(uint8_t map, uint8_t opcode)
{
	if (map == 3)
		return true;
	return map == 1 && (opcode == 0x70 || opcode == 0x71 || opcode == 0x72 || opcode == 0x73 ||
			    opcode == 0xc2 || opcode == 0xc4 || opcode == 0xc5 || opcode == 0xc6);
}
