/* The accelerator seam: what a CPU backend (KVM, or the emulator) offers the
 * machine. Both return the same exit record, so the machine's run loop and
 * every device are shared between them. */
#ifndef VESSEL_ACCEL_ACCEL_H
#define VESSEL_ACCEL_ACCEL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hw/bus.h"
#include "hw/guest_mem.h"
#include "hw/timebase.h"
#include "util/error.h"
#include "x86/cpu_state.h"

struct vs_accel;
struct vs_vcpu;
struct vs_irqchip;
struct vs_timebase;

/* The signal vcpu_kick() may use to interrupt a vCPU thread; vCPU threads
 * must leave it unblocked. */
#define VS_VCPU_KICK_SIGNAL (SIGRTMIN + 1)

/* Message-signalled interrupt routes (msi_route_set below) are numbered
 * 0 .. VS_ACCEL_MSI_ROUTES-1 by the board: one per MSI-X vector of each
 * PCI slot (32 slots of up to 64 vectors). */
#define VS_ACCEL_MSI_ROUTES 2048

enum vs_exit_kind {
	VS_EXIT_IO,	    /* port I/O: devices read/write exit.io.data in place */
	VS_EXIT_MMIO,	    /* access to a non-RAM physical address */
	VS_EXIT_HLT,	    /* halted with nothing to wake it (no in-kernel irqchip) */
	VS_EXIT_INTR,	    /* interrupted by vcpu_kick() or a signal: check for stop */
	VS_EXIT_SHUTDOWN,   /* triple fault */
	VS_EXIT_RESET,	    /* platform reset requested through the accelerator */
	VS_EXIT_POWEROFF,   /* platform power-off requested through the accelerator */
	VS_EXIT_INTERNAL,   /* the accelerator could not emulate an instruction */
	VS_EXIT_FAIL_ENTRY, /* the accelerator refused to enter the guest */
	VS_EXIT_UNKNOWN,
};

struct vs_exit {
	enum vs_exit_kind kind;
	union {
		struct {
			uint16_t port;
			uint8_t size; /* 1, 2 or 4 */
			bool is_write;
			uint32_t count; /* > 1 for rep ins/outs: `count` items of `size` */
			uint8_t *data;
		} io;
		struct {
			uint64_t gpa;
			uint8_t *data;
			uint32_t len;
			bool is_write;
		} mmio;
	};
	/* For INTERNAL/FAIL_ENTRY/UNKNOWN: the accelerator's own reason. */
	uint64_t reason;
	char detail[160];
};

struct vs_accel_config {
	int ncpus;
	const struct vs_guest_mem *mem;
	/* The board's buses. A backend that runs guest code itself (emu)
	 * dispatches port I/O and MMIO to them directly, from the vCPU thread;
	 * one that exits to user space (kvm) returns VS_EXIT_IO/MMIO instead. */
	const struct vs_bus *pio;
	const struct vs_bus *mmio;
	/* The board's userspace interrupt controllers (devices/irqchip), given
	 * to backends whose ops->needs_irqchip is set; NULL otherwise. */
	struct vs_irqchip *irqchip;
	/* The guest's time base (TSC and timers) for backends that model time
	 * in software; shared with the interrupt controllers. */
	const struct vs_timebase *timebase;
};

struct vs_accel_ops {
	const char *name;
	/* Whether this backend can run on this host; when not, err says why
	 * and what to do. Cheap: no VM is created. */
	int (*probe)(struct vs_error *err);
	/* The backend has no interrupt controllers of its own: the board
	 * creates the userspace ones and passes them in vs_accel_config. */
	bool needs_irqchip;
	int (*create)(const struct vs_accel_config *cfg, struct vs_accel **out, struct vs_error *err);
	void (*destroy)(struct vs_accel *acc);
	int (*vcpu_create)(struct vs_accel *acc, int index, struct vs_vcpu **out, struct vs_error *err);
	void (*vcpu_destroy)(struct vs_vcpu *vcpu);
	int (*vcpu_set_state)(struct vs_vcpu *vcpu, const struct vs_cpu_state *st, struct vs_error *err);
	int (*vcpu_get_state)(struct vs_vcpu *vcpu, struct vs_cpu_state *st);
	/* Run until the next exit. Returns 0, or -errno on a host failure. Must
	 * be called from the vCPU's own thread. */
	int (*vcpu_run)(struct vs_vcpu *vcpu, struct vs_exit *exit);
	/* From any thread: make vcpu_run return VS_EXIT_INTR soon. */
	void (*vcpu_kick)(struct vs_vcpu *vcpu);
	/* From any thread, for backends with needs_irqchip: the interrupt
	 * controllers may have something for this vCPU (an interrupt, NMI,
	 * INIT or SIPI). Wakes it from HLT and makes it look at its next
	 * instruction boundary, without returning from vcpu_run. Must not
	 * call into the interrupt controllers (their lock may be held). */
	void (*vcpu_interrupt)(struct vs_vcpu *vcpu);
	/* Drive an interrupt line (ISA IRQ / GSI) of the interrupt controller. */
	int (*set_irq)(struct vs_accel *acc, uint32_t gsi, int level);
	/* Optional: backend statistics for --verbose (emu: opcodes that raised
	 * #UD because they are not implemented). NULL when there are none. */
	void (*report)(struct vs_accel *acc, FILE *out);
	/* From any thread, for backends with their own LAPICs: deliver a
	 * message-signalled interrupt (address 0xfeexxxxx, data). Backends
	 * with needs_irqchip leave it NULL: the board delivers to the
	 * userspace LAPICs itself. */
	int (*send_msi)(struct vs_accel *acc, uint64_t addr, uint32_t data);
	/* Optional: a guest write of `len` bytes at MMIO address `gpa` signals
	 * eventfd `fd` without leaving the kernel (assign), or no longer
	 * (!assign). NULL for backends that dispatch every access themselves. */
	int (*ioeventfd)(struct vs_accel *acc, uint64_t gpa, uint32_t len, int fd, bool assign);
	/* Optional: the fast path for interrupts raised off the vCPU threads.
	 * msi_route_set points route `id` (< VS_ACCEL_MSI_ROUTES, created on
	 * first use) at the message (addr, data); msi_route_fire raises it.
	 * KVM routes a GSI to the message (KVM_SET_GSI_ROUTING) and binds an
	 * eventfd to the GSI (KVM_IRQFD): firing is one eventfd write the
	 * kernel turns into the interrupt. The emulator delivers straight to
	 * its userspace interrupt controllers. Both return 0 or -errno (the
	 * caller then falls back to send_msi or the board's own delivery).
	 * The caller serialises calls for one id; routes live as long as the
	 * accelerator. */
	int (*msi_route_set)(struct vs_accel *acc, uint32_t id, uint64_t addr, uint32_t data);
	int (*msi_route_fire)(struct vs_accel *acc, uint32_t id);
};

extern const struct vs_accel_ops vs_accel_kvm_ops;
extern const struct vs_accel_ops vs_accel_emu_ops;

/* Every backend built in, in order of preference for --accel auto;
 * NULL-terminated. */
extern const struct vs_accel_ops *const vs_accels[];

/* The backend called `name`, or NULL. */
const struct vs_accel_ops *vs_accel_find(const char *name);

#endif
