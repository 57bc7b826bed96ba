/* --net tap=IFNAME: frames through a Linux tap interface (IFF_TAP,
 * IFF_NO_PI, no vnet header since the device offers no offloads). An
 * interface that did not exist is created by TUNSETIFF and, never being
 * made persistent, vanishes with the last close of its fd: no error path
 * or crash can leak it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_backend.h"
#include "util/cleanup.h"

struct tap {
	int fd;
	struct vs_loop *loop;
	struct vs_net_peer peer;
	bool paused, want_out;
};

static void update_watch(struct tap *t)
{
	uint32_t ev = (t->paused ? 0 : EPOLLIN) | (t->want_out ? EPOLLOUT : 0);
	vs_loop_set_events(t->loop, t->fd, ev);
}

static void on_event(void *opaque, uint32_t events)
{
	struct tap *t = opaque;
	if ((events & EPOLLOUT) && t->want_out) {
		t->want_out = false;
		update_watch(t);
		t->peer.tx_ready(t->peer.opaque);
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !t->paused)
		t->peer.rx_ready(t->peer.opaque);
}

static int tap_attach(void *be, struct vs_loop *loop, const struct vs_net_peer *peer, struct vs_error *err)
{
	struct tap *t = be;
	t->loop = loop;
	t->peer = *peer;
	return vs_loop_add(loop, t->fd, EPOLLIN, on_event, t, err);
}

static int tap_send(void *be, const struct iovec *iov, int n)
{
	struct tap *t = be;
	ssize_t rc = writev(t->fd, iov, n);
	if (rc >= 0)
		return 0;
	if (errno == EAGAIN) {
		t->want_out = true;
		update_watch(t);
	}
	return -errno;
}

static ssize_t tap_recv(void *be, void *buf, size_t len)
{
	struct tap *t = be;
	for (;;) {
		ssize_t n = read(t->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno; /* EAGAIN, or EIO while the interface is down */
	}
}

static void tap_rx_pause(void *be, bool paused)
{
	struct tap *t = be;
	if (t->paused == paused)
		return;
	t->paused = paused;
	update_watch(t);
}

static void tap_destroy(void *be)
{
	struct tap *t = be;
	if (t->loop)
		vs_loop_remove(t->loop, t->fd);
	close(t->fd);
	free(t);
}

static const struct vs_net_backend_ops tap_ops = {
	.name = "tap",
	.attach = tap_attach,
	.send = tap_send,
	.recv = tap_recv,
	.rx_pause = tap_rx_pause,
	.destroy = tap_destroy,
};

/* Bring the interface up, as a newly created one starts down. */
static void set_up(const char *ifname)
{
	vs_autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	if (s < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
}

int vs_net_tap_open(const char *ifname, struct vs_net_backend *out, struct vs_error *err)
{
	struct ifreq ifr = { 0 };
	vs_autoclose int fd = -1;
	struct tap *t;
	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return vs_error_msg(err, "tap: `%s` is not an interface name (1..%d characters)", ifname,
				    IFNAMSIZ - 1);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vs_error_set(err, errno, "tap: open /dev/net/tun");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return vs_error_set(err, errno, "tap: attaching to `%s` (TUNSETIFF)", ifname);
	set_up(ifname);
	t = calloc(1, sizeof(*t));
	if (!t)
		return vs_error_set(err, ENOMEM, "allocating tap");
	t->fd = vs_steal_fd(&fd);
	*out = (struct vs_net_backend){ &tap_ops, t };
	return 0;
}
