/* qcow2 cluster mapping: L1/L2 lookups (standard and extended entries),
 * L2 tables made or copied on write, entry updates and L1 growth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"

uint64_t qcow2_l2_entry(const struct qcow2 *s, const uint8_t *l2, uint64_t idx)
{
	return qcow2_be64(l2 + idx * s->l2_entry_size);
}

uint64_t qcow2_l2_bitmap(const struct qcow2 *s, const uint8_t *l2, uint64_t idx)
{
	return s->extl2 ? qcow2_be64(l2 + idx * s->l2_entry_size + 8) : 0;
}

void qcow2_compressed_range(const struct qcow2 *s, uint64_t e, uint64_t *off, uint64_t *len)
{
	unsigned x = 62 - (s->cluster_bits - 8);
	uint64_t nsec = (e >> x) & ((1ull << (62 - x)) - 1);
	*off = e & ((1ull << x) - 1);
	*len = (nsec + 1) * 512 - (*off & 511);
}

/* An entry pointing outside the file or into the header: hostile. */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void rebuild_meta(struct qcow2 *s)
{
	uint64_t n = 0;
	free(s->meta);
	s->meta = malloc((s->rt_entries + s->l1_size + 1) * 8);
	s->nmeta = 0;
	if (!s->meta)
		return;
	for (uint64_t i = 0; i < s->rt_entries; i++)
		if (s->rt[i])
			s->meta[n++] = s->rt[i];
	for (uint64_t i = 0; i < s->l1_size; i++)
		if (s->l1[i] & QCOW2_OFFSET_MASK)
			s->meta[n++] = s->l1[i] & QCOW2_OFFSET_MASK;
	qsort(s->meta, n, 8, cmp_u64);
	s->nmeta = n;
	s->meta_stale = false;
}

