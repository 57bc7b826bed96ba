/* The cgroup v1 manager, and the hybrid one: v1 controllers, with the
 * unified (v2) directory used for what only v2 offers there (unified keys,
 * hugetlb when the v1 hierarchy is absent, cgroup.kill, the v2 freezer). */
#include "container/cgroup_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

static int no_hierarchy(const char *what, const char *controller, struct vs_error *err)
{
	return vs_error_msg(err, "linux.resources.%s: no `%s` cgroup hierarchy is mounted on this host", what,
			    controller);
}

static int write_i64(const char *dir, const char *file, int64_t v, struct vs_error *err)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return vs_cgroup_write(dir, file, buf, err);
}

static int write_u64(const char *dir, const char *file, uint64_t v, struct vs_error *err)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return vs_cgroup_write(dir, file, buf, err);
}

/* Two files whose values constrain each other (CFS period and quota, RT
 * period and runtime): write `a` first, and if the kernel refuses it in
 * the current state, write `b` first. NULL values are skipped. */
static int write_pair(const char *dir, const char *fa, const char *va, const char *fb, const char *vb,
		      struct vs_error *err)
{
	if (va && vs_cgroup_write(dir, fa, va, err) < 0) {
		if (err->code != EINVAL || !vb)
			return -1;
		if (vs_cgroup_write(dir, fb, vb, err) < 0 || vs_cgroup_write(dir, fa, va, err) < 0)
			return -1;
		return 0;
	}
	return vb ? vs_cgroup_write(dir, fb, vb, err) : 0;
}

