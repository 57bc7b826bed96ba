/* Turning the current process into the container's spec process: the last
 * steps before exec, shared by a container's init and by `exec`. */
#ifndef VESSEL_CONTAINER_PROCESS_H
#define VESSEL_CONTAINER_PROCESS_H

#include <stdbool.h>

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
	/* Foreground containers die with the runtime that runs them: the
	 * parent-death signal is re-armed after the credential change (which
	 * clears it) and the parent checked once more through its pidfd (-1:
	 * not available). */
	bool die_with_parent;
	int parent_pidfd;
};

/* rlimits, umask, user and groups, cwd, no_new_privileges, capabilities,
 * seccomp, then execvp(args[0]) with the spec environment. Returns only on
 * failure (-1 with the reason). */
int vs_process_exec(const struct vs_process_exec_opts *o, struct vs_error *err);

/* Arm PR_SET_PDEATHSIG(SIGKILL) and check that the parent is still there
 * (it may have died just before): -1 when it is gone. PDEATHSIG follows the
 * parent *thread* that created us (the runtime is single-threaded) and is
 * cleared when our uid/gid change or we exec a setuid binary, hence a
 * second call after switching to the process user. getppid() cannot serve
 * as the check: in a new pid namespace it is 0 whether the parent lives or
 * not; the pidfd the runtime opened on itself before clone() can. */
int vs_process_die_with_parent(int parent_pidfd, struct vs_error *err);

/* Reset signal dispositions and the mask a runtime may have changed, so
 * the container process starts as if from a fresh exec. */
void vs_process_reset_signals(void);

#endif
