/* The emulator backend (vs_accel_emu_ops): vessel's own x86-64 CPU,
 * interpreting guest code on the thread that calls vcpu_run, one per vCPU.
 * The board's irqchip reaches a vCPU through ops->vcpu_interrupt. Without
 * an irqchip (unit tests), a halted vCPU returns VS_EXIT_HLT. */
#ifndef VESSEL_ACCEL_EMU_EMU_H
#define VESSEL_ACCEL_EMU_EMU_H

#include <stdio.h>

#include <stdint.h>

struct vs_accel;
struct vs_vcpu;

/* Make vcpu_run return VS_EXIT_INTR once `steps` more instructions ran
 * (0: no limit). For tests, fuzzing and benchmarks. */
void vs_emu_set_step_limit(struct vs_vcpu *vcpu, uint64_t steps);

/* Instructions executed so far (faults count as one). */
uint64_t vs_emu_instructions(struct vs_vcpu *vcpu);

/* Counts of the opcodes that raised #UD because the emulator does not
 * implement them, one line each ("0f 38 00: 12"); nothing when none. */
void vs_emu_report(struct vs_accel *acc, FILE *out);

#endif
