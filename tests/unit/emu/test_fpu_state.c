/* The FPU unit's whole-state instructions and its contract with the core:
 * FXSAVE/FXRSTOR/LDMXCSR/STMXCSR against the host (both FXSAVE layouts),
 * #GP on misalignment and reserved MXCSR bits, faults that leave the state
 * untouched, pending x87 exceptions (#MF), #UD for what is not advertised,
 * and MASKMOVDQU (which the native harness cannot run: it writes at rdi). */
#include "tap.h"
#include "fpu_harness.h"

static struct h_cpu cpu;

static struct vs_emu_fpu_insn insn0f(uint8_t op, uint8_t prefix, uint8_t reg, uint8_t rm, bool mem,
				     uint64_t ea)
{
	struct h_insn in = { 1, op, prefix, false, mem, reg, rm, 0, false, (uint32_t)ea };

	return h_to_emu(&in);
}

static struct vs_emu_fpu_insn insn_x87(uint8_t esc, uint8_t modrm, uint64_t ea)
{
	struct vs_emu_fpu_insn e;

	memset(&e, 0, sizeof(e));
	e.opcode = esc;
	e.modrm = modrm;
	e.reg = (modrm >> 3) & 7;
	e.rm = modrm & 7;
	e.is_mem = (modrm >> 6) != 3;
	e.ea = ea;
	e.long_mode = true;
	return e;
}

static enum vs_emu_fpu_status run(struct vs_emu_fpu *fpu, const struct vs_emu_fpu_insn *e)
{
	struct vs_emu_fpu_env env = h_env(&cpu);

	return vs_emu_fpu_exec(fpu, e, &env);
}

TEST(fxsave_fxrstor_ldmxcsr_stmxcsr_match_host)
{
	static uint8_t fx[512] __attribute__((aligned(16)));
	static uint8_t mem[H_MEM];
	unsigned bad = 0;

	h_init();
	if (!h_code)
		SKIP("no executable memory for the native side");
	for (unsigned it = 0; it < 400; it++) {
		uint8_t sub = (uint8_t)(it % 4);
		struct h_insn in = { 1, 0xae, 0, (it / 4) % 2 == 1, true, sub, 0, 0, false, 0x100 };
		uint64_t gpr[16], rflags;
		struct h_result r;

		h_random_image(fx, it % 3 == 0, 0x1f80);
		h_random_world(mem, gpr, &rflags);
		if (sub == 1) /* fxrstor: a consistent image */
			h_random_image(mem + 0x100, it % 3 == 0, 0x1f80);
		if (sub == 2) { /* ldmxcsr: any valid value */
			uint32_t v = (uint32_t)h_rand() & 0xffff;
			memcpy(mem + 0x100, &v, 4);
		}
		/* FOP, FIP, FCS, FDP, FDS and MXCSR_MASK of a saved image differ */
		r = h_run("fx", &in, fx, mem, gpr, rflags, sub == 0 ? 0x100 + 6 : 0,
			  sub == 0 ? 0x100 + 32 : 0);
		bad += r.mismatches != 0;
	}
	CHECK(bad == 0);
}

