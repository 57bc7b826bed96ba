/* qcow2 header: parsing and validation of the header, its extensions and
 * the tables it points at (every offset and size checked against the file
 * before use, so a hostile image is refused with the field named), and the
 * in-place updates of single header fields. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"

static const char *const feature_kind[3] = { "incompatible", "compatible", "autoclear" };

/* Name of a feature bit from the image's feature-name table, else ours. */
static const char *feature_name(const struct qcow2 *s, int kind, int bit, char *buf, size_t len)
{
	if (s->feature_names[kind][bit][0])
		return s->feature_names[kind][bit];
	if (kind == 0 && bit == 2)
		return "external data file";
	snprintf(buf, len, "%s feature bit %d", feature_kind[kind], bit);
	return buf;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int parse_extensions(struct qcow2 *s, const uint8_t *buf, size_t len, uint64_t start,
			    struct vs_error *err)
{
	uint64_t off = start;
	for (unsigned count = 0;; count++) {
		if (off + 8 > len || count > 1024)
			return vs_error_msg(err, "header extensions run past the first cluster");
		uint32_t type = qcow2_be32(buf + off), elen = qcow2_be32(buf + off + 4);
		if (type == QCOW2_EXT_END)
			return 0;
		uint64_t data = off + 8;
		if (elen > len || data + elen > len)
			return vs_error_msg(err,
					    "header extension 0x%08x (%u bytes) runs past the first cluster",
					    type, elen);
		switch (type) {
		case QCOW2_EXT_BACKING_FORMAT:
			if (elen >= sizeof(s->backing_fmt))
				return vs_error_msg(err, "backing format name is %u bytes long", elen);
			memcpy(s->backing_fmt, buf + data, elen);
			s->backing_fmt[elen] = '\0';
			break;
		case QCOW2_EXT_FEATURE_TABLE:
			for (uint64_t e = 0; e + 48 <= elen; e += 48) {
				const uint8_t *f = buf + data + e;
				if (f[0] < 3 && f[1] < 64) {
					memcpy(s->feature_names[f[0]][f[1]], f + 2, 46);
					s->feature_names[f[0]][f[1]][46] = '\0';
				}
			}
			break;
		case QCOW2_EXT_CRYPTO:
			if (elen != 16)
				return vs_error_msg(
				    err, "encryption header extension is %u bytes (16 expected)", elen);
			s->has_crypt_ext = true;
			s->crypt_offset = qcow2_be64(buf + data);
			s->crypt_length = qcow2_be64(buf + data + 8);
			break;
		default:
			/* Unknown extensions stay untouched in the file: the
			 * header is only ever patched field by field. */
			break;
		}
		off = data + ((elen + 7ull) & ~7ull);
	}
}

int qcow2_parse_header(struct qcow2 *s, const uint8_t *buf, size_t len, uint64_t file_size, unsigned flags,
		       struct vs_error *err)
{
	char tmp[64];
	if (len < QCOW2_HEADER_V2_LEN || qcow2_be32(buf) != QCOW2_MAGIC)
		return vs_error_msg(err, "not a qcow2 image (bad magic)");
	s->version = qcow2_be32(buf + 4);
	if (s->version != 2 && s->version != 3)
		return vs_error_msg(err, "qcow2 version %u is not supported (2 and 3 are)", s->version);
	s->cluster_bits = qcow2_be32(buf + 20);
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return vs_error_msg(err, "cluster_bits %u is out of range (9 to 21)", s->cluster_bits);
	s->cluster_size = 1ull << s->cluster_bits;
	s->backing_offset = qcow2_be64(buf + 8);
	s->backing_len = qcow2_be32(buf + 16);
	s->size = qcow2_be64(buf + 24);
	s->crypt_method = qcow2_be32(buf + 32);
	s->l1_size = qcow2_be32(buf + 36);
	s->l1_offset = qcow2_be64(buf + 40);
	s->rt_offset = qcow2_be64(buf + 48);
	s->rt_clusters = qcow2_be32(buf + 56);
	s->nb_snapshots = qcow2_be32(buf + 60);
	s->snapshots_offset = qcow2_be64(buf + 64);
	s->refcount_order = 4;
	s->header_length = QCOW2_HEADER_V2_LEN;
	if (s->version == 3) {
		if (len < QCOW2_HEADER_V3_LEN)
			return vs_error_msg(err, "qcow2 v3 header truncated");
		s->incompat = qcow2_be64(buf + 72);
		s->compat = qcow2_be64(buf + 80);
		s->autoclear = qcow2_be64(buf + 88);
		s->refcount_order = qcow2_be32(buf + 96);
		s->header_length = qcow2_be32(buf + 100);
		if (s->header_length < QCOW2_HEADER_V3_LEN || s->header_length > s->cluster_size ||
		    s->header_length > len)
			return vs_error_msg(err, "header_length %u is out of range", s->header_length);
		if (s->header_length > 104)
			s->compression_type = buf[104];
	}
	if (s->refcount_order > 6)
		return vs_error_msg(err, "refcount_order %u is out of range (0 to 6)", s->refcount_order);
	if (parse_extensions(s, buf, len < s->cluster_size ? len : s->cluster_size, s->header_length, err) <
	    0)
		return -1;

	uint64_t unknown = s->incompat & ~QCOW2_INCOMPAT_KNOWN;
	for (int bit = 0; bit < 64; bit++)
		if (unknown & (1ull << bit))
			return vs_error_msg(err, "unsupported qcow2 feature: %s",
					    feature_name(s, 0, bit, tmp, sizeof(tmp)));
	if (s->compression_type > QCOW2_COMPRESSION_ZSTD)
		return vs_error_msg(err, "unknown compression type %u", s->compression_type);
	if (s->compression_type != QCOW2_COMPRESSION_ZLIB && !(s->incompat & QCOW2_INCOMPAT_COMPRESSION))
		return vs_error_msg(err, "compression type %u without the compression-type feature bit",
				    s->compression_type);
	bool rw = flags & VS_BLOCK_RDWR, checking = flags & VS_BLOCK_CHECK;
	if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) && rw && !checking)
		return vs_error_msg(err,
				    "the image is marked corrupt: refusing to write to it (`vessel img check "
				    "-r all` may repair it; read-only access still works)");

	s->extl2 = s->incompat & QCOW2_INCOMPAT_EXTL2;
	if (s->extl2 && s->cluster_bits < 14)
		return vs_error_msg(err, "extended L2 entries with clusters smaller than 16 KiB");
	s->l2_entry_size = s->extl2 ? 16 : 8;
	s->l2_entries = s->cluster_size / s->l2_entry_size;
	s->l2_bits = s->cluster_bits - (s->extl2 ? 4 : 3);
	s->subcluster_size = s->extl2 ? s->cluster_size / 32 : s->cluster_size;
	s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
	s->rb_entries = 1ull << s->rb_bits;
	s->refcount_max = s->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << s->refcount_order)) - 1;

	/* Sizes: the virtual size must be covered by the L1 table, which
	 * itself must have a sane size and lie inside the file. */
	if (s->size > (1ull << 62))
		return vs_error_msg(err, "virtual size %llu is absurd", (unsigned long long)s->size);
	uint64_t l2_span = s->cluster_size * s->l2_entries;
	uint64_t l1_needed = (s->size + l2_span - 1) / l2_span;
	if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return vs_error_msg(err, "L1 table size %u is absurd", s->l1_size);
	if (s->l1_size < l1_needed)
		return vs_error_msg(err, "L1 table (%u entries) too small for the virtual size (%llu needed)",
				    s->l1_size, (unsigned long long)l1_needed);
	if (s->l1_size && (s->l1_offset % s->cluster_size || s->l1_offset == 0))
		return vs_error_msg(err, "L1 table offset 0x%llx is not cluster-aligned or zero",
				    (unsigned long long)s->l1_offset);
	if (s->l1_size && s->l1_offset + (uint64_t)s->l1_size * 8 > file_size)
		return vs_error_msg(err, "L1 table (offset 0x%llx) lies past the end of the file",
				    (unsigned long long)s->l1_offset);
	if (s->rt_offset % s->cluster_size || s->rt_offset == 0)
		return vs_error_msg(err, "refcount table offset 0x%llx is not cluster-aligned or zero",
				    (unsigned long long)s->rt_offset);
	if (s->rt_clusters == 0 || (uint64_t)s->rt_clusters * s->cluster_size > QCOW2_MAX_RT_BYTES)
		return vs_error_msg(err, "refcount table size (%u clusters) is absurd", s->rt_clusters);
	if (s->rt_offset + (uint64_t)s->rt_clusters * s->cluster_size > file_size)
		return vs_error_msg(err, "refcount table (offset 0x%llx) lies past the end of the file",
				    (unsigned long long)s->rt_offset);
	s->rt_entries = (uint64_t)s->rt_clusters * s->cluster_size / 8;
	if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return vs_error_msg(err, "%u snapshots is absurd", s->nb_snapshots);
	if (s->nb_snapshots && (s->snapshots_offset % s->cluster_size || s->snapshots_offset == 0 ||
				s->snapshots_offset >= file_size))
		return vs_error_msg(err, "snapshot table offset 0x%llx is invalid",
				    (unsigned long long)s->snapshots_offset);

	uint64_t l1_bytes = (uint64_t)s->l1_size * 8, rt_bytes = (uint64_t)s->rt_clusters * s->cluster_size;
	if (overlaps(0, s->cluster_size, s->l1_offset, l1_bytes))
		return vs_error_msg(err, "L1 table overlaps the header");
	if (overlaps(0, s->cluster_size, s->rt_offset, rt_bytes))
		return vs_error_msg(err, "refcount table overlaps the header");
	if (overlaps(s->l1_offset, l1_bytes, s->rt_offset, rt_bytes))
		return vs_error_msg(err, "L1 table overlaps the refcount table");

	if (qcow2_crypt_check_header(s, file_size, err) < 0)
		return -1;

	if (s->backing_offset) {
		if (s->backing_len == 0 || s->backing_len > 1023)
			return vs_error_msg(err, "backing file name length %u is out of range",
					    s->backing_len);
		if (s->backing_offset >= s->cluster_size || s->backing_offset + s->backing_len > len ||
		    s->backing_offset + s->backing_len > s->cluster_size)
			return vs_error_msg(err, "backing file name lies outside the first cluster");
		s->backing_file = strndup((const char *)buf + s->backing_offset, s->backing_len);
		if (!s->backing_file)
			return vs_error_set(err, ENOMEM, "backing file name");
		if (strlen(s->backing_file) != s->backing_len)
			return vs_error_msg(err, "backing file name contains a NUL byte");
	}
	return 0;
}

