/* The container's cgroup: creation in every hierarchy, the manager (v1,
 * v2 or hybrid ops table) that writes limits, and the operations common to
 * all layouts: enter, list, kill, remove, persist. */
#include "container/cgroup_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

#define SERIAL_MAGIC "vessel-cgroup 1"

static const struct vs_cgroup_env host_env = {
	.root = "/sys/fs/cgroup",
	.mountinfo = "/proc/self/mountinfo",
	.self_cgroup = "/proc/self/cgroup",
};

/* ---- the object ---- */

void vs_cgroup_free(struct vs_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->count; i++) {
		free((char *)cg->hier[i].name);
		free((char *)cg->hier[i].dir);
	}
	free(cg->hier);
	free(cg->controllers);
	free(cg);
}

static struct vs_cgroup *cgroup_alloc(enum vs_cgroup_kind kind, size_t max)
{
	struct vs_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return NULL;
	cg->kind = kind;
	cg->ops = kind == VS_CGROUP_V2	     ? &vs_cgroup_v2_ops
		  : kind == VS_CGROUP_HYBRID ? &vs_cgroup_hybrid_ops
					     : &vs_cgroup_v1_ops;
	cg->hier = calloc(max ? max : 1, sizeof(*cg->hier));
	cg->controllers = calloc(max ? max : 1, sizeof(*cg->controllers));
	if (!cg->hier || !cg->controllers) {
		vs_cgroup_free(cg);
		return NULL;
	}
	return cg;
}

/* Takes ownership of `dir` on success only. */
static int cgroup_add(struct vs_cgroup *cg, const char *name, char *dir, unsigned controllers)
{
	char *n = strdup(name);
	if (!n)
		return -1;
	cg->hier[cg->count].name = n;
	cg->hier[cg->count].dir = dir;
	cg->controllers[cg->count] = controllers;
	cg->count++;
	return 0;
}

size_t vs_cgroup_hierarchies(const struct vs_cgroup *cg, const struct vs_cgroup_hierarchy **out)
{
	*out = cg->hier;
	return cg->count;
}

const char *vs_cgroup_manager_name(const struct vs_cgroup *cg)
{
	return vs_cgroup_kind_name(cg->kind);
}

const char *vs_cgroup_layout_name(void)
{
	struct vs_cgroup_layout layout;
	struct vs_error err = { 0 };
	if (vs_cgroup_layout_detect(&host_env, &layout, &err) < 0)
		return "none";
	const char *name = vs_cgroup_kind_name(layout.kind);
	vs_cgroup_layout_free(&layout);
	return name;
}

/* `word` in a list of words separated by any byte of `seps`. */
static bool has_word_sep(const char *list, const char *word, const char *seps)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, seps);
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len;
		p += strspn(p, seps);
	}
	return false;
}

bool vs_cgroup_host_has(const char *controller)
{
	struct vs_cgroup_layout layout;
	struct vs_error err = { 0 };
	bool found = false;
	if (vs_cgroup_layout_detect(&host_env, &layout, &err) < 0)
		return false;
	for (size_t i = 0; i < layout.count && !found; i++) {
		const struct vs_cgroup_mount *m = &layout.mounts[i];
		char avail[512];
		if (m->name[0])
			found = has_word_sep(m->name, controller, ",");
		else if (vs_cgroup_read(m->mountpoint, "cgroup.controllers", avail, sizeof(avail), &err) == 0)
			found = has_word_sep(avail, controller, " \n");
	}
	vs_cgroup_layout_free(&layout);
	return found;
}

/* ---- creation ---- */

/* Remove the levels of `dir` from its end up to the first one this process
 * created, which starts after the '/' at offset `created_at`. */
static void unmake_dirs(const char *dir, size_t created_at)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	if (!created_at || len >= sizeof(path))
		return;
	memcpy(path, dir, len + 1);
	while (len > created_at) {
		rmdir(path);
		while (len > created_at && path[len] != '/')
			len--;
		path[len] = '\0';
	}
}

