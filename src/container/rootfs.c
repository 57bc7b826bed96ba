/* Root filesystem set-up: path resolution confined to the rootfs, the
 * propagation and rootfs bind, the pivot, and the post-pivot masking. */
#include "container/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

#define MAX_SYMLINKS 40 /* as the kernel's path walk */

/* ---- resolution inside the rootfs ---- */

static int resolve_openat2(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

struct walk {
	int *fds; /* directories entered below the root; .. pops one */
	size_t depth, cap;
};

static void walk_release(struct walk *w)
{
	while (w->depth)
		close(w->fds[--w->depth]);
	free(w->fds);
}

static int walk_push(struct walk *w, int fd)
{
	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		int *p = realloc(w->fds, cap * sizeof(*p));
		if (!p)
			return -1;
		w->fds = p;
		w->cap = cap;
	}
	w->fds[w->depth++] = fd;
	return 0;
}

/* Replace the walk's remaining path by `target` followed by `rest`. */
static char *splice_link(const char *target, const char *rest)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s", target, rest) < 0)
		return NULL;
	return s;
}

/* The kernel-less RESOLVE_IN_ROOT: one O_NOFOLLOW step at a time; symlink
 * targets are spliced into the remaining path and absolute ones restart at
 * the root; ".." never climbs above it. Returns an fd or -errno. */
static int resolve_manual(int rootfd, const char *path)
{
	struct walk w = { 0 };
	char *todo = strdup(path);
	size_t pos = 0, links = 0;
	int ret;
	if (!todo)
		return -ENOMEM;
	for (;;) {
		char name[NAME_MAX + 1], target[PATH_MAX];
		size_t len;
		int cur, fd;
		struct stat st;
		while (todo[pos] == '/')
			pos++;
		if (!todo[pos])
			break;
		len = strcspn(todo + pos, "/");
		if (len > NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		memcpy(name, todo + pos, len);
		name[len] = '\0';
		pos += len;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (w.depth)
				close(w.fds[--w.depth]);
			continue;
		}
		cur = w.depth ? w.fds[w.depth - 1] : rootfd;
		fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			ret = -errno;
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(fd, "", target, sizeof(target));
			char *next;
			close(fd);
			if (n < 0 || (size_t)n >= sizeof(target) || ++links > MAX_SYMLINKS) {
				ret = n < 0 ? -errno : (size_t)n >= sizeof(target) ? -ENAMETOOLONG : -ELOOP;
				goto out;
			}
			target[n] = '\0';
			next = splice_link(target, todo + pos);
			if (!next) {
				ret = -ENOMEM;
				goto out;
			}
			free(todo);
			todo = next;
			pos = 0;
			if (target[0] == '/')
				while (w.depth)
					close(w.fds[--w.depth]);
			continue;
		}
		if (walk_push(&w, fd) < 0) {
			close(fd);
			ret = -ENOMEM;
			goto out;
		}
	}
	if (w.depth) {
		ret = w.fds[--w.depth];
	} else {
		ret = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
		if (ret < 0)
			ret = -errno;
	}
out:
	walk_release(&w);
	free(todo);
	return ret;
}

int vs_rootfs_resolve(int rootfd, const char *path, unsigned int how, struct vs_error *err)
{
	int fd = -1;
	if (!(how & VS_RESOLVE_MANUAL)) {
		fd = resolve_openat2(rootfd, path);
		if (fd >= 0)
			return fd;
		/* Older kernels, seccomp filters (ENOSYS/EPERM), and EAGAIN
		 * when a concurrent rename made ".." ambiguous. */
		if (errno != ENOSYS && errno != EPERM && errno != E2BIG && errno != EAGAIN)
			return vs_error_set(err, errno, "resolving `%s` in the rootfs", path);
	}
	fd = resolve_manual(rootfd, path);
	if (fd < 0)
		return vs_error_set(err, -fd, "resolving `%s` in the rootfs", path);
	return fd;
}

