/* A container's state on the host: <root>/<id>/state.json plus exec.fifo
 * while it waits for `start`. Commands on one container serialise on an
 * flock of its directory. Removed directories are kept, emptied, as
 * <root>/~spareN (N < 4; not valid ids, so never listed) for the next
 * create to rename into place: see vs_state_remove. */
#ifndef VESSEL_CONTAINER_STATE_H
#define VESSEL_CONTAINER_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/spec.h"
#include "util/error.h"

#define VS_OCI_DEFAULT_ROOT "/run/vessel"
#define VS_OCI_VERSION "1.1.0"
#define VS_CONFIG_MAX (16u << 20) /* largest config.json accepted */

struct vs_state {
	char *id;
	char *oci_version;
	char *bundle;
	char *rootfs;
	char *created;	    /* RFC 3339, UTC */
	char *phase;	    /* "creating" while create runs, then "created" */
	char *cgroup;	    /* vs_cgroup_serialize() form, NULL when none */
	pid_t pid;	    /* container init, 0 before it exists */
	uint64_t pid_start; /* /proc/<pid>/stat start time: guards against pid reuse */
	uid_t owner;
	/* A foreground container's runner (`vessel ct run`) and its start
	 * time; 0 for a detached one. The container dies with its runner; a
	 * runner that is gone marks the state as a leftover to reap. */
	pid_t runner;
	uint64_t runner_start;
	struct vs_strv annotation_keys, annotation_values;
};

/* IDs are used as directory names: [A-Za-z0-9_+.-], not "." or "..",
 * at most 1024 bytes. */
int vs_state_check_id(const char *id, struct vs_error *err);

/* Paths: <root>/<id> and a file inside it. Return malloc'd strings. */
char *vs_state_dir(const char *root, const char *id);

/* Make <root>/<id> (fails if it exists: the id is taken) and lock it. */
int vs_state_create_dir(const char *root, const char *id, int *lock_fd, struct vs_error *err);
/* Lock an existing container's directory; fails clearly when there is no
 * such container. */
int vs_state_lock(const char *root, const char *id, int *lock_fd, struct vs_error *err);

int vs_state_save(const char *dir, const struct vs_state *st, struct vs_error *err);
int vs_state_load(const char *root, const char *id, struct vs_state *st, struct vs_error *err);
void vs_state_free(struct vs_state *st);

/* Parse the config.json that create saved in the state directory (later
 * commands use it, not the bundle's, which may have changed). */
int vs_state_load_config(const char *root, const struct vs_state *st, struct vs_spec *spec,
			 struct vs_error *err);

/* Write `pid` to `path` atomically (write then rename), for --pid-file. */
int vs_write_pid_file(const char *path, pid_t pid, struct vs_error *err);

/* Remove everything in <root>/<id>, then the directory itself, or rename
 * it to a free spare name (no block freed: no discard wait on ext4). */
int vs_state_remove(const char *root, const char *id, struct vs_error *err);

/* "creating", "created", "running", "paused" or "stopped", from the saved
 * phase, whether init is alive, whether exec.fifo still exists and whether
 * the cgroup is frozen (`paused` is passed in by the caller). */
const char *vs_state_status(const char *root, const struct vs_state *st, bool paused);
bool vs_state_init_alive(const struct vs_state *st);

/* Start time of a process (field 22 of /proc/<pid>/stat), 0 if gone. */
uint64_t vs_proc_start_time(pid_t pid);

/* The OCI state JSON handed to hooks and printed by `state`. */
char *vs_state_json(const char *oci_version, const char *id, const char *status, pid_t pid,
		    const char *bundle, const struct vs_strv *annotation_keys,
		    const struct vs_strv *annotation_values);

/* List the container ids under root (sorted). */
int vs_state_list(const char *root, char ***ids, size_t *count, struct vs_error *err);

#endif
