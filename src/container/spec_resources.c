/* config.json "linux.resources": cgroup limits. Values are range-checked
 * against their spec types; whether the host's cgroup version can apply
 * them is the cgroup code's business. */
#include "container/spec_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

/* Memory limits are int64 where -1 means "unlimited"; lower is nonsense. */
#define MEM_MIN (-1)

/* Enter the sub-object `key` of `obj`: NULL (and *ret 0) when absent. */
static const struct vs_json *sub(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key,
				 size_t *mark, int *ret)
{
	const struct vs_json *o = NULL;
	*ret = vs_sp_object(c, obj, key, &o);
	if (o)
		*mark = vs_sp_push(c, key);
	return o;
}

static int read_device_rule(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_spec_device_rule *d = elem;
	vs_autofree char *type = NULL, *access = NULL;
	const struct vs_json *allow;
	(void)opaque;

	if (vs_sp_val_object(c, v) < 0)
		return -1;
	allow = vs_sp_member(v, "allow");
	if (!allow) {
		vs_sp_push(c, "allow");
		return vs_sp_fail(c, "required field is missing");
	}
	/* Absent type, major, minor or access mean "all" (spec defaults). */
	d->type = 'a';
	d->major = d->minor = -1;
	strcpy(d->access, "rwm");
	if (vs_sp_bool(c, v, "allow", &d->allow) < 0 || vs_sp_string(c, v, "type", false, &type) < 0 ||
	    vs_sp_i64(c, v, "major", false, -1, INT64_MAX, &d->major, NULL) < 0 ||
	    vs_sp_i64(c, v, "minor", false, -1, INT64_MAX, &d->minor, NULL) < 0 ||
	    vs_sp_string(c, v, "access", false, &access) < 0)
		return -1;
	if (type && type[0]) {
		if (strlen(type) != 1 || !strchr("acb", type[0])) {
			vs_sp_push(c, "type");
			return vs_sp_fail(c, "unknown device type `%.16s` (expected a, c or b)", type);
		}
		d->type = type[0];
	}
	if (access && access[0]) {
		/* Each of r, w, m at most once; kept in the given order. */
		size_t n = strlen(access);
		bool bad = n > 3;
		for (size_t i = 0; i < n && !bad; i++)
			bad = !strchr("rwm", access[i]) || memchr(access, access[i], i);
		if (bad) {
			vs_sp_push(c, "access");
			return vs_sp_fail(c, "invalid access `%.16s` (a combination of r, w and m)", access);
		}
		memcpy(d->access, access, n + 1);
	}
	return 0;
}

static int read_device_rules(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	return vs_sp_array_each(c, res, "devices", sizeof(*r->devices), false, read_device_rule, NULL,
				(void **)&r->devices, &r->devices_count);
}

static int read_memory(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	size_t mark = 0;
	int ret;
	const struct vs_json *m = sub(c, res, "memory", &mark, &ret);
	if (!m)
		return ret;
	/* kernelTCP, useHierarchy and checkBeforeUpdate are not modelled:
	 * deprecated or without effect on the cgroup versions in use. */
	ret = (vs_sp_i64(c, m, "limit", false, MEM_MIN, INT64_MAX, &r->memory_limit, &r->has_memory_limit) <
		   0 ||
	       vs_sp_i64(c, m, "reservation", false, MEM_MIN, INT64_MAX, &r->memory_reservation,
			 &r->has_memory_reservation) < 0 ||
	       vs_sp_i64(c, m, "swap", false, MEM_MIN, INT64_MAX, &r->memory_swap, &r->has_memory_swap) < 0 ||
	       vs_sp_i64(c, m, "kernel", false, MEM_MIN, INT64_MAX, &r->memory_kernel,
			 &r->has_memory_kernel) < 0 ||
	       vs_sp_u64(c, m, "swappiness", false, &r->memory_swappiness, &r->has_memory_swappiness) < 0 ||
	       vs_sp_bool(c, m, "disableOOMKiller", &r->disable_oom_killer) < 0)
		  ? -1
		  : 0;
	if (ret == 0 && r->has_memory_swappiness && r->memory_swappiness > 100) {
		vs_sp_push(c, "swappiness");
		ret = vs_sp_fail(c, "value %llu out of range (0 to 100)",
				 (unsigned long long)r->memory_swappiness);
	}
	vs_sp_pop(c, mark);
	return ret;
}

