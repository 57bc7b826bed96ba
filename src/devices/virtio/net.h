/* virtio-net (virtio 1.2 section 5.1) on a vs_net_backend. */
#ifndef VESSEL_DEVICES_VIRTIO_NET_H
#define VESSEL_DEVICES_VIRTIO_NET_H

#include <stdint.h>

#include "devices/virtio/virtio_pci.h"
#include "hw/device.h"
#include "net/net_backend.h"

struct vs_virtio_net_config {
	uint8_t mac[6];
	uint64_t rx_bps, tx_bps; /* 0: unlimited */
};

/* Takes ownership of `be` (destroyed on failure too) and attaches it to
 * env->loop. */
int vs_virtio_net_create(const struct vs_virtio_config *env, const struct vs_net_backend *be,
			 const struct vs_virtio_net_config *cfg, struct vs_device *dev, struct vs_error *err);

#endif
