/* The VM's console on the host side: where COM1's output goes and where
 * keystrokes for the guest come from.
 *   stdio      terminal in raw mode (restored by vs_console_close), input
 *              forwarded; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A
 *   file:PATH  output appended to PATH, no input
 *   none       output discarded
 */
#ifndef VESSEL_MACHINE_CONSOLE_H
#define VESSEL_MACHINE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "hw/chardev.h"
#include "hw/irq.h"
#include "util/error.h"

enum vs_console_kind { VS_CONSOLE_STDIO, VS_CONSOLE_FILE, VS_CONSOLE_NONE };

struct vs_console {
	enum vs_console_kind kind;
	int in_fd;  /* -1 when the console has no input (or after EOF) */
	int out_fd; /* -1 for none */
	bool owns_out;
	bool raw_active;
	struct termios saved;
	bool escape_pending; /* last input byte was Ctrl-A */
};

/* Check a --console spec without opening anything. */
int vs_console_parse(const char *spec, enum vs_console_kind *kind, const char **path, struct vs_error *err);

int vs_console_open(struct vs_console *con, const char *spec, struct vs_error *err);
/* Restore the terminal and close what was opened. Safe to call twice. */
void vs_console_close(struct vs_console *con);

/* Sink for device output: opaque is the struct vs_console. */
struct vs_char_out vs_console_sink(struct vs_console *con);

/* Filter raw host input: escape sequences are consumed; bytes for the
 * guest are written to `out` (at most n). Sets *quit on Ctrl-A x. */
size_t vs_console_filter(struct vs_console *con, const uint8_t *in, size_t n, uint8_t *out, bool *quit);

#endif
