/* Linux bzImage through the 64-bit boot protocol (boot.rst): the
 * protected-mode kernel is copied to 1 MiB and entered at its 64-bit entry
 * (load address + 0x200) in long mode with boot_params in %rsi. The
 * real-mode setup code is never run, so the zero page is built here. */
#include "machine/boot/loaders.h"

#include <string.h>

#include "machine/boot/zeropage.h"
#include "hw/pc_layout.h"

#define VS_BZ_SECTOR 512u
#define VS_BZ_DEFAULT_SETUP_SECTS 4u /* setup_sects == 0 means 4 */
#define VS_BZ_ENTRY64_OFFSET 0x200u
#define VS_BZ_PROTO_MIN 0x0206u			/* cmdline_size */
#define VS_BZ_PROTO_XLOADFLAGS 0x020cu		/* 2.12: xloadflags, XLF_KERNEL_64 */
#define VS_BZ_HDR_MIN_END (VS_BP_INIT_SIZE + 4) /* every field read below */

#define VERSION_ARGS(v) (unsigned)((v) >> 8), (unsigned)((v)&0xff)

/* Check the header fields that decide whether this image can boot here.
 * Returns the size of the setup area (the kernel follows it). */
static int check_header(const uint8_t *img, size_t len, const char *cmdline, uint64_t *setup_size,
			struct vs_error *err)
{
	uint16_t version, xloadflags;
	unsigned setup_sects;
	uint64_t hdr_end;
	uint32_t cmdline_size;
	size_t cmdlen;

	if (len < VS_BP_VERSION + 2)
		return vs_error_msg(err, "bzImage: file too short for a setup header (%zu bytes)", len);
	version = vs_le16(img + VS_BP_VERSION);
	if (version < VS_BZ_PROTO_MIN)
		return vs_error_msg(err,
				    "bzImage: boot protocol %u.%02u is too old (2.06 or later is required)",
				    VERSION_ARGS(version));
	if (version < VS_BZ_PROTO_XLOADFLAGS)
		return vs_error_msg(err,
				    "bzImage: kernel lacks a 64-bit entry point (boot protocol %u.%02u, 2.12 "
				    "or later is required)",
				    VERSION_ARGS(version));
	setup_sects = img[VS_BP_SETUP_SECTS] ? img[VS_BP_SETUP_SECTS] : VS_BZ_DEFAULT_SETUP_SECTS;
	*setup_size = (uint64_t)(setup_sects + 1) * VS_BZ_SECTOR;
	if (*setup_size > len)
		return vs_error_msg(err,
				    "bzImage: setup sectors (%u) extend past the end of the file (%zu bytes)",
				    setup_sects, len);
	if (*setup_size == len)
		return vs_error_msg(
		    err, "bzImage: no protected-mode kernel after the %u setup sectors (file truncated?)",
		    setup_sects);
	/* The header lies inside the setup area, which is inside the file. */
	hdr_end = VS_BP_HEADER + (uint64_t)img[VS_BP_JUMP + 1];
	if (hdr_end < VS_BZ_HDR_MIN_END)
		return vs_error_msg(
		    err, "bzImage: setup header ends at 0x%llx, too short for boot protocol %u.%02u",
		    (unsigned long long)hdr_end, VERSION_ARGS(version));
	xloadflags = vs_le16(img + VS_BP_XLOADFLAGS);
	if (!(xloadflags & VS_BP_XLF_KERNEL_64))
		return vs_error_msg(err,
				    "bzImage: kernel lacks a 64-bit entry point (XLF_KERNEL_64 not set)");
	if (!(img[VS_BP_LOADFLAGS] & VS_BP_LOADED_HIGH))
		return vs_error_msg(err, "bzImage: kernel does not load high (a zImage?): not supported");
	cmdline_size = vs_le32(img + VS_BP_CMDLINE_SIZE);
	cmdlen = strlen(cmdline);
	if (cmdlen > cmdline_size)
		return vs_error_msg(err,
				    "command line is too long for this kernel (%zu bytes; it accepts %u)",
				    cmdlen, cmdline_size);
	return vs_boot_check_cmdline(cmdline, err);
}

/* End of the memory the kernel claims from its load address on: it
 * decompresses in place at max(load aligned to kernel_alignment,
 * pref_address) and uses init_size bytes from there. */
