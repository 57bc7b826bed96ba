/* `vessel img serve`: export an image over NBD on a unix socket or a TCP
 * port until SIGTERM/SIGINT/SIGHUP, then flush the image, drop the clients
 * and remove the socket file. Options follow qemu-nbd where they mean the
 * same (-f, -r, -x, -k, -p, -b, -e, -D); like `qemu-nbd --persistent`, the
 * server keeps running when clients leave. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "block/nbd_server.h"
#include "cli/cli.h"
#include "cli/img.h"
#include "cli/img_opts.h"

static const char serve_usage[] =
    "usage: vessel img serve [-f fmt] [-r|--read-only] [-x|--export-name NAME] [-D DESCRIPTION]\n"
    "                        [-e|--shared N] (-k|--socket PATH | -p|--port N [-b|--bind ADDR]) FILE\n"
    "\n"
    "Export FILE over NBD (newstyle, structured replies, base:allocation) until\n"
    "SIGTERM or SIGINT; then the image is flushed and the socket file removed.\n"
    "Clients connect with nbd+unix:///NAME?socket=PATH or nbd://ADDR:PORT/NAME.\n"
    "  -p, --port N      TCP port (0: any free one, printed); --bind defaults to 127.0.0.1\n"
    "  -e, --shared N    at most N clients at once (default 16)\n"
    "NBD has no authentication: bind only addresses that trusted clients reach.\n";

/* A decimal number from 0 to max; -1 otherwise. */
static int parse_number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

struct serve_opts {
	const char *fmt, *socket_path, *bind_addr, *file;
	struct vs_nbd_export exp;
	long port; /* -1: no TCP */
	unsigned shared;
};

static int parse_serve_args(int argc, char **argv, struct serve_opts *o)
{
	static const struct option lopts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "export-name", required_argument, NULL, 'x' },
		{ "socket", required_argument, NULL, 'k' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "shared", required_argument, NULL, 'e' },
		{ "description", required_argument, NULL, 'D' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vs_img_opts opts = { .cmd = "serve", .usage = serve_usage, .help_hint = true };
	unsigned long n;
	int opt;
	while ((opt = vs_img_getopt(&opts, argc, argv, ":f:rx:k:p:b:e:D:h", lopts)) > 0) {
		switch (opt) {
		case 'r':
			o->exp.read_only = true;
			break;
		case 'x':
			o->exp.name = optarg;
			break;
		case 'D':
			o->exp.description = optarg;
			break;
		case 'k':
			o->socket_path = optarg;
			break;
		case 'b':
			o->bind_addr = optarg;
			break;
		case 'p':
			if (parse_number(optarg, 65535, &n) < 0) {
				vs_img_opt_error(&opts, "--port `%s` is not a port number (0-65535)", optarg);
				return -1;
			}
			o->port = (long)n;
			break;
		case 'e':
			if (parse_number(optarg, 1024, &n) < 0 || n == 0) {
				vs_img_opt_error(
				    &opts, "--shared `%s`: give a number of clients from 1 to 1024", optarg);
				return -1;
			}
			o->shared = (unsigned)n;
			break;
		}
	}
	/* -h: 1, the caller's cue to succeed at once */
	if (opt == VS_IMG_OPT_EXIT)
		return opts.status == VS_IMG_OK ? 1 : -1;
	if (vs_img_opts_finish(&opts, argc, 1, "one image file (see `vessel img serve --help`)") < 0)
		return -1;
	o->fmt = opts.fmt;
	o->file = argv[optind];
	if ((o->socket_path != NULL) == (o->port >= 0)) {
		vs_cli_error("serve: give either --socket PATH or --port N");
		return -1;
	}
	if (o->bind_addr && o->port < 0) {
		vs_cli_error("serve: --bind goes with --port");
		return -1;
	}
	if (!o->bind_addr)
		o->bind_addr = "127.0.0.1";
	if (strlen(o->exp.name) > 4096) {
		vs_cli_error("serve: the export name is longer than 4096 bytes");
		return -1;
	}
	return 0;
}

/* SIGTERM/SIGINT/SIGHUP end the loop; they are blocked and read from a
 * signalfd so a signal never interrupts a command half-way. */
struct signal_watch {
	struct vs_loop *loop;
	int fd;
};

static void signal_event(void *opaque, uint32_t events)
{
	struct signal_watch *w = opaque;
	struct signalfd_siginfo si;
	(void)events;
	/* Taken from the pending set, so unblocking it later delivers nothing. */
	if (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		vs_loop_stop(w->loop);
}

static int run_server(struct serve_opts *o, int listen_fd, int sfd)
{
	struct vs_error err = { 0 };
	struct vs_loop *loop = NULL;
	struct vs_nbd_server *srv = NULL;
	struct signal_watch sw = { NULL, sfd };
	int status = VS_IMG_ERROR;
	if (vs_loop_create(&loop, &err) < 0)
		goto fail;
	sw.loop = loop;
	if (vs_loop_add(loop, sfd, EPOLLIN, signal_event, &sw, &err) < 0 ||
	    vs_nbd_server_new(loop, listen_fd, &o->exp, o->shared, &srv, &err) < 0)
		goto fail;
	int r = vs_loop_run(loop);
	if (r < 0)
		vs_cli_error("serve: waiting for events: %s", strerror(-r));
	else
		status = VS_IMG_OK;
	goto out;
fail:
	vs_cli_error("serve: %s", err.msg);
out:
	vs_nbd_server_free(srv);
	vs_loop_destroy(loop);
	return status;
}

static int open_listener(struct serve_opts *o, int *fd)
{
	struct vs_error err = { 0 };
	uint16_t port = 0;
	int r = o->socket_path ? vs_nbd_listen_unix(o->socket_path, fd, &err)
			       : vs_nbd_listen_tcp(o->bind_addr, (uint16_t)o->port, fd, &port, &err);
	if (r < 0) {
		vs_cli_error("serve: %s", err.msg);
		return -1;
	}
	/* The address clients use, on stdout for whoever started us. */
	if (o->socket_path)
		printf("serving `%s` at nbd+unix:///%s?socket=%s\n", o->file, o->exp.name, o->socket_path);
	else
		printf("serving `%s` at nbd://%s:%u/%s\n", o->file, o->bind_addr, port, o->exp.name);
	fflush(stdout);
	return 0;
}

int vs_img_serve(int argc, char **argv)
{
	struct serve_opts o = { .port = -1, .shared = 16 };
	o.exp.name = "";
	int r = parse_serve_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? VS_IMG_OK : VS_IMG_ERROR;
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK), listen_fd = -1, status = VS_IMG_ERROR;
	struct vs_block *bs = NULL;
	if (sfd < 0) {
		vs_cli_error("serve: signalfd: %s", strerror(errno));
		goto out;
	}
	bs = vs_img_open(o.file, o.fmt, o.exp.read_only ? 0 : VS_BLOCK_RDWR);
	if (!bs || open_listener(&o, &listen_fd) < 0)
		goto out;
	o.exp.bs = bs;
	status = run_server(&o, listen_fd, sfd);
	r = vs_block_flush(bs);
	if (r < 0) {
		vs_img_io_error(bs, "serve: flushing", r);
		status = VS_IMG_ERROR;
	}
out:
	if (listen_fd >= 0) {
		close(listen_fd);
		if (o.socket_path)
			unlink(o.socket_path);
	}
	vs_block_close(bs);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}
