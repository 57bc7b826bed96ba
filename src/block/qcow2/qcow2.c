/* The qcow2 driver: open/close and the data path (read through backing
 * chains and compressed clusters, allocating writes, discard, zeroing,
 * block status, resize). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"

#define QCOW2_DEFAULT_L2_CACHE (32u << 20) /* covers 256 GiB with 64 KiB clusters */
#define QCOW2_MAX_RUN_BYTES (8u << 20)	   /* one allocating write at most */

void qcow2_fail(struct qcow2 *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->bs->last_error, sizeof(s->bs->last_error), fmt, ap);
	va_end(ap);
}

int qcow2_pread(struct qcow2 *s, uint64_t off, void *buf, size_t len)
{
	int64_t n = vs_block_file_read(s->bs, off, buf, len);
	if (n < 0)
		return (int)n;
	if ((uint64_t)n < len) {
		qcow2_fail(s, "metadata or data at 0x%llx lies past the end of the file",
			   (unsigned long long)(off + (uint64_t)n));
		return -EIO;
	}
	return 0;
}

int qcow2_pwrite(struct qcow2 *s, uint64_t off, const void *buf, size_t len)
{
	int r = vs_block_file_write(s->bs, off, buf, len);
	if (r < 0)
		return r;
	if (off + len > s->file_end)
		s->file_end = off + len;
	s->unsynced = true;
	return 0;
}

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 8 && qcow2_be32(buf) == QCOW2_MAGIC ? 100 : 0;
}

static void destroy(struct qcow2 *s)
{
	if (!s)
		return;
	qcow2_cache_free(&s->l2_cache);
	qcow2_cache_free(&s->rb_cache);
	qcow2_free_snapshots(s);
	qcow2_crypt_free(s);
	free(s->l1);
	free(s->rt);
	free(s->backing_file);
	free(s->zbuf_in);
	free(s->zbuf_out);
	free(s->cow_buf);
	free(s->meta);
	free(s->zeros);
	free(s);
}

static int open_backing(struct vs_block *bs, struct qcow2 *s, const struct vs_block_open_opts *o,
			struct vs_error *err)
{
	char path[PATH_MAX];
	const char *name = s->backing_file;
	/* Relative names are relative to the image that names them. */
	if (name[0] != '/') {
		const char *slash = strrchr(bs->filename, '/');
		int dir = slash ? (int)(slash - bs->filename) : 0;
		if (snprintf(path, sizeof(path), "%.*s%s%s", dir, bs->filename, slash ? "/" : "", name) >=
		    (int)sizeof(path))
			return vs_error_msg(err, "backing file name too long");
		name = path;
	}
	struct vs_block_open_opts bo = {
		.format = s->backing_fmt[0] ? s->backing_fmt : NULL,
		.flags = o->flags & VS_BLOCK_CHECK,
		.l2_cache_bytes = o->l2_cache_bytes,
		.chain = o->chain,
		.depth = o->depth + 1,
		.key = o->key,
		.key_len = o->key_len,
	};
	if (vs_block_open(name, &bo, &bs->backing, err) < 0)
		return vs_error_prefix(err, "backing file `%s`: ", s->backing_file);
	return 0;
}

