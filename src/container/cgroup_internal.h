/* Shared by the cgroup files, and by the unit tests, which drive the
 * layout and path logic on fake trees. Not for the rest of the runtime: use
 * container/cgroup.h.
 *
 * Who calls whom: cgroup.c (the object, creation, processes, persistence)
 * reaches the managers only through struct vs_cgroup_ops; the managers
 * (cgroup_v1.c: v1 and hybrid, cgroup_v2.c, cgroup_bpf.c) and cgroup.c use
 * cgroup_layout.c (what is mounted where) and cgroup_utils.c (file
 * helpers), which call nothing above them. The hybrid manager borrows the
 * v2 manager's unified-directory functions. */
#ifndef VESSEL_CONTAINER_CGROUP_INTERNAL_H
#define VESSEL_CONTAINER_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "container/cgroup.h"

enum vs_cgroup_kind { VS_CGROUP_NONE, VS_CGROUP_V1, VS_CGROUP_V2, VS_CGROUP_HYBRID };

/* Controller bits; VS_CG_BLKIO is "io" on v2. VS_CG_SYSTEMD is the
 * controller-less name=systemd hierarchy, VS_CG_UNIFIED the v2 tree. */
enum {
	VS_CG_CPUSET = 1u << 0,
	VS_CG_CPU = 1u << 1,
	VS_CG_CPUACCT = 1u << 2,
	VS_CG_BLKIO = 1u << 3,
	VS_CG_MEMORY = 1u << 4,
	VS_CG_DEVICES = 1u << 5,
	VS_CG_FREEZER = 1u << 6,
	VS_CG_NET_CLS = 1u << 7,
	VS_CG_PERF_EVENT = 1u << 8,
	VS_CG_NET_PRIO = 1u << 9,
	VS_CG_HUGETLB = 1u << 10,
	VS_CG_PIDS = 1u << 11,
	VS_CG_RDMA = 1u << 12,
	VS_CG_MISC = 1u << 13,
	VS_CG_SYSTEMD = 1u << 14,
	VS_CG_UNIFIED = 1u << 15,
};

/* A mounted hierarchy. */
struct vs_cgroup_mount {
	char *name; /* "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
	char *mountpoint;
	char *root;	      /* the cgroup shown at the mount point (mountinfo field 4) */
	unsigned controllers; /* VS_CG_* */
};

struct vs_cgroup_layout {
	enum vs_cgroup_kind kind;
	struct vs_cgroup_mount *mounts; /* v1 hierarchies first, then the v2 one */
	size_t count;
};

/* Where the layout comes from; the tests point these at a tmpdir. */
struct vs_cgroup_env {
	const char *root;	 /* "/sys/fs/cgroup" */
	const char *mountinfo;	 /* "/proc/self/mountinfo" */
	const char *self_cgroup; /* "/proc/self/cgroup" */
};

struct vs_cgroup_ops {
	enum vs_cgroup_kind kind;
	/* Creation, once per level of the new cgroup's path in hierarchy `m`,
	 * right after `dir` was made (or found): v2 enables the container's
	 * controllers in `parent`'s cgroup.subtree_control so that `dir` gets
	 * their files; a v1 cpuset level gets CPUs and memory nodes (an empty
	 * cpuset accepts no task). */
	int (*init_level)(const struct vs_cgroup_mount *m, const char *parent, const char *dir,
			  struct vs_error *err);
	/* A frozen cgroup keeps processes killed with cgroup.kill until it is
	 * thawed (the v1 freezer does, the v2 one lets SIGKILL through). */
	bool frozen_holds_kill;
	int (*apply)(struct vs_cgroup *cg, const struct vs_spec_resources *res, struct vs_error *err);
	int (*freeze)(struct vs_cgroup *cg, bool frozen, struct vs_error *err);
	int (*is_frozen)(struct vs_cgroup *cg, bool *frozen, struct vs_error *err);
	/* The directory whose subtree holds every process of the container. */
	const char *(*procs_dir)(const struct vs_cgroup *cg);
};

struct vs_cgroup {
	enum vs_cgroup_kind kind;
	const struct vs_cgroup_ops *ops;
	struct vs_cgroup_hierarchy *hier; /* owns name and dir */
	unsigned *controllers;		  /* VS_CG_* of hier[i] */
	size_t count;
};

extern const struct vs_cgroup_ops vs_cgroup_v1_ops;
extern const struct vs_cgroup_ops vs_cgroup_hybrid_ops;
extern const struct vs_cgroup_ops vs_cgroup_v2_ops;

