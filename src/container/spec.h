/* The OCI runtime-spec 1.1 configuration (config.json), Linux parts, as
 * parsed and validated by vs_spec_load(). Every string is owned by the
 * struct vs_spec and released by vs_spec_free(). Absent optional values
 * are NULL, 0 with a matching has_ flag, or an empty array. */
#ifndef VESSEL_CONTAINER_SPEC_H
#define VESSEL_CONTAINER_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct vs_strv {
	char **v; /* NULL-terminated when count > 0 */
	size_t count;
};

/* Free the strings and the vector; leaves an empty vector. */
void vs_strv_free(struct vs_strv *v);
/* A deep copy; on failure (ENOMEM) returns -1 and dst holds what was
 * copied so far, for vs_strv_free. */
int vs_strv_copy(struct vs_strv *dst, const struct vs_strv *src);

enum vs_ns_type {
	VS_NS_MOUNT,
	VS_NS_PID,
	VS_NS_UTS,
	VS_NS_IPC,
	VS_NS_NET,
	VS_NS_USER,
	VS_NS_CGROUP,
	VS_NS_TIME,
	VS_NS_COUNT
};

struct vs_spec_namespace {
	enum vs_ns_type type;
	char *path; /* join this namespace instead of creating one; NULL to create */
};

struct vs_spec_idmap {
	uint32_t container_id, host_id, size;
};

struct vs_spec_mount {
	char *destination; /* absolute path inside the container */
	char *type;	   /* NULL for bind mounts given only by options */
	char *source;
	struct vs_strv options;
	struct vs_spec_idmap *uid_mappings, *gid_mappings; /* idmapped mounts (optional) */
	size_t uid_mappings_count, gid_mappings_count;
};

struct vs_spec_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct vs_spec_user {
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t additional_gids_count;
};

/* Capability sets as bitmasks of CAP_* numbers. */
struct vs_spec_caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct vs_spec_console_size {
	uint32_t height, width;
};

struct vs_spec_process {
	bool terminal;
	bool has_console_size;
	struct vs_spec_console_size console_size;
	struct vs_spec_user user;
	struct vs_strv args;
	struct vs_strv env;
	char *cwd;
	bool has_caps;
	struct vs_spec_caps caps;
	struct vs_spec_rlimit *rlimits;
	size_t rlimits_count;
	bool no_new_privileges;
	char *apparmor_profile;
	char *selinux_label;
	bool has_oom_score_adj;
	int oom_score_adj;
};

struct vs_spec_device {
	char *path;
	char type; /* 'c', 'b', 'u' or 'p' */
	int64_t major, minor;
	bool has_file_mode;
	uint32_t file_mode;
	bool has_uid, has_gid;
	uint32_t uid, gid;
};

struct vs_spec_device_rule {
	bool allow;
	char type;	      /* 'a', 'c' or 'b' */
	int64_t major, minor; /* -1 for a wildcard */
	char access[4];	      /* subset of "rwm" */
};

/* Resource values use has_ flags: 0 is a meaningful limit for some. */
struct vs_spec_resources {
	struct vs_spec_device_rule *devices;
	size_t devices_count;

	bool has_memory_limit, has_memory_reservation, has_memory_swap, has_memory_kernel;
	int64_t memory_limit, memory_reservation, memory_swap, memory_kernel;
	bool has_memory_swappiness;
	uint64_t memory_swappiness;
	bool disable_oom_killer;

	bool has_cpu_shares, has_cpu_quota, has_cpu_period;
	uint64_t cpu_shares;
	int64_t cpu_quota;
	uint64_t cpu_period;
	bool has_cpu_rt_runtime, has_cpu_rt_period;
	int64_t cpu_rt_runtime;
	uint64_t cpu_rt_period;
	char *cpu_cpus, *cpu_mems; /* cpuset lists */
	bool has_cpu_idle;
	int64_t cpu_idle;

	bool has_pids_limit;
	int64_t pids_limit;

	bool has_blkio_weight;
	uint16_t blkio_weight;
	struct vs_spec_blkio_device {
		int64_t major, minor;
		uint64_t rate; /* bytes or iops per second; weight for weight_device */
	} * blkio_throttle_read_bps, *blkio_throttle_write_bps, *blkio_throttle_read_iops,
	    *blkio_throttle_write_iops, *blkio_weight_device;
	size_t blkio_throttle_read_bps_count, blkio_throttle_write_bps_count, blkio_throttle_read_iops_count,
	    blkio_throttle_write_iops_count, blkio_weight_device_count;

	struct vs_spec_hugepage_limit {
		char *page_size; /* "2MB", "1GB" */
		uint64_t limit;
	} * hugepage_limits;
	size_t hugepage_limits_count;

	/* linux.resources.unified: cgroup v2 files, key -> value */
	struct vs_strv unified_keys, unified_values;

	/* linux.resources.network: net_cls.classid, and net_prio.ifpriomap
	 * lines "<interface> <priority>" */
	uint32_t net_class_id;
	bool has_net_class_id;
	struct vs_strv net_priorities;
	/* linux.resources.rdma: rdma.max lines
	 * "<device> hca_handle=<n|max> hca_object=<n|max>" */
	struct vs_strv rdma_limits;
};