/* mkdir every level of `dir` below the mount point, each followed by the
 * manager's init_level (v2: controllers enabled in the parent; v1 cpuset:
 * CPUs and memory nodes). *created_at is the offset of the '/' before the
 * first level created here (0 when all existed). */
static int make_dirs(const struct vs_cgroup_ops *ops, const struct vs_cgroup_mount *m, const char *dir,
		     size_t *created_at, struct vs_error *err)
{
	char path[PATH_MAX], parent[PATH_MAX];
	size_t len = strlen(dir), start = strlen(m->mountpoint);
	*created_at = 0;
	if (len >= sizeof(path))
		return vs_error_set(err, ENAMETOOLONG, "creating cgroup `%s`", dir);
	memcpy(path, dir, len + 1);
	while (start > 1 && path[start - 1] == '/')
		start--;
	for (size_t i = start; i < len;) {
		size_t next = i + 1;
		while (next < len && path[next] != '/')
			next++;
		memcpy(parent, path, i);
		parent[i] = '\0';
		char saved = path[next];
		path[next] = '\0';
		if (mkdir(path, 0755) == 0) {
			if (!*created_at)
				*created_at = i;
		} else if (errno != EEXIST) {
			vs_error_set(err, errno, "creating cgroup `%s`", path);
			goto fail;
		}
		if (ops->init_level(m, parent, path, err) < 0)
			goto fail;
		path[next] = saved;
		i = next;
	}
	return 0;
fail:
	unmake_dirs(dir, *created_at);
	*created_at = 0;
	return -1;
}

int vs_cgroup_create_in(const struct vs_cgroup_env *env, const char *cgroups_path, const char *container_id,
			struct vs_cgroup **out, struct vs_error *err)
{
	struct vs_cgroup_layout layout = { 0 };
	struct vs_cgroup *cg = NULL;
	vs_autofree char *self = NULL;
	vs_autofree char *abs_path = NULL;
	size_t *created = NULL;
	bool relative = cgroups_path && cgroups_path[0] && cgroups_path[0] != '/';
	int ret = -1;

	/* Refuse a bad path before looking at the system at all. */
	if (vs_cgroup_resolve_path(cgroups_path, container_id, "/", &abs_path, err) < 0)
		return -1;
	if (vs_cgroup_layout_detect(env, &layout, err) < 0)
		return vs_error_prefix(err, "detecting cgroups: ");
	if (layout.kind == VS_CGROUP_NONE) {
		vs_error_msg(err, "no cgroup filesystem is mounted at %s", env->root);
		goto out;
	}
	if (relative) {
		/* Relative paths hang below our own cgroup in each hierarchy. */
		if (vs_cgroup_read_text(env->self_cgroup, &self, err) < 0)
			goto out;
	}
	cg = cgroup_alloc(layout.kind, layout.count);
	created = calloc(layout.count, sizeof(*created));
	if (!cg || !created) {
		vs_error_set(err, ENOMEM, "creating the cgroup");
		goto out;
	}
	for (size_t i = 0; i < layout.count; i++) {
		const struct vs_cgroup_mount *m = &layout.mounts[i];
		vs_autofree char *own = NULL, *path = NULL;
		if (relative && (vs_cgroup_own_path(self, m, &own, err) < 0 ||
				 vs_cgroup_resolve_path(cgroups_path, container_id, own, &path, err) < 0))
			goto unwind;
		char *dir = vs_cgroup_mount_dir(m, relative ? path : abs_path);
		if (!dir) {
			vs_error_set(err, ENOMEM, "creating the cgroup");
			goto unwind;
		}
		if (make_dirs(cg->ops, m, dir, &created[i], err) < 0) {
			free(dir);
			goto unwind;
		}
		if (cgroup_add(cg, m->name, dir, m->controllers) < 0) {
			unmake_dirs(dir, created[i]);
			free(dir);
			vs_error_set(err, ENOMEM, "creating the cgroup");
			goto unwind;
		}
	}
	*out = vs_steal_ptr(&cg);
	ret = 0;
	goto out;
unwind:
	for (size_t i = cg->count; i-- > 0;)
		unmake_dirs(cg->hier[i].dir, created[i]);
out:
	vs_cgroup_free(cg);
	free(created);
	vs_cgroup_layout_free(&layout);
	return ret;
}

