/* The engine on both back ends: many concurrent reads and writes to a
 * temporary file, fsync, worker calls, and completion through the eventfd. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tap.h"
#include "block/aio.h"

#define N 200
#define BS 4096

struct ctx {
	int completed;
	int errors;
};

static void on_done(struct vs_aio_req *r)
{
	struct ctx *c = r->opaque;
	c->completed++;
	if (r->res < 0 || (r->op != VS_AIO_FSYNC && r->op != VS_AIO_CALL && r->res != BS))
		c->errors++;
}

static int add_one(void *arg)
{
	(*(int *)arg)++;
	return 7;
}

static void exercise(int *failed_, enum vs_aio_mode mode)
{
	struct vs_aio *aio;
	struct vs_error err;
	char path[] = "/tmp/vessel-aio-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	if (vs_aio_create(mode, 16, &aio, &err) < 0) {
		close(fd);
		if (mode == VS_AIO_URING)
			SKIP("io_uring refused here");
		CHECK(0);
		return;
	}
	CHECK(strcmp(vs_aio_backend(aio), mode == VS_AIO_THREADS ? "threads" : "io_uring") == 0);
	static char wbuf[N][BS], rbuf[N][BS];
	static struct iovec wiov[N], riov[N];
	static struct vs_aio_req reqs[N];
	struct ctx c = { 0 };
	for (int i = 0; i < N; i++) {
		memset(wbuf[i], 'a' + i % 26, BS);
		wbuf[i][0] = (char)i;
		wiov[i] = (struct iovec){ wbuf[i], BS };
		reqs[i] = (struct vs_aio_req){ .op = VS_AIO_WRITE,
					       .fd = fd,
					       .offset = (uint64_t)(N - 1 - i) * BS,
					       .iov = &wiov[i],
					       .iovcnt = 1,
					       .done = on_done,
					       .opaque = &c };
		vs_aio_submit(aio, &reqs[i]); /* more than the ring depth */
	}
	CHECK(vs_aio_inflight(aio) > 0);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK_EQ_U64(c.completed, N);
	CHECK_EQ_U64(c.errors, 0);

	struct vs_aio_req fs = { .op = VS_AIO_FSYNC, .fd = fd, .done = on_done, .opaque = &c };
	vs_aio_submit(aio, &fs);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK_EQ_U64(fs.res, 0);

	/* Read back, completions observed through the eventfd. */
	c = (struct ctx){ 0 };
	for (int i = 0; i < N; i++) {
		riov[i] = (struct iovec){ rbuf[i], BS };
		reqs[i] = (struct vs_aio_req){ .op = VS_AIO_READ,
					       .fd = fd,
					       .offset = (uint64_t)i * BS,
					       .iov = &riov[i],
					       .iovcnt = 1,
					       .done = on_done,
					       .opaque = &c };
		vs_aio_submit(aio, &reqs[i]);
	}
	while (c.completed < N) {
		struct pollfd p = { .fd = vs_aio_fd(aio), .events = POLLIN };
		CHECK(poll(&p, 1, 10000) == 1);
		vs_aio_poll(aio);
	}
	CHECK_EQ_U64(c.errors, 0);
	for (int i = 0; i < N; i++)
		CHECK(memcmp(rbuf[i], wbuf[N - 1 - i], BS) == 0);

	/* A read past the end of the file is short, not an error. */
	struct iovec tail = { rbuf[0], BS };
	struct vs_aio_req past = { .op = VS_AIO_READ,
				   .fd = fd,
				   .offset = (uint64_t)N * BS - 100,
				   .iov = &tail,
				   .iovcnt = 1,
				   .done = on_done,
				   .opaque = &c };
	vs_aio_submit(aio, &past);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK_EQ_U64(past.res, 100);

	/* Worker calls. */
	int counter = 0;
	struct vs_aio_req call = {
		.op = VS_AIO_CALL, .call = add_one, .call_arg = &counter, .done = on_done, .opaque = &c
	};
	vs_aio_submit(aio, &call);
	vs_aio_wait(aio);
	CHECK_EQ_U64(call.res, 7);
	CHECK_EQ_U64(counter, 1);

	/* Errors come back as -errno. */
	struct vs_aio_req bad = {
		.op = VS_AIO_READ, .fd = -1, .iov = &tail, .iovcnt = 1, .done = on_done, .opaque = &c
	};
	vs_aio_submit(aio, &bad);
	vs_aio_wait(aio);
	CHECK(bad.res == -EBADF);
	vs_aio_destroy(aio);
	close(fd);
}

