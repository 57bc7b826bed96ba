/* A device as the board owns it: whatever its kind, the board can reset
 * it, destroy it and ask for its ACPI description through one record, so
 * the machine never lists device types (Firecracker's device manager keeps
 * its legacy devices the same way). */
#ifndef VESSEL_HW_DEVICE_H
#define VESSEL_HW_DEVICE_H

#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

struct vs_aml;

struct vs_device {
	const char *name;
	void *opaque;
	/* Optional: back to the power-on state (platform reset). */
	void (*reset)(void *opaque);
	/* Releases the device; called once, after every vCPU has stopped. */
	void (*destroy)(void *opaque);
	/* Optional: emit the device's Device() object into the DSDT's \_SB_
	 * scope, for devices the OS should find through ACPI. */
	void (*aml)(void *opaque, struct vs_aml *a);
	/* Optional: what the device learnt that a user may want to see
	 * (`vm run -v` prints it at exit), whole lines; any thread. */
	void (*report)(void *opaque, FILE *out);
};

/* The board's devices, in creation order. */
struct vs_devices {
	struct vs_device *items;
	size_t count, cap;
};

/* Take ownership of `dev`: on failure it is destroyed at once, so the
 * caller has nothing to unwind. */
int vs_devices_add(struct vs_devices *list, const struct vs_device *dev, struct vs_error *err);
void vs_devices_reset(const struct vs_devices *list);
void vs_devices_aml(const struct vs_devices *list, struct vs_aml *a);
void vs_devices_report(const struct vs_devices *list, FILE *out);
/* Destroy every device, newest first, and empty the list. */
void vs_devices_release(struct vs_devices *list);

#endif