int vs_cgroup_v1_fill_cpuset(const char *dir, struct vs_error *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char parent[PATH_MAX];
	const char *slash = strrchr(dir, '/');
	if (!slash || slash == dir || (size_t)(slash - dir) >= sizeof(parent))
		return vs_error_msg(err, "cpuset cgroup `%s` has no parent", dir);
	memcpy(parent, dir, (size_t)(slash - dir));
	parent[slash - dir] = '\0';
	for (size_t i = 0; i < VS_ARRAY_SIZE(files); i++) {
		char value[4096];
		if (vs_cgroup_read(dir, files[i], value, sizeof(value), err) < 0)
			return -1;
		if (value[0])
			continue;
		if (vs_cgroup_read(parent, files[i], value, sizeof(value), err) < 0 ||
		    vs_cgroup_write(dir, files[i], value, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_memory(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_MEMORY);
	/* 0 for limit or swap means "not set", as with runc. */
	bool has_limit = r->has_memory_limit && r->memory_limit != 0;
	bool has_swap = r->has_memory_swap && r->memory_swap != 0;
	bool swap_first = false;
	if (!has_limit && !r->has_memory_reservation && !has_swap && !r->has_memory_swappiness &&
	    !r->disable_oom_killer)
		return 0;
	if (!dir)
		return no_hierarchy("memory", "memory", err);
	if (has_limit && has_swap && r->memory_limit >= 0 && r->memory_swap >= 0 &&
	    r->memory_swap < r->memory_limit)
		return vs_error_msg(err,
				    "memory.swap (%" PRId64 ") must be at least memory.limit (%" PRId64 ")",
				    r->memory_swap, r->memory_limit);
	if (r->has_memory_swappiness && r->memory_swappiness > 100)
		return vs_error_msg(err, "memory.swappiness: %" PRIu64 " is out of range 0-100",
				    r->memory_swappiness);
	if (has_limit && has_swap) {
		/* memsw must stay >= the limit after each write: raise it
		 * first when the new limit is above the current memsw. */
		char cur[32];
		struct vs_error ignored = { 0 };
		if (vs_cgroup_read(dir, "memory.memsw.limit_in_bytes", cur, sizeof(cur), &ignored) == 0)
			swap_first =
			    r->memory_limit < 0 || (uint64_t)r->memory_limit > strtoull(cur, NULL, 10);
	}
	for (int step = 0; step < 2; step++) {
		bool swap_now = (step == 0) == swap_first;
		if (swap_now && has_swap) {
			char v[24];
			snprintf(v, sizeof(v), "%" PRId64, r->memory_swap < 0 ? -1 : r->memory_swap);
			/* Without swap accounting (no memsw files) there is no
			 * swap limit to set: memory.limit alone applies. */
			if (vs_cgroup_write_opt(dir, "memory.memsw.limit_in_bytes", v, err) < 0)
				return -1;
		}
		if (!swap_now && has_limit &&
		    write_i64(dir, "memory.limit_in_bytes", r->memory_limit < 0 ? -1 : r->memory_limit, err) <
			0)
			return -1;
	}
	if (r->has_memory_reservation &&
	    write_i64(dir, "memory.soft_limit_in_bytes",
		      r->memory_reservation < 0 ? -1 : r->memory_reservation, err) < 0)
		return -1;
	if (r->has_memory_swappiness && write_u64(dir, "memory.swappiness", r->memory_swappiness, err) < 0)
		return -1;
	if (r->disable_oom_killer && vs_cgroup_write(dir, "memory.oom_control", "1", err) < 0)
		return -1;
	return 0;
}

static int v1_cpu(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_CPU);
	bool shares = r->has_cpu_shares && r->cpu_shares;
	bool period = r->has_cpu_period && r->cpu_period;
	bool quota = r->has_cpu_quota && r->cpu_quota;
	bool rt_period = r->has_cpu_rt_period && r->cpu_rt_period;
	bool rt_runtime = r->has_cpu_rt_runtime;
	char pv[24], qv[24], rpv[24], rrv[24];
	if (!shares && !period && !quota && !rt_period && !rt_runtime && !r->has_cpu_idle)
		return 0;
	if (!dir)
		return no_hierarchy("cpu", "cpu", err);
	if (shares && write_u64(dir, "cpu.shares", r->cpu_shares, err) < 0)
		return -1;
	snprintf(pv, sizeof(pv), "%" PRIu64, r->cpu_period);
	snprintf(qv, sizeof(qv), "%" PRId64, r->cpu_quota < 0 ? -1 : r->cpu_quota);
	if (write_pair(dir, "cpu.cfs_period_us", period ? pv : NULL, "cpu.cfs_quota_us", quota ? qv : NULL,
		       err) < 0)
		return -1;
	snprintf(rpv, sizeof(rpv), "%" PRIu64, r->cpu_rt_period);
	snprintf(rrv, sizeof(rrv), "%" PRId64, r->cpu_rt_runtime);
	if (write_pair(dir, "cpu.rt_period_us", rt_period ? rpv : NULL, "cpu.rt_runtime_us",
		       rt_runtime ? rrv : NULL, err) < 0)
		return -1;
	if (r->has_cpu_idle && write_i64(dir, "cpu.idle", r->cpu_idle, err) < 0)
		return -1;
	return 0;
}

static int v1_cpuset(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_CPUSET);
	if (!r->cpu_cpus && !r->cpu_mems)
		return 0;
	if (!dir)
		return no_hierarchy("cpu.cpus", "cpuset", err);
	if (r->cpu_cpus && vs_cgroup_write(dir, "cpuset.cpus", r->cpu_cpus, err) < 0)
		return -1;
	if (r->cpu_mems && vs_cgroup_write(dir, "cpuset.mems", r->cpu_mems, err) < 0)
		return -1;
	return 0;
}

static int v1_pids(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_PIDS);
	char v[24];
	if (!r->has_pids_limit || r->pids_limit == 0)
		return 0;
	if (!dir)
		return no_hierarchy("pids.limit", "pids", err);
	if (r->pids_limit < 0)
		snprintf(v, sizeof(v), "max");
	else
		snprintf(v, sizeof(v), "%" PRId64, r->pids_limit);
	return vs_cgroup_write(dir, "pids.max", v, err);
}

/* Proportional weights live in blkio.weight (CFQ, gone since 5.0) or
 * blkio.bfq.weight (BFQ); `suffix` is "" or "_device". */
static int blkio_weight_write(const char *dir, const char *field, const char *suffix, const char *value,
			      struct vs_error *err)
{
	char cfq[48], bfq[48];
	snprintf(cfq, sizeof(cfq), "blkio.weight%s", suffix);
	snprintf(bfq, sizeof(bfq), "blkio.bfq.weight%s", suffix);
	int r = vs_cgroup_write_opt(dir, cfq, value, err);
	if (r <= 0)
		return r;
	r = vs_cgroup_write_opt(dir, bfq, value, err);
	if (r <= 0)
		return r;
	return vs_error_msg(err,
			    "linux.resources.blockIO.%s: the `blkio` controller of this host has no "
			    "proportional weights (neither %s nor %s exists in %s)",
			    field, cfq, bfq, dir);
}

