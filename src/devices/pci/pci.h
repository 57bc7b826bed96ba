/* A conventional PCI bus 0 behind a host bridge, as a board without BIOS
 * firmware presents it: configuration space through the type 1 mechanism
 * (ports 0xCF8/0xCFC) and ECAM (one MMIO window, 1 MiB per bus), BARs the
 * host places itself (Linux keeps pre-assigned BARs), INTx lines swizzled
 * onto four interrupt lines of the board, and MSI-X.
 *
 * Address decoding: the host claims three windows on the board's buses
 * once, while the machine is built (the board buses are read-only after
 * that, see hw/bus.h): the 32-bit and 64-bit MMIO windows and the I/O port
 * window. Inside them, each BAR is a range on the host's own window bus,
 * registered when the guest turns decoding on in the command register and
 * unregistered when it turns it off or moves the BAR, under a read-write
 * lock: accesses from vCPU threads take it shared.
 *
 * Threading: configuration accesses from any vCPU thread are serialised by
 * the host's config lock; a device's BAR handlers run on vCPU threads with
 * the window lock held shared and serialise their own state.
 */
#ifndef VESSEL_DEVICES_PCI_PCI_H
#define VESSEL_DEVICES_PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/device.h"
#include "hw/irq.h"
#include "util/error.h"

#define VS_PCI_SLOTS 32
#define VS_PCI_CFG_SIZE 256 /* conventional space; extended space reads as 0 */
#define VS_PCI_NUM_BARS 6
#define VS_PCI_INTX_LINES 4

/* Configuration header (type 0) offsets. */
#define VS_PCI_VENDOR_ID 0x00
#define VS_PCI_DEVICE_ID 0x02
#define VS_PCI_COMMAND 0x04
#define VS_PCI_STATUS 0x06
#define VS_PCI_REVISION 0x08
#define VS_PCI_CLASS_PROG 0x09
#define VS_PCI_HEADER_TYPE 0x0e
#define VS_PCI_BAR0 0x10
#define VS_PCI_SUBSYS_VENDOR 0x2c
#define VS_PCI_SUBSYS_ID 0x2e
#define VS_PCI_CAP_PTR 0x34
#define VS_PCI_INTERRUPT_LINE 0x3c
#define VS_PCI_INTERRUPT_PIN 0x3d

#define VS_PCI_CMD_IO 0x1
#define VS_PCI_CMD_MEMORY 0x2
#define VS_PCI_CMD_MASTER 0x4
#define VS_PCI_CMD_INTX_DISABLE 0x400
#define VS_PCI_STATUS_INTX 0x8
#define VS_PCI_STATUS_CAP_LIST 0x10

#define VS_PCI_BAR_IO 0x1
#define VS_PCI_BAR_MEM64 0x4
#define VS_PCI_BAR_PREFETCH 0x8

#define VS_PCI_CAP_ID_VENDOR 0x09
#define VS_PCI_CAP_ID_MSIX 0x11

/* MSI-X capability layout (PCI 3.0 section 6.8.2). */
#define VS_MSIX_CTRL 2 /* offset in the capability */
#define VS_MSIX_TABLE 4
#define VS_MSIX_PBA 8
#define VS_MSIX_CAP_LEN 12
#define VS_MSIX_CTRL_ENABLE 0x8000
#define VS_MSIX_CTRL_MASKALL 0x4000
#define VS_MSIX_ENTRY_SIZE 16
#define VS_MSIX_ENTRY_CTRL_MASKED 0x1
#define VS_MSIX_MAX_VECTORS 64

/* Where message-signalled interrupts go: the board delivers (address,
 * data) to a LAPIC. The lead wires KVM_SIGNAL_MSI for KVM and the
 * userspace LAPICs for the emulator; a board without a sink gives its
 * devices no MSI-X capability, and they interrupt through INTx. */
struct vs_msi_sink {
	void (*send)(void *opaque, uint64_t addr, uint32_t data);
	void *opaque;
	/* After opaque, so { send, opaque } still initialises a sink.
	 * Optional fast path (KVM irqfd): route_set points route `id` at the
	 * message, route_fire raises it; each returns 0, -EAGAIN when routes
	 * cannot be set up yet (no accelerator: try again next time), or
	 * another -errno (use send until the vector is reprogrammed). Ids are
	 * slot * VS_MSIX_MAX_VECTORS + vector; calls come with the host's IRQ
	 * lock held, so one id's calls never overlap. */
	int (*route_set)(void *opaque, uint32_t id, uint64_t addr, uint32_t data);
	int (*route_fire)(void *opaque, uint32_t id);
};

struct vs_pci_host_config {
	uint64_t ecam_base; /* 1 MiB per bus, buses 0..ecam_buses-1 */
	uint32_t ecam_buses;
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size; /* size 0: no 64-bit window */
	uint64_t io_base, io_size;
	/* INTA..INTD of slot 0 land on intx[0..3]; slot s pin p on
	 * intx[(s + p) % 4] (the bridge swizzle, mirrored in the _PRT). */
	struct vs_irq_line intx[VS_PCI_INTX_LINES];
	struct vs_msi_sink msi; /* send NULL: no MSI-X */
};

struct vs_pci_host;
struct vs_pci_func;

/* A BAR as its device defines it: size a power of two (>= 16 for memory,
 * >= 4 for I/O), handlers see offsets into the BAR. */
struct vs_pci_bar_def {
	uint64_t size;
	uint32_t flags; /* VS_PCI_BAR_IO, VS_PCI_BAR_MEM64, VS_PCI_BAR_PREFETCH */
	const struct vs_bus_ops *ops;
	void *opaque;
	const char *name;
};

