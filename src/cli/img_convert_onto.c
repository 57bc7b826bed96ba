/* `convert -B BACKING` and `convert -n`: copying onto an image that does
 * not simply read zeros. Over a backing file only the grains that differ
 * from it are written, the rest keeps reading through (as qemu-img's -B);
 * onto an existing target (-n) zero ranges are written as zeros, since the
 * target may hold data there. One grain is the target's cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/img.h"

#define ONTO_CHUNK (2u << 20)

enum grain_action { SKIP, WRITE, ZERO };

static enum grain_action action(const uint8_t *src, const uint8_t *base, size_t n)
{
	if (base && memcmp(src, base, n) == 0)
		return SKIP;
	return vs_img_is_zero(src, n) ? ZERO : WRITE;
}

/* Runs of grains with the same action become one request. */
static int apply(struct vs_block *dst, uint64_t off, const uint8_t *buf, size_t len, enum grain_action a)
{
	if (a == WRITE)
		return vs_block_pwrite(dst, off, buf, len);
	if (a == ZERO)
		return vs_block_write_zeroes(dst, off, len);
	return 0;
}

static int copy_chunk(struct vs_block *dst, uint64_t off, const uint8_t *sbuf, const uint8_t *bbuf, size_t n,
		      size_t grain)
{
	size_t i = 0;
	while (i < n) {
		size_t g = n - i < grain ? n - i : grain;
		enum grain_action a = action(sbuf + i, bbuf ? bbuf + i : NULL, g);
		size_t j = i + g;
		while (j < n) {
			size_t h = n - j < grain ? n - j : grain;
			if (action(sbuf + j, bbuf ? bbuf + j : NULL, h) != a)
				break;
			j += h;
		}
		int r = apply(dst, off + i, sbuf + i, j - i, a);
		if (r < 0)
			return r;
		i = j;
	}
	return 0;
}

/* Whether the source reads zeros over [off, off + n) without reading. */
static bool known_zero(struct vs_block *src, uint64_t off, uint64_t n)
{
	while (n) {
		struct vs_block_status st;
		uint64_t got;
		if (vs_block_status(src, off, n, &got, &st) < 0 || !(st.flags & VS_BLOCK_ZERO) ||
		    (st.flags & VS_BLOCK_DATA))
			return false;
		off += got;
		n -= got;
	}
	return true;
}

int vs_img_copy_onto(struct vs_block *src, struct vs_block *dst, struct vs_block *base, bool show)
{
	struct vs_block_info di;
	vs_block_get_info(dst, &di);
	size_t grain = di.cluster_size ? di.cluster_size : 65536;
	size_t chunk = grain > ONTO_CHUNK ? grain : ONTO_CHUNK;
	uint8_t *sbuf = malloc(chunk), *bbuf = base ? malloc(chunk) : NULL;
	int ret = VS_IMG_OK;
	if (!sbuf || (base && !bbuf)) {
		vs_cli_error("convert: out of memory");
		ret = VS_IMG_ERROR;
		goto out;
	}
	for (uint64_t off = 0; off < src->size;) {
		size_t n = src->size - off < chunk ? (size_t)(src->size - off) : chunk;
		int r = 0;
		if (known_zero(src, off, n))
			memset(sbuf, 0, n);
		else
			r = vs_block_pread(src, off, sbuf, n);
		if (r < 0) {
			vs_img_io_error(src, "convert: read", r);
			ret = VS_IMG_ERROR;
			break;
		}
		/* Past the backing file's end it reads zeros (pread says so). */
		if (base && (r = vs_block_pread(base, off, bbuf, n)) < 0) {
			vs_img_io_error(base, "convert: read the backing file", r);
			ret = VS_IMG_ERROR;
			break;
		}
		r = copy_chunk(dst, off, sbuf, bbuf, n, grain);
		if (r < 0) {
			vs_img_io_error(dst, "convert: write", r);
			ret = VS_IMG_ERROR;
			break;
		}
		off += n;
		if (show) {
			printf("    (%.2f/100%%)\r", (double)off * 100.0 / (double)src->size);
			fflush(stdout);
		}
	}
	if (show)
		printf("\n");
out:
	free(sbuf);
	free(bbuf);
	return ret;
}