static int read_cpu(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	size_t mark = 0;
	int ret;
	const struct vs_json *o = sub(c, res, "cpu", &mark, &ret);
	if (!o)
		return ret;
	/* "burst" is not modelled. */
	ret = (vs_sp_u64(c, o, "shares", false, &r->cpu_shares, &r->has_cpu_shares) < 0 ||
	       vs_sp_i64(c, o, "quota", false, -1, INT64_MAX, &r->cpu_quota, &r->has_cpu_quota) < 0 ||
	       vs_sp_u64(c, o, "period", false, &r->cpu_period, &r->has_cpu_period) < 0 ||
	       vs_sp_i64(c, o, "realtimeRuntime", false, -1, INT64_MAX, &r->cpu_rt_runtime,
			 &r->has_cpu_rt_runtime) < 0 ||
	       vs_sp_u64(c, o, "realtimePeriod", false, &r->cpu_rt_period, &r->has_cpu_rt_period) < 0 ||
	       vs_sp_string(c, o, "cpus", false, &r->cpu_cpus) < 0 ||
	       vs_sp_string(c, o, "mems", false, &r->cpu_mems) < 0 ||
	       vs_sp_i64(c, o, "idle", false, 0, 1, &r->cpu_idle, &r->has_cpu_idle) < 0)
		  ? -1
		  : 0;
	vs_sp_pop(c, mark);
	return ret;
}

static int read_pids(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	size_t mark = 0;
	int ret;
	const struct vs_json *o = sub(c, res, "pids", &mark, &ret);
	if (!o)
		return ret;
	/* 0 and -1 both mean "no limit" to the runtimes podman drives. */
	ret = vs_sp_i64(c, o, "limit", false, -1, INT64_MAX, &r->pids_limit, &r->has_pids_limit);
	vs_sp_pop(c, mark);
	return ret;
}

/* One entry of a blockIO device list; `opaque` is the rate key, "rate"
 * or "weight". */
static int read_blkio_device(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_spec_blkio_device *d = elem;
	const char *rate_key = opaque;
	bool weight = strcmp(rate_key, "weight") == 0;
	uint32_t w = 0;
	/* A weight entry may carry only leafWeight, which cgroup v1 alone
	 * knows and vessel ignores: its weight then reads 0. */
	if (vs_sp_val_object(c, v) < 0 || vs_sp_i64(c, v, "major", true, 0, INT64_MAX, &d->major, NULL) < 0 ||
	    vs_sp_i64(c, v, "minor", true, 0, INT64_MAX, &d->minor, NULL) < 0 ||
	    (weight ? vs_sp_u32(c, v, rate_key, false, &w, NULL)
		    : vs_sp_u64(c, v, rate_key, true, &d->rate, NULL)) < 0)
		return -1;
	if (!weight)
		return 0;
	d->rate = w;
	if (w > UINT16_MAX) {
		vs_sp_push(c, rate_key);
		return vs_sp_fail(c, "value %u out of range (0 to 65535)", w);
	}
	return 0;
}

static int read_blkio_list(struct vs_spec_ctx *c, const struct vs_json *blk, const char *key,
			   const char *rate_key, struct vs_spec_blkio_device **out, size_t *count)
{
	return vs_sp_array_each(c, blk, key, sizeof(**out), false, read_blkio_device, (void *)rate_key,
				(void **)out, count);
}

