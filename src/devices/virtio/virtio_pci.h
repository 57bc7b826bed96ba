/* The virtio 1.2 PCI transport, modern only (section 4.1): a PCI function
 * (vendor 0x1af4, device 0x1040 + type) whose vendor capabilities point
 * into BAR 0 (64-bit memory) at the common configuration, ISR status,
 * device configuration and notification areas, plus the PCI configuration
 * access capability; MSI-X in BAR 2 when the board delivers MSIs.
 *
 * A device (virtio-rng, virtio-blk, ...) supplies its type, features,
 * configuration space and a queue handler through struct vs_virtio_ops;
 * the transport does the rest: feature negotiation (VIRTIO_F_VERSION_1
 * required; split or packed rings, as the driver chooses), the status handshake, queue setup and reset,
 * interrupts (ISR and INTx, or MSI-X vectors).
 *
 * Threads: the guest's accesses arrive on vCPU threads. A notification
 * write only signals the queue's eventfd; the queue handler runs on the
 * I/O thread watching those eventfds, never on a vCPU. Under KVM the same
 * eventfds become ioeventfds bound to the notify addresses (see
 * vs_virtio_kick_fd and vs_virtio_notify_addr), so notifications skip user
 * space altogether. Common-configuration accesses and queue handlers are
 * serialised by the device's lock.
 */
#ifndef VESSEL_DEVICES_VIRTIO_VIRTIO_PCI_H
#define VESSEL_DEVICES_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtqueue.h"
#include "hw/guest_mem.h"
#include "util/error.h"
#include "util/loop.h"

/* Device status bits (section 2.1). */
#define VS_VIRTIO_S_ACKNOWLEDGE 1
#define VS_VIRTIO_S_DRIVER 2
#define VS_VIRTIO_S_DRIVER_OK 4
#define VS_VIRTIO_S_FEATURES_OK 8
#define VS_VIRTIO_S_NEEDS_RESET 0x40
#define VS_VIRTIO_S_FAILED 0x80

/* Transport feature bits. */
#define VS_VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define VS_VIRTIO_F_EVENT_IDX (1ull << 29)
#define VS_VIRTIO_F_VERSION_1 (1ull << 32)
#define VS_VIRTIO_F_RING_PACKED (1ull << 34)

/* Common configuration layout (struct virtio_pci_common_cfg). */
#define VS_VIRTIO_COMMON_DFSELECT 0
#define VS_VIRTIO_COMMON_DF 4
#define VS_VIRTIO_COMMON_GFSELECT 8
#define VS_VIRTIO_COMMON_GF 12
#define VS_VIRTIO_COMMON_MSIX 16
#define VS_VIRTIO_COMMON_NUMQ 18
#define VS_VIRTIO_COMMON_STATUS 20
#define VS_VIRTIO_COMMON_CFGGEN 21
#define VS_VIRTIO_COMMON_Q_SELECT 22
#define VS_VIRTIO_COMMON_Q_SIZE 24
#define VS_VIRTIO_COMMON_Q_MSIX 26
#define VS_VIRTIO_COMMON_Q_ENABLE 28
#define VS_VIRTIO_COMMON_Q_NOFF 30
#define VS_VIRTIO_COMMON_Q_DESCLO 32
#define VS_VIRTIO_COMMON_Q_DESCHI 36
#define VS_VIRTIO_COMMON_Q_AVAILLO 40
#define VS_VIRTIO_COMMON_Q_AVAILHI 44
#define VS_VIRTIO_COMMON_Q_USEDLO 48
#define VS_VIRTIO_COMMON_Q_USEDHI 52
#define VS_VIRTIO_NO_VECTOR 0xffff

/* BAR 0 layout. */
#define VS_VIRTIO_BAR_COMMON 0x0000
#define VS_VIRTIO_BAR_ISR 0x1000
#define VS_VIRTIO_BAR_DEVICE 0x2000
#define VS_VIRTIO_BAR_NOTIFY 0x3000
#define VS_VIRTIO_BAR_SIZE 0x4000
#define VS_VIRTIO_NOTIFY_MULT 4 /* bytes between queues' notify addresses */
#define VS_VIRTIO_COMMON_LEN 0x40
#define VS_VIRTIO_DEVICE_MAX 0x1000

