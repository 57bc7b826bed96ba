/* virtio-net (virtio 1.2 section 5.1): one receive and one transmit queue
 * on a vs_net_backend, served on the I/O thread.
 *
 * Features: VIRTIO_NET_F_MAC and VIRTIO_NET_F_STATUS (link always up).
 * Not offered: MRG_RXBUF (each receive buffer must hold a whole frame,
 * which drivers guarantee by posting >= 1526-byte buffers when it is not
 * negotiated), checksum and segmentation offloads (frames cross the
 * backends fully formed, so no backend needs a vnet header), the control
 * queue and multiqueue. Every frame carries the 12-byte virtio_net_hdr
 * (num_buffers included, VERSION_1 layout): zero with num_buffers 1 on
 * receive, ignored on transmit as no offload was negotiated.
 *
 * Receive is pulled: a frame is taken from the backend only when it can be
 * placed (a rate-limit token and a guest buffer), into one bounce buffer;
 * with no guest buffer the frame waits there and the backend is paused,
 * so a guest that posts nothing costs one frame of memory. Transmit stops
 * at a backend that cannot take more (-EAGAIN) and resumes on tx_ready.
 * rx-bps / tx-bps are token buckets; a NIC waiting for tokens (or having
 * used its budget of frames for one turn) sleeps on its own timerfd. */
#include "devices/virtio/net.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "net/bucket.h"
#include "util/log.h"

#define NET_TYPE 1
#define NET_CLASS 0x020000 /* network controller, Ethernet */
#define NET_QUEUE_SIZE 256
#define RXQ 0
#define TXQ 1
#define HDR_LEN 12
/* Frames per queue and turn of the I/O thread before others get theirs. */
#define BUDGET 256

#define F_MAC (1ull << 5)
#define F_STATUS (1ull << 16)
#define S_LINK_UP 1

#define CFG_MAC 0
#define CFG_STATUS 6
#define CFG_LEN 8