/* Whether a cluster-sized table starts in [off - cs + 1, off + len). */
static bool meta_hit(struct qcow2 *s, uint64_t off, uint64_t len)
{
	if (s->meta_stale || !s->meta)
		rebuild_meta(s);
	if (!s->meta)
		return true; /* no memory: refuse rather than risk it */
	uint64_t lo = off >= s->cluster_size ? off - s->cluster_size + 1 : 0, a = 0, b = s->nmeta;
	while (a < b) {
		uint64_t m = (a + b) / 2;
		if (s->meta[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	return a < s->nmeta && s->meta[a] < off + len;
}

const char *qcow2_metadata_at(struct qcow2 *s, uint64_t off, uint64_t len, bool deep)
{
	uint64_t cs = s->cluster_size;
	if (off < cs)
		return "header";
	if (overlaps(off, len, s->l1_offset, (uint64_t)s->l1_size * 8))
		return "active L1 table";
	if (overlaps(off, len, s->rt_offset, (uint64_t)s->rt_clusters * cs))
		return "refcount table";
	if (overlaps(off, len, s->snapshots_offset, s->snapshots_size))
		return "snapshot table";
	if (s->crypt && overlaps(off, len, s->crypt_offset, s->crypt_length))
		return "LUKS header";
	if (!deep)
		return NULL;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (overlaps(off, len, s->snapshots[i].l1_offset, (uint64_t)s->snapshots[i].l1_size * 8))
			return "snapshot L1 table";
	if (meta_hit(s, off, len))
		return "refcount blocks or L2 tables";
	return NULL;
}

bool qcow2_entry_bad(struct qcow2 *s, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t off, len;
		qcow2_compressed_range(s, e, &off, &len);
		return off < s->cluster_size || off + len > s->file_end + 512;
	}
	uint64_t off = e & QCOW2_OFFSET_MASK;
	if (!off)
		return false;
	/* A data cluster may end past the end of the file (only the
	 * subclusters written were): its start must lie inside. */
	return off % s->cluster_size || off < s->cluster_size || off >= s->file_end ||
	       qcow2_metadata_at(s, off, s->cluster_size, false);
}

static int l2_offset_ok(struct qcow2 *s, uint64_t l1i, uint64_t off)
{
	if (off % s->cluster_size || off < s->cluster_size || off + s->cluster_size > s->file_end) {
		qcow2_fail(s, "L1 entry %llu points outside the image (0x%llx)", (unsigned long long)l1i,
			   (unsigned long long)off);
		return -EIO;
	}
	return 0;
}

/* Status of one subcluster (extended L2) or cluster (standard). */
static enum qcow2_kind classify(const struct qcow2 *s, uint64_t e, uint64_t bitmap, unsigned sc)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return QCOW2_COMPRESSED;
	uint64_t off = e & QCOW2_OFFSET_MASK;
	if (s->extl2) {
		if (bitmap & (1ull << sc))
			return off ? QCOW2_NORMAL : QCOW2_UNALLOCATED; /* checked by the caller */
		return (bitmap >> 32) & (1ull << sc) ? QCOW2_ZERO : QCOW2_UNALLOCATED;
	}
	if ((e & QCOW2_OFLAG_ZERO) && s->version >= 3)
		return QCOW2_ZERO;
	return off ? QCOW2_NORMAL : QCOW2_UNALLOCATED;
}

static int check_entry(struct qcow2 *s, uint64_t guest, uint64_t e, uint64_t bitmap)
{
	if (qcow2_entry_bad(s, e)) {
		qcow2_fail(s, "L2 entry for guest offset 0x%llx points outside the image (0x%llx)",
			   (unsigned long long)guest, (unsigned long long)(e & ~QCOW2_OFLAG_COPIED));
		return -EIO;
	}
	if (s->extl2 && !(e & QCOW2_OFLAG_COMPRESSED) &&
	    (((bitmap & (bitmap >> 32)) & 0xffffffffu) ||
	     ((bitmap & 0xffffffffu) && !(e & QCOW2_OFFSET_MASK)))) {
		qcow2_fail(
		    s, "extended L2 entry for guest offset 0x%llx has an invalid subcluster bitmap 0x%llx",
		    (unsigned long long)guest, (unsigned long long)bitmap);
		return -EIO;
	}
	return 0;
}

int qcow2_get_mapping(struct qcow2 *s, uint64_t guest, uint64_t max, struct qcow2_map *m)
{
	uint64_t cs = s->cluster_size;
	uint64_t l1i = guest >> (s->cluster_bits + s->l2_bits);
	uint64_t l2_end = (l1i + 1) << (s->cluster_bits + s->l2_bits);
	uint64_t avail = l2_end - guest < max ? l2_end - guest : max;
	uint64_t l2off = l1i < s->l1_size ? s->l1[l1i] & QCOW2_OFFSET_MASK : 0;
	uint8_t *l2;
	memset(m, 0, sizeof(*m));
	if (!l2off) {
		m->kind = QCOW2_UNALLOCATED;
		m->bytes = avail;
		return 0;
	}
	int r = l2_offset_ok(s, l1i, l2off);
	if (r < 0)
		return r;
	r = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
	if (r < 0)
		return r;
	uint64_t idx = (guest >> s->cluster_bits) & (s->l2_entries - 1);
	uint64_t in = guest & (cs - 1);
	uint64_t e = qcow2_l2_entry(s, l2, idx), bm = qcow2_l2_bitmap(s, l2, idx);
	r = check_entry(s, guest, e, bm);
	if (r < 0)
		return r;
	unsigned sc = s->extl2 ? (unsigned)(in / s->subcluster_size) : 0;
	m->kind = classify(s, e, bm, sc);
	m->copied = e & QCOW2_OFLAG_COPIED;
	if (m->kind == QCOW2_COMPRESSED) {
		qcow2_compressed_range(s, e, &m->host_offset, &m->comp_len);
		m->bytes = cs - in < avail ? cs - in : avail;
		return 0;
	}
	if (m->kind == QCOW2_NORMAL)
		m->host_offset = (e & QCOW2_OFFSET_MASK) + in;
	if (s->extl2) {
		/* Subclusters of the same status that follow. */
		unsigned end = sc + 1;
		while (end < 32 && classify(s, e, bm, end) == m->kind)
			end++;
		uint64_t run = end * s->subcluster_size - in;
		m->bytes = run < avail ? run : avail;
		return 0;
	}
	/* Following clusters of the same kind (contiguous on the host for
	 * data), within this L2 table. */
	uint64_t bytes = cs - in;
	uint64_t expect = (e & QCOW2_OFFSET_MASK) + cs;
	for (uint64_t i = idx + 1; i < s->l2_entries && bytes < avail; i++) {
		uint64_t n = qcow2_l2_entry(s, l2, i);
		if (check_entry(s, guest + bytes, n, 0) < 0 || classify(s, n, 0, 0) != m->kind)
			break;
		if (m->kind == QCOW2_NORMAL &&
		    ((n & QCOW2_OFFSET_MASK) != expect || (bool)(n & QCOW2_OFLAG_COPIED) != m->copied))
			break;
		expect += cs;
		bytes += cs;
	}
	m->bytes = bytes < avail ? bytes : avail;
	return 0;
}

static int write_l1_entry(struct qcow2 *s, uint64_t l1i, uint64_t v)
{
	uint8_t b[8];
	qcow2_put64(b, v);
	int r = qcow2_pwrite(s, s->l1_offset + l1i * 8, b, 8);
	if (r == 0) {
		s->l1[l1i] = v;
		s->meta_stale = true;
	}
	return r;
}

int qcow2_write_l1(struct qcow2 *s)
{
	uint64_t *be = malloc((uint64_t)s->l1_size * 8 + 8);
	if (!be)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->l1_size; i++)
		qcow2_put64(&be[i], s->l1[i]);
	int r = qcow2_pwrite(s, s->l1_offset, be, (uint64_t)s->l1_size * 8);
	free(be);
	if (r == 0)
		s->l1_dirty = false;
	return r;
}

