/* qcow2 internal snapshots: create, apply (revert to) and delete.
 *
 * A snapshot is a copy of the active L1 table; every L2 table and data
 * cluster reachable from an L1 table holds one reference for it, so a
 * write after a snapshot copies what it shares. Every operation raises
 * counts before the new pointers exist and lowers them after the old ones
 * are gone: a crash leaves leaks, never a cluster in use with a count too
 * low. COPIED flags of the active tables follow the counts (refcount 1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"

/* Add `addend` to everything reachable from an L1 table (host order
 * entries); with `active`, also make the COPIED flags match the counts. */
static int update_tree(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, int addend, bool active)
{
	if (addend && active) {
		int r = update_tree(s, l1, l1_size, addend, false);
		return r < 0 ? r : update_tree(s, l1, l1_size, 0, true);
	}
	qcow2_drain_fast(s);
	/* Counts wait in the refcount cache: the flags that follow them are
	 * written once the counts are durable. */
	int r = active ? qcow2_fdatasync(s) : 0;
	uint8_t *t = malloc(s->cluster_size);
	if (r < 0)
		return r;
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < l1_size && r == 0; i++) {
		uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK, rc;
		bool changed = false;
		if (!l2off)
			continue;
		r = qcow2_pread(s, l2off, t, s->cluster_size);
		for (uint64_t j = 0; r == 0 && j < s->l2_entries; j++) {
			uint64_t e = qcow2_l2_entry(s, t, j), off = e & QCOW2_OFFSET_MASK;
			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t coff, clen;
				qcow2_compressed_range(s, e, &coff, &clen);
				if (addend) {
					uint64_t a = coff >> s->cluster_bits,
						 b = (coff + clen - 1) >> s->cluster_bits;
					r = qcow2_update_refcounts(s, a, b - a + 1, addend);
				}
				continue;
			}
			if (!off)
				continue;
			if (addend)
				r = qcow2_update_refcounts(s, off >> s->cluster_bits, 1, addend);
			if (r == 0 && active) {
				r = qcow2_get_refcount(s, off >> s->cluster_bits, &rc);
				uint64_t ne = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
				if (ne != e) {
					qcow2_put64(t + j * s->l2_entry_size, ne);
					changed = true;
				}
			}
		}
		if (r == 0 && changed) {
			qcow2_cache_drop(&s->l2_cache, l2off);
			r = qcow2_pwrite(s, l2off, t, s->cluster_size);
		}
		if (r == 0 && addend)
			r = qcow2_update_refcounts(s, l2off >> s->cluster_bits, 1, addend);
		if (r == 0 && active) {
			r = qcow2_get_refcount(s, l2off >> s->cluster_bits, &rc);
			uint64_t ne =
			    rc == 1 ? s->l1[i] | QCOW2_OFLAG_COPIED : s->l1[i] & ~QCOW2_OFLAG_COPIED;
			if (r == 0 && ne != s->l1[i]) {
				uint8_t b[8];
				qcow2_put64(b, ne);
				r = qcow2_pwrite(s, s->l1_offset + (uint64_t)i * 8, b, 8);
				s->l1[i] = ne;
			}
		}
	}
	free(t);
	/* Raised counts are durable before anything points with them. */
	if (r == 0 && addend > 0)
		r = qcow2_fdatasync(s);
	return r;
}

static int read_l1(struct qcow2 *s, uint64_t off, uint32_t n, uint64_t **out)
{
	uint64_t *t = calloc(n ? n : 1, 8);
	if (!t)
		return -ENOMEM;
	int r = n ? qcow2_pread(s, off, t, (uint64_t)n * 8) : 0;
	for (uint32_t i = 0; r == 0 && i < n; i++)
		t[i] = qcow2_be64(&t[i]);
	if (r < 0)
		free(t);
	else
		*out = t;
	return r;
}

/* Write an L1 table (host order) to fresh clusters. */
static int write_l1_copy(struct qcow2 *s, const uint64_t *l1, uint32_t n, uint64_t *off)
{
	*off = 0;
	if (!n)
		return 0;
	uint64_t bytes = ((uint64_t)n * 8 + s->cluster_size - 1) & ~(s->cluster_size - 1);
	uint64_t *be = calloc(bytes / 8, 8);
	if (!be)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		qcow2_put64(&be[i], l1[i]);
	int r = qcow2_alloc_clusters(s, bytes >> s->cluster_bits, off);
	if (r == 0)
		r = qcow2_pwrite(s, *off, be, bytes);
	free(be);
	return r;
}

