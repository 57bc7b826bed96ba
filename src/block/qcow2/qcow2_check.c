/* qcow2 consistency check and repair: count every reference the metadata
 * makes (header, L1/L2 tables of the active state and of each snapshot,
 * data and compressed clusters, refcount structures, snapshot table) and
 * compare with the stored refcounts; then check the COPIED flags. Stored
 * counts above the references are leaks, below them corruptions. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2/qcow2.h"

struct check {
	struct qcow2 *s;
	struct vs_block_check *res;
	vs_block_report_fn report;
	void *ctx;
	uint32_t *refs;
	uint64_t nclusters;
	uint8_t *table;
};

static void say(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct check *c, const char *fmt, ...)
{
	char line[300];
	va_list ap;
	if (!c->report)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->report(c->ctx, line);
}

static void add_ref(struct check *c, uint64_t off, uint64_t len, const char *what)
{
	struct qcow2 *s = c->s;
	if (!len)
		return;
	uint64_t first = off >> s->cluster_bits, last = (off + len - 1) >> s->cluster_bits;
	for (uint64_t cl = first; cl <= last; cl++) {
		if (cl >= c->nclusters) {
			say(c, "ERROR %s at offset 0x%llx lies past the end of the image", what,
			    (unsigned long long)(cl << s->cluster_bits));
			c->res->corruptions++;
			return;
		}
		if (c->refs[cl] < UINT32_MAX)
			c->refs[cl]++;
	}
}

/* References from one L1 table and the L2 tables below it. */
static int walk_l1(struct check *c, uint64_t l1_off, uint32_t l1_size, bool active)
{
	struct qcow2 *s = c->s;
	uint64_t *l1 = calloc(l1_size ? l1_size : 1, 8);
	uint64_t prev = 0;
	if (!l1)
		return -ENOMEM;
	if (l1_size && qcow2_pread(s, l1_off, l1, (uint64_t)l1_size * 8) < 0) {
		free(l1);
		return -EIO;
	}
	add_ref(c, l1_off, (uint64_t)l1_size * 8, "L1 table");
	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t e = qcow2_be64(&l1[i]), l2off = e & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		if (l2off % s->cluster_size || l2off + s->cluster_size > s->file_end) {
			say(c, "ERROR L2 table offset 0x%llx (L1 index %u) is unaligned or past the end",
			    (unsigned long long)l2off, i);
			c->res->corruptions++;
			continue;
		}
		add_ref(c, l2off, s->cluster_size, "L2 table");
		if (qcow2_pread(s, l2off, c->table, s->cluster_size) < 0) {
			free(l1);
			return -EIO;
		}
		for (uint64_t j = 0; j < s->l2_entries; j++) {
			uint64_t le = qcow2_l2_entry(s, c->table, j);
			if (le & QCOW2_OFLAG_COMPRESSED) {
				uint64_t off, len;
				qcow2_compressed_range(s, le, &off, &len);
				add_ref(c, off, len, "compressed cluster");
				if (active) {
					c->res->allocated_clusters++;
					c->res->compressed_clusters++;
				}
				continue;
			}
			uint64_t off = le & QCOW2_OFFSET_MASK;
			if (!off)
				continue;
			if (off % s->cluster_size) {
				say(c, "ERROR data cluster offset 0x%llx is not cluster-aligned",
				    (unsigned long long)off);
				c->res->corruptions++;
				continue;
			}
			add_ref(c, off, s->cluster_size, "data cluster");
			if (active) {
				c->res->allocated_clusters++;
				if (prev && off != prev + s->cluster_size)
					c->res->fragmented_clusters++;
				prev = off;
			}
		}
	}
	free(l1);
	return 0;
}

static int fix_copied_l2(struct check *c, uint64_t l2off, uint64_t j, uint64_t le)
{
	struct qcow2 *s = c->s;
	uint8_t b[8];
	qcow2_put64(b, le ^ QCOW2_OFLAG_COPIED);
	qcow2_cache_drop(&s->l2_cache, l2off);
	return qcow2_pwrite(s, l2off + j * s->l2_entry_size, b, 8);
}

/* COPIED must be set exactly where the refcount is 1 (active state). */
static int check_copied(struct check *c, unsigned fix)
{
	struct qcow2 *s = c->s;
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t e = s->l1[i], l2off = e & QCOW2_OFFSET_MASK;
		if (!l2off || l2off % s->cluster_size || l2off + s->cluster_size > s->file_end)
			continue;
		uint64_t rc;
		if (qcow2_get_refcount(s, l2off >> s->cluster_bits, &rc) < 0)
			return -EIO;
		if ((rc == 1) != (bool)(e & QCOW2_OFLAG_COPIED)) {
			say(c, "ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%llx refcount=%llu", i,
			    (unsigned long long)e, (unsigned long long)rc);
			c->res->corruptions++;
			if (fix & VS_CHECK_FIX_ERRORS) {
				uint8_t b[8];
				s->l1[i] = e ^ QCOW2_OFLAG_COPIED;
				qcow2_put64(b, s->l1[i]);
				if (qcow2_pwrite(s, s->l1_offset + (uint64_t)i * 8, b, 8) < 0)
					return -EIO;
				c->res->corruptions_fixed++;
			}
		}
		if (qcow2_pread(s, l2off, c->table, s->cluster_size) < 0)
			return -EIO;
		for (uint64_t j = 0; j < s->l2_entries; j++) {
			uint64_t le = qcow2_l2_entry(s, c->table, j), off = le & QCOW2_OFFSET_MASK;
			if ((le & QCOW2_OFLAG_COMPRESSED) || !off || off % s->cluster_size)
				continue;
			if (qcow2_get_refcount(s, off >> s->cluster_bits, &rc) < 0)
				return -EIO;
			if ((rc == 1) != (bool)(le & QCOW2_OFLAG_COPIED)) {
				say(c, "ERROR OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu",
				    (unsigned long long)le, (unsigned long long)rc);
				c->res->corruptions++;
				if (fix & VS_CHECK_FIX_ERRORS) {
					if (fix_copied_l2(c, l2off, j, le) < 0)
						return -EIO;
					c->res->corruptions_fixed++;
				}
			}
		}
	}
	return 0;
}

