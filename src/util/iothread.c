#include "util/iothread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

struct vs_iothread {
	struct vs_loop *loop;
	int stop_fd; /* eventfd: ends the loop */
	pthread_t thread;
	bool running;
};

static void on_stop(void *opaque, uint32_t events)
{
	struct vs_iothread *t = opaque;
	uint64_t n;
	(void)events;
	/* Consume the request so the thread can be started again. */
	if (read(t->stop_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing to consume */
	}
	vs_loop_stop(t->loop);
}

int vs_iothread_create(struct vs_iothread **out, struct vs_error *err)
{
	struct vs_iothread *t = calloc(1, sizeof(*t));
	if (!t)
		return vs_error_set(err, ENOMEM, "allocating the I/O thread");
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->stop_fd < 0) {
		vs_error_set(err, errno, "eventfd");
		free(t);
		return -1;
	}
	if (vs_loop_create(&t->loop, err) < 0 ||
	    vs_loop_add(t->loop, t->stop_fd, EPOLLIN, on_stop, t, err) < 0) {
		vs_iothread_destroy(t);
		return -1;
	}
	*out = t;
	return 0;
}

struct vs_loop *vs_iothread_loop(struct vs_iothread *t)
{
	return t->loop;
}

static void *iothread_main(void *opaque)
{
	struct vs_iothread *t = opaque;
	int rc = vs_loop_run(t->loop);
	if (rc < 0)
		vs_warn("I/O thread: waiting for events failed: %s", strerror(-rc));
	return NULL;
}

int vs_iothread_start(struct vs_iothread *t, struct vs_error *err)
{
	sigset_t all, old;
	int rc;
	if (t->running)
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, iothread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return vs_error_set(err, rc, "starting the I/O thread");
	t->running = true;
	return 0;
}

void vs_iothread_stop(struct vs_iothread *t)
{
	uint64_t one = 1;
	if (!t || !t->running)
		return;
	if (write(t->stop_fd, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from overflowing */
	}
	pthread_join(t->thread, NULL);
	t->running = false;
}

void vs_iothread_destroy(struct vs_iothread *t)
{
	if (!t)
		return;
	vs_iothread_stop(t);
	vs_loop_destroy(t->loop);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	free(t);
}