int vs_cgroup_create(const char *cgroups_path, const char *container_id, struct vs_cgroup **out,
		     struct vs_error *err)
{
	return vs_cgroup_create_in(&host_env, cgroups_path, container_id, out, err);
}

int vs_cgroup_open_own(struct vs_cgroup **out, struct vs_error *err)
{
	struct vs_cgroup_layout layout = { 0 };
	struct vs_cgroup *cg = NULL;
	vs_autofree char *self = NULL;
	int ret = -1;

	if (vs_cgroup_layout_detect(&host_env, &layout, err) < 0)
		return vs_error_prefix(err, "detecting cgroups: ");
	if (layout.kind == VS_CGROUP_NONE) {
		vs_error_msg(err, "no cgroup filesystem is mounted at %s", host_env.root);
		goto out;
	}
	if (vs_cgroup_read_text(host_env.self_cgroup, &self, err) < 0)
		goto out;
	cg = cgroup_alloc(layout.kind, layout.count);
	if (!cg) {
		vs_error_set(err, ENOMEM, "opening our own cgroup");
		goto out;
	}
	for (size_t i = 0; i < layout.count; i++) {
		const struct vs_cgroup_mount *m = &layout.mounts[i];
		vs_autofree char *own = NULL;
		if (vs_cgroup_own_path(self, m, &own, err) < 0)
			goto out;
		char *dir = vs_cgroup_mount_dir(m, own);
		if (!dir || cgroup_add(cg, m->name, dir, m->controllers) < 0) {
			free(dir);
			vs_error_set(err, ENOMEM, "opening our own cgroup");
			goto out;
		}
	}
	*out = vs_steal_ptr(&cg);
	ret = 0;
out:
	vs_cgroup_free(cg);
	vs_cgroup_layout_free(&layout);
	return ret;
}

/* ---- limits ---- */

int vs_cgroup_apply(struct vs_cgroup *cg, const struct vs_spec_resources *res, struct vs_error *err)
{
	return cg->ops->apply(cg, res, err);
}

/* The devices every container gets (runtime-spec "Default Devices"), and
 * the pty slaves behind /dev/pts. */
static const struct vs_spec_device_rule default_devices[] = {
	{ true, 'c', 1, 3, "rwm" },    /* null */
	{ true, 'c', 1, 5, "rwm" },    /* zero */
	{ true, 'c', 1, 7, "rwm" },    /* full */
	{ true, 'c', 1, 8, "rwm" },    /* random */
	{ true, 'c', 1, 9, "rwm" },    /* urandom */
	{ true, 'c', 5, 0, "rwm" },    /* tty */
	{ true, 'c', 5, 1, "rwm" },    /* console */
	{ true, 'c', 5, 2, "rwm" },    /* ptmx */
	{ true, 'c', 136, -1, "rwm" }, /* pts */
};

int vs_cgroup_apply_linux(struct vs_cgroup *cg, const struct vs_spec_linux *lx, struct vs_error *err)
{
	if (!lx->has_resources)
		return 0;
	struct vs_spec_resources res = lx->resources;
	vs_autofree struct vs_spec_device_rule *rules = NULL;
	if (res.devices_count > 0) {
		size_t n = res.devices_count;
		rules = calloc(n + lx->devices_count + VS_ARRAY_SIZE(default_devices), sizeof(*rules));
		if (!rules)
			return vs_error_set(err, ENOMEM, "building device rules");
		memcpy(rules, res.devices, n * sizeof(*rules));
		for (size_t i = 0; i < lx->devices_count; i++) {
			const struct vs_spec_device *d = &lx->devices[i];
			if (d->type == 'p')
				continue; /* a FIFO is no device to the cgroup */
			rules[n++] = (struct vs_spec_device_rule){ true, d->type == 'b' ? 'b' : 'c', d->major,
								   d->minor, "rwm" };
		}
		memcpy(rules + n, default_devices, sizeof(default_devices));
		res.devices = rules;
		res.devices_count = n + VS_ARRAY_SIZE(default_devices);
	}
	return vs_cgroup_apply(cg, &res, err);
}

