/* x86 segment descriptors: decoding the 8-byte GDT/LDT format (and the
 * 16-byte system descriptors of long mode) into struct vs_segment. Shared
 * by the emulator and the crash report. */
#ifndef VESSEL_X86_SEGMENT_H
#define VESSEL_X86_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "x86/cpu_state.h"

/* Fill `out` from the descriptor `raw` loaded with `selector`; the limit
 * is scaled to bytes when G is set. `high` is the second quadword of a
 * 16-byte long-mode system descriptor (TSS, LDT, gates), else 0. */
void vs_x86_desc_decode(uint64_t raw, uint64_t high, uint16_t selector, bool long_mode,
			struct vs_segment *out);

/* System descriptor types (S = 0). */
#define VS_DESC_LDT 0x2
#define VS_DESC_TSS_AVAIL 0x9
#define VS_DESC_TSS_BUSY 0xb
#define VS_DESC_CALL_GATE 0xc
#define VS_DESC_INT_GATE 0xe
#define VS_DESC_TRAP_GATE 0xf
#define VS_DESC_TASK_GATE 0x5

/* Whether the descriptor (S = 0) takes 16 bytes in long mode. */
static inline bool vs_x86_desc_is_system(uint64_t raw)
{
	return !((raw >> 44) & 1);
}

/* The real-mode/virtual-8086 view of a segment register: base = sel << 4,
 * 64 KiB limit, present read/write data (code when `code`). */
void vs_x86_seg_real(uint16_t selector, bool code, struct vs_segment *out);

#endif