int vs_rootfs_open_dest(int rootfd, const char *path, enum vs_rootfs_create create, struct vs_error *err)
{
	vs_autofree char *buf = NULL;
	vs_autoclose int parent = -1;
	size_t i = 0;
	int fd = vs_rootfs_resolve(rootfd, path, 0, err);
	if (fd >= 0 || err->code != ENOENT || create == VS_CREATE_NONE)
		return fd;
	buf = strdup(path);
	parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (!buf || parent < 0)
		return vs_error_set(err, buf ? errno : ENOMEM, "creating `%s`", path);
	/* Resolve each prefix afresh from the root so that a symlink met on
	 * the way is followed inside it; create what is missing below the
	 * parent found so far. */
	while (buf[i]) {
		size_t start, end;
		char saved;
		bool last;
		while (buf[i] == '/')
			i++;
		if (!buf[i])
			break;
		start = i;
		end = start + strcspn(buf + start, "/");
		last = buf[end + strspn(buf + end, "/")] == '\0';
		saved = buf[end];
		buf[end] = '\0';
		fd = vs_rootfs_resolve(rootfd, buf, 0, err);
		if (fd < 0 && err->code != ENOENT)
			return -1;
		if (fd < 0) {
			const char *name = buf + start;
			if (last && create == VS_CREATE_FILE) {
				fd = openat(parent, name,
					    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (fd >= 0)
					close(fd);
			} else {
				fd = mkdirat(parent, name, 0755);
			}
			if (fd < 0 && errno == EEXIST)
				return vs_error_msg(err, "creating `%s`: `%s` is a dangling symlink", path,
						    buf);
			if (fd < 0)
				return vs_error_set(err, errno, "creating `%s` in the rootfs", buf);
			fd = vs_rootfs_resolve(rootfd, buf, 0, err);
			if (fd < 0)
				return -1;
		}
		close(parent);
		parent = fd;
		buf[end] = saved;
		i = end;
	}
	return vs_steal_fd(&parent);
}

bool vs_rootfs_path_eq(const char *a, const char *b)
{
	for (;;) {
		while (a[0] == '/' && (a[1] == '/' || a[1] == '\0'))
			a++;
		while (b[0] == '/' && (b[1] == '/' || b[1] == '\0'))
			b++;
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}

bool vs_rootfs_has_ns(const struct vs_spec *spec, enum vs_ns_type type)
{
	for (size_t i = 0; i < spec->linux.namespaces_count; i++)
		if (spec->linux.namespaces[i].type == type)
			return true;
	return false;
}

/* ---- /proc/self/mountinfo ---- */

struct mountinfo {
	char **points; /* mount points, unescaped, in the kernel's order */
	char **fstypes;
	size_t count;
};

static void mountinfo_free(struct mountinfo *mi)
{
	for (size_t i = 0; i < mi->count; i++) {
		free(mi->points[i]);
		free(mi->fstypes[i]);
	}
	free(mi->points);
	free(mi->fstypes);
	memset(mi, 0, sizeof(*mi));
}

/* The kernel escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
		    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Field `n` (0-based, space separated) of `line`, or NULL. */
static const char *field(const char *line, int n, size_t *len)
{
	for (int i = 0; i < n; i++) {
		line = strchr(line, ' ');
		if (!line)
			return NULL;
		line++;
	}
	*len = strcspn(line, " \n");
	return line;
}

static int mountinfo_read(struct mountinfo *mi, struct vs_error *err)
{
	vs_autofclose FILE *f = fopen("/proc/self/mountinfo", "re");
	vs_autofree char *line = NULL;
	size_t cap = 0;
	memset(mi, 0, sizeof(*mi));
	if (!f)
		return vs_error_set(err, errno, "opening /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		size_t plen, tlen;
		const char *p = field(line, 4, &plen), *sep = strstr(line, " - ");
		const char *t = sep ? field(sep + 3, 0, &tlen) : NULL;
		char **np, **nt;
		if (!p || !t)
			continue;
		np = realloc(mi->points, (mi->count + 1) * sizeof(*np));
		if (np)
			mi->points = np;
		nt = realloc(mi->fstypes, (mi->count + 1) * sizeof(*nt));
		if (nt)
			mi->fstypes = nt;
		if (!np || !nt)
			goto nomem;
		mi->points[mi->count] = unescape(p, plen);
		mi->fstypes[mi->count] = unescape(t, tlen);
		mi->count++;
		if (!mi->points[mi->count - 1] || !mi->fstypes[mi->count - 1])
			goto nomem;
	}
	return 0;
nomem:
	mountinfo_free(mi);
	return vs_error_set(err, ENOMEM, "reading /proc/self/mountinfo");
}

/* `dir` is `path` or one of its ancestors. */
static bool is_ancestor(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(dir, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ---- the steps ---- */

int vs_rootfs_propagation(const char *value, unsigned long *early, unsigned long *late, struct vs_error *err)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} types[] = {
		{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
		{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
		{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
		{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};
	*early = MS_PRIVATE | MS_REC;
	*late = 0;
	if (!value || !*value)
		return 0;
	for (size_t i = 0; i < VS_ARRAY_SIZE(types); i++) {
		unsigned long f = types[i].flag;
		if (strcmp(types[i].name, value) != 0)
			continue;
		/* An unbindable tree cannot be bind-mounted from, and pivot_root
		 * refuses a shared root: both are set on "/" after the pivot. */
		*early = (f & MS_UNBINDABLE) ? (MS_PRIVATE | (f & MS_REC)) : f;
		*late = (f & (MS_UNBINDABLE | MS_SHARED)) ? f : 0;
		return 0;
	}
	return vs_error_msg(err, "linux.rootfsPropagation: unknown value `%s`", value);
}

/* pivot_root needs the rootfs's parent mount not shared, and nothing we
 * mount below it may propagate to the host: make it a slave (a private
 * mount stays private). */
static int slave_parent_mount(const char *root, struct vs_error *err)
{
	struct mountinfo mi;
	const char *best = "/";
	int ret = 0;
	if (mountinfo_read(&mi, err) < 0)
		return -1;
	for (size_t i = 0; i < mi.count; i++)
		if (is_ancestor(mi.points[i], root) && strlen(mi.points[i]) > strlen(best))
			best = mi.points[i];
	if (mount(NULL, best, NULL, MS_SLAVE, NULL) < 0)
		ret = vs_error_set(err, errno, "making `%s` a slave mount", best);
	mountinfo_free(&mi);
	return ret;
}

int vs_rootfs_prepare(const struct vs_spec *spec, const struct vs_rootfs_cgroup_mounts *cgroups,
		      struct vs_error *err)
{
	unsigned long early, late;
	vs_autofree char *root = NULL;
	vs_autoclose int rootfd = -1;
	if (!spec->root_path)
		return vs_error_msg(err, "no root.path");
	if (vs_rootfs_propagation(spec->linux.rootfs_propagation, &early, &late, err) < 0)
		return -1;
	root = realpath(spec->root_path, NULL);
	if (!root)
		return vs_error_set(err, errno, "root.path `%s`", spec->root_path);
	if (mount(NULL, "/", NULL, early, NULL) < 0)
		return vs_error_set(err, errno, "setting the propagation of /");
	if (slave_parent_mount(root, err) < 0)
		return -1;
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vs_error_set(err, errno, "bind-mounting the rootfs `%s` onto itself", root);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return vs_error_set(err, errno, "opening the rootfs `%s`", root);
	for (size_t i = 0; i < spec->mounts_count; i++)
		if (vs_rootfs_mount_one(rootfd, spec, i, cgroups, err) < 0)
			return -1;
	if (vs_rootfs_setup_dev(rootfd, spec, err) < 0)
		return vs_error_prefix(err, "/dev: ");
	return 0;
}

static bool root_is_initramfs(void)
{
	struct mountinfo mi;
	struct vs_error ignored;
	bool ret = false;
	if (mountinfo_read(&mi, &ignored) < 0)
		return false;
	for (size_t i = 0; i < mi.count; i++)
		if (strcmp(mi.points[i], "/") == 0)
			ret = strcmp(mi.fstypes[i], "rootfs") == 0; /* the last one is on top */
	mountinfo_free(&mi);
	return ret;
}

int vs_rootfs_move_root(const char *root, struct vs_error *err)
{
	struct mountinfo mi;
	vs_autofree char *rp = realpath(root, NULL);
	if (!rp)
		return vs_error_set(err, errno, "root.path `%s`", root);
	if (mountinfo_read(&mi, err) < 0)
		return -1;
	/* Children come after their parents: detach from the end. Failures are
	 * mounts already gone with a detached parent, or ones a user
	 * namespace locked; the chroot below hides those. */
	for (size_t i = mi.count; i-- > 0;)
		if (!is_ancestor(mi.points[i], rp) && !is_ancestor(rp, mi.points[i]))
			umount2(mi.points[i], MNT_DETACH);
	mountinfo_free(&mi);
	if (chdir(rp) < 0)
		return vs_error_set(err, errno, "chdir to `%s`", rp);
	if (mount(rp, "/", NULL, MS_MOVE, NULL) < 0)
		return vs_error_set(err, errno, "moving the rootfs onto /");
	if (chroot(".") < 0)
		return vs_error_set(err, errno, "chroot into the rootfs");
	if (chdir("/") < 0)
		return vs_error_set(err, errno, "chdir to /");
	return 0;
}

int vs_rootfs_pivot_keep_old(const struct vs_spec *spec, bool no_pivot, int *old_root, struct vs_error *err)
{
	vs_autoclose int oldroot = -1;
	vs_autoclose int newroot = -1;
	*old_root = -1;
	if (!spec->root_path)
		return vs_error_msg(err, "no root.path");
	if (no_pivot)
		return vs_rootfs_move_root(spec->root_path, err);
	oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	newroot = open(spec->root_path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		return vs_error_set(err, errno, "opening the old and new roots");
	if (fchdir(newroot) < 0)
		return vs_error_set(err, errno, "chdir to `%s`", spec->root_path);
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		int e = errno;
		if (e == EINVAL && root_is_initramfs())
			return vs_rootfs_move_root(spec->root_path, err);
		/* rshared can leave the current root shared, which pivot_root
		 * refuses; it is detached right after anyway. */
		if (e != EINVAL || mount(NULL, "/", NULL, MS_SLAVE, NULL) < 0 ||
		    syscall(SYS_pivot_root, ".", ".") < 0)
			return vs_error_set(err, e, "pivot_root into `%s`", spec->root_path);
	}
	/* The old root is stacked on the new one now. As a slave, detaching it
	 * cannot propagate unmounts to the host's peers. Paths still resolve
	 * in the new root: a walk from "/" does not step into a mount on the
	 * root itself. */
	if (fchdir(oldroot) < 0)
		return vs_error_set(err, errno, "chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return vs_error_set(err, errno, "making the old root a slave");
	if (chdir("/") < 0)
		return vs_error_set(err, errno, "chdir to /");
	*old_root = vs_steal_fd(&oldroot);
	return 0;
}

int vs_rootfs_detach_old_root(int *old_root, struct vs_error *err)
{
	int fd = *old_root;
	*old_root = -1;
	if (fd < 0)
		return 0;
	if (fchdir(fd) < 0) {
		close(fd);
		return vs_error_set(err, errno, "chdir to the old root");
	}
	close(fd);
	if (umount2(".", MNT_DETACH) < 0)
		return vs_error_set(err, errno, "detaching the old root");
	if (chdir("/") < 0)
		return vs_error_set(err, errno, "chdir to /");
	return 0;
}

int vs_rootfs_pivot(const struct vs_spec *spec, bool no_pivot, struct vs_error *err)
{
	int old_root;
	if (vs_rootfs_pivot_keep_old(spec, no_pivot, &old_root, err) < 0)
		return -1;
	return vs_rootfs_detach_old_root(&old_root, err);
}

/* A masked directory gets an empty read-only tmpfs, anything else the
 * container's /dev/null. */
static int mask_path(const char *path, const char *label, struct vs_error *err)
{
	struct stat st;
	int r;
	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR
			   ? 0
			   : vs_error_set(err, errno, "maskedPaths `%s`", path);
	if (S_ISDIR(st.st_mode)) {
		vs_autofree char *data = NULL;
		if (vs_mount_label_data("tmpfs", 0, "mode=755", label, &data, err) < 0)
			return -1;
		r = mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  data ? data : "mode=755");
	} else
		r = mount("/dev/null", path, NULL, MS_BIND, NULL);
	if (r < 0)
		return vs_error_set(err, errno, "maskedPaths `%s`", path);
	return 0;
}

static int readonly_path(const char *path, struct vs_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR
			   ? 0
			   : vs_error_set(err, errno, "readonlyPaths `%s`", path);
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vs_error_set(err, errno, "readonlyPaths: bind-mounting `%s`", path);
	if (vs_mount_remount_keep(path, MS_RDONLY, err) < 0)
		return vs_error_prefix(err, "readonlyPaths: ");
	return 0;
}

int vs_rootfs_finalize(const struct vs_spec *spec, struct vs_error *err)
{
	const struct vs_spec_linux *lx = &spec->linux;
	unsigned long early, late;
	if (vs_rootfs_propagation(lx->rootfs_propagation, &early, &late, err) < 0)
		return -1;
	for (size_t i = 0; i < lx->masked_paths.count; i++)
		if (mask_path(lx->masked_paths.v[i], lx->mount_label, err) < 0)
			return -1;
	for (size_t i = 0; i < lx->readonly_paths.count; i++)
		if (readonly_path(lx->readonly_paths.v[i], err) < 0)
			return -1;
	if (spec->root_readonly && vs_mount_remount_keep("/", MS_RDONLY, err) < 0)
		return vs_error_prefix(err, "root.readonly: ");
	if (late && mount(NULL, "/", NULL, late, NULL) < 0)
		return vs_error_set(err, errno, "linux.rootfsPropagation `%s`", lx->rootfs_propagation);
	return 0;
}