static int v1_blkio(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const struct {
		const char *file;
		const struct vs_spec_blkio_device *list;
		size_t count;
	} throttles[] = {
		{ "blkio.throttle.read_bps_device", r->blkio_throttle_read_bps,
		  r->blkio_throttle_read_bps_count },
		{ "blkio.throttle.write_bps_device", r->blkio_throttle_write_bps,
		  r->blkio_throttle_write_bps_count },
		{ "blkio.throttle.read_iops_device", r->blkio_throttle_read_iops,
		  r->blkio_throttle_read_iops_count },
		{ "blkio.throttle.write_iops_device", r->blkio_throttle_write_iops,
		  r->blkio_throttle_write_iops_count },
	};
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_BLKIO);
	char v[80];
	bool any = r->has_blkio_weight || r->blkio_weight_device_count;
	for (size_t t = 0; t < VS_ARRAY_SIZE(throttles); t++)
		any |= throttles[t].count > 0;
	if (!any)
		return 0;
	if (!dir)
		return no_hierarchy("blockIO", "blkio", err);
	if (r->has_blkio_weight) {
		snprintf(v, sizeof(v), "%u", (unsigned)r->blkio_weight);
		if (blkio_weight_write(dir, "weight", "", v, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->blkio_weight_device_count; i++) {
		const struct vs_spec_blkio_device *d = &r->blkio_weight_device[i];
		snprintf(v, sizeof(v), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, d->rate);
		if (blkio_weight_write(dir, "weightDevice", "_device", v, err) < 0)
			return -1;
	}
	for (size_t t = 0; t < VS_ARRAY_SIZE(throttles); t++) {
		for (size_t i = 0; i < throttles[t].count; i++) {
			const struct vs_spec_blkio_device *d = &throttles[t].list[i];
			snprintf(v, sizeof(v), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
				 d->rate);
			if (vs_cgroup_write(dir, throttles[t].file, v, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int v1_hugetlb(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_HUGETLB);
	const char *v2 = cg->kind == VS_CGROUP_HYBRID ? vs_cgroup_dir_for(cg, VS_CG_UNIFIED) : NULL;
	if (r->hugepage_limits_count == 0)
		return 0;
	if (!dir && v2) {
		/* Hybrid hosts often leave hugetlb to the v2 tree. */
		return vs_cgroup_v2_apply_hugetlb(v2, r, err);
	}
	if (!dir)
		return no_hierarchy("hugepageLimits", "hugetlb", err);
	for (size_t i = 0; i < r->hugepage_limits_count; i++) {
		char file[64];
		if (vs_cgroup_check_page_size(r->hugepage_limits[i].page_size, err) < 0)
			return -1;
		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", r->hugepage_limits[i].page_size);
		if (write_u64(dir, file, r->hugepage_limits[i].limit, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_network(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *cls = vs_cgroup_dir_for(cg, VS_CG_NET_CLS), *prio = vs_cgroup_dir_for(cg, VS_CG_NET_PRIO);
	if (r->has_net_class_id) {
		char v[16];
		if (!cls)
			return no_hierarchy("network.classID", "net_cls", err);
		snprintf(v, sizeof(v), "%u", r->net_class_id);
		if (vs_cgroup_write(cls, "net_cls.classid", v, err) < 0)
			return vs_error_prefix(err, "linux.resources.network.classID: ");
	}
	if (r->net_priorities.count && !prio)
		return no_hierarchy("network.priorities", "net_prio", err);
	for (size_t i = 0; i < r->net_priorities.count; i++)
		if (vs_cgroup_write(prio, "net_prio.ifpriomap", r->net_priorities.v[i], err) < 0)
			return vs_error_prefix(err, "linux.resources.network.priorities: ");
	return 0;
}

static int v1_rdma(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_RDMA);
	const char *v2 = cg->kind == VS_CGROUP_HYBRID ? vs_cgroup_dir_for(cg, VS_CG_UNIFIED) : NULL;
	if (r->rdma_limits.count == 0)
		return 0;
	if (!dir && v2)
		return vs_cgroup_v2_apply_rdma(v2, r, err);
	if (!dir)
		return no_hierarchy("rdma", "rdma", err);
	return vs_cgroup_v2_apply_rdma(dir, r, err); /* same file and format in v1 */
}

static int v1_devices(const struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_DEVICES);
	if (r->devices_count == 0)
		return 0;
	if (!dir)
		return no_hierarchy("devices", "devices", err);
	/* devices.allow/deny apply in order with the same meaning as the
	 * list: "a" resets the default, the others edit exceptions. */
	for (size_t i = 0; i < r->devices_count; i++) {
		const struct vs_spec_device_rule *d = &r->devices[i];
		const char *access = d->access[0] ? d->access : "rwm";
		char line[64], maj[24], min[24];
		if (d->type == 'a') {
			snprintf(line, sizeof(line), "a");
		} else {
			if (d->major < 0)
				snprintf(maj, sizeof(maj), "*");
			else
				snprintf(maj, sizeof(maj), "%" PRId64, d->major);
			if (d->minor < 0)
				snprintf(min, sizeof(min), "*");
			else
				snprintf(min, sizeof(min), "%" PRId64, d->minor);
			snprintf(line, sizeof(line), "%c %s:%s %s", d->type, maj, min, access);
		}
		if (vs_cgroup_write(dir, d->allow ? "devices.allow" : "devices.deny", line, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_apply(struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	if (v1_memory(cg, r, err) < 0 || v1_cpu(cg, r, err) < 0 || v1_cpuset(cg, r, err) < 0 ||
	    v1_pids(cg, r, err) < 0 || v1_blkio(cg, r, err) < 0 || v1_hugetlb(cg, r, err) < 0 ||
	    v1_network(cg, r, err) < 0 || v1_rdma(cg, r, err) < 0 || v1_devices(cg, r, err) < 0)
		return -1;
	if (r->unified_keys.count == 0)
		return 0;
	if (cg->kind == VS_CGROUP_HYBRID)
		return vs_cgroup_v2_apply_unified(vs_cgroup_dir_for(cg, VS_CG_UNIFIED), r, err);
	return vs_error_msg(err, "unified: `%s` is a cgroup v2 setting and this host uses cgroup v1",
			    r->unified_keys.v[0]);
}

static int v1_freeze(struct vs_cgroup *cg, bool frozen, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_FREEZER);
	char state[32] = "";
	if (!dir && cg->kind == VS_CGROUP_HYBRID)
		return vs_cgroup_v2_freeze_dir(vs_cgroup_dir_for(cg, VS_CG_UNIFIED), frozen, err);
	if (!dir)
		return no_hierarchy(frozen ? "freezing" : "thawing", "freezer", err);
	if (!frozen)
		return vs_cgroup_write(dir, "freezer.state", "THAWED", err);
	if (vs_cgroup_write(dir, "freezer.state", "FROZEN", err) < 0)
		return -1;
	for (unsigned attempt = 0;;) {
		if (vs_cgroup_read(dir, "freezer.state", state, sizeof(state), err) < 0)
			break;
		if (strcmp(state, "FROZEN") == 0)
			return 0;
		if (!vs_cgroup_freeze_backoff(&attempt)) {
			vs_error_msg(err, "%s/freezer.state: still %s after about five seconds", dir, state);
			break;
		}
		/* Asking again makes the kernel retry tasks it could not
		 * freeze yet (in an uninterruptible sleep, say). */
		if (attempt % 8 == 0 && vs_cgroup_write(dir, "freezer.state", "FROZEN", err) < 0)
			break;
	}
	struct vs_error ignored = { 0 };
	vs_cgroup_write(dir, "freezer.state", "THAWED", &ignored);
	return vs_error_prefix(err, "freezing (thawed again): ");
}

static int v1_is_frozen(struct vs_cgroup *cg, bool *frozen, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_FREEZER);
	char state[32];
	if (!dir && cg->kind == VS_CGROUP_HYBRID)
		return vs_cgroup_v2_is_frozen_dir(vs_cgroup_dir_for(cg, VS_CG_UNIFIED), frozen, err);
	if (!dir) {
		*frozen = false;
		return 0;
	}
	if (vs_cgroup_read(dir, "freezer.state", state, sizeof(state), err) < 0)
		return -1;
	*frozen = strcmp(state, "FROZEN") == 0;
	return 0;
}

static const char *v1_procs_dir(const struct vs_cgroup *cg)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_FREEZER);
	if (!dir)
		dir = vs_cgroup_dir_for(cg, VS_CG_PIDS);
	return dir ? dir : cg->hier[0].dir;
}

/* The unified directory of a hybrid host gets no controllers: the v2 tree
 * only tracks processes there, and enabling one changes the host for
 * everyone (crun, for one, then refuses to run). */
static int v1_init_level(const struct vs_cgroup_mount *m, const char *parent, const char *dir,
			 struct vs_error *err)
{
	(void)parent;
	return (m->controllers & VS_CG_CPUSET) ? vs_cgroup_v1_fill_cpuset(dir, err) : 0;
}

const struct vs_cgroup_ops vs_cgroup_v1_ops = {
	.kind = VS_CGROUP_V1,
	.init_level = v1_init_level,
	.frozen_holds_kill = true,
	.apply = v1_apply,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
	.procs_dir = v1_procs_dir,
};

/* The v1 functions look at cg->kind for the few places where the unified
 * directory of a hybrid host takes over. */
const struct vs_cgroup_ops vs_cgroup_hybrid_ops = {
	.kind = VS_CGROUP_HYBRID,
	.init_level = v1_init_level,
	.frozen_holds_kill = true, /* the freezer is v1's */
	.apply = v1_apply,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
	.procs_dir = v1_procs_dir,
};
