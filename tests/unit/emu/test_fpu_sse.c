/* MMX/SSE/SSE2 through the FPU unit against the host CPU running the same
 * machine code (see fpu_harness.h): every opcode form the unit implements,
 * randomized operands with a fixed seed (NaNs, infinities, denormals,
 * signed zeros, integer boundaries), random rounding modes, DAZ/FTZ, and
 * some runs with SIMD exceptions unmasked (#XM natively = SIGFPE). */
#include "tap.h"
#include "fpu_harness.h"

enum {
	A16 = 1 << 0,	  /* 16-byte memory operand that must be aligned */
	MEMONLY = 1 << 1, /* no register form */
	REGONLY = 1 << 2,
	IMM = 1 << 3,
	GREG = 1 << 4, /* ModRM.reg names a general register */
	GRM = 1 << 5,  /* ModRM.rm (register form) names a general register */
	MMREG = 1 << 6,
	MMRM = 1 << 7,
	W = 1 << 8,   /* REX.W is meaningful: try both */
	SUB = 1 << 9, /* ModRM.reg is the sub-opcode in .sub */
	FLOAT = 1 << 10,
};
#define MM (MMREG | MMRM)

struct spec {
	uint8_t opcode, prefix;
	unsigned flags;
	uint8_t sub;
};

