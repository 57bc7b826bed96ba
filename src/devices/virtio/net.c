/* virtio-net (virtio 1.2 section 5.1): one receive and one transmit queue
 * on a vs_net_backend, served on the I/O thread.
 *
 * Features: MAC, STATUS (link always up), MRG_RXBUF (a frame may span
 * several receive buffers; num_buffers says how many), CSUM (the guest
 * sends partial checksums, completed here before the frame reaches any
 * backend), GUEST_CSUM (frames from a backend that builds them itself,
 * libslirp, are marked DATA_VALID), HOST_TSO4/6 (the guest sends TCP
 * frames of up to 64 KiB, cut here into MSS-sized ones: net_offload.c).
 * So every backend sees whole, checksummed Ethernet frames of at most
 * VS_NET_MAX_FRAME bytes and none needs a vnet header. Not offered: the
 * receive offloads (GUEST_TSO*), the control queue and multiqueue. Every
 * frame carries the 12-byte virtio_net_hdr, whose every field from the
 * guest is checked (a header that does not match its frame drops the
 * frame, never the device).
 *
 * Receive is pulled: a frame is taken from the backend only when it can be
 * placed (a rate-limit token and guest buffers), into one bounce buffer;
 * with no guest buffer the frame waits there and the backend is paused,
 * so a guest that posts nothing costs one frame of memory. Transmit stops
 * at a backend that cannot take more (-EAGAIN) and resumes on tx_ready
 * (a segmentation frame resumes at the segment that was refused).
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

#include "devices/virtio/net_offload.h"
#include "net/bucket.h"
#include "util/log.h"

#define NET_TYPE 1
#define NET_CLASS 0x020000 /* network controller, Ethernet */
#define NET_QUEUE_SIZE 256
#define RXQ 0
#define TXQ 1
#define HDR_LEN VS_NET_HDR_LEN
/* Frames per queue and turn of the I/O thread before others get theirs. */
#define BUDGET 256

#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define F_MAC (1ull << 5)
#define F_HOST_TSO4 (1ull << 11)
#define F_HOST_TSO6 (1ull << 12)
#define F_MRG_RXBUF (1ull << 15)
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
	unsigned tso_done; /* segments of the head transmit frame already sent */
	uint8_t frame[VS_NET_MAX_FRAME];
	uint8_t seg[VS_NET_MAX_FRAME]; /* one segment being built */
	uint8_t *txbuf;		       /* VS_NET_MAX_GSO_FRAME: a frame to fix up */
	struct vs_vq_elem elem, first; /* first: the receive buffer holding the header */
	struct {
		uint16_t head;
		uint32_t len;
	} used[NET_QUEUE_SIZE]; /* the buffers one received frame fills */
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

/* Bytes [off, off + len) of the received stream (header, then frame)
 * into the in segments of `e`, from its start. */
static void put_stream(struct net *n, const struct vs_vq_elem *e, const uint8_t *hdr, uint32_t off,
		       uint32_t len)
{
	uint32_t at = 0;
	if (off < HDR_LEN) {
		uint32_t k = HDR_LEN - off < len ? HDR_LEN - off : len;
		vs_vq_elem_write(e, 0, hdr + off, k);
		at = k;
		off += k;
	}
	if (at < len)
		vs_vq_elem_write(e, at, n->frame + (off - HDR_LEN), len - at);
}

/* Place the pending frame: 1 when it went to the guest or was dropped,
 * 0 when the guest has not posted enough buffers yet (nothing consumed). */
static int place(struct net *n, struct vs_vq *vq, bool mrg, bool data_valid)
{
	uint32_t total = HDR_LEN + n->frame_len, off = 0;
	uint8_t hdr[HDR_LEN] = { 0 }; /* built once num_buffers is known */
	struct vs_net_hdr h = { .flags = data_valid ? VS_NET_HDR_F_DATA_VALID : 0 };
	unsigned nb = 0;
	while (off < total) {
		struct vs_vq_elem *e = nb ? &n->elem : &n->first;
		uint32_t k;
		int rc = nb < NET_QUEUE_SIZE ? vs_vq_pop(vq, e) : 0;
		if (rc <= 0) {
			/* Too few buffers (or a broken queue): give back what was
			 * taken and wait, unless even the whole ring cannot hold it. */
			for (unsigned i = 0; i < nb; i++)
				vs_vq_unpop(vq);
			if (nb < NET_QUEUE_SIZE && nb < vq->size)
				return 0;
			if (vs_ratelimit_ok(&n->guest_log))
				vs_debug("virtio-net: the receive ring cannot hold a %u-byte frame",
					 n->frame_len);
			return 1;
		}
		if ((!nb && e->in_len < HDR_LEN) || (!mrg && e->in_len < total)) {
			/* The header must fit the first buffer; without MRG_RXBUF
			 * the whole frame must fit one. */
			if (vs_ratelimit_ok(&n->guest_log))
				vs_debug(
				    "virtio-net: receive buffer of %llu bytes too small for a %u-byte frame",
				    (unsigned long long)e->in_len, n->frame_len);
			vs_vq_push(vq, e->head, 0); /* the first: nothing else was taken */
			return 1;
		}
		k = e->in_len < total - off ? (uint32_t)e->in_len : total - off;
		if (nb)
			put_stream(n, e, hdr, off, k);
		n->used[nb].head = e->head;
		n->used[nb].len = k;
		nb++;
		off += k;
	}
	h.num_buffers = (uint16_t)nb;
	vs_net_hdr_build(&h, hdr);
	put_stream(n, &n->first, hdr, 0, n->used[0].len);
	for (unsigned i = 0; i < nb; i++)
		vs_vq_push(vq, n->used[i].head, n->used[i].len);
	return 1;
}

