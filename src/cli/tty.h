/* A pty for a foreground container: a console socket the runtime sends
 * the pty master to, the caller's terminal in raw mode (restored at the
 * end), the window size passed on, and a pump process copying between
 * them. Used by `vessel ct run -t` and by `vessel-oci run` when the spec
 * asks for a terminal and no --console-socket is given (as runc does).
 *
 *   vs_cli_tty_listen     before create: pass c.path as console_socket
 *   vs_cli_tty_accept     after create: receive the pty, terminal raw
 *   vs_cli_tty_start_pump after start
 *   vs_cli_tty_close      after the container exited: restore, remove
 * Errors come back as text in `why` (CLI code prints them). */
#ifndef VESSEL_CLI_TTY_H
#define VESSEL_CLI_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <termios.h>

struct vs_cli_tty {
	int listen_fd, master;
	pid_t pump;
	bool raw;
	struct termios saved;
	char dir[64];
	char path[96];
};

/* need_tty: refuse when stdin is not a terminal (runc's rule); without
 * it a non-terminal stdin is copied as it is, without raw mode. */
int vs_cli_tty_listen(struct vs_cli_tty *c, bool need_tty, char *why, size_t why_len);
int vs_cli_tty_accept(struct vs_cli_tty *c, char *why, size_t why_len);
int vs_cli_tty_start_pump(struct vs_cli_tty *c, char *why, size_t why_len);
void vs_cli_tty_close(struct vs_cli_tty *c);

#endif
