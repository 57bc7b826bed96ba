/* SSE/SSE2 conversions: 0F 2A, 2C, 2D (to and from general registers and
 * mm registers), 5A, 5B and E6, on the host's SSE unit under the guest's
 * MXCSR. The mm forms use the xmm instruction on the low half: the zero
 * upper lanes convert without raising anything. */
#include <string.h>

#include "accel/emu/fpu_internal.h"

VS_FPU_XOP(x_cvtps2pd, "cvtps2pd")
VS_FPU_XOP(x_cvtpd2ps, "cvtpd2ps")
VS_FPU_XOP(x_cvtss2sd, "cvtss2sd")
VS_FPU_XOP(x_cvtsd2ss, "cvtsd2ss")
VS_FPU_XOP(x_cvtdq2ps, "cvtdq2ps")
VS_FPU_XOP(x_cvtps2dq, "cvtps2dq")
VS_FPU_XOP(x_cvttps2dq, "cvttps2dq")
VS_FPU_XOP(x_cvttpd2dq, "cvttpd2dq")
VS_FPU_XOP(x_cvtdq2pd, "cvtdq2pd")
VS_FPU_XOP(x_cvtpd2dq, "cvtpd2dq")

/* Scalar to a general register. */
#define TO_GPR(name, insn, type)                                                                        \
	static type name(const uint8_t *s, uint32_t *mx)                                                \
	{                                                                                               \
		uint32_t save;                                                                          \
		type r;                                                                                 \
		__asm__ __volatile__("stmxcsr %[save]\n\tldmxcsr %[mx]\n\tmovdqu %[s], %%xmm0\n\t" insn \
				     " %%xmm0, %[r]\n\tstmxcsr %[mx]\n\tldmxcsr %[save]"                \
				     : [r] "=&r"(r), [mx] "+m"(*mx), [save] "=m"(save)                  \
				     : [s] "m"(*(const uint8_t(*)[16])s)                                \
				     : "xmm0");                                                         \
		return r;                                                                               \
	}
TO_GPR(cvtss2si32, "cvtss2si", uint32_t)
TO_GPR(cvtss2si64, "cvtss2si", uint64_t)
TO_GPR(cvttss2si32, "cvttss2si", uint32_t)
TO_GPR(cvttss2si64, "cvttss2si", uint64_t)
TO_GPR(cvtsd2si32, "cvtsd2si", uint32_t)
TO_GPR(cvtsd2si64, "cvtsd2si", uint64_t)
TO_GPR(cvttsd2si32, "cvttsd2si", uint32_t)
TO_GPR(cvttsd2si64, "cvttsd2si", uint64_t)

/* A general register (or memory) integer into the low lane of d. */
#define FROM_GPR(name, insn, type)                                                                      \
	static void name(uint8_t *d, type v, uint32_t *mx)                                              \
	{                                                                                               \
		uint32_t save;                                                                          \
		__asm__ __volatile__("stmxcsr %[save]\n\tldmxcsr %[mx]\n\tmovdqu %[d], %%xmm0\n\t" insn \
				     " %[v], %%xmm0\n\tmovdqu %%xmm0, %[d]\n\tstmxcsr %[mx]\n\t"        \
				     "ldmxcsr %[save]"                                                  \
				     : [d] "+m"(*(uint8_t(*)[16])d), [mx] "+m"(*mx), [save] "=m"(save)  \
				     : [v] "r"(v)                                                       \
				     : "xmm0");                                                         \
	}
FROM_GPR(cvtsi2ss32, "cvtsi2ss", uint32_t)
FROM_GPR(cvtsi2ss64, "cvtsi2ss", uint64_t)
FROM_GPR(cvtsi2sd32, "cvtsi2sd", uint32_t)
FROM_GPR(cvtsi2sd64, "cvtsi2sd", uint64_t)

/* 0F 2A: cvtpi2ps, cvtpi2pd (mm/m64 source), cvtsi2ss, cvtsi2sd. */
static enum vs_emu_fpu_status cvt_from_int(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	uint8_t *dst = fpu->xmm[insn->reg & 15];
	uint8_t d[16], s[16] = { 0 };
	uint32_t mx = vs_fpu_host_mxcsr(fpu);
	enum vs_emu_fpu_status st;

	memcpy(d, dst, 16);
	if (insn->mandatory == 0 || insn->mandatory == 0x66) {
		uint64_t v;

		if (!insn->is_mem && (st = vs_fpu_mmx_begin(c)) != VS_EMU_FPU_OK)
			return st;
		st = vs_fpu_mm_src(c, &v);
		if (st != VS_EMU_FPU_OK)
			return st;
		memcpy(s, &v, 8);
		if (insn->mandatory == 0) {
			x_cvtdq2ps(s, s, &mx);
			memcpy(d, s, 8);
		} else {
			x_cvtdq2pd(d, s, &mx);
		}
		/* The MMX transition happens even when #XM follows. */
		if (!insn->is_mem)
			vs_fpu_mmx_enter(fpu);
		if (vs_fpu_sse_flags(fpu, mx) != VS_EMU_FPU_OK)
			return VS_EMU_FPU_XM;
	} else {
		uint64_t v = 0;

		if (insn->is_mem) {
			if (vs_fpu_read(c, insn->ea, &v, insn->rex_w ? 8 : 4) < 0)
				return VS_EMU_FPU_FAULT;
		} else {
			v = c->env->get_gpr(c->env->cpu, insn->rm & 15);
		}
		if (insn->mandatory == 0xf3)
			insn->rex_w ? cvtsi2ss64(d, v, &mx) : cvtsi2ss32(d, (uint32_t)v, &mx);
		else
			insn->rex_w ? cvtsi2sd64(d, v, &mx) : cvtsi2sd32(d, (uint32_t)v, &mx);
		if (vs_fpu_sse_flags(fpu, mx) != VS_EMU_FPU_OK)
			return VS_EMU_FPU_XM;
	}
	memcpy(dst, d, 16);
	return VS_EMU_FPU_OK;
}

