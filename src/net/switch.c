/* --net switch=NAME: a host-only Ethernet segment without a daemon.
 *
 * Every NIC joining NAME listens on a unix SOCK_SEQPACKET socket in the
 * segment's directory (one file per NIC, named after the process and NIC)
 * and connects to every other file there; each NIC reads frames from all
 * its connections, the ones it made and the ones it accepted. The
 * directory is $XDG_RUNTIME_DIR/vessel/switch/NAME when that variable is
 * set, /run/vessel/switch/NAME for root, else /tmp/vessel-UID/switch/NAME;
 * it is created 0700, so only the same user's VMs meet. Nothing routes out
 * of the segment: VMs reach each other and nothing else.
 *
 * Forwarding: a learning switch. The source MAC of every frame received
 * is remembered with the connection it came on (switch_fdb.c); a unicast
 * frame to a known MAC goes on that connection only, anything else
 * (broadcast, multicast, a MAC not heard yet) is flooded on the
 * connections this NIC made, one per peer, so each peer gets it once.
 *
 * Back-pressure instead of loss: connected seqpacket sockets are not
 * bound by net.unix.max_dgram_qlen (10 datagrams, which dropped bursts
 * when the segment used unconnected datagram sockets); a connection holds
 * what its send buffer allows and then refuses with EAGAIN. A unicast
 * frame then stays in the guest's transmit queue (send returns -EAGAIN)
 * until the connection is writable again, as a NIC waits for a busy link.
 * A peer that takes nothing for STALL_MS (its guest posts no receive
 * buffers) is marked stalled and loses frames until it drains, so one
 * stuck VM cannot freeze another's transmit queue; floods never wait.
 *
 * A socket file nobody listens on any more (a VM that was killed) refuses
 * with ECONNREFUSED and is removed by whoever finds it; a peer that goes
 * away hangs up its connections. The peer list is re-read whenever the
 * directory's modification time changes (one stat per frame sent), so a
 * VM joining is heard from at once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net/net_backend.h"
#include "net/switch_fdb.h"
#include "util/cleanup.h"

#define MAX_CONNS 128 /* a made and an accepted connection per peer */
#define NAME_MAX_LEN 64
#define STALL_MS 100
#define SNDBUF (256 * 1024)

struct conn {
	struct sw *s;
	int fd;
	bool made;	/* we connected (a flood goes here); else accepted */
	bool want_out;	/* a send got EAGAIN: watching for EPOLLOUT */
	bool stalled;	/* took nothing for STALL_MS: frames to it are dropped */
	uint64_t since; /* when want_out was set (ns) */
	char name[24];	/* the peer's file, for made connections */
};

struct sw {
	int listen_fd, timer_fd;
	struct vs_loop *loop;
	struct vs_net_peer peer;
	bool paused;
	char dir[80];
	char self[24]; /* our file name in dir */
	struct conn *conns[MAX_CONNS];
	int nconns;
	unsigned rr; /* the connection recv() looks at first */
	struct vs_fdb fdb;
	struct timespec dir_mtime; /* when the peer list was read */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_' ||
		      name[i] == '.'))
			return false;
	return true;
}

int vs_net_switch_dir(const char *name, char *buf, size_t len, struct vs_error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (!valid_name(name))
		return vs_error_msg(err, "switch: `%s` is not a switch name (1..%d of A-Z a-z 0-9 . - _)",
				    name, NAME_MAX_LEN);
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/vessel/switch/%s", xdg, name);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/vessel/switch/%s", name);
	else
		n = snprintf(buf, len, "/tmp/vessel-%u/switch/%s", (unsigned)geteuid(), name);
	if (n < 0 || (size_t)n >= len)
		return vs_error_msg(err, "switch: directory name for `%s` is too long", name);
	return 0;
}

/* mkdir -p, the leaves 0700. */
static int make_dirs(const char *path, struct vs_error *err)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1;; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
				return vs_error_set(err, errno, "switch: mkdir `%s`", tmp);
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* ---- Connections ---- */

static void watch(struct conn *c)
{
	uint32_t ev = (c->s->paused ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0);
	if (c->s->loop)
		vs_loop_set_events(c->s->loop, c->fd, ev);
}

static void conn_close(struct sw *s, int i)
{
	struct conn *c = s->conns[i];
	vs_fdb_forget(&s->fdb, c);
	if (s->loop)
		vs_loop_remove(s->loop, c->fd);
	close(c->fd);
	free(c);
	s->conns[i] = s->conns[--s->nconns];
}

static int conn_index(const struct sw *s, const struct conn *c)
{
	for (int i = 0; i < s->nconns; i++)
		if (s->conns[i] == c)
			return i;
	return -1;
}

