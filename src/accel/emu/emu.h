/* The emulator backend (vs_accel_emu_ops): vessel's own x86-64 CPU,
 * interpreting guest code on one host thread per vCPU.
 *
 * Wiring with the board's interrupt controllers. The board creates the
 * irqchip before the accelerator, but the chip needs a callback that wakes a
 * vCPU. So the board first allocates a kick target, gives the chip
 *     .kick = vs_accel_emu_kick, .opaque = target
 * then passes the same target in struct vs_accel_config.emu_kick; create()
 * binds the target to its vCPUs. Kicks that arrive before the binding (or
 * for a vCPU that does not exist) are dropped, which is harmless: a vCPU
 * looks at the chip when it starts. The board frees the target after both
 * the chip and the accelerator are destroyed.
 */
#ifndef VESSEL_ACCEL_EMU_EMU_H
#define VESSEL_ACCEL_EMU_EMU_H

#include <stdio.h>

struct vs_accel;
struct vs_emu_kick_target;

struct vs_emu_kick_target *vs_emu_kick_target_new(void);
void vs_emu_kick_target_free(struct vs_emu_kick_target *t);

/* The irqchip's kick callback: vCPU `cpu` may have an interrupt, NMI, INIT
 * or SIPI to take. Sets a flag and wakes the vCPU; never calls the chip. */
void vs_accel_emu_kick(void *opaque, int cpu);

/* Counts of the opcodes that raised #UD because the emulator does not
 * implement them, one line each ("0f 38 00: 12"); nothing when none. */
void vs_emu_report(struct vs_accel *acc, FILE *out);

#endif
