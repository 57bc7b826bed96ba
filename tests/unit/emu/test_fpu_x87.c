/* x87 through the FPU unit against the host CPU running the same machine
 * code (see fpu_harness.h): every memory form of D8-DF and every register
 * encoding, from random stacks (random TOP, tags, values including NaNs,
 * infinities, denormals, unnormals), random precision and rounding
 * control, and some runs with exceptions unmasked (x87 reports those on
 * the next waiting instruction, so the native side records ES and the
 * state without trapping). */
#include "tap.h"
#include "fpu_harness.h"

#define ITER 200

static unsigned mem_len(uint8_t esc, uint8_t reg)
{
	switch (esc) {
	case 0xd8:
		return 4;
	case 0xd9:
		return reg == 0 || reg == 2 || reg == 3 ? 4 : reg == 5 || reg == 7 ? 2 : 28;
	case 0xda:
		return 4;
	case 0xdb:
		return reg == 5 || reg == 7 ? 10 : 4;
	case 0xdc:
		return 8;
	case 0xdd:
		return reg == 4 || reg == 6 ? 108 : reg == 7 ? 2 : 8;
	case 0xde:
		return 2;
	default:
		return reg == 4 || reg == 6 ? 10 : reg == 5 || reg == 7 ? 8 : 2;
	}
}

/* The memory operand in the format the form reads. */
static void fill_operand(uint8_t *p, uint8_t esc, uint8_t reg, bool unmask)
{
	unsigned len = mem_len(esc, reg);

	if (len == 4 && (esc == 0xd8 || esc == 0xd9)) {
		uint32_t v = h_f32();
		memcpy(p, &v, 4);
	} else if (len == 8 && (esc == 0xdc || esc == 0xdd)) {
		uint64_t v = h_f64();
		memcpy(p, &v, 8);
	} else if (len == 10 && esc == 0xdb) {
		h_f80(p);
	} else if (len == 10) { /* packed BCD: mostly valid digits */
		for (unsigned i = 0; i < 9; i++)
			p[i] = (uint8_t)(h_pick(10) << 4 | h_pick(10));
		p[9] = (uint8_t)(h_pick(2) << 7);
		if (h_pick(8) == 0)
			p[h_pick(10)] = (uint8_t)h_rand();
	} else if (len == 28 || len == 108) { /* an environment (and registers) */
		uint8_t fx[512];
		uint16_t fcw, fsw, ftw = 0;

		h_random_image(fx, unmask, 0x1f80);
		memcpy(&fcw, fx, 2);
		memcpy(&fsw, fx + 2, 2);
		for (unsigned i = 0; i < 8; i++)
			ftw = (uint16_t)(ftw | (h_pick(4) << (2 * i)));
		memset(p, 0, len);
		memcpy(p + 0, &fcw, 2);
		memcpy(p + 4, &fsw, 2);
		memcpy(p + 8, &ftw, 2);
		for (unsigned i = 0; i < 8 && len == 108; i++)
			memcpy(p + 28 + 10 * i, fx + 32 + 16 * i, 10);
	} else if (len == 2 && esc == 0xd9) { /* a control word for fldcw */
		uint16_t cw = (uint16_t)(h_rand() & 0x1f7f);
		if (!unmask)
			cw |= 0x3f;
		memcpy(p, &cw, 2);
	} else {
		for (unsigned i = 0; i < len; i += 4) {
			uint32_t v = h_i32();
			memcpy(p + i, &v, len - i < 4 ? len - i : 4);
		}
		if (len == 8 && h_pick(2)) { /* 64-bit boundaries */
			uint64_t v = h_pick(2) ? 0x8000000000000000ull : 0x7fffffffffffffffull;
			memcpy(p, &v, 8);
		}
	}
}

/* Forms whose C0-C3 the SDM leaves (partly) undefined; the unit follows
 * AMD hardware there, other hosts are not compared on them. */
static bool cc_undefined(uint8_t esc, bool is_mem, uint8_t reg)
{
	if (is_mem)
		return false;
	return (esc == 0xdd && reg == 0) || (esc == 0xdf && reg == 0) ||   /* ffree, ffreep */
	       ((esc == 0xda || esc == 0xdb) && reg < 4) ||		   /* fcmovcc */
	       ((esc == 0xdb || esc == 0xdf) && (reg == 5 || reg == 6)) || /* f(u)comi(p) */
	       (esc == 0xd9 && reg >= 6);				   /* fprem & co. */
}