static int qcow2_open(struct vs_block *bs, int fd, const struct vs_block_open_opts *o, struct vs_error *err)
{
	struct stat st;
	uint8_t first[512];
	struct qcow2 *s = calloc(1, sizeof(*s));
	uint8_t *hdr = NULL;
	if (!s)
		return vs_error_set(err, ENOMEM, "qcow2");
	s->bs = bs;
	s->fd = fd;
	s->rw = o->flags & VS_BLOCK_RDWR;
	if (fstat(fd, &st) < 0) {
		vs_error_set(err, errno, "stat");
		goto fail;
	}
	s->file_end = (uint64_t)st.st_size;
	ssize_t n = pread(fd, first, sizeof(first), 0);
	if (n < QCOW2_HEADER_V2_LEN) {
		vs_error_msg(err, "`%s`: qcow2 header truncated", bs->filename);
		goto fail;
	}
	uint32_t cb = qcow2_be32(first + 20);
	size_t hlen =
	    cb >= QCOW2_MIN_CLUSTER_BITS && cb <= QCOW2_MAX_CLUSTER_BITS ? (size_t)1 << cb : (size_t)n;
	if (hlen > s->file_end)
		hlen = (size_t)s->file_end;
	hdr = calloc(1, hlen);
	if (!hdr || pread(fd, hdr, hlen, 0) != (ssize_t)hlen) {
		vs_error_set(err, hdr ? errno : ENOMEM, "`%s`: read header", bs->filename);
		goto fail;
	}
	if (qcow2_parse_header(s, hdr, hlen, s->file_end, o->flags, err) < 0 ||
	    qcow2_load_tables(s, err) < 0 || qcow2_read_snapshots(s, err) < 0) {
		vs_error_prefix(err, "`%s`: ", bs->filename);
		goto fail;
	}
	free(hdr);
	hdr = NULL;
	uint64_t cache = o->l2_cache_bytes ? o->l2_cache_bytes : QCOW2_DEFAULT_L2_CACHE;
	uint64_t tables = (uint64_t)s->l1_size + 1;
	uint64_t slots = cache / s->cluster_size;
	if (!o->l2_cache_bytes && slots > tables)
		slots = tables;
	if (slots < 4)
		slots = 4;
	if (qcow2_cache_init(&s->l2_cache, (unsigned)slots, s->cluster_size) < 0 ||
	    qcow2_cache_init(&s->rb_cache, 8, s->cluster_size) < 0 ||
	    !(s->cow_buf = malloc(s->cluster_size)) || !(s->zbuf_out = malloc(s->cluster_size)) ||
	    !(s->zeros = calloc(1, s->cluster_size)) || !(s->zbuf_in = malloc(2 * s->cluster_size + 512))) {
		vs_error_set(err, ENOMEM, "`%s`: caches", bs->filename);
		goto fail;
	}
	if (qcow2_crypt_open(s, o, err) < 0)
		goto fail;
	bs->opaque = s;
	bs->size = s->size;
	if (s->backing_file && !(o->flags & VS_BLOCK_NO_BACKING) && open_backing(bs, s, o, err) < 0) {
		vs_error_prefix(err, "`%s`: ", bs->filename);
		goto fail;
	}
	/* A dirty image was left by a writer with lazy refcounts: its counts
	 * are rebuilt before anything is written (as qemu does). */
	if (s->rw && (s->incompat & QCOW2_INCOMPAT_DIRTY) && !(o->flags & VS_BLOCK_CHECK)) {
		struct vs_block_check res;
		if (qcow2_check(bs, VS_CHECK_FIX_LEAKS | VS_CHECK_FIX_ERRORS, &res, NULL, NULL, err) < 0)
			goto fail;
		if (res.corruptions || res.check_errors || (s->incompat & QCOW2_INCOMPAT_DIRTY)) {
			vs_error_msg(err, "`%s`: the image is dirty and its refcounts could not be repaired",
				     bs->filename);
			goto fail;
		}
	}
	/* Only now: the repair above must reach the file before the dirty
	 * bit it clears. */
	s->unsafe = o->flags & VS_BLOCK_UNSAFE;
	s->lazy = s->rw && s->version >= 3 && (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS) &&
		  !(o->flags & VS_BLOCK_CHECK);
	/* Autoclear bits name extensions a writer that does not maintain
	 * them must invalidate; vessel maintains none (bitmaps). */
	if (s->rw && s->version >= 3 && s->autoclear) {
		uint8_t b[8] = { 0 };
		if (qcow2_pwrite(s, QH_AUTOCLEAR, b, 8) < 0) {
			vs_error_set(err, errno, "`%s`: clear autoclear features", bs->filename);
			goto fail;
		}
		s->autoclear = 0;
	}
	return 0;
fail:
	free(hdr);
	bs->opaque = NULL;
	destroy(s);
	return -1;
}