static int read_blkio(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	size_t mark = 0;
	uint32_t weight = 0;
	int ret;
	const struct vs_json *o = sub(c, res, "blockIO", &mark, &ret);
	if (!o)
		return ret;
	ret = vs_sp_u32(c, o, "weight", false, &weight, &r->has_blkio_weight);
	if (ret == 0 && weight > UINT16_MAX) {
		vs_sp_push(c, "weight");
		ret = vs_sp_fail(c, "value %u out of range (0 to 65535)", weight);
	}
	r->blkio_weight = (uint16_t)weight;
	if (ret == 0)
		ret = (read_blkio_list(c, o, "weightDevice", "weight", &r->blkio_weight_device,
				       &r->blkio_weight_device_count) < 0 ||
		       read_blkio_list(c, o, "throttleReadBpsDevice", "rate", &r->blkio_throttle_read_bps,
				       &r->blkio_throttle_read_bps_count) < 0 ||
		       read_blkio_list(c, o, "throttleWriteBpsDevice", "rate", &r->blkio_throttle_write_bps,
				       &r->blkio_throttle_write_bps_count) < 0 ||
		       read_blkio_list(c, o, "throttleReadIOPSDevice", "rate", &r->blkio_throttle_read_iops,
				       &r->blkio_throttle_read_iops_count) < 0 ||
		       read_blkio_list(c, o, "throttleWriteIOPSDevice", "rate", &r->blkio_throttle_write_iops,
				       &r->blkio_throttle_write_iops_count) < 0)
			  ? -1
			  : 0;
	vs_sp_pop(c, mark);
	return ret;
}

static int read_hugepage_limit(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_spec_hugepage_limit *h = elem;
	(void)opaque;
	if (vs_sp_val_object(c, v) < 0 || vs_sp_string(c, v, "pageSize", true, &h->page_size) < 0 ||
	    vs_sp_u64(c, v, "limit", true, &h->limit, NULL) < 0)
		return -1;
	return 0;
}

static int read_hugepages(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	return vs_sp_array_each(c, res, "hugepageLimits", sizeof(*r->hugepage_limits), false,
				read_hugepage_limit, NULL, (void **)&r->hugepage_limits,
				&r->hugepage_limits_count);
}

/* A vector of `n` lines, NULL-terminated, counted as it fills so that a
 * failure half-way leaves something vs_strv_free releases. */
static int strv_alloc(struct vs_spec_ctx *c, struct vs_strv *out, size_t n)
{
	out->v = vs_sp_alloc_array(c, n + 1, sizeof(*out->v));
	out->count = 0;
	return out->v ? 0 : -1;
}

/* Append what asprintf() returned in `n` and `line`. */
static int strv_add(struct vs_spec_ctx *c, struct vs_strv *out, int n, char *line)
{
	if (n < 0)
		return vs_sp_fail_oom(c);
	out->v[out->count++] = line;
	return 0;
}

/* A name that goes into a cgroup file line: no blank or control byte. */
static int check_word(struct vs_spec_ctx *c, const char *s, const char *what)
{
	if (!*s)
		return vs_sp_fail(c, "empty %s", what);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ')
			return vs_sp_fail(c, "%s `%.32s` contains a blank or control character", what, s);
	return 0;
}

static int read_net_priority(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_strv *out = opaque;
	vs_autofree char *name = NULL;
	uint32_t prio = 0;
	char *line = NULL;
	int n;
	(void)elem;
	if (vs_sp_val_object(c, v) < 0 || vs_sp_string(c, v, "name", true, &name) < 0 ||
	    vs_sp_u32(c, v, "priority", true, &prio, NULL) < 0 || check_word(c, name, "interface name") < 0)
		return -1;
	n = asprintf(&line, "%s %u", name, prio);
	return strv_add(c, out, n, line);
}

