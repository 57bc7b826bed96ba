/* virtio-rng (virtio 1.2 section 5.4): one queue of writable buffers the
 * device fills from the host's getrandom(). */
#ifndef VESSEL_DEVICES_VIRTIO_RNG_H
#define VESSEL_DEVICES_VIRTIO_RNG_H

#include "devices/virtio/virtio_pci.h"
#include "hw/device.h"

/* `env` gives the PCI host, slot, guest memory and I/O loop (its ops and
 * opaque are ignored). On success *dev is the board's record of it. */
int vs_virtio_rng_create(const struct vs_virtio_config *env, struct vs_device *dev, struct vs_error *err);

#endif