/* Everything the caches hold reaches the file and the disk. */
static int write_back_and_sync(struct qcow2 *s)
{
	int r = qcow2_write_back(s);
	if (r == 0 && !s->unsafe && fdatasync(s->fd) < 0)
		r = -errno;
	if (r == 0)
		s->unsynced = s->alloc_unsynced = false;
	return r;
}

static void qcow2_close(struct vs_block *bs)
{
	struct qcow2 *s = bs->opaque;
	/* A clean close under lazy refcounts: counts written, then the dirty
	 * bit cleared. Failing that the bit stays and the next open repairs. */
	if (s && s->rw && write_back_and_sync(s) == 0 && qcow2_lazy_active(s) &&
	    qcow2_write_incompat(s, s->incompat & ~QCOW2_INCOMPAT_DIRTY) == 0 && !s->unsafe)
		fdatasync(s->fd);
	destroy(s);
	bs->opaque = NULL;
}

static int read_compressed(struct qcow2 *s, const struct qcow2_map *m, uint64_t in_cluster, void *buf,
			   uint64_t len)
{
	if (s->zbuf_host != m->host_offset + 1) {
		uint64_t clen = m->comp_len;
		if (m->host_offset + clen > s->file_end)
			clen = s->file_end > m->host_offset ? s->file_end - m->host_offset : 0;
		int r = qcow2_pread(s, m->host_offset, s->zbuf_in, (size_t)clen);
		if (r < 0)
			return r;
		s->zbuf_host = 0;
		r = qcow2_decompress(s, s->zbuf_in, (size_t)clen, s->zbuf_out, s->cluster_size);
		if (r < 0)
			return r;
		s->zbuf_host = m->host_offset + 1;
	}
	memcpy(buf, s->zbuf_out + in_cluster, len);
	return 0;
}

/* Data clusters may extend past the end of the file: zeros there. */
static int read_data(struct qcow2 *s, uint64_t off, uint8_t *p, uint64_t len)
{
	if (off + len > s->file_end) {
		uint64_t in = off < s->file_end ? s->file_end - off : 0;
		memset(p + in, 0, len - in);
		len = in;
	}
	return len ? qcow2_pread(s, off, p, len) : 0;
}

static int read_range(struct qcow2 *s, uint64_t off, uint8_t *p, uint64_t len)
{
	while (len) {
		struct qcow2_map m;
		int r = qcow2_get_mapping(s, off, len, &m);
		if (r < 0)
			return r;
		uint64_t n = m.bytes;
		switch (m.kind) {
		case QCOW2_UNALLOCATED:
			if (s->bs->backing)
				r = vs_block_pread(s->bs->backing, off, p, n);
			else
				memset(p, 0, n);
			break;
		case QCOW2_ZERO:
			memset(p, 0, n);
			break;
		case QCOW2_NORMAL:
			r = read_data(s, m.host_offset, p, n);
			if (r == 0 && s->crypt)
				r = qcow2_crypt_decrypt(s, m.host_offset, p, n);
			break;
		case QCOW2_COMPRESSED:
			if (s->crypt) {
				qcow2_fail(
				    s, "guest offset 0x%llx is a compressed cluster in an encrypted image",
				    (unsigned long long)off);
				return -EIO;
			}
			r = read_compressed(s, &m, off & (s->cluster_size - 1), p, n);
			break;
		}
		if (r < 0)
			return r;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int qcow2_read(struct vs_block *bs, uint64_t off, void *buf, size_t len)
{
	struct qcow2 *s = bs->opaque;
	bs->last_error[0] = '\0';
	if (s->crypt && (off | len) % 512)
		return qcow2_crypt_read_unaligned(bs, off, buf, len);
	return read_range(s, off, buf, len);
}

static bool needs_alloc(const struct qcow2 *s, uint64_t e, uint64_t bm)
{
	if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFLAG_COPIED) || !(e & QCOW2_OFFSET_MASK))
		return true;
	if (s->extl2)
		return (bm & 0xffffffffu) != 0xffffffffu;
	return (e & QCOW2_OFLAG_ZERO) && s->version >= 3;
}

