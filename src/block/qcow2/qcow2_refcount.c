/* qcow2 refcounts: reading and updating entries of every width
 * (refcount_order 0..6), cluster allocation, refcount blocks made on
 * demand (self-describing) and refcount table growth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"

uint64_t qcow2_get_refcount_entry(const struct qcow2 *s, const uint8_t *b, uint64_t i)
{
	switch (s->refcount_order) {
	case 0:
	case 1:
	case 2: {
		unsigned bits = 1u << s->refcount_order;
		uint64_t bit = i * bits;
		/* Sub-byte entries: bit 0 is the least significant bit. */
		return (b[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
	case 3:
		return b[i];
	case 4:
		return qcow2_be16(b + 2 * i);
	case 5:
		return qcow2_be32(b + 4 * i);
	default:
		return qcow2_be64(b + 8 * i);
	}
}

void qcow2_put_refcount_entry(struct qcow2 *s, uint8_t *b, uint64_t i, uint64_t v)
{
	switch (s->refcount_order) {
	case 0:
	case 1:
	case 2: {
		unsigned bits = 1u << s->refcount_order;
		uint64_t bit = i * bits;
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
		b[bit / 8] = (uint8_t)((b[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
		break;
	}
	case 3:
		b[i] = (uint8_t)v;
		break;
	case 4:
		qcow2_put16(b + 2 * i, (uint16_t)v);
		break;
	case 5:
		qcow2_put32(b + 4 * i, (uint32_t)v);
		break;
	default:
		qcow2_put64(b + 8 * i, v);
		break;
	}
}

static int load_block(struct qcow2 *s, uint64_t bi, uint8_t **block)
{
	uint64_t off = s->rt[bi];
	if (off % s->cluster_size || off + s->cluster_size > s->file_end || off < s->cluster_size) {
		qcow2_fail(s, "refcount table entry %llu points outside the image (0x%llx)",
			   (unsigned long long)bi, (unsigned long long)off);
		return -EIO;
	}
	return qcow2_cache_get(s, &s->rb_cache, off, block);
}

int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *out)
{
	uint64_t bi = cluster >> s->rb_bits;
	uint8_t *block;
	if (bi >= s->rt_entries || !s->rt[bi]) {
		*out = 0;
		return 0;
	}
	int r = load_block(s, bi, &block);
	if (r < 0)
		return r;
	*out = qcow2_get_refcount_entry(s, block, cluster & (s->rb_entries - 1));
	return 0;
}

/* Byte range of a block holding entries [first, last]. */
static void entry_bytes(const struct qcow2 *s, uint64_t first, uint64_t last, uint64_t *start, uint64_t *end)
{
	uint64_t bits = 1ull << s->refcount_order;
	*start = first * bits / 8;
	*end = ((last + 1) * bits + 7) / 8;
}

int qcow2_sync(struct qcow2 *s)
{
	int r = qcow2_cache_write_back(s, &s->rb_cache);
	if (r < 0)
		return r;
	if (!s->unsynced && !s->alloc_unsynced)
		return 0;
	if (!s->unsafe && fdatasync(s->fd) < 0)
		return -errno;
	s->unsynced = s->alloc_unsynced = false;
	return 0;
}

int qcow2_fdatasync(struct qcow2 *s)
{
	int r = qcow2_cache_write_back(s, &s->rb_cache);
	if (r < 0)
		return r;
	if (fdatasync(s->fd) < 0)
		return -errno;
	s->unsynced = s->alloc_unsynced = false;
	return 0;
}

bool qcow2_lazy_active(const struct qcow2 *s)
{
	return s->lazy && (s->incompat & QCOW2_INCOMPAT_DIRTY);
}

/* Only refcounts raised since the last sync need one: entries written
 * after a barrier into clusters it already covered need no other. */
int qcow2_barrier(struct qcow2 *s)
{
	return qcow2_lazy_active(s) || !s->alloc_unsynced ? 0 : qcow2_sync(s);
}

int qcow2_write_back(struct qcow2 *s)
{
	int r = qcow2_cache_write_back(s, &s->rb_cache);
	if (r < 0 || (!s->l1_dirty && !qcow2_cache_has_dirty(&s->l2_cache)))
		return r;
	/* One barrier for everything pending. New L2 tables need theirs
	 * even under lazy refcounts: a stale cluster read as a table would
	 * be corruption, not a leak. */
	r = s->l1_dirty && s->alloc_unsynced ? qcow2_sync(s) : qcow2_barrier(s);
	if (r == 0)
		r = qcow2_cache_write_back(s, &s->l2_cache);
	if (r == 0 && s->l1_dirty)
		r = qcow2_write_l1(s);
	return r;
}

int qcow2_write_back_for(struct qcow2 *s, struct vs_error *err)
{
	int r = qcow2_write_back(s);
	return r < 0 ? vs_error_set(err, -r, "write back the metadata of `%s`", s->bs->filename) : 0;
}

/* Before a refcount changes under lazy refcounts: the dirty bit is set
 * (and durable), so a crash makes the next open rebuild the counts. */
static int mark_dirty(struct qcow2 *s)
{
	if (s->incompat & QCOW2_INCOMPAT_DIRTY)
		return 0;
	int r = qcow2_write_incompat(s, s->incompat | QCOW2_INCOMPAT_DIRTY);
	return r < 0 ? r : qcow2_fdatasync(s);
}

/* Before a refcount is lowered the pointers removed from the cluster must
 * be durable, or a power cut could leave a pointer to a free (then
 * reused) cluster: pending L2 entries are written back, then a sync. */
static int before_lowering(struct qcow2 *s)
{
	if (qcow2_lazy_active(s))
		return 0;
	int r = qcow2_write_back(s);
	return r < 0 ? r : qcow2_sync(s);
}

int qcow2_update_refcounts(struct qcow2 *s, uint64_t first, uint64_t n, int64_t delta)
{
	uint64_t c = first, end = first + n;
	int r0 = s->lazy ? mark_dirty(s) : 0;
	if (r0 == 0 && delta < 0)
		r0 = before_lowering(s);
	if (r0 < 0)
		return r0;
	/* Pointers made with a raised count wait for a barrier. */
	if (delta > 0)
		s->alloc_unsynced = true;
	while (c < end) {
		uint64_t bi = c >> s->rb_bits;
		uint64_t block_end = (bi + 1) << s->rb_bits;
		uint64_t stop = end < block_end ? end : block_end;
		uint8_t *block;
		if (bi >= s->rt_entries || !s->rt[bi]) {
			qcow2_fail(s, "cluster %llu has no refcount block", (unsigned long long)c);
			return -EIO;
		}
		int r = load_block(s, bi, &block);
		if (r < 0)
			return r;
		uint64_t i0 = c & (s->rb_entries - 1), i1 = (stop - 1) & (s->rb_entries - 1);
		for (uint64_t i = i0; i <= i1; i++) {
			uint64_t v = qcow2_get_refcount_entry(s, block, i);
			if ((delta < 0 && v < (uint64_t)-delta) ||
			    (delta > 0 && s->refcount_max - v < (uint64_t)delta)) {
				/* Undo the entries already changed in memory. */
				for (uint64_t j = i0; j < i; j++)
					qcow2_put_refcount_entry(s, block, j,
								 qcow2_get_refcount_entry(s, block, j) -
								     (uint64_t)delta);
				qcow2_fail(s, "refcount of cluster %llu would %s",
					   (unsigned long long)((bi << s->rb_bits) + i),
					   delta < 0 ? "drop below zero" : "overflow");
				return delta < 0 ? -EIO : -ERANGE;
			}
			uint64_t nv = v + (uint64_t)delta;
			qcow2_put_refcount_entry(s, block, i, nv);
			if (nv == 0) {
				uint64_t cl = (bi << s->rb_bits) + i;
				if (cl < s->free_hint)
					s->free_hint = cl;
				qcow2_cache_drop(&s->l2_cache, cl << s->cluster_bits);
			}
		}
		uint64_t b0, b1;
		entry_bytes(s, i0, i1, &b0, &b1);
		/* Written back by the next barrier, eviction or flush. */
		qcow2_cache_mark_dirty_range(&s->rb_cache, s->rt[bi], b0, b1);
		c = stop;
	}
	return 0;
}

int qcow2_free_range(struct qcow2 *s, uint64_t off, uint64_t len)
{
	if (!len)
		return 0;
	uint64_t first = off >> s->cluster_bits, last = (off + len - 1) >> s->cluster_bits;
	return qcow2_update_refcounts(s, first, last - first + 1, -1);
}

static void note_end(struct qcow2 *s, uint64_t end_cluster)
{
	uint64_t end = end_cluster << s->cluster_bits;
	if (end > s->file_end)
		s->file_end = end;
}

static int write_rt_entry(struct qcow2 *s, uint64_t bi, uint64_t off)
{
	uint8_t b[8];
	qcow2_put64(b, off);
	int r = qcow2_pwrite(s, s->rt_offset + bi * 8, b, 8);
	if (r == 0) {
		s->rt[bi] = off;
		s->meta_stale = true;
	}
	return r;
}

/* A refcount block for range `bi`, stored at cluster `at` inside that
 * range (free, since the range had no block) and counting itself. */
static int make_refblock(struct qcow2 *s, uint64_t bi, uint64_t at)
{
	uint8_t *block;
	uint64_t off = at << s->cluster_bits;
	int r = qcow2_cache_install(s, &s->rb_cache, off, &block);
	if (r < 0)
		return r;
	memset(block, 0, s->cluster_size);
	qcow2_put_refcount_entry(s, block, at & (s->rb_entries - 1), 1);
	r = qcow2_pwrite(s, off, block, s->cluster_size);
	if (r < 0) {
		qcow2_cache_drop(&s->rb_cache, off);
		return r;
	}
	note_end(s, at + 1);
	/* The block is durable before the table points at it. */
	r = qcow2_sync(s);
	return r < 0 ? r : write_rt_entry(s, bi, off);
}

static bool block_missing(const struct qcow2 *s, uint64_t bi)
{
	return bi >= s->rt_entries || !s->rt[bi];
}

/* Grow the refcount table to at least `min_entries`: the new table and the
 * refcount blocks that count it go to the end of the file, the header is
 * switched over in one write, then the old table is released. */
static int grow_table(struct qcow2 *s, uint64_t min_entries)
{
	uint64_t per_cluster = s->cluster_size / 8;
	uint64_t want = min_entries > s->rt_entries * 2 ? min_entries : s->rt_entries * 2;
	uint64_t m = (want + per_cluster - 1) / per_cluster, k = 0;
	uint64_t t = (s->file_end + s->cluster_size - 1) >> s->cluster_bits;
	for (;;) {
		uint64_t missing = 0, last_bi = (t + m + k - 1) >> s->rb_bits;
		for (uint64_t bi = t >> s->rb_bits; bi <= last_bi; bi++)
			missing += block_missing(s, bi);
		if (last_bi >= m * per_cluster) {
			m++;
			continue;
		}
		if (missing <= k)
			break;
		k = missing;
	}
	if (m * s->cluster_size > QCOW2_MAX_RT_BYTES) {
		qcow2_fail(s, "refcount table would exceed %u bytes", QCOW2_MAX_RT_BYTES);
		return -EFBIG;
	}
	uint64_t entries = m * per_cluster;
	uint64_t *nt = calloc(entries, 8);
	uint8_t *blk = malloc(s->cluster_size);
	int r = -ENOMEM;
	if (!nt || !blk)
		goto out;
	memcpy(nt, s->rt, s->rt_entries * 8);
	/* New blocks at t+m.., each counting the clusters of [t, t+m+k) in
	 * its range; existing blocks get their counts raised in place. */
	uint64_t next_block = t + m, first = t, end = t + m + k;
	for (uint64_t bi = first >> s->rb_bits; bi <= (end - 1) >> s->rb_bits; bi++) {
		uint64_t lo = bi << s->rb_bits, hi = (bi + 1) << s->rb_bits;
		if (lo < first)
			lo = first;
		if (hi > end)
			hi = end;
		if (!block_missing(s, bi)) {
			r = qcow2_update_refcounts(s, lo, hi - lo, 1);
			if (r < 0)
				goto out;
			continue;
		}
		memset(blk, 0, s->cluster_size);
		for (uint64_t c = lo; c < hi; c++)
			qcow2_put_refcount_entry(s, blk, c & (s->rb_entries - 1), 1);
		nt[bi] = next_block << s->cluster_bits;
		r = qcow2_pwrite(s, nt[bi], blk, s->cluster_size);
		if (r < 0)
			goto out;
		next_block++;
	}
	for (uint64_t i = 0; i < entries; i++) {
		uint64_t v = nt[i];
		qcow2_put64(&nt[i], v);
	}
	r = qcow2_pwrite(s, t << s->cluster_bits, nt, entries * 8);
	for (uint64_t i = 0; i < entries; i++)
		nt[i] = qcow2_be64(&nt[i]);
	if (r < 0)
		goto out;
	if ((r = qcow2_fdatasync(s)) < 0) {
		goto out;
	}
	uint8_t hdr[12];
	qcow2_put64(hdr, t << s->cluster_bits);
	qcow2_put32(hdr + 8, (uint32_t)m);
	r = qcow2_pwrite(s, QH_RT_OFFSET, hdr, sizeof(hdr));
	if (r < 0)
		goto out;
	if ((r = qcow2_fdatasync(s)) < 0) {
		goto out;
	}
	uint64_t old_off = s->rt_offset, old_clusters = s->rt_clusters;
	free(s->rt);
	s->rt = nt;
	s->meta_stale = true;
	nt = NULL;
	s->rt_entries = entries;
	s->rt_offset = t << s->cluster_bits;
	s->rt_clusters = (uint32_t)m;
	note_end(s, end);
	r = qcow2_update_refcounts(s, old_off >> s->cluster_bits, old_clusters, -1);
out:
	free(nt);
	free(blk);
	return r;
}

/* A refcount block for range `bi` placed outside [start, start + n), the
 * run being allocated (blocks inside it would break its contiguity).
 * Sets *restart when the table had to grow (the run may now be taken). */
static int make_refblock_outside(struct qcow2 *s, uint64_t bi, uint64_t start, uint64_t n, bool *restart)
{
	for (uint64_t x = s->free_hint;; x++) {
		uint64_t rc;
		if (x >= start && x < start + n) {
			x = start + n - 1;
			continue;
		}
		int r = qcow2_get_refcount(s, x, &rc);
		if (r < 0)
			return r;
		if (rc)
			continue;
		uint64_t bx = x >> s->rb_bits;
		if (bx >= s->rt_entries) {
			*restart = true;
			return grow_table(s, bx + 1);
		}
		if (!s->rt[bx]) {
			/* x's own range has no block either: x counts itself. */
			r = make_refblock(s, bx, x);
			if (r < 0 || bx == bi)
				return r;
			continue;
		}
		r = qcow2_update_refcounts(s, x, 1, 1);
		if (r < 0)
			return r;
		uint8_t *block;
		uint64_t off = x << s->cluster_bits;
		r = qcow2_cache_install(s, &s->rb_cache, off, &block);
		if (r < 0)
			return r;
		memset(block, 0, s->cluster_size);
		r = qcow2_pwrite(s, off, block, s->cluster_size);
		if (r < 0) {
			qcow2_cache_drop(&s->rb_cache, off);
			return r;
		}
		note_end(s, x + 1);
		/* The block and its count are durable before the table points
		 * at it. */
		r = qcow2_sync(s);
		return r < 0 ? r : write_rt_entry(s, bi, off);
	}
}

int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *offset)
{
	for (unsigned tries = 0;; tries++) {
		uint64_t start = s->free_hint, c = start, first_free = UINT64_MAX;
		if (tries > 1000) {
			qcow2_fail(s, "cannot allocate %llu clusters", (unsigned long long)n);
			return -EIO;
		}
		while (c - start < n) {
			uint64_t rc;
			int r = qcow2_get_refcount(s, c, &rc);
			if (r < 0)
				return r;
			if (rc)
				start = c + 1;
			else if (first_free == UINT64_MAX)
				first_free = c;
			c++;
		}
		if (first_free != UINT64_MAX && first_free > s->free_hint)
			s->free_hint = first_free;
		uint64_t last_bi = (start + n - 1) >> s->rb_bits;
		if (last_bi >= s->rt_entries) {
			int r = grow_table(s, last_bi + 1);
			if (r < 0)
				return r;
			continue;
		}
		/* Every range the run touches needs a refcount block first. */
		bool restart = false;
		for (uint64_t bi = start >> s->rb_bits; bi <= last_bi && !restart; bi++) {
			if (s->rt[bi])
				continue;
			int r = make_refblock_outside(s, bi, start, n, &restart);
			if (r < 0)
				return r;
		}
		if (restart)
			continue;
		/* Free by its refcount yet holding metadata: the counts are
		 * wrong, and writing there would destroy the image. */
		const char *what = qcow2_metadata_at(s, start << s->cluster_bits, n << s->cluster_bits, true);
		if (what) {
			qcow2_fail(
			    s,
			    "refusing to allocate cluster %llu: it holds the %s (refcounts are inconsistent; "
			    "the image is marked corrupt)",
			    (unsigned long long)start, what);
			qcow2_write_incompat(s, s->incompat | QCOW2_INCOMPAT_CORRUPT);
			return -EIO;
		}
		int r = qcow2_update_refcounts(s, start, n, 1);
		if (r < 0)
			return r;
		s->alloc_unsynced = true; /* L2 entries for it wait for a barrier */
		if (start == s->free_hint)
			s->free_hint = start + n;
		note_end(s, start + n);
		*offset = start << s->cluster_bits;
		return 0;
	}
}
