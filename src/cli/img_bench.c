/* `vessel img bench`: qemu-img bench's workload through vessel's
 * asynchronous block layer (requests in flight up to the queue depth,
 * completions from the engine, as a device model drives it). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/img.h"
#include "util/log.h"
#include "util/parse.h"

struct bench {
	struct vs_block *bs;
	struct vs_aio *aio;
	bool write;
	uint64_t count, submitted, completed, errors;
	uint64_t offset, step, bufsize, flush_interval, since_flush;
	struct vs_block_req flush_req;
	bool flushing;
};

struct slot {
	struct bench *b;
	struct vs_block_req req;
	struct iovec iov;
};

static void submit_next(struct slot *s);

static void on_flush(struct vs_block_req *req, int ret)
{
	struct bench *b = req->opaque;
	b->flushing = false;
	b->errors += ret < 0;
}

static void on_done(struct vs_block_req *req, int ret)
{
	struct slot *s = req->opaque;
	struct bench *b = s->b;
	b->completed++;
	b->errors += ret < 0;
	if (b->flush_interval && ++b->since_flush >= b->flush_interval && !b->flushing) {
		b->since_flush = 0;
		b->flushing = true;
		b->flush_req = (struct vs_block_req){ .op = VS_BLOCK_FLUSH, .done = on_flush, .opaque = b };
		if (vs_block_submit(b->bs, b->aio, &b->flush_req) < 0)
			b->flushing = false;
	}
	submit_next(s);
}

static void submit_next(struct slot *s)
{
	struct bench *b = s->b;
	if (b->submitted >= b->count)
		return;
	/* qemu-img's wrap: modulo the usable range, which keeps offsets
	 * aligned when the size and step are. */
	if (b->offset + b->bufsize > b->bs->size)
		b->offset = b->bs->size > b->bufsize ? b->offset % (b->bs->size - b->bufsize) : 0;
	s->req = (struct vs_block_req){ .op = b->write ? VS_BLOCK_WRITE : VS_BLOCK_READ,
					.offset = b->offset,
					.iov = &s->iov,
					.iovcnt = 1,
					.done = on_done,
					.opaque = s };
	b->offset += b->step;
	b->offset = b->bs->size > b->bufsize ? b->offset % (b->bs->size - b->bufsize) : 0;
	b->submitted++;
	if (vs_block_submit(b->bs, b->aio, &s->req) < 0) {
		b->errors++;
		b->completed++;
	}
}

