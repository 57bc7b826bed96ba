/* libFuzzer target: virtio-console with its real host side. The device
 * has one port and offers no features (no VIRTIO_CONSOLE_F_MULTIPORT, so
 * no control queue: a driver asking for it anyway fails FEATURES_OK). The
 * input's header picks the backend (a socketpair as both directions; a
 * pipe each way; a listening socket the input connects clients to, one
 * accepted at a time; output only), the features the driver asks for and
 * the queue sizes; then it alternates chains of every shape on the
 * receiveq and transmitq (fuzz_chain.h), guest memory writes, queue
 * processing, turns of the event loop (the device's input and accept
 * handlers), input from the host, host hang-ups and new clients,
 * configuration accesses and device resets. Threads drain what the device
 * writes, as a terminal would, so its blocking writes end. The device may
 * only write inside writable segments, the transmitq's used lengths are
 * 0, and the receiveq never gets more bytes than the host sent. Nothing
 * may crash, hang or leak. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/console.h"
#include "fuzz_chain.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT 1
#define RINGS 0x100000ull /* receiveq's rings, then transmitq's */
#define RINGS_LEN 0x3000u
#define WATCH (RINGS + 2 * RINGS_LEN)
#define WATCH_LEN 0x21000u
#define MAX_CLIENTS 4
#define MULTIPORT (1ull << 1)

enum { BE_SOCKETPAIR, BE_PIPES, BE_LISTEN, BE_OUTPUT_ONLY };

/* Reads one host-side descriptor until end of file, as a terminal would. */
struct drainer {
	pthread_t t;
	int fd;
	bool running;
};

static void *drain(void *opaque)
{
	struct drainer *d = opaque;
	char buf[4096];
	while (read(d->fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static void drainer_start(struct drainer *d, int fd)
{
	d->fd = fd;
	if (pthread_create(&d->t, NULL, drain, d) != 0)
		abort();
	d->running = true;
}

static void drainer_join(struct drainer *d)
{
	if (d->running)
		pthread_join(d->t, NULL);
	d->running = false;
}

/* One turn of the event loop: every ready watch is dispatched once (the
 * stopper's second call ends the run). */
static int stop_fd = -1, stop_calls;

static void on_stop(void *opaque, uint32_t events)
{
	uint64_t v;
	(void)events;
	if (++stop_calls < 2)
		return;
	if (read(stop_fd, &v, sizeof(v)) < 0)
		abort();
	vs_loop_stop(opaque);
}

static void loop_turn(struct vs_loop *loop)
{
	uint64_t one = 1;
	stop_calls = 0;
	if (write(stop_fd, &one, sizeof(one)) != sizeof(one) || vs_loop_run(loop) < 0)
		abort();
}

struct host {
	int mode;
	int in_w;		 /* where the host's input goes (-1: nowhere) */
	int pair;		 /* BE_SOCKETPAIR: the host's end */
	int lfd;		 /* BE_LISTEN: the listening socket (the device owns it) */
	struct sockaddr_un addr; /* its autobound address */
	socklen_t addr_len;
	int clients[MAX_CLIENTS]; /* BE_LISTEN: the host's ends */
	struct drainer drainers[MAX_CLIENTS + 1];
	int nclients;
	uint64_t sent; /* bytes the host offered the guest */
};

static void host_create(struct host *h, int mode, struct vs_virtio_console_config *cc)
{
	int a[2], b[2];
	*h = (struct host){ .mode = mode, .in_w = -1, .pair = -1, .lfd = -1 };
	*cc = (struct vs_virtio_console_config){ -1, -1, -1 };
	switch (mode) {
	case BE_SOCKETPAIR:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) < 0)
			abort();
		cc->in_fd = cc->out_fd = a[0];
		h->pair = h->in_w = a[1];
		drainer_start(&h->drainers[0], a[1]);
		break;
	case BE_PIPES:
		if (pipe2(a, O_CLOEXEC) < 0 || pipe2(b, O_CLOEXEC) < 0)
			abort();
		fcntl(a[1], F_SETFL, O_NONBLOCK); /* the host never waits for the guest */
		cc->in_fd = a[0];
		h->in_w = a[1];
		cc->out_fd = b[1];
		drainer_start(&h->drainers[0], b[0]);
		break;
	case BE_LISTEN:
		h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		h->addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
		h->addr_len = sizeof(h->addr);
		/* An address of only the family: the kernel picks an unused
		 * abstract name. */
		if (h->lfd < 0 || bind(h->lfd, (struct sockaddr *)&h->addr, sizeof(sa_family_t)) < 0 ||
		    listen(h->lfd, 2) < 0 ||
		    getsockname(h->lfd, (struct sockaddr *)&h->addr, &h->addr_len) < 0)
			abort();
		cc->listen_fd = h->lfd;
		break;
	default:
		if (pipe2(b, O_CLOEXEC) < 0)
			abort();
		cc->out_fd = b[1];
		drainer_start(&h->drainers[0], b[0]);
		break;
	}
}

static void host_connect(struct host *h)
{
	int fd;
	if (h->mode != BE_LISTEN || h->nclients == MAX_CLIENTS)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&h->addr, h->addr_len) < 0) {
		close(fd); /* the backlog is full */
		return;
	}
	fcntl(fd, F_SETFL, 0); /* the drainer blocks */
	h->clients[h->nclients] = h->in_w = fd;
	drainer_start(&h->drainers[h->nclients + 1], fd);
	h->nclients++;
}

