#include "devices/virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

#include "devices/virtio/virtqueue_internal.h"

/* The rings are shared with vCPUs running the driver: every field is read
 * once, with an atomic load, and what was read is what gets validated
 * (a descriptor is copied before it is checked, so the guest cannot change
 * it in between). */

#define load16 vs_vq_load16
#define store16 vs_vq_store16

static uint16_t avail_idx(const struct vs_vq *vq)
{
	/* Acquire: the ring entries and descriptors the driver wrote before
	 * publishing idx are visible once idx is. */
	return load16(vq->avail + 2, __ATOMIC_ACQUIRE);
}

static void set_avail_event(struct vs_vq *vq, uint16_t v)
{
	store16(vq->used + 4 + 8 * (size_t)vq->size, v, __ATOMIC_RELAXED);
}

int vs_vq_enable(struct vs_vq *vq, const struct vs_guest_mem *mem, uint16_t size, uint64_t desc,
		 uint64_t avail, uint64_t used, bool event_idx, bool indirect)
{
	uint64_t extra = event_idx ? 2 : 0;
	memset(vq, 0, sizeof(*vq));
	if (size == 0 || (size & (size - 1)) || size > VS_VQ_MAX_SIZE)
		return -EINVAL;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	vq->desc = vs_gpa_ptr(mem, desc, 16ull * size);
	vq->avail = vs_gpa_ptr(mem, avail, 4 + 2ull * size + extra);
	vq->used = vs_gpa_ptr(mem, used, 4 + 8ull * size + extra);
	if (!vq->desc || !vq->avail || !vq->used) {
		memset(vq, 0, sizeof(*vq));
		return -EINVAL;
	}
	vq->mem = mem;
	vq->size = size;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	/* A fresh queue starts at 0 whatever the rings hold (section 2.7). */
	vq->last_avail = vq->used_idx = vq->signalled = 0;
	return 0;
}

