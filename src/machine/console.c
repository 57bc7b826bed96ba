#include "machine/console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"

#define CTRL_A 0x01

int vs_console_parse(const char *spec, enum vs_console_kind *kind, const char **path, struct vs_error *err)
{
	*path = NULL;
	if (strcmp(spec, "stdio") == 0) {
		*kind = VS_CONSOLE_STDIO;
	} else if (strcmp(spec, "none") == 0) {
		*kind = VS_CONSOLE_NONE;
	} else if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
		*kind = VS_CONSOLE_FILE;
		*path = spec + 5;
	} else {
		return vs_error_msg(err, "unknown console `%s`: use stdio, none or file:PATH", spec);
	}
	return 0;
}

int vs_console_open(struct vs_console *con, const char *spec, struct vs_error *err)
{
	const char *path;
	memset(con, 0, sizeof(*con));
	con->in_fd = con->out_fd = -1;
	if (vs_console_parse(spec, &con->kind, &path, err) < 0)
		return -1;
	switch (con->kind) {
	case VS_CONSOLE_NONE:
		return 0;
	case VS_CONSOLE_FILE:
		con->out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (con->out_fd < 0)
			return vs_error_set(err, errno, "cannot open console file `%s`", path);
		con->owns_out = true;
		return 0;
	case VS_CONSOLE_STDIO:
		con->in_fd = STDIN_FILENO;
		con->out_fd = STDOUT_FILENO;
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &con->saved) == 0) {
			struct termios raw = con->saved;
			/* Raw input so every keystroke (Ctrl-C too) reaches the
			 * guest; keep output post-processing so the guest's
			 * "\n" still returns the carriage. */
			raw.c_iflag &=
			    ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
			raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
			raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
			raw.c_cflag |= CS8;
			raw.c_cc[VMIN] = 1;
			raw.c_cc[VTIME] = 0;
			if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
				con->raw_active = true;
		}
		return 0;
	}
	return 0;
}

void vs_console_close(struct vs_console *con)
{
	if (con->raw_active) {
		tcsetattr(STDIN_FILENO, TCSANOW, &con->saved);
		con->raw_active = false;
	}
	if (con->owns_out && con->out_fd >= 0)
		close(con->out_fd);
	con->out_fd = -1;
	con->in_fd = -1;
	con->owns_out = false;
}

static void console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct vs_console *con = opaque;
	if (con->out_fd >= 0 && vs_write_all(con->out_fd, buf, len) < 0) {
		/* A closed pipe or full disk must not stop the guest; drop
		 * output from here on. */
		con->out_fd = -1;
	}
}

struct vs_char_out vs_console_sink(struct vs_console *con)
{
	return (struct vs_char_out){ console_write, con };
}

size_t vs_console_filter(struct vs_console *con, const uint8_t *in, size_t n, uint8_t *out, bool *quit)
{
	size_t o = 0;
	*quit = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (con->escape_pending) {
			con->escape_pending = false;
			if (c == 'x' || c == 'X') {
				*quit = true;
				return o;
			}
			if (c == CTRL_A)
				out[o++] = CTRL_A;
			/* any other key after Ctrl-A is swallowed */
			continue;
		}
		if (c == CTRL_A) {
			con->escape_pending = true;
			continue;
		}
		out[o++] = c;
	}
	return o;
}
