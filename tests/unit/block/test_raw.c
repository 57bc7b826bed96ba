/* The raw driver through the block layer: create, synchronous and
 * asynchronous data paths on both engines, holes, throttling. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "block/block.h"

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/vessel-test-%d-%s", (int)getpid(), name);
}

TEST(create_and_sync_io)
{
	char path[256];
	struct vs_error err;
	struct vs_block *bs;
	struct vs_block_create_opts co = { .size = 4 << 20 };
	tmp_path(path, sizeof(path), "raw1");
	CHECK(vs_block_create(path, "raw", &co, &err) == 0);
	struct vs_block_open_opts oo = { .flags = VS_BLOCK_RDWR };
	CHECK(vs_block_open(path, &oo, &bs, &err) == 0);
	CHECK_EQ_U64(bs->size, 4 << 20);
	CHECK(strcmp(bs->drv->name, "raw") == 0);

	char buf[8192], back[8192];
	memset(buf, 0x5a, sizeof(buf));
	CHECK(vs_block_pwrite(bs, 1 << 20, buf, sizeof(buf)) == 0);
	CHECK(vs_block_pread(bs, 1 << 20, back, sizeof(back)) == 0);
	CHECK(memcmp(buf, back, sizeof(buf)) == 0);
	CHECK(vs_block_pwrite(bs, (4 << 20) - 10, buf, 11) == -EINVAL);
	CHECK(vs_block_flush(bs) == 0);

	/* The hole before the data and the data itself. */
	struct vs_block_status st;
	uint64_t n;
	CHECK(vs_block_status(bs, 0, 4 << 20, &n, &st) == 0);
	CHECK(st.flags & VS_BLOCK_ZERO);
	CHECK(n > 0 && n <= (1 << 20));
	CHECK(vs_block_status(bs, 1 << 20, 8192, &n, &st) == 0);
	CHECK(st.flags & VS_BLOCK_DATA);

	CHECK(vs_block_write_zeroes(bs, 1 << 20, 4096) == 0);
	CHECK(vs_block_pread(bs, 1 << 20, back, sizeof(back)) == 0);
	for (int i = 0; i < 4096; i++)
		CHECK(back[i] == 0);
	CHECK(back[4096] == 0x5a);
	CHECK(vs_block_discard(bs, 1 << 20, 8192) == 0);

	CHECK(vs_block_resize(bs, 8 << 20, &err) == 0);
	CHECK_EQ_U64(bs->size, 8 << 20);
	vs_block_close(bs);

	/* Read-only open refuses writes. */
	CHECK(vs_block_open(path, NULL, &bs, &err) == 0);
	CHECK_EQ_U64(bs->size, 8 << 20);
	CHECK(vs_block_pwrite(bs, 0, buf, 512) == -EROFS);
	vs_block_close(bs);
	unlink(path);

	/* Failures name the file and leave nothing behind. */
	CHECK(vs_block_open("/nonexistent/x", NULL, &bs, &err) < 0);
	CHECK(strstr(err.msg, "/nonexistent/x") != NULL);
	CHECK(vs_block_create("/nonexistent/x", "raw", &co, &err) < 0);
	struct vs_block_open_opts bad = { .format = "vmdk" };
	tmp_path(path, sizeof(path), "raw2");
	CHECK(vs_block_create(path, "raw", &co, &err) == 0);
	CHECK(vs_block_open(path, &bad, &bs, &err) < 0);
	CHECK(strstr(err.msg, "vmdk") != NULL);
	unlink(path);
}

struct actx {
	int done;
	int errors;
};

static void on_req(struct vs_block_req *req, int ret)
{
	struct actx *c = req->opaque;
	c->done++;
	if (ret < 0)
		c->errors++;
}

