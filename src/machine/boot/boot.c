/* Kernel image dispatch: probe the image's format and hand it to the
 * loader of its boot protocol (loaders.h). */
#include "machine/boot/loaders.h"

#include <string.h>

#include "machine/boot/zeropage.h" /* the bzImage header's magic */

const char *vs_boot_kind_name(enum vs_boot_kind kind)
{
	switch (kind) {
	case VS_BOOT_PVH:
		return "pvh";
	case VS_BOOT_BZIMAGE:
		return "bzimage";
	case VS_BOOT_ELF64:
		return "elf64";
	}
	return "unknown";
}

static bool is_elf(const uint8_t *img, size_t len)
{
	return len >= 4 && img[0] == 0x7f && img[1] == 'E' && img[2] == 'L' && img[3] == 'F';
}

static bool is_bzimage(const uint8_t *img, size_t len)
{
	return len >= VS_BP_HEADER + 4 && vs_le32(img + VS_BP_HEADER) == VS_BP_HDRS_MAGIC;
}

/* Probe, keeping what was parsed so the loader does not redo it. */
static int probe(const uint8_t *img, size_t len, enum vs_boot_kind *kind, struct vs_elf *elf,
		 uint32_t *pvh_entry, struct vs_error *err)
{
	int found;

	if (!img || len == 0)
		return vs_error_msg(err, "kernel image is empty");
	if (is_elf(img, len)) {
		if (vs_elf_parse(img, len, elf, err) < 0)
			return -1;
		found = vs_pvh_find_entry(elf, pvh_entry, err);
		if (found < 0)
			return -1;
		if (found) {
			*kind = VS_BOOT_PVH;
			return 0;
		}
		if (!elf->is64)
			return vs_error_msg(err, "32-bit ELF without a PVH entry note: cannot boot");
		*kind = VS_BOOT_ELF64;
		return 0;
	}
	if (is_bzimage(img, len)) {
		*kind = VS_BOOT_BZIMAGE;
		return 0;
	}
	return vs_error_msg(
	    err, "unrecognised kernel image (%zu bytes): neither an ELF file nor a Linux bzImage", len);
}

int vs_boot_probe(const uint8_t *img, size_t len, enum vs_boot_kind *kind, struct vs_error *err)
{
	struct vs_elf elf;
	uint32_t entry;

	return probe(img, len, kind, &elf, &entry, err);
}

int vs_boot_load(struct vs_guest_mem *mem, const struct vs_boot_params *p, struct vs_boot_info *out,
		 struct vs_error *err)
{
	struct vs_boot_params prm = *p;
	struct vs_elf elf;
	uint32_t pvh_entry = 0;
	enum vs_boot_kind kind;

	memset(out, 0, sizeof(*out));
	/* Normalise "no initrd" and "no command line" once for all loaders. */
	if (!prm.cmdline)
		prm.cmdline = "";
	if (!prm.initrd || prm.initrd_len == 0) {
		prm.initrd = NULL;
		prm.initrd_len = 0;
	}
	if (probe(prm.kernel, prm.kernel_len, &kind, &elf, &pvh_entry, err) < 0)
		return -1;
	out->kind = kind;
	switch (kind) {
	case VS_BOOT_PVH:
		return vs_boot_load_pvh(mem, &prm, &elf, pvh_entry, out, err);
	case VS_BOOT_BZIMAGE:
		return vs_boot_load_bzimage(mem, &prm, out, err);
	case VS_BOOT_ELF64:
		return vs_boot_load_elf64(mem, &prm, &elf, out, err);
	}
	return vs_error_msg(err, "internal error: unknown boot kind %d", (int)kind);
}