static int read_network(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	size_t mark = 0, n = 0;
	int ret;
	const struct vs_json *o = sub(c, res, "network", &mark, &ret), *prios = NULL;
	void *scratch = NULL;
	if (!o)
		return ret;
	ret = vs_sp_u32(c, o, "classID", false, &r->net_class_id, &r->has_net_class_id);
	if (ret == 0)
		ret = vs_sp_array(c, o, "priorities", &prios);
	if (ret == 0 && prios && prios->arr.count) {
		ret = strv_alloc(c, &r->net_priorities, prios->arr.count);
		if (ret == 0)
			ret = vs_sp_array_each(c, o, "priorities", 1, false, read_net_priority,
					       &r->net_priorities, &scratch, &n);
		free(scratch);
	}
	vs_sp_pop(c, mark);
	return ret;
}

/* One rdma limit: a count or "max" when absent. */
static int rdma_limit(struct vs_spec_ctx *c, const struct vs_json *o, const char *key, char *buf, size_t size)
{
	bool has = false;
	uint32_t v = 0;
	if (vs_sp_u32(c, o, key, false, &v, &has) < 0)
		return -1;
	if (has)
		snprintf(buf, size, "%u", v);
	else
		snprintf(buf, size, "max");
	return 0;
}

static int read_rdma(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	const struct vs_json *map;
	size_t mark;
	int ret = 0;
	if (vs_sp_object(c, res, "rdma", &map) < 0)
		return -1;
	if (!map || map->obj.count == 0)
		return 0;
	mark = vs_sp_push(c, "rdma");
	if (strv_alloc(c, &r->rdma_limits, map->obj.count) < 0)
		ret = -1;
	for (size_t i = 0; i < map->obj.count && ret == 0; i++) {
		const struct vs_json_member *m = &map->obj.members[i];
		size_t mk = vs_sp_push_map_key(c, m->key);
		char handles[16], objects[16], *line = NULL;
		if (memchr(m->key, '\0', m->key_len))
			ret = vs_sp_fail(c, "key contains a NUL character");
		else if (check_word(c, m->key, "device name") < 0 || vs_sp_val_object(c, &m->value) < 0 ||
			 rdma_limit(c, &m->value, "hcaHandles", handles, sizeof(handles)) < 0 ||
			 rdma_limit(c, &m->value, "hcaObjects", objects, sizeof(objects)) < 0)
			ret = -1;
		else {
			/* asprintf first: an argument list has no evaluation order. */
			int n = asprintf(&line, "%s hca_handle=%s hca_object=%s", m->key, handles, objects);
			ret = strv_add(c, &r->rdma_limits, n, line);
		}
		vs_sp_pop(c, mk);
	}
	vs_sp_pop(c, mark);
	return ret;
}

int vs_sp_resources(struct vs_spec_ctx *c, const struct vs_json *res, struct vs_spec_resources *r)
{
	if (read_device_rules(c, res, r) < 0 || read_memory(c, res, r) < 0 || read_cpu(c, res, r) < 0 ||
	    read_pids(c, res, r) < 0 || read_blkio(c, res, r) < 0 || read_hugepages(c, res, r) < 0 ||
	    read_network(c, res, r) < 0 || read_rdma(c, res, r) < 0 ||
	    vs_sp_map(c, res, "unified", &r->unified_keys, &r->unified_values) < 0)
		return -1;
	return 0;
}

void vs_sp_resources_free(struct vs_spec_resources *r)
{
	free(r->devices);
	free(r->cpu_cpus);
	free(r->cpu_mems);
	free(r->blkio_throttle_read_bps);
	free(r->blkio_throttle_write_bps);
	free(r->blkio_throttle_read_iops);
	free(r->blkio_throttle_write_iops);
	free(r->blkio_weight_device);
	for (size_t i = 0; i < r->hugepage_limits_count; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	vs_strv_free(&r->unified_keys);
	vs_strv_free(&r->unified_values);
	vs_strv_free(&r->net_priorities);
	vs_strv_free(&r->rdma_limits);
	memset(r, 0, sizeof(*r));
}
