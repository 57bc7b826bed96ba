/* One I/O bus: port I/O and MMIO both dispatch through a sorted registry of
 * ranges. Devices see offsets into their own range, never absolute addresses
 * nor the accelerator.
 *
 * Registration happens while the machine is being built (single-threaded);
 * afterwards the registry is read-only, so lookups from vCPU threads need no
 * lock. Each device serialises its own state.
 */
#ifndef VESSEL_HW_BUS_H
#define VESSEL_HW_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct vs_bus_ops {
	/* `data` holds `size` bytes (1, 2, 4 or 8), little-endian. Unimplemented
	 * reads should fill all-ones, as an open bus does. */
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t size);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size);
};

struct vs_bus_range {
	uint64_t base;
	uint64_t len;
	const struct vs_bus_ops *ops;
	void *opaque;
	const char *name;
};

struct vs_bus {
	const char *name;	     /* "pio" or "mmio", for messages */
	struct vs_bus_range *ranges; /* sorted by base, non-overlapping */
	size_t count;
	size_t cap;
};

void vs_bus_init(struct vs_bus *bus, const char *name);
void vs_bus_release(struct vs_bus *bus);

/* Fails (with a message naming both devices) when the range overlaps one
 * already registered. */
int vs_bus_register(struct vs_bus *bus, uint64_t base, uint64_t len, const struct vs_bus_ops *ops,
		    void *opaque, const char *name, struct vs_error *err);

/* Remove the range that starts at `base`; returns false when none does.
 * Only for buses whose users serialise against lookups themselves (the PCI
 * host's BAR windows): the board's own buses never change once built. */
bool vs_bus_unregister(struct vs_bus *bus, uint64_t base);

const struct vs_bus_range *vs_bus_find(const struct vs_bus *bus, uint64_t addr);

/* Dispatch one access. Returns false when no device claims `addr` (reads
 * then return all-ones). */
bool vs_bus_read(const struct vs_bus *bus, uint64_t addr, uint8_t *data, uint32_t size);
bool vs_bus_write(const struct vs_bus *bus, uint64_t addr, const uint8_t *data, uint32_t size);

#endif