const char *vs_cgroup_kind_name(enum vs_cgroup_kind kind);

/* Controller bits of a comma-separated v1 option list ("rw,cpu,cpuacct",
 * "name=systemd"); *known is false when it names another hierarchy
 * (name=foo) or nothing we know. */
unsigned vs_cgroup_parse_controllers(const char *opts, bool *known);

/* Parse mountinfo text: cgroup mounts at `root` (v2) or directly below it. */
int vs_cgroup_layout_parse(const char *mountinfo, const char *root, struct vs_cgroup_layout *out,
			   struct vs_error *err);
int vs_cgroup_layout_detect(const struct vs_cgroup_env *env, struct vs_cgroup_layout *out,
			    struct vs_error *err);
void vs_cgroup_layout_free(struct vs_cgroup_layout *layout);

/* The calling process's cgroup in hierarchy `m`, from /proc/self/cgroup
 * text; malloc'd into *out. */
int vs_cgroup_own_path(const char *self_cgroup, const struct vs_cgroup_mount *m, char **out,
		       struct vs_error *err);

/* The cgroup path (relative to the hierarchy root, normalized, never "/")
 * for cgroupsPath; `own` is the caller's cgroup, used for relative paths. */
int vs_cgroup_resolve_path(const char *cgroups_path, const char *container_id, const char *own, char **out,
			   struct vs_error *err);

/* The host directory of `path` in hierarchy `m`; malloc'd, NULL on ENOMEM. */
char *vs_cgroup_mount_dir(const struct vs_cgroup_mount *m, const char *path);

int vs_cgroup_create_in(const struct vs_cgroup_env *env, const char *cgroups_path, const char *container_id,
			struct vs_cgroup **out, struct vs_error *err);

/* ---- cgroup_utils.c ---- */

/* The directory of the hierarchy holding `controller`, or NULL. */
const char *vs_cgroup_dir_for(const struct vs_cgroup *cg, unsigned controller);

/* File access in a cgroup directory; errors name the file and the value:
 * "/sys/fs/cgroup/memory/x/memory.limit_in_bytes: writing 1024: Device or
 * resource busy". vs_cgroup_write_opt returns 1 when the file does not
 * exist (nothing written, no error). */
int vs_cgroup_write(const char *dir, const char *file, const char *value, struct vs_error *err);
int vs_cgroup_write_opt(const char *dir, const char *file, const char *value, struct vs_error *err);
int vs_cgroup_read(const char *dir, const char *file, char *buf, size_t size, struct vs_error *err);

/* A whole /proc or cgroupfs file (their size is unknown in advance) as a
 * malloc'd string. */
int vs_cgroup_read_text(const char *path, char **out, struct vs_error *err);

/* Wait helper for freezers: sleeps a little more on each attempt; returns
 * false once about a second has passed. */
bool vs_cgroup_backoff(unsigned *attempt);
/* The same steps for freezing, up to about five seconds. */
bool vs_cgroup_freeze_backoff(unsigned *attempt);

/* Page size of a hugepage limit as used in file names ("2MB"), checked so
 * it cannot leave the directory. */
int vs_cgroup_check_page_size(const char *page_size, struct vs_error *err);

/* ---- the managers ---- */

/* Give the v1 cpuset directory `dir` its parent's CPUs and memory nodes
 * (the v1 and hybrid init_level; exported for the host tests). */
int vs_cgroup_v1_fill_cpuset(const char *dir, struct vs_error *err);

/* Shared with the hybrid manager, which writes these into the unified
 * directory. */
int vs_cgroup_v2_apply_unified(const char *dir, const struct vs_spec_resources *res, struct vs_error *err);
int vs_cgroup_v2_apply_hugetlb(const char *dir, const struct vs_spec_resources *res, struct vs_error *err);
int vs_cgroup_v2_apply_rdma(const char *dir, const struct vs_spec_resources *res, struct vs_error *err);
int vs_cgroup_v2_freeze_dir(const char *dir, bool frozen, struct vs_error *err);
int vs_cgroup_v2_is_frozen_dir(const char *dir, bool *frozen, struct vs_error *err);

/* Replace the device programs attached to the v2 cgroup `dir` with one
 * implementing `rules` (see vs_cgroup_apply). */
int vs_cgroup_bpf_devices(const char *dir, const struct vs_spec_device_rule *rules, size_t count,
			  struct vs_error *err);

#endif