int vs_img_bench(int argc, char **argv)
{
	static const struct option lopts[] = { { "pattern", required_argument, NULL, 'P' },
					       { "flush-interval", required_argument, NULL, 'F' },
					       { "no-drain", no_argument, NULL, 'N' },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	struct bench b = { .count = 75000, .bufsize = 4096 };
	uint64_t depth = 64, pattern = 0;
	const char *fmt = NULL;
	enum vs_aio_mode mode = VS_AIO_AUTO;
	bool step_set = false, quiet = false, direct = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":c:d:f:i:no:qs:S:t:wUh", lopts, NULL)) != -1) {
		uint64_t v = 0;
		const char *name = NULL;
		switch (opt) {
		case 'c':
		case 'd':
		case 'o':
		case 's':
		case 'S':
		case 'F':
		case 'P':
			if (vs_parse_size(optarg, &v) < 0) {
				vs_cli_error("bench: -%c %s is not a number", opt, optarg);
				return VS_IMG_ERROR;
			}
			if (opt == 'c')
				b.count = v;
			else if (opt == 'd')
				depth = v;
			else if (opt == 'o')
				b.offset = v;
			else if (opt == 's')
				b.bufsize = v;
			else if (opt == 'S') {
				b.step = v;
				step_set = true;
			} else if (opt == 'F')
				b.flush_interval = v;
			else
				pattern = v;
			break;
		case 'f':
			fmt = optarg;
			break;
		case 'i':
			name = optarg;
			if (strcmp(name, "io_uring") == 0)
				mode = VS_AIO_URING;
			else if (strcmp(name, "threads") == 0)
				mode = VS_AIO_THREADS;
			else {
				vs_cli_error("bench: -i %s: use io_uring or threads", name);
				return VS_IMG_ERROR;
			}
			break;
		case 'n':
			direct = true;
			break;
		case 'w':
			b.write = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 't':
			/* As qemu-img: none and directsync bypass the page cache. */
			direct = !strcmp(optarg, "none") || !strcmp(optarg, "directsync");
			break;
		case 'U':
		case 'N':
			break;
		case 'h':
			fputs("usage: vessel img bench [-c count] [-d depth] [-f fmt] [-i io_uring|threads] "
			      "[-n] [-o offset]\n"
			      "                        [-s size] [-S step] [-t cache] [-w] [--pattern=N] "
			      "[--flush-interval=N] FILE\n"
			      "  -n, -t none  bypass the host page cache (O_DIRECT)\n",
			      stdout);
			return VS_IMG_OK;
		default:
			vs_cli_error("bench: bad option `%s`", argv[optind - 1]);
			return VS_IMG_ERROR;
		}
	}
	if (optind + 1 != argc) {
		vs_cli_error("bench: expected one file name");
		return VS_IMG_ERROR;
	}
	if (depth == 0 || depth > 4096 || b.bufsize == 0 || b.bufsize > (64u << 20)) {
		vs_cli_error("bench: depth 1..4096 and a buffer size up to 64M");
		return VS_IMG_ERROR;
	}
	if (!step_set)
		b.step = b.bufsize;
	b.bs = vs_img_open_arg(argv[optind], fmt,
			       (b.write ? VS_BLOCK_RDWR : 0) | (direct ? VS_BLOCK_DIRECT : 0));
	if (!b.bs)
		return VS_IMG_ERROR;
	struct vs_error err = { 0 };
	struct slot *slots = calloc(depth, sizeof(*slots));
	uint8_t *bufs = aligned_alloc(4096, (size_t)(depth * ((b.bufsize + 4095) & ~4095ull)));
	if (!slots || !bufs || vs_aio_create(mode, (unsigned)depth, &b.aio, &err) < 0) {
		vs_cli_error("bench: %s", err.msg[0] ? err.msg : "out of memory");
		free(slots);
		free(bufs);
		vs_block_close(b.bs);
		return VS_IMG_ERROR;
	}
	memset(bufs, (int)pattern, (size_t)(depth * ((b.bufsize + 4095) & ~4095ull)));
	if (!quiet)
		printf("Sending %llu %s requests, %llu bytes each, %llu in parallel (starting at offset "
		       "%llu, step "
		       "size %llu) through %s\n",
		       (unsigned long long)b.count, b.write ? "write" : "read", (unsigned long long)b.bufsize,
		       (unsigned long long)depth, (unsigned long long)b.offset, (unsigned long long)b.step,
		       vs_aio_backend(b.aio));
	uint64_t t0 = vs_now_ns();
	for (uint64_t i = 0; i < depth; i++) {
		slots[i].b = &b;
		slots[i].iov =
		    (struct iovec){ bufs + i * ((b.bufsize + 4095) & ~4095ull), (size_t)b.bufsize };
		submit_next(&slots[i]);
	}
	while (b.completed < b.count || b.flushing)
		if (!vs_aio_wait(b.aio) && !vs_aio_inflight(b.aio))
			break;
	double secs = (double)(vs_now_ns() - t0) / 1e9;
	if (!quiet)
		printf("Run completed in %.3f seconds.\n", secs);
	vs_aio_destroy(b.aio);
	free(slots);
	free(bufs);
	int flush = b.write ? vs_block_flush(b.bs) : 0;
	vs_block_close(b.bs);
	if (b.errors || flush < 0) {
		vs_cli_error("bench: %llu requests failed", (unsigned long long)b.errors);
		return VS_IMG_ERROR;
	}
	return VS_IMG_OK;
}