/* Serialize the snapshot list and switch the header to it. */
static int write_table(struct qcow2 *s, struct qcow2_snapshot *list, uint32_t n)
{
	uint64_t size = 0, off = 0;
	for (uint32_t i = 0; i < n; i++)
		size += (40 + 16 + strlen(list[i].id) + strlen(list[i].name) + 7) & ~7ull;
	uint8_t *buf = calloc(1, size ? size : 1), *p = buf;
	int r = 0;
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct qcow2_snapshot *sn = &list[i];
		size_t il = strlen(sn->id), nl = strlen(sn->name);
		qcow2_put64(p, sn->l1_offset);
		qcow2_put32(p + 8, sn->l1_size);
		qcow2_put16(p + 12, (uint16_t)il);
		qcow2_put16(p + 14, (uint16_t)nl);
		qcow2_put32(p + 16, sn->date_sec);
		qcow2_put32(p + 20, sn->date_nsec);
		qcow2_put64(p + 24, sn->vm_clock_nsec);
		qcow2_put32(p + 32, sn->vm_state_size > UINT32_MAX ? 0 : (uint32_t)sn->vm_state_size);
		qcow2_put32(p + 36, 16);
		qcow2_put64(p + 40, sn->vm_state_size);
		qcow2_put64(p + 48, sn->disk_size);
		memcpy(p + 56, sn->id, il);
		memcpy(p + 56 + il, sn->name, nl);
		p += (56 + il + nl + 7) & ~7ull;
	}
	if (size) {
		r = qcow2_alloc_clusters(s, (size + s->cluster_size - 1) >> s->cluster_bits, &off);
		if (r == 0)
			r = qcow2_pwrite(s, off, buf, size);
	}
	free(buf);
	if (r == 0)
		r = qcow2_fdatasync(s);
	if (r < 0)
		return r;
	uint8_t hdr[12];
	qcow2_put32(hdr, n);
	qcow2_put64(hdr + 4, off);
	r = qcow2_pwrite(s, 60, hdr, sizeof(hdr));
	if (r == 0)
		r = qcow2_fdatasync(s);
	if (r < 0)
		return r;
	uint64_t old_off = s->snapshots_offset, old_size = s->snapshots_size;
	s->snapshots_offset = off;
	s->snapshots_size = size;
	return old_size ? qcow2_free_range(s, old_off, old_size) : 0;
}

static struct qcow2_snapshot *find(struct qcow2 *s, const char *name)
{
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (strcmp(s->snapshots[i].id, name) == 0)
			return &s->snapshots[i];
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (strcmp(s->snapshots[i].name, name) == 0)
			return &s->snapshots[i];
	return NULL;
}

static int fail(struct vs_block *bs, struct vs_error *err, int r, const char *what)
{
	return vs_error_set(err, -r, "%s `%s`%s%s", what, bs->filename, bs->last_error[0] ? ": " : "",
			    bs->last_error);
}

int qcow2_snapshot_create(struct vs_block *bs, const char *name, struct vs_error *err)
{
	struct qcow2 *s = bs->opaque;
	if (qcow2_write_back_for(s, err) < 0)
		return -1;
	struct timespec now;
	uint64_t l1copy;
	unsigned long max_id = 0;
	if (strlen(name) > 1000)
		return vs_error_msg(err, "snapshot name too long");
	if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return vs_error_msg(err, "`%s` has the most snapshots allowed", bs->filename);
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		unsigned long id = strtoul(s->snapshots[i].id, NULL, 10);
		if (id > max_id)
			max_id = id;
	}
	struct qcow2_snapshot *list = calloc(s->nb_snapshots + 1, sizeof(*list));
	char id[24];
	if (!list)
		return vs_error_set(err, ENOMEM, "snapshot");
	snprintf(id, sizeof(id), "%lu", max_id + 1);
	int r = update_tree(s, s->l1, s->l1_size, 1, true);
	if (r == 0)
		r = write_l1_copy(s, s->l1, s->l1_size, &l1copy);
	if (r < 0) {
		free(list);
		return fail(bs, err, r, "snapshot");
	}
	if (s->nb_snapshots)
		memcpy(list, s->snapshots, s->nb_snapshots * sizeof(*list));
	clock_gettime(CLOCK_REALTIME, &now);
	struct qcow2_snapshot *sn = &list[s->nb_snapshots];
	*sn = (struct qcow2_snapshot){ .l1_offset = l1copy,
				       .l1_size = s->l1_size,
				       .id = strdup(id),
				       .name = strdup(name),
				       .disk_size = s->size,
				       .date_sec = (uint32_t)now.tv_sec,
				       .date_nsec = (uint32_t)now.tv_nsec };
	if (!sn->id || !sn->name) {
		free(sn->id);
		free(sn->name);
		free(list);
		return vs_error_set(err, ENOMEM, "snapshot");
	}
	r = write_table(s, list, s->nb_snapshots + 1);
	if (r < 0) {
		free(sn->id);
		free(sn->name);
		free(list);
		return fail(bs, err, r, "snapshot");
	}
	free(s->snapshots);
	s->snapshots = list;
	s->nb_snapshots++;
	return 0;
}

