/* What the split and packed virtqueue layouts share: building a chain's
 * segment list under the same rules, and the atomic accessors for ring
 * fields shared with vCPUs. Internal to src/devices/virtio/virtqueue*.c. */
#ifndef VESSEL_DEVICES_VIRTIO_VIRTQUEUE_INTERNAL_H
#define VESSEL_DEVICES_VIRTIO_VIRTQUEUE_INTERNAL_H

#include "devices/virtio/virtqueue.h"

static inline uint16_t vs_vq_load16(const void *p, int order)
{
	return __atomic_load_n((const uint16_t *)p, order);
}

static inline void vs_vq_store16(void *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)p, v, order);
}

/* Start an empty chain. */
void vs_vq_chain_start(struct vs_vq_elem *e, uint16_t head);
/* Append one descriptor's buffer: inside guest RAM, within the segment
 * limit, and no readable segment after a writable one. 0 or -EINVAL. */
int vs_vq_chain_add(const struct vs_vq *vq, struct vs_vq_elem *e, uint64_t addr, uint32_t len, bool writable);
/* Map an indirect table of `len` bytes: negotiated, a whole number of
 * 16-byte descriptors, inside guest RAM. NULL when refused. */
const void *vs_vq_indirect_table(const struct vs_vq *vq, uint64_t addr, uint32_t len);
/* vring_need_event (section 2.7.7.2): did the used position step past
 * `event` going from `old` to `now`? */
bool vs_vq_need_event(uint16_t event, uint16_t now, uint16_t old);

/* The packed layout (virtqueue_packed.c), dispatched to by virtqueue.c. */
int vs_vq_packed_pop(struct vs_vq *vq, struct vs_vq_elem *elem);
void vs_vq_packed_unpop(struct vs_vq *vq);
void vs_vq_packed_push(struct vs_vq *vq, uint16_t id, uint32_t written);
bool vs_vq_packed_should_notify(struct vs_vq *vq);

#endif
