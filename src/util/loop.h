/* One event loop (epoll) for everything a machine waits on besides its
 * vCPUs: the console today; tap devices, libslirp and block completions
 * next. Handlers run on the thread calling vs_loop_run(); a handler may
 * add, change or remove watches (its own included) and stop the loop
 * (kvmtool's epoll.c is the same idea). */
#ifndef VESSEL_UTIL_LOOP_H
#define VESSEL_UTIL_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

struct vs_loop;

/* `events` are EPOLLIN/EPOLLOUT/... as returned by epoll. */
typedef void (*vs_loop_handler)(void *opaque, uint32_t events);

int vs_loop_create(struct vs_loop **out, struct vs_error *err);
/* Closes nothing but its own epoll fd: watched fds belong to their owners. */
void vs_loop_destroy(struct vs_loop *loop);

/* Watch `fd` for `events` (0: registered but idle). One watch per fd. */
int vs_loop_add(struct vs_loop *loop, int fd, uint32_t events, vs_loop_handler fn, void *opaque,
		struct vs_error *err);
int vs_loop_set_events(struct vs_loop *loop, int fd, uint32_t events);
void vs_loop_remove(struct vs_loop *loop, int fd);

/* Call `fn` once when `ms` milliseconds have passed without the loop
 * stopping (one timer at a time; a new one replaces the old, 0 cancels).
 * For short retries such as a full device buffer. */
void vs_loop_retry_after(struct vs_loop *loop, int ms, void (*fn)(void *opaque), void *opaque);

/* Dispatch events until vs_loop_stop(). Returns 0, or -errno when waiting
 * failed. */
int vs_loop_run(struct vs_loop *loop);
void vs_loop_stop(struct vs_loop *loop);

#endif
