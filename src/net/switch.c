/* --net switch=NAME: a host-only Ethernet segment without a daemon.
 *
 * Every NIC joining NAME binds a unix datagram socket in the segment's
 * directory (one file per NIC, named after the process and NIC), and sends
 * each guest frame to every other socket in that directory: a hub, which
 * is all a handful of VMs needs, with nothing to elect or restart when a VM
 * goes away. The directory is $XDG_RUNTIME_DIR/vessel/switch/NAME when
 * that variable is set, /run/vessel/switch/NAME for root, else
 * /tmp/vessel-UID/switch/NAME; it is created 0700, so only the same user's
 * VMs meet. Nothing routes out of the segment: VMs reach each other and
 * nothing else.
 *
 * A peer whose socket buffer is full loses the frame (as on a congested
 * switch) instead of holding back the sender; a socket file nobody is bound
 * to any more (a VM that was killed) refuses with ECONNREFUSED and is
 * removed by whoever finds it. The peer list is re-read whenever the
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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net/net_backend.h"
#include "util/cleanup.h"

#define MAX_PEERS 64
#define NAME_MAX_LEN 64

struct sw {
	int fd;
	struct vs_loop *loop;
	struct vs_net_peer peer;
	bool paused;
	char dir[80];
	char self[24]; /* our file name in dir */
	char peers[MAX_PEERS][24];
	int npeers;
	struct timespec dir_mtime; /* when the peer list was read */
};

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

static void refresh_peers(struct sw *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	struct stat st;
	s->npeers = 0;
	if (!d)
		return;
	/* Before reading: an entry added meanwhile changes it again. */
	if (fstat(dirfd(d), &st) == 0)
		s->dir_mtime = st.st_mtim;
	while ((e = readdir(d)) && s->npeers < MAX_PEERS) {
		size_t n = strlen(e->d_name);
		if (n < 6 || n >= sizeof(s->peers[0]) || strcmp(e->d_name + n - 5, ".sock") ||
		    !strcmp(e->d_name, s->self))
			continue;
		memcpy(s->peers[s->npeers++], e->d_name, n + 1);
	}
	closedir(d);
}

static void on_event(void *opaque, uint32_t events)
{
	struct sw *s = opaque;
	(void)events;
	if (!s->paused)
		s->peer.rx_ready(s->peer.opaque);
}

static int sw_attach(void *be, struct vs_loop *loop, const struct vs_net_peer *peer, struct vs_error *err)
{
	struct sw *s = be;
	s->loop = loop;
	s->peer = *peer;
	return vs_loop_add(loop, s->fd, EPOLLIN, on_event, s, err);
}

static int sw_send(void *be, const struct iovec *iov, int n)
{
	struct sw *s = be;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	if (stat(s->dir, &st) == 0 &&
	    (st.st_mtim.tv_sec != s->dir_mtime.tv_sec || st.st_mtim.tv_nsec != s->dir_mtime.tv_nsec))
		refresh_peers(s);
	for (int i = 0; i < s->npeers; i++) {
		struct msghdr msg = {
			.msg_name = &addr,
			.msg_namelen = sizeof(addr),
			.msg_iov = (struct iovec *)iov,
			.msg_iovlen = (size_t)n,
		};
		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", s->dir, s->peers[i]);
		if (sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno == ECONNREFUSED) {
			/* Nobody is bound there: a VM that died without cleaning up. */
			unlink(addr.sun_path); /* changes the directory: re-read next time */
		}
	}
	return 0;
}

static ssize_t sw_recv(void *be, void *buf, size_t len)
{
	struct sw *s = be;
	for (;;) {
		ssize_t n = recv(s->fd, buf, len, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n > len)
			continue; /* longer than any frame: not from a vessel peer */
		return n;
	}
}

static void sw_rx_pause(void *be, bool paused)
{
	struct sw *s = be;
	if (s->paused == paused)
		return;
	s->paused = paused;
	vs_loop_set_events(s->loop, s->fd, paused ? 0 : EPOLLIN);
}

static void sw_destroy(void *be)
{
	struct sw *s = be;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (s->loop)
		vs_loop_remove(s->loop, s->fd);
	close(s->fd);
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
	int buf = 1 << 20;
	if (!s)
		return vs_error_set(err, ENOMEM, "allocating switch port");
	if (vs_net_switch_dir(name, s->dir, sizeof(s->dir), err) < 0 || make_dirs(s->dir, err) < 0)
		return -1;
	snprintf(s->self, sizeof(s->self), "%d-%d.sock", (int)getpid(),
		 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", s->dir, s->self);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_error_set(err, errno, "switch: socket");
	unlink(addr.sun_path); /* a file left by an earlier process with our pid */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return vs_error_set(err, errno, "switch: bind `%s`", addr.sun_path);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	s->fd = vs_steal_fd(&fd);
	refresh_peers(s);
	*out = (struct vs_net_backend){ &sw_ops, vs_steal_ptr(&s) };
	return 0;
}
