#include "container/ct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/caps.h"
#include "container/defaults.h"
#include "container/state.h"

static void write_strv(struct vs_json_writer *w, const char *key, const struct vs_strv *s)
{
	vs_jw_key(w, key);
	vs_jw_array_begin(w);
	for (size_t i = 0; i < s->count; i++)
		vs_jw_string(w, s->v[i]);
	vs_jw_array_end(w);
}

void vs_ct_write_seccomp(struct vs_json_writer *w, const struct vs_spec_seccomp *s)
{
	vs_jw_object_begin(w);
	vs_jw_kv_string(w, "defaultAction", vs_seccomp_action_name(s->default_action));
	if (s->has_default_errno_ret)
		vs_jw_kv_uint(w, "defaultErrnoRet", s->default_errno_ret);
	write_strv(w, "architectures", &s->architectures);
	if (s->flags.count)
		write_strv(w, "flags", &s->flags);
	vs_jw_key(w, "syscalls");
	vs_jw_array_begin(w);
	for (size_t i = 0; i < s->syscalls_count; i++) {
		const struct vs_seccomp_rule *r = &s->syscalls[i];
		vs_jw_object_begin(w);
		write_strv(w, "names", &r->names);
		vs_jw_kv_string(w, "action", vs_seccomp_action_name(r->action));
		if (r->has_errno_ret)
			vs_jw_kv_uint(w, "errnoRet", r->errno_ret);
		if (r->args_count) {
			vs_jw_key(w, "args");
			vs_jw_array_begin(w);
			for (size_t a = 0; a < r->args_count; a++) {
				vs_jw_object_begin(w);
				vs_jw_kv_uint(w, "index", r->args[a].index);
				vs_jw_kv_uint(w, "value", r->args[a].value);
				vs_jw_kv_uint(w, "valueTwo", r->args[a].value_two);
				vs_jw_kv_string(w, "op", vs_seccomp_op_name(r->args[a].op));
				vs_jw_object_end(w);
			}
			vs_jw_array_end(w);
		}
		vs_jw_object_end(w);
	}
	vs_jw_array_end(w);
	vs_jw_object_end(w);
}

static void write_caps(struct vs_json_writer *w, const char *key, uint64_t caps)
{
	vs_jw_key(w, key);
	vs_jw_array_begin(w);
	for (int c = 0; c < 64; c++)
		if ((caps >> c) & 1 && vs_caps_name(c))
			vs_jw_string(w, vs_caps_name(c));
	vs_jw_array_end(w);
}

static void write_mount(struct vs_json_writer *w, const char *dest, const char *type, const char *source,
			const char *const *options)
{
	vs_jw_object_begin(w);
	vs_jw_kv_string(w, "destination", dest);
	vs_jw_kv_string(w, "type", type);
	vs_jw_kv_string(w, "source", source);
	vs_jw_key(w, "options");
	vs_jw_array_begin(w);
	for (; *options; options++)
		vs_jw_string(w, *options);
	vs_jw_array_end(w);
	vs_jw_object_end(w);
}

static void write_paths(struct vs_json_writer *w, const char *key, const char *const *paths)
{
	vs_jw_key(w, key);
	vs_jw_array_begin(w);
	for (; *paths; paths++)
		vs_jw_string(w, *paths);
	vs_jw_array_end(w);
}

static void write_resources(struct vs_json_writer *w, const struct vs_ct_opts *o)
{
	vs_jw_key(w, "resources");
	vs_jw_object_begin(w);
	if (o->memory) {
		vs_jw_key(w, "memory");
		vs_jw_object_begin(w);
		vs_jw_kv_int(w, "limit", (int64_t)o->memory);
		vs_jw_object_end(w);
	}
	if (o->cpu_millis) {
		/* --cpus N as podman does: quota = N * period, period 100 ms. */
		vs_jw_key(w, "cpu");
		vs_jw_object_begin(w);
		vs_jw_kv_uint(w, "period", 100000);
		vs_jw_kv_int(w, "quota", (int64_t)(o->cpu_millis * 100));
		vs_jw_object_end(w);
	}
	if (o->pids) {
		vs_jw_key(w, "pids");
		vs_jw_object_begin(w);
		vs_jw_kv_int(w, "limit", o->pids);
		vs_jw_object_end(w);
	}
	vs_jw_object_end(w);
}

/* Whether `def` ("NAME=...") is overridden by one of the caller's. */
static bool env_overridden(const struct vs_ct_opts *o, const char *def)
{
	size_t n = strcspn(def, "=");
	for (size_t i = 0; i < o->env_count; i++)
		if (strncmp(o->env[i], def, n) == 0 && o->env[i][n] == '=')
			return true;
	return false;
}

static void write_env(struct vs_json_writer *w, const struct vs_ct_opts *o)
{
	static const char *const defaults[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"TERM=xterm",
		"HOME=/root",
		"container=vessel",
	};
	vs_jw_key(w, "env");
	vs_jw_array_begin(w);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (!env_overridden(o, defaults[i]))
			vs_jw_string(w, defaults[i]);
	for (size_t i = 0; i < o->env_count; i++)
		vs_jw_string(w, o->env[i]);
	vs_jw_array_end(w);
}

