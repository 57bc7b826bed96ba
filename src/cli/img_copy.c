/* The copy loop of `vessel img convert`, pipelined: several chunks in
 * flight through the asynchronous block layer, so reading the source and
 * writing the destination overlap (raw goes through io_uring, qcow2
 * allocation runs on the engine's workers). Zero ranges of the source are
 * skipped, zero 4 KiB grains of the data are not written (the destination
 * is fresh, it reads zeros). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/img.h"

#define SLOTS 4
#define CHUNK (2u << 20)
#define GRAIN 4096

struct copy;

struct slot {
	struct copy *c;
	uint8_t *buf;
	uint64_t off, len, pos;
	struct iovec iov;
	struct vs_block_req req;
};

struct copy {
	struct vs_block *src, *dst;
	struct vs_aio *aio;
	uint64_t next, done;
	int err;
	struct vs_block *err_bs;
	const char *err_what;
	bool show;
	struct slot slots[SLOTS];
};

static void fail(struct copy *c, struct vs_block *bs, const char *what, int r)
{
	if (!c->err) {
		c->err = r;
		c->err_bs = bs;
		c->err_what = what;
	}
}

static void start(struct slot *s);

static void on_written(struct vs_block_req *req, int ret);

/* Submit the next non-zero run of the slot's chunk, or take a new chunk. */
static void write_next(struct slot *s)
{
	struct copy *c = s->c;
	uint64_t i = s->pos;
	while (i < s->len) {
		uint64_t g = s->len - i < GRAIN ? s->len - i : GRAIN;
		if (!vs_img_is_zero(s->buf + i, g))
			break;
		i += g;
	}
	if (c->err || i >= s->len) {
		c->done += s->len;
		if (c->show) {
			printf("    (%.2f/100%%)\r", (double)c->done * 100.0 / (double)c->src->size);
			fflush(stdout);
		}
		start(s);
		return;
	}
	uint64_t j = i;
	while (j < s->len) {
		uint64_t g = s->len - j < GRAIN ? s->len - j : GRAIN;
		if (vs_img_is_zero(s->buf + j, g))
			break;
		j += g;
	}
	s->pos = j;
	s->iov = (struct iovec){ s->buf + i, (size_t)(j - i) };
	s->req = (struct vs_block_req){ .op = VS_BLOCK_WRITE,
					.offset = s->off + i,
					.iov = &s->iov,
					.iovcnt = 1,
					.done = on_written,
					.opaque = s };
	int r = vs_block_submit(c->dst, c->aio, &s->req);
	if (r < 0)
		fail(c, c->dst, "convert: write", r);
}

static void on_written(struct vs_block_req *req, int ret)
{
	struct slot *s = req->opaque;
	if (ret < 0)
		fail(s->c, s->c->dst, "convert: write", ret);
	write_next(s);
}

static void on_read(struct vs_block_req *req, int ret)
{
	struct slot *s = req->opaque;
	if (ret < 0) {
		fail(s->c, s->c->src, "convert: read", ret);
		return;
	}
	s->pos = 0;
	write_next(s);
}

/* The next range of the source that may hold data, at most CHUNK long. */
static bool next_range(struct copy *c, uint64_t *off, uint64_t *len)
{
	while (!c->err && c->next < c->src->size) {
		struct vs_block_status st;
		uint64_t n, rest = c->src->size - c->next;
		int r = vs_block_status(c->src, c->next, rest < CHUNK ? rest : CHUNK, &n, &st);
		if (r < 0) {
			fail(c, c->src, "convert: map", r);
			return false;
		}
		uint64_t at = c->next;
		c->next += n;
		if ((st.flags & VS_BLOCK_ZERO) && !(st.flags & VS_BLOCK_DATA)) {
			c->done += n;
			continue;
		}
		*off = at;
		*len = n;
		return true;
	}
	return false;
}

static void start(struct slot *s)
{
	struct copy *c = s->c;
	if (!next_range(c, &s->off, &s->len))
		return;
	s->iov = (struct iovec){ s->buf, (size_t)s->len };
	s->req = (struct vs_block_req){ .op = VS_BLOCK_READ,
					.offset = s->off,
					.iov = &s->iov,
					.iovcnt = 1,
					.done = on_read,
					.opaque = s };
	int r = vs_block_submit(c->src, c->aio, &s->req);
	if (r < 0)
		fail(c, c->src, "convert: read", r);
}

int vs_img_copy(struct vs_block *src, struct vs_block *dst, bool show)
{
	struct copy c = { .src = src, .dst = dst, .show = show };
	struct vs_error err = { 0 };
	uint8_t *bufs = malloc((size_t)SLOTS * CHUNK);
	if (!bufs || vs_aio_create(VS_AIO_AUTO, 64, &c.aio, &err) < 0) {
		vs_cli_error("convert: %s", err.msg[0] ? err.msg : "out of memory");
		free(bufs);
		return VS_IMG_ERROR;
	}
	for (int i = 0; i < SLOTS; i++) {
		c.slots[i] = (struct slot){ .c = &c, .buf = bufs + (size_t)i * CHUNK };
		start(&c.slots[i]);
	}
	while (vs_aio_inflight(c.aio))
		vs_aio_wait(c.aio);
	vs_aio_destroy(c.aio);
	free(bufs);
	if (show)
		printf("\n");
	if (c.err) {
		vs_img_io_error(c.err_bs, c.err_what, c.err);
		return VS_IMG_ERROR;
	}
	return VS_IMG_OK;
}
