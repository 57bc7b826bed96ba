/* A thread running its own event loop, for device work that must stay off
 * the vCPU threads (virtqueue processing, host I/O). Watches are added to
 * its loop before it starts (the loop is not thread-safe); afterwards
 * other threads reach it only through the fds it watches (eventfds). */
#ifndef VESSEL_UTIL_IOTHREAD_H
#define VESSEL_UTIL_IOTHREAD_H

#include "util/error.h"
#include "util/loop.h"

struct vs_iothread;

int vs_iothread_create(struct vs_iothread **out, struct vs_error *err);
struct vs_loop *vs_iothread_loop(struct vs_iothread *t);
/* Start the thread, with every signal blocked in it. */
int vs_iothread_start(struct vs_iothread *t, struct vs_error *err);
/* Stop and join the thread if it runs; the handlers run no more once this
 * returns. */
void vs_iothread_stop(struct vs_iothread *t);
/* Stop, then free the loop. NULL is a no-op. */
void vs_iothread_destroy(struct vs_iothread *t);

#endif
