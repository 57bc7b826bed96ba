/* Filling the Linux zero page (boot_params, zero-page.rst): the setup
 * header, from a bzImage or synthesised for a vmlinux, then the fields the
 * loader owns (command line, initrd, e820, RSDP). */
#include "machine/boot/zeropage.h"

#include <string.h>

#include "hw/pc_layout.h"

_Static_assert(VS_ZERO_PAGE_ADDR + VS_BP_SIZE <= VS_BOOT_STACK_TOP, "zero page overlaps the stack");

#define VS_BP_PROTO_RSDP 0x020eu /* 2.14: acpi_rsdp_addr */

/* Protocol version advertised in a synthesised zero page: 2.15, recent
 * enough that Linux reads every field filled here (acpi_rsdp_addr: 2.14). */
#define VS_BP_SYNTH_VERSION 0x020f
#define VS_BP_SYNTH_ALIGN 0x200000u

void vs_zero_page_copy_header(uint8_t *zp, const uint8_t *img)
{
	/* As far as the image declares it, but stop where the next
	 * boot_params field begins: bytes past that are not header. */
	uint64_t hdr_end = VS_BP_HEADER + (uint64_t)img[VS_BP_JUMP + 1];

	if (hdr_end > VS_BP_HDR_LIMIT)
		hdr_end = VS_BP_HDR_LIMIT;
	memcpy(zp + VS_BP_SETUP_SECTS, img + VS_BP_SETUP_SECTS, hdr_end - VS_BP_SETUP_SECTS);
}

void vs_zero_page_synth_header(uint8_t *zp, const struct vs_guest_mem *mem)
{
	vs_put_le16(zp + VS_BP_BOOT_FLAG, VS_BP_BOOT_FLAG_MAGIC);
	zp[VS_BP_JUMP] = 0xeb;
	zp[VS_BP_JUMP + 1] = (uint8_t)(VS_BP_INIT_SIZE + 4 - VS_BP_HEADER);
	vs_put_le32(zp + VS_BP_HEADER, VS_BP_HDRS_MAGIC);
	vs_put_le16(zp + VS_BP_VERSION, VS_BP_SYNTH_VERSION);
	zp[VS_BP_LOADFLAGS] = VS_BP_LOADED_HIGH;
	vs_put_le32(zp + VS_BP_INITRD_ADDR_MAX, (uint32_t)(vs_guest_mem_low_end(mem) - 1));
	vs_put_le32(zp + VS_BP_KERNEL_ALIGNMENT, VS_BP_SYNTH_ALIGN);
	vs_put_le16(zp + VS_BP_XLOADFLAGS, VS_BP_XLF_KERNEL_64);
	vs_put_le32(zp + VS_BP_CMDLINE_SIZE, (uint32_t)(VS_CMDLINE_MAX - 1));
}

void vs_zero_page_finish(uint8_t *zp, const struct vs_guest_mem *mem, const struct vs_boot_params *p,
			 uint64_t initrd_addr)
{
	struct vs_e820_entry e820[VS_E820_MAX];
	int n = vs_guest_mem_e820(mem, e820, VS_E820_MAX);
	uint64_t initrd_size = initrd_addr ? p->initrd_len : 0;
	uint16_t version = vs_le16(zp + VS_BP_VERSION);

	zp[VS_BP_TYPE_OF_LOADER] = VS_BP_LOADER_UNDEFINED;
	zp[VS_BP_LOADFLAGS] |= VS_BP_CAN_USE_HEAP;
	vs_put_le16(zp + VS_BP_HEAP_END_PTR, VS_BP_HEAP_END);
	vs_put_le32(zp + VS_BP_CMD_LINE_PTR, (uint32_t)VS_CMDLINE_ADDR);
	vs_put_le32(zp + VS_BP_EXT_CMD_LINE_PTR, (uint32_t)(VS_CMDLINE_ADDR >> 32));
	vs_put_le32(zp + VS_BP_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	vs_put_le32(zp + VS_BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
	vs_put_le32(zp + VS_BP_RAMDISK_SIZE, (uint32_t)initrd_size);
	vs_put_le32(zp + VS_BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	/* No setup_data chain is passed: never forward one from the image. */
	vs_put_le64(zp + VS_BP_SETUP_DATA, 0);

	if (n > VS_BP_E820_MAX)
		n = VS_BP_E820_MAX;
	zp[VS_BP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + VS_BP_E820_TABLE + (size_t)i * VS_BP_E820_ENTRY_SIZE;
		vs_put_le64(e, e820[i].addr);
		vs_put_le64(e + 8, e820[i].size);
		vs_put_le32(e + 16, e820[i].type);
	}
	/* Older kernels find the RSDP by scanning the BIOS area, where the
	 * firmware tables are anyway. */
	if (p->rsdp_addr && version >= VS_BP_PROTO_RSDP)
		vs_put_le64(zp + VS_BP_ACPI_RSDP_ADDR, p->rsdp_addr);
}
