/* test=isa driver: the hash, the operand source and the groups in order
 * (see isa.h). Ends with "isa: done" and debug-exit 0. */
#include "isa.h"

#include "idt.h"
#include "libc.h"
#include "system.h"
#include "tests.h"

int isa_verbose, isa_tcg;

/* Where QEMU's TCG departs from the SDM (and from KVM on hardware), found
 * by this test: it ignores writes and reads of unknown MSRs and reserved CR4/CR8
 * bits, raises #GP for a non-canonical stack reference, leaves P out of a
 * reserved-bit page fault's error code and gives an IDT gate's index
 * times 16 (its offset) in the error code of a #GP in 64-bit mode. Skipped
 * with test=isa=tcg so that the rest can be compared with it. */
static const char *const tcg_departures[] = {
	/* unknown MSRs: ignored, no #GP */
	"gp-wrmsr-unknown",
	"gp-rdmsr-unknown",
	/* reserved CR4 and CR8 bits: accepted, no #GP */
	"gp-cr4-reserved",
	"gp-cr8-reserved",
	/* #GP, not #SS */
	"ss-noncanonical-rbp",
	/* the error code lacks the P bit */
	"pf-read-reserved-bit",
	/* the error code has the gate's offset (vector * 16), not its index */
	"user-int-dpl0-gate",
	"user-int3-dpl0-gate",
};

bool isa_skip(const char *name)
{
	if (!isa_tcg)
		return false;
	for (unsigned i = 0; i < ARRAY_SIZE(tcg_departures); i++)
		if (strcmp(name, tcg_departures[i]) == 0) {
			printf("isa: %s skipped\n", name);
			return true;
		}
	return false;
}
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

void isa_hash_init(struct isa_hash *h)
{
	h->h = 0xcbf29ce484222325ull;
	h->n = 0;
}

void isa_hash_add(struct isa_hash *h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h->h ^= (v >> (8 * i)) & 0xff;
		h->h *= 0x100000001b3ull;
	}
	h->n++;
	if (isa_verbose)
		printf("  %u: %lx\n", h->n, v);
}

void isa_hash_print(const struct isa_hash *h, const char *group)
{
	printf("isa: %s %016lx (%u values)\n", group, h->h, h->n);
}

uint64_t isa_rand(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

uint64_t isa_operand(void)
{
	static const uint64_t edges[] = {
		0,
		1,
		2,
		0x7f,
		0x80,
		0xff,
		0x7fff,
		0x8000,
		0xffff,
		0x7fffffff,
		0x80000000,
		0xffffffff,
		0x7fffffffffffffffull,
		0x8000000000000000ull,
		0xffffffffffffffffull,
		0x100,
	};
	uint64_t r = isa_rand();
	switch (r & 7) {
	case 0:
		return edges[(r >> 8) % ARRAY_SIZE(edges)];
	case 1:
		return edges[(r >> 8) % ARRAY_SIZE(edges)] + ((r >> 16) & 3) - 1;
	case 2:
		return (r >> 8) & 0xff; /* small values: shift counts, bytes */
	default:
		return isa_rand();
	}
}

void test_isa(const char *arg)
{
	isa_verbose = strcmp(arg, "verbose") == 0;
	isa_tcg = strcmp(arg, "tcg") == 0;
	idt_init();
	isa_int_groups();
	isa_string_groups();
	isa_fault_groups();
	isa_paging_groups();
	isa_segment_groups();
	isa_user_groups();
	isa_compat_groups();
	isa_debug_groups();
	printf("isa: done\n");
	debug_exit(0);
}
