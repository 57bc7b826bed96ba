/* config.json "linux.seccomp". Names are checked here so the filter
 * builder only ever sees values it can express. */
#include "container/spec_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

/* Indexed by enum vs_seccomp_action. */
static const char *const action_names[] = {
	[VS_SECCOMP_KILL] = "SCMP_ACT_KILL",
	[VS_SECCOMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
	[VS_SECCOMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
	[VS_SECCOMP_TRAP] = "SCMP_ACT_TRAP",
	[VS_SECCOMP_ERRNO] = "SCMP_ACT_ERRNO",
	[VS_SECCOMP_TRACE] = "SCMP_ACT_TRACE",
	[VS_SECCOMP_ALLOW] = "SCMP_ACT_ALLOW",
	[VS_SECCOMP_LOG] = "SCMP_ACT_LOG",
	[VS_SECCOMP_NOTIFY] = "SCMP_ACT_NOTIFY",
};

/* Indexed by enum vs_seccomp_op. */
static const char *const op_names[] = {
	[VS_SCMP_NE] = "SCMP_CMP_NE",
	[VS_SCMP_LT] = "SCMP_CMP_LT",
	[VS_SCMP_LE] = "SCMP_CMP_LE",
	[VS_SCMP_EQ] = "SCMP_CMP_EQ",
	[VS_SCMP_GE] = "SCMP_CMP_GE",
	[VS_SCMP_GT] = "SCMP_CMP_GT",
	[VS_SCMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

/* The spec's list plus the architectures libseccomp added since, so a
 * profile written for a newer host still loads. */
static const char *const arch_names[] = {
	"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",	    "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",	   "SCMP_ARCH_MIPS64",	    "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	    "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",	    "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K",    "SCMP_ARCH_SH",	   "SCMP_ARCH_SHEB",
};

const char *vs_seccomp_action_name(enum vs_seccomp_action a)
{
	return (unsigned)a < VS_ARRAY_SIZE(action_names) ? action_names[a] : NULL;
}

const char *vs_seccomp_op_name(enum vs_seccomp_op op)
{
	return (unsigned)op < VS_ARRAY_SIZE(op_names) ? op_names[op] : NULL;
}

static const char *const flag_names[] = {
	"SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

/* Syscalls take at most six arguments. */
#define SECCOMP_MAX_ARGS 6

static int read_action(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key,
		       enum vs_seccomp_action *out)
{
	vs_autofree char *name = NULL;
	size_t mark;
	int a;

	if (vs_sp_string(c, obj, key, true, &name) < 0)
		return -1;
	a = vs_sp_lookup(action_names, VS_ARRAY_SIZE(action_names), name);
	if (a < 0) {
		mark = vs_sp_push(c, key);
		vs_sp_fail(c, "unknown seccomp action `%.64s`", name);
		vs_sp_pop(c, mark);
		return -1;
	}
	*out = (enum vs_seccomp_action)a;
	return 0;
}

/* Every entry of the string list `key` must be one of `names`. */
static int check_names(struct vs_spec_ctx *c, const char *key, const struct vs_strv *v,
		       const char *const *names, size_t count, const char *what)
{
	for (size_t i = 0; i < v->count; i++) {
		size_t mark;
		if (vs_sp_lookup(names, count, v->v[i]) >= 0)
			continue;
		mark = vs_sp_push(c, key);
		vs_sp_push_index(c, i);
		vs_sp_fail(c, "unknown seccomp %s `%.64s`", what, v->v[i]);
		vs_sp_pop(c, mark);
		return -1;
	}
	return 0;
}

static int read_arg(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_seccomp_arg *a = elem;
	vs_autofree char *op = NULL;
	size_t mark;
	int o;
	(void)opaque;

	if (vs_sp_val_object(c, v) < 0 || vs_sp_u32(c, v, "index", true, &a->index, NULL) < 0)
		return -1;
	if (a->index >= SECCOMP_MAX_ARGS) {
		vs_sp_push(c, "index");
		return vs_sp_fail(c, "argument index %u out of range (0 to %d)", a->index,
				  SECCOMP_MAX_ARGS - 1);
	}
	if (vs_sp_u64(c, v, "value", true, &a->value, NULL) < 0 ||
	    vs_sp_u64(c, v, "valueTwo", false, &a->value_two, NULL) < 0 ||
	    vs_sp_string(c, v, "op", true, &op) < 0)
		return -1;
	o = vs_sp_lookup(op_names, VS_ARRAY_SIZE(op_names), op);
	if (o < 0) {
		mark = vs_sp_push(c, "op");
		vs_sp_fail(c, "unknown seccomp operator `%.64s`", op);
		vs_sp_pop(c, mark);
		return -1;
	}
	a->op = (enum vs_seccomp_op)o;
	return 0;
}

static int read_rule(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_seccomp_rule *r = elem;
	(void)opaque;

	if (vs_sp_val_object(c, v) < 0 || vs_sp_strv(c, v, "names", &r->names) < 0)
		return -1;
	if (r->names.count == 0) {
		vs_sp_push(c, "names");
		return vs_sp_fail(c, "must list at least one syscall");
	}
	if (read_action(c, v, "action", &r->action) < 0 ||
	    vs_sp_u32(c, v, "errnoRet", false, &r->errno_ret, &r->has_errno_ret) < 0)
		return -1;
	return vs_sp_array_each(c, v, "args", sizeof(*r->args), false, read_arg, NULL, (void **)&r->args,
				&r->args_count);
}

static int read_rules(struct vs_spec_ctx *c, const struct vs_json *obj, struct vs_spec_seccomp *s)
{
	return vs_sp_array_each(c, obj, "syscalls", sizeof(*s->syscalls), false, read_rule, NULL,
				(void **)&s->syscalls, &s->syscalls_count);
}

/* SCMP_ACT_NOTIFY hands the syscall to a supervisor: without a socket to
 * send the listener to, the container would hang on its first match. */
static int check_notify(struct vs_spec_ctx *c, const struct vs_spec_seccomp *s)
{
	size_t mark;
	bool notify = s->default_action == VS_SECCOMP_NOTIFY;
	for (size_t i = 0; i < s->syscalls_count; i++)
		notify |= s->syscalls[i].action == VS_SECCOMP_NOTIFY;
	if (!notify || (s->listener_path && s->listener_path[0]))
		return 0;
	mark = vs_sp_push(c, "listenerPath");
	vs_sp_fail(c, "required when an action is SCMP_ACT_NOTIFY");
	vs_sp_pop(c, mark);
	return -1;
}

int vs_sp_seccomp(struct vs_spec_ctx *c, const struct vs_json *obj, struct vs_spec_seccomp *s)
{
	if (read_action(c, obj, "defaultAction", &s->default_action) < 0 ||
	    vs_sp_u32(c, obj, "defaultErrnoRet", false, &s->default_errno_ret, &s->has_default_errno_ret) <
		0 ||
	    vs_sp_strv(c, obj, "architectures", &s->architectures) < 0 ||
	    check_names(c, "architectures", &s->architectures, arch_names, VS_ARRAY_SIZE(arch_names),
			"architecture") < 0 ||
	    vs_sp_strv(c, obj, "flags", &s->flags) < 0 ||
	    check_names(c, "flags", &s->flags, flag_names, VS_ARRAY_SIZE(flag_names), "flag") < 0 ||
	    vs_sp_string(c, obj, "listenerPath", false, &s->listener_path) < 0 ||
	    vs_sp_string(c, obj, "listenerMetadata", false, &s->listener_metadata) < 0 ||
	    read_rules(c, obj, s) < 0)
		return -1;
	return check_notify(c, s);
}

void vs_sp_seccomp_free(struct vs_spec_seccomp *s)
{
	vs_strv_free(&s->architectures);
	vs_strv_free(&s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->syscalls_count; i++) {
		vs_strv_free(&s->syscalls[i].names);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
	memset(s, 0, sizeof(*s));
}
