/* qemu-img amend for qcow2: compat=0.10|1.1, lazy_refcounts=on|off and
 * LUKS key slots (encrypt.state=active|inactive). See qcow2_amend.h for
 * the order of the writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "block/qcow2/qcow2.h"
#include "block/qcow2/qcow2_amend.h"

#define V3_HEADER_LEN 112 /* 104 and the compression type, padded (as qemu) */

static const struct {
	uint8_t type, bit;
	const char *name;
} feature_table[] = {
	{ 0, 0, "dirty bit" },	      { 0, 1, "corrupt bit" },	       { 0, 2, "external data file" },
	{ 0, 3, "compression type" }, { 0, 4, "extended L2 entries" }, { 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },	      { 2, 1, "raw external data" },
};

static int fail(struct qcow2 *s, int r, const char *what, struct vs_error *err)
{
	return vs_error_set(err, -r, "`%s`: %s", s->bs->filename, what);
}

/* The first cluster's used bytes (header, extensions, backing name). */
static int read_header_cluster(struct qcow2 *s, uint8_t **buf, size_t *have)
{
	size_t cs = (size_t)s->cluster_size;
	*have = s->file_end < cs ? (size_t)s->file_end : cs;
	*buf = calloc(1, cs);
	if (!*buf)
		return -ENOMEM;
	int r = qcow2_pread(s, 0, *buf, *have);
	if (r < 0) {
		free(*buf);
		*buf = NULL;
	}
	return r;
}

/* Is there a header extension of this type? */
static int has_extension(struct qcow2 *s, uint32_t want, bool *found)
{
	uint8_t *b;
	size_t have;
	int r = read_header_cluster(s, &b, &have);
	*found = false;
	if (r < 0)
		return r;
	for (size_t e = s->header_length; e + 8 <= have;) {
		uint32_t type = qcow2_be32(b + e), len = qcow2_be32(b + e + 4);
		if (type == QCOW2_EXT_END)
			break;
		if (type == want)
			*found = true;
		e += 8 + ((len + 7ull) & ~7ull);
	}
	free(b);
	return 0;
}

/* Rewrite the first cluster as a version 2 or 3 header: the fields the
 * versions share are kept, the extensions too (the feature-name table
 * only in version 3), then the backing file name. One write, one sync. */
static int rewrite_header(struct qcow2 *s, uint32_t version, uint64_t compat, struct vs_error *err)
{
	size_t cs = (size_t)s->cluster_size, have;
	uint8_t *old = NULL, *h = calloc(1, cs);
	int r = h ? read_header_cluster(s, &old, &have) : -ENOMEM;
	if (r < 0)
		goto out;
	memcpy(h, old, QCOW2_HEADER_V2_LEN);
	qcow2_put32(h + 4, version);
	size_t off = QCOW2_HEADER_V2_LEN;
	if (version >= 3) {
		/* incompat and autoclear 0, refcount_order 4 (16 bits, the
		 * only width version 2 has), compression type zlib. */
		qcow2_put64(h + QH_COMPAT, compat);
		qcow2_put32(h + 96, 4);
		qcow2_put32(h + 100, V3_HEADER_LEN);
		off = V3_HEADER_LEN;
	}
	for (size_t e = s->header_length; e + 8 <= have;) {
		uint32_t type = qcow2_be32(old + e), len = qcow2_be32(old + e + 4);
		size_t total = 8 + ((len + 7ull) & ~7ull);
		if (type == QCOW2_EXT_END)
			break;
		if (e + total > have || off + total > cs) {
			r = -ENOSPC;
			goto out;
		}
		if (type != QCOW2_EXT_FEATURE_TABLE) {
			memcpy(h + off, old + e, total);
			off += total;
		}
		e += total;
	}
	uint32_t tlen = (uint32_t)(sizeof(feature_table) / sizeof(feature_table[0]) * 48);
	if (version >= 3 && off + 8 + tlen + 8 + s->backing_len <= cs) {
		qcow2_put32(h + off, QCOW2_EXT_FEATURE_TABLE);
		qcow2_put32(h + off + 4, tlen);
		for (size_t i = 0; i < sizeof(feature_table) / sizeof(feature_table[0]); i++) {
			uint8_t *f = h + off + 8 + i * 48;
			f[0] = feature_table[i].type;
			f[1] = feature_table[i].bit;
			memcpy(f + 2, feature_table[i].name, strlen(feature_table[i].name));
		}
		off += 8 + tlen;
	}
	off += 8; /* end of the extensions */
	if (off + s->backing_len > cs) {
		r = -ENOSPC;
		goto out;
	}
	if (s->backing_len)
		memcpy(h + off, s->backing_file, s->backing_len);
	qcow2_put64(h + QH_BACKING_OFFSET, s->backing_len ? off : 0);
	size_t used = off + s->backing_len > have ? off + s->backing_len : have;
	r = qcow2_pwrite(s, 0, h, used);
	if (r == 0)
		r = qcow2_sync(s);
	if (r < 0)
		goto out;
	s->version = version;
	s->header_length = version >= 3 ? V3_HEADER_LEN : QCOW2_HEADER_V2_LEN;
	s->compat = version >= 3 ? compat : 0;
	s->incompat = s->autoclear = 0;
	s->backing_offset = s->backing_len ? off : 0;
out:
	free(old);
	free(h);
	if (r == -ENOSPC)
		return vs_error_msg(err, "`%s`: the version %u header does not fit in the first cluster",
				    s->bs->filename, version);
	return r < 0 ? fail(s, r, "rewrite the header", err) : 0;
}

