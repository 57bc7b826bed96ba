/* Constants shared by the C code and the assembly entry stubs (so only
 * preprocessor definitions here). */
#ifndef GUEST_DEFS_H
#define GUEST_DEFS_H

/* Protocol numbers the entry stubs pass to guest_main in %edi. */
#define PROTO_PVH 1
#define PROTO_BZIMAGE 2
#define PROTO_VMLINUX 3

#define GUEST_LOAD_ADDR 0x100000 /* every image is linked here */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

/* AP start-up: the real-mode trampoline is copied to this 4 KiB page,
 * which the SIPI vector names (0x8000 >> 12 = 8). vessel keeps 0x6000,
 * 0x7000 and 0x9000-0xefff for boot data and page tables; 0x8000 only
 * holds the loader's initial stack, which the guest leaves at once. */
#define TRAMP_BASE 0x8000
#define AP_STACK_SHIFT 10 /* 1 KiB per AP: ap_main needs little */
#define MAX_APS 64

#define DEBUG_EXIT_PORT_ASM 0x501

#endif