struct vs_pci_bar {
	struct vs_pci_bar_def def;
	uint64_t addr; /* as programmed; placed by the host at plug time */
	bool mapped;   /* registered on a window bus */
	uint64_t mapped_addr;
};

/* MSI-X state of one function: table and PBA live in one BAR. */
struct vs_pci_msix {
	uint16_t nvec;
	uint8_t cap; /* capability offset, 0 when absent */
	int bar;
	uint32_t table_off, pba_off;
	uint8_t table[VS_MSIX_MAX_VECTORS * VS_MSIX_ENTRY_SIZE];
	uint64_t pending; /* one bit per vector (the PBA) */
	/* Per vector, whether the sink's route carries its current message
	 * (enum vs_msix_route). */
	uint8_t route[VS_MSIX_MAX_VECTORS];
};

enum vs_msix_route {
	VS_MSIX_ROUTE_STALE, /* never set, or the message changed since */
	VS_MSIX_ROUTE_READY, /* fire the route */
	VS_MSIX_ROUTE_NONE,  /* the sink refused it: send the message */
};

/* Optional hooks of a function's device around configuration accesses
 * (after the generic handling of a write; before a read returns), and
 * when one of its BARs starts or stops decoding at `addr` (with the host's
 * config lock held: the hook must not access configuration space). */
struct vs_pci_func_ops {
	void (*config_write)(void *opaque, uint32_t off, uint32_t size);
	void (*config_read)(void *opaque, uint32_t off, uint8_t *data, uint32_t size);
	void (*bar_mapped)(void *opaque, int bar, uint64_t addr, bool mapped);
};

/* One PCI function: its device embeds it and fills it through the calls
 * below before plugging it. */
struct vs_pci_func {
	struct vs_pci_host *host;
	uint8_t slot;
	uint8_t cfg[VS_PCI_CFG_SIZE];
	uint8_t wmask[VS_PCI_CFG_SIZE]; /* bits the guest may write */
	uint8_t next_cap;		/* where the next capability goes */
	uint8_t *last_cap_next;		/* next-pointer byte of the last capability */
	struct vs_pci_bar bars[VS_PCI_NUM_BARS];
	struct vs_pci_msix msix;
	bool intx_level;    /* the device asserts its pin */
	bool intx_asserted; /* ... and the host passes it on */
	const struct vs_pci_func_ops *ops;
	void *opaque;
};

int vs_pci_host_create(const struct vs_pci_host_config *cfg, struct vs_pci_host **out, struct vs_error *err);
/* Claim 0xCF8 (1 byte: 0xCF9 is the reset register), 0xCFC-0xCFF, the ECAM
 * window and the BAR windows on the board's buses. */
int vs_pci_host_register(struct vs_pci_host *host, struct vs_bus *pio, struct vs_bus *mmio,
			 struct vs_error *err);
/* The board's record of the host: destroy frees it (after every function's
 * device is gone), aml emits Device(PCI0) with its _CRS and _PRT. */
struct vs_device vs_pci_host_device(struct vs_pci_host *host);
void vs_pci_host_destroy(struct vs_pci_host *host);
bool vs_pci_host_has_msi(const struct vs_pci_host *host);

/* Device side. */
void vs_pci_func_init(struct vs_pci_func *f, struct vs_pci_host *host, uint16_t vendor, uint16_t device,
		      uint32_t class_code, uint8_t revision);
void vs_pci_func_set_subsystem(struct vs_pci_func *f, uint16_t vendor, uint16_t id);
/* INTA (pin 1) by default after init; 0 for none. */
void vs_pci_func_set_pin(struct vs_pci_func *f, uint8_t pin);
/* Append a capability of `len` bytes (id and next byte included) whose
 * bytes 2.. come from `body`; returns its offset or 0 when full. */
uint8_t vs_pci_func_add_cap(struct vs_pci_func *f, uint8_t id, const void *body, uint8_t len);
void vs_pci_func_set_bar(struct vs_pci_func *f, int bar, const struct vs_pci_bar_def *def);
/* An MSI-X capability with `nvec` vectors whose table and PBA take all of
 * BAR `bar` (which this call defines). Returns 0 without adding anything
 * when the host has no MSI sink. */
int vs_pci_func_add_msix(struct vs_pci_func *f, uint16_t nvec, int bar);
/* Place the BARs, number the slot and make the function visible. */
int vs_pci_host_plug(struct vs_pci_host *host, struct vs_pci_func *f, int slot, struct vs_error *err);

/* Drive the function's INTx pin (level; the host ORs shared lines). */
void vs_pci_func_set_intx(struct vs_pci_func *f, bool level);
/* MSI-X enabled by the guest (then INTx is off). */
bool vs_pci_msix_enabled(struct vs_pci_func *f);
/* Signal MSI-X vector `vec`: sent, or left pending while masked. */
void vs_pci_msix_notify(struct vs_pci_func *f, uint16_t vec);

/* Raw configuration access, as the mechanisms do it (for tests and
 * fuzzers too): bus 0 only; absent functions read as all-ones. */
void vs_pci_config_read(struct vs_pci_host *host, uint32_t bus, uint32_t devfn, uint32_t off, uint8_t *data,
			uint32_t size);
void vs_pci_config_write(struct vs_pci_host *host, uint32_t bus, uint32_t devfn, uint32_t off,
			 const uint8_t *data, uint32_t size);

/* The ACPI description: the _CRS windows and _PRT of Device(PCI0). */
struct vs_aml;
void vs_pci_host_aml(struct vs_pci_host *host, struct vs_aml *a);

#endif
