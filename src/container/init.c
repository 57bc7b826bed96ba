/* Container init: the runtime side spawns it and drives the handshake of
 * init.h; the init side builds the container around itself. */
#include "container/init.h"
#include "container/idmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "container/cgroup.h"
#include "container/terminal.h"
#include "container/hooks.h"
#include "container/process.h"
#include "container/rootfs.h"
#include "container/seccomp.h"
#include "container/state.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/file.h"

enum sync_msg {
	SYNC_MAPPED = 'M', /* runtime → init: maps written, cgroup joined; host pid follows */
	SYNC_HOOKS = 'H',  /* init → runtime: run prestart/createRuntime hooks now */
	SYNC_HOOKS_DONE = 'D',
	SYNC_READY = 'R', /* init → runtime: created, waiting on exec.fifo */
	SYNC_ERROR = 'E', /* init → runtime: uint16 length + message + int32 errno follow */
};

static const int clone_flag[VS_NS_COUNT] = {
	[VS_NS_MOUNT] = CLONE_NEWNS,	  [VS_NS_PID] = CLONE_NEWPID,	[VS_NS_UTS] = CLONE_NEWUTS,
	[VS_NS_IPC] = CLONE_NEWIPC,	  [VS_NS_NET] = CLONE_NEWNET,	[VS_NS_USER] = CLONE_NEWUSER,
	[VS_NS_CGROUP] = CLONE_NEWCGROUP, [VS_NS_TIME] = CLONE_NEWTIME,
};

