/* Root filesystem set-up against the real kernel: resolution inside the
 * rootfs, the full runc-spec set of mounts with pivot_root and masking,
 * the MS_MOVE fallback, errors and rootfsPropagation. Each privileged case
 * runs in a forked child with its own mount namespace (/ made rprivate), so
 * every mount dies with it; the parent then checks that nothing leaked on
 * the host and removes the temporary tree. Needs root; skips otherwise. */
#include "rootfs_fixture.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "../tap.h"

/* The standard runc-spec mounts plus binds, tmpfs options, an escape
 * attempt, devices, masked and read-only paths, a read-only root. */
static int full_child(void *arg)
{
	struct vs_fixture *f = arg;
	int fails = 0, *fails_ = &fails;
	struct vs_spec_mount mounts[] = {
		{ .destination = "/proc", .type = "proc", .source = "proc" },
		{ .destination = "/dev",
		  .type = "tmpfs",
		  .source = "tmpfs",
		  .options = STRV("nosuid", "strictatime", "mode=755", "size=65536k") },
		{ .destination = "/dev/pts",
		  .type = "devpts",
		  .source = "devpts",
		  .options = STRV("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5") },
		{ .destination = "/dev/shm",
		  .type = "tmpfs",
		  .source = "shm",
		  .options = STRV("nosuid", "noexec", "nodev", "mode=1777", "size=65536k") },
		{ .destination = "/dev/mqueue",
		  .type = "mqueue",
		  .source = "mqueue",
		  .options = STRV("nosuid", "noexec", "nodev") },
		{ .destination = "/sys",
		  .type = "sysfs",
		  .source = "sysfs",
		  .options = STRV("nosuid", "noexec", "nodev", "ro") },
		{ .destination = "/data",
		  .type = "bind",
		  .source = f->host,
		  .options = STRV("rbind", "ro", "nosuid") },
		{ .destination = "/scratch",
		  .type = "tmpfs",
		  .source = "tmpfs",
		  .options = STRV("size=1m", "mode=700", "noexec") },
		{ .destination = f->escape_dest,
		  .type = "tmpfs",
		  .source = "tmpfs",
		  .options = STRV("size=64k") },
		{ .destination = "/etc/hostfile", .source = f->hostfile, .options = STRV("bind", "ro") },
		{ .destination = "/copyup",
		  .type = "tmpfs",
		  .source = "tmpfs",
		  .options = STRV("tmpcopyup") },
	};
	struct vs_spec_device devs[] = {
		{ .path = "/dev/vsfifo",
		  .type = 'p',
		  .has_file_mode = true,
		  .file_mode = 0600,
		  .has_uid = true,
		  .uid = 1234,
		  .has_gid = true,
		  .gid = 4321 },
		{ .path = "/dev/vs/null2",
		  .type = 'c',
		  .major = 1,
		  .minor = 3,
		  .has_file_mode = true,
		  .file_mode = 0640,
		  .has_gid = true,
		  .gid = 5 },
	};
	struct vs_spec spec = { .root_path = f->root, .root_readonly = true };
	struct vs_mi_entry e;
	struct stat st;
	char tmpx[96];
	spec.mounts = mounts;
	spec.mounts_count = VS_ARRAY_SIZE(mounts);
	spec.linux.devices = devs;
	spec.linux.devices_count = VS_ARRAY_SIZE(devs);
	spec.linux.masked_paths = STRV("/proc/kcore", "/proc/timer_list", "/proc/bus", "/nonexistent/masked");
	spec.linux.readonly_paths = STRV("/proc/sys", "/proc/acpi", "/proc/sysrq-trigger", "/nonexistent/ro");
	if (vs_fx_setup_all(&spec, NULL) < 0)
		return 1;

	/* The expected mounts with their flags; nothing of the host's. */
	CCHECK(vs_fx_mi_has("/", NULL, "ro"));
	CCHECK(vs_fx_mi_has("/proc", "proc", "rw"));
	CCHECK(vs_fx_mi_has("/dev", "tmpfs", "nosuid"));
	CCHECK(vs_fx_mi_has("/dev/pts", "devpts", "noexec"));
	CCHECK(vs_fx_mi_find("/dev/pts", &e) && vs_fx_has_opt(e.super, "ptmxmode=666") &&
	       vs_fx_has_opt(e.super, "gid=5"));
	CCHECK(vs_fx_mi_has("/dev/shm", "tmpfs", "nodev"));
	CCHECK(vs_fx_mi_has("/dev/mqueue", "mqueue", "noexec"));
	CCHECK(vs_fx_mi_has("/sys", "sysfs", "ro"));
	CCHECK(vs_fx_mi_has("/data", NULL, "ro") && vs_fx_mi_has("/data", NULL, "nosuid"));
	CCHECK(vs_fx_mi_find("/scratch", &e) && strcmp(e.fstype, "tmpfs") == 0 &&
	       vs_fx_has_opt(e.super, "size=1024k") && vs_fx_has_opt(e.super, "mode=700") &&
	       vs_fx_has_opt(e.opts, "noexec"));
	CCHECK(vs_fx_mi_has("/etc/hostfile", NULL, "ro"));
	CCHECK(vs_fx_mi_has("/proc/sys", "proc", "ro"));
	CCHECK(vs_fx_mi_has("/proc/acpi", "proc", "ro"));
	CCHECK(vs_fx_mi_has("/proc/bus", "tmpfs", "ro"));
	CCHECK(!vs_fx_mounts_mention(f->dir));
	CCHECK(!vs_fx_mi_find("/sys/fs/cgroup/memory", &e) && !vs_fx_mi_find("/tmp", &e));

	/* The ro bind and the read-only root refuse writes; tmpfs accept them. */
	CCHECK(vs_fx_read_eq("/data/data", "hello"));
	CCHECK(vs_fx_create_errno("/data/new") == EROFS);
	CCHECK(vs_fx_create_errno("/new") == EROFS);
	CCHECK(vs_fx_create_errno("/scratch/new") == 0);
	CCHECK(vs_fx_create_errno("/dev/shm/new") == 0);
	CCHECK(vs_fx_read_eq("/etc/hostfile", "file"));
	CCHECK(vs_fx_create_errno("/etc/hostfile") == EROFS);
	CCHECK(vs_fx_read_eq("/marker", "rootfs"));

	/* The escape attempt landed inside the rootfs. */
	snprintf(tmpx, sizeof(tmpx), "/tmp/%s", f->escape);
	CCHECK(vs_fx_mi_has(tmpx, "tmpfs", NULL));

	/* tmpcopyup brought the covered content into the tmpfs. */
	CCHECK(vs_fx_mi_has("/copyup", "tmpfs", NULL));
	CCHECK(vs_fx_read_eq("/copyup/sub/seed", "seed") && vs_fx_read_eq("/copyup/link", "seed"));
	CCHECK(vs_fx_link_is("/copyup/link", "sub/seed"));

	/* /dev */
	CCHECK(vs_fx_is_chr("/dev/null", 1, 3) && vs_fx_is_chr("/dev/zero", 1, 5) &&
	       vs_fx_is_chr("/dev/full", 1, 7));
	CCHECK(vs_fx_is_chr("/dev/random", 1, 8) && vs_fx_is_chr("/dev/urandom", 1, 9) &&
	       vs_fx_is_chr("/dev/tty", 5, 0));
	CCHECK(stat("/dev/null", &st) == 0 && (st.st_mode & 07777) == 0666);
	CCHECK(vs_fx_link_is("/dev/ptmx", "pts/ptmx") && vs_fx_link_is("/dev/fd", "/proc/self/fd"));
	CCHECK(vs_fx_link_is("/dev/stdin", "/proc/self/fd/0") &&
	       vs_fx_link_is("/dev/stdout", "/proc/self/fd/1"));
	CCHECK(vs_fx_link_is("/dev/stderr", "/proc/self/fd/2") && vs_fx_link_is("/dev/core", "/proc/kcore"));
	CCHECK(stat("/dev/ptmx", &st) == 0 && S_ISCHR(st.st_mode));
	CCHECK(stat("/dev/vsfifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0600 &&
	       st.st_uid == 1234 && st.st_gid == 4321);
	CCHECK(vs_fx_is_chr("/dev/vs/null2", 1, 3) && stat("/dev/vs/null2", &st) == 0 &&
	       (st.st_mode & 07777) == 0640 && st.st_gid == 5);

	/* Masked and read-only paths. */
	CCHECK(vs_fx_is_chr("/proc/timer_list", 1, 3));
	CCHECK(vs_fx_read_eq("/proc/timer_list", "")); /* reads nothing */
	if (access("/proc/kcore", F_OK) == 0)
		CCHECK(vs_fx_is_chr("/proc/kcore", 1, 3));
	CCHECK(access("/proc/bus/pci", F_OK) < 0 && errno == ENOENT);
	CCHECK(vs_fx_create_errno("/proc/bus/x") == EROFS);
	CCHECK(vs_fx_is_ro("/proc/sys") && vs_fx_is_ro("/proc/sys/kernel"));
	{
		int fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
		CCHECK(fd < 0 && errno == EROFS); /* refused at open: nothing is ever written */
		if (fd >= 0)
			close(fd);
	}
	CCHECK(!vs_fx_is_ro("/proc") && !vs_fx_is_ro("/dev"));

	/* A program of the rootfs runs and sees the same tree. */
	CCHECK(vs_fx_run_sh("test -c /dev/null && test -L /dev/ptmx && test -f /marker && exit 7") == 7);
	return fails ? 1 : 0;
}

TEST(full_rootfs)
{
	struct vs_fixture f;
	char path[256];
	struct stat st;
	int r;
	if (geteuid() != 0)
		SKIP("needs root");
	if (access("/bin/busybox", X_OK) < 0)
		SKIP("no /bin/busybox (busybox-static)");
	CHECK(vs_fixture_make(&f) == 0);
	snprintf(path, sizeof(path), "/tmp/%s", f.escape);
	CHECK(access(path, F_OK) < 0);
	r = vs_fx_run_child(full_child, &f);
	if (r == SKIP_STATUS) {
		vs_fixture_remove(&f);
		SKIP("mount namespaces not permitted");
	}
	CHECK_EQ_U64(r, 0);
	/* The mount points were created inside the rootfs, not on the host. */
	CHECK(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/tmp/%s", f.root, f.escape);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "%s/etc/hostfile", f.root);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
	snprintf(path, sizeof(path), "%s/proc", f.root);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(!vs_fx_mounts_mention(f.dir));
	vs_fixture_remove(&f);
	CHECK(access(f.dir, F_OK) < 0);
}

static int resolve_check(struct vs_fixture *f, unsigned int how, int *fails_)
{
	struct vs_error err = { 0 };
	struct stat want, got;
	char path[160];
	vs_autoclose int rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	static const char *const same_as_marker[] = {
		"/marker",    "marker",		 "/evil/marker",	  "/../../marker",
		"/up/marker", "/abs/marker",	 "/bin/../evil/./marker", "/bin/rootlink/marker",
		"/bin/mlink", "/bin/up2/marker",
	};
	snprintf(path, sizeof(path), "%s/marker", f->root);
	if (rootfd < 0 || stat(path, &want) < 0)
		return -1;
	for (size_t i = 0; i < VS_ARRAY_SIZE(same_as_marker); i++) {
		int fd = vs_rootfs_resolve(rootfd, same_as_marker[i], how, &err);
		CCHECK(fd >= 0 && fstat(fd, &got) == 0 && got.st_ino == want.st_ino &&
		       got.st_dev == want.st_dev);
		if (fd < 0)
			printf("#   %s: %s\n", same_as_marker[i], err.msg);
		else
			close(fd);
	}
	{
		int fd = vs_rootfs_resolve(rootfd, "/", how, &err);
		struct stat rs;
		CCHECK(fd >= 0 && fstat(fd, &got) == 0 && fstat(rootfd, &rs) == 0 && got.st_ino == rs.st_ino);
		if (fd >= 0)
			close(fd);
	}
	CCHECK(vs_rootfs_resolve(rootfd, "/loop1", how, &err) < 0 && err.code == ELOOP);
	CCHECK(vs_rootfs_resolve(rootfd, "/missing/x", how, &err) < 0 && err.code == ENOENT);
	CCHECK(vs_rootfs_resolve(rootfd, "/marker/x", how, &err) < 0 && err.code == ENOTDIR);
	return 0;
}

static int add_links(struct vs_fixture *f)
{
	static const char *const links[][2] = {
		{ "up", "../../.." },
		{ "abs", "/" },
		{ "loop1", "loop2" },
		{ "loop2", "/loop1" },
		{ "dangling", "/nowhere/x" },
		{ "bin/rootlink", "/" },
		{ "bin/mlink", "/evil/../marker" },
		{ "bin/up2", "../../.." },
	};
	char path[160];
	for (size_t i = 0; i < VS_ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->root, links[i][0]);
		if (symlink(links[i][1], path) < 0)
			return -1;
	}
	return 0;
}

/* No privileges needed: resolution and creation stay inside the rootfs,
 * through openat2() and through the manual walk. */
TEST(resolve_in_root)
{
	struct vs_fixture f;
	int fails = 0, *fails_ = &fails;
	struct vs_error err = { 0 };
	char hostpath[96], path[256];
	struct stat st;
	vs_autoclose int rootfd = -1;
	if (access("/bin/busybox", R_OK) < 0)
		SKIP("no /bin/busybox (busybox-static)");
	CHECK(vs_fixture_make(&f) == 0 && add_links(&f) == 0);
	CHECK(resolve_check(&f, 0, fails_) == 0);
	CHECK(resolve_check(&f, VS_RESOLVE_MANUAL, fails_) == 0);
	CHECK_EQ_U64(fails, 0);

	rootfd = open(f.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(rootfd >= 0);
	snprintf(hostpath, sizeof(hostpath), "/tmp/%s", f.escape);
	{
		int fd = vs_rootfs_open_dest(rootfd, f.escape_dest, VS_CREATE_DIR, &err);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	CHECK(access(hostpath, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/tmp/%s", f.root, f.escape);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	{
		int fd = vs_rootfs_open_dest(rootfd, "/up/new/deeper/file", VS_CREATE_FILE, &err);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	snprintf(path, sizeof(path), "%s/new/deeper/file", f.root);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(vs_rootfs_open_dest(rootfd, "/dangling", VS_CREATE_DIR, &err) < 0);
	CHECK(strstr(err.msg, "dangling") != NULL);
	CHECK(vs_rootfs_open_dest(rootfd, "/marker/sub", VS_CREATE_DIR, &err) < 0);
	vs_fixture_remove(&f);
}

/* The MS_MOVE + chroot fallback: the rootfs becomes "/", and the old
 * root's other mounts are detached. */
static int move_child(void *arg)
{
	struct vs_fixture *f = arg;
	int fails = 0, *fails_ = &fails;
	struct vs_spec_mount mounts[] = { { .destination = "/proc", .type = "proc", .source = "proc" } };
	struct vs_spec spec = { .root_path = f->root, .mounts = mounts, .mounts_count = 1 };
	struct vs_error err = { 0 };
	char cwd[64];
	vs_autoclose int old = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	CCHECK(faccessat(old, "sys/kernel", F_OK, 0) == 0 && faccessat(old, "proc/self", F_OK, 0) == 0);
	if (vs_rootfs_prepare(&spec, NULL, &err) < 0 || vs_rootfs_pivot(&spec, true, &err) < 0) {
		printf("#   child: %s\n", err.msg);
		return 1;
	}
	CCHECK(vs_fx_read_eq("/marker", "rootfs") && access("/bin/busybox", X_OK) == 0);
	CCHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0);
	CCHECK(vs_fx_mi_has("/proc", "proc", NULL) && vs_fx_mi_has("/", NULL, NULL));
	/* Seen through the old root: its sysfs and procfs are gone. */
	CCHECK(faccessat(old, "sys/kernel", F_OK, 0) < 0 && faccessat(old, "proc/self", F_OK, 0) < 0);
	CCHECK(vs_fx_run_sh("test -f /marker && exit 5") == 5);
	return fails ? 1 : 0;
}

TEST(move_root_fallback)
{
	struct vs_fixture f;
	int r;
	if (geteuid() != 0)
		SKIP("needs root");
	if (access("/bin/busybox", X_OK) < 0)
		SKIP("no /bin/busybox (busybox-static)");
	CHECK(vs_fixture_make(&f) == 0);
	r = vs_fx_run_child(move_child, &f);
	vs_fixture_remove(&f);
	if (r == SKIP_STATUS)
		SKIP("mount namespaces not permitted");
	CHECK_EQ_U64(r, 0);
}

static int errors_child(void *arg)
{
	struct vs_fixture *f = arg;
	int fails = 0, *fails_ = &fails;
	struct vs_spec_mount bad_opt[] = {
		{ .destination = "/proc", .type = "proc", .source = "proc" },
		{ .destination = "/t",
		  .type = "tmpfs",
		  .source = "tmpfs",
		  .options = STRV("nosuid", "bogus") },
	};
	struct vs_spec_mount bad_src[] = {
		{ .destination = "/b",
		  .type = "bind",
		  .source = "/nonexistent/vs-src",
		  .options = STRV("rbind") },
	};
	struct vs_spec_mount no_type[] = { { .destination = "/x", .source = "x" } };
	struct vs_spec_mount proc_link[] = { { .destination = "/evil", .type = "proc", .source = "proc" } };
	struct vs_spec spec = { .root_path = f->root, .mounts = bad_opt, .mounts_count = 2 };
	struct vs_error err = { 0 };
	CCHECK(vs_rootfs_prepare(&spec, NULL, &err) < 0);
	CCHECK(strstr(err.msg, "mounts[1]") && strstr(err.msg, "`bogus`"));
	spec.mounts = bad_src;
	spec.mounts_count = 1;
	CCHECK(vs_rootfs_prepare(&spec, NULL, &err) < 0);
	CCHECK(strstr(err.msg, "mounts[0]") && strstr(err.msg, "/nonexistent/vs-src"));
	spec.mounts = no_type;
	CCHECK(vs_rootfs_prepare(&spec, NULL, &err) < 0);
	CCHECK(strstr(err.msg, "mounts[0]") && strstr(err.msg, "type"));
	spec.mounts = proc_link;
	CCHECK(vs_rootfs_prepare(&spec, NULL, &err) < 0);
	CCHECK(strstr(err.msg, "mounts[0] (/evil)") && strstr(err.msg, "symlink"));
	spec.mounts_count = 0;
	spec.linux.rootfs_propagation = "sideways";
	CCHECK(vs_rootfs_prepare(&spec, NULL, &err) < 0 && strstr(err.msg, "`sideways`"));
	return fails ? 1 : 0;
}

TEST(errors_name_the_mount)
{
	struct vs_fixture f;
	int r;
	if (geteuid() != 0)
		SKIP("needs root");
	if (access("/bin/busybox", R_OK) < 0)
		SKIP("no /bin/busybox (busybox-static)");
	CHECK(vs_fixture_make(&f) == 0);
	r = vs_fx_run_child(errors_child, &f);
	CHECK(!vs_fx_mounts_mention(f.dir));
	vs_fixture_remove(&f);
	if (r == SKIP_STATUS)
		SKIP("mount namespaces not permitted");
	CHECK_EQ_U64(r, 0);
}

static int propagation_child(void *arg)
{
	struct vs_fixture *f = arg;
	static const struct {
		const char *value, *root_tag; /* expected in the optional fields of "/" */
	} cases[] = { { "rshared", "shared:" }, { "runbindable", "unbindable" }, { "rslave", NULL } };
	int fails = 0, *fails_ = &fails;
	struct vs_spec_mount mounts[] = { { .destination = "/proc", .type = "proc", .source = "proc" } };
	struct vs_spec spec = { .root_path = f->root, .mounts = mounts, .mounts_count = 1 };
	struct vs_mi_entry e;
	for (size_t i = 0; i < VS_ARRAY_SIZE(cases); i++) {
		pid_t pid;
		int st;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			/* each value in its own mount namespace */
			spec.linux.rootfs_propagation = (char *)cases[i].value;
			if (unshare(CLONE_NEWNS) < 0 || vs_fx_setup_all(&spec, NULL) < 0)
				_exit(1);
			if (!vs_fx_mi_find("/", &e) ||
			    (cases[i].root_tag && !strstr(e.optional, cases[i].root_tag)))
				_exit(2);
			_exit(vs_fx_read_eq("/marker", "rootfs") ? 0 : 3);
		}
		CCHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	return fails ? 1 : 0;
}

TEST(rootfs_propagation)
{
	struct vs_fixture f;
	int r;
	if (geteuid() != 0)
		SKIP("needs root");
	if (access("/bin/busybox", R_OK) < 0)
		SKIP("no /bin/busybox (busybox-static)");
	CHECK(vs_fixture_make(&f) == 0);
	r = vs_fx_run_child(propagation_child, &f);
	CHECK(!vs_fx_mounts_mention(f.dir));
	vs_fixture_remove(&f);
	if (r == SKIP_STATUS)
		SKIP("mount namespaces not permitted");
	CHECK_EQ_U64(r, 0);
}

VS_TAP_MAIN(TAP_CASE(resolve_in_root), TAP_CASE(full_rootfs), TAP_CASE(move_root_fallback),
	    TAP_CASE(errors_name_the_mount), TAP_CASE(rootfs_propagation))
