/* config.json "linux": namespaces, ID mappings, devices, sysctl, paths and
 * the smaller Linux-only settings. Resources and seccomp have their own
 * files. */
#include "container/spec_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"

/* Indexed by enum vs_ns_type; the strings are the spec's type names. */
static const char *const ns_names[VS_NS_COUNT] = {
	[VS_NS_MOUNT] = "mount", [VS_NS_PID] = "pid",	[VS_NS_UTS] = "uts",	   [VS_NS_IPC] = "ipc",
	[VS_NS_NET] = "network", [VS_NS_USER] = "user", [VS_NS_CGROUP] = "cgroup", [VS_NS_TIME] = "time",
};

static const char *const propagation_names[] = {
	"private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
};

const char *vs_ns_type_name(enum vs_ns_type type)
{
	return (unsigned)type < VS_NS_COUNT ? ns_names[type] : "unknown";
}

/* `opaque` is the bit set of types seen so far. */
static int read_namespace(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_spec_namespace *ns = elem;
	unsigned *seen = opaque;
	vs_autofree char *type = NULL;
	size_t mark;
	int t;

	if (vs_sp_val_object(c, v) < 0 || vs_sp_string(c, v, "type", true, &type) < 0)
		return -1;
	mark = vs_sp_push(c, "type");
	t = vs_sp_lookup(ns_names, VS_ARRAY_SIZE(ns_names), type);
	if (t < 0)
		return vs_sp_fail(c, "unknown namespace type `%.64s`", type);
	if (*seen & (1u << t))
		return vs_sp_fail(c, "namespace type `%s` is listed twice", type);
	vs_sp_pop(c, mark);
	*seen |= 1u << t;
	ns->type = (enum vs_ns_type)t;
	/* An empty path is how some generators say "no path": create. */
	if (vs_json_str(vs_sp_member(v, "path")) && !vs_json_str(vs_sp_member(v, "path"))[0])
		return 0;
	return vs_sp_abs_path(c, v, "path", false, &ns->path);
}

static int read_namespaces(struct vs_spec_ctx *c, const struct vs_json *lnx, struct vs_spec_linux *l)
{
	unsigned seen = 0;
	return vs_sp_array_each(c, lnx, "namespaces", sizeof(*l->namespaces), false, read_namespace, &seen,
				(void **)&l->namespaces, &l->namespaces_count);
}

static const struct vs_spec_namespace *find_ns(const struct vs_spec_linux *l, enum vs_ns_type type)
{
	for (size_t i = 0; i < l->namespaces_count; i++)
		if (l->namespaces[i].type == type)
			return &l->namespaces[i];
	return NULL;
}

/* Mappings are written into a user namespace the runtime creates; one
 * joined by path already has its own. */
static int check_userns(struct vs_spec_ctx *c, const struct vs_spec_linux *l)
{
	const struct vs_spec_namespace *user = find_ns(l, VS_NS_USER);
	size_t mark;
	int ret = 0;

	if (!user) {
		const char *key = l->uid_mappings_count ? "uidMappings" : "gidMappings";
		if (!l->uid_mappings_count && !l->gid_mappings_count)
			return 0;
		mark = vs_sp_push(c, key);
		ret = vs_sp_fail(c, "ID mappings given but linux.namespaces has no user namespace");
		vs_sp_pop(c, mark);
		return ret;
	}
	/* Joining by path: mappings may still be listed to describe the
	 * existing namespace; they are not applied, so nothing is required
	 * of them. */
	if (user->path)
		return 0;
	if (!l->uid_mappings_count || !l->gid_mappings_count) {
		mark = vs_sp_push(c, l->uid_mappings_count ? "gidMappings" : "uidMappings");
		ret = vs_sp_fail(c, "a new user namespace needs both uidMappings and gidMappings");
		vs_sp_pop(c, mark);
	}
	return ret;
}

