#include "hw/guest_mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int vs_guest_mem_create(struct vs_guest_mem *mem, uint64_t size, struct vs_error *err)
{
	uint64_t low;
	memset(mem, 0, sizeof(*mem));
	if (size < VS_MEM_MIN)
		return vs_error_msg(err, "guest memory of %llu bytes is too small (minimum 16M)",
				    (unsigned long long)size);
	if (size & 0xfff)
		return vs_error_msg(err, "guest memory size must be a multiple of 4 KiB");
	mem->base =
	    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem->base == MAP_FAILED) {
		mem->base = NULL;
		return vs_error_set(err, errno, "mapping %llu MiB of guest memory",
				    (unsigned long long)(size / VS_MiB));
	}
	/* Guest RAM is large and touched sparsely: huge pages cut TLB misses
	 * on hosts that allow them; failure is harmless. */
	madvise(mem->base, size, MADV_HUGEPAGE);
	mem->total = size;
	low = size < VS_PCI_HOLE_START ? size : VS_PCI_HOLE_START;
	mem->regions[0] = (struct vs_mem_region){ 0, low, mem->base };
	mem->nregions = 1;
	if (size > low) {
		mem->regions[1] = (struct vs_mem_region){ VS_HIGH_RAM_START, size - low, mem->base + low };
		mem->nregions = 2;
	}
	return 0;
}

void vs_guest_mem_release(struct vs_guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->total);
	memset(mem, 0, sizeof(*mem));
}

void *vs_gpa_ptr(const struct vs_guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < mem->nregions; i++) {
		const struct vs_mem_region *r = &mem->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int vs_gpa_write(const struct vs_guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = vs_gpa_ptr(mem, gpa, len);
	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

int vs_gpa_read(const struct vs_guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = vs_gpa_ptr(mem, gpa, len);
	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

uint64_t vs_guest_mem_low_end(const struct vs_guest_mem *mem)
{
	return mem->regions[0].size;
}

int vs_guest_mem_e820(const struct vs_guest_mem *mem, struct vs_e820_entry *out, int max)
{
	struct vs_e820_entry all[VS_E820_MAX];
	int n = 0;
	all[n++] = (struct vs_e820_entry){ 0, VS_LOWMEM_END, VS_E820_RAM };
	all[n++] = (struct vs_e820_entry){ VS_LOWMEM_END, 0xa0000 - VS_LOWMEM_END, VS_E820_RESERVED };
	all[n++] =
	    (struct vs_e820_entry){ VS_BIOS_START, VS_HIGHMEM_START - VS_BIOS_START, VS_E820_RESERVED };
	all[n++] =
	    (struct vs_e820_entry){ VS_HIGHMEM_START, mem->regions[0].size - VS_HIGHMEM_START, VS_E820_RAM };
	if (mem->nregions > 1)
		all[n++] = (struct vs_e820_entry){ mem->regions[1].gpa, mem->regions[1].size, VS_E820_RAM };
	if (n > max)
		n = max;
	memcpy(out, all, (size_t)n * sizeof(all[0]));
	return n;
}