/* Refcounts on disk and the dirty bit clear; lazy refcounts stop for the
 * rest of this session (every later refcount change is ordered). */
static int make_clean(struct qcow2 *s, struct vs_error *err)
{
	int r = qcow2_write_back(s);
	if (r == 0)
		r = qcow2_sync(s);
	if (r == 0 && (s->incompat & QCOW2_INCOMPAT_DIRTY)) {
		r = qcow2_write_incompat(s, s->incompat & ~QCOW2_INCOMPAT_DIRTY);
		if (r == 0)
			r = qcow2_sync(s);
	}
	if (r < 0)
		return fail(s, r, "write back the refcounts", err);
	s->lazy = false;
	return 0;
}

static int write_compat(struct qcow2 *s, uint64_t compat, struct vs_error *err)
{
	uint8_t b[8];
	qcow2_put64(b, compat);
	int r = qcow2_pwrite(s, QH_COMPAT, b, 8);
	if (r == 0)
		r = qcow2_sync(s);
	if (r < 0)
		return fail(s, r, "write the compatible features", err);
	s->compat = compat;
	return 0;
}

/* Snapshot entries of version 3 carry at least 16 bytes of extra data
 * (the large VM state size and the disk size); version 2 ones may not. */
static int snapshots_v3_ready(struct qcow2 *s, struct vs_error *err)
{
	uint64_t off = s->snapshots_offset;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		uint8_t h[40];
		int r = qcow2_pread(s, off, h, sizeof(h));
		if (r < 0)
			return fail(s, r, "read the snapshot table", err);
		uint32_t extra = qcow2_be32(h + 36);
		if (extra < 16)
			return vs_error_msg(
			    err,
			    "compat=1.1: snapshot %u has %u bytes of extra data, version 3 "
			    "needs 16 (vessel does not rewrite the snapshot table: use qemu-img "
			    "amend, or delete the snapshots first)",
			    i, extra);
		uint64_t len = 40 + (uint64_t)extra + qcow2_be16(h + 12) + qcow2_be16(h + 14);
		off += (len + 7) & ~7ull;
	}
	return 0;
}

/* Zero clusters in the L2 tables of a snapshot: version 2 cannot express
 * them and vessel does not rewrite snapshot tables. */
