/* Control groups of a container: cgroup v1, v2 and the hybrid layout
 * (v1 controllers plus a controller-less v2 tree at /sys/fs/cgroup/unified).
 *
 * The layout is detected from /proc/self/mountinfo at call time; a
 * struct vs_cgroup then records, per hierarchy, the host directory of the
 * container's cgroup, so later CLI invocations can reopen it from the text
 * that vs_cgroup_serialize() produced (state.json stores it).
 *
 * Paths: linux.cgroupsPath "/a/b" is relative to the root of every
 * hierarchy; "a/b" is relative to the cgroup of the calling process in each
 * hierarchy (as runc does); NULL or "" means "/vessel/<id>". The systemd
 * form "slice:prefix:name" is refused: vessel manages cgroupfs directly and
 * does not ask systemd for a scope.
 */
#ifndef VESSEL_CONTAINER_CGROUP_H
#define VESSEL_CONTAINER_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "container/spec.h"
#include "util/error.h"

struct vs_cgroup;

/* One hierarchy the container's cgroup lives in, for mounting cgroupfs
 * inside the container. */
struct vs_cgroup_hierarchy {
	const char *name; /* v1 mount options: "memory", "cpu,cpuacct", "name=systemd"; "" for v2 */
	const char *dir;  /* host path of this container's cgroup in it */
};

/* "v1", "v2", "hybrid" or "none", detected from the mounts at
 * /sys/fs/cgroup when called. */
const char *vs_cgroup_layout_name(void);

/* Whether this host can apply limits of `controller` ("net_cls", "rdma",
 * ...): a mounted v1 hierarchy of it, or the v2 tree offering it. */
bool vs_cgroup_host_has(const char *controller);

/* Create the container's cgroup in every hierarchy it uses (cpuset.cpus and
 * cpuset.mems are copied from the parent where empty; on v2 the controllers
 * are enabled in the ancestors' cgroup.subtree_control; on hybrid hosts the
 * directory is also created in the unified tree). Existing directories are
 * reused. On failure every directory this call created is removed. */
int vs_cgroup_create(const char *cgroups_path, const char *container_id, struct vs_cgroup **out,
		     struct vs_error *err);

/* The cgroups the calling process is in now, one per hierarchy, for
 * moving back into them (vs_cgroup_enter) before removing a cgroup the
 * process had entered. Only free it: destroying it would remove the
 * caller's own cgroups. */
int vs_cgroup_open_own(struct vs_cgroup **out, struct vs_error *err);

/* Write the resource limits. Idempotent: also serves `update` on a running
 * container. Notes:
 *  - memory.kernel is ignored (deprecated by the kernel); on v2 swappiness
 *    and disableOOMKiller have no equivalent and are ignored;
 *  - pids.limit 0 leaves the limit unchanged, a negative one means "max";
 *  - cpu.realtime* is refused on v2 (no such controller);
 *  - device rules are written to devices.allow/deny on v1 and compiled to a
 *    BPF_PROG_TYPE_CGROUP_DEVICE program on v2 (last matching rule wins,
 *    unmatched accesses are allowed, as in a fresh v1 cgroup);
 *  - unified keys are written on v2 and, on hybrid hosts, into the unified
 *    directory; they are refused on pure v1. */
int vs_cgroup_apply(struct vs_cgroup *cg, const struct vs_spec_resources *res, struct vs_error *err);

/* Resources of linux.resources plus the device allowlist a container needs:
 * when linux.resources.devices has rules, an allow rule for each
 * linux.devices entry and for the default devices of the runtime spec
 * (null, zero, full, random, urandom, tty, console, ptmx, pts) is appended
 * after them so they stay usable. */
int vs_cgroup_apply_linux(struct vs_cgroup *cg, const struct vs_spec_linux *lx, struct vs_error *err);

/* Move `pid` into the container's cgroup in every hierarchy. */
int vs_cgroup_enter(struct vs_cgroup *cg, pid_t pid, struct vs_error *err);

/* Cheap joins for a new process. Moving a process through cgroup.procs
 * takes the kernel's global threadgroup lock for writing, which costs an
 * RCU grace period (~10 ms) when nothing took it lately; two moves avoid
 * it: the process itself, single-threaded, writing "0" to each v1
 * hierarchy's `tasks` (vs_cgroup_join_self_v1), and clone3's
 * CLONE_INTO_CGROUP for the v2 directory (vs_cgroup_v2_fd: an fd of it,
 * or -1 when the container has no v2 hierarchy).
 * vs_cgroup_enter_some moves `pid` into the v1 hierarchies and/or the v2
 * one, the slow way, for what the cheap ways could not do. */
int vs_cgroup_join_self_v1(struct vs_cgroup *cg, struct vs_error *err);
int vs_cgroup_v2_fd(struct vs_cgroup *cg);
int vs_cgroup_enter_some(struct vs_cgroup *cg, pid_t pid, bool v1, bool v2, struct vs_error *err);

/* clone(flags), no new stack (a fork), with the child born in the v2
 * cgroup `cgfd` (clone3 CLONE_INTO_CGROUP); -1 and errno when the kernel
 * cannot (before 5.7): the caller then forks and moves the child. */
pid_t vs_cgroup_clone_into(int cgfd, int flags);

/* Freeze or thaw; freezing waits until the kernel reports FROZEN (about a
 * second at most, then thaws again and fails). */
int vs_cgroup_freeze(struct vs_cgroup *cg, bool frozen, struct vs_error *err);

/* Whether the cgroup is frozen now (false where no freezer exists). */
int vs_cgroup_is_frozen(struct vs_cgroup *cg, bool *frozen, struct vs_error *err);

/* Every process in the cgroup and its descendants; *pids is malloc'd. */
int vs_cgroup_pids(struct vs_cgroup *cg, pid_t **pids, size_t *count, struct vs_error *err);

/* Signal every process: cgroup.kill for SIGKILL where the kernel has it,
 * else freeze, signal each process, thaw. */
int vs_cgroup_kill_all(struct vs_cgroup *cg, int sig, struct vs_error *err);

/* Remove the cgroup (and any sub-cgroups the container made) in every
 * hierarchy, retrying briefly while exiting processes still hold it.
 * Directories already gone are fine. */
int vs_cgroup_destroy(struct vs_cgroup *cg, struct vs_error *err);

void vs_cgroup_free(struct vs_cgroup *cg);

/* A one-line-per-hierarchy text form for state.json; malloc'd, NULL when
 * out of memory. */
char *vs_cgroup_serialize(const struct vs_cgroup *cg);
int vs_cgroup_open(const char *serialized, struct vs_cgroup **out, struct vs_error *err);

/* The hierarchies of this cgroup; the array lives as long as `cg`. */
size_t vs_cgroup_hierarchies(const struct vs_cgroup *cg, const struct vs_cgroup_hierarchy **out);

/* "v1", "v2" or "hybrid": the manager in use for this cgroup. */
const char *vs_cgroup_manager_name(const struct vs_cgroup *cg);

#endif
