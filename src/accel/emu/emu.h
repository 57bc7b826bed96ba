/* The emulator backend (vs_accel_emu_ops): vessel's own x86-64 CPU,
 * interpreting guest code on the thread that calls vcpu_run, one per vCPU.
 * The board's irqchip reaches a vCPU through ops->vcpu_interrupt. */
#ifndef VESSEL_ACCEL_EMU_EMU_H
#define VESSEL_ACCEL_EMU_EMU_H

#include <stdio.h>

struct vs_accel;

/* Counts of the opcodes that raised #UD because the emulator does not
 * implement them, one line each ("0f 38 00: 12"); nothing when none. */
void vs_emu_report(struct vs_accel *acc, FILE *out);

#endif