static int snapshot_zero_clusters(struct qcow2 *s, struct vs_error *err)
{
	uint64_t *l1 = NULL;
	int r = 0;
	for (uint32_t i = 0; i < s->nb_snapshots && r == 0; i++) {
		const struct qcow2_snapshot *sn = &s->snapshots[i];
		if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES)
			return vs_error_msg(err, "snapshot `%s`: L1 table too large", sn->name);
		free(l1);
		l1 = malloc((size_t)sn->l1_size * 8 + 8);
		if (!l1)
			return vs_error_set(err, ENOMEM, "snapshot L1 table");
		r = qcow2_pread(s, sn->l1_offset, l1, (size_t)sn->l1_size * 8);
		if (r < 0) {
			r = fail(s, r, "read a snapshot's L1 table", err);
			break;
		}
		for (uint32_t j = 0; j < sn->l1_size && r == 0; j++) {
			uint64_t l2off = qcow2_be64(&l1[j]) & QCOW2_OFFSET_MASK;
			uint8_t *l2;
			if (!l2off)
				continue;
			if (l2off % s->cluster_size || l2off + s->cluster_size > s->file_end) {
				r = vs_error_msg(err, "snapshot `%s`: L1 entry %u is corrupt", sn->name, j);
				break;
			}
			r = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
			if (r < 0) {
				r = fail(s, r, "read a snapshot's L2 table", err);
				break;
			}
			for (uint64_t k = 0; k < s->l2_entries; k++) {
				uint64_t e = qcow2_l2_entry(s, l2, k);
				if (!(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_OFLAG_ZERO)) {
					r = vs_error_msg(err,
							 "compat=0.10: snapshot `%s` has zero clusters, "
							 "which version 2 cannot "
							 "express (vessel expands them only in the active "
							 "image: delete the "
							 "snapshot, or use qemu-img amend)",
							 sn->name);
					break;
				}
			}
		}
	}
	free(l1);
	return r;
}

/* Host clusters of preallocated zero clusters that pass 1 of the
 * expansion filled with zeros (sorted). */
struct filled {
	uint64_t *off;
	size_t n, cap;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool was_filled(const struct filled *f, uint64_t host)
{
	return f->n && bsearch(&host, f->off, f->n, sizeof(*f->off), cmp_u64);
}

/* One zero cluster of the active image becomes something version 2 can
 * express: unallocated without a backing file (reads zeros all the
 * same), else a cluster of written zeros (encrypted when the image is):
 * its own cluster when pass 1 filled it, else a fresh one. */
static int expand_zero(struct qcow2 *s, uint64_t guest, uint64_t entry, const struct filled *f,
		       struct vs_error *err)
{
	uint64_t host = entry & QCOW2_OFFSET_MASK, ne = 0, l2off;
	bool in_place = host && was_filled(f, host);
	uint8_t *l2;
	int r = 0;
	if (s->backing_file) {
		uint64_t target = host;
		if (!in_place && (r = qcow2_alloc_clusters(s, 1, &target)) < 0)
			return fail(s, r, "allocate a cluster", err);
		/* A fresh cluster's entry waits in the L2 cache for the
		 * barrier that makes its refcount and these zeros durable. */
		if (!in_place && (r = qcow2_write_data(s, target, s->zeros, s->cluster_size)) < 0)
			return fail(s, r, "write zeros", err);
		ne = target | QCOW2_OFLAG_COPIED;
	}
	r = qcow2_get_l2(s, guest, true, &l2, &l2off);
	if (r == 0 && l2)
		r = qcow2_set_l2_entries(s, l2off, l2, (guest >> s->cluster_bits) & (s->l2_entries - 1), 1,
					 &ne, NULL);
	else if (r == 0)
		r = -EIO;
	/* The old cluster, when the entry no longer points at it. */
	if (r == 0 && host && !in_place)
		r = qcow2_free_entry(s, entry);
	return r < 0 ? fail(s, r, "rewrite an L2 entry", err) : 0;
}

/* Pass 1 (fill): preallocated zero clusters this image alone owns get
 * zeros written in place (no metadata changes); pass 2: every zero entry
 * rewritten, after one sync made those zeros durable. */
static int expand_pass(struct qcow2 *s, bool fill, struct filled *f, struct vs_error *err)
{
	uint64_t span = s->l2_entries << s->cluster_bits;
	for (uint64_t i = 0; i < s->l1_size; i++) {
		if (!(s->l1[i] & QCOW2_OFFSET_MASK))
			continue;
		for (uint64_t k = 0; k < s->l2_entries; k++) {
			uint64_t guest = i * span + (k << s->cluster_bits), l2off, rc;
			uint8_t *l2;
			/* Looked up again each time: expanding may evict or
			 * copy the table. */
			int r = qcow2_get_l2(s, guest, false, &l2, &l2off);
			if (r < 0)
				return fail(s, r, "read an L2 table", err);
			if (!l2)
				break;
			uint64_t e = qcow2_l2_entry(s, l2, k), host = e & QCOW2_OFFSET_MASK;
			if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFLAG_ZERO))
				continue;
			if (!fill) {
				if (expand_zero(s, guest, e, f, err) < 0)
					return -1;
				continue;
			}
			if (!host || !s->backing_file)
				continue;
			if (qcow2_entry_bad(s, e))
				return vs_error_msg(
				    err,
				    "`%s`: the L2 entry of guest offset 0x%llx is corrupt: run "
				    "`vessel img check -r all` first",
				    s->bs->filename, (unsigned long long)guest);
			if ((r = qcow2_get_refcount(s, host >> s->cluster_bits, &rc)) < 0)
				return fail(s, r, "read a refcount", err);
			if (rc != 1)
				continue;
			if (f->n == f->cap) {
				size_t cap = f->cap ? 2 * f->cap : 64;
				uint64_t *n = realloc(f->off, cap * sizeof(*n));
				if (!n)
					return vs_error_set(err, ENOMEM, "zero cluster list");
				f->off = n;
				f->cap = cap;
			}
			if ((r = qcow2_write_data(s, host, s->zeros, s->cluster_size)) < 0)
				return fail(s, r, "write zeros", err);
			f->off[f->n++] = host;
		}
	}
	return 0;
}

