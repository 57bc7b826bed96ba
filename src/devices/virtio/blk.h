/* virtio-blk on the block layer (src/block): a raw or qcow2 image (its
 * backing chain included) served asynchronously from the I/O thread, with
 * flush, GET_ID, discard, write-zeroes, several request queues, and the
 * image's token-bucket throttle (requests wait, never the I/O thread). */
#ifndef VESSEL_DEVICES_VIRTIO_BLK_H
#define VESSEL_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_pci.h"
#include "hw/device.h"

#define VS_VIRTIO_BLK_MAX_QUEUES 8

struct vs_virtio_blk_config {
	const char *path;
	const char *format; /* "raw", "qcow2", or NULL to probe */
	bool readonly;
	bool direct;	     /* cache=none: O_DIRECT (raw images) */
	uint64_t bps, iops;  /* throttle, 0: unlimited */
	unsigned int queues; /* 1..VS_VIRTIO_BLK_MAX_QUEUES */
	const char *id;	     /* the serial number GET_ID returns (up to 20 bytes) */
	const void *key;     /* passphrase of an encrypted qcow2 (LUKS), or NULL */
	size_t key_len;
};

/* Opens the image (errors name the file and what to do) and plugs the
 * device; the image is closed again on failure. */
int vs_virtio_blk_create(const struct vs_virtio_config *env, const struct vs_virtio_blk_config *c,
			 struct vs_device *dev, struct vs_error *err);

/* Complete every request in flight now, on the calling thread, as the I/O
 * thread does when the block layer signals completions (tests and fuzzers
 * that run no I/O thread). Requests the throttle holds are not waited for;
 * returns how many are still held back. */
unsigned int vs_virtio_blk_drain(const struct vs_device *dev);

#endif