/* The guest's view of cluster `c` (for read-modify-write of its edges). */
static int read_cluster(struct qcow2 *s, uint64_t c, uint8_t *buf)
{
	uint64_t start = c << s->cluster_bits, n = s->cluster_size;
	if (start + n > s->size) {
		n = s->size > start ? s->size - start : 0;
		memset(buf + n, 0, s->cluster_size - n);
	}
	return read_range(s, start, buf, n);
}

/* Write newly allocated clusters. Clusters past the old end of the file
 * already read as zeros once the file covers them, so zero edges are not
 * written there: only the data, after growing the file (sparse). */
static int write_fresh(struct qcow2 *s, uint64_t host, uint64_t end_before, const uint8_t *buf, uint64_t len,
		       uint64_t in, uint64_t bytes)
{
	struct stat st;
	const uint8_t *tail = buf + in + bytes;
	uint64_t tail_len = len - in - bytes;
	bool zero_edges = !s->crypt && (in == 0 || (buf[0] == 0 && memcmp(buf, buf + 1, in - 1) == 0)) &&
			  (tail_len == 0 || (tail[0] == 0 && memcmp(tail, tail + 1, tail_len - 1) == 0));
	if (host < end_before || !zero_edges || fstat(s->fd, &st) < 0)
		return qcow2_write_data(s, host, buf, len);
	/* Grow only: blocks the allocation placed further out stay. */
	if ((uint64_t)st.st_size < host + len && ftruncate(s->fd, (off_t)(host + len)) < 0)
		return -errno;
	return qcow2_write_data(s, host + in, buf + in, bytes);
}

/* Extended L2 entries: a write inside one cluster allocates only the
 * subclusters it touches, in the cluster's host cluster (made if there is
 * none); the other subclusters keep reading from the backing file or as
 * zeros. Edge subclusters are filled with what the guest saw. */
static int64_t write_subclusters(struct qcow2 *s, uint64_t off, const uint8_t *p, uint64_t len,
				 uint64_t l2off, uint64_t idx)
{
	uint64_t cs = s->cluster_size, scs = s->subcluster_size;
	uint64_t cstart = off & ~(cs - 1), in = off - cstart;
	uint64_t a = in / scs, b = (in + len - 1) / scs;
	uint64_t span = (b - a + 1) * scs;
	uint8_t *l2, *buf = s->cow_buf;
	int r;
	/* Guest view of the touched subclusters, then the new bytes. */
	uint64_t vis = cstart + a * scs + span > s->size ? s->size - (cstart + a * scs) : span;
	memset(buf, 0, span);
	if (in % scs || (in + len) % scs) {
		r = read_range(s, cstart + a * scs, buf, vis);
		if (r < 0)
			return r;
	}
	memcpy(buf + (in - a * scs), p, len);
	r = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
	if (r < 0)
		return r;
	uint64_t e = qcow2_l2_entry(s, l2, idx), bm = qcow2_l2_bitmap(s, l2, idx);
	uint64_t host = e & QCOW2_OFFSET_MASK;
	if (!host) {
		r = qcow2_alloc_clusters(s, 1, &host);
		if (r < 0)
			return r;
	} else if (qcow2_metadata_at(s, host, cs, true)) {
		qcow2_fail(
		    s,
		    "guest offset 0x%llx maps onto metadata: refusing to write (the image is marked corrupt)",
		    (unsigned long long)off);
		qcow2_write_incompat(s, s->incompat | QCOW2_INCOMPAT_CORRUPT);
		return -EIO;
	}
	r = qcow2_write_data(s, host + a * scs, buf, span);
	if (r < 0)
		return r;
	uint64_t mask = ((b - a + 1 == 32) ? 0xffffffffull : ((1ull << (b - a + 1)) - 1)) << a;
	uint64_t ne = host | QCOW2_OFLAG_COPIED, nbm = (bm | mask) & ~(mask << 32);
	r = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
	if (r == 0)
		r = qcow2_set_l2_entries(s, l2off, l2, idx, 1, &ne, &nbm);
	return r < 0 ? r : (int64_t)len;
}