void vs_vq_disable(struct vs_vq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

static int broken(struct vs_vq *vq)
{
	vq->broken = true;
	return -EINVAL;
}

void vs_vq_chain_start(struct vs_vq_elem *e, uint16_t head)
{
	e->head = head;
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
}

int vs_vq_chain_add(const struct vs_vq *vq, struct vs_vq_elem *e, uint64_t addr, uint32_t len, bool writable)
{
	uint8_t *p;
	if (!len)
		return 0; /* nothing to map: skipped */
	p = vs_gpa_ptr(vq->mem, addr, len);
	if (!p || (unsigned int)e->nout + e->nin >= VS_VQ_MAX_IOV)
		return -EINVAL;
	if (writable) {
		e->nin++;
		e->in_len += len;
	} else {
		if (e->nin)
			return -EINVAL; /* readable after writable */
		e->nout++;
		e->out_len += len;
	}
	e->iov[e->nout + e->nin - 1] = (struct vs_vq_iov){ p, len };
	return 0;
}

const void *vs_vq_indirect_table(const struct vs_vq *vq, uint64_t addr, uint32_t len)
{
	if (!vq->indirect || len == 0 || (len & 15) || len / 16 > VS_VQ_MAX_SIZE)
		return NULL;
	return vs_gpa_ptr(vq->mem, addr, len);
}

bool vs_vq_need_event(uint16_t event, uint16_t now, uint16_t old)
{
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

/* Walk the chain at `head`: direct descriptors, or one indirect table
 * (taking the place of the whole rest of the chain). */
static int walk_chain(struct vs_vq *vq, uint16_t head, struct vs_vq_elem *e)
{
	const struct vs_vring_desc *table = vq->desc;
	uint32_t max = vq->size, count = 0, i = head;
	bool in_indirect = false;

	vs_vq_chain_start(e, head);
	for (;;) {
		struct vs_vring_desc d;
		if (i >= max || ++count > max)
			return -EINVAL; /* out of the table, or a loop */
		memcpy(&d, &table[i], sizeof(d));
		if (d.flags & VS_VRING_DESC_F_INDIRECT) {
			/* Not negotiated, nested, or chained on (section 2.7.5.3.1). */
			if (in_indirect || (d.flags & VS_VRING_DESC_F_NEXT))
				return -EINVAL;
			table = vs_vq_indirect_table(vq, d.addr, d.len);
			if (!table)
				return -EINVAL;
			max = d.len / 16;
			count = 0;
			i = 0;
			in_indirect = true;
			continue;
		}
		if (vs_vq_chain_add(vq, e, d.addr, d.len, d.flags & VS_VRING_DESC_F_WRITE) < 0)
			return -EINVAL;
		if (!(d.flags & VS_VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int vs_vq_pop(struct vs_vq *vq, struct vs_vq_elem *elem)
{
	uint16_t idx, head;
	if (vq->broken || !vq->size)
		return -EINVAL;
	if (vq->packed)
		return vs_vq_packed_pop(vq, elem);
	idx = avail_idx(vq);
	if (idx == vq->last_avail) {
		if (!vq->event_idx)
			return 0;
		/* Ask to be notified for the next entry, then look again: the
		 * driver may have added one before it could see the request. */
		set_avail_event(vq, vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		idx = avail_idx(vq);
		if (idx == vq->last_avail)
			return 0;
	}
	if ((uint16_t)(idx - vq->last_avail) > vq->size)
		return broken(vq); /* more entries than the ring holds */
	head = load16(vq->avail + 4 + 2 * (size_t)(vq->last_avail % vq->size), __ATOMIC_RELAXED);
	if (walk_chain(vq, head, elem) < 0)
		return broken(vq);
	vq->last_avail++;
	if (vq->event_idx)
		set_avail_event(vq, vq->last_avail);
	return 1;
}

void vs_vq_unpop(struct vs_vq *vq)
{
	if (!vq->size || vq->broken)
		return;
	if (vq->packed)
		vs_vq_packed_unpop(vq);
	else
		vq->last_avail--;
}

void vs_vq_push(struct vs_vq *vq, uint16_t head, uint32_t written)
{
	uint8_t *u;
	uint32_t id = head;
	if (!vq->size || vq->broken)
		return;
	if (vq->packed) {
		vs_vq_packed_push(vq, head, written);
		return;
	}
	u = vq->used + 4 + 8 * (size_t)(vq->used_idx % vq->size);
	__atomic_store_n((uint32_t *)(void *)u, id, __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(void *)(u + 4), written, __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release: the entry (and the data written into the buffers) is
	 * visible before the index that publishes it. */
	store16(vq->used + 2, vq->used_idx, __ATOMIC_RELEASE);
}

bool vs_vq_should_notify(struct vs_vq *vq)
{
	uint16_t old = vq->signalled, now = vq->used_idx;
	if (vq->size && vq->packed)
		return vs_vq_packed_should_notify(vq);
	if (!vq->size || now == old)
		return false; /* nothing new to tell */
	/* The used index must be visible before the driver's flags/event
	 * are read, or both sides could decide not to act. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled = now;
	if (vq->event_idx) {
		uint16_t event = load16(vq->avail + 4 + 2 * (size_t)vq->size, __ATOMIC_RELAXED);
		/* vring_need_event: did `now` step past event since `old`? */
		return vs_vq_need_event(event, now, old);
	}
	return !(load16(vq->avail, __ATOMIC_RELAXED) & VS_VRING_AVAIL_F_NO_INTERRUPT);
}

uint64_t vs_vq_elem_read(const struct vs_vq_elem *e, uint64_t off, void *dst, uint64_t len)
{
	uint64_t done = 0;
	for (unsigned int i = 0; i < e->nout && done < len; i++) {
		uint64_t seg = e->iov[i].len, n;
		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = seg - off < len - done ? seg - off : len - done;
		memcpy((uint8_t *)dst + done, e->iov[i].base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t vs_vq_elem_write(const struct vs_vq_elem *e, uint64_t off, const void *src, uint64_t len)
{
	uint64_t done = 0;
	for (unsigned int i = e->nout; i < (unsigned int)e->nout + e->nin && done < len; i++) {
		uint64_t seg = e->iov[i].len, n;
		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = seg - off < len - done ? seg - off : len - done;
		memcpy(e->iov[i].base + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}
