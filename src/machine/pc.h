/* Assembling the PC platform inside a vs_vm: legacy devices on the buses,
 * firmware tables, and the kernel loaded. Internal to src/machine. */
#ifndef VESSEL_MACHINE_PC_H
#define VESSEL_MACHINE_PC_H

#include "machine/vm.h"

int vs_pc_add_devices(struct vs_vm *vm, struct vs_error *err);
/* The userspace interrupt controllers, for backends without their own. */
int vs_pc_add_irqchip(struct vs_vm *vm, struct vs_error *err);
void vs_pc_remove_devices(struct vs_vm *vm);
/* Firmware tables, then the kernel (which needs the RSDP address). */
int vs_pc_load(struct vs_vm *vm, struct vs_error *err);

/* Describe a crashed vCPU into vm->report: exit reason, registers and the
 * bytes at RIP. */
void vs_pc_crash_report(struct vs_vm *vm, struct vs_vcpu *vcpu, int index, const char *what);

#endif
