/* --net user: user-mode NAT through libslirp, with QEMU's addresses
 * (network 10.0.2.0/24, gateway 10.0.2.2 reaching the host's loopback,
 * DNS 10.0.2.3, DHCP handing out 10.0.2.15 first; IPv6 fec0::/64).
 *
 * libslirp is written for a poll() loop: before sleeping the application
 * asks it which fds to watch (slirp_pollfds_fill), after waking it reports
 * what happened (slirp_pollfds_poll). On the I/O thread's epoll loop that
 * becomes: after every call into slirp, the watch set is re-synchronised
 * with what slirp_pollfds_fill asks for; an epoll event on one of its fds
 * is reported through slirp_pollfds_poll; its TCP timers run from a timerfd
 * armed with the timeout slirp_pollfds_fill returns, its own timers from
 * a second timerfd.
 *
 * Frames slirp emits for the guest wait in a ring of RX_SLOTS; when the
 * guest has posted no buffers and the ring is full, further frames are
 * dropped, which libslirp allows (TCP retransmits): memory stays bounded.
 * slirp emits them from inside slirp_input (the device's transmit path,
 * under its lock), so the device hears of them through an eventfd, never
 * by a direct call. */
#include <errno.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "net/net_backend.h"
#include "util/cleanup.h"
#include "util/log.h"

#define RX_SLOTS 64

struct watch {
	struct sl *s;
	int fd;
	uint32_t events;
	bool seen; /* still asked for by the last fill */
};

struct pfd {
	int fd;
	int events, revents;
};

struct stimer {
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
	struct stimer *next;
};

struct sl {
	Slirp *slirp;
	struct vs_loop *loop;
	struct vs_net_peer peer;
	bool paused;
	int rx_efd, poll_tfd, timer_tfd;
	/* slirp's fds: the last fill's list (indices are slirp's), and the
	 * watches registered on the loop. */
	struct pfd *pfds;
	int npfds, cap_pfds;
	struct watch **watches;
	int nwatches, cap_watches;
	struct stimer *timers;
	struct {
		uint16_t len;
		uint8_t data[VS_NET_MAX_FRAME];
	} ring[RX_SLOTS];
	unsigned head, count;
	struct vs_ratelimit log;
	struct vs_net_hostfwd fwd[VS_NET_MAX_HOSTFWD];
	int nfwd;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: a wakeup is pending anyway */
	}
}

static void drain_fd(int fd)
{
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0) {
		/* nothing pending */
	}
}

static void arm_ms(int tfd, int64_t delay_ms)
{
	struct itimerspec its = { 0 };
	if (delay_ms >= 0) {
		if (delay_ms == 0)
			its.it_value.tv_nsec = 1; /* 0 would disarm */
		else {
			its.it_value.tv_sec = delay_ms / 1000;
			its.it_value.tv_nsec = (delay_ms % 1000) * 1000000;
		}
	}
	timerfd_settime(tfd, 0, &its, NULL);
}

/* ---- Callbacks from slirp ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct sl *s = opaque;
	unsigned slot;
	if (len > VS_NET_MAX_FRAME || s->count == RX_SLOTS)
		return (ssize_t)len; /* dropped, as a full NIC would */
	slot = (s->head + s->count) % RX_SLOTS;
	s->ring[slot].len = (uint16_t)len;
	memcpy(s->ring[slot].data, buf, len);
	s->count++;
	if (!s->paused)
		signal_fd(s->rx_efd);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct sl *s = opaque;
	if (vs_ratelimit_ok(&s->log))
		vs_debug("slirp: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void rearm_timers(struct sl *s)
{
	int64_t first = -1, now = now_ns() / 1000000;
	for (struct stimer *t = s->timers; t; t = t->next)
		if (t->expire_ms >= 0 && (first < 0 || t->expire_ms < first))
			first = t->expire_ms;
	arm_ms(s->timer_tfd, first < 0 ? -1 : (first > now ? first - now : 0));
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct sl *s = opaque;
	struct stimer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct stimer){ cb, cb_opaque, -1, s->timers };
	s->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct sl *s = opaque;
	for (struct stimer **p = &s->timers; *p; p = &(*p)->next)
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			break;
		}
	rearm_timers(s);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct stimer *t = timer;
	t->expire_ms = expire_ms;
	rearm_timers(opaque);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque; /* the next sync_watches() adds it */
}