enum vs_seccomp_action {
	VS_SECCOMP_KILL, /* SCMP_ACT_KILL (thread) */
	VS_SECCOMP_KILL_PROCESS,
	VS_SECCOMP_KILL_THREAD,
	VS_SECCOMP_TRAP,
	VS_SECCOMP_ERRNO,
	VS_SECCOMP_TRACE,
	VS_SECCOMP_ALLOW,
	VS_SECCOMP_LOG,
	VS_SECCOMP_NOTIFY,
};

enum vs_seccomp_op {
	VS_SCMP_NE,
	VS_SCMP_LT,
	VS_SCMP_LE,
	VS_SCMP_EQ,
	VS_SCMP_GE,
	VS_SCMP_GT,
	VS_SCMP_MASKED_EQ
};

struct vs_seccomp_arg {
	uint32_t index;
	uint64_t value, value_two;
	enum vs_seccomp_op op;
};

struct vs_seccomp_rule {
	struct vs_strv names;
	enum vs_seccomp_action action;
	bool has_errno_ret;
	uint32_t errno_ret;
	struct vs_seccomp_arg *args;
	size_t args_count;
};

struct vs_spec_seccomp {
	enum vs_seccomp_action default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	struct vs_strv architectures; /* "SCMP_ARCH_X86_64", ... */
	struct vs_strv flags;	      /* "SECCOMP_FILTER_FLAG_LOG", ... */
	char *listener_path;
	char *listener_metadata;
	struct vs_seccomp_rule *syscalls;
	size_t syscalls_count;
};

struct vs_spec_hook {
	char *path;
	struct vs_strv args;
	struct vs_strv env;
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

enum vs_hook_kind {
	VS_HOOK_PRESTART,
	VS_HOOK_CREATE_RUNTIME,
	VS_HOOK_CREATE_CONTAINER,
	VS_HOOK_START_CONTAINER,
	VS_HOOK_POSTSTART,
	VS_HOOK_POSTSTOP,
	VS_HOOK_KINDS
};

/* "prestart", "createRuntime", ...: the config.json key of a hook list. */
const char *vs_hook_kind_name(enum vs_hook_kind kind);

struct vs_spec_hooks {
	struct vs_spec_hook *list[VS_HOOK_KINDS];
	size_t count[VS_HOOK_KINDS];
};

struct vs_spec_linux {
	struct vs_spec_namespace *namespaces;
	size_t namespaces_count;
	struct vs_spec_idmap *uid_mappings, *gid_mappings;
	size_t uid_mappings_count, gid_mappings_count;
	struct vs_spec_device *devices;
	size_t devices_count;
	char *cgroups_path;
	bool has_resources;
	struct vs_spec_resources resources;
	struct vs_strv sysctl_keys, sysctl_values;
	struct vs_spec_seccomp *seccomp; /* NULL when absent */
	char *rootfs_propagation;	 /* "private", "rprivate", "slave", ... */
	struct vs_strv masked_paths;
	struct vs_strv readonly_paths;
	char *mount_label;
	bool has_personality;
	char *personality_domain; /* "LINUX" or "LINUX32" */
	/* time namespace offsets */
	bool has_time_offsets;
	int64_t monotonic_secs, boottime_secs;
	uint32_t monotonic_nanosecs, boottime_nanosecs;
};

struct vs_spec {
	char *oci_version;
	char *root_path; /* absolute after loading (resolved against the bundle) */
	bool root_readonly;
	bool has_process;
	struct vs_spec_process process;
	char *hostname;
	char *domainname;
	struct vs_spec_mount *mounts;
	size_t mounts_count;
	struct vs_spec_hooks hooks;
	struct vs_strv annotation_keys, annotation_values;
	struct vs_spec_linux linux;
};

/* Parse and validate `json` (the bytes of config.json). `bundle` is the
 * bundle directory used to resolve a relative root.path. Errors name the
 * offending field as a JSON path, e.g. "linux.namespaces[2].type: unknown
 * namespace type `pidd`". */
int vs_spec_parse(const char *json, size_t len, const char *bundle, struct vs_spec *out,
		  struct vs_error *err);

/* Read BUNDLE/config.json and parse it. */
int vs_spec_load(const char *bundle, struct vs_spec *out, struct vs_error *err);

void vs_spec_free(struct vs_spec *spec);

/* Lookups. */
const struct vs_spec_namespace *vs_spec_namespace_find(const struct vs_spec *spec, enum vs_ns_type type);
const char *vs_ns_type_name(enum vs_ns_type type); /* "mount", "pid", ... as in the spec */

/* The spec's names of seccomp actions and operators ("SCMP_ACT_ERRNO",
 * "SCMP_CMP_EQ"); NULL for a value outside the enum. */
const char *vs_seccomp_action_name(enum vs_seccomp_action a);
const char *vs_seccomp_op_name(enum vs_seccomp_op op);

/* Parse a process JSON (the object of `exec --process`, same schema as
 * config.json's "process"). */
int vs_spec_parse_process(const char *json, size_t len, struct vs_spec_process *out, struct vs_error *err);
void vs_spec_process_free(struct vs_spec_process *p);

#endif
