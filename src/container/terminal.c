#include "container/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fdpass.h"

int vs_terminal_connect(const char *path, struct vs_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;
	if (strlen(path) >= sizeof(addr.sun_path))
		return vs_error_msg(err, "--console-socket `%s`: path too long", path);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_error_set(err, errno, "--console-socket: socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(fd);
		return vs_error_set(err, e, "--console-socket: connecting to `%s`", path);
	}
	return fd;
}

int vs_terminal_setup(int socket_fd, const struct vs_spec_process *p, struct vs_error *err)
{
	vs_autoclose int master = -1, slave = -1;
	char name[128];
	int unlock = 0;
	if (socket_fd < 0)
		return vs_error_msg(err, "process.terminal is set but no --console-socket was given");
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return vs_error_set(err, errno, "process.terminal: opening /dev/ptmx (is /dev/pts mounted?)");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
		return vs_error_set(err, errno, "process.terminal: unlocking the pty");
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return vs_error_set(err, errno, "process.terminal: opening `%s`", name);
	/* The pty was opened by root; the process may run as another user,
	 * who must own its terminal (runc does the same). */
	if (fchown(slave, p->user.uid, (gid_t)-1) < 0)
		return vs_error_set(err, errno, "process.terminal: giving `%s` to uid %u", name, p->user.uid);
	if (p->has_console_size) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_size.height,
				      .ws_col = (unsigned short)p->console_size.width };
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (vs_send_with_fd(socket_fd, name, strlen(name), master) < 0)
		return vs_error_set(err, errno, "--console-socket: sending the pty");
	close(socket_fd);
	if (setsid() < 0 && errno != EPERM)
		return vs_error_set(err, errno, "process.terminal: setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return vs_error_set(err, errno, "process.terminal: making `%s` the controlling terminal",
				    name);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return vs_error_set(err, errno, "process.terminal: dup2");
	return 0;
}