static int compare_refcounts(struct check *c, unsigned fix)
{
	struct qcow2 *s = c->s;
	uint64_t covered = s->rt_entries << s->rb_bits;
	uint64_t end = c->nclusters > covered ? c->nclusters : covered;
	for (uint64_t cl = 0; cl < end; cl++) {
		uint64_t rc, ref = cl < c->nclusters ? c->refs[cl] : 0;
		/* Past the file and past every refcount block: all zero. */
		if (cl >= c->nclusters && (cl >> s->rb_bits) < s->rt_entries && !s->rt[cl >> s->rb_bits]) {
			cl = (((cl >> s->rb_bits) + 1) << s->rb_bits) - 1;
			continue;
		}
		if (qcow2_get_refcount(s, cl, &rc) < 0)
			return -EIO;
		if (ref)
			c->res->image_end_offset = (cl + 1) << s->cluster_bits;
		if (rc == ref)
			continue;
		bool leak = rc > ref;
		say(c, "%s cluster %llu refcount=%llu reference=%llu", leak ? "Leaked" : "ERROR",
		    (unsigned long long)cl, (unsigned long long)rc, (unsigned long long)ref);
		if (leak)
			c->res->leaks++;
		else
			c->res->corruptions++;
		if (!(fix & (leak ? VS_CHECK_FIX_LEAKS : VS_CHECK_FIX_ERRORS)))
			continue;
		if ((cl >> s->rb_bits) >= s->rt_entries || !s->rt[cl >> s->rb_bits]) {
			say(c, "ERROR cannot repair cluster %llu: it has no refcount block",
			    (unsigned long long)cl);
			c->res->check_errors = true;
			continue;
		}
		if (ref > s->refcount_max)
			ref = s->refcount_max;
		if (qcow2_update_refcounts(s, cl, 1, (int64_t)(ref - rc)) < 0) {
			c->res->check_errors = true;
			continue;
		}
		if (leak)
			c->res->leaks_fixed++;
		else
			c->res->corruptions_fixed++;
	}
	return 0;
}

static int run_check(struct qcow2 *s, unsigned fix, struct vs_block_check *res, vs_block_report_fn report,
		     void *ctx)
{
	struct check c = { .s = s, .res = res, .report = report, .ctx = ctx };
	int r = -ENOMEM;
	c.nclusters = (s->file_end + s->cluster_size - 1) >> s->cluster_bits;
	c.refs = calloc(c.nclusters ? c.nclusters : 1, sizeof(*c.refs));
	c.table = malloc(s->cluster_size);
	if (!c.refs || !c.table)
		goto out;
	res->total_clusters = (s->size + s->cluster_size - 1) >> s->cluster_bits;
	add_ref(&c, 0, s->cluster_size, "header");
	r = walk_l1(&c, s->l1_offset, s->l1_size, true);
	for (uint32_t i = 0; r == 0 && i < s->nb_snapshots; i++)
		r = walk_l1(&c, s->snapshots[i].l1_offset, s->snapshots[i].l1_size, false);
	if (r < 0)
		goto out;
	add_ref(&c, s->snapshots_offset, s->snapshots_size, "snapshot table");
	if (s->crypt_method == 2)
		add_ref(&c, s->crypt_offset, s->crypt_length, "LUKS header");
	add_ref(&c, s->rt_offset, (uint64_t)s->rt_clusters * s->cluster_size, "refcount table");
	for (uint64_t i = 0; i < s->rt_entries; i++)
		if (s->rt[i])
			add_ref(&c, s->rt[i], s->cluster_size, "refcount block");
	r = compare_refcounts(&c, fix);
	/* Repaired counts are durable before flags that follow them. */
	if (r == 0 && fix)
		r = qcow2_fdatasync(s);
	if (r == 0)
		r = check_copied(&c, fix);
out:
	free(c.refs);
	free(c.table);
	if (r < 0)
		res->check_errors = true;
	return r;
}

int qcow2_check(struct vs_block *bs, unsigned fix, struct vs_block_check *res, vs_block_report_fn report,
		void *ctx, struct vs_error *err)
{
	struct qcow2 *s = bs->opaque;
	if (qcow2_write_back_for(s, err) < 0)
		return -1;
	int r = run_check(s, fix, res, report, ctx);
	if (r < 0)
		return vs_error_set(err, -r, "check `%s`%s%s", bs->filename, bs->last_error[0] ? ": " : "",
				    bs->last_error);
	if (!fix)
		return 0;
	/* Count again after repairs: the result is what is left. */
	struct vs_block_check after = { 0 };
	r = run_check(s, 0, &after, NULL, NULL);
	if (r < 0)
		return vs_error_set(err, -r, "re-check `%s`", bs->filename);
	after.leaks_fixed = res->leaks_fixed;
	after.corruptions_fixed = res->corruptions_fixed;
	*res = after;
	if (!res->corruptions && !res->check_errors &&
	    (s->incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)) && (fix & VS_CHECK_FIX_ERRORS)) {
		/* The repairs reach the disk before the bits that asked for them go. */
		r = qcow2_fdatasync(s);
		if (r == 0)
			r = qcow2_write_incompat(s, s->incompat &
							~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT));
		if (r < 0)
			return vs_error_set(err, -r, "clear the dirty and corrupt bits");
	}
	return 0;
}
