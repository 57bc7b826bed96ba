/* Compressed clusters: raw deflate streams (no zlib header; any window
 * size reads) or zstd frames, each decompressing to exactly one cluster. */
#include <errno.h>
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
