/* Compressed clusters: raw deflate streams (no zlib header; any window
 * size reads) or zstd frames, each decompressing to exactly one cluster. */
#include <errno.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "block/qcow2/qcow2.h"

static int inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	z_stream z = { 0 };
	if (inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	int r = inflate(&z, Z_FINISH);
	size_t produced = out_len - z.avail_out;
	inflateEnd(&z);
	/* The input may run past the stream's end (sector padding): what
	 * matters is a whole cluster out. */
	if ((r != Z_STREAM_END && r != Z_BUF_ERROR && r != Z_OK) || produced != out_len)
		return -EIO;
	return 0;
}

static int unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!d)
		return -ENOMEM;
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_len, 0 };
	int ret = 0;
	/* Stream until a cluster came out: trailing bytes are padding. */
	while (ob.pos < ob.size) {
		size_t r = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(r)) {
			ret = -EIO;
			break;
		}
		if (r == 0 || ib.pos == ib.size)
			break;
	}
	if (ret == 0 && ob.pos != out_len)
		ret = -EIO;
	ZSTD_freeDCtx(d);
	return ret;
}

int qcow2_decompress(struct qcow2 *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	int r = s->compression_type == QCOW2_COMPRESSION_ZSTD ? unzstd(in, in_len, out, out_len)
							      : inflate_raw(in, in_len, out, out_len);
	if (r == -EIO)
		qcow2_fail(s, "a compressed cluster does not decompress to a whole cluster");
	return r;
}

size_t qcow2_compress(struct qcow2 *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	if (s->compression_type == QCOW2_COMPRESSION_ZSTD) {
		size_t r = ZSTD_compress(out, out_len, in, in_len, 3);
		return ZSTD_isError(r) ? 0 : r;
	}
	/* Raw deflate with a 4 KiB window, the stream qemu writes. */
	z_stream z = { 0 };
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	int r = deflate(&z, Z_FINISH);
	size_t n = out_len - z.avail_out;
	deflateEnd(&z);
	return r == Z_STREAM_END ? n : 0;
}

/* Write one whole guest cluster compressed. Compressed clusters are packed
 * back to back: a host cluster holding parts of several has one reference
 * from each. Clusters that do not shrink are written normally. */
int qcow2_write_compressed(struct vs_block *bs, uint64_t off, const void *buf, size_t len)
{
	struct qcow2 *s = bs->opaque;
	uint64_t cs = s->cluster_size, l2off, host;
	uint8_t *l2, *tmp = s->zbuf_in;
	if (off & (cs - 1) || (len != cs && off + len != s->size))
		return -EINVAL;
	if (s->crypt) {
		qcow2_fail(s, "compressed clusters cannot be encrypted (as in qemu): leave out -c");
		return -ENOTSUP;
	}
	memcpy(s->cow_buf, buf, len);
	memset(s->cow_buf + len, 0, cs - len);
	s->zbuf_host = 0;
	size_t clen = qcow2_compress(s, s->cow_buf, cs, tmp, cs - 512);
	if (!clen)
		return bs->drv->write(bs, off, buf, len);
	int r = qcow2_get_l2(s, off, true, &l2, &l2off);
	if (r < 0)
		return r;
	uint64_t idx = (off >> s->cluster_bits) & (s->l2_entries - 1);
	uint64_t old = qcow2_l2_entry(s, l2, idx);
	uint64_t room = s->comp_next ? cs - (s->comp_next & (cs - 1)) : 0;
	if (s->comp_next && (s->comp_next & (cs - 1)) && clen <= room) {
		/* The tail of the last cluster used: one more reference. */
		host = s->comp_next;
		r = qcow2_update_refcounts(s, host >> s->cluster_bits, 1, 1);
	} else {
		r = qcow2_alloc_clusters(s, (clen + cs - 1) / cs, &host);
	}
	if (r < 0)
		return r;
	r = qcow2_pwrite(s, host, tmp, clen);
	if (r < 0)
		return r;
	s->comp_next = host + clen;
	unsigned x = 62 - (s->cluster_bits - 8);
	uint64_t nsec = ((host + clen - 1) >> 9) - (host >> 9);
	uint64_t e = QCOW2_OFLAG_COMPRESSED | (nsec << x) | host, bm = 0;
	r = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
	if (r == 0)
		r = qcow2_set_l2_entries(s, l2off, l2, idx, 1, &e, &bm);
	if (r == 0)
		r = qcow2_free_entry(s, old);
	return r;
}