TEST(uring_engine)
{
	exercise(failed_, VS_AIO_URING);
}

TEST(thread_engine)
{
	exercise(failed_, VS_AIO_THREADS);
}

TEST(env_forces_threads)
{
	struct vs_aio *aio;
	struct vs_error err;
	setenv("VESSEL_AIO", "threads", 1);
	CHECK(vs_aio_create(VS_AIO_AUTO, 8, &aio, &err) == 0);
	CHECK(strcmp(vs_aio_backend(aio), "threads") == 0);
	vs_aio_destroy(aio);
	unsetenv("VESSEL_AIO");
}

/* A chain of inline writes: each callback submits the next one. */
struct chain {
	struct vs_aio *aio;
	struct vs_aio_req req;
	struct iovec iov;
	int left, completed, errors, in_submit;
};

static void chain_done(struct vs_aio_req *r)
{
	struct chain *c = r->opaque;
	c->completed++;
	c->errors += r->res != BS || c->in_submit;
	if (--c->left > 0) {
		r->offset += BS;
		r->inline_ok = true;
		c->in_submit = 1;
		vs_aio_submit(c->aio, r);
		c->in_submit = 0;
	}
}

static void inline_writes(int *failed_, enum vs_aio_mode mode)
{
	struct vs_aio *aio;
	struct vs_error err;
	char path[] = "/tmp/vessel-aio-XXXXXX";
	static char buf[BS], back[BS];
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	if (vs_aio_create(mode, 16, &aio, &err) < 0) {
		close(fd);
		SKIP("io_uring refused here");
		return;
	}
	memset(buf, 'x', BS);
	/* Idle engine: the write is done in vs_aio_submit() (the bytes are
	 * in the file at once) but its callback waits for vs_aio_poll(),
	 * which the eventfd announces. */
	struct chain c = { .aio = aio, .left = 1000 };
	c.iov = (struct iovec){ buf, BS };
	c.req = (struct vs_aio_req){ .op = VS_AIO_WRITE,
				     .fd = fd,
				     .iov = &c.iov,
				     .iovcnt = 1,
				     .done = chain_done,
				     .opaque = &c,
				     .inline_ok = true };
	c.in_submit = 1;
	vs_aio_submit(aio, &c.req);
	c.in_submit = 0;
	CHECK_EQ_U64(c.completed, 0);
	CHECK_EQ_U64(vs_aio_inflight(aio), 1);
	CHECK(pread(fd, back, BS, 0) == BS && memcmp(back, buf, BS) == 0);
	struct pollfd p = { .fd = vs_aio_fd(aio), .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 1);
	/* The callbacks' own submissions complete within the same poll, up
	 * to its budget; the rest is announced through the eventfd again. */
	unsigned n = vs_aio_poll(aio);
	CHECK(n > 1 && n < 1000);
	CHECK(poll(&p, 1, 0) == 1);
	while (vs_aio_inflight(aio)) {
		CHECK(poll(&p, 1, 10000) == 1);
		vs_aio_poll(aio);
	}
	CHECK_EQ_U64(c.completed, 1000);
	CHECK_EQ_U64(c.errors, 0);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == 1000 * BS);
	CHECK(poll(&p, 1, 0) == 0);

	/* Not idle: an inline_ok request behind another waits its turn. */
	struct ctx cx = { 0 };
	struct vs_aio_req first = { .op = VS_AIO_FSYNC, .fd = fd, .done = on_done, .opaque = &cx };
	struct iovec iov2 = { buf, BS };
	struct vs_aio_req second = { .op = VS_AIO_WRITE,
				     .fd = fd,
				     .offset = 2000 * BS,
				     .iov = &iov2,
				     .iovcnt = 1,
				     .done = on_done,
				     .opaque = &cx,
				     .inline_ok = true };
	vs_aio_submit(aio, &first);
	vs_aio_submit(aio, &second);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK_EQ_U64(cx.completed, 2);
	CHECK_EQ_U64(cx.errors, 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 2001 * BS);
	vs_aio_destroy(aio);
	close(fd);
}

TEST(inline_uring)
{
	inline_writes(failed_, VS_AIO_URING);
}

TEST(inline_threads)
{
	inline_writes(failed_, VS_AIO_THREADS);
}

VS_TAP_MAIN(TAP_CASE(uring_engine), TAP_CASE(thread_engine), TAP_CASE(env_forces_threads),
	    TAP_CASE(inline_uring), TAP_CASE(inline_threads))