/* 0F 2C / 2D: cvt(t)ps2pi, cvt(t)pd2pi (to mm), cvt(t)ss2si, cvt(t)sd2si. */
static enum vs_emu_fpu_status cvt_to_int(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	bool trunc = insn->opcode == 0x2c;
	uint32_t mx = vs_fpu_host_mxcsr(fpu);
	uint8_t s[16];
	enum vs_emu_fpu_status st;
	uint64_t r;

	switch (insn->mandatory) {
	case 0:
	case 0x66:
		if ((st = vs_fpu_mmx_begin(c)) != VS_EMU_FPU_OK)
			return st;
		st = vs_fpu_xmm_src(c, s, insn->mandatory ? 16 : 8, false);
		if (st != VS_EMU_FPU_OK)
			return st;
		if (insn->mandatory == 0) {
			memset(s + 8, 0, 8);
			(trunc ? x_cvttps2dq : x_cvtps2dq)(s, s, &mx);
		} else {
			(trunc ? x_cvttpd2dq : x_cvtpd2dq)(s, s, &mx);
		}
		vs_fpu_mmx_enter(fpu);
		if (vs_fpu_sse_flags(fpu, mx) != VS_EMU_FPU_OK)
			return VS_EMU_FPU_XM;
		memcpy(&r, s, 8);
		vs_fpu_mm_set(fpu, insn->reg & 7, r);
		return VS_EMU_FPU_OK;
	case 0xf3:
		st = vs_fpu_xmm_src(c, s, 4, false);
		if (st != VS_EMU_FPU_OK)
			return st;
		if (insn->rex_w)
			r = trunc ? cvttss2si64(s, &mx) : cvtss2si64(s, &mx);
		else
			r = trunc ? cvttss2si32(s, &mx) : cvtss2si32(s, &mx);
		break;
	default:
		st = vs_fpu_xmm_src(c, s, 8, false);
		if (st != VS_EMU_FPU_OK)
			return st;
		if (insn->rex_w)
			r = trunc ? cvttsd2si64(s, &mx) : cvtsd2si64(s, &mx);
		else
			r = trunc ? cvttsd2si32(s, &mx) : cvtsd2si32(s, &mx);
		break;
	}
	if (vs_fpu_sse_flags(fpu, mx) != VS_EMU_FPU_OK)
		return VS_EMU_FPU_XM;
	c->env->set_gpr(c->env->cpu, insn->reg & 15, r);
	return VS_EMU_FPU_OK;
}

enum vs_emu_fpu_status vs_fpu_sse_convert(struct vs_fpu_ctx *c, bool *handled)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	uint8_t p = insn->mandatory;

	*handled = true;
	switch (insn->opcode) {
	case 0x2a:
		return cvt_from_int(c);
	case 0x2c:
	case 0x2d:
		return cvt_to_int(c);
	case 0x5a:
		switch (p) {
		case 0:
			return vs_fpu_xmm_run(c, x_cvtps2pd, 8, true, 0);
		case 0x66:
			return vs_fpu_xmm_run(c, x_cvtpd2ps, 16, true, VS_FPU_UF(4, 2, VS_FPU_UF_CVT));
		case 0xf3:
			return vs_fpu_xmm_run(c, x_cvtss2sd, 4, true, 0);
		default:
			return vs_fpu_xmm_run(c, x_cvtsd2ss, 8, true, VS_FPU_UF(4, 1, VS_FPU_UF_CVT));
		}
	case 0x5b:
		switch (p) {
		case 0:
			return vs_fpu_xmm_run(c, x_cvtdq2ps, 16, true, 0);
		case 0x66:
			return vs_fpu_xmm_run(c, x_cvtps2dq, 16, true, 0);
		case 0xf3:
			return vs_fpu_xmm_run(c, x_cvttps2dq, 16, true, 0);
		}
		return VS_EMU_FPU_UD;
	case 0xe6:
		switch (p) {
		case 0x66:
			return vs_fpu_xmm_run(c, x_cvttpd2dq, 16, true, 0);
		case 0xf3:
			return vs_fpu_xmm_run(c, x_cvtdq2pd, 8, true, 0);
		case 0xf2:
			return vs_fpu_xmm_run(c, x_cvtpd2dq, 16, true, 0);
		}
		return VS_EMU_FPU_UD;
	}
	*handled = false;
	return VS_EMU_FPU_UD;
}