static void host_send(struct host *h, struct fuzz_input *in)
{
	uint8_t buf[256];
	size_t len = (size_t)fuzz_take(in, 1), i;
	ssize_t n;
	for (i = 0; i < len && in->n; i++)
		buf[i] = (uint8_t)fuzz_take(in, 1);
	if (h->in_w < 0 || !i)
		return;
	n = h->mode == BE_PIPES ? write(h->in_w, buf, i) : send(h->in_w, buf, i, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0)
		h->sent += (uint64_t)n;
}

/* The host stops sending: end of input for the device. `full`: a socket
 * peer that goes away altogether, so the device's writes fail (EPIPE). */
static void host_hangup(struct host *h, bool full)
{
	if (h->in_w < 0)
		return;
	if (h->mode == BE_PIPES)
		close(h->in_w);
	else
		shutdown(h->in_w, full ? SHUT_RDWR : SHUT_WR);
	h->in_w = -1;
}

/* After the device is gone (its ends closed, so the drainers end). */
static void host_destroy(struct host *h)
{
	for (int i = 0; i < MAX_CLIENTS + 1; i++)
		drainer_join(&h->drainers[i]);
	for (int i = 0; i < h->nclients; i++)
		close(h->clients[i]);
	if (h->mode == BE_PIPES && h->in_w >= 0)
		close(h->in_w);
	if (h->mode == BE_PIPES || h->mode == BE_OUTPUT_ONLY)
		close(h->drainers[0].fd);
	if (h->pair >= 0)
		close(h->pair);
}

