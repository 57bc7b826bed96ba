/* A virtio-pci driver written for the unit tests: it plays the guest on a
 * board of buses, a PCI host, guest memory and an I/O thread, reaching the
 * device only as a guest would (ECAM, BAR 0, rings in guest memory). */
#ifndef VESSEL_TESTS_VIRTIO_DRIVER_H
#define VESSEL_TESTS_VIRTIO_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "hw/device.h"
#include "hw/guest_mem.h"
#include "util/iothread.h"

#define VD_QSIZE 16
#define VD_DATA 0x400000ull /* free guest memory for buffers */

struct vd_seg {
	uint64_t addr;
	uint32_t len;
	bool write; /* device-writable */
};

struct vdrv {
	struct vs_bus pio, mmio;
	struct vs_pci_host *host;
	struct vs_guest_mem mem;
	struct vs_iothread *io;
	int level[24];
	int msi_count;
	uint32_t msi_data;
	int slot;
	uint64_t bar0;
	uint16_t avail_idx[4], used_seen[4];
};

/* The board; devices are created by the test with vd_env() next. */
int vd_board(struct vdrv *d, bool msi);
struct vs_virtio_config vd_env(struct vdrv *d, int slot);
/* Stop the I/O thread, destroy `dev` (may be NULL), then the board. */
void vd_release(struct vdrv *d, const struct vs_device *dev);

uint32_t vd_cfg_read(struct vdrv *d, int slot, uint32_t reg, uint32_t size);
void vd_cfg_write(struct vdrv *d, int slot, uint32_t reg, uint32_t v, uint32_t size);
uint64_t vd_read(struct vdrv *d, uint64_t off, uint32_t size);
void vd_write(struct vdrv *d, uint64_t off, uint64_t v, uint32_t size);

/* Find the device at `slot`, check its capabilities, negotiate `features`
 * (VERSION_1 added) and set up `nq` queues; DRIVER_OK unless !driver_ok.
 * Returns the negotiated status (with FEATURES_OK) or -1. */
int vd_start(struct vdrv *d, int slot, uint64_t features, int nq, bool driver_ok);
/* Put a chain on queue `q` (direct descriptors) and notify. Chains take
 * four descriptors each: up to VD_QSIZE / 4 may be outstanding. */
void vd_submit(struct vdrv *d, int q, const struct vd_seg *segs, int n);
/* The same in two steps (several chains, one notification); vd_add
 * returns the chain's head, which its used entry names. */
uint16_t vd_add(struct vdrv *d, int q, const struct vd_seg *segs, int n);
void vd_notify(struct vdrv *d, int q);
/* Wait (bounded) for the next used entry of queue `q`; its length, or -1. */
int64_t vd_wait_used(struct vdrv *d, int q);
/* The used ring's index: entries the device returned so far. */
uint16_t vd_used_count(struct vdrv *d, int q);
/* The same, with the used entry's chain head in *id (when not NULL). */
int64_t vd_wait_used_id(struct vdrv *d, int q, uint16_t *id);

#endif