struct net {
	struct vs_virtio *virtio; /* first: tests/fuzz/fuzz_virtio_net.c relies on it */
	struct vs_net_backend be;
	uint8_t config[CFG_LEN];
	int timer_fd;
	struct vs_loop *loop;
	atomic_bool rx_live; /* the driver has a receive queue running */
	/* Under the device lock: */
	bool pending, paid; /* a frame waits in `frame`; its tokens are taken */
	uint32_t frame_len;
	atomic_bool tx_blocked; /* the backend said -EAGAIN; tx_ready will follow */
	uint64_t timer_due;	/* when the timerfd fires, 0: disarmed (I/O thread only) */
	struct vs_net_bucket rx_bucket, tx_bucket;
	struct vs_ratelimit guest_log;
	uint8_t frame[VS_NET_MAX_FRAME];
	struct vs_vq_elem elem;
	struct iovec iov[VS_VQ_MAX_IOV];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void arm(struct net *n, uint64_t ns)
{
	struct itimerspec its = { 0 };
	uint64_t due = now_ns() + (ns ? ns : 1);
	if (n->timer_due && n->timer_due <= due)
		return; /* it fires soon enough */
	its.it_value.tv_sec = (time_t)(due / 1000000000u);
	its.it_value.tv_nsec = (long)(due % 1000000000u);
	if (timerfd_settime(n->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		n->timer_due = due;
}

/* ---- Receive ---- */

static void rx(struct net *n, struct vs_virtio *v)
{
	struct vs_vq *vq = vs_virtio_queue(v, RXQ);
	for (int done = 0; done < BUDGET; done++) {
		uint8_t hdr[HDR_LEN] = { 0 };
		uint64_t wait;
		int rc;
		if (!n->pending) {
			ssize_t len = n->be.ops->recv(n->be.opaque, n->frame, sizeof(n->frame));
			if (len < 0) {
				/* Nothing more: watch for the next frame. */
				n->be.ops->rx_pause(n->be.opaque, false);
				break;
			}
			if (len < VS_NET_MIN_FRAME)
				continue;
			n->pending = true;
			n->paid = false;
			n->frame_len = (uint32_t)len;
		}
		if (!n->paid) {
			wait = vs_net_bucket_take(&n->rx_bucket, n->frame_len, now_ns());
			if (wait) {
				n->be.ops->rx_pause(n->be.opaque, true);
				arm(n, wait);
				break;
			}
			n->paid = true;
		}
		rc = vs_vq_pop(vq, &n->elem);
		if (rc <= 0) {
			/* No buffer (or a broken queue): hold the frame, stop reading. */
			n->be.ops->rx_pause(n->be.opaque, true);
			break;
		}
		n->pending = false;
		if (n->elem.in_len < HDR_LEN + (uint64_t)n->frame_len) {
			if (vs_ratelimit_ok(&n->guest_log))
				vs_debug(
				    "virtio-net: receive buffer of %llu bytes too small for a %u-byte frame",
				    (unsigned long long)n->elem.in_len, n->frame_len);
			vs_vq_push(vq, n->elem.head, 0);
			continue;
		}
		hdr[10] = 1; /* num_buffers */
		vs_vq_elem_write(&n->elem, 0, hdr, HDR_LEN);
		vs_vq_elem_write(&n->elem, HDR_LEN, n->frame, n->frame_len);
		vs_vq_push(vq, n->elem.head, HDR_LEN + n->frame_len);
		if (done + 1 == BUDGET)
			arm(n, 0);
	}
	vs_virtio_queue_done(v, RXQ);
}

/* ---- Transmit ---- */

/* The frame after the header, as an iovec over the readable segments. */
static int frame_iov(struct net *n, const struct vs_vq_elem *e)
{
	uint64_t skip = HDR_LEN;
	int cnt = 0;
	for (unsigned int i = 0; i < e->nout; i++) {
		uint64_t seg = e->iov[i].len;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		n->iov[cnt++] = (struct iovec){ e->iov[i].base + skip, seg - skip };
		skip = 0;
	}
	return cnt;
}

static void tx(struct net *n, struct vs_virtio *v)
{
	struct vs_vq *vq = vs_virtio_queue(v, TXQ);
	int done;
	if (atomic_load(&n->tx_blocked))
		return;
	for (done = 0; done < BUDGET; done++) {
		uint64_t len, wait;
		int cnt, rc = vs_vq_pop(vq, &n->elem);
		if (rc <= 0)
			break;
		len = n->elem.out_len >= HDR_LEN ? n->elem.out_len - HDR_LEN : 0;
		if (len < VS_NET_MIN_FRAME || len > VS_NET_MAX_FRAME) {
			if (vs_ratelimit_ok(&n->guest_log))
				vs_debug("virtio-net: dropped a %llu-byte transmit chain",
					 (unsigned long long)n->elem.out_len);
			vs_vq_push(vq, n->elem.head, 0);
			continue;
		}
		wait = vs_net_bucket_take(&n->tx_bucket, len, now_ns());
		if (wait) {
			vs_vq_unpop(vq);
			arm(n, wait);
			break;
		}
		cnt = frame_iov(n, &n->elem);
		rc = n->be.ops->send(n->be.opaque, n->iov, cnt);
		if (rc == -EAGAIN) {
			vs_net_bucket_refund(&n->tx_bucket, len);
			vs_vq_unpop(vq);
			atomic_store(&n->tx_blocked, true);
			break;
		}
		vs_vq_push(vq, n->elem.head, 0);
	}
	if (done == BUDGET)
		arm(n, 0);
	vs_virtio_queue_done(v, TXQ);
}

static void net_notify(void *opaque, struct vs_virtio *v, uint16_t q)
{
	struct net *n = opaque;
	if (q == RXQ) {
		atomic_store(&n->rx_live, true);
		rx(n, v);
	} else {
		tx(n, v);
	}
}

static void net_reset(void *opaque)
{
	struct net *n = opaque;
	atomic_store(&n->rx_live, false);
	n->pending = false;
	atomic_store(&n->tx_blocked, false);
}

static void net_config_read(void *opaque, uint32_t off, uint8_t *data, uint32_t size)
{
	struct net *n = opaque;
	memcpy(data, n->config + off, size);
}

/* ---- Backend and timer events (I/O thread, no lock held) ---- */

static void on_rx_ready(void *opaque)
{
	struct net *n = opaque;
	if (!atomic_load(&n->rx_live)) {
		n->be.ops->rx_pause(n->be.opaque, true); /* until the driver posts buffers */
		return;
	}
	vs_virtio_process(n->virtio, RXQ);
}

static void on_tx_ready(void *opaque)
{
	struct net *n = opaque;
	atomic_store(&n->tx_blocked, false);
	vs_virtio_process(n->virtio, TXQ);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct net *n = opaque;
	uint64_t ticks;
	(void)events;
	if (read(n->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	n->timer_due = 0;
	vs_virtio_process(n->virtio, RXQ);
	vs_virtio_process(n->virtio, TXQ);
}

static const struct vs_virtio_ops net_ops_template = {
	.name = "virtio-net",
	.device_type = NET_TYPE,
	.pci_class = NET_CLASS,
	.features = F_MAC | F_STATUS,
	.num_queues = 2,
	.queue_max = NET_QUEUE_SIZE,
	.config_len = CFG_LEN,
	.config_read = net_config_read,
	.queue_notify = net_notify,
	.reset = net_reset,
};

static void net_destroy(void *opaque)
{
	struct net *n = opaque;
	vs_virtio_destroy(n->virtio);
	if (n->be.ops)
		n->be.ops->destroy(n->be.opaque);
	if (n->timer_fd >= 0) {
		if (n->loop)
			vs_loop_remove(n->loop, n->timer_fd);
		close(n->timer_fd);
	}
	free(n);
}

int vs_virtio_net_create(const struct vs_virtio_config *env, const struct vs_net_backend *be,
			 const struct vs_virtio_net_config *cfg, struct vs_device *dev, struct vs_error *err)
{
	struct vs_virtio_config vcfg = *env;
	struct vs_net_peer peer;
	struct net *n = calloc(1, sizeof(*n));
	if (!n) {
		be->ops->destroy(be->opaque);
		return vs_error_set(err, ENOMEM, "allocating virtio-net");
	}
	n->be = *be;
	n->guest_log = (struct vs_ratelimit)VS_RATELIMIT_INIT(1.0, 10.0);
	memcpy(n->config + CFG_MAC, cfg->mac, 6);
	n->config[CFG_STATUS] = S_LINK_UP;
	vs_net_bucket_init(&n->rx_bucket, cfg->rx_bps, now_ns());
	vs_net_bucket_init(&n->tx_bucket, cfg->tx_bps, now_ns());
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (n->timer_fd < 0) {
		vs_error_set(err, errno, "virtio-net: timerfd");
		net_destroy(n);
		return -1;
	}
	vcfg.ops = &net_ops_template;
	vcfg.opaque = n;
	if (vs_virtio_create(&vcfg, &n->virtio, err) < 0) {
		net_destroy(n);
		return -1;
	}
	n->loop = env->loop;
	if (vs_loop_add(env->loop, n->timer_fd, EPOLLIN, on_timer, n, err) < 0) {
		n->loop = NULL;
		net_destroy(n);
		return -1;
	}
	peer = (struct vs_net_peer){ on_rx_ready, on_tx_ready, n };
	if (be->ops->attach(be->opaque, env->loop, &peer, err) < 0) {
		net_destroy(n);
		return vs_error_prefix(err, "virtio-net %s backend: ", be->ops->name);
	}
	*dev = (struct vs_device){ .name = "virtio-net", .opaque = n, .destroy = net_destroy };
	return 0;
}
