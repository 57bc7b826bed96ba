/* Starting a container's init process and what it does before exec.
 *
 * The runtime side (vs_init_spawn, in the calling process) and the init
 * side (in the new process) talk over a socketpair with one-byte messages:
 *
 *   runtime                          init
 *   clone(NEWUSER?|NEWPID?) ------>  waits for MAPPED
 *   uid/gid maps, cgroup, oom
 *   MAPPED  ---------------------->  setns(paths), unshare(rest), hostname,
 *                                    rootfs prepare
 *                          <-------  HOOKS (ready for createRuntime hooks)
 *   prestart + createRuntime hooks
 *   HOOKS_DONE  ------------------>  createContainer hooks, pivot, finalize,
 *                                    sysctl, console
 *                          <-------  READY (or ERROR + message)
 *   (create returns; `start` opens exec.fifo)
 *                                    startContainer hooks, user, caps,
 *                                    seccomp, exec(args)
 *
 * On any failure init sends ERROR followed by its message and exits; the
 * runtime reports the message and tears everything down. */
#ifndef VESSEL_CONTAINER_INIT_H
#define VESSEL_CONTAINER_INIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "container/spec.h"
#include "util/error.h"

struct vs_cgroup;

struct vs_init_config {
	const struct vs_spec *spec;
	const char *id;
	const char *bundle;
	const char *state_dir;	  /* holds exec.fifo; NULL for a process that starts at once */
	int console_socket_fd;	  /* connected --console-socket, or -1 */
	int seccomp_listener_fd;  /* connected linux.seccomp.listenerPath, or -1 */
	int preserve_fds;	  /* extra fds after 0-2 kept open (LISTEN_FDS style) */
	struct vs_cgroup *cgroup; /* entered before init runs anything; may be NULL */
	bool no_pivot;
	/* Foreground run (`vessel ct run`): init gets SIGKILL when the calling
	 * thread dies, so a runtime killed with SIGKILL does not leave the
	 * container running. The caller must stay single-threaded (PDEATHSIG
	 * follows the parent thread). */
	bool die_with_parent;
	/* Called in the runtime process for the prestart/createRuntime hooks,
	 * with init's host pid. */
	int (*run_runtime_hooks)(void *opaque, pid_t pid, struct vs_error *err);
	void *hooks_opaque;
};

/* Spawn init and drive it to READY. On success *pid is init's pid (in the
 * caller's pid namespace); init is left blocked on exec.fifo (or, when
 * state_dir is NULL, already exec'ing the process). On failure nothing is
 * left running. */
int vs_init_spawn(const struct vs_init_config *cfg, pid_t *pid, struct vs_error *err);

#endif
