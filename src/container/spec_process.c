/* config.json "process" (also the whole document of `exec --process`). */
#include "container/spec_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "util/cleanup.h"

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

/* Indexed by RLIMIT_* value, so the index is the resource number. */
static const char *const rlimit_names[] = {
	[RLIMIT_CPU] = "RLIMIT_CPU",	       [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_DATA] = "RLIMIT_DATA",	       [RLIMIT_STACK] = "RLIMIT_STACK",
	[RLIMIT_CORE] = "RLIMIT_CORE",	       [RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

static int read_cap_set(struct vs_spec_ctx *c, const struct vs_json *caps, const char *key, uint64_t *mask)
{
	const struct vs_json *arr;
	size_t mark;
	int ret = 0;

	if (vs_sp_array(c, caps, key, &arr) < 0)
		return -1;
	if (!arr)
		return 0;
	mark = vs_sp_push(c, key);
	for (size_t i = 0; i < arr->arr.count && ret == 0; i++) {
		const struct vs_json *v = &arr->arr.items[i];
		size_t m = vs_sp_push_index(c, i);
		int bit;
		if (v->type != VS_JSON_STRING)
			ret = vs_sp_fail(c, "expected a capability name, got %s", vs_json_type_name(v->type));
		else if ((bit = vs_sp_lookup(cap_names, VS_ARRAY_SIZE(cap_names), v->str.s)) < 0)
			ret = vs_sp_fail(
			    c, "unknown capability `%.64s` (known: CAP_CHOWN ... CAP_CHECKPOINT_RESTORE)",
			    v->str.s);
		else
			*mask |= 1ull << bit;
		vs_sp_pop(c, m);
	}
	vs_sp_pop(c, mark);
	return ret;
}

static int read_caps(struct vs_spec_ctx *c, const struct vs_json *proc, struct vs_spec_process *p)
{
	const struct vs_json *caps;
	size_t mark;
	int ret;

	if (vs_sp_object(c, proc, "capabilities", &caps) < 0)
		return -1;
	if (!caps)
		return 0;
	p->has_caps = true;
	mark = vs_sp_push(c, "capabilities");
	ret = (read_cap_set(c, caps, "bounding", &p->caps.bounding) < 0 ||
	       read_cap_set(c, caps, "effective", &p->caps.effective) < 0 ||
	       read_cap_set(c, caps, "inheritable", &p->caps.inheritable) < 0 ||
	       read_cap_set(c, caps, "permitted", &p->caps.permitted) < 0 ||
	       read_cap_set(c, caps, "ambient", &p->caps.ambient) < 0)
		  ? -1
		  : 0;
	vs_sp_pop(c, mark);
	return ret;
}

/* `opaque` is the process: entries before this one are checked for
 * duplicates. */
static int read_rlimit(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_spec_rlimit *r = elem;
	const struct vs_spec_rlimit *earlier = ((const struct vs_spec_process *)opaque)->rlimits;
	size_t n_earlier = (size_t)(r - earlier);
	vs_autofree char *type = NULL;
	size_t mark;
	int res;

	if (vs_sp_val_object(c, v) < 0 || vs_sp_string(c, v, "type", true, &type) < 0)
		return -1;
	res = vs_sp_lookup(rlimit_names, VS_ARRAY_SIZE(rlimit_names), type);
	mark = vs_sp_push(c, "type");
	if (res < 0)
		return vs_sp_fail(c, "unknown rlimit type `%.64s` (known: RLIMIT_CPU ... RLIMIT_RTTIME)",
				  type);
	for (size_t i = 0; i < n_earlier; i++)
		if (earlier[i].resource == res)
			return vs_sp_fail(c, "%s is set twice (also rlimits[%zu])", type, i);
	vs_sp_pop(c, mark);
	r->resource = res;
	if (vs_sp_u64(c, v, "soft", true, &r->soft, NULL) < 0 ||
	    vs_sp_u64(c, v, "hard", true, &r->hard, NULL) < 0)
		return -1;
	/* setrlimit() would refuse it later with a bare EINVAL. */
	if (r->soft > r->hard) {
		vs_sp_push(c, "soft");
		return vs_sp_fail(c, "soft limit %llu exceeds hard limit %llu", (unsigned long long)r->soft,
				  (unsigned long long)r->hard);
	}
	return 0;
}

static int read_rlimits(struct vs_spec_ctx *c, const struct vs_json *proc, struct vs_spec_process *p)
{
	return vs_sp_array_each(c, proc, "rlimits", sizeof(*p->rlimits), false, read_rlimit, p,
				(void **)&p->rlimits, &p->rlimits_count);
}

static int read_gid(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	uint64_t g = 0;
	(void)opaque;
	if (vs_sp_val_u64(c, v, UINT32_MAX, &g) < 0)
		return -1;
	*(uint32_t *)elem = (uint32_t)g;
	return 0;
}

static int read_user(struct vs_spec_ctx *c, const struct vs_json *proc, struct vs_spec_user *u)
{
	const struct vs_json *user;
	size_t mark;
	int ret = 0;

	if (vs_sp_object(c, proc, "user", &user) < 0)
		return -1;
	if (!user)
		return 0; /* runs as 0:0, as runc does for a missing user */
	mark = vs_sp_push(c, "user");
	if (vs_sp_u32(c, user, "uid", false, &u->uid, NULL) < 0 ||
	    vs_sp_u32(c, user, "gid", false, &u->gid, NULL) < 0 ||
	    vs_sp_u32(c, user, "umask", false, &u->umask, &u->has_umask) < 0) {
		ret = -1;
		goto out;
	}
	if (u->has_umask && u->umask > 0777) {
		vs_sp_push(c, "umask");
		ret = vs_sp_fail(c, "umask %#o has bits outside 0777", u->umask);
		goto out;
	}
	ret = vs_sp_array_each(c, user, "additionalGids", sizeof(*u->additional_gids), false, read_gid, NULL,
			       (void **)&u->additional_gids, &u->additional_gids_count);
out:
	vs_sp_pop(c, mark);
	return ret;
}

int vs_sp_process(struct vs_spec_ctx *c, const struct vs_json *proc, struct vs_spec_process *p)
{
	const struct vs_json *console;
	int64_t oom = 0;

	if (vs_sp_val_object(c, proc) < 0)
		return -1;
	if (vs_sp_bool(c, proc, "terminal", &p->terminal) < 0 ||
	    vs_sp_object(c, proc, "consoleSize", &console) < 0)
		return -1;
	if (console) {
		size_t mark = vs_sp_push(c, "consoleSize");
		int ret = (vs_sp_u32(c, console, "height", true, &p->console_size.height, NULL) < 0 ||
			   vs_sp_u32(c, console, "width", true, &p->console_size.width, NULL) < 0)
			      ? -1
			      : 0;
		vs_sp_pop(c, mark);
		if (ret < 0)
			return -1;
		p->has_console_size = true;
	}
	if (read_user(c, proc, &p->user) < 0 || vs_sp_strv(c, proc, "args", &p->args) < 0 ||
	    vs_sp_strv(c, proc, "env", &p->env) < 0 || vs_sp_abs_path(c, proc, "cwd", true, &p->cwd) < 0)
		return -1;
	if (p->args.count == 0) {
		size_t mark = vs_sp_push(c, "args");
		vs_sp_fail(c, vs_sp_member(proc, "args") ? "must contain at least one entry"
							 : "required field is missing");
		vs_sp_pop(c, mark);
		return -1;
	}
	if (read_caps(c, proc, p) < 0 || read_rlimits(c, proc, p) < 0 ||
	    vs_sp_bool(c, proc, "noNewPrivileges", &p->no_new_privileges) < 0 ||
	    vs_sp_string(c, proc, "apparmorProfile", false, &p->apparmor_profile) < 0 ||
	    vs_sp_string(c, proc, "selinuxLabel", false, &p->selinux_label) < 0 ||
	    vs_sp_i64(c, proc, "oomScoreAdj", false, -1000, 1000, &oom, &p->has_oom_score_adj) < 0)
		return -1;
	p->oom_score_adj = (int)oom;
	return 0;
}

void vs_spec_process_free(struct vs_spec_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	vs_strv_free(&p->args);
	vs_strv_free(&p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof(*p));
}
