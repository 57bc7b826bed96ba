/* For the virtio fuzzers that check what a device writes into guest
 * memory (virtio-rng, virtio-console): split-ring chains of any shape
 * (1 to 8 segments, either direction in any order, lengths from 0 to
 * 4 GiB, addresses inside or outside guest RAM, through an indirect
 * table, looping, nested indirection) and a shadow of the watched area
 * (indirect tables and buffers) that catches any byte the device changed
 * outside every writable segment the guest ever offered. Once the input
 * scribbles on the rings themselves, the writable set is unknown and the
 * area checks stop (the device must still not crash). Header-only. */
#ifndef VESSEL_FUZZ_CHAIN_H
#define VESSEL_FUZZ_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "fuzz_virtio.h"

#define FUZZ_WATCH_RANGES 1024
#define FUZZ_IND_LEN 0x1000u /* indirect tables: the watched area's first page */

struct fuzz_watch {
	const struct vs_guest_mem *mem;
	uint64_t base, len; /* indirect tables, then buffers */
	uint8_t *shadow;    /* what the guest last put there */
	uint64_t wr[FUZZ_WATCH_RANGES][2];
	int nwr;
	uint64_t rings, rings_len; /* the rings' area */
	bool dirty;		   /* the rings were written directly, or handed to the device */
};

/* Watch [base, base + len); the rings live in [rings, rings + rings_len). */
static inline void fuzz_watch_init(struct fuzz_watch *w, const struct vs_guest_mem *mem, uint64_t rings,
				   uint64_t rings_len, uint64_t base, uint64_t len)
{
	static uint8_t *shadow;
	static uint64_t shadow_len;
	if (shadow_len < len) {
		free(shadow);
		if (!(shadow = calloc(1, len)))
			abort();
		shadow_len = len;
	}
	*w = (struct fuzz_watch){
		.mem = mem, .base = base, .len = len, .shadow = shadow, .rings = rings, .rings_len = rings_len
	};
	memset(vs_gpa_ptr(mem, base, len), 0, len);
	memset(shadow, 0, len);
}

static inline uint64_t fuzz_watch_bufs(const struct fuzz_watch *w)
{
	return w->base + FUZZ_IND_LEN;
}

static inline uint64_t fuzz_watch_bufs_len(const struct fuzz_watch *w)
{
	return w->len - FUZZ_IND_LEN;
}

/* The guest writes `len` bytes at gpa (mirrored into the shadow when in
 * the watched area). */
static inline void fuzz_watch_put(struct fuzz_watch *w, uint64_t gpa, const void *src, size_t len)
{
	uint8_t *p = vs_gpa_ptr(w->mem, gpa, len);
	if (!p)
		return;
	memcpy(p, src, len);
	if (gpa >= w->base && gpa - w->base + len <= w->len)
		memcpy(w->shadow + (gpa - w->base), src, len);
}

static inline void fuzz_watch_writable(struct fuzz_watch *w, uint64_t addr, uint64_t len)
{
	/* A segment over the rings (an address from the input may land
	 * there): the device may write the guest's own used ring, as the
	 * guest asked, so the ring checks no longer hold. */
	if (addr < w->rings + w->rings_len && addr + len > w->rings)
		w->dirty = true;
	if (w->nwr == FUZZ_WATCH_RANGES) {
		w->dirty = true;
		return;
	}
	w->wr[w->nwr][0] = addr;
	w->wr[w->nwr][1] = addr + len;
	w->nwr++;
}

/* Input bytes into guest memory: one write in four lands on the rings
 * (`rings`, `rings_len`: their area), the others in the watched area. */
static inline void fuzz_watch_guest_write(struct fuzz_watch *w, uint64_t rings, uint64_t rings_len,
					  struct fuzz_input *in)
{
	uint8_t sel = (uint8_t)fuzz_take(in, 1), buf[256];
	uint64_t off = fuzz_take(in, 3);
	size_t len = (size_t)fuzz_take(in, 1), i;
	for (i = 0; i < len && in->n; i++)
		buf[i] = (uint8_t)fuzz_take(in, 1);
	if ((sel & 3) == 0) {
		uint8_t *p = vs_gpa_ptr(w->mem, rings + off % rings_len, i);
		if (p)
			memcpy(p, buf, i);
		w->dirty = true;
	} else {
		fuzz_watch_put(w, w->base + off % (w->len - i), buf, i);
	}
}

/* Every byte of the watched area the device changed since the last call
 * lies in a writable segment; then the shadow catches up. */
static inline void fuzz_watch_check(struct fuzz_watch *w)
{
	const uint8_t *g = vs_gpa_ptr(w->mem, w->base, w->len);
	if (!w->dirty)
		for (uint64_t off = 0; off < w->len; off += 256) {
			uint64_t n = w->len - off < 256 ? w->len - off : 256;
			if (!memcmp(g + off, w->shadow + off, n))
				continue;
			for (uint64_t i = off; i < off + n; i++) {
				bool ok = g[i] == w->shadow[i];
				for (int k = 0; k < w->nwr && !ok; k++)
					ok = w->base + i >= w->wr[k][0] && w->base + i < w->wr[k][1];
				if (!ok)
					abort(); /* the device wrote where the guest did not let it */
			}
		}
	memcpy(w->shadow, g, w->len);
}