static void rx(struct net *n, struct vs_virtio *v)
{
	struct vs_vq *vq = vs_virtio_queue(v, RXQ);
	uint64_t features = vs_virtio_features(v);
	bool mrg = features & F_MRG_RXBUF;
	bool data_valid = (features & F_GUEST_CSUM) && n->be.ops->rx_csum_valid;
	for (int done = 0; done < BUDGET; done++) {
		uint64_t wait;
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
		if (!place(n, vq, mrg, data_valid)) {
			/* No buffer: hold the frame, stop reading. */
			n->be.ops->rx_pause(n->be.opaque, true);
			break;
		}
		n->pending = false;
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

static int send_one_iov(struct net *n)
{
	int rc = n->be.ops->send(n->be.opaque, n->iov, frame_iov(n, &n->elem));
	return rc == -EAGAIN ? rc : 0;
}

static int send_one(void *opaque, const uint8_t *frame, size_t len)
{
	struct net *n = opaque;
	struct iovec iov = { (void *)frame, len };
	int rc = n->be.ops->send(n->be.opaque, &iov, 1);
	return rc == -EAGAIN ? rc : 0; /* other errors: that frame is lost */
}

/* What the header asks of the device for this chain: 0 to send it as
 * it is, 1 to complete a checksum, 2 to segment, -1 to drop it. */
static int tx_kind(const struct vs_net_hdr *h, uint64_t len, uint64_t features)
{
	uint8_t gso = h->gso_type;
	/* Without a TSO feature the field has no meaning: ignored, as the
	 * other fields are without their features. */
	if (gso != VS_NET_GSO_NONE && (features & (F_HOST_TSO4 | F_HOST_TSO6))) {
		uint64_t need = gso == VS_NET_GSO_TCPV4	  ? F_HOST_TSO4
				: gso == VS_NET_GSO_TCPV6 ? F_HOST_TSO6
							  : 0;
		/* Only the negotiated kinds, no ECN (HOST_ECN is not offered). */
		if (!need || !(features & need) || len < VS_NET_MIN_FRAME || len > VS_NET_MAX_GSO_FRAME)
			return -1;
		return 2;
	}
	if (len < VS_NET_MIN_FRAME || len > VS_NET_MAX_FRAME)
		return -1;
	/* NEEDS_CSUM without CSUM negotiated is the driver's error: the frame
	 * goes as it is, its checksum as the guest left it. */
	if ((h->flags & VS_NET_HDR_F_NEEDS_CSUM) && (features & F_CSUM))
		return 1;
	return 0;
}

/* Send the chain in n->elem: 0 when done with it (sent or dropped),
 * -EAGAIN when the backend cannot take it now. */
static int tx_one(struct net *n, uint64_t len, int kind, const struct vs_net_hdr *h)
{
	int rc;
	if (kind == 0)
		return send_one_iov(n);
	vs_vq_elem_read(&n->elem, HDR_LEN, n->txbuf, len);
	if (kind == 1) {
		if (vs_net_csum_complete(n->txbuf, len, h->csum_start, h->csum_offset) < 0)
			return -EINVAL;
		return send_one(n, n->txbuf, len);
	}
	rc = vs_net_tso(n->txbuf, len, h, n->seg, send_one, n, &n->tso_done);
	if (rc != -EAGAIN)
		n->tso_done = 0;
	return rc;
}

static void tx(struct net *n, struct vs_virtio *v)
{
	struct vs_vq *vq = vs_virtio_queue(v, TXQ);
	uint64_t features = vs_virtio_features(v);
	int done;
	if (atomic_load(&n->tx_blocked))
		return;
	for (done = 0; done < BUDGET; done++) {
		uint8_t raw[HDR_LEN] = { 0 };
		struct vs_net_hdr h;
		uint64_t len, wait;
		int kind, rc = vs_vq_pop(vq, &n->elem);
		if (rc <= 0)
			break;
		len = n->elem.out_len >= HDR_LEN ? n->elem.out_len - HDR_LEN : 0;
		vs_vq_elem_read(&n->elem, 0, raw, HDR_LEN);
		vs_net_hdr_parse(raw, &h);
		kind = n->elem.out_len >= HDR_LEN ? tx_kind(&h, len, features) : -1;
		if (kind < 0) {
			if (vs_ratelimit_ok(&n->guest_log))
				vs_debug("virtio-net: dropped a %llu-byte transmit chain (gso_type %u)",
					 (unsigned long long)n->elem.out_len, h.gso_type);
			vs_vq_push(vq, n->elem.head, 0);
			continue;
		}
		wait = vs_net_bucket_take(&n->tx_bucket, len, now_ns());
		if (wait) {
			vs_vq_unpop(vq);
			arm(n, wait);
			break;
		}
		rc = tx_one(n, len, kind, &h);
		if (rc == -EAGAIN) {
			vs_net_bucket_refund(&n->tx_bucket, len);
			vs_vq_unpop(vq);
			atomic_store(&n->tx_blocked, true);
			break;
		}
		if (rc < 0 && vs_ratelimit_ok(&n->guest_log))
			vs_debug("virtio-net: dropped a transmit frame whose header does not match it "
				 "(gso_type %u, csum_start %u, csum_offset %u)",
				 h.gso_type, h.csum_start, h.csum_offset);
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
	n->tso_done = 0;
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
	.features = F_MAC | F_STATUS | F_MRG_RXBUF | F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_HOST_TSO6,
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
	free(n->txbuf);
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
	n->txbuf = malloc(VS_NET_MAX_GSO_FRAME);
	if (!n->txbuf) {
		free(n);
		be->ops->destroy(be->opaque);
		return vs_error_set(err, ENOMEM, "allocating virtio-net");
	}
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