TEST(fxsave_layouts_and_general_protection)
{
	struct vs_emu_fpu fpu;
	struct vs_emu_fpu_insn e;
	uint32_t v;

	vs_emu_fpu_reset(&fpu);
	CHECK_EQ_U64(fpu.fcw, 0x37f);
	CHECK_EQ_U64(fpu.ftw, 0xffff);
	CHECK_EQ_U64(fpu.mxcsr, 0x1f80);
	fpu.fip = 0x1122334455667788ull;
	fpu.xmm[9][0] = 0xab;
	memset(cpu.mem, 0xee, H_MEM);

	/* 64-bit layout: FIP as 64 bits */
	e = insn0f(0xae, 0, 0, 0, true, 0x200);
	e.rex_w = true;
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK(!memcmp(cpu.mem + 0x208, &fpu.fip, 8));
	CHECK_EQ_U64(cpu.mem[0x200 + 160 + 9 * 16], 0xab);
	CHECK_EQ_U64(cpu.mem[0x200 + 28], 0xff); /* MXCSR_MASK 0xffff */
	CHECK_EQ_U64(cpu.mem[0x200 + 30], 0x00);
	CHECK_EQ_U64(cpu.mem[0x200 + 464], 0xee); /* the available area is left alone */

	/* 32-bit layout outside long mode: FIP 32 bits + selector, XMM0-7 only */
	memset(cpu.mem, 0xee, H_MEM);
	e.rex_w = false;
	e.long_mode = false;
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK_EQ_U64(cpu.mem[0x208], 0x88);
	CHECK_EQ_U64(cpu.mem[0x20c], 0x00); /* FCS */
	CHECK_EQ_U64(cpu.mem[0x200 + 160 + 9 * 16], 0xee);

	/* misaligned: #GP, nothing written */
	memset(cpu.mem, 0xee, H_MEM);
	e.ea = 0x208;
	CHECK(run(&fpu, &e) == VS_EMU_FPU_GP);
	CHECK_EQ_U64(cpu.mem[0x208], 0xee);
	e.reg = 1;
	CHECK(run(&fpu, &e) == VS_EMU_FPU_GP);

	/* fxrstor of an image with reserved MXCSR bits: #GP, state unchanged */
	e = insn0f(0xae, 0, 0, 0, true, 0x200);
	e.rex_w = true;
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	v = 0x10000 | 0x1f80;
	memcpy(cpu.mem + 0x200 + 24, &v, 4);
	cpu.mem[0x200] = 0x7f;
	cpu.mem[0x201] = 0x00; /* would change FCW */
	e.reg = 1;
	CHECK(run(&fpu, &e) == VS_EMU_FPU_GP);
	CHECK_EQ_U64(fpu.fcw, 0x37f);

	/* ldmxcsr: reserved bits #GP, a valid value loads; stmxcsr stores */
	v = 0x80001f80;
	memcpy(cpu.mem + 0x300, &v, 4);
	e = insn0f(0xae, 0, 2, 0, true, 0x300);
	CHECK(run(&fpu, &e) == VS_EMU_FPU_GP);
	CHECK_EQ_U64(fpu.mxcsr, 0x1f80);
	v = 0xffff;
	memcpy(cpu.mem + 0x300, &v, 4);
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK_EQ_U64(fpu.mxcsr, 0xffff);
	e.reg = 3;
	e.ea = 0x310;
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	memcpy(&v, cpu.mem + 0x310, 4);
	CHECK_EQ_U64(v, 0xffff);

	/* register forms of 0F AE /0-/3 are not ours */
	e = insn0f(0xae, 0, 0, 1, false, 0);
	CHECK(run(&fpu, &e) == VS_EMU_FPU_UD);
}

TEST(faults_leave_state_untouched)
{
	struct vs_emu_fpu fpu, before;
	struct vs_emu_fpu_insn e;
	uint8_t one[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };

	vs_emu_fpu_reset(&fpu);
	memcpy(cpu.mem, one, 10);
	e = insn_x87(0xdb, 0x28, 0); /* fld m80 */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	before = fpu;
	cpu.faults = 0;

	e = insn_x87(0xdb, 0x38, H_MEM - 4); /* fstp m80 across the end */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_FAULT);
	CHECK(!memcmp(&fpu, &before, sizeof(fpu)));
	e = insn_x87(0xd9, 0x00, H_MEM); /* fld m32 */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_FAULT);
	e = insn_x87(0xd8, 0x00, ~0ull); /* fadd m32 */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_FAULT);
	e = insn_x87(0xdd, 0x30, H_MEM - 50); /* fnsave */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_FAULT);
	e = insn0f(0x58, 0, 1, 0, true, H_MEM); /* addps */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_FAULT);
	e = insn0f(0x7f, 0, 1, 0, true, H_MEM - 4); /* movq m64, mm1 */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_FAULT);
	e = insn0f(0xae, 0, 1, 0, true, H_MEM - 256); /* fxrstor */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_FAULT);
	CHECK(!memcmp(&fpu, &before, sizeof(fpu)));
	CHECK(cpu.faults == 7);

	/* misaligned 16-byte operands: #GP before any access */
	cpu.faults = 0;
	e = insn0f(0x28, 0, 1, 0, true, 0x104); /* movaps */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_GP);
	e = insn0f(0x58, 0x66, 1, 0, true, 0x108); /* addpd */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_GP);
	e = insn0f(0xe7, 0x66, 1, 0, true, 0x101); /* movntdq */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_GP);
	e = insn0f(0x10, 0, 1, 0, true, 0x101); /* movups: fine */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	e = insn0f(0x58, 0xf3, 1, 0, true, 0x101); /* addss m32: fine */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK(!memcmp(&fpu.st, &before.st, sizeof(fpu.st)));
}

