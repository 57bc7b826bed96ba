/* virtio-blk requests in flight: submitted to the block layer from the I/O
 * thread, completed by callback from the engine's poll on that thread and
 * queued for their virtqueue, whose handler pushes them to the used ring
 * and interrupts (see blk.c).
 *
 * Ordering: a flush answers for every write the guest saw completed, but
 * the guest may send it with writes still in flight; it is held until the
 * writes submitted before it have completed (later writes do not delay
 * it), so "write, flush" from one driver means both are on stable storage
 * when the flush completes, whatever order the engine finished them in.
 *
 * A driver that did not negotiate VIRTIO_BLK_F_FLUSH expects a write
 * cache it cannot flush to be absent (section 5.2.6.2): each of its writes
 * is then followed by a flush before it is answered.
 *
 * Throttling: the block layer holds requests its token bucket does not
 * admit yet; a timerfd wakes the I/O thread when the next may go. */
#include "devices/virtio/blk_req.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define DIRECT_ALIGN 512
#define BOUNCE_ALIGN 4096

void blk_req_free(struct blk_req *r)
{
	r->b->bytes_inflight -= r->bytes;
	free(r->bounce);
	free(r);
}

static void unlink_write(struct blk *b, struct blk_req *r)
{
	if (r->wprev)
		r->wprev->wnext = r->wnext;
	else
		b->writes_head = r->wnext;
	if (r->wnext)
		r->wnext->wprev = r->wprev;
	else
		b->writes_tail = r->wprev;
	r->in_writes = false;
}

static void submit(struct blk *b, struct blk_req *r);

/* Flushes whose older writes have all completed go now. */
static void release_flushes(struct blk *b)
{
	while (b->flush_head && (!b->writes_head || b->writes_head->seq > b->flush_head->seq)) {
		struct blk_req *f = b->flush_head;
		b->flush_head = f->next;
		if (!b->flush_head)
			b->flush_tail = NULL;
		f->next = NULL;
		submit(b, f);
	}
}

void blk_io_finish(struct blk *b, struct blk_req *r)
{
	struct blk_queue *q = &b->queues[r->queue];
	if (r->in_writes) {
		unlink_write(b, r);
		if (!b->closing)
			release_flushes(b);
	}
	r->next = NULL;
	if (q->done_tail)
		q->done_tail->next = r;
	else
		q->done_head = r;
	q->done_tail = r;
}

static void copy_to_guest(const struct blk_req *r)
{
	const uint8_t *p = r->bounce;
	for (int i = 0; i < r->niov; i++) {
		memcpy(r->iov[i].iov_base, p, r->iov[i].iov_len);
		p += r->iov[i].iov_len;
	}
}

static void io_done(struct vs_block_req *io, int ret)
{
	struct blk_req *r = io->opaque;
	struct blk *b = r->b;
	if (ret < 0) {
		if (ret != -ECANCELED && vs_ratelimit_ok(&b->guest_log))
			vs_warn("virtio-blk %s: request at byte %llu failed: %s", b->id,
				(unsigned long long)io->offset, strerror(-ret));
		r->result = VS_BLK_S_IOERR;
		r->written = 0;
	} else if (r->nranges && ++r->range < r->nranges && !b->closing) {
		io->offset = r->ranges[r->range].off;
		io->len = r->ranges[r->range].len;
		submit(b, r);
		return;
	} else if (r->write_through && r->in_writes && io->op != VS_BLOCK_FLUSH && !b->closing) {
		io->op = VS_BLOCK_FLUSH;
		submit(b, r);
		return;
	} else if (r->bounce && io->op == VS_BLOCK_READ) {
		copy_to_guest(r);
	}
	blk_io_finish(b, r);
}

static void submit(struct blk *b, struct blk_req *r)
{
	r->io.done = io_done;
	r->io.opaque = r;
	if (vs_block_submit(b->bs, b->aio, &r->io) < 0) {
		r->result = VS_BLK_S_IOERR;
		r->written = 0;
		blk_io_finish(b, r);
	}
}

static bool aligned(const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (DIRECT_ALIGN - 1))
			return false;
	return true;
}

/* O_DIRECT takes sector-aligned buffers only: others go through a copy. */
static int bounce(struct blk_req *r, size_t bytes)
{
	if (posix_memalign(&r->bounce, BOUNCE_ALIGN, bytes ? bytes : DIRECT_ALIGN) != 0) {
		r->bounce = NULL;
		return -ENOMEM;
	}
	if (r->io.op == VS_BLOCK_WRITE) {
		uint8_t *p = r->bounce;
		for (int i = 0; i < r->niov; i++) {
			memcpy(p, r->iov[i].iov_base, r->iov[i].iov_len);
			p += r->iov[i].iov_len;
		}
	}
	r->bounce_iov = (struct iovec){ r->bounce, bytes };
	r->io.iov = &r->bounce_iov;
	r->io.iovcnt = 1;
	return 0;
}