char *vs_ct_config_json(const struct vs_ct_opts *o, struct vs_error *err)
{
	static const char *const ns[] = { "pid", "mount", "ipc", "uts", "cgroup", "network" };
	static const char *const no_opts[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const dev_opts[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts_opts[] = { "nosuid",    "noexec", "newinstance", "ptmxmode=0666",
						"mode=0620", "gid=5",  NULL };
	static const char *const shm_opts[] = {
		"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL
	};
	static const char *const ro_opts[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const tmp_opts[] = { "nosuid", "nodev", "mode=1777", NULL };
	static const char *const run_opts[] = { "nosuid", "nodev", "mode=755", NULL };
	struct vs_spec_seccomp seccomp;
	struct vs_json_writer w;
	uint64_t caps = vs_defaults_caps();
	char *text = NULL;
	size_t len;

	if (vs_defaults_seccomp(caps, &seccomp, err) < 0)
		return NULL;
	vs_jw_init(&w, 1);
	vs_jw_object_begin(&w);
	vs_jw_kv_string(&w, "ociVersion", VS_OCI_VERSION);
	vs_jw_key(&w, "process");
	vs_jw_object_begin(&w);
	vs_jw_kv_bool(&w, "terminal", o->terminal);
	vs_jw_key(&w, "user");
	vs_jw_object_begin(&w);
	vs_jw_kv_uint(&w, "uid", o->uid);
	vs_jw_kv_uint(&w, "gid", o->gid);
	vs_jw_object_end(&w);
	vs_jw_key(&w, "args");
	vs_jw_array_begin(&w);
	for (char **a = o->args; *a; a++)
		vs_jw_string(&w, *a);
	vs_jw_array_end(&w);
	write_env(&w, o);
	vs_jw_kv_string(&w, "cwd", o->cwd ? o->cwd : "/");
	vs_jw_key(&w, "capabilities");
	vs_jw_object_begin(&w);
	write_caps(&w, "bounding", caps);
	write_caps(&w, "effective", caps);
	write_caps(&w, "permitted", caps);
	vs_jw_object_end(&w);
	/* No rlimits: the container inherits the caller's, which it may
	 * lower but, without CAP_SYS_RESOURCE, never raise. */
	vs_jw_object_end(&w);

	vs_jw_key(&w, "root");
	vs_jw_object_begin(&w);
	vs_jw_kv_string(&w, "path", o->rootfs);
	vs_jw_kv_bool(&w, "readonly", o->readonly);
	vs_jw_object_end(&w);
	vs_jw_kv_string(&w, "hostname", o->hostname ? o->hostname : "vessel");

	vs_jw_key(&w, "mounts");
	vs_jw_array_begin(&w);
	write_mount(&w, "/proc", "proc", "proc", no_opts);
	write_mount(&w, "/dev", "tmpfs", "tmpfs", dev_opts);
	write_mount(&w, "/dev/pts", "devpts", "devpts", pts_opts);
	write_mount(&w, "/dev/shm", "tmpfs", "shm", shm_opts);
	write_mount(&w, "/dev/mqueue", "mqueue", "mqueue", no_opts);
	write_mount(&w, "/sys", "sysfs", "sysfs", ro_opts);
	write_mount(&w, "/sys/fs/cgroup", "cgroup", "cgroup", ro_opts);
	if (o->readonly) {
		/* As podman's --read-only: scratch space stays writable. */
		write_mount(&w, "/tmp", "tmpfs", "tmpfs", tmp_opts);
		write_mount(&w, "/var/tmp", "tmpfs", "tmpfs", tmp_opts);
		write_mount(&w, "/run", "tmpfs", "tmpfs", run_opts);
	}
	for (size_t i = 0; i < o->volume_count; i++) {
		static const char *const rw_bind[] = { "rbind", "rprivate", NULL };
		static const char *const ro_bind[] = { "rbind", "rprivate", "ro", NULL };
		const struct vs_ct_volume *v = &o->volumes[i];
		write_mount(&w, v->ctr, "bind", v->host, v->readonly ? ro_bind : rw_bind);
	}
	vs_jw_array_end(&w);

	vs_jw_key(&w, "linux");
	vs_jw_object_begin(&w);
	vs_jw_key(&w, "namespaces");
	vs_jw_array_begin(&w);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if (o->net_host && strcmp(ns[i], "network") == 0)
			continue;
		vs_jw_object_begin(&w);
		vs_jw_kv_string(&w, "type", ns[i]);
		vs_jw_object_end(&w);
	}
	vs_jw_array_end(&w);
	write_resources(&w, o);
	write_paths(&w, "maskedPaths", vs_defaults_masked_paths());
	write_paths(&w, "readonlyPaths", vs_defaults_readonly_paths());
	vs_jw_key(&w, "seccomp");
	vs_ct_write_seccomp(&w, &seccomp);
	vs_jw_object_end(&w);
	vs_jw_object_end(&w);
	vs_defaults_seccomp_free(&seccomp);
	if (vs_jw_finish(&w, &text, &len, err) < 0)
		return NULL;
	return text;
}
