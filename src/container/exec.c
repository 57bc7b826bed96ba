/* exec: a new process inside a running container's namespaces and cgroup,
 * with the container's seccomp profile. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/lsm.h"
#include "container/cgroup.h"
#include "container/container.h"
#include "container/process.h"
#include "container/state.h"
#include "container/terminal.h"
#include "util/cleanup.h"

/* Joining order: the user namespace first (it grants the rights for the
 * rest), the mount namespace last (it changes what paths mean). */
static const struct {
	const char *name;
	int flag;
} join_order[] = {
	{ "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
	{ "net", CLONE_NEWNET },   { "pid", CLONE_NEWPID }, { "cgroup", CLONE_NEWCGROUP },
	{ "time", CLONE_NEWTIME }, { "mnt", CLONE_NEWNS },
};
#define JOIN_COUNT (sizeof(join_order) / sizeof(join_order[0]))

/* Open init's namespaces that differ from ours (setns into our own user
 * namespace fails, and joining the same one is pointless). */
static int open_namespaces(pid_t pid, int fds[JOIN_COUNT], struct vs_error *err)
{
	for (size_t i = 0; i < JOIN_COUNT; i++) {
		char theirs[64], ours[64];
		struct stat a, b;
		fds[i] = -1;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, join_order[i].name);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", join_order[i].name);
		if (stat(theirs, &a) < 0)
			continue; /* kernel without this namespace type */
		if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		fds[i] = open(theirs, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return vs_error_set(err, errno, "opening `%s`", theirs);
	}
	return 0;
}

/* Merge `extra` (NAME=value) over `base`: same names are replaced. The
 * strings are borrowed; only the array is allocated. */
static char **merge_env(const struct vs_strv *base, char **extra)
{
	size_t nb = base->count, ne = 0, n = 0;
	char **out;
	while (extra && extra[ne])
		ne++;
	out = calloc(nb + ne + 1, sizeof(char *));
	if (!out)
		return NULL;
	for (size_t i = 0; i < nb; i++) {
		size_t klen = strcspn(base->v[i], "=");
		bool replaced = false;
		for (size_t j = 0; j < ne; j++)
			if (strncmp(extra[j], base->v[i], klen) == 0 && extra[j][klen] == '=')
				replaced = true;
		if (!replaced)
			out[n++] = base->v[i];
	}
	for (size_t j = 0; j < ne; j++)
		out[n++] = extra[j];
	return out;
}

/* The process exec runs: --process as given, or the container's process
 * with the command-line overrides. `env` receives an array to free. */
static int build_process(const struct vs_exec_opts *o, const struct vs_spec *spec, struct vs_spec_process *p,
			 char ***env, struct vs_error *err)
{
	const struct vs_exec_overrides *ov = o->overrides;
	size_t nargs = 0;
	*env = NULL;
	if (o->process) {
		*p = *o->process;
		return 0;
	}
	if (!ov || !ov->args || !ov->args[0])
		return vs_error_msg(err, "exec: no command given");
	*p = spec->process;
	while (ov->args[nargs])
		nargs++;
	p->args = (struct vs_strv){ ov->args, nargs };
	*env = merge_env(&spec->process.env, ov->env);
	if (!*env)
		return vs_error_set(err, ENOMEM, "exec environment");
	p->env.v = *env;
	p->env.count = 0;
	while ((*env)[p->env.count])
		p->env.count++;
	if (ov->cwd)
		p->cwd = (char *)ov->cwd;
	if (ov->has_user) {
		p->user.uid = ov->uid;
		p->user.gid = ov->gid;
		p->user.additional_gids = ov->gids;
		p->user.additional_gids_count = ov->gids_count;
	}
	if (ov->caps_add) {
		p->has_caps = true;
		p->caps.bounding |= ov->caps_add;
		p->caps.effective |= ov->caps_add;
		p->caps.permitted |= ov->caps_add;
		p->caps.inheritable |= ov->caps_add;
	}
	p->no_new_privileges |= ov->no_new_privs;
	p->terminal = ov->tty;
	p->has_console_size = false;
	return 0;
}

struct exec_child {
	const struct vs_exec_opts *o;
	const struct vs_spec_process *process;
	const struct vs_spec *spec;
	int ns_fds[JOIN_COUNT];
	int console_fd;
	int report;	      /* pipe: grandchild pid, then an error message if any */
	int go;		      /* pipe: parent says the cgroup is joined */
	struct vs_cgroup *cg; /* v1 hierarchies to join ourselves, or NULL */
	int root_fd;	      /* init's root, to chroot into after setns; -1: the namespace's root */
};

static void __attribute__((noreturn)) exec_grandchild(struct exec_child *c)
{
	struct vs_error err = { 0 };
	struct vs_process_exec_opts po = {
		.process = c->process,
		.seccomp = c->spec->linux.seccomp,
		.personality_domain =
		    c->spec->linux.has_personality ? c->spec->linux.personality_domain : NULL,
	};
	if (c->process->terminal && vs_terminal_setup(c->console_fd, c->process, &err) < 0)
		goto fail;
	if (chdir("/") < 0) {
		vs_error_set(&err, errno, "chdir /");
		goto fail;
	}
	vs_process_exec(&po, &err);
fail:
	if (write(c->report, err.msg, strlen(err.msg)) < 0) {
		/* nobody to tell */
	}
	_exit(127);
}

/* The intermediate child: joins the namespaces, then forks the process
 * itself so it lands inside the container's pid namespace. */
static void __attribute__((noreturn)) exec_child(struct exec_child *c)
{
	char byte;
	pid_t pid;
	if (read(c->go, &byte, 1) != 1)
		_exit(126);
	/* Still in the runtime's namespaces: into the v1 hierarchies by
	 * ourselves, without the kernel's global lock (vs_cgroup_join_self_v1). */
	if (c->cg) {
		struct vs_error e = { 0 };
		if (vs_cgroup_join_self_v1(c->cg, &e) < 0) {
			if (write(c->report, e.msg, strlen(e.msg)) < 0) {
				/* nobody to tell */
			}
			_exit(126);
		}
	}
	for (size_t i = 0; i < JOIN_COUNT; i++) {
		if (c->ns_fds[i] >= 0 && setns(c->ns_fds[i], join_order[i].flag) < 0) {
			char msg[128];
			int n = snprintf(msg, sizeof(msg), "joining the container's %s namespace: %s",
					 join_order[i].name, strerror(errno));
			if (write(c->report, msg, (size_t)n) < 0) {
				/* nobody to tell */
			}
			_exit(126);
		}
	}
	/* A created container's init may still have the host's old root
	 * stacked on its new one (vs_rootfs_pivot_keep_old): setns put us at
	 * the top of that stack, init's own root is the container's. */
	if (c->root_fd >= 0 && (fchdir(c->root_fd) < 0 || chroot(".") < 0)) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "entering the container's root: %s", strerror(errno));
		if (write(c->report, msg, (size_t)n) < 0) {
			/* nobody to tell */
		}
		_exit(126);
	}
	pid = fork();
	if (pid < 0)
		_exit(126);
	if (pid == 0)
		exec_grandchild(c);
	if (write(c->report, &pid, sizeof(pid)) != sizeof(pid))
		_exit(126);
	/* Leave the grandchild as the only writer: the runtime's read ends
	 * when it execs (CLOEXEC) or reports a failure. */
	close(c->report);
	if (c->o->detach)
		_exit(0);
	_exit(vs_wait_status(pid));
}

