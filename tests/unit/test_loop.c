/* The event loop: dispatch, removal from inside a handler, retry timers,
 * and stop. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tap.h"
#include "util/loop.h"

static int failed_inline; /* set by handlers, which have no TAP context */

struct ctx {
	struct vs_loop *loop;
	int fd_a, fd_b;
	int a_calls, b_calls, retries;
};

static void drain(int fd)
{
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* nothing pending */
	}
}

static void poke(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) < 0) {
		/* an eventfd takes it */
	}
}

/* a removes b (which is also ready) and stops the loop after two rounds. */
static void on_a(void *opaque, uint32_t events)
{
	struct ctx *c = opaque;
	if (!(events & EPOLLIN))
		failed_inline = 1;
	drain(c->fd_a);
	c->a_calls++;
	vs_loop_remove(c->loop, c->fd_b);
	if (c->a_calls == 2)
		vs_loop_stop(c->loop);
	else
		poke(c->fd_a);
}

static void on_b(void *opaque, uint32_t events)
{
	struct ctx *c = opaque;
	(void)events;
	drain(c->fd_b);
	c->b_calls++;
}

TEST(dispatch_and_remove_inside_handler)
{
	struct ctx c = { 0 };
	struct vs_error err = { 0 };
	CHECK(vs_loop_create(&c.loop, &err) == 0);
	c.fd_a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c.fd_b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(vs_loop_add(c.loop, c.fd_a, EPOLLIN, on_a, &c, &err) == 0);
	CHECK(vs_loop_add(c.loop, c.fd_b, EPOLLIN, on_b, &c, &err) == 0);
	poke(c.fd_b);
	poke(c.fd_a);
	CHECK(vs_loop_run(c.loop) == 0);
	CHECK_EQ_U64(c.a_calls, 2);
	/* b was ready in the first batch: it may have run before a removed
	 * it, never after. */
	CHECK(c.b_calls <= 1);
	CHECK(failed_inline == 0);
	CHECK_EQ_U64(vs_loop_set_events(c.loop, c.fd_b, EPOLLIN), (uint64_t)-ENOENT);
	vs_loop_destroy(c.loop);
	close(c.fd_a);
	close(c.fd_b);
}

static void on_retry(void *opaque)
{
	struct ctx *c = opaque;
	if (++c->retries == 3)
		vs_loop_stop(c->loop);
	else
		vs_loop_retry_after(c->loop, 1, on_retry, c);
}

TEST(retry_timer_runs_until_stopped)
{
	struct ctx c = { 0 };
	struct vs_error err = { 0 };
	CHECK(vs_loop_create(&c.loop, &err) == 0);
	vs_loop_retry_after(c.loop, 1, on_retry, &c);
	CHECK(vs_loop_run(c.loop) == 0);
	CHECK_EQ_U64(c.retries, 3);
	vs_loop_destroy(c.loop);
}

TEST(regular_file_is_refused_with_eperm)
{
	struct vs_loop *loop;
	struct vs_error err = { 0 };
	char path[] = "/tmp/vessel-loop-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	CHECK(vs_loop_create(&loop, &err) == 0);
	/* The console relies on this to fall back to timed reads. */
	CHECK(vs_loop_add(loop, fd, EPOLLIN, on_b, NULL, &err) < 0);
	CHECK_EQ_U64(err.code, EPERM);
	vs_loop_destroy(loop);
	close(fd);
}

VS_TAP_MAIN(TAP_CASE(dispatch_and_remove_inside_handler), TAP_CASE(retry_timer_runs_until_stopped),
	    TAP_CASE(regular_file_is_refused_with_eperm))