void blk_io_start(struct blk *b, struct blk_req *r)
{
	r->seq = ++b->seq;
	r->io.iov = r->iov;
	r->io.iovcnt = r->niov;
	for (int i = 0; i < r->niov; i++)
		r->bytes += r->iov[i].iov_len;
	b->bytes_inflight += r->bytes;
	if ((r->io.op == VS_BLOCK_READ || r->io.op == VS_BLOCK_WRITE) && b->direct &&
	    !aligned(r->iov, r->niov)) {
		if (bounce(r, r->bytes) < 0) {
			r->result = VS_BLK_S_IOERR;
			r->written = 0;
			blk_io_finish(b, r);
			return;
		}
	}
	switch (r->io.op) {
	case VS_BLOCK_WRITE:
	case VS_BLOCK_DISCARD:
	case VS_BLOCK_WRITE_ZEROES:
		r->wprev = b->writes_tail;
		r->wnext = NULL;
		if (b->writes_tail)
			b->writes_tail->wnext = r;
		else
			b->writes_head = r;
		b->writes_tail = r;
		r->in_writes = true;
		break;
	case VS_BLOCK_FLUSH:
		if (b->writes_head) {
			r->next = NULL;
			if (b->flush_tail)
				b->flush_tail->next = r;
			else
				b->flush_head = r;
			b->flush_tail = r;
			return;
		}
		break;
	default:
		break;
	}
	submit(b, r);
}

static void arm(struct blk *b, uint64_t ns)
{
	uint64_t due = vs_now_ns() + ns;
	if (b->timer_due && b->timer_due <= due)
		return; /* an earlier wake-up is set: it re-arms if needed */
	struct itimerspec its = { .it_value = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) } };
	if (timerfd_settime(b->timer_fd, 0, &its, NULL) == 0)
		b->timer_due = due;
}

void blk_io_throttle(struct blk *b)
{
	uint64_t ns = vs_block_run_throttled(b->bs, b->aio);
	if (ns)
		arm(b, ns);
}

/* Hand completed requests to their queues' handler (which takes the
 * device lock): it pushes them and takes new ones, on queues that waited
 * for data budget too. */
static void deliver(struct blk *b)
{
	for (uint16_t q = 0; q < b->ops.num_queues; q++)
		if (b->queues[q].done_head || b->queues[q].starved)
			vs_virtio_process(b->virtio, q);
}

void blk_io_complete(struct blk *b)
{
	vs_aio_poll(b->aio);
	blk_io_throttle(b);
	deliver(b);
}

static void on_completion(void *opaque, uint32_t events)
{
	(void)events;
	blk_io_complete(opaque);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	uint64_t n;
	(void)events;
	if (read(b->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	b->timer_due = 0;
	blk_io_throttle(b);
}

int blk_io_init(struct blk *b, struct vs_error *err)
{
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (b->timer_fd < 0)
		return vs_error_set(err, errno, "virtio-blk: timerfd");
	if (vs_aio_create(VS_AIO_AUTO, 128, &b->aio, err) < 0)
		return -1;
	if (vs_loop_add(b->loop, vs_aio_fd(b->aio), EPOLLIN, on_completion, b, err) < 0) {
		vs_aio_destroy(b->aio);
		b->aio = NULL;
		return -1;
	}
	if (vs_loop_add(b->loop, b->timer_fd, EPOLLIN, on_timer, b, err) < 0) {
		vs_loop_remove(b->loop, vs_aio_fd(b->aio));
		vs_aio_destroy(b->aio);
		b->aio = NULL;
		return -1;
	}
	return 0;
}

unsigned int vs_virtio_blk_drain(const struct vs_device *dev)
{
	struct blk *b = dev->opaque;
	unsigned int left = 0;
	while (vs_aio_inflight(b->aio)) {
		vs_aio_wait(b->aio);
		blk_io_throttle(b);
		deliver(b);
	}
	for (uint16_t q = 0; q < b->ops.num_queues; q++)
		left += b->queues[q].inflight;
	return left;
}

static void free_list(struct blk_req *r)
{
	while (r) {
		struct blk_req *next = r->next;
		blk_req_free(r);
		r = next;
	}
}

void blk_io_release(struct blk *b)
{
	b->closing = true;
	if (b->aio) {
		vs_block_cancel_throttled(b->bs, b->aio);
		while (vs_aio_inflight(b->aio))
			vs_aio_wait(b->aio);
		vs_loop_remove(b->loop, vs_aio_fd(b->aio));
		vs_aio_destroy(b->aio);
	}
	free_list(b->flush_head);
	for (int q = 0; q < VS_VIRTIO_BLK_MAX_QUEUES; q++)
		free_list(b->queues[q].done_head);
	if (b->timer_fd >= 0) {
		vs_loop_remove(b->loop, b->timer_fd);
		close(b->timer_fd);
	}
}
