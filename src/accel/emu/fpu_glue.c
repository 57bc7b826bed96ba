/* The CPU side of the FPU contract (fpu.h): the checks that come before the
 * unit (CR0.EM/TS, CR4.OSFXSR), the callbacks it uses, and delivery of the
 * exception it reports. Memory callbacks fault by longjmp straight out of
 * the unit (see cpu.h), which the unit tolerates: it keeps no resources
 * and loads before it modifies. */
#include "accel/emu/cpu.h"

static int env_read(void *cpu, uint64_t la, void *buf, unsigned len)
{
	vs_emu_read_block(cpu, la, buf, len, 0);
	return 0;
}

static int env_write(void *cpu, uint64_t la, const void *buf, unsigned len)
{
	vs_emu_write_block(cpu, la, buf, len, 0);
	return 0;
}

static uint64_t env_get_gpr(void *cpu, int reg)
{
	return ((struct vs_emu_cpu *)cpu)->r[reg & 15];
}

static void env_set_gpr(void *cpu, int reg, uint64_t value)
{
	((struct vs_emu_cpu *)cpu)->r[reg & 15] = value;
}

/* MMX forms (no mandatory prefix in 0F 60-7F, D0-FF) and EMMS work
 * without CR4.OSFXSR; SSE forms need it. */
static bool needs_osfxsr(uint8_t map, uint8_t op, uint8_t mandatory)
{
	if (map != 1)
		return map != 0;
	if (op == 0x77)
		return false;
	if ((op >= 0x60 && op <= 0x7f) || op >= 0xd0)
		return mandatory != 0;
	return op != 0xae;
}

void vs_emu_fpu_op(struct vs_emu_cpu *c, struct insn *d, uint8_t map, uint8_t op)
{
	struct vs_emu_fpu_insn in = {
		.map = map,
		.opcode = op,
		.mandatory = d->mandatory,
		.opsize16 = d->has66,
		.rex_w = d->rex & 8,
		.reg = d->reg,
		.rm = d->rm,
		.modrm = d->modrm,
		.is_mem = d->is_mem,
		.ea = d->ea,
		.long_mode = c->long64,
		.rip = c->rip,
	};
	struct vs_emu_fpu_env env = {
		.cpu = c,
		.read = env_read,
		.write = env_write,
		.get_gpr = env_get_gpr,
		.set_gpr = env_set_gpr,
		.rflags = &c->rflags,
	};
	enum vs_emu_fpu_status st;
	if (map == 0) {
		if (c->cr0 & (CR0_EM | CR0_TS))
			vs_emu_raise(c, EX_NM, 0, false);
	} else {
		if (c->cr0 & CR0_EM)
			vs_emu_undefined(c, d);
		if (needs_osfxsr(map, op, d->mandatory) && !(c->cr4 & CR4_OSFXSR))
			vs_emu_undefined(c, d);
		if (c->cr0 & CR0_TS)
			vs_emu_raise(c, EX_NM, 0, false);
	}
	/* MASKMOVQ/MASKMOVDQU store through DS:rDI (segment overridable), not
	 * through their register-only ModRM operand. */
	if (map == 1 && op == 0xf7) {
		uint64_t di = c->r[7];
		if (d->addrsize == 4)
			di = (uint32_t)di;
		else if (d->addrsize == 2)
			di = (uint16_t)di;
		in.ea = seg_la(c, d->seg_override ? d->seg : S_DS, di);
	}
	if (vs_emu_fpu_has_imm8(map, op))
		in.imm8 = fetch8(c, d);
	vs_emu_flags(c); /* the unit writes RFLAGS directly */
	st = vs_emu_fpu_exec(&c->fpu, &in, &env);
	switch (st) {
	case VS_EMU_FPU_OK:
	case VS_EMU_FPU_FAULT:
		return;
	case VS_EMU_FPU_UD:
		vs_emu_undefined(c, d);
	case VS_EMU_FPU_GP:
		raise_gp(c, 0);
	case VS_EMU_FPU_MF:
		vs_emu_raise(c, EX_MF, 0, false);
	case VS_EMU_FPU_XM:
		vs_emu_raise(c, (c->cr4 & CR4_OSXMMEXCPT) ? EX_XM : EX_UD, 0, false);
	}
}