static void on_conn(void *opaque, uint32_t events)
{
	struct conn *c = opaque;
	struct sw *s = c->s;
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* The peer went away; what it sent last is lost with it. */
		bool was_waiting = c->want_out;
		conn_close(s, conn_index(s, c));
		if (was_waiting)
			s->peer.tx_ready(s->peer.opaque);
		return;
	}
	if ((events & EPOLLOUT) && c->want_out) {
		c->want_out = c->stalled = false;
		watch(c);
		s->peer.tx_ready(s->peer.opaque);
	}
	if ((events & EPOLLIN) && !s->paused)
		s->peer.rx_ready(s->peer.opaque);
}

static struct conn *conn_add(struct sw *s, int fd, bool made, const char *name)
{
	struct vs_error err = { 0 };
	int buf = SNDBUF;
	struct conn *c;
	if (s->nconns == MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	*c = (struct conn){ .s = s, .fd = fd, .made = made };
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (s->loop && vs_loop_add(s->loop, fd, s->paused ? 0 : EPOLLIN, on_conn, c, &err) < 0) {
		close(fd);
		free(c);
		return NULL;
	}
	s->conns[s->nconns++] = c;
	return c;
}

/* Take the connections peers made to us. */
static void accept_all(struct sw *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			return;
		conn_add(s, fd, false, "");
	}
}

static bool connected_to(const struct sw *s, const char *name)
{
	for (int i = 0; i < s->nconns; i++)
		if (s->conns[i]->made && !strcmp(s->conns[i]->name, name))
			return true;
	return false;
}

static void connect_to(struct sw *s, const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", s->dir, name);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (errno == ECONNREFUSED)
			unlink(addr.sun_path); /* a VM that died without cleaning up */
		else if (errno == EAGAIN)
			s->dir_mtime = (struct timespec){ 0 }; /* its backlog is full: retry */
		close(fd);
		return;
	}
	conn_add(s, fd, true, name);
}

/* Connect to every peer in the directory we have no connection to yet. */
static void refresh_peers(struct sw *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	struct stat st;
	if (!d)
		return;
	/* Before reading: an entry added meanwhile changes it again. */
	if (fstat(dirfd(d), &st) == 0)
		s->dir_mtime = st.st_mtim;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || n >= sizeof(s->self) || strcmp(e->d_name + n - 5, ".sock") ||
		    !strcmp(e->d_name, s->self) || connected_to(s, e->d_name))
			continue;
		connect_to(s, e->d_name);
	}
	closedir(d);
}

/* ---- Backend ops ---- */

static void on_listen(void *opaque, uint32_t events)
{
	(void)events;
	accept_all(opaque);
}

/* A connection that has not drained for STALL_MS gets stalled; the device
 * retries its transmit queue, whose head frame that peer now loses. */
