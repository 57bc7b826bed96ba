/* Turning the current process into the container's spec process: the last
 * steps before exec, shared by a container's init and by `exec`. */
#ifndef VESSEL_CONTAINER_PROCESS_H
#define VESSEL_CONTAINER_PROCESS_H

#include "container/spec.h"
#include "util/error.h"

struct vs_process_exec_opts {
	const struct vs_spec_process *process;
	const struct vs_spec_seccomp *seccomp; /* NULL for none */
	const char *personality_domain;	       /* NULL, "LINUX" or "LINUX32" */
	/* Sends the seccomp notify fd to linux.seccomp.listenerPath; NULL when
	 * there is no listener. */
	int (*send_listener)(void *opaque, int fd, struct vs_error *err);
	void *listener_opaque;
};

/* rlimits, umask, user and groups, cwd, no_new_privileges, capabilities,
 * seccomp, then execvp(args[0]) with the spec environment. Returns only on
 * failure (-1 with the reason). */
int vs_process_exec(const struct vs_process_exec_opts *o, struct vs_error *err);

/* Reset signal dispositions and the mask a runtime may have changed, so
 * the container process starts as if from a fresh exec. */
void vs_process_reset_signals(void);

#endif
