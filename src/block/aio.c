#include "block/aio.h"

#include "util/cleanup.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define VS_AIO_THREADS_MAX 4
/* Inline completions one vs_aio_poll() runs before it lets its caller's
 * loop see other events (it signals the eventfd for the rest). */
#define VS_AIO_LOCAL_BUDGET 256

struct vs_aio_queue {
	struct vs_aio_req *head, *tail;
};

struct vs_aio {
	bool uring_ok;
	int efd;
	unsigned inflight;	   /* submitted, callback not yet run */
	bool inline_on;		   /* inline_ok requests may run in vs_aio_submit() */
	bool polling;		   /* inside vs_aio_poll(): it picks up `local` */
	struct vs_aio_queue local; /* completed in this thread, not yet polled */

	struct io_uring ring;
	unsigned ring_depth;
	unsigned in_ring;
	struct vs_aio_queue waiting; /* ring full: submitted later */

	/* Worker pool: file I/O when io_uring is refused, and VS_AIO_CALL. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vs_aio_queue work; /* under lock */
	struct vs_aio_queue done; /* under lock */
	bool stop;
	unsigned nthreads;
	pthread_t threads[VS_AIO_THREADS_MAX];
};

static void queue_push(struct vs_aio_queue *q, struct vs_aio_req *r)
{
	r->next_ = NULL;
	if (q->tail)
		q->tail->next_ = r;
	else
		q->head = r;
	q->tail = r;
}

/* Append all of `from` to `to`, in order, and empty `from`. */
static void queue_splice(struct vs_aio_queue *to, struct vs_aio_queue *from)
{
	if (!from->head)
		return;
	if (to->tail)
		to->tail->next_ = from->head;
	else
		to->head = from->head;
	to->tail = from->tail;
	from->head = from->tail = NULL;
}

