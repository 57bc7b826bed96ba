/* `vessel vm run --cpu-weight/--cpu-max`: see vm_limits.h. */
#include "cli/vm_limits.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/cgroup.h"
#include "container/state.h"
#include "util/log.h"

#define VM_CGROUP_PARENT "/vessel-vm"
#define DEFAULT_PERIOD_US 100000
/* The kernel refuses quotas and periods below 1 ms and periods above 1 s. */
#define MIN_US 1000
#define MAX_PERIOD_US 1000000

int vs_cli_parse_cpu_weight(const char *value, struct vs_vm_limits *l)
{
	long n;
	if (vs_cli_parse_int("--cpu-weight", value, 1, 10000, &n) < 0)
		return -1;
	l->has_weight = true;
	l->weight = (uint64_t)n;
	return 0;
}

static int bad_cpu_max(const char *value, const char *why)
{
	vs_cli_error("--cpu-max `%s`: %s; use QUOTA/PERIOD in microseconds (e.g. 50000/100000, "
		     "both at least 1000, the period at most 1000000) or a number of CPUs (e.g. 0.5)",
		     value, why);
	return -1;
}

int vs_cli_parse_cpu_max(const char *value, struct vs_vm_limits *l)
{
	const char *slash = strchr(value, '/');
	char *end;
	if (!*value)
		return bad_cpu_max(value, "empty");
	if (slash) {
		errno = 0;
		long long q = strtoll(value, &end, 10);
		if (end != slash || end == value || errno || q <= 0)
			return bad_cpu_max(value, "the quota is not a positive integer");
		long long p = strtoll(slash + 1, &end, 10);
		if (*end || end == slash + 1 || errno || p <= 0)
			return bad_cpu_max(value, "the period is not a positive integer");
		if (q < MIN_US || p < MIN_US || p > MAX_PERIOD_US)
			return bad_cpu_max(value, "out of range");
		l->quota_us = q;
		l->period_us = (uint64_t)p;
	} else {
		errno = 0;
		double cpus = strtod(value, &end);
		if (*end || end == value || errno || !(cpus > 0))
			return bad_cpu_max(value, "not a positive number of CPUs");
		if (cpus > 1024)
			return bad_cpu_max(value, "more than 1024 CPUs");
		double q = cpus * DEFAULT_PERIOD_US;
		if (q < MIN_US)
			return bad_cpu_max(value, "less than 0.01 CPU");
		l->quota_us = (int64_t)(q + 0.5);
		l->period_us = DEFAULT_PERIOD_US;
	}
	l->has_max = true;
	return 0;
}

/* cpu.shares whose OCI mapping onto cpu.weight (what cgroup_v2.c applies:
 * 1 + (shares - 2) * 9999 / 262142, rounded down) gives back `weight`
 * exactly; on v1 it is written as is. */
static uint64_t weight_to_shares(uint64_t weight)
{
	return 2 + ((weight - 1) * 262142 + 9998) / 9999;
}

int vs_cli_vm_limits_enter(struct vs_vm_limits *l)
{
	struct vs_spec_resources res = { 0 };
	struct vs_error err = { 0 };
	char path[96];
	pid_t self = getpid();

	if (!l->has_weight && !l->has_max)
		return 0;
	snprintf(path, sizeof(path), VM_CGROUP_PARENT "/%d-%" PRIu64, (int)self, vs_proc_start_time(self));
	if (l->has_weight) {
		res.has_cpu_shares = true;
		res.cpu_shares = weight_to_shares(l->weight);
	}
	if (l->has_max) {
		res.has_cpu_quota = res.has_cpu_period = true;
		res.cpu_quota = l->quota_us;
		res.cpu_period = l->period_us;
	}
	if (vs_cgroup_open_own(&l->home, &err) < 0)
		goto fail;
	if (vs_cgroup_create(path, path, &l->cg, &err) < 0)
		goto fail;
	if (vs_cgroup_apply(l->cg, &res, &err) < 0 || vs_cgroup_enter(l->cg, self, &err) < 0) {
		struct vs_error ignored = { 0 };
		/* Partly entered (one hierarchy of several): go back first. */
		vs_cgroup_enter(l->home, self, &ignored);
		vs_cgroup_destroy(l->cg, &ignored);
		goto fail;
	}
	vs_info("cgroup: %s (%s)", path, vs_cgroup_manager_name(l->cg));
	return 0;
fail:
	vs_cli_error("--cpu-weight/--cpu-max: cgroup %s: %s", path, err.msg);
	vs_cgroup_free(l->cg);
	vs_cgroup_free(l->home);
	l->cg = l->home = NULL;
	return -1;
}

