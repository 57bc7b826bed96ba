/* A Linux-style bzImage without real-mode code: (setup_sects + 1) * 512
 * bytes of setup area holding the boot protocol header, then the payload
 * the loader puts at 0x100000. Only the 64-bit entry (payload + 0x200,
 * boot protocol 2.12+, XLF_KERNEL_64) is supported; the 16- and 32-bit
 * entries just stop. link/bzimage.ld places .setup right before the
 * payload and defines _syssize and _init_size. */
#include "defs.h"

#define SETUP_SECTS 1

	.section .setup, "a"
	.code16
	.org 0x1f1
	.byte SETUP_SECTS		/* 0x1f1 setup_sects */
	.word 0				/* 0x1f2 root_flags */
	.long _syssize			/* 0x1f4 syssize, in 16-byte units */
	.word 0				/* 0x1f8 ram_size (obsolete) */
	.word 0xffff			/* 0x1fa vid_mode: "normal" */
	.word 0				/* 0x1fc root_dev */
	.word 0xaa55			/* 0x1fe boot_flag */
	.byte 0xeb, realmode_stop - 1f	/* 0x200 jump over the header */
1:	.ascii "HdrS"			/* 0x202 header magic */
	.word 0x020f			/* 0x206 boot protocol 2.15 */
	.long 0				/* 0x208 realmode_swtch */
	.word 0				/* 0x20c start_sys_seg */
	.word 0				/* 0x20e kernel_version: none */
	.byte 0				/* 0x210 type_of_loader (loader writes) */
	.byte 0x01			/* 0x211 loadflags: LOADED_HIGH */
	.word 0				/* 0x212 setup_move_size */
	.long GUEST_LOAD_ADDR		/* 0x214 code32_start */
	.long 0				/* 0x218 ramdisk_image (loader writes) */
	.long 0				/* 0x21c ramdisk_size (loader writes) */
	.long 0				/* 0x220 bootsect_kludge */
	.word 0				/* 0x224 heap_end_ptr */
	.byte 0				/* 0x226 ext_loader_ver */
	.byte 0				/* 0x227 ext_loader_type */
	.long 0				/* 0x228 cmd_line_ptr (loader writes) */
	.long 0x7fffffff		/* 0x22c initrd_addr_max */
	.long 0x100000			/* 0x230 kernel_alignment */
	.byte 0				/* 0x234 relocatable_kernel: no */
	.byte 0				/* 0x235 min_alignment */
	.word 0x0001			/* 0x236 xloadflags: XLF_KERNEL_64 */
	.long 2047			/* 0x238 cmdline_size */
	.long 0				/* 0x23c hardware_subarch: PC */
	.quad 0				/* 0x240 hardware_subarch_data */
	.long 0				/* 0x248 payload_offset */
	.long 0				/* 0x24c payload_length */
	.quad 0				/* 0x250 setup_data */
	.quad GUEST_LOAD_ADDR		/* 0x258 pref_address */
	.long _init_size		/* 0x260 init_size */
	.long 0				/* 0x264 handover_offset */
	.long 0				/* 0x268 kernel_info_offset */
realmode_stop:				/* a real-mode entry is not supported */
	cli
	hlt
	jmp realmode_stop
	.org (SETUP_SECTS + 1) * 512

	/* The payload: offset 0 is the 32-bit entry (code32_start), 0x200
	 * the 64-bit one. */
	.section .text.head, "ax"
	.code32
bz_start32:				/* 32-bit entry is not supported */
	cli
	hlt
	jmp bz_start32
	.org 0x200
	.code64
	.globl bz_start64
bz_start64:				/* %rsi = boot_params */
	mov $PROTO_BZIMAGE, %edi
	jmp start64_common