static int read_device(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_spec_device *d = elem;
	vs_autofree char *type = NULL;
	bool need_numbers;
	(void)opaque;

	if (vs_sp_val_object(c, v) < 0 || vs_sp_abs_path(c, v, "path", true, &d->path) < 0 ||
	    vs_sp_string(c, v, "type", true, &type) < 0)
		return -1;
	if (strlen(type) != 1 || !strchr("cbup", type[0])) {
		vs_sp_push(c, "type");
		return vs_sp_fail(c, "unknown device type `%.16s` (expected c, b, u or p)", type);
	}
	d->type = type[0];
	/* A FIFO has no device numbers; the others cannot do without. */
	need_numbers = d->type != 'p';
	d->major = d->minor = 0;
	if (vs_sp_i64(c, v, "major", need_numbers, 0, INT64_MAX, &d->major, NULL) < 0 ||
	    vs_sp_i64(c, v, "minor", need_numbers, 0, INT64_MAX, &d->minor, NULL) < 0 ||
	    vs_sp_u32(c, v, "fileMode", false, &d->file_mode, &d->has_file_mode) < 0 ||
	    vs_sp_u32(c, v, "uid", false, &d->uid, &d->has_uid) < 0 ||
	    vs_sp_u32(c, v, "gid", false, &d->gid, &d->has_gid) < 0)
		return -1;
	/* podman passes the host device's whole st_mode, file type bits
	 * included (020666 for a char device): the type comes from `type`,
	 * so keep the permission bits, as runc does. Anything beyond a file
	 * type is still an error. */
	if (d->has_file_mode && (d->file_mode & ~(uint32_t)(S_IFMT | 07777))) {
		vs_sp_push(c, "fileMode");
		return vs_sp_fail(c, "mode %#o has bits outside a file type and 07777", d->file_mode);
	}
	d->file_mode &= 07777;
	return 0;
}

static int read_devices(struct vs_spec_ctx *c, const struct vs_json *lnx, struct vs_spec_linux *l)
{
	return vs_sp_array_each(c, lnx, "devices", sizeof(*l->devices), false, read_device, NULL,
				(void **)&l->devices, &l->devices_count);
}

/* maskedPaths / readonlyPaths: lists of absolute container paths. */
static int read_abs_paths(struct vs_spec_ctx *c, const struct vs_json *lnx, const char *key,
			  struct vs_strv *out)
{
	size_t mark;
	if (vs_sp_strv(c, lnx, key, out) < 0)
		return -1;
	for (size_t i = 0; i < out->count; i++) {
		if (out->v[i][0] == '/')
			continue;
		mark = vs_sp_push(c, key);
		vs_sp_push_index(c, i);
		vs_sp_fail(c, "`%.128s` is not an absolute path", out->v[i]);
		vs_sp_pop(c, mark);
		return -1;
	}
	return 0;
}

static int read_offset(struct vs_spec_ctx *c, const struct vs_json *offs, const char *key, int64_t *secs,
		       uint32_t *nsecs)
{
	const struct vs_json *o;
	size_t mark;
	int ret;

	if (vs_sp_object(c, offs, key, &o) < 0)
		return -1;
	if (!o)
		return 0;
	mark = vs_sp_push(c, key);
	ret = (vs_sp_i64(c, o, "secs", false, INT64_MIN, INT64_MAX, secs, NULL) < 0 ||
	       vs_sp_u32(c, o, "nanosecs", false, nsecs, NULL) < 0)
		  ? -1
		  : 0;
	if (ret == 0 && *nsecs >= 1000000000u) {
		vs_sp_push(c, "nanosecs");
		ret = vs_sp_fail(c, "must be below 1000000000");
	}
	vs_sp_pop(c, mark);
	return ret;
}

static int read_time_offsets(struct vs_spec_ctx *c, const struct vs_json *lnx, struct vs_spec_linux *l)
{
	const struct vs_json *offs;
	const struct vs_spec_namespace *time_ns;
	size_t mark;
	int ret;

	if (vs_sp_object(c, lnx, "timeOffsets", &offs) < 0)
		return -1;
	if (!offs)
		return 0;
	mark = vs_sp_push(c, "timeOffsets");
	ret = (read_offset(c, offs, "monotonic", &l->monotonic_secs, &l->monotonic_nanosecs) < 0 ||
	       read_offset(c, offs, "boottime", &l->boottime_secs, &l->boottime_nanosecs) < 0)
		  ? -1
		  : 0;
	/* Offsets can only be written into a time namespace not yet
	 * entered by any process: one this runtime creates. */
	time_ns = find_ns(l, VS_NS_TIME);
	if (ret == 0 && (!time_ns || time_ns->path))
		ret = vs_sp_fail(c, "time offsets need a new time namespace in linux.namespaces");
	vs_sp_pop(c, mark);
	l->has_time_offsets = ret == 0;
	return ret;
}

