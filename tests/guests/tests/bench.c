/* test=bench=KIND:N — CPU-bound loops for bench/emu-mips. Each runs N
 * iterations of a hand-written body whose instruction count is fixed, so
 * the host can turn the run's time into guest instructions per second:
 *   int    ten ALU instructions, then the loop's sub/jnz (12 per iteration)
 *   mem    copy 64 KiB with 8-byte loads and stores (6 per 8 bytes, 49,157 per iteration)
 *   call   a call to a two-instruction function (5 per iteration)
 *   pages  one read-modify-write per 4 KiB page over 32 MiB (4 per page, 32,773 per iteration)
 * It prints "bench KIND: N iterations, I instructions, checksum C" and
 * exits with debug-exit 0. The checksum makes the work observable, so
 * neither compiler nor emulator can skip it. */
#include "bootinfo.h"
#include "libc.h"
#include "system.h"
#include "tests.h"

#define MEM_BYTES 65536ull
#define MEM_SRC 0x4000000ull /* 64 MiB: above the guest image, below 256 MiB */
#define MEM_DST (MEM_SRC + MEM_BYTES)
#define PAGES_BASE 0x5000000ull /* 80 MiB .. 112 MiB */
#define PAGES_COUNT 8192ull

static uint64_t parse_u64(const char *s)
{
	uint64_t v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

static uint64_t bench_int(uint64_t n, uint64_t *insns)
{
	uint64_t a = 1, b = 2;
	*insns = n * 12;
	if (!n)
		return 0;
	__asm__ volatile("1:\n\t"
			 "add %%rbx, %%rax\n\t"
			 "xor %%rax, %%rbx\n\t"
			 "lea 3(%%rax,%%rbx,2), %%rax\n\t"
			 "shl $1, %%rbx\n\t"
			 "or $5, %%rbx\n\t"
			 "sub %%rbx, %%rax\n\t"
			 "ror $7, %%rax\n\t"
			 "and $0xffffff, %%rbx\n\t"
			 "inc %%rax\n\t"
			 "not %%rbx\n\t"
			 "sub $1, %%rcx\n\t"
			 "jnz 1b\n\t"
			 : "+a"(a), "+b"(b), "+c"(n)
			 :
			 : "cc");
	return a ^ b;
}

static uint64_t bench_mem(uint64_t n, uint64_t *insns)
{
	uint64_t sum = 0;
	uint64_t *src = (uint64_t *)MEM_SRC;
	for (uint64_t i = 0; i < MEM_BYTES / 8; i++)
		src[i] = i * 0x9e3779b97f4a7c15ull;
	/* Per iteration: 3 set-up, 6 per 8 bytes, sub/jnz of the outer loop. */
	*insns = n * (3 + 6 * (MEM_BYTES / 8) + 2);
	if (!n)
		return 0;
	__asm__ volatile("2:\n\t"
			 "mov %[src], %%rsi\n\t"
			 "mov %[dst], %%rdi\n\t"
			 "mov %[words], %%rcx\n\t"
			 "1:\n\t"
			 "mov (%%rsi), %%rax\n\t"
			 "mov %%rax, (%%rdi)\n\t"
			 "add $8, %%rsi\n\t"
			 "add $8, %%rdi\n\t"
			 "sub $1, %%rcx\n\t"
			 "jnz 1b\n\t"
			 "sub $1, %[n]\n\t"
			 "jnz 2b\n\t"
			 : [n] "+r"(n)
			 : [src] "i"(MEM_SRC), [dst] "i"(MEM_DST), [words] "i"(MEM_BYTES / 8)
			 : "rax", "rcx", "rsi", "rdi", "cc", "memory");
	for (uint64_t i = 0; i < MEM_BYTES / 8; i++)
		sum += ((uint64_t *)MEM_DST)[i];
	return sum;
}

static uint64_t bench_call(uint64_t n, uint64_t *insns)
{
	uint64_t count = 0;
	*insns = n * 5;
	if (!n)
		return 0;
	__asm__ volatile("jmp 2f\n\t"
			 "3:\n\t"
			 "add $1, %%rax\n\t"
			 "ret\n\t"
			 "2:\n\t"
			 "call 3b\n\t"
			 "sub $1, %%rcx\n\t"
			 "jnz 2b\n\t"
			 : "+a"(count), "+c"(n)
			 :
			 : "cc", "memory");
	return count;
}

static uint64_t bench_pages(uint64_t n, uint64_t *insns)
{
	uint64_t sum = 0;
	/* Per iteration: 2 set-up, 4 per page, sub/jnz of the outer loop. */
	*insns = n * (2 + 4 * PAGES_COUNT + 2);
	memset((void *)PAGES_BASE, 0, 0); /* the region is ordinary RAM: nothing to prepare */
	if (!n)
		return 0;
	__asm__ volatile("2:\n\t"
			 "mov %[base], %%rdi\n\t"
			 "mov %[pages], %%rcx\n\t"
			 "1:\n\t"
			 "addb $1, (%%rdi)\n\t"
			 "add $4096, %%rdi\n\t"
			 "sub $1, %%rcx\n\t"
			 "jnz 1b\n\t"
			 "sub $1, %[n]\n\t"
			 "jnz 2b\n\t"
			 : [n] "+r"(n)
			 : [base] "i"(PAGES_BASE), [pages] "i"(PAGES_COUNT)
			 : "rcx", "rdi", "cc", "memory");
	for (uint64_t p = 0; p < PAGES_COUNT; p++)
		sum += *(volatile uint8_t *)(PAGES_BASE + p * 4096);
	return sum;
}

static const struct {
	const char *name;
	uint64_t (*run)(uint64_t n, uint64_t *insns);
} kinds[] = {
	{ "int", bench_int },
	{ "mem", bench_mem },
	{ "call", bench_call },
	{ "pages", bench_pages },
};

void test_bench(const char *arg)
{
	size_t len = 0;
	while (arg[len] && arg[len] != ':')
		len++;
	if (bootinfo_ram_bytes() < PAGES_BASE + PAGES_COUNT * 4096)
		fail("bench needs at least 128 MiB of RAM");
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		uint64_t insns, check, n;
		if (strlen(kinds[i].name) != len || strncmp(kinds[i].name, arg, len) != 0)
			continue;
		n = arg[len] == ':' ? parse_u64(arg + len + 1) : 0;
		check = kinds[i].run(n, &insns);
		printf("bench %s: %lu iterations, %lu instructions, checksum %lx\n", kinds[i].name, n, insns,
		       check);
		debug_exit(0);
	}
	fail("unknown bench kind: use int, mem, call or pages, e.g. test=bench=int:1000000");
}
