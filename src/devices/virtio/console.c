#include "devices/virtio/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define CONSOLE_TYPE 3
#define CONSOLE_CLASS 0x078000 /* simple communication controller, other */
#define CONSOLE_QUEUE_SIZE 64
#define CFG_LEN 12 /* cols, rows, max_nr_ports, emerg_wr: unused without features */

struct console {
	struct vs_virtio *virtio; /* first: tests/fuzz/fuzz_virtio_pci.c relies on it */
	struct vs_loop *loop;
	/* I/O thread only (handlers and queue notifications both run there). */
	int in_fd, out_fd, listen_fd;
	bool in_socket; /* read with MSG_DONTWAIT: the same socket is written blocking */
	bool in_watched, in_armed, listen_watched;
	struct vs_vq_elem elem;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void arm_in(struct console *c, bool on)
{
	if (c->in_watched && c->in_armed != on &&
	    vs_loop_set_events(c->loop, c->in_fd, on ? EPOLLIN : 0) == 0)
		c->in_armed = on;
}

/* The peer went away: with a listening socket, wait for the next one. */
static void drop_peer(struct console *c)
{
	if (c->in_watched)
		vs_loop_remove(c->loop, c->in_fd);
	c->in_watched = c->in_armed = false;
	if (c->out_fd == c->in_fd)
		c->out_fd = -1;
	close_fd(&c->in_fd);
	if (c->listen_fd >= 0)
		close_fd(&c->out_fd);
}

static ssize_t read_in(struct console *c, struct iovec *iov, unsigned int n)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t r;
	do
		r = c->in_socket ? recvmsg(c->in_fd, &msg, MSG_DONTWAIT) : readv(c->in_fd, iov, (int)n);
	while (r < 0 && errno == EINTR);
	return r;
}

