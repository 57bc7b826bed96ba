/* Packed virtqueues (virtio 1.2 section 2.8), device side. One ring of
 * descriptors serves both directions: the driver makes a buffer available
 * by writing its descriptors in ring order and flipping the first one's
 * AVAIL/USED bits to match its wrap counter last; the device takes it and
 * later writes one used descriptor (buffer id, length, both bits equal to
 * its own wrap counter) at its own position, skipping as many slots as
 * the buffer took. Buffers may complete in any order, so the device
 * remembers each buffer's slot count by id.
 *
 * As for split rings, every value comes from the guest: each descriptor
 * is copied once and the copy validated; a bad chain breaks the queue. */
#include <errno.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "devices/virtio/virtqueue_internal.h"

/* Offsets in a descriptor and in an event suppression structure. */
#define DESC_ID 12
#define DESC_FLAGS 14
#define EVENT_OFF_WRAP 0
#define EVENT_FLAGS 2
#define EVENT_WRAP_BIT 15

int vs_vq_enable_packed(struct vs_vq *vq, const struct vs_guest_mem *mem, uint16_t size, uint64_t desc,
			uint64_t driver, uint64_t device, bool event_idx, bool indirect)
{
	memset(vq, 0, sizeof(*vq));
	if (size == 0 || (size & (size - 1)) || size > VS_VQ_PACKED_MAX_SIZE)
		return -EINVAL;
	if ((desc & 15) || (driver & 3) || (device & 3))
		return -EINVAL;
	vq->desc = vs_gpa_ptr(mem, desc, 16ull * size);
	vq->avail = vs_gpa_ptr(mem, driver, 4);
	vq->used = vs_gpa_ptr(mem, device, 4);
	if (!vq->desc || !vq->avail || !vq->used) {
		memset(vq, 0, sizeof(*vq));
		return -EINVAL;
	}
	vq->mem = mem;
	vq->size = size;
	vq->packed = true;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	/* Both wrap counters start at 1 (section 2.8.1). */
	vq->avail_wrap = vq->used_wrap = vq->signalled_wrap = true;
	/* The device always wants notifications: it takes every available
	 * buffer when notified, so asking for each one costs nothing more. */
	vs_vq_store16(vq->used + EVENT_FLAGS, VS_VRING_EVENT_F_ENABLE, __ATOMIC_RELAXED);
	vs_vq_store16(vq->used + EVENT_OFF_WRAP, 0, __ATOMIC_RELAXED);
	return 0;
}

static uint8_t *slot(const struct vs_vq *vq, uint16_t i)
{
	return (uint8_t *)&vq->desc[i];
}

/* A descriptor is available when AVAIL matches the wrap counter the
 * device expects and USED does not (section 2.8.1). */
static bool is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VS_VRING_PACKED_F_AVAIL) == wrap && !!(flags & VS_VRING_PACKED_F_USED) != wrap;
}

/* The entries of an indirect table follow each other: NEXT means nothing
 * there, and nesting another table is not allowed (section 2.8.7). */
static int walk_indirect(struct vs_vq *vq, struct vs_vq_elem *e, uint64_t addr, uint32_t len)
{
	const struct vs_vring_packed_desc *table = vs_vq_indirect_table(vq, addr, len);
	if (!table)
		return -EINVAL;
	for (uint32_t i = 0; i < len / 16; i++) {
		struct vs_vring_packed_desc d;
		memcpy(&d, &table[i], sizeof(d));
		if (d.flags & VS_VRING_DESC_F_INDIRECT)
			return -EINVAL;
		if (vs_vq_chain_add(vq, e, d.addr, d.len, d.flags & VS_VRING_DESC_F_WRITE) < 0)
			return -EINVAL;
	}
	return 0;
}

static int broken(struct vs_vq *vq)
{
	vq->broken = true;
	return -EINVAL;
}