static int read_personality(struct vs_spec_ctx *c, const struct vs_json *lnx, struct vs_spec_linux *l)
{
	const struct vs_json *pers;
	size_t mark;
	int ret = 0;

	if (vs_sp_object(c, lnx, "personality", &pers) < 0)
		return -1;
	if (!pers)
		return 0;
	mark = vs_sp_push(c, "personality");
	/* "flags" is accepted and ignored: the spec defines no values yet. */
	if (vs_sp_string(c, pers, "domain", true, &l->personality_domain) < 0) {
		ret = -1;
	} else if (strcmp(l->personality_domain, "LINUX") != 0 &&
		   strcmp(l->personality_domain, "LINUX32") != 0) {
		vs_sp_push(c, "domain");
		ret = vs_sp_fail(c, "unknown personality domain `%.64s` (expected LINUX or LINUX32)",
				 l->personality_domain);
	} else {
		l->has_personality = true;
	}
	vs_sp_pop(c, mark);
	return ret;
}

static int read_propagation(struct vs_spec_ctx *c, const struct vs_json *lnx, struct vs_spec_linux *l)
{
	size_t mark;
	int ret = 0;
	if (vs_sp_string(c, lnx, "rootfsPropagation", false, &l->rootfs_propagation) < 0)
		return -1;
	if (l->rootfs_propagation && !l->rootfs_propagation[0]) {
		/* "" means unset: leave the default to the mount code. */
		free(l->rootfs_propagation);
		l->rootfs_propagation = NULL;
	}
	if (l->rootfs_propagation &&
	    vs_sp_lookup(propagation_names, VS_ARRAY_SIZE(propagation_names), l->rootfs_propagation) < 0) {
		mark = vs_sp_push(c, "rootfsPropagation");
		ret = vs_sp_fail(c, "unknown propagation `%.64s`", l->rootfs_propagation);
		vs_sp_pop(c, mark);
	}
	return ret;
}

int vs_sp_linux(struct vs_spec_ctx *c, const struct vs_json *lnx, struct vs_spec_linux *l)
{
	const struct vs_json *res, *sec;
	size_t mark;
	int ret;

	if (read_namespaces(c, lnx, l) < 0 ||
	    vs_sp_idmaps(c, lnx, "uidMappings", &l->uid_mappings, &l->uid_mappings_count) < 0 ||
	    vs_sp_idmaps(c, lnx, "gidMappings", &l->gid_mappings, &l->gid_mappings_count) < 0 ||
	    check_userns(c, l) < 0 || read_time_offsets(c, lnx, l) < 0 || read_devices(c, lnx, l) < 0 ||
	    vs_sp_string(c, lnx, "cgroupsPath", false, &l->cgroups_path) < 0)
		return -1;

	if (vs_sp_object(c, lnx, "resources", &res) < 0 || vs_sp_object(c, lnx, "seccomp", &sec) < 0)
		return -1;
	if (res) {
		l->has_resources = true;
		mark = vs_sp_push(c, "resources");
		ret = vs_sp_resources(c, res, &l->resources);
		vs_sp_pop(c, mark);
		if (ret < 0)
			return -1;
	}
	if (sec) {
		l->seccomp = vs_sp_alloc_array(c, 1, sizeof(*l->seccomp));
		if (!l->seccomp)
			return -1;
		mark = vs_sp_push(c, "seccomp");
		ret = vs_sp_seccomp(c, sec, l->seccomp);
		vs_sp_pop(c, mark);
		if (ret < 0)
			return -1;
	}
	if (vs_sp_map(c, lnx, "sysctl", &l->sysctl_keys, &l->sysctl_values) < 0 ||
	    read_propagation(c, lnx, l) < 0 || read_abs_paths(c, lnx, "maskedPaths", &l->masked_paths) < 0 ||
	    read_abs_paths(c, lnx, "readonlyPaths", &l->readonly_paths) < 0 ||
	    vs_sp_string(c, lnx, "mountLabel", false, &l->mount_label) < 0 || read_personality(c, lnx, l) < 0)
		return -1;
	return 0;
}

void vs_sp_linux_free(struct vs_spec_linux *l)
{
	for (size_t i = 0; i < l->namespaces_count; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->devices_count; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	vs_sp_resources_free(&l->resources);
	vs_strv_free(&l->sysctl_keys);
	vs_strv_free(&l->sysctl_values);
	if (l->seccomp) {
		vs_sp_seccomp_free(l->seccomp);
		free(l->seccomp);
	}
	free(l->rootfs_propagation);
	vs_strv_free(&l->masked_paths);
	vs_strv_free(&l->readonly_paths);
	free(l->mount_label);
	free(l->personality_domain);
	memset(l, 0, sizeof(*l));
}