static void on_timer(void *opaque, uint32_t events)
{
	struct sw *s = opaque;
	uint64_t ticks, now = now_ns(), next = 0;
	bool any = false;
	(void)events;
	if (read(s->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	for (int i = 0; i < s->nconns; i++) {
		struct conn *c = s->conns[i];
		if (!c->want_out || c->stalled)
			continue;
		if (now - c->since >= STALL_MS * 1000000ull) {
			c->stalled = any = true;
		} else {
			uint64_t left = c->since + STALL_MS * 1000000ull - now;
			next = next && next < left ? next : left;
		}
	}
	if (next) {
		struct itimerspec its = { .it_value = { 0, (long)next } };
		timerfd_settime(s->timer_fd, 0, &its, NULL);
	}
	if (any)
		s->peer.tx_ready(s->peer.opaque);
}

static int sw_attach(void *be, struct vs_loop *loop, const struct vs_net_peer *peer, struct vs_error *err)
{
	struct sw *s = be;
	s->peer = *peer;
	if (vs_loop_add(loop, s->listen_fd, EPOLLIN, on_listen, s, err) < 0)
		return -1;
	if (vs_loop_add(loop, s->timer_fd, EPOLLIN, on_timer, s, err) < 0) {
		vs_loop_remove(loop, s->listen_fd);
		return -1;
	}
	for (int i = 0; i < s->nconns; i++)
		if (vs_loop_add(loop, s->conns[i]->fd, EPOLLIN, on_conn, s->conns[i], err) < 0) {
			for (int j = 0; j < i; j++)
				vs_loop_remove(loop, s->conns[j]->fd);
			vs_loop_remove(loop, s->listen_fd);
			vs_loop_remove(loop, s->timer_fd);
			return -1;
		}
	s->loop = loop;
	return 0;
}

static ssize_t conn_send(struct conn *c, const struct iovec *iov, int n)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	for (;;) {
		ssize_t rc = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (rc >= 0 || errno != EINTR)
			return rc < 0 ? -errno : rc;
	}
}

/* Unicast to the connection `mac` was learned on: wait (-EAGAIN) while it
 * is full, unless it is stalled. */
static int send_to(struct sw *s, struct conn *c, const struct iovec *iov, int n)
{
	ssize_t rc = conn_send(c, iov, n);
	if (rc != -EAGAIN) {
		if (rc < 0 && rc != -EMSGSIZE)
			conn_close(s, conn_index(s, c)); /* EPIPE, ECONNRESET: gone */
		return 0;
	}
	if (c->stalled)
		return 0; /* dropped: that peer takes nothing */
	if (!c->want_out) {
		struct itimerspec its = { .it_value = { 0, STALL_MS * 1000000l } };
		c->want_out = true;
		c->since = now_ns();
		watch(c);
		timerfd_settime(s->timer_fd, 0, &its, NULL);
	}
	return -EAGAIN;
}

static void flood(struct sw *s, const struct iovec *iov, int n)
{
	for (int i = 0; i < s->nconns;) {
		struct conn *c = s->conns[i];
		ssize_t rc;
		if (!c->made) {
			i++;
			continue;
		}
		rc = conn_send(c, iov, n);
		if (rc < 0 && rc != -EAGAIN && rc != -EMSGSIZE) {
			conn_close(s, i); /* moved the last one to i */
			continue;
		}
		i++; /* sent, or dropped at a full peer (as a congested switch does) */
	}
}

static int sw_send(void *be, const struct iovec *iov, int n)
{
	struct sw *s = be;
	struct stat st;
	uint8_t dst[6] = { 0 };
	size_t got = 0;
	struct conn *c;
	for (int i = 0; i < n && got < sizeof(dst); i++) {
		size_t k = iov[i].iov_len < sizeof(dst) - got ? iov[i].iov_len : sizeof(dst) - got;
		memcpy(dst + got, iov[i].iov_base, k);
		got += k;
	}
	if (stat(s->dir, &st) == 0 &&
	    (st.st_mtim.tv_sec != s->dir_mtime.tv_sec || st.st_mtim.tv_nsec != s->dir_mtime.tv_nsec))
		refresh_peers(s);
	c = got == sizeof(dst) && vs_mac_is_unicast(dst) ? vs_fdb_lookup(&s->fdb, dst) : NULL;
	if (c)
		return send_to(s, c, iov, n);
	flood(s, iov, n);
	return 0;
}

static ssize_t sw_recv(void *be, void *buf, size_t len)
{
	struct sw *s = be;
	accept_all(s);
	for (int tried = 0; tried < s->nconns;) {
		int i = (int)(s->rr++ % (unsigned)s->nconns);
		struct conn *c = s->conns[i];
		ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			conn_close(s, i); /* hung up */
			continue;
		}
		tried++;
		if (n < 0 || (size_t)n > len)
			continue; /* nothing, or longer than any frame: not from a vessel peer */
		if (n >= 12)
			vs_fdb_learn(&s->fdb, (const uint8_t *)buf + 6, c);
		return n;
	}
	return -EAGAIN;
}

static void sw_rx_pause(void *be, bool paused)
{
	struct sw *s = be;
	if (s->paused == paused)
		return;
	s->paused = paused;
	for (int i = 0; i < s->nconns; i++)
		watch(s->conns[i]);
}

static void sw_destroy(void *be)
{
	struct sw *s = be;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	while (s->nconns)
		conn_close(s, s->nconns - 1);
	if (s->loop) {
		vs_loop_remove(s->loop, s->listen_fd);
		vs_loop_remove(s->loop, s->timer_fd);
	}
	close(s->listen_fd);
	close(s->timer_fd);
	snprintf(path, sizeof(path), "%s/%s", s->dir, s->self);
	unlink(path);
	free(s);
}

static const struct vs_net_backend_ops sw_ops = {
	.name = "switch",
	.attach = sw_attach,
	.send = sw_send,
	.recv = sw_recv,
	.rx_pause = sw_rx_pause,
	.destroy = sw_destroy,
};

int vs_net_switch_open(const char *name, struct vs_net_backend *out, struct vs_error *err)
{
	static int counter; /* NICs of this process: only the CLI thread opens them */
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	vs_autofree struct sw *s = calloc(1, sizeof(*s));
	vs_autoclose int fd = -1;
	vs_autoclose int tfd = -1;
	if (!s)
		return vs_error_set(err, ENOMEM, "allocating switch port");
	if (vs_net_switch_dir(name, s->dir, sizeof(s->dir), err) < 0 || make_dirs(s->dir, err) < 0)
		return -1;
	snprintf(s->self, sizeof(s->self), "%d-%d.sock", (int)getpid(),
		 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", s->dir, s->self);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0 || tfd < 0)
		return vs_error_set(err, errno, "switch: socket/timerfd");
	unlink(addr.sun_path); /* a file left by an earlier process with our pid */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return vs_error_set(err, errno, "switch: bind `%s`", addr.sun_path);
	if (listen(fd, 64) < 0) {
		vs_error_set(err, errno, "switch: listen on `%s`", addr.sun_path);
		unlink(addr.sun_path);
		return -1;
	}
	s->listen_fd = vs_steal_fd(&fd);
	s->timer_fd = vs_steal_fd(&tfd);
	refresh_peers(s);
	*out = (struct vs_net_backend){ &sw_ops, vs_steal_ptr(&s) };
	return 0;
}
