/* What virtio-blk needs of a disk: vectored reads and writes at byte
 * offsets, flush, and optionally discard and write-zeroes; all synchronous
 * (called on the device's I/O thread). Deliberately small so the block
 * layer (src/block: io_uring, qcow2, throttling) can stand behind it, and
 * until then a raw file does. Hot path: ops return 0 or -errno. */
#ifndef VESSEL_DEVICES_VIRTIO_BLK_BACKEND_H
#define VESSEL_DEVICES_VIRTIO_BLK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/error.h"

struct vs_blk_backend_ops {
	int (*readv)(void *opaque, const struct iovec *iov, int n, uint64_t off);
	int (*writev)(void *opaque, const struct iovec *iov, int n, uint64_t off);
	int (*flush)(void *opaque);
	/* Optional (NULL: the feature is not offered). */
	int (*discard)(void *opaque, uint64_t off, uint64_t len);
	int (*write_zeroes)(void *opaque, uint64_t off, uint64_t len);
	void (*close)(void *opaque);
};

struct vs_blk_backend {
	const struct vs_blk_backend_ops *ops;
	void *opaque;
	uint64_t size; /* bytes; a multiple of 512 is what the guest sees */
	bool readonly;
};

/* A raw image file (or block device), opened O_RDWR or O_RDONLY. */
int vs_blk_raw_open(const char *path, bool readonly, struct vs_blk_backend *out, struct vs_error *err);

#endif
