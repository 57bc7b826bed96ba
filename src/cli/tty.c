/* A pty in the foreground (vessel ct run -t, vessel-oci run with
 * process.terminal): what runc does when it has no --console-socket. */
#include "cli/tty.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int vs_cli_tty_listen(struct vs_cli_tty *c, bool need_tty, char *why, size_t why_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	*c = (struct vs_cli_tty){ .listen_fd = -1, .master = -1, .pump = -1 };
	/* runc fails the same way (it puts stdin in raw mode); podman -t
	 * without -i does not need one. */
	if (need_tty && !isatty(STDIN_FILENO)) {
		snprintf(why, why_len,
			 "process.terminal is set but stdin is not a terminal: run it from a terminal, "
			 "pass --console-socket, or set \"terminal\": false in config.json");
		return -1;
	}
	snprintf(c->dir, sizeof(c->dir), "/tmp/vessel-console-XXXXXX");
	if (!mkdtemp(c->dir)) {
		snprintf(why, why_len, "console: mkdtemp: %s", strerror(errno));
		c->dir[0] = '\0';
		return -1;
	}
	snprintf(c->path, sizeof(c->path), "%s/sock", c->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->listen_fd, 1) < 0) {
		snprintf(why, why_len, "console socket %s: %s", c->path, strerror(errno));
		vs_cli_tty_close(c);
		return -1;
	}
	return 0;
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

int vs_cli_tty_accept(struct vs_cli_tty *c, char *why, size_t why_len)
{
	char byte[256];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { byte, sizeof(byte) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)
	};
	struct pollfd pf = { c->listen_fd, POLLIN, 0 };
	int conn;
	/* The runtime connected during create; the connection waits in the
	 * backlog. Do not block forever if it never came. */
	if (poll(&pf, 1, 0) != 1) {
		snprintf(why, why_len, "console: the container did not send its pty");
		return -1;
	}
	conn = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0) {
		snprintf(why, why_len, "console: accept: %s", strerror(errno));
		return -1;
	}
	if (recvmsg(conn, &mh, MSG_CMSG_CLOEXEC) > 0)
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && c->master < 0)
				memcpy(&c->master, CMSG_DATA(h), sizeof(int));
	close(conn);
	if (c->master < 0) {
		snprintf(why, why_len, "console: no pty received from the container");
		return -1;
	}
	copy_winsize(c->master);
	if (tcgetattr(STDIN_FILENO, &c->saved) == 0) {
		struct termios raw = c->saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			c->raw = true;
	}
	return 0;
}

static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The pump process: terminal <-> pty master until the pty's last user is
 * gone (read gives EIO), resizing the pty on SIGWINCH. */
static void __attribute__((noreturn)) pump(int master)
{
	struct sigaction sa = { .sa_handler = on_winch };
	struct pollfd pf[2] = { { STDIN_FILENO, POLLIN, 0 }, { master, POLLIN, 0 } };
	char buf[4096];
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGINT, SIG_IGN); /* raw mode sends ^C to the container as a byte */
	signal(SIGQUIT, SIG_IGN);
	for (;;) {
		if (winch) {
			winch = 0;
			copy_winsize(master);
		}
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pf[1].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				_exit(0);
		}
		if (pf[0].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				pf[0].fd = -1; /* stdin closed: keep printing output */
			else if (write_all(master, buf, (size_t)n) < 0)
				_exit(0);
		}
	}
}

int vs_cli_tty_start_pump(struct vs_cli_tty *c, char *why, size_t why_len)
{
	c->pump = fork();
	if (c->pump < 0) {
		snprintf(why, why_len, "console: fork: %s", strerror(errno));
		return -1;
	}
	if (c->pump == 0)
		pump(c->master);
	/* The pump holds the master; ours would keep the pty open. */
	close(c->master);
	c->master = -1;
	return 0;
}

void vs_cli_tty_close(struct vs_cli_tty *c)
{
	if (c->pump > 0) {
		/* It leaves at EIO once the container's side is closed; after
		 * the container is gone that is immediate. */
		while (waitpid(c->pump, NULL, 0) < 0 && errno == EINTR)
			;
		c->pump = -1;
	}
	if (c->raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
		c->raw = false;
	}
	if (c->master >= 0)
		close(c->master);
	c->master = -1;
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	c->listen_fd = -1;
	if (c->path[0])
		unlink(c->path);
	if (c->dir[0])
		rmdir(c->dir);
	c->path[0] = c->dir[0] = '\0';
}
