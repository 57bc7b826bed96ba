/* The Linux zero page (struct boot_params): its layout and the helpers
 * that fill it, for the bzImage loader (which copies the image's setup
 * header) and the vmlinux loader (which has none and synthesises it). */
#ifndef VESSEL_MACHINE_BOOT_ZEROPAGE_H
#define VESSEL_MACHINE_BOOT_ZEROPAGE_H

#include "machine/boot/boot_internal.h"

/* Linux boot_params ("zero page") offsets, from the x86 boot protocol
 * (boot.rst) and zero-page.rst. */
#define VS_BP_SIZE 0x1000u
#define VS_BP_ACPI_RSDP_ADDR 0x070u    /* u64, protocol 2.14+ */
#define VS_BP_EXT_RAMDISK_IMAGE 0x0c0u /* u32: bits 63:32 of ramdisk_image */
#define VS_BP_EXT_RAMDISK_SIZE 0x0c4u
#define VS_BP_EXT_CMD_LINE_PTR 0x0c8u
#define VS_BP_E820_ENTRIES 0x1e8u     /* u8 */
#define VS_BP_SETUP_SECTS 0x1f1u      /* u8: first byte of the setup header */
#define VS_BP_BOOT_FLAG 0x1feu	      /* u16: 0xaa55 */
#define VS_BP_JUMP 0x200u	      /* u16: short jump; its 2nd byte sizes the header */
#define VS_BP_HEADER 0x202u	      /* u32: "HdrS" */
#define VS_BP_VERSION 0x206u	      /* u16 */
#define VS_BP_KERNEL_VERSION 0x20eu   /* u16: string offset from 0x200 */
#define VS_BP_TYPE_OF_LOADER 0x210u   /* u8 */
#define VS_BP_LOADFLAGS 0x211u	      /* u8 */
#define VS_BP_RAMDISK_IMAGE 0x218u    /* u32 */
#define VS_BP_RAMDISK_SIZE 0x21cu     /* u32 */
#define VS_BP_HEAP_END_PTR 0x224u     /* u16 */
#define VS_BP_CMD_LINE_PTR 0x228u     /* u32 */
#define VS_BP_INITRD_ADDR_MAX 0x22cu  /* u32, protocol 2.03+ */
#define VS_BP_KERNEL_ALIGNMENT 0x230u /* u32, protocol 2.05+ */
#define VS_BP_RELOCATABLE 0x234u      /* u8, protocol 2.05+ */
#define VS_BP_XLOADFLAGS 0x236u	      /* u16, protocol 2.12+ */
#define VS_BP_CMDLINE_SIZE 0x238u     /* u32, protocol 2.06+ */
#define VS_BP_SETUP_DATA 0x250u	      /* u64, protocol 2.09+ */
#define VS_BP_PREF_ADDRESS 0x258u     /* u64, protocol 2.10+ */
#define VS_BP_INIT_SIZE 0x260u	      /* u32, protocol 2.10+ */
#define VS_BP_HDR_LIMIT 0x290u	      /* edd_mbr_sig_buffer: the setup header never reaches it */
#define VS_BP_E820_TABLE 0x2d0u
#define VS_BP_E820_MAX 128
#define VS_BP_E820_ENTRY_SIZE 20u

#define VS_BP_HDRS_MAGIC 0x53726448u /* "HdrS" */
#define VS_BP_BOOT_FLAG_MAGIC 0xaa55u
#define VS_BP_LOADER_UNDEFINED 0xffu /* type_of_loader for unregistered loaders */
#define VS_BP_LOADED_HIGH 0x01u
#define VS_BP_CAN_USE_HEAP 0x80u
#define VS_BP_XLF_KERNEL_64 0x0001u
#define VS_BP_HEAP_END 0xfe00u

/* ---- zeropage.c ---- */
/* Copy a bzImage's setup header into a cleared zero page, up to where the
 * image says it ends but never past the header's limit. The caller has
 * checked that the image holds the header. */
void vs_zero_page_copy_header(uint8_t *zp, const uint8_t *img);
/* Write the setup header a vmlinux lacks into a cleared zero page: the
 * fields a kernel entered at its 64-bit entry point reads. */
void vs_zero_page_synth_header(uint8_t *zp, const struct vs_guest_mem *mem);
/* Fill the loader-owned fields of a Linux zero page (shared by the
 * bzImage and vmlinux paths): loader type, heap, command line, initrd,
 * e820 and RSDP. The setup header must already be in place. */
void vs_zero_page_finish(uint8_t *zp, const struct vs_guest_mem *mem, const struct vs_boot_params *p,
			 uint64_t initrd_addr);

#endif
