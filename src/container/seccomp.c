#include "container/seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fdpass.h"

#define VS_SECCOMP_MAX_ARGS 6
/* libseccomp takes errno values below the kernel's MAX_ERRNO (4095); a
 * tracer's message may use all 16 bits of SECCOMP_RET_DATA. */
#define VS_SECCOMP_MAX_ERRNO 4094u
#define VS_SECCOMP_MAX_TRACE_MSG 0xffffu

/* The runtime-spec version whose "container process state" we send. */
static const char vs_seccomp_oci_version[] = "1.1.0";

static const struct {
	const char *name;
	uint32_t token;
} arch_table[] = {
	{ "SCMP_ARCH_X86", SCMP_ARCH_X86 },
	{ "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_X32", SCMP_ARCH_X32 },
	{ "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
	{ "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },
	{ "SCMP_ARCH_MIPS", SCMP_ARCH_MIPS },
	{ "SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64 },
	{ "SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32 },
	{ "SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL },
	{ "SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64 },
	{ "SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32 },
	{ "SCMP_ARCH_PPC", SCMP_ARCH_PPC },
	{ "SCMP_ARCH_PPC64", SCMP_ARCH_PPC64 },
	{ "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
	{ "SCMP_ARCH_S390", SCMP_ARCH_S390 },
	{ "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
	{ "SCMP_ARCH_PARISC", SCMP_ARCH_PARISC },
	{ "SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64 },
	{ "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
#ifdef SCMP_ARCH_LOONGARCH64
	{ "SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64 },
#endif
#ifdef SCMP_ARCH_M68K
	{ "SCMP_ARCH_M68K", SCMP_ARCH_M68K },
#endif
#ifdef SCMP_ARCH_SH
	{ "SCMP_ARCH_SH", SCMP_ARCH_SH },
	{ "SCMP_ARCH_SHEB", SCMP_ARCH_SHEB },
#endif
};

#define VS_SCMP_AT_LEAST(maj, min) \
	(SCMP_VER_MAJOR > (maj) || (SCMP_VER_MAJOR == (maj) && SCMP_VER_MINOR >= (min)))

/* Filter flags map onto libseccomp attributes; -1 marks a flag the
 * library we were built against cannot set. */
static const struct {
	const char *name;
	int attr;
} flag_table[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB },
#if VS_SCMP_AT_LEAST(2, 6)
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SCMP_FLTATR_CTL_WAITKILL },
#else
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", -1 },
#endif
};

static const char *action_name(enum vs_seccomp_action a)
{
	const char *name = vs_seccomp_action_name(a);
	return name ? name : "unknown action";
}

/* `where` names the JSON object for messages ("linux.seccomp.syscalls[3]"). */
static int to_scmp_action(enum vs_seccomp_action a, bool has_errno, uint32_t errno_ret, const char *where,
			  uint32_t *out, struct vs_error *err)
{
	uint32_t ret = has_errno ? errno_ret : EPERM;

	if (!vs_seccomp_action_name(a))
		return vs_error_msg(err, "%s: unknown action %d", where, (int)a);
	if (has_errno && a != VS_SECCOMP_ERRNO && a != VS_SECCOMP_TRACE)
		return vs_error_msg(
		    err, "%s: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", where,
		    action_name(a));
	uint32_t max = a == VS_SECCOMP_TRACE ? VS_SECCOMP_MAX_TRACE_MSG : VS_SECCOMP_MAX_ERRNO;
	if (ret > max)
		return vs_error_msg(err, "%s: errnoRet %u is out of range (at most %u for %s)", where, ret,
				    max, action_name(a));
	switch (a) {
	case VS_SECCOMP_KILL:
	case VS_SECCOMP_KILL_THREAD:
		*out = SCMP_ACT_KILL_THREAD;
		break;
	case VS_SECCOMP_KILL_PROCESS:
		*out = SCMP_ACT_KILL_PROCESS;
		break;
	case VS_SECCOMP_TRAP:
		*out = SCMP_ACT_TRAP;
		break;
	case VS_SECCOMP_ERRNO:
		*out = SCMP_ACT_ERRNO(ret);
		break;
	case VS_SECCOMP_TRACE:
		*out = SCMP_ACT_TRACE(ret);
		break;
	case VS_SECCOMP_ALLOW:
		*out = SCMP_ACT_ALLOW;
		break;
	case VS_SECCOMP_LOG:
		*out = SCMP_ACT_LOG;
		break;
	case VS_SECCOMP_NOTIFY:
		*out = SCMP_ACT_NOTIFY;
		break;
	}
	return 0;
}

static int to_scmp_op(enum vs_seccomp_op op, enum scmp_compare *out)
{
	switch (op) {
	case VS_SCMP_NE:
		*out = SCMP_CMP_NE;
		return 0;
	case VS_SCMP_LT:
		*out = SCMP_CMP_LT;
		return 0;
	case VS_SCMP_LE:
		*out = SCMP_CMP_LE;
		return 0;
	case VS_SCMP_EQ:
		*out = SCMP_CMP_EQ;
		return 0;
	case VS_SCMP_GE:
		*out = SCMP_CMP_GE;
		return 0;
	case VS_SCMP_GT:
		*out = SCMP_CMP_GT;
		return 0;
	case VS_SCMP_MASKED_EQ:
		*out = SCMP_CMP_MASKED_EQ;
		return 0;
	}
	return -1;
}

static int add_arches(scmp_filter_ctx ctx, const struct vs_strv *arches, struct vs_error *err)
{
	for (size_t i = 0; i < arches->count; i++) {
		const char *name = arches->v[i];
		size_t k = 0;
		while (k < VS_ARRAY_SIZE(arch_table) && strcmp(arch_table[k].name, name) != 0)
			k++;
		if (k == VS_ARRAY_SIZE(arch_table))
			return vs_error_msg(
			    err, "linux.seccomp.architectures[%zu]: unknown architecture `%s`", i, name);
		int rc = seccomp_arch_add(ctx, arch_table[k].token);
		if (rc < 0 && rc != -EEXIST)
			return vs_error_set(err, -rc, "linux.seccomp.architectures[%zu]: adding `%s`", i,
					    name);
	}
	return 0;
}

static int set_flags(scmp_filter_ctx ctx, const struct vs_strv *flags, struct vs_error *err)
{
	for (size_t i = 0; i < flags->count; i++) {
		const char *name = flags->v[i];
		size_t k = 0;
		while (k < VS_ARRAY_SIZE(flag_table) && strcmp(flag_table[k].name, name) != 0)
			k++;
		if (k == VS_ARRAY_SIZE(flag_table))
			return vs_error_msg(err, "linux.seccomp.flags[%zu]: unknown flag `%s`", i, name);
		if (flag_table[k].attr < 0)
			return vs_error_msg(
			    err, "linux.seccomp.flags[%zu]: `%s` is not supported by libseccomp %d.%d.%d", i,
			    name, SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
		int rc = seccomp_attr_set(ctx, (enum scmp_filter_attr)flag_table[k].attr, 1);
		if (rc < 0)
			return vs_error_set(err, -rc,
					    "linux.seccomp.flags[%zu]: `%s` (kernel or libseccomp support)",
					    i, name);
	}
	return 0;
}

static struct scmp_arg_cmp to_cmp(const struct vs_seccomp_arg *a, enum scmp_compare op)
{
	/* For SCMP_CMP_MASKED_EQ, datum_a is the mask and datum_b the value
	 * the masked argument must equal: the spec's value and valueTwo. */
	return (
	    struct scmp_arg_cmp){ .arg = a->index, .op = op, .datum_a = a->value, .datum_b = a->value_two };
}

/* Validate rule->args and turn them into comparisons. libseccomp allows
 * one comparison per argument index in a rule, so when an index repeats
 * (*split) each arg becomes a rule of its own, ORed, as runc does; then
 * cmps[] is not filled. */
static int build_args(const struct vs_seccomp_rule *rule, const char *where, struct scmp_arg_cmp *cmps,
		      bool *split, struct vs_error *err)
{
	unsigned seen = 0;
	*split = false;
	for (size_t j = 0; j < rule->args_count; j++) {
		const struct vs_seccomp_arg *a = &rule->args[j];
		enum scmp_compare op;
		if (a->index >= VS_SECCOMP_MAX_ARGS)
			return vs_error_msg(err, "%s.args[%zu]: index %u is out of range (0..5)", where, j,
					    a->index);
		if (to_scmp_op(a->op, &op) < 0)
			return vs_error_msg(err, "%s.args[%zu]: unknown operator %d", where, j, (int)a->op);
		if (seen & (1u << a->index))
			*split = true;
		seen |= 1u << a->index;
		if (!*split) /* distinct indexes: j < VS_SECCOMP_MAX_ARGS */
			cmps[j] = to_cmp(a, op);
	}
	return 0;
}

static int add_one_syscall(scmp_filter_ctx ctx, const struct vs_seccomp_rule *rule, uint32_t act, int nr,
			   const struct scmp_arg_cmp *cmps, bool split)
{
	if (!split)
		return seccomp_rule_add_array(ctx, act, nr, (unsigned)rule->args_count, cmps);
	for (size_t j = 0; j < rule->args_count; j++) {
		enum scmp_compare op = SCMP_CMP_EQ;
		to_scmp_op(rule->args[j].op, &op); /* validated by build_args */
		struct scmp_arg_cmp one = to_cmp(&rule->args[j], op);
		int rc = seccomp_rule_add_array(ctx, act, nr, 1, &one);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct vs_seccomp_rule *rule, size_t idx, uint32_t default_act,
		    struct vs_error *err)
{
	char where[48];
	struct scmp_arg_cmp cmps[VS_SECCOMP_MAX_ARGS];
	uint32_t act;
	bool split;

	snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", idx);
	if (rule->names.count == 0)
		return vs_error_msg(err, "%s.names: at least one syscall name is required", where);
	if (to_scmp_action(rule->action, rule->has_errno_ret, rule->errno_ret, where, &act, err) < 0)
		return -1;
	if (build_args(rule, where, cmps, &split, err) < 0)
		return -1;
	for (size_t n = 0; n < rule->names.count; n++) {
		if (rule->action == VS_SECCOMP_NOTIFY && strcmp(rule->names.v[n], "write") == 0)
			return vs_error_msg(err,
					    "%s: SCMP_ACT_NOTIFY cannot be used for `write`: the runtime "
					    "writes after loading the filter, before the agent has its fd",
					    where);
	}
	if (act == default_act)
		return 0; /* libseccomp refuses it; the default does the same */

	for (size_t n = 0; n < rule->names.count; n++) {
		const char *name = rule->names.v[n];
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* newer than this libseccomp: skip, as runc does */
		int rc = add_one_syscall(ctx, rule, act, nr, cmps, split);
		if (rc < 0)
			return vs_error_set(err, -rc, "%s: adding the rule for `%s`", where, name);
	}
	return 0;
}

bool vs_seccomp_uses_notify(const struct vs_spec_seccomp *s)
{
	for (size_t i = 0; i < s->syscalls_count; i++)
		if (s->syscalls[i].action == VS_SECCOMP_NOTIFY)
			return true;
	return false;
}

/* Everything vs_seccomp_check and vs_seccomp_load share: validation and
 * compilation into a libseccomp context owned by the caller on success. */
static int build_filter(const struct vs_spec_seccomp *s, scmp_filter_ctx *out, struct vs_error *err)
{
	uint32_t def;
	int rc;

	if (s->default_action == VS_SECCOMP_NOTIFY)
		return vs_error_msg(
		    err, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	if (to_scmp_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
			   "linux.seccomp.defaultAction", &def, err) < 0)
		return -1;
	if (s->listener_metadata && !s->listener_path)
		return vs_error_msg(err, "linux.seccomp.listenerMetadata is set without listenerPath");
	if (vs_seccomp_uses_notify(s) && (!s->listener_path || !*s->listener_path))
		return vs_error_msg(err,
				    "linux.seccomp: SCMP_ACT_NOTIFY is used but listenerPath is not set");

	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return vs_error_msg(err, "linux.seccomp: seccomp_init failed (default action %s)",
				    action_name(s->default_action));
	/* process.noNewPrivileges is the runtime's decision, not the
	 * library's; and real errno values make load failures explicable. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
#if VS_SCMP_AT_LEAST(2, 5)
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
#endif
	if (rc < 0) {
		vs_error_set(err, -rc, "linux.seccomp: setting filter attributes");
		goto fail;
	}
	if (add_arches(ctx, &s->architectures, err) < 0 || set_flags(ctx, &s->flags, err) < 0)
		goto fail;
	for (size_t i = 0; i < s->syscalls_count; i++)
		if (add_rule(ctx, &s->syscalls[i], i, def, err) < 0)
			goto fail;
	*out = ctx;
	return 0;
fail:
	seccomp_release(ctx);
	return -1;
}

int vs_seccomp_check(const struct vs_spec_seccomp *s, struct vs_error *err)
{
	scmp_filter_ctx ctx;
	if (build_filter(s, &ctx, err) < 0)
		return -1;
	seccomp_release(ctx);
	return 0;
}

int vs_seccomp_load(const struct vs_spec_seccomp *s, int *listener_fd, struct vs_error *err)
{
	scmp_filter_ctx ctx;
	bool notify = vs_seccomp_uses_notify(s);
	int ret = -1;

	if (listener_fd)
		*listener_fd = -1;
	if (notify && !listener_fd)
		return vs_error_msg(err,
				    "linux.seccomp: SCMP_ACT_NOTIFY needs somewhere to put the listener fd");
	if (build_filter(s, &ctx, err) < 0)
		return -1;
	int rc = seccomp_load(ctx);
	if (rc < 0) {
		if (rc == -EACCES)
			vs_error_set(
			    err, -rc,
			    "linux.seccomp: loading the filter needs no_new_privileges or CAP_SYS_ADMIN");
		else
			vs_error_set(err, -rc, "linux.seccomp: loading the filter");
		goto out;
	}
	if (notify) {
		int fd = seccomp_notify_fd(ctx);
		if (fd < 0) {
			vs_error_set(err, -fd, "linux.seccomp: getting the notification fd");
			goto out;
		}
		*listener_fd = fd;
	}
	ret = 0;
out:
	seccomp_release(ctx);
	return ret;
}

/* JSON string body: quotes, backslashes and control bytes escaped; other
 * bytes (UTF-8 included) pass through. */
static void json_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
}

static char *process_state_json(const char *metadata, pid_t pid, const char *state_json, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	fprintf(f, "{\"ociVersion\":\"%s\",\"fds\":[\"seccompFd\"],\"pid\":%d,", vs_seccomp_oci_version,
		(int)pid);
	if (metadata) {
		fputs("\"metadata\":\"", f);
		json_escape(f, metadata);
		fputs("\",", f);
	}
	fprintf(f, "\"state\":%s}", state_json);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int vs_seccomp_listener_connect(const char *listener_path, struct vs_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock, rc;

	if (!listener_path || !*listener_path)
		return vs_error_msg(err, "linux.seccomp.listenerPath is empty");
	if (strlen(listener_path) >= sizeof(sa.sun_path))
		return vs_error_msg(err,
				    "linux.seccomp.listenerPath `%s` is longer than a UNIX socket path (%zu)",
				    listener_path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, listener_path, strlen(listener_path) + 1);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return vs_error_set(err, errno, "seccomp listener: socket");
	do
		rc = connect(sock, (struct sockaddr *)&sa, sizeof(sa));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int e = errno;
		close(sock);
		return vs_error_set(err, e, "seccomp listener: connecting to `%s`", listener_path);
	}
	return sock;
}

int vs_seccomp_listener_send(int sock, const char *metadata, int fd, pid_t pid, const char *state_json,
			     struct vs_error *err)
{
	size_t len = 0;
	vs_autofree char *msg = NULL;
	if (!state_json)
		return vs_error_msg(err, "seccomp listener: no container state to send");
	if (fd < 0)
		return vs_error_msg(err, "seccomp listener: no notification fd to send");
	msg = process_state_json(metadata, pid, state_json, &len);
	if (!msg)
		return vs_error_set(err, ENOMEM, "seccomp listener: building the process state");
	if (vs_send_with_fd(sock, msg, len, fd) < 0)
		return vs_error_set(err, errno, "seccomp listener: sending the state");
	return 0;
}

int vs_seccomp_send_listener(const char *listener_path, const char *metadata, int fd, pid_t pid,
			     const char *state_json, struct vs_error *err)
{
	vs_autoclose int sock = -1;
	if (!state_json)
		return vs_error_msg(err, "seccomp listener: no container state to send");
	if (fd < 0)
		return vs_error_msg(err, "seccomp listener: no notification fd to send");
	sock = vs_seccomp_listener_connect(listener_path, err);
	if (sock < 0)
		return -1;
	if (vs_seccomp_listener_send(sock, metadata, fd, pid, state_json, err) < 0)
		return vs_error_prefix(err, "`%s`: ", listener_path);
	/* close() could only fail for a socket with nothing left to flush
	 * into our hands; the data is already queued to the peer. */
	return 0;
}