static struct vs_aio_req *queue_pop(struct vs_aio_queue *q)
{
	struct vs_aio_req *r = q->head;
	if (r) {
		q->head = r->next_;
		if (!q->head)
			q->tail = NULL;
	}
	return r;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* preadv/pwritev until done, end of file or an error; the iovec array is
 * the caller's and is not modified, so progress is tracked by offset. */
static int64_t run_rw(const struct vs_aio_req *r)
{
	size_t total = iov_total(r->iov, r->iovcnt), done = 0;
	while (done < total) {
		struct iovec tmp[64];
		int n = 0;
		size_t skip = done;
		for (int i = 0; i < r->iovcnt && n < (int)VS_ARRAY_SIZE(tmp); i++) {
			if (skip >= r->iov[i].iov_len) {
				skip -= r->iov[i].iov_len;
				continue;
			}
			tmp[n].iov_base = (char *)r->iov[i].iov_base + skip;
			tmp[n].iov_len = r->iov[i].iov_len - skip;
			skip = 0;
			n++;
		}
		ssize_t k = r->op == VS_AIO_READ ? preadv(r->fd, tmp, n, (off_t)(r->offset + done))
						 : pwritev(r->fd, tmp, n, (off_t)(r->offset + done));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (int64_t)done;
}

static int64_t run_sync(const struct vs_aio_req *r)
{
	switch (r->op) {
	case VS_AIO_READ:
	case VS_AIO_WRITE:
		return run_rw(r);
	case VS_AIO_FSYNC:
		return fdatasync(r->fd) < 0 ? -errno : 0;
	case VS_AIO_CALL:
		return r->call(r->call_arg);
	}
	return -EINVAL;
}

static void *worker(void *arg)
{
	struct vs_aio *aio = arg;
	pthread_mutex_lock(&aio->lock);
	for (;;) {
		struct vs_aio_req *r;
		while (!(r = queue_pop(&aio->work)) && !aio->stop)
			pthread_cond_wait(&aio->cond, &aio->lock);
		if (!r)
			break;
		pthread_mutex_unlock(&aio->lock);
		r->res = run_sync(r);
		pthread_mutex_lock(&aio->lock);
		queue_push(&aio->done, r);
		uint64_t one = 1;
		/* eventfd writes only fail on counter overflow, which cannot
		 * happen with one increment per request. */
		(void)!write(aio->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&aio->lock);
	return NULL;
}

static int pool_start(struct vs_aio *aio)
{
	while (aio->nthreads < VS_AIO_THREADS_MAX) {
		if (pthread_create(&aio->threads[aio->nthreads], NULL, worker, aio) != 0)
			break;
		aio->nthreads++;
	}
	return aio->nthreads ? 0 : -EAGAIN;
}

int vs_aio_create(enum vs_aio_mode mode, unsigned depth, struct vs_aio **out, struct vs_error *err)
{
	struct vs_aio *aio = calloc(1, sizeof(*aio));
	if (!aio)
		return vs_error_set(err, ENOMEM, "aio engine");
	if (depth == 0)
		depth = 64;
	const char *env = getenv("VESSEL_AIO");
	if (mode == VS_AIO_AUTO && env && strcmp(env, "threads") == 0)
		mode = VS_AIO_THREADS;
	env = getenv("VESSEL_AIO_INLINE");
	aio->inline_on = !env || strcmp(env, "0") != 0;
	aio->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (aio->efd < 0) {
		int e = errno;
		free(aio);
		return vs_error_set(err, e, "aio engine: eventfd");
	}
	pthread_mutex_init(&aio->lock, NULL);
	pthread_cond_init(&aio->cond, NULL);
	if (mode != VS_AIO_THREADS) {
		int r = io_uring_queue_init(depth, &aio->ring, 0);
		if (r == 0 && io_uring_register_eventfd(&aio->ring, aio->efd) < 0) {
			io_uring_queue_exit(&aio->ring);
			r = -1;
		}
		if (r == 0) {
			aio->uring_ok = true;
			aio->ring_depth = depth;
		} else if (mode == VS_AIO_URING) {
			vs_aio_destroy(aio);
			return vs_error_set(err, r < 0 ? -r : EIO, "aio engine: io_uring refused");
		}
	}
	if (!aio->uring_ok && pool_start(aio) < 0) {
		vs_aio_destroy(aio);
		return vs_error_set(err, EAGAIN, "aio engine: no worker thread");
	}
	*out = aio;
	return 0;
}

void vs_aio_destroy(struct vs_aio *aio)
{
	if (!aio)
		return;
	if (aio->uring_ok) {
		while (aio->in_ring) {
			struct io_uring_cqe *cqe;
			if (io_uring_wait_cqe(&aio->ring, &cqe) < 0)
				break;
			io_uring_cqe_seen(&aio->ring, cqe);
			aio->in_ring--;
		}
		io_uring_queue_exit(&aio->ring);
	}
	pthread_mutex_lock(&aio->lock);
	aio->stop = true;
	pthread_cond_broadcast(&aio->cond);
	pthread_mutex_unlock(&aio->lock);
	for (unsigned i = 0; i < aio->nthreads; i++)
		pthread_join(aio->threads[i], NULL);
	pthread_mutex_destroy(&aio->lock);
	pthread_cond_destroy(&aio->cond);
	close(aio->efd);
	free(aio);
}

const char *vs_aio_backend(const struct vs_aio *aio)
{
	return aio->uring_ok ? "io_uring" : "threads";
}

int vs_aio_fd(const struct vs_aio *aio)
{
	return aio->efd;
}

unsigned vs_aio_inflight(const struct vs_aio *aio)
{
	return aio->inflight;
}

static void pool_submit(struct vs_aio *aio, struct vs_aio_req *r)
{
	if (!aio->nthreads && pool_start(aio) < 0) {
		/* No thread can be had: run inline, complete through poll. */
		r->res = run_sync(r);
		pthread_mutex_lock(&aio->lock);
		queue_push(&aio->done, r);
		pthread_mutex_unlock(&aio->lock);
		uint64_t one = 1;
		(void)!write(aio->efd, &one, sizeof(one));
		return;
	}
	pthread_mutex_lock(&aio->lock);
	queue_push(&aio->work, r);
	pthread_cond_signal(&aio->cond);
	pthread_mutex_unlock(&aio->lock);
}

/* Move waiting requests into the ring while it has room. */
static void ring_fill(struct vs_aio *aio)
{
	bool queued = false;
	while (aio->waiting.head && aio->in_ring < aio->ring_depth) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&aio->ring);
		if (!sqe)
			break;
		struct vs_aio_req *r = queue_pop(&aio->waiting);
		switch (r->op) {
		case VS_AIO_READ:
			io_uring_prep_readv(sqe, r->fd, r->iov, (unsigned)r->iovcnt, r->offset);
			break;
		case VS_AIO_WRITE:
			io_uring_prep_writev(sqe, r->fd, r->iov, (unsigned)r->iovcnt, r->offset);
			break;
		default:
			io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
			break;
		}
		io_uring_sqe_set_data(sqe, r);
		aio->in_ring++;
		queued = true;
	}
	if (queued)
		io_uring_submit(&aio->ring);
}

static void signal_efd(struct vs_aio *aio)
{
	uint64_t one = 1;
	(void)!write(aio->efd, &one, sizeof(one));
}

/* A request finished in the engine's own thread: vs_aio_poll() runs its
 * callback, without a wake-up through the eventfd when it is the caller
 * (a callback that submitted the request). */
static void complete_local(struct vs_aio *aio, struct vs_aio_req *r)
{
	queue_push(&aio->local, r);
	if (!aio->polling)
		signal_efd(aio);
}

void vs_aio_submit(struct vs_aio *aio, struct vs_aio_req *req)
{
	req->res = 0;
	if (req->inline_ok && req->op != VS_AIO_FSYNC && aio->inline_on && aio->inflight == 0) {
		aio->inflight++;
		req->res = run_sync(req);
		complete_local(aio, req);
		return;
	}
	aio->inflight++;
	if (req->op == VS_AIO_CALL || !aio->uring_ok) {
		pool_submit(aio, req);
		return;
	}
	queue_push(&aio->waiting, req);
	ring_fill(aio);
}

void vs_aio_complete_now(struct vs_aio *aio, struct vs_aio_req *req, int64_t res)
{
	aio->inflight++;
	req->res = res;
	complete_local(aio, req);
}

unsigned vs_aio_poll(struct vs_aio *aio)
{
	struct vs_aio_queue ready = { 0 };
	uint64_t v;
	unsigned n = 0;

	/* Drain the eventfd first: a completion landing after this read
	 * signals it again, so none is missed by a loop watching the fd. */
	(void)!read(aio->efd, &v, sizeof(v));
	if (aio->uring_ok) {
		struct io_uring_cqe *cqe;
		while (io_uring_peek_cqe(&aio->ring, &cqe) == 0) {
			struct vs_aio_req *r = io_uring_cqe_get_data(cqe);
			r->res = cqe->res;
			io_uring_cqe_seen(&aio->ring, cqe);
			aio->in_ring--;
			/* A short transfer on a regular file means end of
			 * file for reads; finish writes synchronously. */
			if (r->op == VS_AIO_WRITE && r->res >= 0 &&
			    (size_t)r->res < iov_total(r->iov, r->iovcnt))
				r->res = run_rw(r);
			queue_push(&ready, r);
		}
		ring_fill(aio);
	}
	pthread_mutex_lock(&aio->lock);
	queue_splice(&ready, &aio->done);
	pthread_mutex_unlock(&aio->lock);
	bool was_polling = aio->polling;
	unsigned budget = VS_AIO_LOCAL_BUDGET;
	aio->polling = true;
	for (;;) {
		/* Completed inline before this call, or by the callbacks
		 * below (requests they submitted): in submission order. */
		queue_splice(&ready, &aio->local);
		if (!ready.head || !budget)
			break;
		struct vs_aio_req *r;
		while ((r = queue_pop(&ready))) {
			aio->inflight--;
			n++;
			budget -= budget > 0;
			r->done(r);
		}
	}
	aio->polling = was_polling;
	if (ready.head) {
		/* Budget spent: the rest waits for the next poll. */
		aio->local = ready;
		if (!was_polling)
			signal_efd(aio);
	}
	return n;
}

unsigned vs_aio_wait(struct vs_aio *aio)
{
	for (;;) {
		unsigned n = vs_aio_poll(aio);
		if (n || !aio->inflight)
			return n;
		struct pollfd p = { .fd = aio->efd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return 0;
	}
}