static int load_table(struct qcow2 *s, uint64_t offset, uint64_t entries, uint64_t **out, const char *what,
		      struct vs_error *err)
{
	uint64_t *t = calloc(entries ? entries : 1, 8);
	if (!t)
		return vs_error_set(err, ENOMEM, "%s", what);
	if (entries) {
		int r = qcow2_pread(s, offset, t, entries * 8);
		if (r < 0) {
			free(t);
			return vs_error_set(err, -r, "read the %s", what);
		}
		for (uint64_t i = 0; i < entries; i++)
			t[i] = qcow2_be64(&t[i]);
	}
	*out = t;
	return 0;
}

/* A pointer from a table must name a cluster inside the file that is not
 * the header or one of the top-level tables. */
static int check_pointer(struct qcow2 *s, uint64_t off, const char *what, uint64_t index,
			 struct vs_error *err)
{
	if (off % s->cluster_size)
		return vs_error_msg(err, "%s entry %llu (0x%llx) is not cluster-aligned", what,
				    (unsigned long long)index, (unsigned long long)off);
	if (off + s->cluster_size > s->file_end)
		return vs_error_msg(err, "%s entry %llu points past the end of the file (0x%llx)", what,
				    (unsigned long long)index, (unsigned long long)off);
	if (off < s->cluster_size)
		return vs_error_msg(err, "%s entry %llu points into the header", what,
				    (unsigned long long)index);
	if (overlaps(off, s->cluster_size, s->l1_offset, (uint64_t)s->l1_size * 8))
		return vs_error_msg(err, "%s entry %llu points into the L1 table", what,
				    (unsigned long long)index);
	if (overlaps(off, s->cluster_size, s->rt_offset, (uint64_t)s->rt_clusters * s->cluster_size))
		return vs_error_msg(err, "%s entry %llu points into the refcount table", what,
				    (unsigned long long)index);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Two refcount table entries naming one block would make every count in
 * it apply twice (and a check scan far past the file). */
static int check_rt_duplicates(struct qcow2 *s, struct vs_error *err)
{
	uint64_t *v = malloc(s->rt_entries * 8), n = 0;
	int r = 0;
	if (!v)
		return vs_error_set(err, ENOMEM, "refcount table");
	for (uint64_t i = 0; i < s->rt_entries; i++)
		if (s->rt[i])
			v[n++] = s->rt[i];
	qsort(v, n, 8, cmp_u64);
	for (uint64_t i = 1; i < n && r == 0; i++)
		if (v[i] == v[i - 1])
			r = vs_error_msg(err, "two refcount table entries point at the same block (0x%llx)",
					 (unsigned long long)v[i]);
	free(v);
	return r;
}

int qcow2_load_tables(struct qcow2 *s, struct vs_error *err)
{
	if (load_table(s, s->l1_offset, s->l1_size, &s->l1, "L1 table", err) < 0)
		return -1;
	if (load_table(s, s->rt_offset, s->rt_entries, &s->rt, "refcount table", err) < 0)
		return -1;
	for (uint64_t i = 0; i < s->l1_size; i++) {
		uint64_t off = s->l1[i] & QCOW2_OFFSET_MASK;
		if (off && check_pointer(s, off, "L1", i, err) < 0)
			return -1;
	}
	for (uint64_t i = 0; i < s->rt_entries; i++) {
		if (s->rt[i] & QCOW2_RT_RESERVED)
			return vs_error_msg(err, "refcount table entry %llu has reserved bits set",
					    (unsigned long long)i);
		if (s->rt[i] && check_pointer(s, s->rt[i], "refcount table", i, err) < 0)
			return -1;
	}
	return check_rt_duplicates(s, err);
}

int qcow2_write_incompat(struct qcow2 *s, uint64_t incompat)
{
	uint8_t b[8];
	if (s->version < 3)
		return 0;
	qcow2_put64(b, incompat);
	int r = qcow2_pwrite(s, QH_INCOMPAT, b, 8);
	if (r == 0)
		s->incompat = incompat;
	return r;
}

/* Rewrite the first cluster with a new backing file name and format: the
 * header fields and every other extension (unknown ones included) are
 * kept as they are, in their order. */
int qcow2_set_backing(struct vs_block *bs, const char *file, const char *fmt, struct vs_error *err)
{
	struct qcow2 *s = bs->opaque;
	size_t cs = (size_t)s->cluster_size, flen = file ? strlen(file) : 0, tlen = fmt ? strlen(fmt) : 0;
	if (flen > 1023 || tlen >= sizeof(s->backing_fmt))
		return vs_error_msg(err, "backing file or format name too long");
	uint8_t *old = calloc(1, cs), *h = calloc(1, cs);
	int r = -ENOMEM;
	if (!old || !h)
		goto out;
	size_t have = s->file_end < cs ? (size_t)s->file_end : cs;
	r = qcow2_pread(s, 0, old, have);
	if (r < 0)
		goto out;
	memcpy(h, old, s->header_length);
	size_t off = s->header_length;
	if (tlen) {
		qcow2_put32(h + off, QCOW2_EXT_BACKING_FORMAT);
		qcow2_put32(h + off + 4, (uint32_t)tlen);
		memcpy(h + off + 8, fmt, tlen);
		off += 8 + ((tlen + 7) & ~(size_t)7);
	}
	for (size_t e = s->header_length; e + 8 <= have;) {
		uint32_t type = qcow2_be32(old + e), len = qcow2_be32(old + e + 4);
		size_t total = 8 + ((len + 7ull) & ~7ull);
		if (type == QCOW2_EXT_END)
			break;
		if (type != QCOW2_EXT_BACKING_FORMAT) {
			if (off + total > cs) {
				r = -ENOSPC;
				goto out;
			}
			memcpy(h + off, old + e, total);
			off += total;
		}
		e += total;
	}
	off += 8; /* end marker */
	if (off + flen > cs) {
		r = -ENOSPC;
		goto out;
	}
	if (flen)
		memcpy(h + off, file, flen);
	qcow2_put64(h + QH_BACKING_OFFSET, flen ? off : 0);
	qcow2_put32(h + 16, (uint32_t)flen);
	/* Only the header cluster's used part changes; one write. */
	size_t used = off + flen > have ? off + flen : have;
	r = qcow2_pwrite(s, 0, h, used);
	if (r == 0)
		r = qcow2_fdatasync(s);
	if (r < 0)
		goto out;
	free(s->backing_file);
	s->backing_file = flen ? strdup(file) : NULL;
	s->backing_offset = flen ? off : 0;
	s->backing_len = (uint32_t)flen;
	snprintf(s->backing_fmt, sizeof(s->backing_fmt), "%s", tlen ? fmt : "");
out:
	free(old);
	free(h);
	if (r == -ENOSPC)
		return vs_error_msg(err,
				    "the header and the backing file name do not fit in the first cluster");
	return r < 0 ? vs_error_set(err, -r, "rewrite the header of `%s`", bs->filename) : 0;
}
