/* Identity page tables for the 64-bit entry points: Linux expects the
 * kernel, zero page and command line to be identity-mapped, and mapping
 * all of the first 4 GiB (MMIO hole included) with 2 MiB pages costs only
 * six pages. */
#include "machine/boot/boot_internal.h"

#include <string.h>

#include "hw/pc_layout.h"

#define VS_PTE_PRESENT (1ull << 0)
#define VS_PTE_WRITE (1ull << 1)
#define VS_PTE_LARGE (1ull << 7) /* PS: a PD entry maps a 2 MiB page */
#define VS_PTE_PER_TABLE 512u
#define VS_LARGE_PAGE (2ull << 20)

_Static_assert(VS_PDPT_ADDR == VS_PML4_ADDR + VS_PAGE_SIZE && VS_PD_ADDR == VS_PDPT_ADDR + VS_PAGE_SIZE,
	       "page tables expected to be contiguous");
_Static_assert(VS_BOOT_PD_COUNT *VS_PTE_PER_TABLE *VS_LARGE_PAGE == VS_BOOT_IDENT_END,
	       "four page directories map 4 GiB");

int vs_boot_build_pagetables(const struct vs_guest_mem *mem, uint64_t *cr3, struct vs_error *err)
{
	uint8_t *pml4 = vs_gpa_ptr(mem, VS_PML4_ADDR, VS_PAGE_SIZE);
	uint8_t *pdpt = vs_gpa_ptr(mem, VS_PDPT_ADDR, VS_PAGE_SIZE);
	uint8_t *pd = vs_gpa_ptr(mem, VS_PD_ADDR, VS_BOOT_PD_COUNT * VS_PAGE_SIZE);

	if (!pml4 || !pdpt || !pd)
		return vs_error_msg(err, "guest RAM too small for the boot page tables");
	memset(pml4, 0, VS_PAGE_SIZE);
	memset(pdpt, 0, VS_PAGE_SIZE);
	vs_put_le64(pml4, VS_PDPT_ADDR | VS_PTE_PRESENT | VS_PTE_WRITE);
	for (unsigned i = 0; i < VS_BOOT_PD_COUNT; i++)
		vs_put_le64(pdpt + 8 * i, (VS_PD_ADDR + i * VS_PAGE_SIZE) | VS_PTE_PRESENT | VS_PTE_WRITE);
	for (unsigned i = 0; i < VS_BOOT_PD_COUNT * VS_PTE_PER_TABLE; i++)
		vs_put_le64(pd + 8 * i, (i * VS_LARGE_PAGE) | VS_PTE_PRESENT | VS_PTE_WRITE | VS_PTE_LARGE);
	*cr3 = VS_PML4_ADDR;
	return 0;
}