static void drop_watch(struct sl *s, int fd);

/* slirp is about to close `fd`: forget it now, or a new socket that gets
 * the same number before the next sync would look already watched. */
static void cb_unregister_poll_fd(int fd, void *opaque)
{
	drop_watch(opaque, fd);
}

static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

/* ---- The watch set ---- */

static int add_poll(int fd, int events, void *opaque)
{
	struct sl *s = opaque;
	if (s->npfds == s->cap_pfds) {
		int cap = s->cap_pfds ? 2 * s->cap_pfds : 16;
		struct pfd *p = realloc(s->pfds, (size_t)cap * sizeof(*p));
		if (!p)
			return -1; /* slirp then just gets no events for it */
		s->pfds = p;
		s->cap_pfds = cap;
	}
	s->pfds[s->npfds] = (struct pfd){ fd, events, 0 };
	return s->npfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct sl *s = opaque;
	return idx >= 0 && idx < s->npfds ? s->pfds[idx].revents : 0;
}

static uint32_t to_epoll(int ev)
{
	return ((ev & SLIRP_POLL_IN) ? EPOLLIN : 0) | ((ev & SLIRP_POLL_OUT) ? EPOLLOUT : 0) |
	       ((ev & SLIRP_POLL_PRI) ? EPOLLPRI : 0);
}

static int from_epoll(uint32_t ev)
{
	return ((ev & EPOLLIN) ? SLIRP_POLL_IN : 0) | ((ev & EPOLLOUT) ? SLIRP_POLL_OUT : 0) |
	       ((ev & EPOLLPRI) ? SLIRP_POLL_PRI : 0) | ((ev & EPOLLERR) ? SLIRP_POLL_ERR : 0) |
	       ((ev & EPOLLHUP) ? SLIRP_POLL_HUP : 0);
}

static void sync_watches(struct sl *s);

static void on_slirp_fd(void *opaque, uint32_t events)
{
	struct watch *w = opaque;
	struct sl *s = w->s;
	int fd = w->fd;
	for (int i = 0; i < s->npfds; i++)
		if (s->pfds[i].fd == fd)
			s->pfds[i].revents = from_epoll(events);
	slirp_pollfds_poll(s->slirp, 0, get_revents, s);
	sync_watches(s); /* may free w */
}

static struct watch *find_watch(struct sl *s, int fd)
{
	for (int i = 0; i < s->nwatches; i++)
		if (s->watches[i]->fd == fd)
			return s->watches[i];
	return NULL;
}

static void drop_watch(struct sl *s, int fd)
{
	for (int i = 0; i < s->nwatches; i++) {
		struct watch *w = s->watches[i];
		if (w->fd != fd)
			continue;
		vs_loop_remove(s->loop, fd);
		free(w);
		s->watches[i] = s->watches[--s->nwatches];
		return;
	}
}

