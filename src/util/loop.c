#include "util/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/log.h"

#define LOOP_MAX_EVENTS 16

struct watch {
	int fd;
	vs_loop_handler fn;
	void *opaque;
	struct watch *next;
};

struct vs_loop {
	int epfd;
	struct watch *watches;
	bool stopped;
	/* Watches removed while dispatching are freed after the batch, so an
	 * event already fetched for them is recognised and skipped. */
	struct watch *graveyard;
	int retry_ms;
	uint64_t retry_at_ns;
	void (*retry_fn)(void *opaque);
	void *retry_opaque;
};

int vs_loop_create(struct vs_loop **out, struct vs_error *err)
{
	struct vs_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return vs_error_set(err, ENOMEM, "allocating the event loop");
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int e = errno;
		free(loop);
		return vs_error_set(err, e, "epoll_create1");
	}
	*out = loop;
	return 0;
}

static void free_list(struct watch *w)
{
	while (w) {
		struct watch *next = w->next;
		free(w);
		w = next;
	}
}

void vs_loop_destroy(struct vs_loop *loop)
{
	if (!loop)
		return;
	free_list(loop->watches);
	free_list(loop->graveyard);
	close(loop->epfd);
	free(loop);
}

int vs_loop_add(struct vs_loop *loop, int fd, uint32_t events, vs_loop_handler fn, void *opaque,
		struct vs_error *err)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };
	if (!w)
		return vs_error_set(err, ENOMEM, "allocating an event watch");
	*w = (struct watch){ fd, fn, opaque, loop->watches };
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(w);
		return vs_error_set(err, e, "watching fd %d", fd);
	}
	loop->watches = w;
	return 0;
}

static struct watch **find(struct vs_loop *loop, int fd)
{
	for (struct watch **p = &loop->watches; *p; p = &(*p)->next)
		if ((*p)->fd == fd)
			return p;
	return NULL;
}

int vs_loop_set_events(struct vs_loop *loop, int fd, uint32_t events)
{
	struct watch **p = find(loop, fd);
	struct epoll_event ev = { .events = events };
	if (!p)
		return -ENOENT;
	ev.data.ptr = *p;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void vs_loop_remove(struct vs_loop *loop, int fd)
{
	struct watch **p = find(loop, fd), *w;
	if (!p)
		return;
	w = *p;
	*p = w->next;
	/* The fd may already be closed by its owner: then the kernel dropped
	 * it from the set, and the error says nothing worth reporting. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->fn = NULL;
	w->next = loop->graveyard;
	loop->graveyard = w;
}

void vs_loop_retry_after(struct vs_loop *loop, int ms, void (*fn)(void *opaque), void *opaque)
{
	loop->retry_fn = ms > 0 ? fn : NULL;
	loop->retry_opaque = opaque;
	loop->retry_at_ns = vs_now_ns() + (uint64_t)ms * 1000000ull;
}

void vs_loop_stop(struct vs_loop *loop)
{
	loop->stopped = true;
}

static int retry_timeout_ms(const struct vs_loop *loop)
{
	uint64_t now;
	if (!loop->retry_fn)
		return -1;
	now = vs_now_ns();
	if (now >= loop->retry_at_ns)
		return 0;
	return (int)((loop->retry_at_ns - now + 999999) / 1000000);
}

int vs_loop_run(struct vs_loop *loop)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	loop->stopped = false;
	while (!loop->stopped) {
		int n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, retry_timeout_ms(loop));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !loop->stopped; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w->fn)
				w->fn(w->opaque, evs[i].events);
		}
		free_list(loop->graveyard);
		loop->graveyard = NULL;
		if (!loop->stopped && loop->retry_fn && vs_now_ns() >= loop->retry_at_ns) {
			void (*fn)(void *) = loop->retry_fn;
			loop->retry_fn = NULL;
			fn(loop->retry_opaque);
		}
	}
	return 0;
}