static int expand_zero_clusters(struct qcow2 *s, struct vs_error *err)
{
	struct filled f = { 0 };
	int r = expand_pass(s, true, &f, err);
	if (r == 0) {
		if (f.n)
			qsort(f.off, f.n, sizeof(*f.off), cmp_u64);
		r = qcow2_sync(s);
		r = r < 0 ? fail(s, r, "sync the zeros written", err) : expand_pass(s, false, &f, err);
	}
	free(f.off);
	if (r < 0)
		return -1;
	r = qcow2_write_back(s);
	if (r == 0)
		r = qcow2_sync(s);
	return r < 0 ? fail(s, r, "write back the L2 tables", err) : 0;
}

/* What version 2 cannot express, named. */
static int downgrade_check(struct qcow2 *s, struct vs_error *err)
{
	const char *f = s->bs->filename;
	if (s->refcount_order != 4)
		return vs_error_msg(err, "`%s`: compat=0.10 requires refcount_bits=16 (the image has %u)", f,
				    1u << s->refcount_order);
	if (s->incompat & QCOW2_INCOMPAT_DATA_FILE)
		return vs_error_msg(err, "`%s`: Cannot downgrade an image with a data file", f);
	if (s->incompat & QCOW2_INCOMPAT_EXTL2)
		return vs_error_msg(err,
				    "`%s`: compat=0.10: the image has extended L2 entries "
				    "(extended_l2=on), which version 2 cannot express",
				    f);
	if (s->compression_type != QCOW2_COMPRESSION_ZLIB || (s->incompat & QCOW2_INCOMPAT_COMPRESSION))
		return vs_error_msg(err, "`%s`: compat=0.10: compression type %s: version 2 has zlib only", f,
				    s->compression_type == QCOW2_COMPRESSION_ZSTD ? "zstd"
										  : "other than zlib");
	uint64_t other = s->incompat & ~(QCOW2_INCOMPAT_DIRTY);
	if (other)
		return vs_error_msg(err,
				    "`%s`: Cannot downgrade an image with incompatible features 0x%llx set",
				    f, (unsigned long long)other);
	bool bitmaps;
	int r = has_extension(s, QCOW2_EXT_BITMAPS, &bitmaps);
	if (r < 0)
		return fail(s, r, "read the header extensions", err);
	if (bitmaps)
		return vs_error_msg(err,
				    "`%s`: compat=0.10: the image has persistent bitmaps, which version 2 "
				    "cannot hold (remove them with qemu-img bitmap --remove)",
				    f);
	return snapshot_zero_clusters(s, err);
}