int qcow2_get_l2(struct qcow2 *s, uint64_t guest, bool alloc, uint8_t **l2, uint64_t *l2_offset)
{
	uint64_t l1i = guest >> (s->cluster_bits + s->l2_bits);
	uint64_t e = s->l1[l1i], off = e & QCOW2_OFFSET_MASK, rc = 0, fresh;
	int r;
	*l2 = NULL;
	if (off) {
		r = l2_offset_ok(s, l1i, off);
		if (r < 0)
			return r;
		if (!alloc || (e & QCOW2_OFLAG_COPIED))
			goto load;
		/* COPIED may be stale (snapshots deleted): trust the refcount. */
		r = qcow2_get_refcount(s, off >> s->cluster_bits, &rc);
		if (r < 0)
			return r;
		if (rc == 1) {
			r = write_l1_entry(s, l1i, off | QCOW2_OFLAG_COPIED);
			if (r < 0)
				return r;
			goto load;
		}
		/* Shared with a snapshot: copy it before the first write. */
		uint8_t *old;
		r = qcow2_cache_get(s, &s->l2_cache, off, &old);
		if (r < 0)
			return r;
		memcpy(s->cow_buf, old, s->cluster_size);
	} else if (!alloc) {
		return 0;
	} else {
		memset(s->cow_buf, 0, s->cluster_size);
	}
	r = qcow2_alloc_clusters(s, 1, &fresh);
	if (r < 0)
		return r;
	r = qcow2_pwrite(s, fresh, s->cow_buf, s->cluster_size);
	if (r < 0)
		return r;
	/* The table and its refcount must be durable before L1 points at it:
	 * the entry waits in memory for the next write-back's barrier. */
	s->l1[l1i] = fresh | QCOW2_OFLAG_COPIED;
	s->l1_dirty = s->meta_stale = true;
	if (off) {
		r = qcow2_update_refcounts(s, off >> s->cluster_bits, 1, -1);
		if (r < 0)
			return r;
	}
	uint8_t *slot;
	r = qcow2_cache_install(s, &s->l2_cache, fresh, &slot);
	if (r < 0)
		return r;
	memcpy(slot, s->cow_buf, s->cluster_size);
	*l2 = slot;
	*l2_offset = fresh;
	return 0;
load:
	*l2_offset = off;
	return qcow2_cache_get(s, &s->l2_cache, off, l2);
}

