/* Creating qcow2 images: a header cluster, a one-cluster refcount table and
 * one refcount block are written by hand; the L1 table and preallocation
 * then go through the driver's own allocation paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"
#include "util/cleanup.h"

struct feature {
	uint8_t type, bit;
	const char *name;
};

static const struct feature features[] = {
	{ 0, 0, "dirty bit" },	      { 0, 1, "corrupt bit" },	       { 0, 2, "external data file" },
	{ 0, 3, "compression type" }, { 0, 4, "extended L2 entries" }, { 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },	      { 2, 1, "raw external data" },
};

static size_t put_ext(uint8_t *p, uint32_t type, const void *data, uint32_t len)
{
	qcow2_put32(p, type);
	qcow2_put32(p + 4, len);
	memcpy(p + 8, data, len);
	return 8 + ((len + 7u) & ~7u);
}

/* Bytes of the fixed header: the extensions start there. */
static size_t header_len(int version)
{
	return version == 3 ? 112 : QCOW2_HEADER_V2_LEN;
}

static int build_header(uint8_t *h, uint64_t cs, unsigned cluster_bits, const struct vs_block_create_opts *o,
			int version, unsigned refcount_order, struct vs_error *err)
{
	size_t blen = o->backing_file ? strlen(o->backing_file) : 0;
	size_t flen = o->backing_fmt ? strlen(o->backing_fmt) : 0;
	size_t hlen = header_len(version);
	if (blen > 1023)
		return vs_error_msg(err, "backing file name longer than 1023 bytes");
	if (flen >= 32)
		return vs_error_msg(err, "backing format name too long");
	qcow2_put32(h, QCOW2_MAGIC);
	qcow2_put32(h + 4, (uint32_t)version);
	qcow2_put32(h + 20, cluster_bits);
	qcow2_put64(h + QH_RT_OFFSET, cs);
	qcow2_put32(h + QH_RT_CLUSTERS, 1);
	if (version == 3) {
		uint64_t incompat = o->extended_l2 ? QCOW2_INCOMPAT_EXTL2 : 0;
		bool zstd = o->compression_type && strcmp(o->compression_type, "zstd") == 0;
		if (zstd)
			incompat |= QCOW2_INCOMPAT_COMPRESSION;
		h[104] = zstd ? QCOW2_COMPRESSION_ZSTD : QCOW2_COMPRESSION_ZLIB;
		qcow2_put64(h + QH_INCOMPAT, incompat);
		qcow2_put64(h + QH_COMPAT, o->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
		qcow2_put32(h + 96, refcount_order);
		qcow2_put32(h + 100, (uint32_t)hlen);
	}
	size_t off = hlen;
	/* Encryption: the extension comes first (at hlen), its data filled
	 * in once the LUKS area exists (qcow2_crypt_create). */
	if (o->encrypt_format) {
		static const uint8_t unset[16];
		off += put_ext(h + off, QCOW2_EXT_CRYPTO, unset, sizeof(unset));
	}
	if (flen)
		off += put_ext(h + off, QCOW2_EXT_BACKING_FORMAT, o->backing_fmt, (uint32_t)flen);
	/* The feature-name table is a courtesy: left out when the first
	 * cluster (512 bytes) cannot hold it with the backing file name. */
	size_t ftab = VS_ARRAY_SIZE(features) * 48;
	if (version == 3 && off + 8 + ftab + 8 + blen <= cs) {
		uint8_t t[VS_ARRAY_SIZE(features) * 48];
		memset(t, 0, sizeof(t));
		for (size_t i = 0; i < VS_ARRAY_SIZE(features); i++) {
			t[i * 48] = features[i].type;
			t[i * 48 + 1] = features[i].bit;
			memcpy(t + i * 48 + 2, features[i].name, strlen(features[i].name));
		}
		off += put_ext(h + off, QCOW2_EXT_FEATURE_TABLE, t, (uint32_t)sizeof(t));
	}
	if (off + 8 + blen > cs)
		return vs_error_msg(err, "the header and backing file name do not fit in a %llu-byte cluster",
				    (unsigned long long)cs);
	off += 8; /* end-of-extensions marker: zeros */
	if (blen) {
		memcpy(h + off, o->backing_file, blen);
		qcow2_put64(h + QH_BACKING_OFFSET, off);
		qcow2_put32(h + 16, (uint32_t)blen);
	}
	return 0;
}

static int preallocate(struct vs_block *bs, enum vs_block_prealloc mode, struct vs_error *err)
{
	struct qcow2 *s = bs->opaque;
	uint64_t cs = s->cluster_size, guest = 0;
	uint64_t *entries = malloc(s->l2_entries * 8), *bitmaps = malloc(s->l2_entries * 8);
	int r = 0;
	if (!entries || !bitmaps) {
		r = -ENOMEM;
		goto out;
	}
	while (guest < s->size) {
		uint8_t *l2;
		uint64_t l2off, host;
		uint64_t n = (s->size - guest + cs - 1) / cs;
		if (n > s->l2_entries)
			n = s->l2_entries;
		r = qcow2_get_l2(s, guest, true, &l2, &l2off);
		if (r < 0)
			goto out;
		r = qcow2_alloc_clusters(s, n, &host);
		if (r < 0)
			goto out;
		/* Fresh clusters at the end of the file read as zeros once
		 * the file covers them; falloc/full also reserve the space. */
		if (mode == VS_PREALLOC_FULL || s->crypt) {
			/* Encrypted zeros are not zero bytes: always written. */
			for (uint64_t i = 0; i < n && r == 0; i++)
				r = qcow2_write_data(s, host + i * cs, s->zeros, cs);
		} else if (mode == VS_PREALLOC_FALLOC) {
			r = -posix_fallocate(s->fd, (off_t)host, (off_t)(n * cs));
		} else if (ftruncate(s->fd, (off_t)(host + n * cs)) < 0) {
			r = -errno;
		}
		if (r < 0)
			goto out;
		if (host + n * cs > s->file_end)
			s->file_end = host + n * cs;
		for (uint64_t i = 0; i < n; i++) {
			entries[i] = (host + i * cs) | QCOW2_OFLAG_COPIED;
			bitmaps[i] = 0xffffffffu;
		}
		r = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
		if (r == 0)
			r = qcow2_set_l2_entries(s, l2off, l2, 0, n, entries, bitmaps);
		if (r < 0)
			goto out;
		guest += n * cs;
	}
out:
	free(entries);
	free(bitmaps);
	if (r < 0)
		return vs_error_set(err, -r, "preallocate%s%s", bs->last_error[0] ? ": " : "",
				    bs->last_error);
	return 0;
}

int qcow2_create(const char *path, const struct vs_block_create_opts *o, struct vs_error *err)
{
	uint64_t cs = o->cluster_size ? o->cluster_size : 65536;
	int version = o->compat ? o->compat : 3;
	unsigned rbits = o->refcount_bits ? o->refcount_bits : 16, order = 0, cluster_bits = 0;
	if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)))
		return vs_error_msg(err, "cluster size %llu: use a power of two from 512 to 2M",
				    (unsigned long long)cs);
	while ((1ull << cluster_bits) < cs)
		cluster_bits++;
	while ((1u << order) < rbits)
		order++;
	if ((1u << order) != rbits || order > 6)
		return vs_error_msg(err, "refcount_bits %u: use a power of two from 1 to 64", rbits);
	if (version != 2 && version != 3)
		return vs_error_msg(err, "compat level %d: use 0.10 or 1.1", version);
	if (version == 2 && (o->lazy_refcounts || rbits != 16 || o->extended_l2))
		return vs_error_msg(
		    err, "lazy_refcounts, refcount_bits other than 16 and extended_l2 need compat=1.1");
	if (o->extended_l2 && cs < 16384)
		return vs_error_msg(err, "extended_l2 needs a cluster size of at least 16K");
	if (o->compression_type && strcmp(o->compression_type, "zlib") != 0 &&
	    (strcmp(o->compression_type, "zstd") != 0 || version == 2))
		return vs_error_msg(err, "compression_type %s: use zlib, or zstd with compat=1.1",
				    o->compression_type);
	if (o->backing_fmt && !o->backing_file)
		return vs_error_msg(err, "a backing format without a backing file");

	uint8_t *buf = calloc(3, cs);
	if (!buf)
		return vs_error_set(err, ENOMEM, "create");
	if (build_header(buf, cs, cluster_bits, o, version, order, err) < 0) {
		free(buf);
		return -1;
	}
	qcow2_put64(buf + cs, 2 * cs); /* refcount table: one block at cluster 2 */
	struct qcow2 tmp = { .refcount_order = order };
	for (uint64_t i = 0; i < 3; i++)
		qcow2_put_refcount_entry(&tmp, buf + 2 * cs, i, 1);
	vs_autoclose int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(buf);
		return vs_error_set(err, errno, "open `%s`", path);
	}
	ssize_t w = pwrite(fd, buf, 3 * cs, 0);
	free(buf);
	if (w != (ssize_t)(3 * cs))
		return vs_error_set(err, w < 0 ? errno : EIO, "write `%s`", path);

	struct vs_block *bs;
	struct vs_block_open_opts oo = { .format = "qcow2", .flags = VS_BLOCK_RDWR | VS_BLOCK_NO_BACKING };
	if (vs_block_open(path, &oo, &bs, err) < 0)
		return -1;
	/* Encrypted images hold whole sectors (qemu rounds up too). */
	uint64_t size = o->encrypt_format ? (o->size + 511) & ~511ull : o->size;
	int r = size ? vs_block_resize(bs, size, err) : 0;
	if (r == 0 && o->encrypt_format) {
		pthread_mutex_lock(&bs->lock);
		r = qcow2_crypt_create(bs, o, header_len(version) + 8, err);
		pthread_mutex_unlock(&bs->lock);
	}
	if (r == 0 && o->prealloc != VS_PREALLOC_OFF) {
		pthread_mutex_lock(&bs->lock);
		r = preallocate(bs, o->prealloc, err);
		pthread_mutex_unlock(&bs->lock);
	}
	if (r == 0 && fsync(bs->fd) < 0)
		r = vs_error_set(err, errno, "sync `%s`", path);
	vs_block_close(bs);
	return r;
}