static int kernel_extent(const struct vs_guest_mem *mem, const uint8_t *img, uint64_t load,
			 uint64_t payload_len, uint64_t *end, struct vs_error *err)
{
	uint32_t init_size = vs_le32(img + VS_BP_INIT_SIZE);
	uint32_t align = vs_le32(img + VS_BP_KERNEL_ALIGNMENT);
	uint64_t pref = vs_le64(img + VS_BP_PREF_ADDRESS);
	uint64_t base = load, low_end = vs_guest_mem_low_end(mem);

	if (img[VS_BP_RELOCATABLE] && align && !(align & (align - 1)))
		base = (load + align - 1) & ~((uint64_t)align - 1);
	if (pref > base)
		base = pref;
	if (payload_len > low_end - load)
		return vs_error_msg(err,
				    "bzImage: kernel (%llu KiB) does not fit in RAM below 4 GiB (%llu MiB); "
				    "try a larger --mem",
				    (unsigned long long)(payload_len / 1024),
				    (unsigned long long)(low_end / VS_MiB));
	if (base >= VS_PCI_HOLE_START)
		return vs_error_msg(err, "bzImage: preferred load address 0x%llx is beyond RAM below 4 GiB",
				    (unsigned long long)base);
	/* base < 3 GiB and init_size < 4 GiB: the sum cannot overflow. */
	if (base + init_size > low_end)
		return vs_error_msg(
		    err,
		    "bzImage: the kernel needs RAM up to 0x%llx (%u KiB to decompress at 0x%llx) but "
		    "RAM below 4 GiB ends at 0x%llx; try a larger --mem",
		    (unsigned long long)(base + init_size), init_size / 1024, (unsigned long long)base,
		    (unsigned long long)low_end);
	*end = base + init_size;
	if (*end < load + payload_len)
		*end = load + payload_len;
	return 0;
}

int vs_boot_load_bzimage(struct vs_guest_mem *mem, const struct vs_boot_params *p, struct vs_boot_info *out,
			 struct vs_error *err)
{
	const uint8_t *img = p->kernel;
	size_t len = p->kernel_len;
	uint64_t setup_size = 0, payload_len, initrd_addr, limit;
	struct vs_boot_range kernel;
	uint64_t load = VS_KERNEL_ADDR;
	uint16_t kver;
	uint8_t *dst, *zp;

	if (check_header(img, len, p->cmdline, &setup_size, err) < 0)
		return -1;
	payload_len = len - setup_size;
	kernel.lo = load;
	if (kernel_extent(mem, img, load, payload_len, &kernel.hi, err) < 0)
		return -1;
	dst = vs_gpa_ptr(mem, load, payload_len);
	if (!dst)
		return vs_error_msg(err, "bzImage: kernel (%llu bytes) does not fit in guest RAM at 0x%llx",
				    (unsigned long long)payload_len, (unsigned long long)load);
	memcpy(dst, img + setup_size, payload_len);

	/* initrd_addr_max is the highest address the initrd may occupy. */
	limit = (uint64_t)vs_le32(img + VS_BP_INITRD_ADDR_MAX) + 1;
	if (vs_boot_place_initrd(mem, p, limit, &kernel, 1, &initrd_addr, err) < 0)
		return -1;
	if (vs_boot_write_cmdline(mem, p->cmdline, err) < 0)
		return -1;

	zp = vs_gpa_ptr(mem, VS_ZERO_PAGE_ADDR, VS_BP_SIZE);
	if (!zp)
		return vs_error_msg(err, "guest RAM too small for the zero page");
	memset(zp, 0, VS_BP_SIZE);
	vs_zero_page_copy_header(zp, img);
	vs_zero_page_finish(zp, mem, p, initrd_addr);

	if (vs_boot_setup_long_mode(mem, load + VS_BZ_ENTRY64_OFFSET, &out->bsp, err) < 0)
		return -1;
	out->kernel_start = load;
	out->kernel_end = load + payload_len;
	out->initrd_addr = initrd_addr;

	/* kernel_version points into the setup area, 0x200 bytes before its
	 * value; 0 means absent. */
	kver = vs_le16(img + VS_BP_KERNEL_VERSION);
	if (kver && VS_BZ_ENTRY64_OFFSET + (uint64_t)kver < setup_size) {
		uint64_t off = VS_BZ_ENTRY64_OFFSET + (uint64_t)kver;
		out->is_linux = vs_boot_set_version(out, img + off, setup_size - off);
	}
	return 0;
}
