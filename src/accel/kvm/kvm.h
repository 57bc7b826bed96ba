/* KVM accelerator: vs_accel_kvm_ops (machine/accel.h) plus host probing. */
#ifndef VESSEL_ACCEL_KVM_H
#define VESSEL_ACCEL_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

struct kvm_cpuid_entry2;

/* The host's KVM is the nested paravirtual "PVM" flavour (kvm_pvm module):
 * guest ring 0 is emulated by the host and some instructions fail, so
 * unmodified Linux guests cannot boot. */
bool vs_kvm_is_pvm(void);

/* Whether /dev/kvm can be opened and speaks the stable API. On failure the
 * error says why (missing device, permissions, API version). */
int vs_kvm_probe(struct vs_error *err);

/* Adjust the host-supported CPUID for vCPU `index` of `ncpus`: hypervisor
 * bit, APIC IDs and topology leaves, KVM signature leaves. The table has
 * room for `cap` entries; returns the new count. */
int vs_kvm_cpuid_filter(struct kvm_cpuid_entry2 *entries, int n, int cap, int index, int ncpus);

/* The VM's GSI routing table (irq_routes.c): the board's fixed pin routes,
 * installed by create, plus MSI routes with their irqfds. */
struct vs_kvm_routes;
int vs_kvm_routes_create(int vm_fd, struct vs_kvm_routes **out, struct vs_error *err);
void vs_kvm_routes_destroy(struct vs_kvm_routes *r);
/* accel.h's msi_route_set and msi_route_fire. */
int vs_kvm_route_msi(struct vs_kvm_routes *r, uint32_t id, uint64_t addr, uint32_t data);
int vs_kvm_route_fire(struct vs_kvm_routes *r, uint32_t id);

#endif
