/* virtio-balloon (virtio 1.2 section 5.5) with free page reporting: the
 * guest hands back ranges of RAM it does not use (reporting_vq) and pages
 * it gives up (inflateq), and the device drops their host memory with
 * madvise(MADV_DONTNEED), so an idle guest's freed memory returns to the
 * host. The target size stays 0: nothing asks the guest to inflate, so
 * inflate and deflate only see what a driver does on its own. */
#ifndef VESSEL_DEVICES_VIRTIO_BALLOON_H
#define VESSEL_DEVICES_VIRTIO_BALLOON_H

#include <stdint.h>

#include "devices/virtio/virtio_pci.h"
#include "hw/device.h"

/* Queue numbers with VIRTIO_BALLOON_F_REPORTING the only feature offered
 * (statsq and free_page_vq absent, so the reporting queue is the third). */
#define VS_BALLOON_Q_INFLATE 0
#define VS_BALLOON_Q_DEFLATE 1
#define VS_BALLOON_Q_REPORTING 2
#define VS_BALLOON_F_REPORTING (1ull << 5)

/* `env` as for vs_virtio_rng_create. */
int vs_virtio_balloon_create(const struct vs_virtio_config *env, struct vs_device *dev, struct vs_error *err);

#endif
