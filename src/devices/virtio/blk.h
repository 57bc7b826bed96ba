/* virtio-blk: a disk on a vs_blk_backend (see blk_backend.h), with flush,
 * GET_ID, and discard / write-zeroes when the backend has them. */
#ifndef VESSEL_DEVICES_VIRTIO_BLK_H
#define VESSEL_DEVICES_VIRTIO_BLK_H

#include "devices/virtio/blk_backend.h"
#include "devices/virtio/virtio_pci.h"
#include "hw/device.h"

#define VS_VIRTIO_BLK_MAX_QUEUES 8

/* Takes ownership of `be` (closed on failure too); `id` is the serial
 * number GET_ID returns (up to 20 bytes); `queues` request queues
 * (1..VS_VIRTIO_BLK_MAX_QUEUES). */
int vs_virtio_blk_create(const struct vs_virtio_config *env, const struct vs_blk_backend *be, const char *id,
			 unsigned int queues, struct vs_device *dev, struct vs_error *err);

#endif