static void add_watch(struct sl *s, int fd, uint32_t events)
{
	struct vs_error err = { 0 };
	struct watch *w;
	if (s->nwatches == s->cap_watches) {
		int cap = s->cap_watches ? 2 * s->cap_watches : 16;
		struct watch **p = realloc(s->watches, (size_t)cap * sizeof(*p));
		if (!p)
			return;
		s->watches = p;
		s->cap_watches = cap;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	*w = (struct watch){ s, fd, events, true };
	if (vs_loop_add(s->loop, fd, events, on_slirp_fd, w, &err) < 0) {
		if (vs_ratelimit_ok(&s->log))
			vs_warn("slirp: watching fd %d: %s", fd, err.msg);
		free(w);
		return;
	}
	s->watches[s->nwatches++] = w;
}

/* Ask slirp what to watch now and make the loop's watches match. */
static void sync_watches(struct sl *s)
{
	uint32_t timeout = UINT32_MAX;
	s->npfds = 0;
	slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
	for (int i = 0; i < s->nwatches; i++)
		s->watches[i]->seen = false;
	for (int i = 0; i < s->npfds; i++) {
		uint32_t ev = to_epoll(s->pfds[i].events);
		struct watch *w = find_watch(s, s->pfds[i].fd);
		if (!w) {
			add_watch(s, s->pfds[i].fd, ev);
			continue;
		}
		if (w->seen)
			ev |= w->events; /* the same fd twice: watch for both */
		w->seen = true;
		if (w->events != ev) {
			w->events = ev;
			if (vs_loop_set_events(s->loop, w->fd, ev) < 0) {
				/* Closed and reused behind our back: watch it afresh. */
				drop_watch(s, w->fd);
				add_watch(s, s->pfds[i].fd, ev);
			}
		}
	}
	for (int i = 0; i < s->nwatches;) {
		struct watch *w = s->watches[i];
		if (w->seen) {
			i++;
			continue;
		}
		vs_loop_remove(s->loop, w->fd);
		free(w);
		s->watches[i] = s->watches[--s->nwatches];
	}
	arm_ms(s->poll_tfd, timeout == UINT32_MAX ? -1 : (int64_t)timeout);
}

static void on_poll_timer(void *opaque, uint32_t events)
{
	struct sl *s = opaque;
	(void)events;
	drain_fd(s->poll_tfd);
	for (int i = 0; i < s->npfds; i++)
		s->pfds[i].revents = 0;
	slirp_pollfds_poll(s->slirp, 0, get_revents, s);
	sync_watches(s);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct sl *s = opaque;
	int64_t now = now_ns() / 1000000;
	bool fired;
	(void)events;
	drain_fd(s->timer_tfd);
	/* A callback may free or re-arm timers: restart the walk after each. */
	do {
		fired = false;
		for (struct stimer *t = s->timers; t; t = t->next)
			if (t->expire_ms >= 0 && t->expire_ms <= now) {
				t->expire_ms = -1;
				t->cb(t->cb_opaque);
				fired = true;
				break;
			}
	} while (fired);
	rearm_timers(s);
	sync_watches(s);
}

static void on_rx(void *opaque, uint32_t events)
{
	struct sl *s = opaque;
	(void)events;
	drain_fd(s->rx_efd);
	if (!s->paused && s->count)
		s->peer.rx_ready(s->peer.opaque);
}

/* ---- Backend ops ---- */

static int sl_attach(void *be, struct vs_loop *loop, const struct vs_net_peer *peer, struct vs_error *err)
{
	struct sl *s = be;
	s->loop = loop;
	s->peer = *peer;
	if (vs_loop_add(loop, s->rx_efd, EPOLLIN, on_rx, s, err) < 0 ||
	    vs_loop_add(loop, s->poll_tfd, EPOLLIN, on_poll_timer, s, err) < 0 ||
	    vs_loop_add(loop, s->timer_tfd, EPOLLIN, on_timer, s, err) < 0)
		return -1;
	sync_watches(s); /* the hostfwd listeners */
	return 0;
}

static int sl_send(void *be, const struct iovec *iov, int n)
{
	struct sl *s = be;
	uint8_t frame[VS_NET_MAX_FRAME];
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > sizeof(frame) - len)
			return -EMSGSIZE;
		memcpy(frame + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	slirp_input(s->slirp, frame, (int)len);
	sync_watches(s);
	return 0;
}

static ssize_t sl_recv(void *be, void *buf, size_t len)
{
	struct sl *s = be;
	size_t n;
	if (!s->count)
		return -EAGAIN;
	n = s->ring[s->head].len;
	if (n > len)
		n = len;
	memcpy(buf, s->ring[s->head].data, n);
	s->head = (s->head + 1) % RX_SLOTS;
	s->count--;
	return (ssize_t)n;
}

static void sl_rx_pause(void *be, bool paused)
{
	struct sl *s = be;
	s->paused = paused;
	if (!paused && s->count)
		signal_fd(s->rx_efd);
}

static void sl_destroy(void *be)
{
	struct sl *s = be;
	if (s->loop) {
		for (int i = 0; i < s->nwatches; i++)
			vs_loop_remove(s->loop, s->watches[i]->fd);
		vs_loop_remove(s->loop, s->rx_efd);
		vs_loop_remove(s->loop, s->poll_tfd);
		vs_loop_remove(s->loop, s->timer_tfd);
	}
	for (int i = 0; i < s->nwatches; i++)
		free(s->watches[i]);
	s->nwatches = 0; /* slirp_cleanup calls unregister_poll_fd */
	if (s->slirp)
		slirp_cleanup(s->slirp); /* frees its timers through timer_free */
	while (s->timers) {
		struct stimer *t = s->timers;
		s->timers = t->next;
		free(t);
	}
	free(s->watches);
	free(s->pfds);
	if (s->rx_efd >= 0)
		close(s->rx_efd);
	if (s->poll_tfd >= 0)
		close(s->poll_tfd);
	if (s->timer_tfd >= 0)
		close(s->timer_tfd);
	free(s);
}

static const struct vs_net_backend_ops sl_ops = {
	.name = "user",
	.rx_csum_valid = true,
	.attach = sl_attach,
	.send = sl_send,
	.recv = sl_recv,
	.rx_pause = sl_rx_pause,
	.destroy = sl_destroy,
};

static struct in_addr ip4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

int vs_net_slirp_open(const struct vs_net_hostfwd *fwd, int nfwd, struct vs_net_backend *out,
		      struct vs_error *err)
{
	SlirpConfig cfg = {
		.version = 1,
		.in_enabled = true,
		.vnetwork = ip4("10.0.2.0"),
		.vnetmask = ip4("255.255.255.0"),
		.vhost = ip4("10.0.2.2"),
		.vdhcp_start = ip4("10.0.2.15"),
		.vnameserver = ip4("10.0.2.3"),
		.in6_enabled = true,
		.vprefix_len = 64,
		.vhostname = "vessel",
	};
	struct sl *s;
	if (nfwd < 0 || nfwd > VS_NET_MAX_HOSTFWD)
		return vs_error_msg(err, "slirp: at most %d hostfwd rules", VS_NET_MAX_HOSTFWD);
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
	s = calloc(1, sizeof(*s));
	if (!s)
		return vs_error_set(err, ENOMEM, "allocating slirp");
	s->log = (struct vs_ratelimit)VS_RATELIMIT_INIT(1, 10);
	s->rx_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->poll_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->timer_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->rx_efd < 0 || s->poll_tfd < 0 || s->timer_tfd < 0) {
		vs_error_set(err, errno, "slirp: eventfd/timerfd");
		sl_destroy(s);
		return -1;
	}
	s->slirp = slirp_new(&cfg, &callbacks, s);
	if (!s->slirp) {
		sl_destroy(s);
		return vs_error_msg(err, "slirp: slirp_new failed");
	}
	for (int i = 0; i < nfwd; i++) {
		const struct vs_net_hostfwd *f = &fwd[i];
		char host[INET_ADDRSTRLEN];
		if (slirp_add_hostfwd(s->slirp, f->udp, f->host_addr, f->host_port, cfg.vdhcp_start,
				      f->guest_port) < 0) {
			inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
			sl_destroy(s);
			return vs_error_msg(err,
					    "hostfwd %s:%s:%u-:%u: cannot listen on the host port (in use?)",
					    f->udp ? "udp" : "tcp", host, f->host_port, f->guest_port);
		}
	}
	*out = (struct vs_net_backend){ &sl_ops, s };
	return 0;
}