static void check(struct fuzz_watch *w, const struct host *h, uint16_t qs[2], uint16_t seen[2],
		  uint64_t *received)
{
	fuzz_watch_check(w);
	*received += fuzz_used_check(w, RINGS, qs[0], &seen[0], UINT32_MAX);
	fuzz_used_check(w, RINGS + RINGS_LEN, qs[1], &seen[1], 0); /* the device writes nothing there */
	if (!w->dirty && *received > h->sent)
		abort(); /* the guest got bytes nobody sent */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vs_guest_mem mem;
	static int ready;
	struct vs_error err = { 0 };
	struct fuzz_board b;
	struct vs_device dev = { 0 };
	struct fuzz_watch w;
	struct host h;
	struct vs_virtio *v;
	struct fuzz_input c = { data, size };
	uint64_t bar, features = VS_VIRTIO_F_VERSION_1, received = 0;
	uint16_t qs[2], seen[2] = { 0, 0 };
	uint8_t hdr;
	int ops = 0;

	if (!ready) {
		if (vs_guest_mem_create(&mem, VS_MEM_MIN, &err) < 0)
			abort();
		stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (stop_fd < 0)
			abort();
		vs_log_set_level(VS_LOG_ERROR); /* the guest's mistakes are expected here */
		signal(SIGPIPE, SIG_IGN);	/* as vessel run does: a peer gone is EPIPE */
		ready = 1;
	}
	memset(vs_gpa_ptr(&mem, RINGS, 2 * RINGS_LEN), 0, 2 * RINGS_LEN);
	fuzz_watch_init(&w, &mem, RINGS, 2 * RINGS_LEN, WATCH, WATCH_LEN);
	hdr = (uint8_t)fuzz_take(&c, 1);
	fuzz_board_create(&b, NULL);
	if (vs_loop_add(b.loop, stop_fd, EPOLLIN, on_stop, b.loop, &err) < 0)
		abort();
	{
		struct vs_virtio_config env = fuzz_board_env(&b, &mem, SLOT);
		struct vs_virtio_console_config cc;
		host_create(&h, hdr & 3, &cc);
		if (vs_virtio_console_create(&env, &cc, &dev, &err) < 0)
			abort();
	}
	v = *(struct vs_virtio **)dev.opaque;
	if (hdr & 4)
		features |= VS_VIRTIO_F_EVENT_IDX;
	if (hdr & 8)
		features |= VS_VIRTIO_F_INDIRECT_DESC;
	if (hdr & 0x10)
		features |= MULTIPORT; /* not offered: FEATURES_OK does not stick */
	bar = fuzz_virtio_begin(&b, SLOT, features);
	for (uint16_t q = 0; q < 2; q++) {
		qs[q] = (uint16_t)(1u << (fuzz_take(&c, 1) % 8)); /* 1..128: past 64 is refused */
		fuzz_virtio_queue(&b, bar, q, qs[q], RINGS + q * (uint64_t)RINGS_LEN);
	}
	fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, 15, 1);

	while (c.n && ops++ < 256) {
		uint8_t op = (uint8_t)fuzz_take(&c, 1);
		uint16_t q = (uint16_t)((op >> 3) & 1);
		switch (op % 8) {
		case 0:
			fuzz_watch_guest_write(&w, RINGS, 2 * RINGS_LEN, &c);
			break;
		case 1:
		case 2:
			fuzz_chain_add(&w, RINGS + q * (uint64_t)RINGS_LEN, qs[q], &c);
			break;
		case 3: /* the queue notification: receiveq, transmitq or one it does not have */
			vs_virtio_process(v, (uint16_t)(op & 0x40 ? (op >> 3) & 7 : q));
			break;
		case 4:
			loop_turn(b.loop);
			break;
		case 5:
			host_send(&h, &c);
			break;
		case 6:
			if (op & 0x10)
				host_connect(&h);
			else
				host_hangup(&h, op & 0x40);
			break;
		case 7:
			if (op & 0x10) { /* device reset, then up again (the queues stay off) */
				fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, op & 0x80 ? 0 : 15, 1);
			} else { /* configuration space: cols, rows, max_nr_ports, emerg_wr, past it */
				uint64_t val = fuzz_take(&c, 4);
				uint32_t off = (uint32_t)(op >> 5) * 3, sz = 1u << (fuzz_take(&c, 1) % 3);
				if (op & 0x08)
					fuzz_bar_write(&b, bar, VS_VIRTIO_BAR_DEVICE + off, val, sz);
				else
					vs_bus_read(&b.mmio, bar + VS_VIRTIO_BAR_DEVICE + off,
						    (uint8_t *)&val, sz);
			}
			break;
		}
		if (op & 0x20)
			check(&w, &h, qs, seen, &received);
	}
	vs_virtio_process(v, 0);
	vs_virtio_process(v, 1);
	check(&w, &h, qs, seen, &received);
	vs_loop_remove(b.loop, stop_fd);
	dev.destroy(dev.opaque);
	host_destroy(&h);
	fuzz_board_destroy(&b);
	return 0;
}