static unsigned run_form(uint8_t esc, bool is_mem, uint8_t reg, uint8_t rm, unsigned iters)
{
	static uint8_t fx[512] __attribute__((aligned(16)));
	static uint8_t mem[H_MEM];
	unsigned bad = 0;
	char name[32];

	snprintf(name, sizeof(name), "%02x %s/%u,%u", esc, is_mem ? "mem" : "reg", reg, rm);
	h_fsw_loose = (!h_host_is_amd() && cc_undefined(esc, is_mem, reg)) ? 0x4700 : 0;
	for (unsigned it = 0; it < iters; it++) {
		static const uint32_t eas[] = { 0x100, 0x104, 0x10b };
		struct h_insn in = { 0, esc, 0, false, is_mem, reg, rm, 0, false, eas[h_pick(3)] };
		bool unmask = h_pick(4) == 0;
		uint64_t gpr[16], rflags;
		unsigned skip_lo = 0, skip_hi = 0;
		struct h_result r;

		h_random_image(fx, unmask, 0x1f80);
		h_random_world(mem, gpr, &rflags);
		if (is_mem) {
			fill_operand(mem + in.ea, esc, reg, unmask);
			if ((esc == 0xd9 || esc == 0xdd) && reg == 6) { /* FIP, FCS, FOP, FDP, FDS */
				skip_lo = in.ea + 12;
				skip_hi = in.ea + 28;
			}
			if (h_pick(3) == 0) /* 16-bit operand size: the short environment */
				in.prefix = 0x66;
			if (in.prefix && (reg == 6) && (esc == 0xd9 || esc == 0xdd)) {
				skip_lo = in.ea + 6;
				skip_hi = in.ea + 14;
			}
		}
		r = h_run(name, &in, fx, mem, gpr, rflags, skip_lo, skip_hi);
		bad += r.mismatches != 0;
	}
	return bad;
}

TEST(x87_memory_forms_match_host)
{
	unsigned bad = 0, forms = 0;

	h_init();
	if (!h_code)
		SKIP("no executable memory for the native side");
	for (unsigned esc = 0xd8; esc <= 0xdf; esc++)
		for (unsigned reg = 0; reg < 8; reg++) {
			if ((esc == 0xd9 && reg == 1) || (esc == 0xdb && (reg == 4 || reg == 6)) ||
			    (esc == 0xdd && reg == 5))
				continue; /* #UD */
			bad += run_form((uint8_t)esc, true, (uint8_t)reg, 0, ITER);
			forms++;
		}
	printf("#   %u forms x %d runs, %u mismatching\n", forms, ITER, bad);
	CHECK(bad == 0);
}

static bool reg_form_valid(unsigned esc, unsigned modrm)
{
	switch (esc) {
	case 0xd9: /* not D9 D8-DF: Intel's FSTP alias, AMD's FSTPNCE */
		return modrm < 0xd1 || (modrm >= 0xe0 && modrm <= 0xe1) || modrm == 0xe4 || modrm == 0xe5 ||
		       (modrm >= 0xe8 && modrm <= 0xee) || modrm >= 0xf0;
	case 0xda:
		return modrm < 0xe0 || modrm == 0xe9;
	case 0xdb:
		return modrm < 0xe5 || (modrm >= 0xe8 && modrm < 0xf8);
	case 0xdd:
		return modrm < 0xf0;
	case 0xde:
		return modrm < 0xd8 || modrm == 0xd9 || modrm >= 0xe0;
	case 0xdf:
		return modrm < 0xe1 || (modrm >= 0xe8 && modrm < 0xf8);
	}
	return true;
}

TEST(x87_register_forms_match_host)
{
	unsigned bad = 0, forms = 0;

	h_init();
	if (!h_code)
		SKIP("no executable memory for the native side");
	for (unsigned esc = 0xd8; esc <= 0xdf; esc++)
		for (unsigned modrm = 0xc0; modrm <= 0xff; modrm++) {
			if (!reg_form_valid(esc, modrm))
				continue;
			bad += run_form((uint8_t)esc, false, (uint8_t)((modrm >> 3) & 7),
					(uint8_t)(modrm & 7), ITER / 4);
			forms++;
		}
	printf("#   %u encodings x %d runs, %u mismatching\n", forms, ITER / 4, bad);
	CHECK(bad == 0);
}

VS_TAP_MAIN(TAP_CASE(x87_memory_forms_match_host), TAP_CASE(x87_register_forms_match_host))
