#include "rootfs_fixture.h"

#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/file.h"

int vs_fx_write_text(const char *path, const char *text)
{
	vs_autoclose int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return fd < 0 ? -1 : vs_write_all(fd, text, strlen(text));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void vs_fixture_remove(struct vs_fixture *f)
{
	if (f->dir[0])
		nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int vs_fixture_make(struct vs_fixture *f)
{
	struct vs_error err;
	uint8_t *bb = NULL;
	size_t bb_len = 0;
	char path[160];
	int ret = 0;
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/vs-rootfs-XXXXXX");
	if (!mkdtemp(f->dir)) {
		f->dir[0] = '\0';
		return -1;
	}
	snprintf(f->root, sizeof(f->root), "%s/rootfs", f->dir);
	snprintf(f->host, sizeof(f->host), "%s/host", f->dir);
	snprintf(f->hostfile, sizeof(f->hostfile), "%s/hostfile", f->dir);
	snprintf(f->escape, sizeof(f->escape), "vs-escape-%d", (int)getpid());
	snprintf(f->escape_dest, sizeof(f->escape_dest), "/evil/tmp/%s", f->escape);
	if (vs_read_file("/bin/busybox", "busybox", 64u << 20, &bb, &bb_len, &err) < 0)
		return -1;
	static const char *const dirs[] = { "/bin", "/etc", "/tmp", "/copyup", "/copyup/sub" };
	ret |= mkdir(f->root, 0755) | mkdir(f->host, 0755);
	for (size_t i = 0; i < VS_ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s%s", f->root, dirs[i]);
		ret |= mkdir(path, 0755);
	}
	snprintf(path, sizeof(path), "%s/bin/busybox", f->root);
	{
		vs_autoclose int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
		ret |= fd < 0 ? -1 : vs_write_all(fd, bb, bb_len);
	}
	free(bb);
	snprintf(path, sizeof(path), "%s/bin/sh", f->root);
	ret |= symlink("busybox", path);
	snprintf(path, sizeof(path), "%s/evil", f->root);
	ret |= symlink("/", path);
	snprintf(path, sizeof(path), "%s/marker", f->root);
	ret |= vs_fx_write_text(path, "rootfs");
	snprintf(path, sizeof(path), "%s/copyup/sub/seed", f->root);
	ret |= vs_fx_write_text(path, "seed");
	snprintf(path, sizeof(path), "%s/copyup/link", f->root);
	ret |= symlink("sub/seed", path);
	snprintf(path, sizeof(path), "%s/data", f->host);
	ret |= vs_fx_write_text(path, "hello");
	ret |= vs_fx_write_text(f->hostfile, "file");
	return ret ? -1 : 0;
}

bool vs_fx_read_eq(const char *path, const char *want)
{
	char buf[64];
	vs_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

bool vs_fx_mi_find(const char *point, struct vs_mi_entry *out)
{
	vs_autofclose FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[2048];
	bool found = false;
	while (f && fgets(line, sizeof(line), f)) {
		struct vs_mi_entry e = { 0 };
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %255s %255s %255s", e.root, e.point, e.opts) != 3 ||
		    sscanf(sep + 3, "%63s %*s %255s", e.fstype, e.super) != 2)
			continue;
		*sep = '\0';
		{
			/* optional fields: after the 6th field up to " - " */
			char *p = line;
			for (int i = 0; i < 6 && p; i++) {
				p = strchr(p, ' ');
				p = p ? p + 1 : NULL;
			}
			snprintf(e.optional, sizeof(e.optional), "%.127s", p ? p : "");
		}
		if (strcmp(e.point, point) == 0) {
			*out = e;
			found = true;
		}
	}
	return found;
}

bool vs_fx_has_opt(const char *list, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, opt, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

bool vs_fx_mi_has(const char *point, const char *fstype, const char *opt)
{
	struct vs_mi_entry e;
	if (!vs_fx_mi_find(point, &e))
		return false;
	return (!fstype || strcmp(e.fstype, fstype) == 0) && (!opt || vs_fx_has_opt(e.opts, opt));
}

/* Whether any mount point of the calling process contains `needle`. */
bool vs_fx_mounts_mention(const char *needle)
{
	vs_autofclose FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[2048], point[1024];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %1023s", point) == 1 && strstr(point, needle))
			return true;
	return false;
}

int vs_fx_run_child(int (*fn)(void *), void *arg)
{
	int st;
	pid_t pid;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int r = SKIP_STATUS;
		if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
			r = fn(arg);
		fflush(stdout);
		_exit(r);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int vs_fx_setup_all(const struct vs_spec *spec, const struct vs_rootfs_cgroup_mounts *cg)
{
	struct vs_error err = { 0 };
	if (vs_rootfs_prepare(spec, cg, &err) < 0 || vs_rootfs_pivot(spec, false, &err) < 0 ||
	    vs_rootfs_finalize(spec, &err) < 0) {
		printf("#   child: %s\n", err.msg);
		return -1;
	}
	return 0;
}

bool vs_fx_is_chr(const char *path, unsigned int maj, unsigned int min)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
	       minor(st.st_rdev) == min;
}

bool vs_fx_link_is(const char *path, const char *target)
{
	char buf[256];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

bool vs_fx_is_ro(const char *path)
{
	struct statvfs sv;
	return statvfs(path, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

int vs_fx_create_errno(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	close(fd);
	unlink(path);
	return 0;
}

/* Run /bin/sh of the rootfs; its exit status proves exec works in it. */
int vs_fx_run_sh(const char *script)
{
	int st;
	pid_t pid;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}