int qcow2_set_l2_entries(struct qcow2 *s, uint64_t l2_offset, uint8_t *l2, uint64_t idx, uint64_t n,
			 const uint64_t *entries, const uint64_t *bitmaps)
{
	for (uint64_t i = 0; i < n; i++) {
		qcow2_put64(l2 + (idx + i) * s->l2_entry_size, entries[i]);
		if (s->extl2)
			qcow2_put64(l2 + (idx + i) * s->l2_entry_size + 8, bitmaps ? bitmaps[i] : 0);
	}
	/* Entries may point at a cluster allocated since the last barrier:
	 * they wait in the cache (written back after one). */
	if (s->alloc_unsynced) {
		qcow2_cache_mark_dirty_range(&s->l2_cache, l2_offset, idx * s->l2_entry_size,
					     (idx + n) * s->l2_entry_size);
		return 0;
	}
	return qcow2_pwrite(s, l2_offset + idx * s->l2_entry_size, l2 + idx * s->l2_entry_size,
			    n * s->l2_entry_size);
}

int qcow2_free_entry(struct qcow2 *s, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t off, len;
		qcow2_compressed_range(s, e, &off, &len);
		return qcow2_free_range(s, off, len);
	}
	uint64_t off = e & QCOW2_OFFSET_MASK;
	return off ? qcow2_update_refcounts(s, off >> s->cluster_bits, 1, -1) : 0;
}

int qcow2_grow_l1(struct qcow2 *s, uint64_t min_entries)
{
	if (min_entries <= s->l1_size)
		return 0;
	if (min_entries * 8 > QCOW2_MAX_L1_BYTES) {
		qcow2_fail(s, "the L1 table would need %llu entries", (unsigned long long)min_entries);
		return -EFBIG;
	}
	uint64_t cs = s->cluster_size;
	uint64_t bytes = (min_entries * 8 + cs - 1) & ~(cs - 1);
	uint64_t *nl1 = calloc(bytes / 8, 8), *be = calloc(bytes / 8, 8);
	uint64_t off;
	int r = -ENOMEM;
	if (!nl1 || !be)
		goto out;
	memcpy(nl1, s->l1, (uint64_t)s->l1_size * 8);
	for (uint64_t i = 0; i < bytes / 8; i++)
		qcow2_put64(&be[i], nl1[i]);
	r = qcow2_alloc_clusters(s, bytes / cs, &off);
	if (r < 0)
		goto out;
	r = qcow2_pwrite(s, off, be, bytes);
	if (r < 0)
		goto out;
	if ((r = qcow2_fdatasync(s)) < 0) {
		goto out;
	}
	/* l1_size and l1_offset are adjacent: switched in one write. */
	uint8_t hdr[12];
	qcow2_put32(hdr, (uint32_t)min_entries);
	qcow2_put64(hdr + 4, off);
	r = qcow2_pwrite(s, QH_L1_SIZE, hdr, sizeof(hdr));
	if (r < 0)
		goto out;
	if ((r = qcow2_fdatasync(s)) < 0) {
		goto out;
	}
	uint64_t old_off = s->l1_offset, old_bytes = (uint64_t)s->l1_size * 8;
	free(s->l1);
	s->l1 = nl1;
	s->meta_stale = true;
	nl1 = NULL;
	s->l1_offset = off;
	s->l1_size = (uint32_t)min_entries;
	if (old_bytes)
		r = qcow2_free_range(s, old_off, old_bytes);
out:
	free(nl1);
	free(be);
	return r;
}