int qcow2_snapshot_apply(struct vs_block *bs, const char *name, struct vs_error *err)
{
	struct qcow2 *s = bs->opaque;
	if (qcow2_write_back_for(s, err) < 0)
		return -1;
	struct qcow2_snapshot *sn = find(s, name);
	uint64_t *snl1 = NULL, *old = NULL;
	if (!sn)
		return vs_error_msg(err, "`%s` has no snapshot `%s`", bs->filename, name);
	int r = qcow2_grow_l1(s, sn->l1_size);
	if (r == 0)
		r = read_l1(s, sn->l1_offset, sn->l1_size, &snl1);
	if (r == 0 && !(old = malloc((uint64_t)s->l1_size * 8 + 8)))
		r = -ENOMEM;
	if (r == 0) {
		memcpy(old, s->l1, (uint64_t)s->l1_size * 8);
		r = update_tree(s, snl1, sn->l1_size, 1, false);
	}
	if (r == 0) {
		/* The active table takes the snapshot's entries in place. */
		uint64_t bytes = (uint64_t)s->l1_size * 8;
		uint64_t *be = calloc(s->l1_size ? s->l1_size : 1, 8);
		if (!be) {
			r = -ENOMEM;
		} else {
			memset(s->l1, 0, bytes);
			memcpy(s->l1, snl1, (uint64_t)sn->l1_size * 8);
			s->meta_stale = true;
			for (uint32_t i = 0; i < s->l1_size; i++)
				qcow2_put64(&be[i], s->l1[i]);
			r = bytes ? qcow2_pwrite(s, s->l1_offset, be, bytes) : 0;
			free(be);
		}
	}
	if (r == 0)
		r = update_tree(s, old, s->l1_size, -1, false);
	if (r == 0)
		r = update_tree(s, s->l1, s->l1_size, 0, true);
	if (r == 0 && sn->disk_size != s->size) {
		uint8_t b[8];
		qcow2_put64(b, sn->disk_size);
		r = qcow2_pwrite(s, QH_SIZE, b, 8);
		if (r == 0)
			s->size = bs->size = sn->disk_size;
	}
	for (unsigned i = 0; i < s->l2_cache.n; i++)
		s->l2_cache.slots[i].offset = 0;
	free(snl1);
	free(old);
	return r < 0 ? fail(bs, err, r, "apply snapshot to") : 0;
}

int qcow2_snapshot_delete(struct vs_block *bs, const char *name, struct vs_error *err)
{
	struct qcow2 *s = bs->opaque;
	if (qcow2_write_back_for(s, err) < 0)
		return -1;
	struct qcow2_snapshot *sn = find(s, name);
	uint64_t *snl1 = NULL;
	if (!sn)
		return vs_error_msg(err, "`%s` has no snapshot `%s`", bs->filename, name);
	struct qcow2_snapshot gone = *sn;
	uint32_t idx = (uint32_t)(sn - s->snapshots);
	int r = read_l1(s, gone.l1_offset, gone.l1_size, &snl1);
	if (r < 0)
		return fail(bs, err, r, "delete snapshot from");
	/* Out of the table first, then its references go. */
	memmove(&s->snapshots[idx], &s->snapshots[idx + 1], (s->nb_snapshots - idx - 1) * sizeof(*sn));
	s->nb_snapshots--;
	r = write_table(s, s->snapshots, s->nb_snapshots);
	if (r == 0)
		r = update_tree(s, snl1, gone.l1_size, -1, false);
	if (r == 0 && gone.l1_size)
		r = qcow2_free_range(s, gone.l1_offset, (uint64_t)gone.l1_size * 8);
	if (r == 0)
		r = update_tree(s, s->l1, s->l1_size, 0, true);
	free(gone.id);
	free(gone.name);
	free(snl1);
	return r < 0 ? fail(bs, err, r, "delete snapshot from") : 0;
}

int qcow2_snapshot_list(struct vs_block *bs, struct vs_block_snapshot **out, unsigned *n)
{
	struct qcow2 *s = bs->opaque;
	struct vs_block_snapshot *l = calloc(s->nb_snapshots ? s->nb_snapshots : 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		const struct qcow2_snapshot *sn = &s->snapshots[i];
		snprintf(l[i].id, sizeof(l[i].id), "%s", sn->id);
		snprintf(l[i].name, sizeof(l[i].name), "%s", sn->name);
		l[i].vm_state_size = sn->vm_state_size;
		l[i].date_sec = sn->date_sec;
		l[i].date_nsec = sn->date_nsec;
		l[i].vm_clock_nsec = sn->vm_clock_nsec;
		l[i].disk_size = sn->disk_size;
	}
	*out = l;
	*n = s->nb_snapshots;
	return 0;
}
