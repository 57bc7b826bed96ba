/* Shared driver of the device fuzzers: the input is a program of guest
 * port accesses (and host-side events) run against a device registered on
 * a bus at its PC addresses, the way pc.c wires it. Callbacks the device
 * may call (irq line, stop sink, char output) record what they saw and
 * abort() on calls a device must never make. */
#ifndef VESSEL_FUZZ_DEV_H
#define VESSEL_FUZZ_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/irq.h"

struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

/* Next byte of the input, 0 once it is exhausted. */
uint8_t fuzz_byte(struct fuzz_input *in);

/* One range as pc.c registers it. */
struct fuzz_range {
	uint64_t base, len;
	const struct vs_bus_ops *ops;
	void *opaque;
	const char *name;
};

/* A device-specific host event (console input, ...), decoded from the input
 * by the target; `op` is the byte that selected it. */
typedef void (*fuzz_host_event)(void *ctx, uint8_t op, struct fuzz_input *in);

/* Registers `ranges` on a fresh bus, then runs the input. Each step takes
 * one op byte: bit 0 write/read, bits 1-2 the access size (1, 2, 4, 8
 * bytes, as the bus contract allows), bits 3-7 the range (one past the last
 * range: the host event, when there is one); then one byte for the offset
 * (modulo the range length plus one, so accesses straddle the end and
 * sometimes miss), then the bytes of a write. A read must not write past
 * the access size. */
void fuzz_dev_run(struct fuzz_input *in, const struct fuzz_range *ranges, size_t count,
		  fuzz_host_event host_event, void *ctx);

/* Irq line recorder: a device drives its line only on a change of level,
 * always with the gsi it was given and level 0 or 1. */
struct fuzz_irq {
	uint32_t gsi;
	int level;
	unsigned long calls;
};
void fuzz_irq_set_level(void *opaque, uint32_t gsi, int level);

/* Stop sink recorder: the reason is one the device may ask for and the
 * status fits it (isa-debug-exit: odd and positive, the others 0). */
struct fuzz_stop {
	unsigned long calls;
	enum vs_stop_reason last_reason;
	int last_status;
};
void fuzz_stop_request(void *opaque, enum vs_stop_reason reason, int status);

/* Char output recorder: counts bytes; a device never writes 0 bytes. */
struct fuzz_out {
	unsigned long bytes;
};
void fuzz_out_write(void *opaque, const uint8_t *buf, size_t len);

/* Silences the devices' rate-limited warnings for the whole run. */
void fuzz_dev_quiet(void);

#endif
