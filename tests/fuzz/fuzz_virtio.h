/* What the virtio fuzzers share: taking little-endian values off the
 * input (struct fuzz_input of fuzz_dev.h, 0 once it is exhausted), the
 * board they plug a device into (PCI host with ECAM, the windows, INTx
 * lines, an optional MSI sink, an event loop that never runs) and the
 * driver's side of bringing a device up through BAR 0. Header-only, so
 * each target stays one source file. Set-up failures abort(): they are
 * the harness's, not the input's. */
#ifndef VESSEL_FUZZ_VIRTIO_H
#define VESSEL_FUZZ_VIRTIO_H

#include <stdint.h>
#include <stdlib.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "hw/guest_mem.h"
#include "fuzz_dev.h"
#include "hw/bus.h"
#include "util/loop.h"

#define FUZZ_ECAM 0xe0000000ull
#define FUZZ_M32 0xc0000000ull

/* The next `n` bytes (up to 8) as a little-endian value; missing bytes
 * read as 0. */
static inline uint64_t fuzz_take(struct fuzz_input *in, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n && in->n; i++, in->n--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

/* Input bytes into guest memory: an offset of `off_bytes` bytes (modulo
 * `span`) from `base`, a length byte, then that many data bytes (fewer
 * when the input ends). */
static inline void fuzz_guest_write(const struct vs_guest_mem *mem, uint64_t base, uint64_t span,
				    int off_bytes, struct fuzz_input *in)
{
	uint64_t off = fuzz_take(in, off_bytes) % span;
	size_t len = (size_t)fuzz_take(in, 1);
	uint8_t *p = vs_gpa_ptr(mem, base + off, len);
	for (size_t i = 0; p && i < len && in->n; i++)
		p[i] = (uint8_t)fuzz_take(in, 1);
}

/* Offer the chain at descriptor `head` on the split ring whose available
 * ring is at rings + 0x1000 (as fuzz_virtio_queue lays them out). */
static inline void fuzz_vring_publish(const struct vs_guest_mem *mem, uint64_t rings, uint16_t qs,
				      uint16_t head)
{
	uint16_t *avail_idx = vs_gpa_ptr(mem, rings + 0x1000 + 2, 2);
	uint16_t *slot = vs_gpa_ptr(mem, rings + 0x1000 + 4 + 2ull * (*avail_idx % qs), 2);
	*slot = head;
	(*avail_idx)++;
}

struct fuzz_board {
	struct vs_bus pio, mmio;
	struct vs_pci_host *host;
	struct vs_loop *loop;
};

static inline void fuzz_board_set_level(void *opaque, uint32_t gsi, int level)
{
	(void)opaque, (void)gsi, (void)level;
}

/* `msi`: the MSI sink, or NULL for INTx only. */
static inline void fuzz_board_create(struct fuzz_board *b, const struct vs_msi_sink *msi)
{
	struct vs_error err = { 0 };
	struct vs_pci_host_config hc = {
		.ecam_base = FUZZ_ECAM,
		.ecam_buses = 1,
		.mmio32_base = FUZZ_M32,
		.mmio32_size = 0x1000000,
		.io_base = 0xc000,
		.io_size = 0x1000,
	};
	if (msi)
		hc.msi = *msi;
	for (uint32_t i = 0; i < 4; i++)
		hc.intx[i] = (struct vs_irq_line){ fuzz_board_set_level, NULL, 16 + i };
	vs_bus_init(&b->pio, "pio");
	vs_bus_init(&b->mmio, "mmio");
	b->host = NULL;
	b->loop = NULL;
	if (vs_pci_host_create(&hc, &b->host, &err) < 0 ||
	    vs_pci_host_register(b->host, &b->pio, &b->mmio, &err) < 0 || vs_loop_create(&b->loop, &err) < 0)
		abort();
}

/* After the devices are destroyed. */
static inline void fuzz_board_destroy(struct fuzz_board *b)
{
	vs_loop_destroy(b->loop);
	vs_pci_host_destroy(b->host);
	vs_bus_release(&b->pio);
	vs_bus_release(&b->mmio);
}

static inline struct vs_virtio_config fuzz_board_env(struct fuzz_board *b, const struct vs_guest_mem *mem,
						     int slot)
{
	return (struct vs_virtio_config){ .pci = b->host, .slot = slot, .mem = mem, .loop = b->loop };
}

static inline void fuzz_cfg_write(struct fuzz_board *b, int slot, uint32_t reg, uint32_t v, uint32_t size)
{
	vs_bus_write(&b->mmio, FUZZ_ECAM + ((uint64_t)slot << 15) + reg, (uint8_t *)&v, size);
}

static inline void fuzz_bar_write(struct fuzz_board *b, uint64_t bar, uint64_t off, uint64_t v, uint32_t size)
{
	vs_bus_write(&b->mmio, bar + off, (uint8_t *)&v, size);
}

/* The driver's side of the handshake up to FEATURES_OK: memory decode and
 * bus master on, ACKNOWLEDGE | DRIVER, `features` (VERSION_1 is bit 32),
 * FEATURES_OK. Returns BAR 0's address. */
static inline uint64_t fuzz_virtio_begin(struct fuzz_board *b, int slot, uint64_t features)
{
	uint64_t bar = 0;
	fuzz_cfg_write(b, slot, 0x04, 0x6, 2);
	vs_bus_read(&b->mmio, FUZZ_ECAM + ((uint64_t)slot << 15) + 0x10, (uint8_t *)&bar, 4);
	bar &= ~0xfull;
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_STATUS, 3, 1);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_GFSELECT, 0, 4);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_GF, (uint32_t)features, 4);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_GFSELECT, 1, 4);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_GF, features >> 32, 4);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_STATUS, 11, 1);
	return bar;
}

/* Queue `q` of `size` entries with its split rings at `base` (descriptors),
 * base + 0x1000 (available) and base + 0x2000 (used), enabled. */
static inline void fuzz_virtio_queue(struct fuzz_board *b, uint64_t bar, uint16_t q, uint16_t size,
				     uint64_t base)
{
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_Q_SELECT, q, 2);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_Q_SIZE, size, 2);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_Q_DESCLO, base, 4);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_Q_AVAILLO, base + 0x1000, 4);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_Q_USEDLO, base + 0x2000, 4);
	fuzz_bar_write(b, bar, VS_VIRTIO_COMMON_Q_ENABLE, 1, 2);
}

#endif