static void async_io(int *failed_, enum vs_aio_mode mode)
{
	char path[256];
	struct vs_error err;
	struct vs_block *bs;
	struct vs_aio *aio;
	struct vs_block_create_opts co = { .size = 1 << 20 };
	tmp_path(path, sizeof(path), "raw-async");
	CHECK(vs_block_create(path, "raw", &co, &err) == 0);
	struct vs_block_open_opts oo = { .flags = VS_BLOCK_RDWR };
	CHECK(vs_block_open(path, &oo, &bs, &err) == 0);
	if (vs_aio_create(mode, 8, &aio, &err) < 0) {
		vs_block_close(bs);
		unlink(path);
		SKIP("engine refused");
	}
	enum { N = 64 };
	static char data[N][512], back[N][512];
	static struct iovec iov[N][2], riov[N];
	static struct vs_block_req reqs[N];
	struct actx c = { 0 };
	for (int i = 0; i < N; i++) {
		memset(data[i], i, 512);
		/* Two iovecs per write: scatter-gather reaches the file. */
		iov[i][0] = (struct iovec){ data[i], 100 };
		iov[i][1] = (struct iovec){ data[i] + 100, 412 };
		reqs[i] = (struct vs_block_req){ .op = VS_BLOCK_WRITE,
						 .offset = (uint64_t)i * 4096,
						 .iov = iov[i],
						 .iovcnt = 2,
						 .done = on_req,
						 .opaque = &c };
		CHECK(vs_block_submit(bs, aio, &reqs[i]) == 0);
	}
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	struct vs_block_req fl = { .op = VS_BLOCK_FLUSH, .done = on_req, .opaque = &c };
	struct vs_block_req wz = {
		.op = VS_BLOCK_WRITE_ZEROES, .offset = 0, .len = 512, .done = on_req, .opaque = &c
	};
	CHECK(vs_block_submit(bs, aio, &fl) == 0);
	CHECK(vs_block_submit(bs, aio, &wz) == 0);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK_EQ_U64(c.done, N + 2);
	CHECK_EQ_U64(c.errors, 0);
	for (int i = 0; i < N; i++) {
		riov[i] = (struct iovec){ back[i], 512 };
		reqs[i] = (struct vs_block_req){ .op = VS_BLOCK_READ,
						 .offset = (uint64_t)i * 4096,
						 .iov = &riov[i],
						 .iovcnt = 1,
						 .done = on_req,
						 .opaque = &c };
		CHECK(vs_block_submit(bs, aio, &reqs[i]) == 0);
	}
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	for (int i = 1; i < N; i++)
		CHECK(memcmp(back[i], data[i], 512) == 0);
	for (int i = 0; i < 512; i++)
		CHECK(back[0][i] == 0);
	/* Malformed requests are refused at once. */
	struct vs_block_req past = { .op = VS_BLOCK_READ,
				     .offset = 1 << 20,
				     .iov = &riov[0],
				     .iovcnt = 1,
				     .done = on_req,
				     .opaque = &c };
	CHECK(vs_block_submit(bs, aio, &past) == -EINVAL);
	vs_aio_destroy(aio);
	vs_block_close(bs);
	unlink(path);
}

TEST(async_uring)
{
	async_io(failed_, VS_AIO_URING);
}

TEST(async_threads)
{
	async_io(failed_, VS_AIO_THREADS);
}

TEST(async_throttled)
{
	char path[256];
	struct vs_error err;
	struct vs_block *bs;
	struct vs_aio *aio;
	struct vs_block_create_opts co = { .size = 1 << 20 };
	tmp_path(path, sizeof(path), "raw-throttle");
	CHECK(vs_block_create(path, "raw", &co, &err) == 0);
	CHECK(vs_block_open(path, NULL, &bs, &err) == 0);
	CHECK(vs_aio_create(VS_AIO_AUTO, 8, &aio, &err) == 0);
	/* One op per second with a burst of 3: the fourth request is held
	 * (it would take a one-second stall of this process to admit it). */
	vs_block_set_throttle(bs, 0, 0, 1, 3);
	static char b[4][512];
	struct iovec iov[4];
	struct vs_block_req reqs[4];
	struct actx c = { 0 };
	for (int i = 0; i < 4; i++) {
		iov[i] = (struct iovec){ b[i], 512 };
		reqs[i] = (struct vs_block_req){ .op = VS_BLOCK_READ,
						 .offset = 0,
						 .iov = &iov[i],
						 .iovcnt = 1,
						 .done = on_req,
						 .opaque = &c };
		CHECK(vs_block_submit(bs, aio, &reqs[i]) == 0);
	}
	uint64_t wait = vs_block_run_throttled(bs, aio);
	CHECK(wait > 0);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK_EQ_U64(c.done, 3);
	while ((wait = vs_block_run_throttled(bs, aio)) > 0) {
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000u),
				       .tv_nsec = (long)(wait % 1000000000u) };
		nanosleep(&ts, NULL);
	}
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK_EQ_U64(c.done, 4);
	CHECK_EQ_U64(c.errors, 0);
	vs_aio_destroy(aio);
	vs_block_close(bs);
	unlink(path);
}

VS_TAP_MAIN(TAP_CASE(create_and_sync_io), TAP_CASE(async_uring), TAP_CASE(async_threads),
	    TAP_CASE(async_throttled))