/* ---- processes ---- */

int vs_cgroup_enter_some(struct vs_cgroup *cg, pid_t pid, bool v1, bool v2, struct vs_error *err)
{
	char value[24];
	snprintf(value, sizeof(value), "%d", (int)pid);
	for (size_t i = 0; i < cg->count; i++) {
		bool is_v2 = cg->hier[i].name[0] == '\0';
		if ((is_v2 ? v2 : v1) && vs_cgroup_write(cg->hier[i].dir, "cgroup.procs", value, err) < 0)
			return -1;
	}
	return 0;
}

int vs_cgroup_enter(struct vs_cgroup *cg, pid_t pid, struct vs_error *err)
{
	return vs_cgroup_enter_some(cg, pid, true, true, err);
}

int vs_cgroup_join_self_v1(struct vs_cgroup *cg, struct vs_error *err)
{
	for (size_t i = 0; i < cg->count; i++)
		if (cg->hier[i].name[0] != '\0' && vs_cgroup_write(cg->hier[i].dir, "tasks", "0", err) < 0)
			return -1;
	return 0;
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* The kernel's struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2). */
struct vs_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
	    set_tid_size, cgroup;
};

pid_t vs_cgroup_clone_into(int cgfd, int flags)
{
#ifdef SYS_clone3
	struct vs_clone_args a;
	memset(&a, 0, sizeof(a));
	a.flags = ((uint64_t)(unsigned)flags & ~(uint64_t)CSIGNAL) | CLONE_INTO_CGROUP;
	a.exit_signal = (uint64_t)(flags & CSIGNAL);
	a.cgroup = (uint64_t)cgfd;
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
#else
	(void)flags;
	(void)cgfd;
	errno = ENOSYS;
	return -1;
#endif
}