TEST(pending_x87_exception_raises_mf_on_waiting_instructions)
{
	struct vs_emu_fpu fpu;
	struct vs_emu_fpu_insn e;
	uint16_t cw = 0x037e; /* invalid unmasked */
	uint16_t sw;

	vs_emu_fpu_reset(&fpu);
	memcpy(cpu.mem, &cw, 2);
	e = insn_x87(0xd9, 0x28, 0); /* fldcw */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	e = insn_x87(0xd9, 0xee, 0); /* fldz */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	e = insn_x87(0xd9, 0xfa, 0); /* fsqrt of -0 is fine */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	e = insn_x87(0xd9, 0xe0, 0); /* fchs */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	e = insn_x87(0xd8, 0xf8, 0); /* fdivr st0, st0: 0/0 invalid, completes with ES */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK(fpu.fsw & 0x0080);
	CHECK(fpu.fsw & 0x0001);
	e = insn_x87(0xd9, 0xe8, 0); /* fld1: waits, #MF */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_MF);
	e = insn0f(0xfc, 0, 0, 1, false, 0); /* paddb mm0, mm1 waits too */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_MF);
	e = insn0f(0x77, 0, 0, 0, false, 0); /* emms */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_MF);
	e = insn0f(0x58, 0, 0, 1, false, 0); /* addps does not */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	e = insn_x87(0xdd, 0x38, 0x40); /* fnstsw m16 does not wait */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	memcpy(&sw, cpu.mem + 0x40, 2);
	CHECK_EQ_U64(sw, fpu.fsw);
	cpu.gpr[0] = 0xffffffffffffffffull;
	e = insn_x87(0xdf, 0xe0, 0); /* fnstsw ax */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK_EQ_U64(cpu.gpr[0], 0xffffffffffff0000ull | fpu.fsw);
	e = insn_x87(0xdb, 0xe2, 0); /* fnclex */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK(!(fpu.fsw & 0x80ff));
	e = insn_x87(0xd9, 0xe8, 0);
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);

	/* MMX state transition and EMMS */
	e = insn0f(0xfc, 0, 2, 3, false, 0);
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK_EQ_U64(fpu.ftw, 0);
	CHECK_EQ_U64((fpu.fsw >> 11) & 7, 0);
	CHECK_EQ_U64(fpu.st[2].sign_exp, 0xffff);
	e = insn0f(0x77, 0, 0, 0, false, 0);
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK_EQ_U64(fpu.ftw, 0xffff);
}

