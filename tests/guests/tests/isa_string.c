/* test=isa, string groups: MOVS/STOS/LODS/CMPS/SCAS, with and without
 * REP/REPE/REPNE, forwards and backwards (DF), overlapping copies. The
 * final rCX/rSI/rDI, the flags and the buffer contents are hashed. */
#include "isa.h"

#include "libc.h"

#define BUF 512
/* Operands start in [BUF, 3*BUF) and move at most BUF bytes either way. */
static uint8_t buf[4 * BUF] __attribute__((aligned(64)));

static void fill(void)
{
	for (int i = 0; i < 4 * BUF; i += 8) {
		uint64_t v = isa_rand();
		memcpy(buf + i, &v, 8);
	}
}

static void hash_buf(struct isa_hash *h)
{
	for (int i = 0; i < 4 * BUF; i += 8) {
		uint64_t v;
		memcpy(&v, buf + i, 8);
		isa_hash_add(h, v);
	}
}

/* One string instruction (its text in `insn`) from src to dst with rCX =
 * count, forwards or backwards; hashes the pointer offsets, rCX, flags. */
#define STRING_OP(insn)                                                                          \
	do {                                                                                     \
		uint64_t si = (uint64_t)(buf + src), di = (uint64_t)(buf + dst), cx = count;     \
		uint64_t ax = isa_operand(), fl;                                                 \
		if (backwards)                                                                   \
			__asm__ volatile("std\n\t" insn "\n\tpushfq\n\tpop %[fl]\n\tcld"         \
					 : "+S"(si), "+D"(di), "+c"(cx), "+a"(ax), [fl] "=r"(fl) \
					 :                                                       \
					 : "memory", "cc");                                      \
		else                                                                             \
			__asm__ volatile("cld\n\t" insn "\n\tpushfq\n\tpop %[fl]"                \
					 : "+S"(si), "+D"(di), "+c"(cx), "+a"(ax), [fl] "=r"(fl) \
					 :                                                       \
					 : "memory", "cc");                                      \
		isa_hash_add(&h, si - (uint64_t)buf);                                            \
		isa_hash_add(&h, di - (uint64_t)buf);                                            \
		isa_hash_add(&h, cx);                                                            \
		isa_hash_add(&h, ax);                                                            \
		isa_hash_add(&h, fl & 0x8d5);                                                    \
	} while (0)

static void pick(uint64_t *src, uint64_t *dst, uint64_t *count, int *backwards, unsigned width)
{
	*count = isa_rand() % (BUF / width + 1);
	*backwards = (int)(isa_rand() & 1);
	/* overlapping ranges on purpose */
	*src = (BUF + isa_rand() % BUF) & ~(uint64_t)(width - 1);
	*dst = (BUF + isa_rand() % BUF) & ~(uint64_t)(width - 1);
}

void isa_string_groups(void)
{
	struct isa_hash h;
	uint64_t src, dst, count;
	int backwards;

	isa_hash_init(&h);
	for (int i = 0; i < 40; i++) {
		fill();
		pick(&src, &dst, &count, &backwards, 1);
		STRING_OP("rep movsb");
		pick(&src, &dst, &count, &backwards, 8);
		STRING_OP("rep movsq");
		pick(&src, &dst, &count, &backwards, 2);
		STRING_OP("rep stosw");
		pick(&src, &dst, &count, &backwards, 4);
		STRING_OP("movsl");
		pick(&src, &dst, &count, &backwards, 4);
		STRING_OP("lodsl");
		hash_buf(&h);
	}
	isa_hash_print(&h, "movs-stos");

	isa_hash_init(&h);
	for (int i = 0; i < 40; i++) {
		fill();
		/* mostly equal buffers with one difference, so REPE runs long */
		memcpy(buf + 2 * BUF, buf + BUF, BUF);
		buf[2 * BUF + isa_rand() % BUF] ^= (uint8_t)(1 + isa_rand() % 255);
		pick(&src, &dst, &count, &backwards, 1);
		dst = src + BUF;
		STRING_OP("repe cmpsb");
		pick(&src, &dst, &count, &backwards, 2);
		STRING_OP("repne cmpsw");
		pick(&src, &dst, &count, &backwards, 1);
		STRING_OP("repne scasb");
		pick(&src, &dst, &count, &backwards, 8);
		STRING_OP("repe scasq");
	}
	isa_hash_print(&h, "cmps-scas");
}