static int send_byte(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

/* Read one message byte; 0 on EOF (the peer died). */
static int recv_byte(int fd, char *c)
{
	for (;;) {
		ssize_t n = read(fd, c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		return (int)n;
	}
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- init side --------------------------------------------------------- */

struct init_ctx {
	const struct vs_init_config *cfg;
	const struct vs_spec *spec;
	int sync;
	pid_t host_pid;
	int fifo_fd;	  /* O_PATH to exec.fifo, opened before pivot */
	int fifo_w;	  /* its write end once `start` opened it; -1 before */
	int proc_fd;	  /* O_PATH to the runtime's /proc, to reopen fifo_fd */
	int parent_pidfd; /* die_with_parent: the runtime's pidfd, or -1 */
	int old_root;	  /* the old root, still stacked on the new one until READY is sent */
	int ns_fds[VS_NS_COUNT];
};

/* Whether the runtime runs hooks between init's mounts and its pivot
 * (prestart, createRuntime); without any, both sides skip that round
 * trip: two wake-ups fewer per create. */
static bool runtime_hooks_wanted(const struct vs_init_config *cfg)
{
	const struct vs_spec_hooks *h = &cfg->spec->hooks;
	return cfg->run_runtime_hooks && (h->count[VS_HOOK_PRESTART] || h->count[VS_HOOK_CREATE_RUNTIME]);
}

static int join_namespaces(struct init_ctx *c, struct vs_error *err)
{
	const struct vs_spec_linux *l = &c->spec->linux;
	/* Open every path first: after joining the mount namespace the host
	 * paths may resolve somewhere else. */
	for (size_t i = 0; i < l->namespaces_count; i++) {
		const struct vs_spec_namespace *ns = &l->namespaces[i];
		if (!ns->path || ns->type == VS_NS_PID)
			continue;
		c->ns_fds[ns->type] = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (c->ns_fds[ns->type] < 0)
			return vs_error_set(err, errno, "linux.namespaces[%zu]: opening %s namespace `%s`", i,
					    vs_ns_type_name(ns->type), ns->path);
	}
	/* The user namespace first: it decides what may join the others. */
	if (c->ns_fds[VS_NS_USER] >= 0 && setns(c->ns_fds[VS_NS_USER], CLONE_NEWUSER) < 0)
		return vs_error_set(err, errno, "joining user namespace");
	for (int t = 0; t < VS_NS_COUNT; t++) {
		if (t == VS_NS_USER || c->ns_fds[t] < 0)
			continue;
		if (setns(c->ns_fds[t], clone_flag[t]) < 0)
			return vs_error_set(err, errno, "joining %s namespace",
					    vs_ns_type_name((enum vs_ns_type)t));
	}
	return 0;
}

static int unshare_namespaces(struct init_ctx *c, struct vs_error *err)
{
	int flags = 0;
	const struct vs_spec_linux *l = &c->spec->linux;
	for (size_t i = 0; i < l->namespaces_count; i++) {
		const struct vs_spec_namespace *ns = &l->namespaces[i];
		/* user and pid come with the clone, time from the runtime (a new
		 * time namespace only takes in the unsharer's children). */
		if (!ns->path && ns->type != VS_NS_USER && ns->type != VS_NS_PID && ns->type != VS_NS_TIME)
			flags |= clone_flag[ns->type];
	}
	/* Created here, inside the new user namespace, so that namespace owns
	 * them. */
	if (flags && unshare(flags) < 0)
		return vs_error_set(err, errno, "creating namespaces (unshare 0x%x)", flags);
	return 0;
}

static int set_names(const struct vs_spec *spec, struct vs_error *err)
{
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return vs_error_set(err, errno, "hostname `%s`", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return vs_error_set(err, errno, "domainname `%s`", spec->domainname);
	return 0;
}

static int write_sysctls(const struct vs_spec *spec, struct vs_error *err)
{
	for (size_t i = 0; i < spec->linux.sysctl_keys.count; i++) {
		char path[512];
		const char *key = spec->linux.sysctl_keys.v[i], *val = spec->linux.sysctl_values.v[i];
		int n = snprintf(path, sizeof(path), "/proc/sys/%s", key);
		vs_autoclose int fd = -1;
		if (n < 0 || (size_t)n >= sizeof(path) || strstr(key, ".."))
			return vs_error_msg(err, "linux.sysctl: bad key `%s`", key);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || vs_write_all(fd, val, strlen(val)) < 0)
			return vs_error_set(err, errno, "linux.sysctl `%s` = `%s`", key, val);
	}
	return 0;
}

static int run_container_hooks(struct init_ctx *c, enum vs_hook_kind kind, struct vs_error *err)
{
	vs_autofree char *state = NULL;
	/* createContainer runs during create, startContainer once it is done. */
	const char *status = kind == VS_HOOK_START_CONTAINER ? "created" : "creating";
	if (!c->spec->hooks.count[kind])
		return 0;
	state = vs_state_json(c->spec->oci_version, c->cfg->id, status, c->host_pid, c->cfg->bundle,
			      &c->spec->annotation_keys, &c->spec->annotation_values);
	if (!state)
		return vs_error_set(err, ENOMEM, "state for hooks");
	return vs_hooks_run(&c->spec->hooks, kind, state, err);
}

static int wait_for_start(struct init_ctx *c, struct vs_error *err)
{
	char path[64];
	vs_autoclose int fd = -1;
	if (c->fifo_fd < 0)
		return 0;
	/* Blocks until `start` opens the other end. The O_PATH fd survives
	 * the pivot; reopening it through /proc gives a real FIFO end. The
	 * /proc is the runtime's, held since before the pivot: the container
	 * may have none (a config without a mount namespace or a proc mount). */
	snprintf(path, sizeof(path), "self/fd/%d", c->fifo_fd);
	fd = openat(c->proc_fd, path, O_WRONLY | O_CLOEXEC);
	close(c->proc_fd);
	c->proc_fd = -1;
	if (fd < 0)
		return vs_error_set(err, errno, "opening exec.fifo through the runtime's /proc");
	if (write(fd, "0", 1) != 1)
		return vs_error_set(err, errno, "writing exec.fifo");
	close(c->fifo_fd);
	c->fifo_fd = -1;
	/* Kept open (close-on-exec): `start` reads until end-of-file, which
	 * comes when the process is exec'd, and only then runs the poststart
	 * hooks. A failure before the exec is written here as 'E' + reason. */
	c->fifo_w = vs_steal_fd(&fd);
	return 0;
}

static int init_cgroup_mounts(const struct vs_init_config *cfg, struct vs_rootfs_cgroup_mounts *m,
			      const char **names, const char **dirs, size_t max)
{
	const struct vs_cgroup_hierarchy *h;
	size_t n = cfg->cgroup ? vs_cgroup_hierarchies(cfg->cgroup, &h) : 0;
	memset(m, 0, sizeof(*m));
	m->names = names;
	m->host_dirs = dirs;
	for (size_t i = 0; i < n && m->count < max; i++) {
		if (h[i].name[0] == '\0') {
			m->v2_dir = h[i].dir;
			if (n == 1)
				m->v2 = true;
			continue;
		}
		names[m->count] = h[i].name;
		dirs[m->count] = h[i].dir;
		m->count++;
	}
	return 0;
}

/* mkdir -p of an absolute path, 0755 (as runc does for process.cwd). */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = c;
		if (!c)
			return 0;
	}
}

/* The value of PATH in the process's env, or runc's default. */
static const char *process_path(const struct vs_spec_process *p)
{
	for (size_t i = 0; i < p->env.count; i++)
		if (strncmp(p->env.v[i], "PATH=", 5) == 0)
			return p->env.v[i] + 5;
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* At create, inside the container's root, as runc 1.1 does: a missing
 * process.cwd is created (containerd's --cwd), before the root is made
 * read-only; and a command that is not there fails create rather than
 * start (make_cwd, then check_command: what exec would find by PATH from
 * the process's env is looked up the same way). */
static int make_cwd(const struct vs_spec_process *p, struct vs_error *err)
{
	struct stat st;
	if (p->cwd && stat(p->cwd, &st) < 0) {
		if (errno != ENOENT || mkdir_parents(p->cwd) < 0)
			return vs_error_set(err, errno, "process.cwd `%s`", p->cwd);
	}
	return 0;
}

static int check_command(const struct vs_spec_process *p, struct vs_error *err)
{
	const char *cmd = p->args.count ? p->args.v[0] : NULL;
	struct stat st;
	if (!cmd)
		return 0;
	if (strchr(cmd, '/')) {
		/* Relative to cwd, as exec would see it. */
		char full[PATH_MAX];
		if (cmd[0] != '/' && p->cwd)
			snprintf(full, sizeof(full), "%s/%s", p->cwd, cmd);
		else
			snprintf(full, sizeof(full), "%s", cmd);
		if (stat(full, &st) < 0)
			return vs_error_set(err, errno, "exec `%s`", cmd);
		return 0;
	}
	for (const char *dir = process_path(p);;) {
		size_t n = strcspn(dir, ":");
		char full[PATH_MAX];
		/* An empty entry is the working directory, as for execvp. */
		if (snprintf(full, sizeof(full), "%.*s/%s", (int)(n ? n : 1), n ? dir : ".", cmd) <
			(int)sizeof(full) &&
		    is_executable_file(full))
			return 0;
		if (!dir[n])
			break;
		dir += n + 1;
	}
	return vs_error_msg_code(err, ENOENT, "exec `%s`: executable file not found in $PATH", cmd);
}

static int init_build(struct init_ctx *c, struct vs_error *err)
{
	const struct vs_spec *spec = c->spec;
	const struct vs_init_config *cfg = c->cfg;
	bool new_user =
	    vs_spec_namespace_find(spec, VS_NS_USER) && !vs_spec_namespace_find(spec, VS_NS_USER)->path;
	bool has_mnt = vs_spec_namespace_find(spec, VS_NS_MOUNT) != NULL;
	char msg;
	const char *cg_names[16], *cg_dirs[16];
	struct vs_rootfs_cgroup_mounts cgm;

	if (recv_byte(c->sync, &msg) != 1 || msg != SYNC_MAPPED ||
	    read_full(c->sync, &c->host_pid, sizeof(c->host_pid)) < 0)
		return vs_error_msg(err, "runtime went away before the container was set up");
	if (new_user && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return vs_error_set(err, errno,
				    "becoming root in the new user namespace (are uid/gid 0 mapped?)");
	if (join_namespaces(c, err) < 0 || unshare_namespaces(c, err) < 0 || set_names(spec, err) < 0)
		return -1;
	/* Relative bind-mount sources are relative to the bundle. */
	if (cfg->bundle && chdir(cfg->bundle) < 0)
		return vs_error_set(err, errno, "entering bundle `%s`", cfg->bundle);
	init_cgroup_mounts(cfg, &cgm, cg_names, cg_dirs, VS_ARRAY_SIZE(cg_names));
	/* A rootless container without a cgroup has no hierarchy to show:
	 * its cgroup mounts are left out (NULL), /sys/fs/cgroup stays empty. */
	if (has_mnt && vs_rootfs_prepare(spec, cfg->cgroup ? &cgm : NULL, err) < 0)
		return -1;
	if (runtime_hooks_wanted(cfg) &&
	    (send_byte(c->sync, SYNC_HOOKS) < 0 || recv_byte(c->sync, &msg) != 1 || msg != SYNC_HOOKS_DONE))
		return vs_error_msg(err, "runtime went away while running createRuntime hooks");
	if (run_container_hooks(c, VS_HOOK_CREATE_CONTAINER, err) < 0)
		return -1;
	if (has_mnt) {
		/* sysctls go in before readonlyPaths make /proc/sys read-only. */
		if (vs_rootfs_pivot_keep_old(spec, cfg->no_pivot, &c->old_root, err) < 0 ||
		    write_sysctls(spec, err) < 0 || make_cwd(&spec->process, err) < 0 ||
		    vs_rootfs_finalize(spec, err) < 0)
			return -1;
	} else if (chroot(spec->root_path) < 0 || chdir("/") < 0 || write_sysctls(spec, err) < 0 ||
		   make_cwd(&spec->process, err) < 0) {
		return err->msg[0] ? -1 : vs_error_set(err, errno, "chroot into `%s`", spec->root_path);
	}
	if (check_command(&spec->process, err) < 0)
		return -1;
	if (spec->process.terminal && vs_terminal_setup(cfg->console_socket_fd, &spec->process, err) < 0)
		return -1;
	return 0;
}

/* process.c calls this with the seccomp notification fd right before
 * exec: hand it to the listener the runtime connected to at create. */
static int send_listener(void *opaque, int fd, struct vs_error *err)
{
	struct init_ctx *c = opaque;
	const struct vs_spec_seccomp *sc = c->spec->linux.seccomp;
	vs_autofree char *state =
	    vs_state_json(c->spec->oci_version, c->cfg->id, "created", c->host_pid, c->cfg->bundle,
			  &c->spec->annotation_keys, &c->spec->annotation_values);
	if (c->cfg->seccomp_listener_fd < 0)
		return vs_error_msg(err, "linux.seccomp.listenerPath: no listener connection");
	if (vs_seccomp_listener_send(c->cfg->seccomp_listener_fd, sc->listener_metadata, fd, c->host_pid,
				     state, err) < 0)
		return vs_error_prefix(err, "linux.seccomp.listenerPath `%s`: ", sc->listener_path);
	close(c->cfg->seccomp_listener_fd);
	return 0;
}

static void init_fail(int sync, const struct vs_error *err)
{
	uint16_t len = (uint16_t)strnlen(err->msg, sizeof(err->msg));
	int32_t code = err->code;
	char m = SYNC_ERROR;
	if (write(sync, &m, 1) == 1 && write(sync, &len, sizeof(len)) == sizeof(len) &&
	    write(sync, err->msg, len) == len && write(sync, &code, sizeof(code))) {
		/* delivered; nothing else to do */
	}
	_exit(1);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* init starts as a copy of the runtime and inherits all its fds, among
 * them the flock on the state directory: keep only what init owns. One
 * close_range() per gap, not a close() per possible fd. */
static void close_inherited_fds(const struct vs_init_config *cfg, int sync, int fifo_fd, int parent_pidfd)
{
	int keep[] = { sync, cfg->console_socket_fd, fifo_fd, cfg->seccomp_listener_fd, parent_pidfd };
	unsigned int from = (unsigned int)(3 + cfg->preserve_fds);
	qsort(keep, VS_ARRAY_SIZE(keep), sizeof(keep[0]), cmp_int);
	for (size_t i = 0; i < VS_ARRAY_SIZE(keep); i++) {
		if (keep[i] < 0 || (unsigned int)keep[i] < from)
			continue;
		if ((unsigned int)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	if (syscall(SYS_close_range, from, ~0u, 0) < 0 && errno == ENOSYS) {
		/* Kernels before 5.9: walk the fds that are actually open. */
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		int dfd = d ? dirfd(d) : -1;
		while (d && (e = readdir(d))) {
			int fd = atoi(e->d_name);
			if (e->d_name[0] != '.' && fd >= 3 + cfg->preserve_fds && fd != dfd && fd != sync &&
			    fd != cfg->console_socket_fd && fd != fifo_fd && fd != cfg->seccomp_listener_fd &&
			    fd != parent_pidfd)
				close(fd);
		}
		if (d)
			closedir(d);
	}
}

static void __attribute__((noreturn))
init_main(const struct vs_init_config *cfg, int sync, int fifo_fd, int parent_pidfd, bool join_v1)
{
	struct init_ctx c = { .cfg = cfg,
			      .spec = cfg->spec,
			      .sync = sync,
			      .fifo_fd = fifo_fd,
			      .fifo_w = -1,
			      .proc_fd = -1,
			      .parent_pidfd = parent_pidfd,
			      .old_root = -1 };
	struct vs_error err = { 0 };
	struct vs_process_exec_opts po;
	/* The runtime's log sink may write to a file whose fd is about to be
	 * closed (vessel-oci --log): log to stderr from here on. */
	vs_log_set_sink(NULL);
	close_inherited_fds(cfg, sync, fifo_fd, parent_pidfd);
	/* Before any namespace is joined or root changed: the /proc that
	 * shows this process, for wait_for_start. Close-on-exec, and closed
	 * once the fifo is reopened, before any hook or user code runs. */
	if (fifo_fd >= 0) {
		c.proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c.proc_fd < 0) {
			vs_error_set(&err, errno, "opening /proc");
			init_fail(sync, &err);
		}
	}
	/* First thing, before the runtime can die unnoticed: a runtime killed
	 * before this point is caught by the check inside (and by the EOF on
	 * sync). */
	if (cfg->die_with_parent && vs_process_die_with_parent(parent_pidfd, &err) < 0)
		_exit(1);
	/* Into the v1 hierarchies by ourselves, before anything is charged
	 * or unshared: see vs_cgroup_join_self_v1. */
	if (join_v1 && vs_cgroup_join_self_v1(cfg->cgroup, &err) < 0)
		init_fail(sync, &err);
	for (int t = 0; t < VS_NS_COUNT; t++)
		c.ns_fds[t] = -1;
	/* Die with the runtime while it still drives us (create); the bond is
	 * cut once READY is sent. */
	if (init_build(&c, &err) < 0)
		init_fail(sync, &err);
	if (send_byte(sync, SYNC_READY) < 0)
		_exit(1);
	close(sync);
	/* From here errors can only go to stderr: the runtime has returned.
	 * The old root goes now, while `create` returns and `start` comes:
	 * its unmount waits for an RCU grace period. `start` waits for it
	 * (the fifo is opened after it), `exec` does not need to (see
	 * vs_rootfs_pivot_keep_old). */
	if (vs_rootfs_detach_old_root(&c.old_root, &err) < 0 || wait_for_start(&c, &err) < 0 ||
	    run_container_hooks(&c, VS_HOOK_START_CONTAINER, &err) < 0)
		goto fail;
	po = (struct vs_process_exec_opts){
		.process = &c.spec->process,
		.seccomp = c.spec->linux.seccomp,
		.personality_domain = c.spec->linux.has_personality ? c.spec->linux.personality_domain : NULL,
		.send_listener = send_listener,
		.listener_opaque = &c,
		.die_with_parent = cfg->die_with_parent,
		.parent_pidfd = c.parent_pidfd,
	};
	vs_process_exec(&po, &err);
fail:
	/* `start` reports the reason it reads from the fifo; only when that
	 * cannot reach it is stderr the place. */
	if (!(c.fifo_w >= 0 && write(c.fifo_w, "E", 1) == 1 &&
	      write(c.fifo_w, err.msg, strlen(err.msg)) == (ssize_t)strlen(err.msg)))
		fprintf(stderr, "vessel: container %s: %s\n", cfg->id, err.msg);
	_exit(err.code == EACCES || err.code == ENOEXEC ? 126 : 127);
}

/* ---- runtime side ------------------------------------------------------ */

/* Read init's answer; on ERROR fetch the message. */
static int expect(int sync, char want, struct vs_error *err)
{
	char msg;
	uint16_t len;
	char text[VS_ERROR_MSG_MAX];
	if (recv_byte(sync, &msg) != 1)
		return vs_error_msg(err, "container init exited during set-up");
	if (msg == want)
		return 0;
	if (msg == SYNC_ERROR && read_full(sync, &len, sizeof(len)) == 0 && len < sizeof(text) &&
	    read_full(sync, text, len) == 0) {
		int32_t code = 0;
		text[len] = '\0';
		/* The errno follows (ENOENT for a missing command, which
		 * `vessel ct run` turns into 127). */
		if (read_full(sync, &code, sizeof(code)) < 0)
			code = 0;
		return vs_error_msg_code(err, code, "%s", text);
	}
	return vs_error_msg(err, "container init sent an unexpected message (0x%02x)", (unsigned char)msg);
}

/* A new time namespace for our next child, with the spec's clock offsets
 * (they can only be written before a process enters it). *old gets our
 * own time namespace back for the caller to restore. */
static int new_time_namespace(const struct vs_spec_linux *l, int *old, struct vs_error *err)
{
	char text[128];
	int n;
	vs_autoclose int fd = -1;
	*old = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (*old < 0)
		return vs_error_set(err, errno, "linux.namespaces: time namespaces are not available");
	if (unshare(CLONE_NEWTIME) < 0)
		return vs_error_set(err, errno, "linux.namespaces: creating a time namespace");
	if (!l->has_time_offsets)
		return 0;
	n = snprintf(text, sizeof(text), "monotonic %lld %u\nboottime %lld %u\n",
		     (long long)l->monotonic_secs, l->monotonic_nanosecs, (long long)l->boottime_secs,
		     l->boottime_nanosecs);
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)n) != n)
		return vs_error_set(err, errno, "linux.timeOffsets: writing /proc/self/timens_offsets");
	return 0;
}

int vs_init_spawn(const struct vs_init_config *cfg, pid_t *out_pid, struct vs_error *err)
{
	const struct vs_spec *spec = cfg->spec;
	const struct vs_spec_namespace *user = vs_spec_namespace_find(spec, VS_NS_USER);
	const struct vs_spec_namespace *pidns = vs_spec_namespace_find(spec, VS_NS_PID);
	const struct vs_spec_namespace *timens = vs_spec_namespace_find(spec, VS_NS_TIME);
	vs_autoclose int pidns_fd = -1, old_pidns = -1, old_timens = -1, fifo_fd = -1, parent_pidfd = -1,
			 cgfd = -1;
	bool join_v1, in_v2 = false;
	int sv[2], flags = SIGCHLD;
	pid_t pid;

	if (pidns && pidns->path) {
		/* setns on a pid namespace moves only our future children. */
		pidns_fd = open(pidns->path, O_RDONLY | O_CLOEXEC);
		old_pidns = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
		if (pidns_fd < 0 || old_pidns < 0 || setns(pidns_fd, CLONE_NEWPID) < 0)
			return vs_error_set(err, errno, "joining pid namespace `%s`", pidns->path);
	} else if (pidns) {
		flags |= CLONE_NEWPID;
	}
	if (user && !user->path)
		flags |= CLONE_NEWUSER;
	if (timens && !timens->path && new_time_namespace(&spec->linux, &old_timens, err) < 0) {
		if (old_timens >= 0)
			setns(old_timens, CLONE_NEWTIME);
		if (old_pidns >= 0)
			setns(old_pidns, CLONE_NEWPID);
		return -1;
	}
	if (cfg->state_dir) {
		/* Opened here, in the runtime's namespaces: init may not be able
		 * to reach the state directory once it is a user-namespaced root.
		 * It reopens the fd for writing through /proc. */
		char fifo[4096];
		snprintf(fifo, sizeof(fifo), "%s/exec.fifo", cfg->state_dir);
		fifo_fd = open(fifo, O_PATH | O_CLOEXEC);
		if (fifo_fd < 0)
			return vs_error_set(err, errno, "opening `%s`", fifo);
	}
	/* Our own pidfd, for init to check we are still alive once it armed
	 * PDEATHSIG (kernels before 5.3 lack pidfd_open: init then relies on
	 * the sync socket alone, which covers the set-up). */
	if (cfg->die_with_parent)
		parent_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vs_error_set(err, errno, "socketpair");
	/* init joins the v1 hierarchies itself unless it starts in a new
	 * user namespace (it could not write the host's cgroup files); the v2
	 * directory comes with the clone where the kernel has clone3. */
	join_v1 = cfg->cgroup && !(flags & CLONE_NEWUSER);
	if (cfg->cgroup)
		cgfd = vs_cgroup_v2_fd(cfg->cgroup);
	pid = -1;
	if (cgfd >= 0) {
		pid = vs_cgroup_clone_into(cgfd, flags);
		in_v2 = pid >= 0;
	}
	if (pid < 0)
		pid = (pid_t)syscall(SYS_clone, (unsigned long)flags, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		if (old_pidns >= 0)
			setns(old_pidns, CLONE_NEWPID);
		if (old_timens >= 0)
			setns(old_timens, CLONE_NEWTIME);
		return vs_error_set(err, e, "starting the container's init (clone flags 0x%x)", flags);
	}
	if (pid == 0) {
		close(sv[0]);
		init_main(cfg, sv[1], fifo_fd, parent_pidfd, join_v1);
	}
	close(sv[1]);
	if (old_pidns >= 0)
		setns(old_pidns, CLONE_NEWPID);
	if (old_timens >= 0)
		setns(old_timens, CLONE_NEWTIME);

	if (user && !user->path && vs_idmap_write(pid, &spec->linux, err) < 0)
		goto fail;
	if (cfg->cgroup && (!join_v1 || !in_v2) &&
	    vs_cgroup_enter_some(cfg->cgroup, pid, !join_v1, !in_v2, err) < 0)
		goto fail;
	if (send_byte(sv[0], SYNC_MAPPED) < 0 || write(sv[0], &pid, sizeof(pid)) != sizeof(pid)) {
		vs_error_set(err, errno, "talking to container init");
		goto fail;
	}
	if (runtime_hooks_wanted(cfg)) {
		if (expect(sv[0], SYNC_HOOKS, err) < 0 ||
		    cfg->run_runtime_hooks(cfg->hooks_opaque, pid, err) < 0)
			goto fail;
		if (send_byte(sv[0], SYNC_HOOKS_DONE) < 0) {
			vs_error_set(err, errno, "talking to container init");
			goto fail;
		}
	}
	if (expect(sv[0], SYNC_READY, err) < 0)
		goto fail;
	close(sv[0]);
	*out_pid = pid;
	return 0;
fail:
	close(sv[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}
