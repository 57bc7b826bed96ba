/* The cgroup v2 manager: one directory, OCI (v1-shaped) values converted
 * to the v2 files, devices through a BPF program. */
#include "container/cgroup_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

/* Controllers a container may need; rdma and misc have no OCI field but
 * unified keys may set them. */
static const char *const wanted_controllers[] = { "cpuset",  "cpu",  "io",   "memory",
						  "hugetlb", "pids", "rdma", "misc" };

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* Best effort: a controller that cannot be enabled shows up as a missing
 * file when a limit is applied (see v2_write). */
static void enable_controllers(const char *dir)
{
	char avail[512], enabled[512], req[256] = "";
	struct vs_error ignored = { 0 };
	if (vs_cgroup_read(dir, "cgroup.controllers", avail, sizeof(avail), &ignored) < 0)
		return;
	if (vs_cgroup_read(dir, "cgroup.subtree_control", enabled, sizeof(enabled), &ignored) < 0)
		enabled[0] = '\0';
	for (size_t i = 0; i < VS_ARRAY_SIZE(wanted_controllers); i++) {
		const char *c = wanted_controllers[i];
		if (has_word(avail, c) && !has_word(enabled, c)) {
			size_t len = strlen(req);
			snprintf(req + len, sizeof(req) - len, "%s+%s", len ? " " : "", c);
		}
	}
	if (!req[0] || vs_cgroup_write(dir, "cgroup.subtree_control", req, &ignored) == 0)
		return;
	/* One refused controller fails the whole write: enable the others
	 * one by one. */
	char *save = NULL;
	for (char *tok = strtok_r(req, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		vs_cgroup_write(dir, "cgroup.subtree_control", tok, &ignored);
}

/* A missing v2 file almost always means the controller is not enabled in
 * the parent: say so. */
static int v2_write(const char *dir, const char *file, const char *value, struct vs_error *err)
{
	if (vs_cgroup_write(dir, file, value, err) == 0)
		return 0;
	if (err->code == ENOENT) {
		size_t n = strcspn(file, ".");
		return vs_error_msg_code(
		    err, ENOENT,
		    "%s/%s: writing %s: no such file (is the `%.*s` controller enabled in "
		    "the parent's cgroup.subtree_control?)",
		    dir, file, value, (int)n, file);
	}
	return -1;
}

static int v2_write_i64_or_max(const char *dir, const char *file, int64_t v, struct vs_error *err)
{
	char buf[24];
	if (v < 0)
		snprintf(buf, sizeof(buf), "max");
	else
		snprintf(buf, sizeof(buf), "%" PRId64, v);
	return v2_write(dir, file, buf, err);
}

static int v2_memory(const char *dir, const struct vs_spec_resources *r, struct vs_error *err)
{
	/* 0 for limit or swap means "not set", as with runc. */
	bool has_limit = r->has_memory_limit && r->memory_limit != 0;
	if (has_limit && v2_write_i64_or_max(dir, "memory.max", r->memory_limit, err) < 0)
		return -1;
	if (r->has_memory_reservation &&
	    v2_write_i64_or_max(dir, "memory.low", r->memory_reservation, err) < 0)
		return -1;
	if (!r->has_memory_swap || r->memory_swap == 0)
		return 0;
	/* OCI's swap is memory+swap (v1 memsw); v2 limits swap alone. */
	char v[24] = "max";
	if (r->memory_swap >= 0) {
		int64_t limit = r->memory_limit;
		if (!has_limit) {
			char cur[32];
			if (vs_cgroup_read(dir, "memory.max", cur, sizeof(cur), err) < 0)
				return -1;
			limit = strcmp(cur, "max") == 0 ? -1 : strtoll(cur, NULL, 10);
		}
		if (limit < 0)
			return vs_error_msg(err, "memory.swap (%" PRId64 ") needs a memory limit",
					    r->memory_swap);
		if (r->memory_swap < limit)
			return vs_error_msg(
			    err, "memory.swap (%" PRId64 ") must be at least memory.limit (%" PRId64 ")",
			    r->memory_swap, limit);
		snprintf(v, sizeof(v), "%" PRId64, r->memory_swap - limit);
	}
	/* No memory.swap.max without swap accounting: nothing to limit. */
	return vs_cgroup_write_opt(dir, "memory.swap.max", v, err) < 0 ? -1 : 0;
}

static int v2_cpu(const char *dir, const struct vs_spec_resources *r, struct vs_error *err)
{
	char v[64];
	if ((r->has_cpu_rt_runtime && r->cpu_rt_runtime) || (r->has_cpu_rt_period && r->cpu_rt_period))
		return vs_error_msg(
		    err, "cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU limits");
	if (r->has_cpu_shares && r->cpu_shares) {
		/* shares 2..262144 map linearly onto weight 1..10000, so the
		 * default 1024 becomes 39 (the mapping runc and systemd use). */
		uint64_t s = r->cpu_shares < 2 ? 2 : r->cpu_shares > 262144 ? 262144 : r->cpu_shares;
		snprintf(v, sizeof(v), "%" PRIu64, 1 + ((s - 2) * 9999) / 262142);
		if (v2_write(dir, "cpu.weight", v, err) < 0)
			return -1;
	}
	bool quota = r->has_cpu_quota && r->cpu_quota, period = r->has_cpu_period && r->cpu_period;
	if (quota || period) {
		char q[24];
		if (quota && r->cpu_quota < 0)
			snprintf(q, sizeof(q), "max");
		else if (quota)
			snprintf(q, sizeof(q), "%" PRId64, r->cpu_quota);
		else if (vs_cgroup_read(dir, "cpu.max", q, sizeof(q), err) < 0)
			return -1;
		else
			q[strcspn(q, " ")] = '\0'; /* keep the current quota */
		if (period)
			snprintf(v, sizeof(v), "%s %" PRIu64, q, r->cpu_period);
		else
			snprintf(v, sizeof(v), "%s", q);
		if (v2_write(dir, "cpu.max", v, err) < 0)
			return -1;
	}
	if (r->has_cpu_idle) {
		snprintf(v, sizeof(v), "%" PRId64, r->cpu_idle);
		if (v2_write(dir, "cpu.idle", v, err) < 0)
			return -1;
	}
	if (r->cpu_cpus && v2_write(dir, "cpuset.cpus", r->cpu_cpus, err) < 0)
		return -1;
	if (r->cpu_mems && v2_write(dir, "cpuset.mems", r->cpu_mems, err) < 0)
		return -1;
	return 0;
}

/* BFQ takes blkio's 10..1000 weight as is; io.weight wants 1..10000. */
static int v2_io_weight(const char *dir, const char *dev, uint64_t weight, struct vs_error *err)
{
	char v[64];
	snprintf(v, sizeof(v), "%s%s%" PRIu64, dev ? dev : "", dev ? " " : "", weight);
	int r = vs_cgroup_write_opt(dir, "io.bfq.weight", v, err);
	if (r <= 0)
		return r;
	uint64_t w = weight < 10 ? 10 : weight > 1000 ? 1000 : weight;
	snprintf(v, sizeof(v), "%s %" PRIu64, dev ? dev : "default", 1 + ((w - 10) * 9999) / 990);
	return v2_write(dir, "io.weight", v, err);
}

static int v2_io(const char *dir, const struct vs_spec_resources *r, struct vs_error *err)
{
	const struct {
		const char *key;
		const struct vs_spec_blkio_device *list;
		size_t count;
	} throttles[] = {
		{ "rbps", r->blkio_throttle_read_bps, r->blkio_throttle_read_bps_count },
		{ "wbps", r->blkio_throttle_write_bps, r->blkio_throttle_write_bps_count },
		{ "riops", r->blkio_throttle_read_iops, r->blkio_throttle_read_iops_count },
		{ "wiops", r->blkio_throttle_write_iops, r->blkio_throttle_write_iops_count },
	};
	char dev[48], v[96];
	if (r->has_blkio_weight && v2_io_weight(dir, NULL, r->blkio_weight, err) < 0)
		return -1;
	for (size_t i = 0; i < r->blkio_weight_device_count; i++) {
		const struct vs_spec_blkio_device *d = &r->blkio_weight_device[i];
		snprintf(dev, sizeof(dev), "%" PRId64 ":%" PRId64, d->major, d->minor);
		if (v2_io_weight(dir, dev, d->rate, err) < 0)
			return -1;
	}
	for (size_t t = 0; t < VS_ARRAY_SIZE(throttles); t++) {
		for (size_t i = 0; i < throttles[t].count; i++) {
			const struct vs_spec_blkio_device *d = &throttles[t].list[i];
			/* v1 treats a zero rate as "no limit"; so does this. */
			if (d->rate)
				snprintf(v, sizeof(v), "%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major,
					 d->minor, throttles[t].key, d->rate);
			else
				snprintf(v, sizeof(v), "%" PRId64 ":%" PRId64 " %s=max", d->major, d->minor,
					 throttles[t].key);
			if (v2_write(dir, "io.max", v, err) < 0)
				return -1;
		}
	}
	return 0;
}

int vs_cgroup_v2_apply_hugetlb(const char *dir, const struct vs_spec_resources *r, struct vs_error *err)
{
	for (size_t i = 0; i < r->hugepage_limits_count; i++) {
		char file[48], v[24];
		if (vs_cgroup_check_page_size(r->hugepage_limits[i].page_size, err) < 0)
			return -1;
		snprintf(file, sizeof(file), "hugetlb.%s.max", r->hugepage_limits[i].page_size);
		snprintf(v, sizeof(v), "%" PRIu64, r->hugepage_limits[i].limit);
		if (v2_write(dir, file, v, err) < 0)
			return -1;
	}
	return 0;
}

int vs_cgroup_v2_apply_rdma(const char *dir, const struct vs_spec_resources *r, struct vs_error *err)
{
	for (size_t i = 0; i < r->rdma_limits.count; i++) {
		if (vs_cgroup_write(dir, "rdma.max", r->rdma_limits.v[i], err) == 0)
			continue;
		if (err->code == ENOENT)
			return vs_error_msg_code(err, ENOENT,
						 "linux.resources.rdma: the `rdma` cgroup controller is not "
						 "available to %s on this host",
						 dir);
		return vs_error_prefix(err, "linux.resources.rdma: ");
	}
	return 0;
}

/* Membership and freezing belong to the runtime, not to unified keys. */
static const char *const runtime_owned[] = { "cgroup.procs", "cgroup.threads", "cgroup.kill",
					     "cgroup.freeze" };

int vs_cgroup_v2_apply_unified(const char *dir, const struct vs_spec_resources *r, struct vs_error *err)
{
	for (size_t i = 0; i < r->unified_keys.count; i++) {
		const char *key = r->unified_keys.v[i], *value = r->unified_values.v[i];
		const char *dot = strchr(key, '.');
		if (!dot || dot == key || !dot[1] || strchr(key, '/'))
			return vs_error_msg(err, "unified: `%s` is not a cgroup v2 file name", key);
		for (size_t k = 0; k < VS_ARRAY_SIZE(runtime_owned); k++)
			if (strcmp(key, runtime_owned[k]) == 0)
				return vs_error_msg(err, "unified: `%s` is managed by the runtime", key);
		if (vs_cgroup_write(dir, key, value, err) < 0) {
			if (err->code == ENOENT)
				return vs_error_msg_code(
				    err, ENOENT,
				    "unified: `%s`: no such file in %s (misspelled, or the "
				    "`%.*s` controller is not available to this cgroup)",
				    key, dir, (int)(dot - key), key);
			return vs_error_prefix(err, "unified: ");
		}
	}
	return 0;
}

static int v2_apply(struct vs_cgroup *cg, const struct vs_spec_resources *r, struct vs_error *err)
{
	const char *dir = vs_cgroup_dir_for(cg, VS_CG_UNIFIED);
	if (v2_memory(dir, r, err) < 0 || v2_cpu(dir, r, err) < 0)
		return -1;
	if (r->has_pids_limit && r->pids_limit != 0 &&
	    v2_write_i64_or_max(dir, "pids.max", r->pids_limit, err) < 0)
		return -1;
	if (v2_io(dir, r, err) < 0 || vs_cgroup_v2_apply_hugetlb(dir, r, err) < 0 ||
	    vs_cgroup_v2_apply_rdma(dir, r, err) < 0)
		return -1;
	/* cgroup v2 has no net_cls nor net_prio: a limit asked for is refused,
	 * never dropped. */
	if (r->has_net_class_id)
		return vs_error_msg(err,
				    "linux.resources.network.classID: cgroup v2 has no `net_cls` controller");
	if (r->net_priorities.count)
		return vs_error_msg(
		    err, "linux.resources.network.priorities: cgroup v2 has no `net_prio` controller");
	if (r->devices_count && vs_cgroup_bpf_devices(dir, r->devices, r->devices_count, err) < 0)
		return -1;
	/* Last, so explicit v2 values win over converted ones. */
	return vs_cgroup_v2_apply_unified(dir, r, err);
}

/* The "frozen" line of cgroup.events; -1 when the kernel has none. */
static int events_frozen(const char *dir, struct vs_error *err)
{
	char events[512];
	if (vs_cgroup_read(dir, "cgroup.events", events, sizeof(events), err) < 0)
		return -1;
	const char *p = strstr(events, "frozen ");
	if (!p || (p != events && p[-1] != '\n'))
		return vs_error_msg(err, "%s/cgroup.events: this kernel has no cgroup v2 freezer", dir);
	return p[7] == '1';
}

int vs_cgroup_v2_freeze_dir(const char *dir, bool frozen, struct vs_error *err)
{
	if (vs_cgroup_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	for (unsigned attempt = 0;;) {
		int state = events_frozen(dir, err);
		if (state < 0)
			break;
		if (state == (int)frozen)
			return 0;
		if (!vs_cgroup_freeze_backoff(&attempt)) {
			vs_error_msg(err, "%s/cgroup.events: not %s after about five seconds", dir,
				     frozen ? "frozen" : "thawed");
			break;
		}
	}
	if (!frozen)
		return -1;
	struct vs_error ignored = { 0 };
	vs_cgroup_write(dir, "cgroup.freeze", "0", &ignored);
	return vs_error_prefix(err, "freezing (thawed again): ");
}

int vs_cgroup_v2_is_frozen_dir(const char *dir, bool *frozen, struct vs_error *err)
{
	int state = events_frozen(dir, err);
	if (state < 0)
		return -1;
	*frozen = state == 1;
	return 0;
}

static int v2_freeze(struct vs_cgroup *cg, bool frozen, struct vs_error *err)
{
	return vs_cgroup_v2_freeze_dir(vs_cgroup_dir_for(cg, VS_CG_UNIFIED), frozen, err);
}

static int v2_is_frozen(struct vs_cgroup *cg, bool *frozen, struct vs_error *err)
{
	return vs_cgroup_v2_is_frozen_dir(vs_cgroup_dir_for(cg, VS_CG_UNIFIED), frozen, err);
}

static const char *v2_procs_dir(const struct vs_cgroup *cg)
{
	return vs_cgroup_dir_for(cg, VS_CG_UNIFIED);
}

static int v2_init_level(const struct vs_cgroup_mount *m, const char *parent, const char *dir,
			 struct vs_error *err)
{
	(void)m;
	(void)dir;
	(void)err;
	enable_controllers(parent);
	return 0;
}

const struct vs_cgroup_ops vs_cgroup_v2_ops = {
	.kind = VS_CGROUP_V2,
	.init_level = v2_init_level,
	.frozen_holds_kill = false,
	.apply = v2_apply,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
	.procs_dir = v2_procs_dir,
};
