/* create, start, kill, delete, state, pause/resume, ps, update. exec lives
 * in exec.c. */
#include "container/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/cgroup.h"
#include "container/hooks.h"
#include "container/idmap.h"
#include "container/lsm.h"
#include "container/init.h"
#include "container/seccomp.h"
#include "container/state.h"
#include "container/terminal.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/log.h"

int vs_wait_status(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 255;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* Foreground run: we are init's parent. Forward the usual termination
 * signals to it and return its exit status. */
int vs_wait_forwarding(pid_t pid)
{
	sigset_t set, old;
	int status = 255;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (;;) {
		int sig, ws;
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid) {
			status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 255;
			break;
		}
		if (r < 0)
			break;
		if (sigwait(&set, &sig) == 0 && sig != SIGCHLD)
			kill(pid, sig);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* Everything create builds, so one function releases it on failure. */
struct create_ctx {
	const char *root, *id;
	char *dir;
	int lock_fd;
	struct vs_spec spec_storage;
	const struct vs_spec *spec;
	char *config_text;
	size_t config_len;
	struct vs_state st;
	struct vs_cgroup *cg;
	int console_fd;
	int listener_fd;
};

static int run_runtime_hooks(void *opaque, pid_t pid, struct vs_error *err)
{
	struct create_ctx *c = opaque;
	vs_autofree char *state = NULL;
	if (!c->spec->hooks.count[VS_HOOK_PRESTART] && !c->spec->hooks.count[VS_HOOK_CREATE_RUNTIME])
		return 0;
	state = vs_state_json(c->spec->oci_version, c->id, "creating", pid, c->st.bundle,
			      &c->spec->annotation_keys, &c->spec->annotation_values);
	if (!state)
		return vs_error_set(err, ENOMEM, "state for hooks");
	if (vs_hooks_run(&c->spec->hooks, VS_HOOK_PRESTART, state, err) < 0 ||
	    vs_hooks_run(&c->spec->hooks, VS_HOOK_CREATE_RUNTIME, state, err) < 0)
		return -1;
	return 0;
}

static int create_checks(const struct vs_spec *spec, const struct vs_create_opts *o, struct vs_error *err)
{
	struct stat sb;
	if (!spec->has_process)
		return vs_error_msg(err, "config.json: process is required to create a container");
	if (spec->process.terminal && !o->console_socket)
		return vs_error_msg(err, "process.terminal needs --console-socket");
	if (stat(spec->root_path, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return vs_error_msg(err, "root.path `%s` is not a directory", spec->root_path);
	if (spec->linux.seccomp && vs_seccomp_check(spec->linux.seccomp, err) < 0)
		return vs_error_prefix(err, "linux.seccomp: ");
	if (vs_lsm_check(&spec->process, spec->linux.mount_label, err) < 0)
		return -1;
	return 0;
}

static void create_unwind(struct create_ctx *c)
{
	struct vs_error ignored = { 0 };
	if (c->cg) {
		vs_cgroup_kill_all(c->cg, SIGKILL, &ignored);
		vs_cgroup_destroy(c->cg, &ignored);
	}
	if (c->dir)
		vs_state_remove(c->root, c->id, &ignored);
}

static void create_release(struct create_ctx *c)
{
	if (c->cg)
		vs_cgroup_free(c->cg);
	if (c->console_fd >= 0)
		close(c->console_fd);
	if (c->listener_fd >= 0)
		close(c->listener_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	if (c->spec == &c->spec_storage)
		vs_spec_free(&c->spec_storage);
	vs_state_free(&c->st);
	free(c->config_text);
	free(c->dir);
}

/* The host id that container id 0 maps to (0 without mappings). */
static uint32_t host_id_of_root(const struct vs_spec_idmap *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].container_id == 0)
			return m[i].host_id;
	return 0;
}

static int save_config_copy(struct create_ctx *c, struct vs_error *err)
{
	char path[PATH_MAX];
	vs_autoclose int fd = -1;
	snprintf(path, sizeof(path), "%s/config.json", c->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || vs_write_all(fd, c->config_text, c->config_len) < 0)
		return vs_error_set(err, errno, "saving `%s`", path);
	return 0;
}

/* The first limit `r` asks for, by its field name; NULL when none. Device
 * rules are not limits here: in a user namespace no device node can be
 * made, and an unprivileged user cannot program the device cgroup. */
static const char *requested_limit(const struct vs_spec_resources *r)
{
	if (r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap || r->has_memory_kernel ||
	    r->has_memory_swappiness || r->disable_oom_killer)
		return "memory";
	if (r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period || r->has_cpu_rt_runtime ||
	    r->has_cpu_rt_period || r->cpu_cpus || r->cpu_mems || r->has_cpu_idle)
		return "cpu";
	if (r->has_pids_limit && r->pids_limit > 0)
		return "pids.limit";
	if (r->has_blkio_weight || r->blkio_weight_device_count || r->blkio_throttle_read_bps_count ||
	    r->blkio_throttle_write_bps_count || r->blkio_throttle_read_iops_count ||
	    r->blkio_throttle_write_iops_count)
		return "blockIO";
	if (r->hugepage_limits_count)
		return "hugepageLimits";
	if (r->has_net_class_id || r->net_priorities.count)
		return "network";
	if (r->rdma_limits.count)
		return "rdma";
	if (r->unified_keys.count)
		return "unified";
	return NULL;
}

/* Whether a failed cgroup creation is the rootless case: an unprivileged
 * caller denied the cgroup tree. */
static bool rootless_without_cgroups(const struct vs_error *err)
{
	return (err->code == EACCES || err->code == EPERM || err->code == EROFS) && vs_idmap_rootless();
}

static int create_steps(struct create_ctx *c, const struct vs_create_opts *o, pid_t *pid,
			struct vs_error *err)
{
	char fifo[PATH_MAX], created[64];
	struct vs_init_config icfg;
	vs_autofree char *bundle = realpath(o->bundle ? o->bundle : ".", NULL);
	vs_autofree char *cfg_path = NULL;

	if (!bundle)
		return vs_error_set(err, errno, "bundle `%s`", o->bundle ? o->bundle : ".");
	if (o->spec) {
		c->spec = o->spec;
		c->config_text = strdup(o->config_json ? o->config_json : "{}");
		c->config_len = c->config_text ? strlen(c->config_text) : 0;
		if (!c->config_text)
			return vs_error_set(err, ENOMEM, "config");
	} else {
		if (asprintf(&cfg_path, "%s/config.json", bundle) < 0)
			return vs_error_set(err, ENOMEM, "config path");
		if (vs_read_file(cfg_path, "config", VS_CONFIG_MAX, (uint8_t **)&c->config_text,
				 &c->config_len, err) < 0)
			return -1;
		if (vs_spec_parse(c->config_text, c->config_len, bundle, &c->spec_storage, err) < 0)
			return vs_error_prefix(err, "config.json: ");
		c->spec = &c->spec_storage;
	}
	if (create_checks(c->spec, o, err) < 0)
		return -1;
	if (vs_state_create_dir(c->root, c->id, &c->lock_fd, err) < 0)
		return -1;
	c->dir = vs_state_dir(c->root, c->id);
	if (!c->dir)
		return vs_error_set(err, ENOMEM, "state path");
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", c->dir);
	/* Writable by the container's root, who may be a mapped uid. */
	if (mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0)
		return vs_error_set(err, errno, "creating `%s`", fifo);
	if (chown(fifo, host_id_of_root(c->spec->linux.uid_mappings, c->spec->linux.uid_mappings_count),
		  host_id_of_root(c->spec->linux.gid_mappings, c->spec->linux.gid_mappings_count)) < 0)
		return vs_error_set(err, errno, "chown `%s`", fifo);

	now_rfc3339(created, sizeof(created));
	c->st.id = strdup(c->id);
	c->st.oci_version = strdup(c->spec->oci_version ? c->spec->oci_version : VS_OCI_VERSION);
	c->st.bundle = strdup(bundle);
	c->st.rootfs = strdup(c->spec->root_path);
	c->st.created = strdup(created);
	c->st.phase = strdup("creating");
	c->st.owner = getuid();
	if (o->die_with_caller) {
		c->st.runner = getpid();
		c->st.runner_start = vs_proc_start_time(c->st.runner);
	}
	if (!c->st.id || !c->st.oci_version || !c->st.bundle || !c->st.rootfs || !c->st.created ||
	    !c->st.phase || vs_strv_copy(&c->st.annotation_keys, &c->spec->annotation_keys) < 0 ||
	    vs_strv_copy(&c->st.annotation_values, &c->spec->annotation_values) < 0)
		return vs_error_set(err, ENOMEM, "container state");
	/* Saved before anything else exists, so `delete --force` can clean up
	 * after a create that was killed half-way. */
	if (save_config_copy(c, err) < 0 || vs_state_save(c->dir, &c->st, err) < 0)
		return -1;
	if (vs_cgroup_create(c->spec->linux.cgroups_path, c->id, &c->cg, err) < 0) {
		const char *limit = requested_limit(&c->spec->linux.resources);
		if (!rootless_without_cgroups(err))
			return -1;
		/* Rootless without a delegated cgroup: the container runs in
		 * its caller's cgroup, unless it asked for a limit. */
		if (limit) {
			char why[VS_ERROR_MSG_MAX]; /* err->msg is rewritten below */
			snprintf(why, sizeof(why), "%s", err->msg);
			return vs_error_msg(
			    err,
			    "linux.resources.%s: an unprivileged user cannot apply cgroup limits "
			    "here (%s); remove the limit or run with a delegated cgroup",
			    limit, why);
		}
		vs_error_clear(err);
		c->cg = NULL;
	}
	/* The cgroup is recorded with init's pid in the next save: a create
	 * killed before that leaves phase "creating" without a cgroup, and
	 * delete finds the directories again from the saved config and the
	 * id (reopen_unrecorded_cgroup). */
	if (c->cg) {
		c->st.cgroup = vs_cgroup_serialize(c->cg);
		if (!c->st.cgroup)
			return vs_error_set(err, ENOMEM, "cgroup state");
		if (vs_cgroup_apply_linux(c->cg, &c->spec->linux, err) < 0)
			return -1;
	}
	if (o->console_socket && c->spec->process.terminal) {
		c->console_fd = vs_terminal_connect(o->console_socket, err);
		if (c->console_fd < 0)
			return -1;
	}
	/* listenerPath is a host path: connect now, init sends on it later. */
	if (c->spec->linux.seccomp && vs_seccomp_uses_notify(c->spec->linux.seccomp)) {
		c->listener_fd = vs_seccomp_listener_connect(c->spec->linux.seccomp->listener_path, err);
		if (c->listener_fd < 0)
			return -1;
	}
	icfg = (struct vs_init_config){
		.spec = c->spec,
		.id = c->id,
		.bundle = bundle,
		.state_dir = c->dir,
		.console_socket_fd = c->console_fd,
		.seccomp_listener_fd = c->listener_fd,
		.preserve_fds = o->preserve_fds,
		.cgroup = c->cg,
		.no_pivot = o->no_pivot,
		.die_with_parent = o->die_with_caller,
		.run_runtime_hooks = run_runtime_hooks,
		.hooks_opaque = c,
	};
	if (vs_init_spawn(&icfg, pid, err) < 0)
		return -1;
	c->st.pid = *pid;
	c->st.pid_start = vs_proc_start_time(*pid);
	free(c->st.phase);
	c->st.phase = strdup("created");
	if (!c->st.phase || vs_state_save(c->dir, &c->st, err) < 0 ||
	    (o->pid_file && vs_write_pid_file(o->pid_file, *pid, err) < 0)) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		return -1;
	}
	return 0;
}

int vs_container_create(const char *root, const char *id, const struct vs_create_opts *o, pid_t *pid,
			struct vs_error *err)
{
	struct create_ctx c = { .root = root, .id = id, .lock_fd = -1, .console_fd = -1, .listener_fd = -1 };
	int rc;
	if (vs_state_check_id(id, err) < 0)
		return -1;
	rc = create_steps(&c, o, pid, err);
	if (rc < 0)
		create_unwind(&c);
	create_release(&c);
	return rc;
}

/* Load the state under lock; the caller closes *lock_fd. */
static int open_container(const char *root, const char *id, int *lock_fd, struct vs_state *st,
			  struct vs_error *err)
{
	if (vs_state_lock(root, id, lock_fd, err) < 0)
		return -1;
	if (vs_state_load(root, id, st, err) < 0) {
		close(*lock_fd);
		return -1;
	}
	return 0;
}

static bool is_paused(const struct vs_state *st)
{
	struct vs_cgroup *cg = NULL;
	struct vs_error ignored = { 0 };
	bool frozen = false;
	if (!st->cgroup || vs_cgroup_open(st->cgroup, &cg, &ignored) < 0)
		return false;
	if (vs_cgroup_is_frozen(cg, &frozen, &ignored) < 0)
		frozen = false;
	vs_cgroup_free(cg);
	return frozen;
}

const char *vs_container_status(const char *root, const struct vs_state *st)
{
	/* Only a running container can be paused: the freezer is read (the
	 * cgroup opened) only then, not for `start` of a created one. */
	const char *status = vs_state_status(root, st, false);
	return strcmp(status, "running") == 0 && is_paused(st) ? "paused" : status;
}

int vs_container_start(const char *root, const char *id, struct vs_error *err)
{
	struct vs_state st;
	struct vs_spec spec;
	vs_autoclose int lock_fd = -1, fifo = -1;
	char path[PATH_MAX], byte;
	const char *status;
	int rc = -1;
	if (open_container(root, id, &lock_fd, &st, err) < 0)
		return -1;
	memset(&spec, 0, sizeof(spec));
	status = vs_container_status(root, &st);
	if (strcmp(status, "created") != 0) {
		vs_error_msg(err, "container `%s` is %s, not created: cannot start it", id, status);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s/exec.fifo", root, id);
	fifo = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0) {
		vs_error_set(err, errno, "opening `%s`", path);
		goto out;
	}
	/* init writes one byte once it sees us; if it died instead, notice
	 * rather than wait forever. */
	for (;;) {
		struct pollfd p = { .fd = fifo, .events = POLLIN };
		int n = poll(&p, 1, 100);
		if (n > 0 && read(fifo, &byte, 1) == 1)
			break;
		if (!vs_state_init_alive(&st)) {
			vs_error_msg(err, "container `%s`: init exited before it could start", id);
			goto out;
		}
	}
	unlink(path);
	/* End-of-file means init exec'd the process (its fifo end is
	 * close-on-exec); 'E' + reason means it failed first, e.g. in a
	 * startContainer hook. */
	fcntl(fifo, F_SETFL, 0);
	{
		char why[VS_ERROR_MSG_MAX];
		size_t got = 0;
		ssize_t n;
		while (got < sizeof(why) - 1 && (n = read(fifo, why + got, sizeof(why) - 1 - got)) > 0)
			got += (size_t)n;
		why[got] = '\0';
		if (got > 0 && why[0] == 'E') {
			vs_error_msg(err, "container `%s`: %s", id, why + 1);
			goto out;
		}
	}
	if (vs_state_load_config(root, &st, &spec, err) < 0)
		goto out;
	if (spec.hooks.count[VS_HOOK_POSTSTART]) {
		vs_autofree char *state = vs_state_json(st.oci_version, id, "running", st.pid, st.bundle,
							&st.annotation_keys, &st.annotation_values);
		struct vs_error hook_err = { 0 };
		size_t failed;
		if (!state) {
			vs_error_set(err, ENOMEM, "state for the poststart hooks");
			goto out;
		}
		/* The spec: a poststart failure is logged and the rest of
		 * start goes on; the container keeps running. */
		failed = vs_hooks_run_all(&spec.hooks, VS_HOOK_POSTSTART, state, &hook_err);
		if (failed)
			vs_warn("container `%s`: %zu poststart hook(s) failed, the first: %s", id, failed,
				hook_err.msg);
	}
	rc = 0;
out:
	vs_spec_free(&spec);
	vs_state_free(&st);
	return rc;
}

int vs_container_kill(const char *root, const char *id, int sig, bool all, struct vs_error *err)
{
	struct vs_state st;
	vs_autoclose int lock_fd = -1;
	struct vs_cgroup *cg = NULL;
	int rc = -1;
	if (open_container(root, id, &lock_fd, &st, err) < 0)
		return -1;
	if (!vs_state_init_alive(&st)) {
		vs_error_msg(err, "container `%s` is not running", id);
		goto out;
	}
	if (all && st.cgroup) {
		if (vs_cgroup_open(st.cgroup, &cg, err) < 0 || vs_cgroup_kill_all(cg, sig, err) < 0)
			goto out;
	} else if (kill(st.pid, sig) < 0) {
		vs_error_set(err, errno, "container `%s`: sending signal %d to %d", id, sig, (int)st.pid);
		goto out;
	} else if (sig == SIGKILL && st.cgroup && vs_cgroup_open(st.cgroup, &cg, err) == 0) {
		/* A frozen task cannot act on SIGKILL: thaw a paused container
		 * so it dies now (runc does the same). */
		bool frozen = false;
		if (vs_cgroup_is_frozen(cg, &frozen, err) == 0 && frozen &&
		    vs_cgroup_freeze(cg, false, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (cg)
		vs_cgroup_free(cg);
	vs_state_free(&st);
	return rc;
}

/* Wait up to ~5 s for init to be gone (it may be a zombie of another
 * parent, which counts as gone). */
static bool wait_gone(const struct vs_state *st)
{
	for (int i = 0; i < 500; i++) {
		if (!vs_state_init_alive(st))
			return true;
		waitpid(st->pid, NULL, WNOHANG);
		poll(NULL, 0, 10);
	}
	return !vs_state_init_alive(st);
}

/* A create killed before it recorded its cgroup may still have made the
 * directories: find them again from the saved config (written first) and
 * the id. vs_cgroup_create is idempotent for existing directories. */
static int reopen_unrecorded_cgroup(const char *root, const struct vs_state *st, struct vs_cgroup **cg,
				    struct vs_error *err)
{
	struct vs_spec spec;
	int rc;
	if (vs_state_load_config(root, st, &spec, err) < 0) {
		vs_error_clear(err);
		return 0; /* killed before even the config was saved: no cgroup yet */
	}
	rc = vs_cgroup_create(spec.linux.cgroups_path, st->id, cg, err);
	vs_spec_free(&spec);
	if (rc < 0 && rootless_without_cgroups(err)) {
		vs_error_clear(err); /* a rootless container without cgroups */
		*cg = NULL;
		rc = 0;
	}
	return rc;
}

int vs_container_delete(const char *root, const char *id, bool force, struct vs_error *err)
{
	struct vs_state st;
	struct vs_spec spec;
	vs_autoclose int lock_fd = -1;
	struct vs_cgroup *cg = NULL;
	const char *status;
	int rc = -1;
	if (vs_state_lock(root, id, &lock_fd, err) < 0)
		return -1;
	if (vs_state_load(root, id, &st, err) < 0) {
		/* A create killed before its first state save leaves a
		 * directory with at most the fifo and config copy: nothing
		 * runs and no cgroup exists yet. */
		if (!force)
			return vs_error_prefix(err, "(delete --force removes it) ");
		vs_error_clear(err);
		return vs_state_remove(root, id, err);
	}
	memset(&spec, 0, sizeof(spec));
	status = vs_container_status(root, &st);
	/* The spec: deleting a container that is not stopped is an error
	 * that leaves it untouched (runc deletes a created one anyway). */
	if (!force && strcmp(status, "stopped") != 0) {
		vs_error_msg(err, "container `%s` is %s: stop it first or use --force", id, status);
		goto out;
	}
	if (st.cgroup && vs_cgroup_open(st.cgroup, &cg, err) < 0)
		goto out;
	if (!st.cgroup && strcmp(st.phase, "creating") == 0 &&
	    reopen_unrecorded_cgroup(root, &st, &cg, err) < 0)
		goto out;
	if (vs_state_init_alive(&st)) {
		if (cg) {
			vs_cgroup_freeze(cg, false, err); /* a paused container cannot die */
			vs_cgroup_kill_all(cg, SIGKILL, err);
		}
		kill(st.pid, SIGKILL);
		if (!wait_gone(&st)) {
			vs_error_msg(err, "container `%s`: init (pid %d) did not exit after SIGKILL", id,
				     (int)st.pid);
			goto out;
		}
	}
	vs_error_clear(err);
	if (cg) {
		vs_cgroup_kill_all(cg, SIGKILL, err); /* stragglers: exec'd processes */
		vs_error_clear(err);
		if (vs_cgroup_destroy(cg, err) < 0)
			goto out;
	}
	/* poststop failures are warnings per the spec: the container is gone
	 * either way. */
	if (vs_state_load_config(root, &st, &spec, err) == 0 && spec.hooks.count[VS_HOOK_POSTSTOP]) {
		vs_autofree char *state = vs_state_json(st.oci_version, id, "stopped", 0, st.bundle,
							&st.annotation_keys, &st.annotation_values);
		struct vs_error hook_err = { 0 };
		size_t failed = state ? vs_hooks_run_all(&spec.hooks, VS_HOOK_POSTSTOP, state, &hook_err) : 0;
		if (failed)
			vs_warn("container `%s`: %zu poststop hook(s) failed, the first: %s", id, failed,
				hook_err.msg);
	}
	vs_error_clear(err);
	if (vs_state_remove(root, id, err) < 0)
		goto out;
	rc = 0;
out:
	if (cg)
		vs_cgroup_free(cg);
	vs_spec_free(&spec);
	vs_state_free(&st);
	return rc;
}

int vs_container_state(const char *root, const char *id, char **json, struct vs_error *err)
{
	struct vs_state st;
	vs_autoclose int lock_fd = -1;
	if (open_container(root, id, &lock_fd, &st, err) < 0)
		return -1;
	*json = vs_state_json(st.oci_version, id, vs_container_status(root, &st), st.pid, st.bundle,
			      &st.annotation_keys, &st.annotation_values);
	vs_state_free(&st);
	if (!*json)
		return vs_error_set(err, ENOMEM, "state");
	return 0;
}

static int with_cgroup(const char *root, const char *id, bool need_running, struct vs_cgroup **cg,
		       struct vs_error *err)
{
	struct vs_state st;
	vs_autoclose int lock_fd = -1;
	int rc = -1;
	if (open_container(root, id, &lock_fd, &st, err) < 0)
		return -1;
	if (need_running && !vs_state_init_alive(&st))
		vs_error_msg(err, "container `%s` is not running", id);
	else if (!st.cgroup)
		vs_error_msg(err, "container `%s` has no cgroup", id);
	else
		rc = vs_cgroup_open(st.cgroup, cg, err);
	vs_state_free(&st);
	return rc;
}

int vs_container_pause(const char *root, const char *id, bool pause, struct vs_error *err)
{
	struct vs_cgroup *cg;
	int rc;
	if (with_cgroup(root, id, true, &cg, err) < 0)
		return -1;
	rc = vs_cgroup_freeze(cg, pause, err);
	vs_cgroup_free(cg);
	return rc;
}

int vs_container_pids(const char *root, const char *id, pid_t **pids, size_t *count, struct vs_error *err)
{
	struct vs_cgroup *cg;
	int rc;
	if (with_cgroup(root, id, false, &cg, err) < 0)
		return -1;
	rc = vs_cgroup_pids(cg, pids, count, err);
	vs_cgroup_free(cg);
	return rc;
}

int vs_container_update(const char *root, const char *id, const struct vs_spec_resources *res,
			struct vs_error *err)
{
	struct vs_cgroup *cg;
	int rc;
	if (with_cgroup(root, id, true, &cg, err) < 0)
		return -1;
	rc = vs_cgroup_apply(cg, res, err);
	vs_cgroup_free(cg);
	return rc;
}