/* Write [off, off + len) into clusters that need fresh host clusters (not
 * yet allocated, shared, compressed or zero), as many as are consecutive
 * in one L2 table: one allocation, one data write, one L2 update. Returns
 * the bytes written or -errno. */
static int64_t write_allocating(struct qcow2 *s, uint64_t off, const uint8_t *p, uint64_t len)
{
	qcow2_drain_fast(s); /* old clusters may be freed below */
	uint64_t cs = s->cluster_size, l2off;
	uint64_t first = off >> s->cluster_bits, in = off & (cs - 1);
	uint8_t *l2;
	int r = qcow2_get_l2(s, off, true, &l2, &l2off);
	if (r < 0)
		return r;
	uint64_t idx = first & (s->l2_entries - 1);
	if (s->extl2 && in + len <= cs && !(in == 0 && len == cs)) {
		uint64_t e = qcow2_l2_entry(s, l2, idx);
		if (!(e & QCOW2_OFLAG_COMPRESSED) && (!(e & QCOW2_OFFSET_MASK) || (e & QCOW2_OFLAG_COPIED)))
			return write_subclusters(s, off, p, len, l2off, idx);
	}
	uint64_t max_n = (in + len + cs - 1) >> s->cluster_bits;
	if (max_n > s->l2_entries - idx)
		max_n = s->l2_entries - idx;
	if (max_n > QCOW2_MAX_RUN_BYTES / cs)
		max_n = QCOW2_MAX_RUN_BYTES / cs ? QCOW2_MAX_RUN_BYTES / cs : 1;
	uint64_t n = 1;
	while (n < max_n && needs_alloc(s, qcow2_l2_entry(s, l2, idx + n), qcow2_l2_bitmap(s, l2, idx + n)))
		n++;
	uint64_t *old = malloc(n * 8), *entries = malloc(n * 8), *bitmaps = malloc(n * 8);
	uint64_t bytes = n * cs - in < len ? n * cs - in : len;
	/* Whole clusters are written straight from the caller's buffer. */
	bool whole = in == 0 && bytes == n * cs;
	uint8_t *buf = whole ? NULL : malloc(n * cs);
	int64_t ret = -ENOMEM;
	uint64_t host;
	if (!old || !entries || !bitmaps || (!whole && !buf))
		goto out;
	for (uint64_t i = 0; i < n; i++)
		old[i] = qcow2_l2_entry(s, l2, idx + i);
	/* Edges not covered by the write keep what the guest saw. */
	if (in) {
		ret = read_cluster(s, first, buf);
		if (ret < 0)
			goto out;
	}
	if ((in + bytes) & (cs - 1) && !(n == 1 && in)) {
		ret = read_cluster(s, first + n - 1, buf + (n - 1) * cs);
		if (ret < 0)
			goto out;
	}
	if (!whole)
		memcpy(buf + in, p, bytes);
	uint64_t end_before = s->file_end;
	ret = qcow2_alloc_clusters(s, n, &host);
	if (ret < 0)
		goto out;
	if (whole)
		ret = qcow2_write_data(s, host, p, bytes);
	else
		ret = write_fresh(s, host, end_before, buf, n * cs, in, bytes);
	if (ret < 0)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		entries[i] = (host + i * cs) | QCOW2_OFLAG_COPIED;
		bitmaps[i] = 0xffffffffu; /* every subcluster allocated */
	}
	/* The reads above may have evicted the table from the cache. */
	ret = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
	if (ret < 0)
		goto out;
	ret = qcow2_set_l2_entries(s, l2off, l2, idx, n, entries, bitmaps);
	if (ret < 0)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		ret = qcow2_free_entry(s, old[i]);
		if (ret < 0)
			goto out;
	}
	ret = (int64_t)bytes;
