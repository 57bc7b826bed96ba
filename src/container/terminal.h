/* process.terminal: a pseudo-terminal allocated inside the container, its
 * master end handed to whoever listens on --console-socket (podman's
 * conmon), its slave end the process's controlling terminal and stdio. */
#ifndef VESSEL_CONTAINER_TERMINAL_H
#define VESSEL_CONTAINER_TERMINAL_H

#include "container/spec.h"
#include "util/error.h"

/* Connect to the console socket at `path` (done by the runtime before the
 * container's mount namespace hides it). Returns the fd. */
int vs_terminal_connect(const char *path, struct vs_error *err);

/* In the container process after pivot: allocate the pty, send the master
 * over `socket_fd`, make the slave the controlling terminal and fds 0-2. */
int vs_terminal_setup(int socket_fd, const struct vs_spec_process *p, struct vs_error *err);

#endif
