/* The vCPU topology vessel presents, as CPUID leaf values: one socket of
 * `ncpus` cores, one thread per core, APIC ID = vCPU index. Every leaf that
 * describes it must agree or Linux miscounts (1 EBX, 4 EAX, 0xb,
 * 0x80000008 ECX, 0x8000001e). Pure functions, shared by the KVM backend
 * (patching the host's leaves) and the emulator (building its own). */
#ifndef VESSEL_X86_CPUID_TOPOLOGY_H
#define VESSEL_X86_CPUID_TOPOLOGY_H

#include <stdbool.h>
#include <stdint.h>

struct vs_cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

/* Bits needed to number `n` things (x86 topology shift width). */
unsigned int vs_cpuid_bits_for(int n);

/* Rewrite the topology fields of leaf `function` (subleaf `index`) for vCPU
 * `cpu` of `ncpus`; leaves without topology fields are left alone. Leaf
 * 0xb is computed entirely (subleaf 0: SMT, 1: core, others: the empty
 * terminator). Returns whether the leaf was one it knows. */
bool vs_cpuid_topology(uint32_t function, uint32_t index, int cpu, int ncpus, struct vs_cpuid_regs *r);

#endif