static const struct spec specs[] = {
	/* moves */
	{ 0x10, 0, 0 },
	{ 0x10, 0x66, 0 },
	{ 0x10, 0xf3, 0 },
	{ 0x10, 0xf2, 0 },
	{ 0x11, 0, 0 },
	{ 0x11, 0x66, 0 },
	{ 0x11, 0xf3, 0 },
	{ 0x11, 0xf2, 0 },
	{ 0x12, 0, 0 },
	{ 0x12, 0x66, MEMONLY },
	{ 0x13, 0, MEMONLY },
	{ 0x13, 0x66, MEMONLY },
	{ 0x16, 0, 0 },
	{ 0x16, 0x66, MEMONLY },
	{ 0x17, 0, MEMONLY },
	{ 0x17, 0x66, MEMONLY },
	{ 0x28, 0, A16 },
	{ 0x28, 0x66, A16 },
	{ 0x29, 0, A16 },
	{ 0x29, 0x66, A16 },
	{ 0x2b, 0, A16 | MEMONLY },
	{ 0x2b, 0x66, A16 | MEMONLY },
	{ 0x50, 0, REGONLY | GREG },
	{ 0x50, 0x66, REGONLY | GREG },
	{ 0x6e, 0, MMREG | GRM | W },
	{ 0x6e, 0x66, GRM | W },
	{ 0x7e, 0, MMREG | GRM | W },
	{ 0x7e, 0x66, GRM | W },
	{ 0x7e, 0xf3, 0 },
	{ 0x6f, 0, MM },
	{ 0x6f, 0x66, A16 },
	{ 0x6f, 0xf3, 0 },
	{ 0x7f, 0, MM },
	{ 0x7f, 0x66, A16 },
	{ 0x7f, 0xf3, 0 },
	{ 0xd6, 0x66, 0 },
	{ 0xd6, 0xf3, REGONLY | MMRM },
	{ 0xd6, 0xf2, REGONLY | MMREG },
	{ 0xd7, 0, REGONLY | GREG | MMRM },
	{ 0xd7, 0x66, REGONLY | GREG },
	{ 0xe7, 0, MEMONLY | MMREG },
	{ 0xe7, 0x66, MEMONLY | A16 },
	{ 0x70, 0, MM | IMM },
	{ 0x70, 0x66, A16 | IMM },
	{ 0x70, 0xf3, A16 | IMM },
	{ 0x70, 0xf2, A16 | IMM },
	{ 0xc4, 0, MMREG | GRM | IMM },
	{ 0xc4, 0x66, GRM | IMM },
	{ 0xc5, 0, GREG | MMRM | REGONLY | IMM },
	{ 0xc5, 0x66, GREG | REGONLY | IMM },
	{ 0xc6, 0, A16 | IMM | FLOAT },
	{ 0xc6, 0x66, A16 | IMM | FLOAT },
	/* conversions */
	{ 0x2a, 0, MMRM | FLOAT },
	{ 0x2a, 0x66, MMRM | FLOAT },
	{ 0x2a, 0xf3, GRM | W | FLOAT },
	{ 0x2a, 0xf2, GRM | W | FLOAT },
	{ 0x2c, 0, MMREG | FLOAT },
	{ 0x2c, 0x66, MMREG | A16 | FLOAT },
	{ 0x2c, 0xf3, GREG | W | FLOAT },
	{ 0x2c, 0xf2, GREG | W | FLOAT },
	{ 0x2d, 0, MMREG | FLOAT },
	{ 0x2d, 0x66, MMREG | A16 | FLOAT },
	{ 0x2d, 0xf3, GREG | W | FLOAT },
	{ 0x2d, 0xf2, GREG | W | FLOAT },
	{ 0x5a, 0, FLOAT },
	{ 0x5a, 0x66, A16 | FLOAT },
	{ 0x5a, 0xf3, FLOAT },
	{ 0x5a, 0xf2, FLOAT },
	{ 0x5b, 0, A16 | FLOAT },
	{ 0x5b, 0x66, A16 | FLOAT },
	{ 0x5b, 0xf3, A16 | FLOAT },
	{ 0xe6, 0x66, A16 | FLOAT },
	{ 0xe6, 0xf3, FLOAT },
	{ 0xe6, 0xf2, A16 | FLOAT },
/* float arithmetic, logic, unpacks, compares */
#define FP4(op)                                                                 \
	{ op, 0, A16 | FLOAT }, { op, 0x66, A16 | FLOAT }, { op, 0xf3, FLOAT }, \
	{                                                                       \
		op, 0xf2, FLOAT                                                 \
	}
	FP4(0x51),
	FP4(0x58),
	FP4(0x59),
	FP4(0x5c),
	FP4(0x5d),
	FP4(0x5e),
	FP4(0x5f),
	{ 0x52, 0, A16 | FLOAT },
	{ 0x52, 0xf3, FLOAT },
	{ 0x53, 0, A16 | FLOAT },
	{ 0x53, 0xf3, FLOAT },
	{ 0x14, 0, A16 },
	{ 0x14, 0x66, A16 },
	{ 0x15, 0, A16 },
	{ 0x15, 0x66, A16 },
	{ 0x54, 0, A16 },
	{ 0x54, 0x66, A16 },
	{ 0x55, 0, A16 },
	{ 0x55, 0x66, A16 },
	{ 0x56, 0, A16 },
	{ 0x56, 0x66, A16 },
	{ 0x57, 0, A16 },
	{ 0x57, 0x66, A16 },
	{ 0xc2, 0, A16 | IMM | FLOAT },
	{ 0xc2, 0x66, A16 | IMM | FLOAT },
	{ 0xc2, 0xf3, IMM | FLOAT },
	{ 0xc2, 0xf2, IMM | FLOAT },
	{ 0x2e, 0, FLOAT },
	{ 0x2e, 0x66, FLOAT },
	{ 0x2f, 0, FLOAT },
	{ 0x2f, 0x66, FLOAT },
	/* shifts by immediate */
	{ 0x71, 0, MMRM | REGONLY | IMM | SUB, 2 },
	{ 0x71, 0, MMRM | REGONLY | IMM | SUB, 4 },
	{ 0x71, 0, MMRM | REGONLY | IMM | SUB, 6 },
	{ 0x72, 0, MMRM | REGONLY | IMM | SUB, 2 },
	{ 0x72, 0, MMRM | REGONLY | IMM | SUB, 4 },
	{ 0x72, 0, MMRM | REGONLY | IMM | SUB, 6 },
	{ 0x73, 0, MMRM | REGONLY | IMM | SUB, 2 },
	{ 0x73, 0, MMRM | REGONLY | IMM | SUB, 6 },
	{ 0x71, 0x66, REGONLY | IMM | SUB, 2 },
	{ 0x71, 0x66, REGONLY | IMM | SUB, 4 },
	{ 0x71, 0x66, REGONLY | IMM | SUB, 6 },
	{ 0x72, 0x66, REGONLY | IMM | SUB, 2 },
	{ 0x72, 0x66, REGONLY | IMM | SUB, 4 },
	{ 0x72, 0x66, REGONLY | IMM | SUB, 6 },
	{ 0x73, 0x66, REGONLY | IMM | SUB, 2 },
	{ 0x73, 0x66, REGONLY | IMM | SUB, 3 },
	{ 0x73, 0x66, REGONLY | IMM | SUB, 6 },
	{ 0x73, 0x66, REGONLY | IMM | SUB, 7 },
	{ 0x6c, 0x66, A16 },
	{ 0x6d, 0x66, A16 },
};

