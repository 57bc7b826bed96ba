/* Asynchronous engine for file I/O: io_uring through liburing, or a pool of
 * worker threads where io_uring is refused (seccomp, old kernels, or
 * VESSEL_AIO=threads in the environment).
 *
 * Completions are never delivered from inside vs_aio_submit(): they are
 * queued and run by vs_aio_poll() in the caller's thread, so an event loop
 * that watches vs_aio_fd() (an eventfd, readable while completions are
 * pending) runs every callback on its own thread. The engine is not
 * thread-safe: one thread submits and polls.
 *
 * Besides file operations the engine runs arbitrary functions on its worker
 * threads (VS_AIO_CALL); drivers whose data path is synchronous (qcow2
 * metadata walks) are made asynchronous that way.
 *
 * A request marked `inline_ok` runs in the submitting thread when nothing
 * else is in flight: a buffered write to a regular file only copies into
 * the page cache, which costs less than handing it to a kernel worker
 * (io_uring punts buffered writes to ext4 and most file systems to its
 * io-wq threads) or to a pool thread, and a lone request has nothing to
 * overlap with. Its completion still runs from vs_aio_poll().
 */
#ifndef VESSEL_BLOCK_AIO_H
#define VESSEL_BLOCK_AIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/error.h"

enum vs_aio_op {
	VS_AIO_READ,  /* preadv(fd, iov, iovcnt, offset) */
	VS_AIO_WRITE, /* pwritev */
	VS_AIO_FSYNC, /* fdatasync */
	VS_AIO_CALL,  /* res = call(call_arg) on a worker thread */
};

struct vs_aio_req;
typedef void (*vs_aio_cb)(struct vs_aio_req *req);

struct vs_aio_req {
	enum vs_aio_op op;
	int fd;
	uint64_t offset;
	const struct iovec *iov;
	int iovcnt;
	int (*call)(void *arg); /* VS_AIO_CALL: returns >= 0 or -errno */
	void *call_arg;
	vs_aio_cb done; /* runs in vs_aio_poll() */
	/* May run synchronously in vs_aio_submit() when the engine is idle:
	 * set by submitters for work that waits for no device (writes into
	 * the page cache, not O_DIRECT, never fsync). */
	bool inline_ok;
	void *opaque;
	/* Set by the engine before `done` runs: bytes transferred, 0, or
	 * -errno. A short read at end of file is reported as such (callers
	 * decide whether that is an error). */
	int64_t res;
	struct vs_aio_req *next_; /* engine-private */
};

enum vs_aio_mode {
	VS_AIO_AUTO, /* io_uring, else threads (VESSEL_AIO=threads forces threads) */
	VS_AIO_URING,
	VS_AIO_THREADS,
};

struct vs_aio;

/* `depth` bounds the requests in flight in the kernel (io_uring entries);
 * further submissions wait in a queue inside the engine. VESSEL_AIO_INLINE=0
 * in the environment turns the inline path off (for measurements). */
int vs_aio_create(enum vs_aio_mode mode, unsigned depth, struct vs_aio **out, struct vs_error *err);
/* Waits for every request in flight, runs no callbacks for them. */
void vs_aio_destroy(struct vs_aio *aio);

/* "io_uring" or "threads". */
const char *vs_aio_backend(const struct vs_aio *aio);

void vs_aio_submit(struct vs_aio *aio, struct vs_aio_req *req);

/* Complete a request without I/O (its result known at submission): the
 * callback still runs from vs_aio_poll(), never from here. */
void vs_aio_complete_now(struct vs_aio *aio, struct vs_aio_req *req, int64_t res);

/* Readable while completions wait for vs_aio_poll(): for an epoll loop. */
int vs_aio_fd(const struct vs_aio *aio);

/* Run the callbacks of completed requests; returns how many ran. */
unsigned vs_aio_poll(struct vs_aio *aio);

/* Block until at least one request completes (or nothing is in flight),
 * then poll. Returns the number of callbacks run. */
unsigned vs_aio_wait(struct vs_aio *aio);

/* Requests submitted and whose callback has not yet run. */
unsigned vs_aio_inflight(const struct vs_aio *aio);

#endif