void vs_cli_vm_limits_leave(struct vs_vm_limits *l)
{
	struct vs_error err = { 0 };
	if (!l->cg)
		return;
	if (vs_cgroup_enter(l->home, getpid(), &err) < 0 || vs_cgroup_destroy(l->cg, &err) < 0)
		vs_warn("removing the VM's cgroup: %s", err.msg);
	vs_cgroup_free(l->cg);
	vs_cgroup_free(l->home);
	l->cg = l->home = NULL;
}

/* Whether the cgroup named `name` (<pid>-<start time>) belongs to a
 * process that is gone; names of another form are not ours. */
static bool owner_gone(const char *name)
{
	char *end;
	errno = 0;
	long pid = strtol(name, &end, 10);
	if (errno || end == name || *end != '-' || pid <= 0)
		return false;
	const char *s = end + 1;
	unsigned long long start = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	uint64_t now = vs_proc_start_time((pid_t)pid);
	return now == 0 || now != start;
}

int vs_cli_vm_limits_reap(void)
{
	struct vs_error err = { 0 };
	struct vs_cgroup *own = NULL;
	const struct vs_cgroup_hierarchy *hier;
	int reaped = 0;

	/* Our own cgroup object tells which hierarchies exist and where they
	 * are mounted; the VM cgroups sit at the same place in each, so the
	 * first hierarchy that has the parent lists them all. */
	if (vs_cgroup_open_own(&own, &err) < 0)
		return 0;
	size_t n = vs_cgroup_hierarchies(own, &hier);
	for (size_t i = 0; i < n; i++) {
		char parent[4096];
		const char *mount_end = hier[i].dir;
		/* hier[i].dir is <mountpoint><own path>; find the mountpoint by
		 * looking for the parent directory at each '/' prefix. */
		size_t len = strlen(mount_end);
		DIR *d = NULL;
		for (size_t cut = len; cut > 0 && !d; cut--) {
			if (cut != len && mount_end[cut] != '/')
				continue;
			snprintf(parent, sizeof(parent), "%.*s" VM_CGROUP_PARENT, (int)cut, mount_end);
			d = opendir(parent);
		}
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			char path[128];
			struct vs_cgroup *cg = NULL;
			if (e->d_type != DT_DIR || e->d_name[0] == '.' || !owner_gone(e->d_name))
				continue;
			snprintf(path, sizeof(path), VM_CGROUP_PARENT "/%.64s", e->d_name);
			/* Opening by creating: existing directories are reused, a
			 * hierarchy where it was missing gets it and loses it again. */
			if (vs_cgroup_create(path, path, &cg, &err) == 0) {
				pid_t *pids = NULL;
				size_t count = 0;
				if (vs_cgroup_pids(cg, &pids, &count, &err) == 0 && count == 0 &&
				    vs_cgroup_destroy(cg, &err) == 0) {
					vs_debug("removed cgroup %s of a vessel that is gone", path);
					reaped++;
				}
				free(pids);
				vs_cgroup_free(cg);
			}
			vs_error_clear(&err);
		}
		closedir(d);
		break;
	}
	vs_cgroup_free(own);
	return reaped;
}