int vs_cgroup_v2_fd(struct vs_cgroup *cg)
{
	for (size_t i = 0; i < cg->count; i++)
		if (cg->hier[i].name[0] == '\0')
			return open(cg->hier[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return -1;
}

int vs_cgroup_freeze(struct vs_cgroup *cg, bool frozen, struct vs_error *err)
{
	return cg->ops->freeze(cg, frozen, err);
}

int vs_cgroup_is_frozen(struct vs_cgroup *cg, bool *frozen, struct vs_error *err)
{
	return cg->ops->is_frozen(cg, frozen, err);
}

struct pid_list {
	pid_t *v;
	size_t count, cap;
};

static int collect_pids(const char *dir, struct pid_list *list, unsigned depth, struct vs_error *err)
{
	char path[PATH_MAX];
	vs_autofree char *text = NULL;
	if (depth > 64)
		return vs_error_msg(err, "%s: cgroups nested too deeply", dir);
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return vs_error_set(err, ENAMETOOLONG, "%s", dir);
	if (vs_cgroup_read_text(path, &text, err) < 0)
		return -1;
	for (char *p = text; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (list->count == list->cap) {
			size_t cap = list->cap ? list->cap * 2 : 32;
			pid_t *grown = realloc(list->v, cap * sizeof(*grown));
			if (!grown)
				return vs_error_set(err, ENOMEM, "listing processes");
			list->v = grown;
			list->cap = cap;
		}
		list->v[list->count++] = (pid_t)v;
		p = end;
		while (*p == '\n')
			p++;
	}
	DIR *d = opendir(dir);
	if (!d)
		return vs_error_set(err, errno, "%s: listing sub-cgroups", dir);
	int ret = 0;
	for (struct dirent *e; ret == 0 && (e = readdir(d));) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			ret = vs_error_set(err, ENAMETOOLONG, "%s", dir);
		else
			ret = collect_pids(path, list, depth + 1, err);
	}
	closedir(d);
	return ret;
}

int vs_cgroup_pids(struct vs_cgroup *cg, pid_t **pids, size_t *count, struct vs_error *err)
{
	struct pid_list list = { 0 };
	if (collect_pids(cg->ops->procs_dir(cg), &list, 0, err) < 0) {
		free(list.v);
		return -1;
	}
	*pids = list.v;
	*count = list.count;
	return 0;
}

int vs_cgroup_kill_all(struct vs_cgroup *cg, int sig, struct vs_error *err)
{
	const char *v2 = vs_cgroup_dir_for(cg, VS_CG_UNIFIED);
	vs_autofree pid_t *pids = NULL;
	size_t count = 0;
	bool was_frozen = false, froze = false;
	struct vs_error ignored = { 0 };
	int ret = 0;
	if (vs_cgroup_is_frozen(cg, &was_frozen, &ignored) < 0)
		was_frozen = false;
	if (sig == SIGKILL && v2) {
		/* One write, and no race with processes forking meanwhile. */
		int r = vs_cgroup_write_opt(v2, "cgroup.kill", "1", err);
		if (r < 0)
			return -1;
		/* A v2 freezer lets SIGKILL through; a v1 one holds the
		 * killed tasks until thawed. */
		if (r == 0)
			return was_frozen && cg->ops->frozen_holds_kill ? vs_cgroup_freeze(cg, false, err)
									: 0;
	}
	/* Freeze so nothing forks past the list; a missing freezer only
	 * makes that race possible, it does not stop the kill. */
	if (!was_frozen)
		froze = vs_cgroup_freeze(cg, true, &ignored) == 0;
	if (vs_cgroup_pids(cg, &pids, &count, err) < 0)
		ret = -1;
	for (size_t i = 0; ret == 0 && i < count; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			ret = vs_error_set(err, errno, "sending signal %d to process %d", sig, (int)pids[i]);
	/* A paused container stays paused, unless it has to die. */
	if ((froze || (was_frozen && sig == SIGKILL)) &&
	    vs_cgroup_freeze(cg, false, ret ? &ignored : err) < 0)
		ret = -1;
	return ret;
}

/* rmdir `dir` and the cgroups below it, bottom-up. */
static int remove_tree(const char *dir, unsigned depth, struct vs_error *err)
{
	DIR *d;
	/* Usually a leaf with no process left: one rmdir does it, without
	 * listing the directory's ~20 control files. */
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	d = opendir(dir);
	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return vs_error_set(err, errno, "removing cgroup `%s`", dir);
	int ret = 0;
	for (struct dirent *e; ret == 0 && (e = readdir(d));) {
		char path[PATH_MAX];
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (depth > 64 || snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			ret = vs_error_set(err, ENAMETOOLONG, "removing cgroup `%s`", dir);
		else
			ret = remove_tree(path, depth + 1, err);
	}
	closedir(d);
	if (ret < 0)
		return -1;
	for (unsigned attempt = 0;;) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		/* EBUSY: processes that were just killed have not exited. */
		if (errno != EBUSY || !vs_cgroup_backoff(&attempt))
			return vs_error_set(err, errno, "removing cgroup `%s`", dir);
	}
}

int vs_cgroup_destroy(struct vs_cgroup *cg, struct vs_error *err)
{
	int ret = 0;
	for (size_t i = cg->count; i-- > 0;) {
		struct vs_error e = { 0 };
		if (remove_tree(cg->hier[i].dir, 0, &e) < 0 && ret == 0) {
			*err = e;
			ret = -1;
		}
	}
	return ret;
}

/* ---- persistence: "vessel-cgroup 1 <kind>\n" then "<name>\t<dir>\n" ---- */

char *vs_cgroup_serialize(const struct vs_cgroup *cg)
{
	size_t len = sizeof(SERIAL_MAGIC) + 16;
	for (size_t i = 0; i < cg->count; i++)
		len += strlen(cg->hier[i].name) + strlen(cg->hier[i].dir) + 2;
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	size_t off = (size_t)snprintf(s, len + 1, "%s %s\n", SERIAL_MAGIC, vs_cgroup_kind_name(cg->kind));
	for (size_t i = 0; i < cg->count; i++)
		off +=
		    (size_t)snprintf(s + off, len + 1 - off, "%s\t%s\n", cg->hier[i].name, cg->hier[i].dir);
	return s;
}

static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
	return false;
}

static bool dir_ok(const char *dir)
{
	if (dir[0] != '/' || has_dotdot(dir))
		return false;
	for (const char *p = dir; *p; p++)
		if ((unsigned char)*p < 0x20)
			return false;
	return true;
}

int vs_cgroup_open(const char *serialized, struct vs_cgroup **out, struct vs_error *err)
{
	static const enum vs_cgroup_kind kinds[] = { VS_CGROUP_V1, VS_CGROUP_V2, VS_CGROUP_HYBRID };
	const char *p = serialized;
	enum vs_cgroup_kind kind = VS_CGROUP_NONE;
	size_t lines = 0, v2_count = 0;
	size_t ml = strlen(SERIAL_MAGIC);
	if (strncmp(p, SERIAL_MAGIC " ", ml + 1) != 0)
		return vs_error_msg(err, "cgroup state: not a vessel cgroup record");
	p += ml + 1;
	for (size_t i = 0; i < VS_ARRAY_SIZE(kinds); i++) {
		const char *k = vs_cgroup_kind_name(kinds[i]);
		if (strncmp(p, k, strlen(k)) == 0 && p[strlen(k)] == '\n')
			kind = kinds[i];
	}
	if (kind == VS_CGROUP_NONE)
		return vs_error_msg(err, "cgroup state: unknown layout");
	p = strchr(p, '\n') + 1;
	for (const char *q = p; *q; q++)
		lines += *q == '\n';
	struct vs_cgroup *cg = cgroup_alloc(kind, lines);
	if (!cg)
		return vs_error_set(err, ENOMEM, "reading cgroup state");
	while (*p) {
		const char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
		if (!nl || !tab || tab > nl) {
			vs_error_msg(err, "cgroup state: malformed line");
			goto fail;
		}
		char *name = strndup(p, (size_t)(tab - p));
		char *dir = strndup(tab + 1, (size_t)(nl - tab - 1));
		bool known = true;
		unsigned bits = name && name[0] ? vs_cgroup_parse_controllers(name, &known) : VS_CG_UNIFIED;
		int bad = !name || !dir ? -1 : !known || !dir_ok(dir) ? 1 : 0;
		if (bad == 0 && (bad = cgroup_add(cg, name, dir, bits)) == 0)
			dir = NULL;
		free(name);
		free(dir);
		if (bad < 0) {
			vs_error_set(err, ENOMEM, "reading cgroup state");
			goto fail;
		}
		if (bad > 0) {
			vs_error_msg(err, "cgroup state: bad hierarchy line");
			goto fail;
		}
		v2_count += bits == VS_CG_UNIFIED;
		p = nl + 1;
	}
	if (cg->count == 0 || v2_count != (kind == VS_CGROUP_V1 ? 0u : 1u) ||
	    (kind == VS_CGROUP_V2 && cg->count != 1)) {
		vs_error_msg(err, "cgroup state: hierarchies do not match the `%s` layout",
			     vs_cgroup_kind_name(kind));
		goto fail;
	}
	*out = cg;
	return 0;
fail:
	vs_cgroup_free(cg);
	return -1;
}