/* One segment's address and length from the input. */
static inline void fuzz_chain_seg(struct fuzz_watch *w, struct fuzz_input *in, struct vs_vring_desc *d)
{
	uint8_t lk = (uint8_t)fuzz_take(in, 1);
	uint64_t bufs = fuzz_watch_bufs(w), blen = fuzz_watch_bufs_len(w);
	d->addr = lk & 4 ? fuzz_take(in, 5) : bufs + fuzz_take(in, 3) % blen;
	switch (lk & 3) {
	case 0:
		d->len = (uint32_t)fuzz_take(in, 1);
		break;
	case 1:
		d->len = (uint32_t)(fuzz_take(in, 2) % 0x1001);
		break;
	case 2:
		d->len = (uint32_t)fuzz_take(in, 4); /* up to 4 GiB */
		break;
	default: /* to the end of the buffers */
		d->len = d->addr >= bufs && d->addr < bufs + blen ? (uint32_t)(bufs + blen - d->addr) : 0;
		break;
	}
}

/* A chain on the split ring at `rings` (descriptors; available ring at
 * +0x1000) of `qs` entries, published. `indirect`: whether the driver
 * negotiated indirect descriptors (the input may use them anyway). */
static inline void fuzz_chain_add(struct fuzz_watch *w, uint64_t rings, uint16_t qs, struct fuzz_input *in)
{
	uint16_t first = (uint16_t)(fuzz_take(in, 1) % qs);
	uint8_t shape = (uint8_t)fuzz_take(in, 1), wbits = (uint8_t)fuzz_take(in, 1);
	int n = 1 + (shape & 7);
	bool ind = shape & 0x40, hostile = shape & 0x80;
	struct vs_vring_desc d[8];
	for (int i = 0; i < n; i++) {
		d[i] =
		    (struct vs_vring_desc){ .flags =
						(uint16_t)((i + 1 < n ? VS_VRING_DESC_F_NEXT : 0) |
							   (wbits & (1 << i) ? VS_VRING_DESC_F_WRITE : 0)) };
		fuzz_chain_seg(w, in, &d[i]);
		if (d[i].flags & VS_VRING_DESC_F_WRITE)
			fuzz_watch_writable(w, d[i].addr, d[i].len);
	}
	if (ind) {
		/* The table somewhere in the first page, its entries 0..n-1. */
		uint64_t table = w->base + (fuzz_take(in, 1) % (FUZZ_IND_LEN / 16 - 8)) * 16;
		struct vs_vring_desc head = { .addr = table,
					      .len = 16u * (uint32_t)n,
					      .flags = VS_VRING_DESC_F_INDIRECT };
		for (int i = 0; i < n; i++) {
			d[i].next = (uint16_t)(i + 1);
			if (hostile && i == n - 1) /* a loop, or indirection inside the table */
				d[i].flags |= (uint16_t)(shape & 0x20 ? VS_VRING_DESC_F_INDIRECT
								      : VS_VRING_DESC_F_NEXT);
			fuzz_watch_put(w, table + 16ull * (uint64_t)i, &d[i], 16);
		}
		if (hostile && (shape & 0x10))
			head.len = (uint32_t)fuzz_take(in, 4); /* a table length that is no table's */
		memcpy(vs_gpa_ptr(w->mem, rings + 16ull * first, 16), &head, 16);
	} else {
		for (int i = 0; i < n; i++) {
			d[i].next = (uint16_t)((first + i + 1) % qs);
			if (hostile && i == n - 1) {
				d[i].flags |= VS_VRING_DESC_F_NEXT;
				d[i].next = (uint16_t)(shape & 0x20 ? first : fuzz_take(in, 2));
			}
			memcpy(vs_gpa_ptr(w->mem, rings + 16ull * ((first + i) % qs), 16), &d[i], 16);
		}
	}
	fuzz_vring_publish(w->mem, rings, qs, first);
}

/* The used entries the device added since *seen: heads inside the ring,
 * lengths at most `max_len`. Returns the sum of their lengths (of the
 * last `qs` when there were more; 0 once the rings were scribbled on). */
static inline uint64_t fuzz_used_check(const struct fuzz_watch *w, uint64_t rings, uint16_t qs,
				       uint16_t *seen, uint32_t max_len)
{
	const uint8_t *used = vs_gpa_ptr(w->mem, rings + 0x2000, 4 + 8ull * qs);
	uint16_t idx, n;
	uint64_t sum = 0;
	memcpy(&idx, used + 2, 2);
	n = (uint16_t)(idx - *seen);
	if (!w->dirty)
		for (uint16_t i = n > qs ? (uint16_t)(n - qs) : 0; i < n; i++) {
			uint32_t e[2];
			memcpy(e, used + 4 + 8 * ((uint16_t)(*seen + i) % qs), 8);
			if (e[0] >= qs || e[1] > max_len)
				abort();
			sum += e[1];
		}
	*seen = idx;
	return sum;
}

#endif