int vs_vq_packed_pop(struct vs_vq *vq, struct vs_vq_elem *e)
{
	uint16_t pos = vq->last_avail, n = 0;
	bool wrap = vq->avail_wrap;
	struct vs_vring_packed_desc d;
	/* Acquire: the first descriptor's flags are written last; what the
	 * driver wrote before them is visible once they are. */
	if (!is_avail(vs_vq_load16(slot(vq, pos) + DESC_FLAGS, __ATOMIC_ACQUIRE), wrap))
		return 0;
	vs_vq_chain_start(e, 0);
	for (;;) {
		memcpy(&d, slot(vq, pos), sizeof(d));
		if (++n > vq->size)
			return broken(vq); /* NEXT all the way round the ring */
		if (++pos == vq->size) {
			pos = 0;
			wrap = !wrap;
		}
		if (d.flags & VS_VRING_DESC_F_INDIRECT) {
			/* A table stands for the whole buffer (section 2.8.7). */
			if (n != 1 || (d.flags & VS_VRING_DESC_F_NEXT) ||
			    walk_indirect(vq, e, d.addr, d.len) < 0)
				return broken(vq);
			break;
		}
		if (vs_vq_chain_add(vq, e, d.addr, d.len, d.flags & VS_VRING_DESC_F_WRITE) < 0)
			return broken(vq);
		if (!(d.flags & VS_VRING_DESC_F_NEXT))
			break;
	}
	/* The buffer id is in the last descriptor (section 2.8.6); ids name
	 * slots of our per-buffer record, so they must be below the size. */
	if (d.id >= vq->size)
		return broken(vq);
	e->head = d.id;
	vq->chain_len[d.id] = n;
	vq->popped_avail = vq->last_avail;
	vq->popped_wrap = vq->avail_wrap;
	vq->last_avail = pos;
	vq->avail_wrap = wrap;
	return 1;
}

void vs_vq_packed_unpop(struct vs_vq *vq)
{
	vq->last_avail = vq->popped_avail;
	vq->avail_wrap = vq->popped_wrap;
}

void vs_vq_packed_push(struct vs_vq *vq, uint16_t id, uint32_t written)
{
	uint8_t *u = slot(vq, vq->used_idx);
	uint16_t flags = vq->used_wrap ? VS_VRING_PACKED_F_AVAIL | VS_VRING_PACKED_F_USED : 0;
	uint16_t n = id < vq->size ? vq->chain_len[id] : 0;
	if (!n)
		return; /* not a buffer this device took: nothing to give back */
	vq->chain_len[id] = 0;
	__atomic_store_n((uint32_t *)(void *)(u + 8), written, __ATOMIC_RELAXED);
	vs_vq_store16(u + DESC_ID, id, __ATOMIC_RELAXED);
	/* Release: the id, the length and the data written into the buffer
	 * are visible before the flags that hand the slot back. */
	vs_vq_store16(u + DESC_FLAGS, flags, __ATOMIC_RELEASE);
	vq->unsignalled++;
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	if (vq->used_idx >= vq->size) {
		vq->used_idx = (uint16_t)(vq->used_idx - vq->size);
		vq->used_wrap = !vq->used_wrap;
	}
}

bool vs_vq_packed_should_notify(struct vs_vq *vq)
{
	uint16_t old = vq->signalled, now = vq->used_idx, flags, off_wrap, event;
	bool old_wrap = vq->signalled_wrap, lapped = vq->unsignalled >= vq->size;
	if (!vq->unsignalled)
		return false; /* nothing new to tell */
	/* The used descriptors must be visible before the driver's event
	 * structure is read, or both sides could decide not to act. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled = now;
	vq->signalled_wrap = vq->used_wrap;
	vq->unsignalled = 0;
	flags = vs_vq_load16(vq->avail + EVENT_FLAGS, __ATOMIC_RELAXED) & 3;
	if (flags == VS_VRING_EVENT_F_ENABLE)
		return true;
	if (flags != VS_VRING_EVENT_F_DESC || !vq->event_idx)
		return flags != VS_VRING_EVENT_F_DISABLE; /* reserved values: notify rather than hang */
	if (lapped)
		return true; /* positions alone cannot tell how far we went */
	/* The driver wants an interrupt once the used position passes the
	 * descriptor off_wrap names. Positions wrap at the ring size, so an
	 * event in the other lap is moved one ring back to compare them as
	 * vring_need_event does (a wrap in between only errs towards an
	 * extra interrupt). */
	off_wrap = vs_vq_load16(vq->avail + EVENT_OFF_WRAP, __ATOMIC_RELAXED);
	event = off_wrap & 0x7fff;
	if (!!(off_wrap >> EVENT_WRAP_BIT) != vq->used_wrap)
		event = (uint16_t)(event - vq->size);
	if (old_wrap != vq->used_wrap)
		old = (uint16_t)(old - vq->size);
	return vs_vq_need_event(event, now, old);
}
