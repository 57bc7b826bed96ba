/* The NBD server's sockets: a listening socket (unix or TCP) and one
 * non-blocking connection per client on a vs_loop. Each connection reads
 * into a small buffer that its state machine consumes; when the reply
 * backlog is full the connection stops reading until the client takes
 * its replies (so a client that never reads cannot grow memory). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "block/nbd_server.h"
#include "util/log.h"

#define READ_CHUNK (64u << 10)

struct client {
	struct vs_nbd_server *srv;
	struct vs_nbd_conn *conn;
	int fd;
	uint8_t in[READ_CHUNK];
	size_t in_start, in_end; /* received but not yet consumed */
	struct client *next;
};

struct vs_nbd_server {
	struct vs_loop *loop;
	int listen_fd;
	const struct vs_nbd_export *exp;
	unsigned max_clients, nclients;
	struct client *clients;
};

int vs_nbd_listen_unix(const char *path, int *fd, struct vs_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	if (strlen(path) >= sizeof(sa.sun_path))
		return vs_error_msg(err, "socket path `%s` is longer than %zu bytes: use a shorter one", path,
				    sizeof(sa.sun_path) - 1);
	if (lstat(path, &st) == 0)
		return vs_error_msg_code(
		    err, EEXIST, "socket path `%s` exists: remove it if no server uses it, or pick another",
		    path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return vs_error_set(err, errno, "creating a unix socket");
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(s);
		return vs_error_set(err, e, "binding the unix socket `%s`", path);
	}
	if (listen(s, 16) < 0) {
		int e = errno;
		close(s);
		unlink(path);
		return vs_error_set(err, e, "listening on `%s`", path);
	}
	*fd = s;
	return 0;
}

int vs_nbd_listen_tcp(const char *addr, uint16_t port, int *fd, uint16_t *bound_port, struct vs_error *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t len = sizeof(sa);
	int one = 1;
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return vs_error_msg(err, "bind address `%s` is not an IPv4 address such as 127.0.0.1", addr);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return vs_error_set(err, errno, "creating a TCP socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(s);
		if (e == EADDRINUSE)
			return vs_error_msg_code(err, e, "port %u on %s is in use: pick another with --port",
						 port, addr);
		return vs_error_set(err, e, "binding %s:%u", addr, port);
	}
	if (listen(s, 16) < 0 || getsockname(s, (struct sockaddr *)&sa, &len) < 0) {
		int e = errno;
		close(s);
		return vs_error_set(err, e, "listening on %s:%u", addr, port);
	}
	*fd = s;
	*bound_port = ntohs(sa.sin_port);
	return 0;
}

/* Close and free a client already taken off the server's list. */
static void client_destroy(struct client *cl)
{
	struct vs_nbd_server *srv = cl->srv;
	srv->nclients--;
	vs_loop_remove(srv->loop, cl->fd);
	close(cl->fd);
	const char *why = vs_nbd_conn_why(cl->conn);
	if (why[0])
		vs_warn("nbd client on fd %d dropped: %s", cl->fd, why);
	vs_nbd_conn_free(cl->conn);
	/* A client gone is a good moment to make its writes durable. */
	if (!srv->exp->read_only)
		vs_block_flush(srv->exp->bs);
	free(cl);
}

static void client_free(struct client *cl)
{
	for (struct client **p = &cl->srv->clients; *p; p = &(*p)->next)
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	client_destroy(cl);
}

/* Send queued replies; false when the socket failed. */
static bool client_send(struct client *cl)
{
	for (;;) {
		size_t len;
		const void *p = vs_nbd_conn_output(cl->conn, &len);
		if (!len)
			return true;
		ssize_t n = send(cl->fd, p, len, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		vs_nbd_conn_sent(cl->conn, (size_t)n);
	}
}

/* Feed what was received to the state machine. */
static void client_consume(struct client *cl)
{
	while (cl->in_start < cl->in_end && vs_nbd_conn_wants_input(cl->conn)) {
		cl->in_start += vs_nbd_conn_input(cl->conn, cl->in + cl->in_start, cl->in_end - cl->in_start);
		/* Send as we go so a long pipeline does not pile up replies. */
		if (!client_send(cl))
			return;
	}
	if (cl->in_start == cl->in_end)
		cl->in_start = cl->in_end = 0;
}

/* Read more when everything received was consumed; false at EOF/error. */
static bool client_receive(struct client *cl)
{
	if (cl->in_end != cl->in_start || !vs_nbd_conn_wants_input(cl->conn))
		return true;
	ssize_t n = recv(cl->fd, cl->in, sizeof(cl->in), 0);
	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	cl->in_start = 0;
	cl->in_end = (size_t)n;
	return true;
}

static void client_event(void *opaque, uint32_t events)
{
	struct client *cl = opaque;
	size_t pending;
	if ((events & EPOLLIN) && !client_receive(cl)) {
		client_free(cl);
		return;
	}
	client_consume(cl);
	if (!client_send(cl) || (events & EPOLLERR)) {
		client_free(cl);
		return;
	}
	vs_nbd_conn_output(cl->conn, &pending);
	if (vs_nbd_conn_closing(cl->conn) && !pending) {
		client_free(cl);
		return;
	}
	/* Read only while the state machine takes input; write while replies
	 * wait. Input left over (backlog full) is fed once replies drain.
	 * A hang-up shows as EOF from recv() or a failed send(). */
	uint32_t want = pending ? EPOLLOUT : 0;
	if (!pending || (vs_nbd_conn_wants_input(cl->conn) && cl->in_start == cl->in_end))
		want |= EPOLLIN;
	vs_loop_set_events(cl->srv->loop, cl->fd, want);
}

static void accept_event(void *opaque, uint32_t events)
{
	struct vs_nbd_server *srv = opaque;
	struct vs_error err = { 0 };
	(void)events;
	int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (srv->nclients >= srv->max_clients) {
		vs_warn("nbd: refusing a client: %u already connected (raise --shared)", srv->nclients);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails harmlessly on unix sockets */
	struct client *cl = calloc(1, sizeof(*cl));
	if (cl)
		cl->conn = vs_nbd_conn_new(srv->exp);
	if (!cl || !cl->conn || vs_loop_add(srv->loop, fd, EPOLLOUT | EPOLLIN, client_event, cl, &err) < 0) {
		vs_warn("nbd: refusing a client: %s", err.msg[0] ? err.msg : "out of memory");
		if (cl)
			vs_nbd_conn_free(cl->conn);
		free(cl);
		close(fd);
		return;
	}
	cl->srv = srv;
	cl->fd = fd;
	cl->next = srv->clients;
	srv->clients = cl;
	srv->nclients++;
}

int vs_nbd_server_new(struct vs_loop *loop, int listen_fd, const struct vs_nbd_export *exp,
		      unsigned max_clients, struct vs_nbd_server **out, struct vs_error *err)
{
	struct vs_nbd_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return vs_error_set(err, ENOMEM, "allocating the NBD server");
	*srv = (struct vs_nbd_server){ loop, listen_fd, exp, max_clients ? max_clients : 1, 0, NULL };
	if (vs_loop_add(loop, listen_fd, EPOLLIN, accept_event, srv, err) < 0) {
		free(srv);
		return -1;
	}
	*out = srv;
	return 0;
}

void vs_nbd_server_free(struct vs_nbd_server *srv)
{
	if (!srv)
		return;
	vs_loop_remove(srv->loop, srv->listen_fd);
	struct client *cl = srv->clients;
	srv->clients = NULL;
	while (cl) {
		struct client *next = cl->next;
		client_destroy(cl);
		cl = next;
	}
	free(srv);
}