static void rx(struct console *c, struct vs_virtio *v)
{
	struct vs_vq *vq = vs_virtio_queue(v, VS_CONSOLE_Q_RX);
	struct iovec iov[VS_VQ_MAX_IOV];
	if (c->in_fd < 0)
		return;
	for (;;) {
		int r = vs_vq_pop(vq, &c->elem);
		if (r <= 0) {
			arm_in(c, false); /* until the guest posts buffers */
			break;
		}
		for (unsigned int i = 0; i < c->elem.nin; i++)
			iov[i] = (struct iovec){ c->elem.iov[c->elem.nout + i].base,
						 c->elem.iov[c->elem.nout + i].len };
		ssize_t n = c->elem.nin ? read_in(c, iov, c->elem.nin) : 0;
		if (n > 0) {
			vs_vq_push(vq, c->elem.head, (uint32_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			vs_vq_unpop(vq);
			arm_in(c, true);
			break;
		}
		if (!c->elem.nin) { /* nothing writable: useless to us, give it back */
			vs_vq_push(vq, c->elem.head, 0);
			continue;
		}
		vs_vq_unpop(vq); /* end of input or an error */
		drop_peer(c);
		break;
	}
	vs_virtio_queue_done(v, VS_CONSOLE_Q_RX);
}

static void write_all(struct console *c, const uint8_t *p, uint64_t len)
{
	while (len && c->out_fd >= 0) {
		ssize_t n = write(c->out_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A peer gone (EPIPE) or a full disk: the guest's output
			 * has nowhere to go; it is dropped, not retried forever. */
			if (c->listen_fd >= 0)
				drop_peer(c);
			return;
		}
		p += n;
		len -= (uint64_t)n;
	}
}

static void tx(struct console *c, struct vs_virtio *v)
{
	struct vs_vq *vq = vs_virtio_queue(v, VS_CONSOLE_Q_TX);
	while (vs_vq_pop(vq, &c->elem) > 0) {
		for (unsigned int i = 0; i < c->elem.nout; i++)
			write_all(c, c->elem.iov[i].base, c->elem.iov[i].len);
		vs_vq_push(vq, c->elem.head, 0);
	}
	vs_virtio_queue_done(v, VS_CONSOLE_Q_TX);
}

static void console_notify(void *opaque, struct vs_virtio *v, uint16_t q)
{
	struct console *c = opaque;
	if (q == VS_CONSOLE_Q_RX)
		rx(c, v);
	else if (q == VS_CONSOLE_Q_TX)
		tx(c, v);
}

static void console_config_read(void *opaque, uint32_t off, uint8_t *data, uint32_t size)
{
	(void)opaque;
	(void)off;
	memset(data, 0, size);
}

static const struct vs_virtio_ops console_ops = {
	.name = "virtio-console",
	.device_type = CONSOLE_TYPE,
	.pci_class = CONSOLE_CLASS,
	.num_queues = 2,
	.queue_max = CONSOLE_QUEUE_SIZE,
	.config_len = CFG_LEN,
	.config_read = console_config_read,
	.queue_notify = console_notify,
};

/* ---- Loop handlers (I/O thread, no lock held) ---- */

static void on_in(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	(void)events;
	/* Disarmed first: if the device cannot take input now (no buffers,
	 * driver not ready), a readable fd must not spin the loop; the next
	 * receiveq notification re-arms it. */
	arm_in(c, false);
	vs_virtio_process(c->virtio, VS_CONSOLE_Q_RX);
}

static int watch_in(struct console *c, struct vs_error *err)
{
	struct stat st;
	int fl = fcntl(c->in_fd, F_GETFL);
	if (fstat(c->in_fd, &st) < 0 || fl < 0)
		return vs_error_set(err, errno, "virtio-console input");
	c->in_socket = S_ISSOCK(st.st_mode);
	if (!c->in_socket && fcntl(c->in_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return vs_error_set(err, errno, "virtio-console input");
	if (vs_loop_add(c->loop, c->in_fd, EPOLLIN, on_in, c, err) < 0)
		return -1;
	c->in_watched = c->in_armed = true;
	return 0;
}

static void on_accept(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	struct vs_error err = { 0 };
	(void)events;
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (c->in_fd >= 0) { /* one client at a time */
		close(fd);
		return;
	}
	c->in_fd = c->out_fd = fd;
	if (watch_in(c, &err) < 0) {
		drop_peer(c);
		return;
	}
	/* The socket stays blocking for the guest's output (as a file
	 * would); input is read with MSG_DONTWAIT. */
	vs_virtio_process(c->virtio, VS_CONSOLE_Q_RX);
}

static void console_destroy(void *opaque)
{
	struct console *c = opaque;
	if (c->in_watched)
		vs_loop_remove(c->loop, c->in_fd);
	if (c->listen_watched)
		vs_loop_remove(c->loop, c->listen_fd);
	if (c->virtio)
		vs_virtio_destroy(c->virtio);
	if (c->out_fd == c->in_fd)
		c->out_fd = -1;
	close_fd(&c->in_fd);
	close_fd(&c->out_fd);
	close_fd(&c->listen_fd);
	free(c);
}

int vs_virtio_console_create(const struct vs_virtio_config *env, const struct vs_virtio_console_config *cc,
			     struct vs_device *dev, struct vs_error *err)
{
	struct vs_virtio_config cfg = *env;
	struct console *c = calloc(1, sizeof(*c));
	if (!c) {
		if (cc->out_fd >= 0 && cc->out_fd != cc->in_fd)
			close(cc->out_fd);
		if (cc->in_fd >= 0)
			close(cc->in_fd);
		if (cc->listen_fd >= 0)
			close(cc->listen_fd);
		return vs_error_set(err, ENOMEM, "allocating virtio-console");
	}
	c->loop = env->loop;
	c->in_fd = cc->in_fd;
	c->out_fd = cc->out_fd;
	c->listen_fd = cc->listen_fd;
	cfg.ops = &console_ops;
	cfg.opaque = c;
	if (vs_virtio_create(&cfg, &c->virtio, err) < 0) {
		c->virtio = NULL;
		console_destroy(c);
		return -1;
	}
	if (c->in_fd >= 0 && watch_in(c, err) < 0)
		goto fail;
	if (c->listen_fd >= 0) {
		if (vs_loop_add(c->loop, c->listen_fd, EPOLLIN, on_accept, c, err) < 0)
			goto fail;
		c->listen_watched = true;
	}
	*dev = (struct vs_device){ .name = "virtio-console", .opaque = c, .destroy = console_destroy };
	return 0;
fail:
	console_destroy(c);
	return -1;
}
