/* Container lifecycle operations behind vessel-oci and `vessel ct run`.
 * Each takes the state root and an id and works under the container's
 * lock; errors name the container. */
#ifndef VESSEL_CONTAINER_CONTAINER_H
#define VESSEL_CONTAINER_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "container/spec.h"
#include "util/error.h"

struct vs_create_opts {
	const char *bundle;
	const char *pid_file;	    /* NULL for none */
	const char *console_socket; /* NULL for none */
	int preserve_fds;
	bool no_pivot;
	/* A spec already parsed by the caller (ct run builds one in memory);
	 * NULL: read bundle/config.json. */
	const struct vs_spec *spec;
	const char *config_json; /* the text to save for later commands, with spec */
	/* Foreground run: the container is killed when the caller dies, and
	 * the caller is recorded so vs_container_reap_orphans can clean up
	 * after a caller killed with SIGKILL. The caller must be
	 * single-threaded and must not exit before deleting the container. */
	bool die_with_caller;
};

int vs_container_create(const char *root, const char *id, const struct vs_create_opts *o, pid_t *pid,
			struct vs_error *err);
/* Delete (with force) every container under root whose recorded runner
 * (see die_with_caller) has exited: its init died with the runner, but its
 * state directory and cgroups stay until someone removes them. Best effort:
 * returns how many were reaped; a failure is logged as a warning (unless a
 * concurrent reaper got there first). */
int vs_container_reap_orphans(const char *root);

/* Release a created container's process (and run poststart hooks). */
int vs_container_start(const char *root, const char *id, struct vs_error *err);
int vs_container_kill(const char *root, const char *id, int sig, bool all, struct vs_error *err);
/* Remove a stopped (or, with force, any) container: processes, cgroup,
 * state; poststop hooks run. A "created" container is killed as runc does. */
int vs_container_delete(const char *root, const char *id, bool force, struct vs_error *err);
/* The OCI state JSON (malloc'd). */
int vs_container_state(const char *root, const char *id, char **json, struct vs_error *err);
int vs_container_pause(const char *root, const char *id, bool pause, struct vs_error *err);
int vs_container_pids(const char *root, const char *id, pid_t **pids, size_t *count, struct vs_error *err);
int vs_container_update(const char *root, const char *id, const struct vs_spec_resources *res,
			struct vs_error *err);

/* exec without --process: the container's own process settings with these
 * changes (runc's flags). */
struct vs_exec_overrides {
	char **args; /* NULL-terminated, required */
	char **env;  /* NULL-terminated additions/replacements, may be NULL */
	const char *cwd;
	bool has_user;
	uint32_t uid, gid;
	uint32_t *gids;
	size_t gids_count;
	uint64_t caps_add;
	bool no_new_privs;
	bool tty;
};

struct vs_exec_opts {
	const struct vs_spec_process *process;	   /* full process (--process), or NULL */
	const struct vs_exec_overrides *overrides; /* used when process is NULL */
	const char *console_socket;
	const char *pid_file;
	bool detach;
	int preserve_fds;
};
/* Run a process inside a running container. Without detach, waits and
 * returns the process's exit status (128+signal when killed); with detach
 * returns 0 once it runs. */
int vs_container_exec(const char *root, const char *id, const struct vs_exec_opts *o, struct vs_error *err);

/* Wait for a process we are the parent (or subreaper) of; returns the
 * shell-style exit status. */
int vs_wait_status(pid_t pid);

/* The same for our child `pid` while forwarding SIGINT/TERM/HUP/QUIT/USR1/
 * USR2/WINCH to it (foreground `run`). */
int vs_wait_forwarding(pid_t pid);

#endif