/* PCI capability types (cfg_type). */
#define VS_VIRTIO_PCI_CAP_COMMON 1
#define VS_VIRTIO_PCI_CAP_NOTIFY 2
#define VS_VIRTIO_PCI_CAP_ISR 3
#define VS_VIRTIO_PCI_CAP_DEVICE 4
#define VS_VIRTIO_PCI_CAP_PCI_CFG 5

#define VS_VIRTIO_MAX_QUEUES 16

struct vs_virtio;

struct vs_virtio_ops {
	const char *name;
	uint16_t device_type; /* 4 entropy, 2 block, ... */
	uint32_t pci_class;
	uint64_t features; /* device-specific bits; the transport adds its own */
	uint16_t num_queues;
	uint16_t queue_max; /* power of two */
	uint32_t config_len;
	/* Device configuration space, little-endian; reads past config_len
	 * never reach the device. Called with the device lock held. */
	void (*config_read)(void *opaque, uint32_t off, uint8_t *data, uint32_t size);
	void (*config_write)(void *opaque, uint32_t off, const uint8_t *data, uint32_t size);
	/* On the I/O thread, device lock held: queue `q` has new buffers (or
	 * may have). Pop, process, push, then vs_virtio_queue_done(). */
	void (*queue_notify)(void *opaque, struct vs_virtio *v, uint16_t q);
	/* Device reset (driver wrote status 0), device lock held. */
	void (*reset)(void *opaque);
};

/* Optional: where notifications can bypass the BAR handler. The transport
 * binds each queue's eventfd to its notify address while BAR 0 decodes
 * (on = true) and unbinds it when the BAR stops decoding or moves. Under
 * KVM this is KVM_IOEVENTFD (assign / deassign); a backend that calls the
 * BAR handler itself (the emulator) leaves it NULL. A failing bind is not
 * fatal: the write then reaches the BAR handler, which signals the same
 * eventfd. */
struct vs_virtio_doorbell {
	int (*bind)(void *opaque, uint64_t gpa, int fd, bool on);
	void *opaque;
};

struct vs_virtio_config {
	const struct vs_virtio_ops *ops;
	void *opaque;
	struct vs_pci_host *pci;
	int slot;
	const struct vs_guest_mem *mem;
	struct vs_loop *loop; /* the I/O thread's, not yet running */
	struct vs_virtio_doorbell doorbell;
};

int vs_virtio_create(const struct vs_virtio_config *cfg, struct vs_virtio **out, struct vs_error *err);
/* Unwatch and close the eventfds; the I/O thread must have stopped. */
void vs_virtio_destroy(struct vs_virtio *v);

/* For device handlers. */
struct vs_vq *vs_virtio_queue(struct vs_virtio *v, uint16_t q);
uint64_t vs_virtio_features(const struct vs_virtio *v);
/* After pushing: interrupt the driver if the queue wants it. A broken
 * queue (vs_vq_pop returned -EINVAL) puts the device in NEEDS_RESET. */
void vs_virtio_queue_done(struct vs_virtio *v, uint16_t q);

/* Seams for KVM: the eventfd a notification of queue `q` signals, and
 * the guest-physical address the driver writes to notify it (0 while the
 * BAR does not decode). */
int vs_virtio_kick_fd(const struct vs_virtio *v, uint16_t q);
uint64_t vs_virtio_notify_addr(struct vs_virtio *v, uint16_t q);

/* Serve queue `q` now, on the calling thread, as the I/O thread does
 * after a notification (fuzzers; a backend that wants no I/O thread). */
void vs_virtio_process(struct vs_virtio *v, uint16_t q);

/* For tests and fuzzers: the PCI function and BAR 0 accessors as the bus
 * calls them. */
struct vs_pci_func *vs_virtio_pci_func(struct vs_virtio *v);
extern const struct vs_bus_ops vs_virtio_bar_ops;

#endif