static int load_for_exec(const char *root, const char *id, struct vs_state *st, struct vs_spec *spec,
			 struct vs_error *err)
{
	vs_autoclose int lock_fd = -1;
	if (vs_state_lock(root, id, &lock_fd, err) < 0 || vs_state_load(root, id, st, err) < 0)
		return -1;
	if (!vs_state_init_alive(st)) {
		vs_state_free(st);
		return vs_error_msg(err, "container `%s` is not running", id);
	}
	if (vs_state_load_config(root, st, spec, err) < 0) {
		vs_state_free(st);
		return -1;
	}
	return 0;
}

int vs_container_exec(const char *root, const char *id, const struct vs_exec_opts *o, struct vs_error *err)
{
	struct vs_state st;
	struct vs_spec spec;
	struct vs_cgroup *cg = NULL;
	struct exec_child c = { .o = o, .console_fd = -1, .root_fd = -1 };
	struct vs_spec_process process;
	char **env = NULL;
	int report[2] = { -1, -1 }, go[2] = { -1, -1 }, rc = -1;
	vs_autoclose int cgfd = -1;
	bool in_v2 = false;
	pid_t child, grandchild = 0;
	char msg[VS_ERROR_MSG_MAX];
	ssize_t n;

	memset(&spec, 0, sizeof(spec));
	for (size_t i = 0; i < JOIN_COUNT; i++)
		c.ns_fds[i] = -1;
	if (load_for_exec(root, id, &st, &spec, err) < 0)
		return -1;
	c.spec = &spec;
	if (build_process(o, &spec, &process, &env, err) < 0)
		goto out;
	c.process = &process;
	if (vs_lsm_check(&process, NULL, err) < 0)
		goto out;
	if (process.terminal && !o->console_socket) {
		vs_error_msg(err, "exec: a terminal needs --console-socket");
		goto out;
	}
	if (open_namespaces(st.pid, c.ns_fds, err) < 0 ||
	    (st.cgroup && vs_cgroup_open(st.cgroup, &cg, err) < 0))
		goto out;
	/* Into a created container's mount namespace: by init's root (see
	 * exec_child). Once started, the namespace's root, as runc does. */
	if (c.ns_fds[JOIN_COUNT - 1] >= 0 && strcmp(vs_state_status(root, &st, false), "created") == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/root", (int)st.pid);
		c.root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c.root_fd < 0) {
			vs_error_set(err, errno, "opening `%s`", path);
			goto out;
		}
	}
	if (process.terminal && (c.console_fd = vs_terminal_connect(o->console_socket, err)) < 0)
		goto out;
	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		vs_error_set(err, errno, "pipe");
		goto out;
	}
	c.report = report[1];
	c.go = go[0];
	c.cg = cg;
	child = -1;
	if (cg && (cgfd = vs_cgroup_v2_fd(cg)) >= 0) {
		child = vs_cgroup_clone_into(cgfd, SIGCHLD);
		in_v2 = child >= 0;
	}
	if (child < 0)
		child = fork();
	if (child < 0) {
		vs_error_set(err, errno, "fork");
		goto out;
	}
	if (child == 0)
		exec_child(&c);
	close(report[1]);
	close(go[0]);
	report[1] = go[0] = -1;
	if (cg && !in_v2 && vs_cgroup_enter_some(cg, child, false, true, err) < 0) {
		kill(child, SIGKILL);
		vs_wait_status(child);
		goto out;
	}
	if (write(go[1], "g", 1) != 1) {
		vs_error_set(err, errno, "starting exec");
		goto out;
	}
	close(go[1]);
	go[1] = -1;
	/* Either the grandchild's pid, or the reason it failed. The pipe is
	 * CLOEXEC, so a successful exec closes it. */
	n = read(report[0], msg, sizeof(msg) - 1);
	if (n == (ssize_t)sizeof(pid_t)) {
		memcpy(&grandchild, msg, sizeof(grandchild));
		n = read(report[0], msg, sizeof(msg) - 1);
	}
	if (n > 0) {
		msg[n] = '\0';
		vs_wait_status(child);
		vs_error_msg(err, "exec in `%s`: %s", id, msg);
		goto out;
	}
	if (o->pid_file && grandchild && vs_write_pid_file(o->pid_file, grandchild, err) < 0)
		goto out;
	rc = vs_wait_status(child);
	if (o->detach)
		rc = 0;
out:
	for (size_t i = 0; i < JOIN_COUNT; i++)
		if (c.ns_fds[i] >= 0)
			close(c.ns_fds[i]);
	for (int i = 0; i < 2; i++) {
		if (report[i] >= 0)
			close(report[i]);
		if (go[i] >= 0)
			close(go[i]);
	}
	if (c.console_fd >= 0)
		close(c.console_fd);
	if (c.root_fd >= 0)
		close(c.root_fd);
	if (cg)
		vs_cgroup_free(cg);
	free(env);
	vs_spec_free(&spec);
	vs_state_free(&st);
	return rc;
}