TEST(unadvertised_and_invalid_encodings_are_ud)
{
	static const uint8_t ud0f[][2] = {
		{ 0x78, 0 },	{ 0x7c, 0x66 }, { 0x7d, 0xf2 }, { 0xd0, 0x66 },
		{ 0xf0, 0xf2 }, { 0x12, 0xf2 }, { 0x16, 0xf3 }, { 0xd6, 0 },
		{ 0xff, 0 },	{ 0x5b, 0xf2 }, { 0xe6, 0 },	{ 0x6c, 0 },
		{ 0x28, 0xf3 }, { 0x2e, 0xf3 }, { 0x52, 0x66 }, { 0x6e, 0xf3 },
	};
	struct vs_emu_fpu fpu;
	struct vs_emu_fpu_insn e;

	vs_emu_fpu_reset(&fpu);
	for (size_t i = 0; i < sizeof(ud0f) / sizeof(ud0f[0]); i++) {
		e = insn0f(ud0f[i][0], ud0f[i][1], 1, 2, false, 0);
		CHECK(run(&fpu, &e) == VS_EMU_FPU_UD);
	}
	e = insn0f(0x00, 0x66, 1, 2, false, 0);
	e.map = 2; /* 0F 38: SSSE3+ */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_UD);
	e.map = 3;
	CHECK(run(&fpu, &e) == VS_EMU_FPU_UD);
	e = insn0f(0x2b, 0, 1, 2, false, 0); /* movntps needs memory */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_UD);
	e = insn0f(0x50, 0, 1, 2, true, 0x100); /* movmskps needs a register */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_UD);
	e = insn_x87(0xd9, 0xd1, 0);
	CHECK(run(&fpu, &e) == VS_EMU_FPU_UD);
	e = insn_x87(0xd9, 0x08, 0); /* D9 /1 memory */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_UD);

	CHECK(vs_emu_fpu_has_imm8(1, 0x70) && vs_emu_fpu_has_imm8(1, 0x73) && vs_emu_fpu_has_imm8(1, 0xc2));
	CHECK(vs_emu_fpu_has_imm8(1, 0xc6) && vs_emu_fpu_has_imm8(3, 0x0f));
	CHECK(!vs_emu_fpu_has_imm8(1, 0x58) && !vs_emu_fpu_has_imm8(0, 0xd9) &&
	      !vs_emu_fpu_has_imm8(2, 0x00));
}

TEST(maskmovdqu_and_maskmovq_store_selected_bytes)
{
	struct vs_emu_fpu fpu;
	struct vs_emu_fpu_insn e;

	vs_emu_fpu_reset(&fpu);
	for (unsigned i = 0; i < 16; i++) {
		fpu.xmm[1][i] = (uint8_t)(0xa0 + i);
		fpu.xmm[2][i] = (i & 1) ? 0x80 : 0x7f;
	}
	memset(cpu.mem + 0x400, 0x11, 32);
	e = insn0f(0xf7, 0x66, 1, 2, false, 0);
	e.ea = 0x400; /* DS:rDI, as the core supplies it */
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	for (unsigned i = 0; i < 16; i++)
		CHECK_EQ_U64(cpu.mem[0x400 + i], (i & 1) ? 0xa0 + i : 0x11);
	CHECK_EQ_U64(cpu.mem[0x410], 0x11);

	fpu.st[3].mant = 0x0102030405060708ull;
	fpu.st[4].mant = 0xff00000000000000ull;
	e = insn0f(0xf7, 0, 3, 4, false, 0);
	e.ea = 0x500;
	memset(cpu.mem + 0x500, 0x22, 8);
	CHECK(run(&fpu, &e) == VS_EMU_FPU_OK);
	CHECK_EQ_U64(cpu.mem[0x507], 0x01);
	CHECK_EQ_U64(cpu.mem[0x506], 0x22);
	CHECK_EQ_U64(fpu.ftw, 0); /* an MMX instruction */
}

VS_TAP_MAIN(TAP_CASE(fxsave_fxrstor_ldmxcsr_stmxcsr_match_host),
	    TAP_CASE(fxsave_layouts_and_general_protection), TAP_CASE(faults_leave_state_untouched),
	    TAP_CASE(pending_x87_exception_raises_mf_on_waiting_instructions),
	    TAP_CASE(unadvertised_and_invalid_encodings_are_ud),
	    TAP_CASE(maskmovdqu_and_maskmovq_store_selected_bytes))
