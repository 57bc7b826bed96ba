/* test=isa, integer groups: every general-purpose ALU form at every
 * operand size, with random operands and random incoming flags. Each
 * group hashes the results and the flags the SDM defines for it. */
#include "isa.h"

#include "libc.h"

#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define ARITH (CF | PF | AF | ZF | SF | OF)

#define ROUNDS 200

typedef void (*op_fn)(uint64_t *a, uint64_t *b, uint64_t *fl);

/* "insn src, dst" with the flags loaded before and saved after. */
#define BIN(fname, insn, type)                                                                     \
	static void fname(uint64_t *a, uint64_t *b, uint64_t *fl)                                  \
	{                                                                                          \
		type x = (type)*a, y = (type)*b;                                                   \
		uint64_t f = *fl;                                                                  \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" insn " %[y], %[x]\n\tpushfq\n\tpop %[f]" \
				 : [x] "+r"(x), [y] "+r"(y), [f] "+r"(f)                           \
				 :                                                                 \
				 : "cc");                                                          \
		*a = x;                                                                            \
		*b = y;                                                                            \
		*fl = f;                                                                           \
	}

/* "insn dst" */
#define UN(fname, insn, type)                                                                \
	static void fname(uint64_t *a, uint64_t *b, uint64_t *fl)                            \
	{                                                                                    \
		type x = (type)*a;                                                           \
		uint64_t f = *fl;                                                            \
		(void)b;                                                                     \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" insn " %[x]\n\tpushfq\n\tpop %[f]" \
				 : [x] "+r"(x), [f] "+r"(f)                                  \
				 :                                                           \
				 : "cc");                                                    \
		*a = x;                                                                      \
		*fl = f;                                                                     \
	}

/* "insn %cl, dst" with the count in *b */
#define SHIFT(fname, insn, type)                                                                   \
	static void fname(uint64_t *a, uint64_t *b, uint64_t *fl)                                  \
	{                                                                                          \
		type x = (type)*a;                                                                 \
		uint8_t c = (uint8_t)*b;                                                           \
		uint64_t f = *fl;                                                                  \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" insn " %%cl, %[x]\n\tpushfq\n\tpop %[f]" \
				 : [x] "+r"(x), [f] "+r"(f)                                        \
				 : "c"(c)                                                          \
				 : "cc");                                                          \
		*a = x;                                                                            \
		*fl = f;                                                                           \
	}

/* "insn %cl, src, dst" (SHLD/SHRD): the count is b's top byte, the
 * source b's low bits. */
#define DSHIFT(fname, insn, type)                                                                        \
	static void fname(uint64_t *a, uint64_t *b, uint64_t *fl)                                        \
	{                                                                                                \
		type x = (type)*a, y = (type)*b;                                                         \
		uint8_t c = (uint8_t)(*b >> 56);                                                         \
		uint64_t f = *fl;                                                                        \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" insn " %%cl, %[y], %[x]\n\tpushfq\n\tpop %[f]" \
				 : [x] "+r"(x), [f] "+r"(f)                                              \
				 : [y] "r"(y), "c"(c)                                                    \
				 : "cc");                                                                \
		*a = x;                                                                                  \
		*fl = f;                                                                                 \
	}

#define ALL4(gen, name, insn)                                               \
	gen(name##_8, insn "b", uint8_t) gen(name##_16, insn "w", uint16_t) \
	    gen(name##_32, insn "l", uint32_t) gen(name##_64, insn "q", uint64_t)
#define WIDE3(gen, name, insn)                                                \
	gen(name##_16, insn "w", uint16_t) gen(name##_32, insn "l", uint32_t) \
	    gen(name##_64, insn "q", uint64_t)

ALL4(BIN, add, "add")
ALL4(BIN, adc, "adc")
ALL4(BIN, sub, "sub")
ALL4(BIN, sbb, "sbb")
ALL4(BIN, cmp, "cmp")
ALL4(BIN, and, "and")
ALL4(BIN, or, "or")
ALL4(BIN, xor, "xor")
ALL4(BIN, test, "test")
ALL4(BIN, xadd, "xadd")
ALL4(BIN, xchg, "xchg")
WIDE3(BIN, imul, "imul")
WIDE3(BIN, bt, "bt")
WIDE3(BIN, bts, "bts")
WIDE3(BIN, btr, "btr")
WIDE3(BIN, btc, "btc")
WIDE3(BIN, bsf, "bsf")
WIDE3(BIN, bsr, "bsr")
ALL4(UN, inc, "inc")
ALL4(UN, dec, "dec")
ALL4(UN, neg, "neg")
ALL4(UN, not, "not")
UN(bswap_32, "bswapl", uint32_t)
UN(bswap_64, "bswapq", uint64_t)
ALL4(SHIFT, shl, "shl")
ALL4(SHIFT, shr, "shr")
ALL4(SHIFT, sar, "sar")
ALL4(SHIFT, rol, "rol")
ALL4(SHIFT, ror, "ror")
ALL4(SHIFT, rcl, "rcl")
ALL4(SHIFT, rcr, "rcr")
WIDE3(DSHIFT, shld, "shld")
WIDE3(DSHIFT, shrd, "shrd")

/* How a group picks operands and which flags it may compare. */
enum shape {
	PLAIN,	/* any a, b */
	COUNT,	/* b is a shift count 1..bits-1; OF only for a count of 1 */
	DCOUNT, /* SHLD/SHRD: count 1..bits-1 in b's top byte */
	SCAN,	/* BSF/BSR: a is undefined when b is 0 */
};

struct group {
	const char *name;
	op_fn fn[4]; /* 8, 16, 32, 64 bits; NULL where the form does not exist */
	uint32_t flags;
	enum shape shape;
};

#define G4(n, fl, sh)                                         \
	{                                                     \
#n, { n##_8, n##_16, n##_32, n##_64 }, fl, sh \
	}
#define G3(n, fl, sh)                                     \
	{                                                 \
#n, { 0, n##_16, n##_32, n##_64 }, fl, sh \
	}

static const struct group groups[] = {
	G4(add, ARITH, PLAIN),
	G4(adc, ARITH, PLAIN),
	G4(sub, ARITH, PLAIN),
	G4(sbb, ARITH, PLAIN),
	G4(cmp, ARITH, PLAIN),
	G4(and, ARITH & ~AF, PLAIN),
	G4(or, ARITH & ~AF, PLAIN),
	G4(xor, ARITH & ~AF, PLAIN),
	G4(test, ARITH & ~AF, PLAIN),
	G4(xadd, ARITH, PLAIN),
	G4(xchg, ARITH, PLAIN),
	G3(imul, CF | OF, PLAIN),
	G3(bt, CF, PLAIN),
	G3(bts, CF, PLAIN),
	G3(btr, CF, PLAIN),
	G3(btc, CF, PLAIN),
	G3(bsf, ZF, SCAN),
	G3(bsr, ZF, SCAN),
	G4(inc, ARITH, PLAIN),
	G4(dec, ARITH, PLAIN),
	G4(neg, ARITH, PLAIN),
	G4(not, ARITH, PLAIN),
	{ "bswap", { 0, 0, bswap_32, bswap_64 }, ARITH, PLAIN },
	G4(shl, ARITH & ~AF, COUNT),
	G4(shr, ARITH & ~AF, COUNT),
	G4(sar, ARITH & ~AF, COUNT),
	G4(rol, ARITH, COUNT),
	G4(ror, ARITH, COUNT),
	G4(rcl, ARITH, COUNT),
	G4(rcr, ARITH, COUNT),
	G3(shld, ARITH & ~AF, DCOUNT),
	G3(shrd, ARITH & ~AF, DCOUNT),
};

static uint64_t random_flags(void)
{
	return 0x2 | (isa_rand() & ARITH);
}

static void run_group(const struct group *g)
{
	static const char *const size_names[] = { "8", "16", "32", "64" };
	for (int s = 0; s < 4; s++) {
		unsigned bits = 8u << s;
		struct isa_hash h;
		char name[32];
		if (!g->fn[s])
			continue;
		isa_hash_init(&h);
		for (int i = 0; i < ROUNDS; i++) {
			uint64_t a = isa_operand(), b = isa_operand(), fl = random_flags(), in_b;
			uint32_t mask = g->flags;
			unsigned count = 0;
			if (g->shape == COUNT) {
				count = 1 + (unsigned)(b % (bits - 1));
				b = count;
			} else if (g->shape == DCOUNT) {
				count = 1 + (unsigned)((b >> 8) % (bits - 1));
				b = (b & ((1ull << 56) - 1)) | (uint64_t)count << 56;
			}
			if ((g->shape == COUNT || g->shape == DCOUNT) && count != 1)
				mask &= ~OF;
			in_b = b;
			g->fn[s](&a, &b, &fl);
			if (g->shape == SCAN && (in_b & (bits == 64 ? ~0ull : (1ull << bits) - 1)) == 0)
				a = 0; /* destination undefined for a zero source */
			isa_hash_add(&h, a);
			isa_hash_add(&h, b);
			isa_hash_add(&h, fl & mask);
		}
		/* no snprintf here: build "name/bits" by hand */
		size_t n = strlen(g->name);
		memcpy(name, g->name, n);
		name[n] = '/';
		memcpy(name + n + 1, size_names[s], strlen(size_names[s]) + 1);
		isa_hash_print(&h, name);
	}
}

/* MUL, IMUL, DIV and IDIV with one operand, through rDX:rAX. */
static void mul_div_groups(void)
{
	struct isa_hash h;
	isa_hash_init(&h);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t lo = isa_operand(), hi, src = isa_operand(), f = random_flags();
		uint16_t ax = (uint16_t)lo;
		uint8_t s8 = (uint8_t)src;
		__asm__ volatile("push %[f]\n\tpopfq\n\tmulb %[s]\n\tpushfq\n\tpop %[f]"
				 : "+a"(ax), [f] "+r"(f)
				 : [s] "r"(s8)
				 : "cc");
		isa_hash_add(&h, ax);
		isa_hash_add(&h, f & (CF | OF));
		hi = 0;
		f = random_flags();
		__asm__ volatile("push %[f]\n\tpopfq\n\tmulq %[s]\n\tpushfq\n\tpop %[f]"
				 : "+a"(lo), "+d"(hi), [f] "+r"(f)
				 : [s] "r"(src)
				 : "cc");
		isa_hash_add(&h, lo);
		isa_hash_add(&h, hi);
		isa_hash_add(&h, f & (CF | OF));
		f = random_flags();
		uint32_t l32 = (uint32_t)lo, h32 = 0;
		__asm__ volatile("push %[f]\n\tpopfq\n\timull %[s]\n\tpushfq\n\tpop %[f]"
				 : "+a"(l32), "+d"(h32), [f] "+r"(f)
				 : [s] "r"((uint32_t)src)
				 : "cc");
		isa_hash_add(&h, l32);
		isa_hash_add(&h, h32);
		isa_hash_add(&h, f & (CF | OF));
		f = random_flags();
		uint64_t q = isa_operand(), r = 0;
		__asm__ volatile("push %[f]\n\tpopfq\n\timulq %[s]\n\tpushfq\n\tpop %[f]"
				 : "+a"(q), "+d"(r), [f] "+r"(f)
				 : [s] "r"(src)
				 : "cc");
		isa_hash_add(&h, q);
		isa_hash_add(&h, r);
		isa_hash_add(&h, f & (CF | OF));
	}
	isa_hash_print(&h, "mul");

	isa_hash_init(&h);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t d = isa_operand() | 1, lo = isa_operand(), hi = isa_operand() % d;
		__asm__ volatile("divq %[d]" : "+a"(lo), "+d"(hi) : [d] "r"(d) : "cc");
		isa_hash_add(&h, lo);
		isa_hash_add(&h, hi);
		uint32_t d32 = (uint32_t)isa_operand() | 1, l32 = (uint32_t)isa_operand(),
			 h32 = (uint32_t)isa_operand() % d32;
		__asm__ volatile("divl %[d]" : "+a"(l32), "+d"(h32) : [d] "r"(d32) : "cc");
		isa_hash_add(&h, l32);
		isa_hash_add(&h, h32);
		uint16_t ax = (uint16_t)isa_operand();
		uint8_t d8 = (uint8_t)(isa_operand() | 0x80); /* quotient fits: ax / d8 < 512 */
		ax &= 0x7fff;
		if ((ax >> 8) >= d8)
			ax = (uint16_t)(ax % ((uint16_t)d8 << 8));
		__asm__ volatile("divb %[d]" : "+a"(ax) : [d] "r"(d8) : "cc");
		isa_hash_add(&h, ax);
		/* IDIV of a sign-extended dividend never overflows unless
		 * INT64_MIN / -1, which is skipped. */
		int64_t sl = (int64_t)isa_operand(), sh = sl < 0 ? -1 : 0, sd = (int64_t)isa_operand();
		if (sd == 0 || (sd == -1 && sl == INT64_MIN))
			sd = 3;
		__asm__ volatile("idivq %[d]" : "+a"(sl), "+d"(sh) : [d] "r"(sd) : "cc");
		isa_hash_add(&h, (uint64_t)sl);
		isa_hash_add(&h, (uint64_t)sh);
	}
	isa_hash_print(&h, "div");
}

/* Every condition code (SETcc) for every combination of the six flags,
 * and CMOVcc's zero extension at 32 bits. */
static void condition_groups(void)
{
	static const uint32_t bits[6] = { CF, PF, AF, ZF, SF, OF };
	struct isa_hash h;
	isa_hash_init(&h);
	for (unsigned combo = 0; combo < 64; combo++) {
		uint64_t f = 0x2;
		uint8_t r[16];
		for (int i = 0; i < 6; i++)
			if (combo & (1u << i))
				f |= bits[i];
		__asm__ volatile("push %[f]\n\tpopfq\n\t"
				 "seto 0(%[p])\n\tsetno 1(%[p])\n\tsetb 2(%[p])\n\tsetae 3(%[p])\n\t"
				 "sete 4(%[p])\n\tsetne 5(%[p])\n\tsetbe 6(%[p])\n\tseta 7(%[p])\n\t"
				 "sets 8(%[p])\n\tsetns 9(%[p])\n\tsetp 10(%[p])\n\tsetnp 11(%[p])\n\t"
				 "setl 12(%[p])\n\tsetge 13(%[p])\n\tsetle 14(%[p])\n\tsetg 15(%[p])"
				 :
				 : [f] "r"(f), [p] "r"(r)
				 : "cc", "memory");
		uint64_t packed = 0;
		for (int i = 0; i < 16; i++)
			packed |= (uint64_t)(r[i] & 1) << i;
		isa_hash_add(&h, packed);
	}
	isa_hash_print(&h, "setcc");

	isa_hash_init(&h);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t a = isa_operand(), b = isa_operand(), f = random_flags();
		uint64_t x = a, y = a, z = a;
		/* 32-bit CMOV clears bits 63:32 even when the condition is false. */
		__asm__ volatile("push %[f]\n\tpopfq\n\tcmovll %k[b], %k[x]\n\tcmovbeq %[b], %[y]\n\t"
				 "cmovpw %w[b], %w[z]"
				 : [x] "+r"(x), [y] "+r"(y), [z] "+r"(z)
				 : [b] "r"(b), [f] "r"(f)
				 : "cc");
		isa_hash_add(&h, x);
		isa_hash_add(&h, y);
		isa_hash_add(&h, z);
	}
	isa_hash_print(&h, "cmov");
}

/* Partial registers: 32-bit results zero-extend, 16/8-bit ones keep the
 * upper bits, AH..BH address bits 15:8. */
static void partial_register_group(void)
{
	struct isa_hash h;
	isa_hash_init(&h);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t a = isa_operand(), b = isa_operand();
		uint64_t x = a, y = a, z = a, w = a;
		uint64_t ra = a, rb = b;
		__asm__ volatile("addl %k[b], %k[x]\n\taddw %w[b], %w[y]\n\taddb %b[b], %b[z]\n\t"
				 "movsbq %b[b], %[w]"
				 : [x] "+r"(x), [y] "+r"(y), [z] "+r"(z), [w] "+r"(w)
				 : [b] "r"(b)
				 : "cc");
		__asm__ volatile("addb %%bh, %%ah\n\txchgb %%al, %%bh\n\tmovzbl %%ah, %%ecx\n\t"
				 "add %%rcx, %%rbx"
				 : "+a"(ra), "+b"(rb)
				 :
				 : "rcx", "cc");
		isa_hash_add(&h, x);
		isa_hash_add(&h, y);
		isa_hash_add(&h, z);
		isa_hash_add(&h, w);
		isa_hash_add(&h, ra);
		isa_hash_add(&h, rb);
	}
	isa_hash_print(&h, "partial");
}

/* CMPXCHG (all sizes of 32/64) and CMPXCHG8B: equal and unequal. */
static void cmpxchg_group(void)
{
	struct isa_hash h;
	isa_hash_init(&h);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t mem = isa_operand(), src = isa_operand(), rax = (i & 1) ? mem : isa_operand();
		uint64_t f = random_flags();
		__asm__ volatile("push %[f]\n\tpopfq\n\tlock cmpxchgq %[s], %[m]\n\tpushfq\n\tpop %[f]"
				 : [m] "+m"(mem), "+a"(rax), [f] "+r"(f)
				 : [s] "r"(src)
				 : "cc");
		isa_hash_add(&h, mem);
		isa_hash_add(&h, rax);
		isa_hash_add(&h, f & ARITH);
		uint32_t m32 = (uint32_t)isa_operand(), e32 = (i & 2) ? m32 : (uint32_t)isa_operand();
		uint64_t r64 = e32 | 0xdead000000000000ull;
		f = random_flags();
		/* a failed 32-bit CMPXCHG loads EAX and clears RAX's top half */
		__asm__ volatile("push %[f]\n\tpopfq\n\tcmpxchgl %k[s], %[m]\n\tpushfq\n\tpop %[f]"
				 : [m] "+m"(m32), "+a"(r64), [f] "+r"(f)
				 : [s] "r"(src)
				 : "cc");
		isa_hash_add(&h, m32);
		isa_hash_add(&h, r64);
		isa_hash_add(&h, f & ARITH);
		uint64_t m8b = isa_operand(), edx_eax = (i & 4) ? m8b : isa_operand();
		uint32_t lo = (uint32_t)edx_eax, hi = (uint32_t)(edx_eax >> 32);
		f = random_flags();
		__asm__ volatile("push %[f]\n\tpopfq\n\tlock cmpxchg8b %[m]\n\tpushfq\n\tpop %[f]"
				 : [m] "+m"(m8b), "+a"(lo), "+d"(hi), [f] "+r"(f)
				 : "b"((uint32_t)src), "c"((uint32_t)(src >> 32))
				 : "cc");
		isa_hash_add(&h, m8b);
		isa_hash_add(&h, (uint64_t)hi << 32 | lo);
		isa_hash_add(&h, f & ZF);
	}
	isa_hash_print(&h, "cmpxchg");
}

void isa_int_groups(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(groups); i++)
		run_group(&groups[i]);
	mul_div_groups();
	condition_groups();
	partial_register_group();
	cmpxchg_group();
}