static int area_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct qcow2 *s = ctx;
	if (off > s->crypt_length || len > s->crypt_length - off)
		return -EIO;
	return qcow2_pread(s, s->crypt_offset + off, buf, len);
}

static int area_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct qcow2 *s = ctx;
	if (off > s->crypt_length || len > s->crypt_length - off)
		return -EIO;
	return qcow2_pwrite(s, s->crypt_offset + off, buf, len);
}

static int area_sync(void *ctx)
{
	return qcow2_sync(ctx);
}

static int amend_keys(struct qcow2 *s, const struct vs_qcow2_amend *a, struct vs_error *err)
{
	const struct vs_luks_header *cur = qcow2_crypt_header(s);
	struct vs_luks_io io = { .read = area_read,
				 .write = area_write,
				 .sync = area_sync,
				 .ctx = s,
				 .area_len = s->crypt_length };
	struct vs_luks_header h = *cur;
	unsigned slot, mask;
	int r;
	if (a->luks.state == VS_LUKS_STATE_INACTIVE) {
		r = vs_luks_erase_keys(&h, &a->luks, &io, &mask, err);
	} else {
		uint8_t master[VS_LUKS_MAX_KEY];
		if (!a->key)
			return vs_error_msg_code(err, ENOKEY,
						 "`%s` is encrypted (LUKS) and no passphrase was given",
						 s->bs->filename);
		r = vs_luks_unlock(&h, a->key, a->key_len, area_read, s, master, err);
		if (r == 0)
			r = vs_luks_add_key(&h, master, &a->luks, &io, &slot, err);
		OPENSSL_cleanse(master, sizeof(master));
	}
	return r < 0 ? vs_error_prefix(err, "`%s`: ", s->bs->filename) : 0;
}

int vs_qcow2_amend(struct vs_block *bs, const struct vs_qcow2_amend *a, struct vs_error *err)
{
	if (bs->drv != &vs_block_qcow2)
		return vs_error_msg(err, "`%s`: Format driver '%s' does not support option amendment",
				    bs->filename, bs->drv->name);
	struct qcow2 *s = bs->opaque;
	if (!s->rw)
		return vs_error_msg(err, "`%s`: amend needs the image opened read-write", bs->filename);
	uint32_t target = a->compat ? (uint32_t)a->compat : s->version;
	if (a->lazy_refcounts == 1 && target < 3)
		return vs_error_msg(err,
				    "Lazy refcounts only supported with compatibility level 1.1 and above "
				    "(use compat=1.1 or greater)");
	if (a->luks.state != VS_LUKS_STATE_NONE && !qcow2_crypt_header(s))
		return vs_error_msg(err, "`%s`: Can't amend encryption options - encryption not present",
				    bs->filename);
	if (vs_luks_amend_check(&a->luks, err) < 0)
		return -1;
	if (target == 3 && s->version < 3 && snapshots_v3_ready(s, err) < 0)
		return -1;
	if (target < s->version && downgrade_check(s, err) < 0)
		return -1;

	if (target > s->version &&
	    rewrite_header(s, target, a->lazy_refcounts == 1 ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0, err) < 0)
		return -1;
	if (target >= 3 && a->lazy_refcounts == 1 && !(s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS) &&
	    write_compat(s, s->compat | QCOW2_COMPAT_LAZY_REFCOUNTS, err) < 0)
		return -1;
	if (target >= 3 && a->lazy_refcounts == 0 && (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS) &&
	    (make_clean(s, err) < 0 || write_compat(s, s->compat & ~QCOW2_COMPAT_LAZY_REFCOUNTS, err) < 0))
		return -1;
	if (a->luks.state != VS_LUKS_STATE_NONE && amend_keys(s, a, err) < 0)
		return -1;
	if (target < s->version && (make_clean(s, err) < 0 || expand_zero_clusters(s, err) < 0 ||
				    rewrite_header(s, target, 0, err) < 0))
		return -1;
	return 0;
}