out:
	free(old);
	free(entries);
	free(bitmaps);
	free(buf);
	return ret;
}

/* Data written to an image whose backing file is not open would mix zeros
 * into partly written clusters in place of the backing data. */
static int need_backing(struct qcow2 *s)
{
	if (s->backing_file && !s->bs->backing) {
		qcow2_fail(s, "the image was opened without its backing file: no data writes");
		return -EINVAL;
	}
	return 0;
}

static int qcow2_write(struct vs_block *bs, uint64_t off, const void *buf, size_t len)
{
	struct qcow2 *s = bs->opaque;
	const uint8_t *p = buf;
	bs->last_error[0] = '\0';
	if (need_backing(s) < 0)
		return -EINVAL;
	if (s->crypt && (off | len) % 512)
		return qcow2_crypt_write_unaligned(bs, off, buf, len);
	if (s->zbuf_host)
		s->zbuf_host = 0;
	while (len) {
		struct qcow2_map m;
		int r = qcow2_get_mapping(s, off, len, &m);
		if (r < 0)
			return r;
		int64_t n;
		if (m.kind == QCOW2_NORMAL && m.copied) {
			const char *what = qcow2_metadata_at(s, m.host_offset, m.bytes, true);
			if (what) {
				qcow2_fail(
				    s,
				    "guest offset 0x%llx maps onto the %s: refusing to write (the image is "
				    "marked corrupt)",
				    (unsigned long long)off, what);
				qcow2_write_incompat(s, s->incompat | QCOW2_INCOMPAT_CORRUPT);
				return -EIO;
			}
			r = qcow2_write_data(s, m.host_offset, p, m.bytes);
			if (r < 0)
				return r;
			n = (int64_t)m.bytes;
		} else {
			n = write_allocating(s, off, p, len);
			if (n < 0)
				return (int)n;
		}
		off += (uint64_t)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int qcow2_flush(struct vs_block *bs)
{
	return write_back_and_sync(bs->opaque);
}

enum unmap_mode {
	UNMAP_DISCARD,	  /* content undefined: unallocated, or zeros over a backing file */
	UNMAP_ZERO,	  /* reads as zeros */
	UNMAP_UNALLOCATE, /* reads from the backing file again */
};

/* Point whole clusters [first, first + n) at nothing and release what they
 * used. */
static int unmap_clusters(struct qcow2 *s, uint64_t first, uint64_t n, enum unmap_mode mode)
{
	qcow2_drain_fast(s);
	bool zero = mode == UNMAP_ZERO;
	while (n) {
		uint64_t guest = first << s->cluster_bits, l2off;
		uint64_t idx = first & (s->l2_entries - 1);
		uint64_t k = s->l2_entries - idx < n ? s->l2_entries - idx : n;
		uint8_t *l2;
		int r = qcow2_get_l2(s, guest, false, &l2, &l2off);
		if (r < 0)
			return r;
		bool backing = s->backing_file != NULL && mode != UNMAP_UNALLOCATE;
		/* Nothing mapped and nothing below: already reads as zeros. */
		if (!l2 && (!zero || !backing)) {
			first += k;
			n -= k;
			continue;
		}
		r = qcow2_get_l2(s, guest, true, &l2, &l2off);
		if (r < 0)
			return r;
		/* The table's entries first, then what they used is released:
		 * one barrier per table, not per cluster. */
		uint64_t *old = malloc(k * 8), nold = 0;
		if (!old)
			return -ENOMEM;
		for (uint64_t i = 0; i < k && r == 0; i++) {
			uint64_t e = qcow2_l2_entry(s, l2, idx + i), bm = qcow2_l2_bitmap(s, l2, idx + i);
			uint64_t ne = 0, nbm = 0;
			if ((zero || backing) && s->version >= 3) {
				if (s->extl2)
					nbm = 0xffffffff00000000ull;
				else
					ne = QCOW2_OFLAG_ZERO;
			}
			if (e == ne && bm == nbm)
				continue;
			r = qcow2_set_l2_entries(s, l2off, l2, idx + i, 1, &ne, &nbm);
			old[nold++] = e;
		}
		for (uint64_t i = 0; i < nold && r == 0; i++)
			r = qcow2_free_entry(s, old[i]);
		free(old);
		if (r < 0)
			return r;
		first += k;
		n -= k;
	}
	return 0;
}

static int qcow2_discard(struct vs_block *bs, uint64_t off, uint64_t len)
{
	struct qcow2 *s = bs->opaque;
	uint64_t cs = s->cluster_size;
	uint64_t a = (off + cs - 1) & ~(cs - 1), b = (off + len) & ~(cs - 1);
	if (off + len == s->size)
		b = (off + len + cs - 1) & ~(cs - 1);
	bs->last_error[0] = '\0';
	s->zbuf_host = 0;
	if (need_backing(s) < 0)
		return -EINVAL;
	/* Discarding partial clusters is allowed to do nothing. */
	return b > a ? unmap_clusters(s, a >> s->cluster_bits, (b - a) >> s->cluster_bits, UNMAP_DISCARD) : 0;
}

static int write_zero_bytes(struct qcow2 *s, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t n = len < s->cluster_size ? len : s->cluster_size;
		int r = qcow2_write(s->bs, off, s->zeros, n);
		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int qcow2_write_zeroes(struct vs_block *bs, uint64_t off, uint64_t len)
{
	struct qcow2 *s = bs->opaque;
	uint64_t cs = s->cluster_size;
	uint64_t a = (off + cs - 1) & ~(cs - 1), b = (off + len) & ~(cs - 1);
	bs->last_error[0] = '\0';
	if (need_backing(s) < 0)
		return -EINVAL;
	if (off + len == s->size)
		b = (off + len + cs - 1) & ~(cs - 1);
	if (s->version < 3 && s->backing_file)
		return write_zero_bytes(s, off, len);
	if (b <= a)
		return write_zero_bytes(s, off, len);
	int r = write_zero_bytes(s, off, a - off);
	if (r == 0)
		r = unmap_clusters(s, a >> s->cluster_bits, (b - a) >> s->cluster_bits, UNMAP_ZERO);
	if (r == 0 && off + len > b)
		r = write_zero_bytes(s, b, off + len - b);
	return r;
}

static int qcow2_make_empty(struct vs_block *bs)
{
	struct qcow2 *s = bs->opaque;
	uint64_t cs = s->cluster_size;
	bs->last_error[0] = '\0';
	s->zbuf_host = 0;
	return unmap_clusters(s, 0, (s->size + cs - 1) / cs, UNMAP_UNALLOCATE);
}

static int qcow2_block_status(struct vs_block *bs, uint64_t off, uint64_t len, uint64_t *pnum,
			      struct vs_block_status *st)
{
	struct qcow2 *s = bs->opaque;
	struct qcow2_map m;
	int r = qcow2_get_mapping(s, off, len, &m);
	if (r < 0)
		return r;
	*pnum = m.bytes;
	switch (m.kind) {
	case QCOW2_NORMAL:
		/* As qemu: the host bytes of encrypted data are no use. */
		st->flags = VS_BLOCK_DATA | VS_BLOCK_ALLOCATED | (s->crypt ? 0 : VS_BLOCK_OFFSET_VALID);
		st->host_offset = m.host_offset;
		return 0;
	case QCOW2_COMPRESSED:
		st->flags = VS_BLOCK_DATA | VS_BLOCK_ALLOCATED | VS_BLOCK_COMPRESSED;
		return 0;
	case QCOW2_ZERO:
		st->flags = VS_BLOCK_ZERO | VS_BLOCK_ALLOCATED;
		return 0;
	case QCOW2_UNALLOCATED:
		break;
	}
	st->flags = VS_BLOCK_ZERO;
	if (!bs->backing)
		return 0;
	if (off >= bs->backing->size) {
		st->depth = 1;
		return 0;
	}
	uint64_t n = bs->backing->size - off < m.bytes ? bs->backing->size - off : m.bytes;
	r = vs_block_status(bs->backing, off, n, pnum, st);
	st->depth++;
	return r;
}

static void qcow2_get_info(struct vs_block *bs, struct vs_block_info *info)
{
	struct qcow2 *s = bs->opaque;
	info->cluster_size = (uint32_t)s->cluster_size;
	info->qcow2_version = (int)s->version;
	info->refcount_bits = 1u << s->refcount_order;
	info->dirty = s->incompat & QCOW2_INCOMPAT_DIRTY;
	info->corrupt = s->incompat & QCOW2_INCOMPAT_CORRUPT;
	info->lazy_refcounts = s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;
	info->extended_l2 = s->extl2;
	info->compression_type = s->compression_type == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib";
	info->nb_snapshots = s->nb_snapshots;
	info->encrypt = qcow2_crypt_header(s);
	if (s->backing_file)
		snprintf(info->backing_file, sizeof(info->backing_file), "%s", s->backing_file);
	snprintf(info->backing_fmt, sizeof(info->backing_fmt), "%s", s->backing_fmt);
}

static int qcow2_resize(struct vs_block *bs, uint64_t new_size, struct vs_error *err)
{
	struct qcow2 *s = bs->opaque;
	uint64_t cs = s->cluster_size, span = cs * s->l2_entries;
	int r;
	if (new_size > (1ull << 62))
		return vs_error_msg(err, "size %llu is too large", (unsigned long long)new_size);
	if (s->crypt && new_size % 512)
		return vs_error_msg(err, "an encrypted image's size must be a multiple of 512");
	if (new_size < s->size) {
		if (s->nb_snapshots)
			return vs_error_msg(err, "cannot shrink an image with internal snapshots");
		uint64_t a = (new_size + cs - 1) & ~(cs - 1), b = (s->size + cs - 1) & ~(cs - 1);
		r = b > a ? unmap_clusters(s, a / cs, (b - a) / cs, UNMAP_DISCARD) : 0;
		if (r < 0)
			return vs_error_set(err, -r, "shrink: %s", bs->last_error);
	} else if (new_size > s->size) {
		r = qcow2_grow_l1(s, (new_size + span - 1) / span);
		if (r < 0)
			return vs_error_set(err, -r, "grow the L1 table%s%s", bs->last_error[0] ? ": " : "",
					    bs->last_error);
		/* The old last cluster's tail may hold stale bytes. */
		uint64_t tail = ((s->size + cs - 1) & ~(cs - 1)) - s->size;
		uint64_t old = s->size;
		s->size = bs->size = new_size;
		if (tail &&
		    (r = qcow2_write_zeroes(bs, old, tail < new_size - old ? tail : new_size - old)) < 0)
			return vs_error_set(err, -r, "zero the old end");
	}
	uint8_t b[8];
	qcow2_put64(b, new_size);
	r = qcow2_pwrite(s, QH_SIZE, b, 8);
	if (r == 0)
		r = qcow2_fdatasync(s);
	if (r < 0)
		return vs_error_set(err, -r, "write the new size");
	s->size = bs->size = new_size;
	return 0;
}

const struct vs_block_driver_ops vs_block_qcow2 = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.create = qcow2_create,
	.open = qcow2_open,
	.close = qcow2_close,
	.read = qcow2_read,
	.write = qcow2_write,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.get_info = qcow2_get_info,
	.block_status = qcow2_block_status,
	.resize = qcow2_resize,
	.check = qcow2_check,
	.write_compressed = qcow2_write_compressed,
	.make_empty = qcow2_make_empty,
	.submit = qcow2_submit,
	.set_backing = qcow2_set_backing,
	.snapshot_list = qcow2_snapshot_list,
	.snapshot_create = qcow2_snapshot_create,
	.snapshot_apply = qcow2_snapshot_apply,
	.snapshot_delete = qcow2_snapshot_delete,
};
