/* Virtqueues, device side: split (virtio 1.2 section 2.7, virtqueue.c) and
 * packed (section 2.8, virtqueue_packed.c) behind one API, so devices do
 * not know which layout the driver negotiated. The rings live
 * in guest memory and every value read from them is the guest's to choose,
 * so each chain is validated before the device sees it (indices, lengths,
 * bounds against guest RAM, loops, readable-before-writable order,
 * indirect tables and their nesting). A malformed chain marks the queue
 * broken: the device then asks for a reset (DEVICE_NEEDS_RESET) and never
 * touches the queue again until it gets one.
 *
 * Hot path: functions return plain -errno. One thread uses a queue at a
 * time (the device's I/O thread, under its lock). */
#ifndef VESSEL_DEVICES_VIRTIO_VIRTQUEUE_H
#define VESSEL_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/guest_mem.h"

#define VS_VRING_DESC_F_NEXT 1
#define VS_VRING_DESC_F_WRITE 2
#define VS_VRING_DESC_F_INDIRECT 4
#define VS_VRING_AVAIL_F_NO_INTERRUPT 1
/* Packed descriptors' flags add the two ring wrap bits (section 2.8.1);
 * the event suppression structures say when to notify (section 2.8.10). */
#define VS_VRING_PACKED_F_AVAIL (1u << 7)
#define VS_VRING_PACKED_F_USED (1u << 15)
#define VS_VRING_EVENT_F_ENABLE 0
#define VS_VRING_EVENT_F_DISABLE 1
#define VS_VRING_EVENT_F_DESC 2
#define VS_VQ_MAX_SIZE 32768
/* Packed rings remember each buffer's descriptor count by buffer id (the
 * used ring skips that many slots), so their size is bounded tighter. */
#define VS_VQ_PACKED_MAX_SIZE 1024
/* Segments of one chain the device accepts (what seg_max-style limits in
 * device configs are derived from). */
#define VS_VQ_MAX_IOV 256

struct vs_vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vs_vring_desc) == 16, "a descriptor is 16 bytes");

struct vs_vring_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};
_Static_assert(sizeof(struct vs_vring_packed_desc) == 16, "a packed descriptor is 16 bytes");

struct vs_vq {
	uint16_t size; /* 0: not enabled */
	bool event_idx, indirect;
	bool broken;
	bool packed;
	/* Split: free-running indices. Packed: ring positions (< size), each
	 * with its wrap counter below. */
	uint16_t last_avail; /* next available entry to take */
	uint16_t used_idx;   /* next used entry to fill */
	uint16_t signalled;  /* used_idx when the driver was last considered for a notification */
	/* Host views of the three areas, validated when enabled. */
	struct vs_vring_desc *desc;
	uint8_t *avail; /* split: flags, idx, ring[size], used_event; packed: driver event suppression */
	uint8_t *used;	/* split: flags, idx, ring[size] of {id, len}, avail_event; packed: device event
			   suppression */
	const struct vs_guest_mem *mem;
	/* Packed only. */
	bool avail_wrap, used_wrap, signalled_wrap;
	bool popped_wrap;			   /* avail_wrap before the last pop, for unpop */
	uint16_t popped_avail;			   /* last_avail before the last pop */
	uint32_t unsignalled;			   /* buffers pushed since the last notification check */
	uint16_t chain_len[VS_VQ_PACKED_MAX_SIZE]; /* ring slots of each buffer id in flight */
};

struct vs_vq_iov {
	uint8_t *base;
	uint32_t len;
};

/* One chain: readable segments first (out), then writable ones (in). */
struct vs_vq_elem {
	uint16_t head;
	uint16_t nout, nin;
	uint64_t out_len, in_len;
	struct vs_vq_iov iov[VS_VQ_MAX_IOV]; /* out segments, then in segments */
};

/* Validate and map the areas: size a power of two up to 32768, areas
 * aligned as the specification requires and inside guest RAM. Returns 0
 * or -EINVAL (the queue stays disabled). */
int vs_vq_enable(struct vs_vq *vq, const struct vs_guest_mem *mem, uint16_t size, uint64_t desc,
		 uint64_t avail, uint64_t used, bool event_idx, bool indirect);
/* The same for a packed ring: `desc` the descriptor ring, `driver` and
 * `device` the event suppression structures (section 2.8.10); size a
 * power of two up to VS_VQ_PACKED_MAX_SIZE. */
int vs_vq_enable_packed(struct vs_vq *vq, const struct vs_guest_mem *mem, uint16_t size, uint64_t desc,
			uint64_t driver, uint64_t device, bool event_idx, bool indirect);
void vs_vq_disable(struct vs_vq *vq);

/* Take the next available chain: 1 with `elem` filled, 0 when there is
 * none, -EINVAL when the guest broke the queue (vq->broken is then set
 * and every later call fails the same way). */
int vs_vq_pop(struct vs_vq *vq, struct vs_vq_elem *elem);
/* Give back the chain the last vs_vq_pop() took, unused: the next pop
 * returns it again (a device that cannot send it yet). */
void vs_vq_unpop(struct vs_vq *vq);
/* Return a chain with `written` bytes written into its in segments. */
void vs_vq_push(struct vs_vq *vq, uint16_t head, uint32_t written);
/* Whether the driver wants an interrupt for what was pushed since the
 * last call (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX). */
bool vs_vq_should_notify(struct vs_vq *vq);

/* Copy helpers over an element's segments; return bytes copied. */
uint64_t vs_vq_elem_read(const struct vs_vq_elem *e, uint64_t off, void *dst, uint64_t len);
uint64_t vs_vq_elem_write(const struct vs_vq_elem *e, uint64_t off, const void *src, uint64_t len);

#endif