/* Integer ops with an MMX and an SSE2 form. */
static const uint8_t int_ops[] = {
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75,
	0x76, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
	0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
	0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
};

#define ITER 300

static unsigned run_spec(const struct spec *s, unsigned iters, bool unmask)
{
	static uint8_t fx[512] __attribute__((aligned(16)));
	static uint8_t mem[H_MEM];
	unsigned bad = 0;
	char name[32];

	snprintf(name, sizeof(name), "0f%02x/%02x", s->opcode, s->prefix);
	for (unsigned it = 0; it < iters; it++) {
		struct h_insn in = { 1, s->opcode, s->prefix, false, false, 0, 0, 0, false, 0x100 };
		uint64_t gpr[16], rflags;
		uint32_t masks = 0x1f80;
		struct h_result r;

		if (unmask && (s->flags & FLOAT))
			masks &= ~(uint32_t)((h_rand() & 0x3f) << 7);
		h_random_image(fx, false, masks);
		h_random_world(mem, gpr, &rflags);
		in.is_mem = (s->flags & MEMONLY) || (!(s->flags & REGONLY) && h_pick(2));
		in.reg = (uint8_t)h_pick(16);
		in.rm = (uint8_t)h_pick(16);
		if (s->flags & MMREG)
			in.reg &= 7;
		if (s->flags & MMRM)
			in.rm &= 7;
		if (s->flags & GREG)
			in.reg = h_gpr_reg();
		if (s->flags & GRM)
			in.rm = h_gpr_reg();
		if (s->flags & SUB)
			in.reg = s->sub;
		if (s->flags & W)
			in.rex_w = h_pick(2);
		if (s->flags & IMM) {
			in.has_imm = true;
			in.imm8 = (uint8_t)(h_pick(3) ? h_pick(20) : h_rand());
		}
		if (!(s->flags & A16)) {
			static const uint32_t eas[] = { 0x100, 0x104, 0x108, 0x10b };
			in.ea = eas[h_pick(4)];
		}
		r = h_run(name, &in, fx, mem, gpr, rflags, 0, 0);
		bad += r.mismatches != 0;
	}
	return bad;
}

TEST(sse_forms_match_host)
{
	unsigned bad = 0;

	h_init();
	if (!h_code)
		SKIP("no executable memory for the native side");
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		bad += run_spec(&specs[i], ITER, false);
	printf("#   %zu forms x %d runs, %u mismatching\n", sizeof(specs) / sizeof(specs[0]), ITER, bad);
	CHECK(bad == 0);
}

TEST(integer_ops_match_host_mmx_and_sse2)
{
	unsigned bad = 0;

	h_init();
	if (!h_code)
		SKIP("no executable memory for the native side");
	for (size_t i = 0; i < sizeof(int_ops); i++) {
		struct spec mmx = { int_ops[i], 0, MM, 0 }, sse = { int_ops[i], 0x66, A16, 0 };

		bad += run_spec(&mmx, ITER, false);
		bad += run_spec(&sse, ITER, false);
	}
	printf("#   %zu ops x 2 forms x %d runs, %u mismatching\n", sizeof(int_ops), ITER, bad);
	CHECK(bad == 0);
}

TEST(unmasked_simd_exceptions_match_host)
{
	unsigned bad = 0;

	h_init();
	if (!h_code)
		SKIP("no executable memory for the native side");
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (specs[i].flags & FLOAT)
			bad += run_spec(&specs[i], ITER, true);
	CHECK(bad == 0);
}

VS_TAP_MAIN(TAP_CASE(sse_forms_match_host), TAP_CASE(integer_ops_match_host_mmx_and_sse2),
	    TAP_CASE(unmasked_simd_exceptions_match_host))
