/* Root filesystem set-up inside a user namespace (device binds, the sysfs
 * fallback, flags the kernel locked) and cgroup mounts with and without a
 * cgroup namespace, against the real kernel in forked children. Needs
 * root; skips otherwise. */
#include "rootfs_fixture.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "../tap.h"

/* In a user namespace (ids 0-65535 mapped to themselves, new PID and IPC
 * namespaces, no network namespace): device nodes become binds of the
 * host's, sysfs a bind of the host's /sys, flags locked by the kernel are
 * kept. Runs as PID 1 of its PID namespace. */
static int userns_inner(struct vs_fixture *f)
{
	int fails = 0, *fails_ = &fails;
	struct vs_spec_mount mounts[] = {
		{ .destination = "/proc", .type = "proc", .source = "proc" },
		{ .destination = "/dev",
		  .type = "tmpfs",
		  .source = "tmpfs",
		  .options = STRV("nosuid", "mode=755") },
		{ .destination = "/dev/pts",
		  .type = "devpts",
		  .source = "devpts",
		  .options = STRV("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5") },
		{ .destination = "/dev/mqueue",
		  .type = "mqueue",
		  .source = "mqueue",
		  .options = STRV("nodev") },
		{ .destination = "/sys",
		  .type = "sysfs",
		  .source = "sysfs",
		  .options = STRV("nosuid", "nodev", "ro") },
		/* f->host is a nosuid,nodev,noatime tmpfs from outside the user
		 * namespace: those flags are locked and must survive "suid,dev". */
		{ .destination = "/data",
		  .type = "bind",
		  .source = f->host,
		  .options = STRV("rbind", "ro", "suid", "dev") },
	};
	struct vs_spec_device fifo = {
		.path = "/dev/vsfifo", .type = 'p', .has_file_mode = true, .file_mode = 0604
	};
	struct vs_spec spec = { .root_path = f->root, .root_readonly = true, .mounts = mounts };
	struct stat st;
	spec.mounts_count = VS_ARRAY_SIZE(mounts);
	spec.linux.devices = &fifo;
	spec.linux.devices_count = 1;
	spec.linux.masked_paths = STRV("/proc/timer_list", "/proc/bus");
	spec.linux.readonly_paths = STRV("/proc/sys");
	if (vs_fx_setup_all(&spec, NULL) < 0)
		return 1;
	CCHECK(vs_fx_is_chr("/dev/null", 1, 3) && vs_fx_is_chr("/dev/urandom", 1, 9) &&
	       vs_fx_is_chr("/dev/tty", 5, 0));
	CCHECK(vs_fx_mi_has("/dev/null", NULL, NULL) &&
	       vs_fx_mi_has("/dev/tty", NULL, NULL)); /* binds, not nodes */
	CCHECK(vs_fx_mi_has("/sys", "sysfs", "ro") && vs_fx_mi_has("/sys", NULL, "nosuid") &&
	       access("/sys/kernel", F_OK) == 0);
	CCHECK(vs_fx_mi_has("/dev/mqueue", "mqueue", "nodev") && vs_fx_mi_has("/dev/pts", "devpts", NULL));
	CCHECK(vs_fx_create_errno("/data/new") == EROFS && vs_fx_create_errno("/new") == EROFS);
	CCHECK(vs_fx_mi_has("/data", NULL, "nosuid") && vs_fx_mi_has("/data", NULL, "nodev") &&
	       vs_fx_mi_has("/data", NULL, "noatime"));
	CCHECK(vs_fx_read_eq("/data/data", "hello") && vs_fx_create_errno("/dev/new") == 0);
	CCHECK(vs_fx_is_ro("/proc/sys") && vs_fx_is_chr("/proc/timer_list", 1, 3) &&
	       vs_fx_mi_has("/proc/bus", "tmpfs", "ro"));
	CCHECK(stat("/dev/vsfifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0604);
	CCHECK(vs_fx_link_is("/dev/ptmx", "pts/ptmx"));
	CCHECK(vs_fx_run_sh("test -c /dev/null && exit 9") == 9);
	return fails ? 1 : 0;
}

static bool write_map(pid_t pid, const char *file)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return vs_fx_write_text(path, "0 0 65536\n") == 0;
}

/* The child unshares; the parent, privileged in the initial user
 * namespace, writes a mapping wider than the child could write itself. */
static int run_userns(struct vs_fixture *f)
{
	int up[2], down[2], st;
	char c;
	pid_t pid;
	if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pid_t g;
		char data[128];
		close(up[0]);
		close(down[1]);
		snprintf(data, sizeof(data), "%s/data", f->host);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(SKIP_STATUS);
		if (mount("tmpfs", f->host, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOATIME, "size=64k") < 0 ||
		    vs_fx_write_text(data, "hello") < 0)
			_exit(1);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) < 0)
			_exit(SKIP_STATUS);
		if (write(up[1], "u", 1) != 1 || read(down[0], &c, 1) != 1 || c != 'g')
			_exit(SKIP_STATUS);
		g = fork();
		if (g == 0) {
			int r = 1;
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
				r = userns_inner(f);
			fflush(stdout);
			_exit(r);
		}
		_exit(g > 0 && waitpid(g, &st, 0) == g && WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	close(up[1]);
	close(down[0]);
	if (pid > 0 && read(up[0], &c, 1) == 1) {
		bool mapped = write_map(pid, "uid_map") && write_map(pid, "gid_map");
		if (write(down[1], mapped ? "g" : "x", 1) != 1)
			mapped = false;
	}
	close(up[0]);
	close(down[1]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST(user_namespace)
{
	struct vs_fixture f;
	int r;
	if (geteuid() != 0)
		SKIP("needs root");
	if (access("/bin/busybox", X_OK) < 0)
		SKIP("no /bin/busybox (busybox-static)");
	CHECK(vs_fixture_make(&f) == 0);
	r = run_userns(&f);
	CHECK(!vs_fx_mounts_mention(f.dir));
	vs_fixture_remove(&f);
	if (r == SKIP_STATUS)
		SKIP("user namespaces not permitted");
	CHECK_EQ_U64(r, 0);
}

/* cgroup mounts on the hybrid layout: test cgroups with an "inner" child
 * in memory, pids, name=systemd and the unified tree. */
#define CG_N 4
static const char *const cg_hier[CG_N] = { "memory", "pids", "systemd", "unified" };

struct cg_arg {
	struct vs_fixture f;
	char dirs[CG_N][96];
	bool ns;
};

static int cg_child(void *p)
{
	struct cg_arg *a = p;
	int fails = 0, *fails_ = &fails;
	/* In bind mode a name only shapes the directory: "cpu,cpuacct" (on
	 * the pids test cgroup) exercises the co-mounted layout's links. */
	const char *names[] = { "memory", a->ns ? "pids" : "cpu,cpuacct", "name=systemd" };
	/* With a cgroup namespace the host directories must not be needed. */
	const char *bogus = "/nonexistent/vs-cgroup";
	const char *dirs[] = { a->ns ? bogus : a->dirs[0], a->ns ? bogus : a->dirs[1],
			       a->ns ? bogus : a->dirs[2] };
	const char *second = a->ns ? "/sys/fs/cgroup/pids" : "/sys/fs/cgroup/cpu,cpuacct";
	struct vs_rootfs_cgroup_mounts cg = {
		.names = names, .host_dirs = dirs, .count = 3, .v2_dir = a->ns ? bogus : a->dirs[3]
	};
	struct vs_spec_mount mounts[] = {
		{ .destination = "/proc", .type = "proc", .source = "proc" },
		{ .destination = "/sys", .type = "sysfs", .source = "sysfs", .options = STRV("nosuid") },
		{ .destination = "/sys/fs/cgroup",
		  .type = "cgroup",
		  .source = "cgroup",
		  .options = STRV("nosuid", "noexec", "nodev", "relatime", "ro") },
		{ .destination = "/cg2", .type = "cgroup2", .source = "cgroup", .options = STRV("nosuid") },
	};
	struct vs_spec_namespace cgns = { .type = VS_NS_CGROUP };
	struct vs_spec spec = { .root_path = a->f.root,
				.mounts = mounts,
				.mounts_count = VS_ARRAY_SIZE(mounts) };
	struct vs_mi_entry e;
	char path[160];
	if (a->ns) {
		for (int i = 0; i < CG_N; i++) {
			snprintf(path, sizeof(path), "%s/cgroup.procs", a->dirs[i]);
			if (vs_fx_write_text(path, "0") < 0)
				return 1;
		}
		if (unshare(CLONE_NEWCGROUP) < 0)
			return SKIP_STATUS;
		spec.linux.namespaces = &cgns;
		spec.linux.namespaces_count = 1;
	}
	if (vs_fx_setup_all(&spec, &cg) < 0)
		return 1;
	CCHECK(vs_fx_mi_has("/sys/fs/cgroup", "tmpfs", "ro") &&
	       vs_fx_mi_has("/sys/fs/cgroup", NULL, "nosuid"));
	CCHECK(vs_fx_mi_has("/sys/fs/cgroup/memory", "cgroup", "ro") && vs_fx_mi_has(second, "cgroup", "ro"));
	CCHECK(vs_fx_mi_has("/sys/fs/cgroup/systemd", "cgroup", "ro") &&
	       vs_fx_mi_has("/sys/fs/cgroup/unified", "cgroup2", "ro"));
	CCHECK(vs_fx_mi_has("/cg2", "cgroup2", "nosuid") && vs_fx_mi_has("/cg2", NULL, "rw"));
	/* The container's own cgroup is the root of each mount. */
	snprintf(path, sizeof(path), "%s/inner", second);
	CCHECK(access("/sys/fs/cgroup/memory/inner", F_OK) == 0 && access(path, F_OK) == 0);
	CCHECK(access("/sys/fs/cgroup/systemd/inner", F_OK) == 0 &&
	       access("/sys/fs/cgroup/unified/inner", F_OK) == 0);
	CCHECK(access("/cg2/inner", F_OK) == 0);
	CCHECK(vs_fx_mi_find("/sys/fs/cgroup/memory", &e) &&
	       (a->ns ? strcmp(e.root, "/") == 0 : strstr(e.root, "vs-rootfs") != NULL));
	CCHECK(mkdir("/sys/fs/cgroup/memory/inner2", 0755) < 0 && errno == EROFS);
	if (!a->ns)
		CCHECK(vs_fx_link_is("/sys/fs/cgroup/cpu", "cpu,cpuacct") &&
		       vs_fx_link_is("/sys/fs/cgroup/cpuacct", "cpu,cpuacct") &&
		       access("/sys/fs/cgroup/cpu/inner", F_OK) == 0);
	return fails ? 1 : 0;
}

static void cg_remove(struct cg_arg *a)
{
	char path[128];
	for (int i = 0; i < CG_N; i++) {
		snprintf(path, sizeof(path), "%s/inner", a->dirs[i]);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/inner2", a->dirs[i]); /* if a read-only check failed */
		rmdir(path);
		rmdir(a->dirs[i]);
	}
}

static int cg_make(struct cg_arg *a)
{
	char path[128];
	for (int i = 0; i < CG_N; i++) {
		snprintf(a->dirs[i], sizeof(a->dirs[i]), "/sys/fs/cgroup/%s/vs-rootfs-%d", cg_hier[i],
			 (int)getpid());
		snprintf(path, sizeof(path), "%s/inner", a->dirs[i]);
		if (mkdir(a->dirs[i], 0755) < 0 || mkdir(path, 0755) < 0)
			return -1;
	}
	return 0;
}

static void cgroup_case(bool ns, int *failed_)
{
	struct cg_arg a = { .ns = ns };
	int r;
	if (geteuid() != 0)
		SKIP("needs root");
	if (access("/bin/busybox", R_OK) < 0)
		SKIP("no /bin/busybox (busybox-static)");
	if (access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) < 0 ||
	    access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) < 0)
		SKIP("needs the hybrid cgroup layout (v1 memory, pids, name=systemd and unified)");
	CHECK(vs_fixture_make(&a.f) == 0);
	CHECK(cg_make(&a) == 0);
	r = vs_fx_run_child(cg_child, &a);
	CHECK(!vs_fx_mounts_mention(a.f.dir));
	cg_remove(&a);
	vs_fixture_remove(&a.f);
	for (int i = 0; i < CG_N; i++)
		CHECK(access(a.dirs[i], F_OK) < 0);
	if (r == SKIP_STATUS)
		SKIP("mount or cgroup namespaces not permitted");
	CHECK_EQ_U64(r, 0);
}

TEST(cgroup_bind)
{
	cgroup_case(false, failed_);
}

TEST(cgroup_namespace)
{
	cgroup_case(true, failed_);
}

VS_TAP_MAIN(TAP_CASE(user_namespace), TAP_CASE(cgroup_bind), TAP_CASE(cgroup_namespace))
