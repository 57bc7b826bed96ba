/* Spec mount options and the mounting of each spec mount into the rootfs.
 *
 * Every mount(2) targets "/proc/self/fd/N" of a destination opened with
 * vs_rootfs_open_dest(), so the kernel mounts onto exactly the file that
 * was resolved inside the rootfs; flags and propagation are then changed on
 * a fresh resolution, which lands on the new mount's root.
 *
 * Nothing is unmounted on failure: all of this happens in the container's
 * private mount namespace, which disappears with the init process when
 * setting up fails.
 */
#include "container/rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/file.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000 /* statfs f_flags bit, not yet in glibc's enum */
#endif

#define ATIME_MS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)
/* Flags that belong to a mount (not to its filesystem): the only ones a
 * bind remount changes. */
#define PER_MOUNT_MS \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NODIRATIME | MS_NOSYMFOLLOW | ATIME_MS)
/* Restrictions a bind mount inherits from its source unless an option
 * lifts them explicitly: a bind never silently gains rights. */
#define KEEP_MS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NODIRATIME | MS_NOSYMFOLLOW)
#define COPYUP_MAX_DEPTH 64

enum opt_kind {
	OPT_FLAG, /* set/clr are MS_* */
	OPT_BIND, /* bind (clr = MS_REC) or rbind */
	OPT_PROP, /* set is the propagation type */
	OPT_REC,  /* set/clr are MOUNT_ATTR_* */
	OPT_NOOP,
	OPT_TMPCOPYUP,
	OPT_NOTMPCOPYUP,
	OPT_UNSUPPORTED,
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	uint64_t set, clr;
};

static const struct opt_def opt_defs[] = {
	{ "defaults", OPT_NOOP, 0, 0 },
	{ "ro", OPT_FLAG, MS_RDONLY, 0 },
	{ "rw", OPT_FLAG, 0, MS_RDONLY },
	{ "nosuid", OPT_FLAG, MS_NOSUID, 0 },
	{ "suid", OPT_FLAG, 0, MS_NOSUID },
	{ "nodev", OPT_FLAG, MS_NODEV, 0 },
	{ "dev", OPT_FLAG, 0, MS_NODEV },
	{ "noexec", OPT_FLAG, MS_NOEXEC, 0 },
	{ "exec", OPT_FLAG, 0, MS_NOEXEC },
	{ "sync", OPT_FLAG, MS_SYNCHRONOUS, 0 },
	{ "async", OPT_FLAG, 0, MS_SYNCHRONOUS },
	{ "dirsync", OPT_FLAG, MS_DIRSYNC, 0 },
	{ "remount", OPT_FLAG, MS_REMOUNT, 0 },
	{ "mand", OPT_FLAG, MS_MANDLOCK, 0 },
	{ "nomand", OPT_FLAG, 0, MS_MANDLOCK },
	{ "atime", OPT_FLAG, 0, MS_NOATIME },
	{ "noatime", OPT_FLAG, MS_NOATIME, MS_RELATIME | MS_STRICTATIME },
	{ "diratime", OPT_FLAG, 0, MS_NODIRATIME },
	{ "nodiratime", OPT_FLAG, MS_NODIRATIME, 0 },
	{ "relatime", OPT_FLAG, MS_RELATIME, MS_NOATIME | MS_STRICTATIME },
	{ "norelatime", OPT_FLAG, 0, MS_RELATIME },
	{ "strictatime", OPT_FLAG, MS_STRICTATIME, MS_NOATIME | MS_RELATIME },
	{ "nostrictatime", OPT_FLAG, 0, MS_STRICTATIME },
	{ "lazytime", OPT_FLAG, MS_LAZYTIME, 0 },
	{ "nolazytime", OPT_FLAG, 0, MS_LAZYTIME },
	{ "iversion", OPT_FLAG, MS_I_VERSION, 0 },
	{ "noiversion", OPT_FLAG, 0, MS_I_VERSION },
	{ "silent", OPT_FLAG, MS_SILENT, 0 },
	{ "loud", OPT_FLAG, 0, MS_SILENT },
	{ "nosymfollow", OPT_FLAG, MS_NOSYMFOLLOW, 0 },
	{ "symfollow", OPT_FLAG, 0, MS_NOSYMFOLLOW },
	{ "bind", OPT_BIND, MS_BIND, MS_REC },
	{ "rbind", OPT_BIND, MS_BIND | MS_REC, 0 },
	{ "private", OPT_PROP, MS_PRIVATE, 0 },
	{ "rprivate", OPT_PROP, MS_PRIVATE | MS_REC, 0 },
	{ "shared", OPT_PROP, MS_SHARED, 0 },
	{ "rshared", OPT_PROP, MS_SHARED | MS_REC, 0 },
	{ "slave", OPT_PROP, MS_SLAVE, 0 },
	{ "rslave", OPT_PROP, MS_SLAVE | MS_REC, 0 },
	{ "unbindable", OPT_PROP, MS_UNBINDABLE, 0 },
	{ "runbindable", OPT_PROP, MS_UNBINDABLE | MS_REC, 0 },
	{ "rro", OPT_REC, MOUNT_ATTR_RDONLY, 0 },
	{ "rrw", OPT_REC, 0, MOUNT_ATTR_RDONLY },
	{ "rnosuid", OPT_REC, MOUNT_ATTR_NOSUID, 0 },
	{ "rsuid", OPT_REC, 0, MOUNT_ATTR_NOSUID },
	{ "rnodev", OPT_REC, MOUNT_ATTR_NODEV, 0 },
	{ "rdev", OPT_REC, 0, MOUNT_ATTR_NODEV },
	{ "rnoexec", OPT_REC, MOUNT_ATTR_NOEXEC, 0 },
	{ "rexec", OPT_REC, 0, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", OPT_REC, MOUNT_ATTR_NODIRATIME, 0 },
	{ "rdiratime", OPT_REC, 0, MOUNT_ATTR_NODIRATIME },
	{ "rnosymfollow", OPT_REC, MOUNT_ATTR_NOSYMFOLLOW, 0 },
	{ "rsymfollow", OPT_REC, 0, MOUNT_ATTR_NOSYMFOLLOW },
	/* The kernel wants the whole atime field in attr_clr when setting one. */
	{ "rnoatime", OPT_REC, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME },
	{ "rstrictatime", OPT_REC, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
	{ "rrelatime", OPT_REC, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
	{ "ratime", OPT_REC, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
	{ "rnostrictatime", OPT_REC, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
	{ "rnorelatime", OPT_REC, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
	{ "tmpcopyup", OPT_TMPCOPYUP, 0, 0 },
	{ "notmpcopyup", OPT_NOTMPCOPYUP, 0, 0 },
	/* Volume options podman acts on itself before calling the runtime. */
	{ "z", OPT_NOOP, 0, 0 },
	{ "Z", OPT_NOOP, 0, 0 },
	{ "U", OPT_NOOP, 0, 0 },
	{ "copy", OPT_NOOP, 0, 0 },
	{ "nocopy", OPT_NOOP, 0, 0 },
	{ "idmap", OPT_UNSUPPORTED, 0, 0 },
	{ "ridmap", OPT_UNSUPPORTED, 0, 0 },
};

/* Value-less filesystem options passed through as data (devpts, tmpfs,
 * overlay, cgroup, common disk filesystems); other bare words are typos. */
static const char *const data_words[] = {
	"newinstance",
	"acl",
	"noacl",
	"user_xattr",
	"nouser_xattr",
	"userxattr",
	"volatile",
	"inode32",
	"inode64",
	"noswap",
	"nsdelegate",
	"memory_recursiveprot",
	"none",
	"xattr",
	"discard",
	"nodiscard",
	"nouuid",
	"quota",
	"noquota",
	"usrquota",
	"grpquota",
	"prjquota",
	"memory_localevents",
	"favordynmods",
};

static const struct opt_def *find_opt(const char *name)
{
	for (size_t i = 0; i < VS_ARRAY_SIZE(opt_defs); i++)
		if (strcmp(opt_defs[i].name, name) == 0)
			return &opt_defs[i];
	return NULL;
}

static bool is_data_word(const char *name)
{
	for (size_t i = 0; i < VS_ARRAY_SIZE(data_words); i++)
		if (strcmp(data_words[i], name) == 0)
			return true;
	return false;
}

static int data_append(char **data, size_t *len, const char *opt)
{
	size_t add = strlen(opt);
	char *p = realloc(*data, *len + add + 2);
	if (!p)
		return -1;
	if (*len)
		p[(*len)++] = ',';
	memcpy(p + *len, opt, add + 1);
	*len += add;
	*data = p;
	return 0;
}

void vs_mount_opts_free(struct vs_mount_opts *o)
{
	free(o->data);
	o->data = NULL;
}

static int apply_opt(struct vs_mount_opts *o, const struct opt_def *d, struct vs_error *err)
{
	switch (d->kind) {
	case OPT_FLAG:
		o->flags = (o->flags & ~d->clr) | d->set;
		o->cleared = (o->cleared & ~d->set) | d->clr;
		break;
	case OPT_BIND:
		o->flags = (o->flags & ~d->clr) | d->set;
		o->recursive = (d->set & MS_REC) != 0;
		break;
	case OPT_PROP:
		o->propagation = d->set;
		break;
	case OPT_REC:
		o->attr_set = (o->attr_set & ~d->clr) | d->set;
		o->attr_clr = (o->attr_clr & ~d->set) | d->clr;
		break;
	case OPT_TMPCOPYUP:
	case OPT_NOTMPCOPYUP:
		o->tmpcopyup = d->kind == OPT_TMPCOPYUP;
		break;
	case OPT_UNSUPPORTED:
		return vs_error_msg(err, "mount option `%s` (idmapped mounts) is not supported", d->name);
	case OPT_NOOP:
		break;
	}
	return 0;
}

int vs_mount_opts_parse(const struct vs_strv *opts, struct vs_mount_opts *out, struct vs_error *err)
{
	size_t data_len = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; opts && i < opts->count; i++) {
		const char *opt = opts->v[i];
		const struct opt_def *d;
		if (!opt || !*opt) {
			vs_error_msg(err, "empty mount option");
			goto fail;
		}
		d = find_opt(opt);
		if (d) {
			if (apply_opt(out, d, err) < 0)
				goto fail;
		} else if (strchr(opt, '=') || is_data_word(opt)) {
			if (data_append(&out->data, &data_len, opt) < 0) {
				vs_error_set(err, ENOMEM, "mount options");
				goto fail;
			}
		} else {
			vs_error_msg(err, "unknown mount option `%s`", opt);
			goto fail;
		}
	}
	return 0;
fail:
	vs_mount_opts_free(out);
	return -1;
}

int vs_mount_options_parse(struct vs_strv *opts, unsigned long *flags, unsigned long *propagation,
			   char **data, bool *recursive, struct vs_error *err)
{
	struct vs_mount_opts o;
	if (vs_mount_opts_parse(opts, &o, err) < 0)
		return -1;
	*flags = o.flags;
	*propagation = o.propagation;
	*data = o.data;
	*recursive = o.recursive;
	return 0;
}

static unsigned long statfs_to_ms(unsigned long f)
{
	unsigned long ms = 0;
	ms |= (f & ST_RDONLY) ? MS_RDONLY : 0;
	ms |= (f & ST_NOSUID) ? MS_NOSUID : 0;
	ms |= (f & ST_NODEV) ? MS_NODEV : 0;
	ms |= (f & ST_NOEXEC) ? MS_NOEXEC : 0;
	ms |= (f & ST_NODIRATIME) ? MS_NODIRATIME : 0;
	ms |= (f & ST_NOSYMFOLLOW) ? MS_NOSYMFOLLOW : 0;
	if (f & ST_NOATIME)
		ms |= MS_NOATIME;
	else if (f & ST_RELATIME)
		ms |= MS_RELATIME;
	else
		ms |= MS_STRICTATIME;
	return ms;
}

/* Bind remount of `path` with the per-mount `flags`, keeping restrictions
 * of the current mount that `cleared` does not lift and, when the options
 * say nothing about atime, its atime mode. In a user namespace the kernel
 * refuses to drop flags it locked (EPERM): retry keeping all of them. */
static int remount_bind(const char *path, unsigned long flags, unsigned long cleared, struct vs_error *err)
{
	struct statfs sfs;
	unsigned long cur, want;
	if (statfs(path, &sfs) < 0)
		return vs_error_set(err, errno, "statfs");
	cur = statfs_to_ms((unsigned long)sfs.f_flags);
	want = (flags & PER_MOUNT_MS) | (cur & KEEP_MS & ~cleared);
	if (!((flags | cleared) & ATIME_MS))
		want |= cur & ATIME_MS;
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | want, NULL) == 0)
		return 0;
	if (errno == EPERM) {
		want = (want & ~ATIME_MS) | (cur & (KEEP_MS | ATIME_MS));
		if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | want, NULL) == 0)
			return 0;
	}
	return vs_error_set(err, errno, "remounting with the mount options");
}

int vs_mount_remount_keep(const char *path, unsigned long add, struct vs_error *err)
{
	if (remount_bind(path, add, 0, err) < 0)
		return vs_error_prefix(err, "`%s`: ", path);
	return 0;
}

/* After the mount at `dest` exists: per-mount flags for binds, recursive
 * attributes, propagation. */
static int finish_mount(int rootfd, const char *dest, const struct vs_mount_opts *o, bool bind,
			struct vs_error *err)
{
	struct vs_fd_path p;
	vs_autoclose int fd = vs_rootfs_resolve(rootfd, dest, 0, err);
	if (fd < 0)
		return vs_error_prefix(err, "reopening the new mount: ");
	if (bind && (o->flags & PER_MOUNT_MS) &&
	    remount_bind(vs_fd_path(&p, fd), o->flags, o->cleared, err) < 0)
		return -1;
	if (o->attr_set || o->attr_clr) {
		struct mount_attr attr = { .attr_set = o->attr_set, .attr_clr = o->attr_clr };
		if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			return vs_error_set(err, errno, "setting recursive mount attributes");
	}
	if (o->propagation && mount(NULL, vs_fd_path(&p, fd), NULL, o->propagation, NULL) < 0)
		return vs_error_set(err, errno, "setting mount propagation");
	return 0;
}

static int mount_bind(int rootfd, const char *src, const char *dest, const struct vs_mount_opts *o,
		      struct vs_error *err)
{
	struct stat st;
	struct vs_fd_path p;
	vs_autoclose int fd = -1;
	if (!src || !*src)
		return vs_error_msg(err, "bind mount without a source");
	if (stat(src, &st) < 0)
		return vs_error_set(err, errno, "bind source `%s`", src);
	fd = vs_rootfs_open_dest(rootfd, dest, S_ISDIR(st.st_mode) ? VS_CREATE_DIR : VS_CREATE_FILE, err);
	if (fd < 0)
		return -1;
	if (mount(src, vs_fd_path(&p, fd), NULL, MS_BIND | (o->flags & MS_REC), NULL) < 0)
		return vs_error_set(err, errno, "bind-mounting `%s`", src);
	return finish_mount(rootfd, dest, o, true, err);
}

static int copy_file(int src_dir, int dst_dir, const char *name, mode_t mode, struct vs_error *err)
{
	char buf[65536];
	ssize_t n;
	vs_autoclose int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	vs_autoclose int out = -1;
	if (in < 0)
		return vs_error_set(err, errno, "copying `%s`", name);
	out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (out < 0)
		return vs_error_set(err, errno, "copying `%s`", name);
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || vs_write_all(out, buf, (size_t)n) < 0)
			return vs_error_set(err, errno, "copying `%s`", name);
	}
	if (fchmod(out, mode) < 0)
		return vs_error_set(err, errno, "copying `%s`", name);
	return 0;
}

static int copy_tree(int src_dir, int dst_dir, int depth, struct vs_error *err);

static int copy_entry(int src_dir, int dst_dir, const char *name, int depth, struct vs_error *err)
{
	struct stat st;
	mode_t mode;
	if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return vs_error_set(err, errno, "copying `%s`", name);
	mode = st.st_mode & 07777;
	if (S_ISDIR(st.st_mode)) {
		vs_autoclose int s = -1;
		vs_autoclose int d = -1;
		if (mkdirat(dst_dir, name, 0700) < 0 && errno != EEXIST)
			return vs_error_set(err, errno, "copying `%s`", name);
		s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		d = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return vs_error_set(err, errno, "copying `%s`", name);
		if (copy_tree(s, d, depth + 1, err) < 0)
			return vs_error_prefix(err, "%s/", name);
		if (fchmod(d, mode) < 0)
			return vs_error_set(err, errno, "copying `%s`", name);
	} else if (S_ISREG(st.st_mode)) {
		if (copy_file(src_dir, dst_dir, name, mode, err) < 0)
			return -1;
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
		if (n < 0)
			return vs_error_set(err, errno, "copying `%s`", name);
		target[n] = '\0';
		if (symlinkat(target, dst_dir, name) < 0)
			return vs_error_set(err, errno, "copying `%s`", name);
	} else {
		return 0; /* device nodes, fifos, sockets: not copied into a tmpfs */
	}
	/* Ownership is best effort: ids unmapped in a user namespace stay ours. */
	if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL &&
	    errno != EPERM)
		return vs_error_set(err, errno, "copying `%s`", name);
	return 0;
}

static int copy_tree(int src_dir, int dst_dir, int depth, struct vs_error *err)
{
	DIR *d;
	struct dirent *de;
	int fd, ret = 0;
	if (depth > COPYUP_MAX_DEPTH)
		return vs_error_msg(err, "directory tree deeper than %d levels", COPYUP_MAX_DEPTH);
	fd = openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vs_error_set(err, errno, "opening the directory to copy");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return vs_error_set(err, errno, "opening the directory to copy");
	}
	while (ret == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		ret = copy_entry(dirfd(d), dst_dir, de->d_name, depth, err);
	}
	closedir(d);
	return ret;
}

/* tmpcopyup: `under` still refers to the directory the tmpfs now covers. */
static int tmpfs_copy_up(int under, int rootfd, const char *dest, struct vs_error *err)
{
	vs_autoclose int top = vs_rootfs_resolve(rootfd, dest, 0, err);
	vs_autoclose int dst = -1;
	if (top < 0)
		return -1;
	dst = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dst < 0)
		return vs_error_set(err, errno, "tmpcopyup");
	if (copy_tree(under, dst, 0, err) < 0)
		return vs_error_prefix(err, "tmpcopyup: ");
	return 0;
}

/* A filesystem the kernel will not mount here (sysfs in a user namespace
 * that does not own the network namespace, mqueue without an owned IPC
 * namespace) is replaced by a bind of the host's mount, as runc does. */
static int mount_fallback_bind(int rootfd, const char *host, const char *dest, const struct vs_mount_opts *o,
			       bool rec, struct vs_error *err)
{
	struct vs_mount_opts b = *o;
	b.flags |= MS_BIND | (rec ? MS_REC : 0);
	b.data = NULL;
	if (mount_bind(rootfd, host, dest, &b, err) < 0)
		return vs_error_prefix(err, "falling back to a bind of the host's `%s`: ", host);
	return 0;
}

/* procfs and sysfs must land where maskedPaths and readonlyPaths expect
 * them: an image may not redirect them with a symlink. */
static int refuse_symlink_dest(int rootfd, const char *dest, struct vs_error *err)
{
	vs_autofree char *parent = strdup(dest);
	vs_autoclose int dir = -1;
	struct stat st;
	char *slash = parent ? strrchr(parent, '/') : NULL;
	if (!slash)
		return parent ? 0 : vs_error_set(err, ENOMEM, "checking the destination");
	slash[slash == parent ? 1 : 0] = '\0';
	dir = vs_rootfs_resolve(rootfd, parent, 0, err);
	if (dir < 0)
		return err->code == ENOENT ? 0 : -1; /* created as a directory later */
	if (fstatat(dir, dest + (slash - parent) + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return vs_error_msg(err, "the destination is a symlink in the rootfs");
	return 0;
}

static bool has_option(const char *data, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = data; p && *p;) {
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

int vs_mount_label_data(const char *type, unsigned long flags, const char *data, const char *label,
			char **out, struct vs_error *err)
{
	static const char *const unlabelled[] = { "proc", "sysfs", "cgroup", "cgroup2" };
	*out = NULL;
	if (!label || !*label || (flags & (MS_BIND | MS_REMOUNT)) || !type)
		return 0;
	for (size_t i = 0; i < VS_ARRAY_SIZE(unlabelled); i++)
		if (strcmp(type, unlabelled[i]) == 0)
			return 0;
	if (has_option(data, "context"))
		return 0; /* the config chose this mount's context itself */
	/* Quoted, since MCS categories hold commas; the kernel's option
	 * parser has no escape for a quote inside. */
	if (strchr(label, '"'))
		return vs_error_msg(err, "linux.mountLabel `%s`: a label cannot contain '\"'", label);
	if (asprintf(out, "%s%scontext=\"%s\"", data ? data : "", data && *data ? "," : "", label) < 0) {
		*out = NULL;
		return vs_error_set(err, ENOMEM, "mount data");
	}
	return 0;
}

static int mount_fs(int rootfd, const char *type, const char *src, const char *dest,
		    const struct vs_mount_opts *o, struct vs_error *err)
{
	struct vs_fd_path p;
	vs_autoclose int fd = -1;
	vs_autofree char *labelled = NULL;
	if ((strcmp(type, "proc") == 0 || strcmp(type, "sysfs") == 0) &&
	    refuse_symlink_dest(rootfd, dest, err) < 0)
		return -1;
	if (vs_mount_label_data(type, o->flags, o->data, o->label, &labelled, err) < 0)
		return -1;
	fd = vs_rootfs_open_dest(rootfd, dest, VS_CREATE_DIR, err);
	if (fd < 0)
		return -1;
	if (mount(src && *src ? src : type, vs_fd_path(&p, fd), type, o->flags,
		  labelled ? labelled : o->data) < 0) {
		int e = errno;
		if (e == EPERM && strcmp(type, "sysfs") == 0)
			return mount_fallback_bind(rootfd, "/sys", dest, o, true, err);
		if (e == EPERM && strcmp(type, "mqueue") == 0)
			return mount_fallback_bind(rootfd, "/dev/mqueue", dest, o, false, err);
		return vs_error_set(err, e, "mounting %s", type);
	}
	if (o->tmpcopyup && strcmp(type, "tmpfs") == 0 && tmpfs_copy_up(fd, rootfd, dest, err) < 0)
		return -1;
	return finish_mount(rootfd, dest, o, false, err);
}

/* One cgroupfs at `dest`: mounted directly in a cgroup namespace, else the
 * host directory of the container's cgroup bound there; read-only and the
 * other per-mount flags then come from a bind remount so that a shared
 * cgroup superblock is never remounted. */
static int cgroup_one(int rootfd, const char *dest, const char *fstype, const char *data,
		      const char *host_dir, bool ns, const struct vs_mount_opts *o, struct vs_error *err)
{
	struct vs_fd_path p;
	vs_autoclose int fd = vs_rootfs_open_dest(rootfd, dest, VS_CREATE_DIR, err);
	vs_autoclose int top = -1;
	if (fd < 0)
		return -1;
	if (ns) {
		if (mount(fstype, vs_fd_path(&p, fd), fstype, o->flags & ~MS_RDONLY, data) < 0)
			return vs_error_set(err, errno, "mounting %s %s", fstype, data ? data : "");
	} else {
		if (!host_dir)
			return vs_error_msg(err, "no host directory for the %s hierarchy",
					    data ? data : fstype);
		if (mount(host_dir, vs_fd_path(&p, fd), NULL, MS_BIND, NULL) < 0)
			return vs_error_set(err, errno, "bind-mounting `%s`", host_dir);
	}
	top = vs_rootfs_resolve(rootfd, dest, 0, err);
	if (top < 0)
		return -1;
	if ((o->flags & PER_MOUNT_MS) && remount_bind(vs_fd_path(&p, top), o->flags, o->cleared, err) < 0)
		return vs_error_prefix(err, "`%s`: ", dest);
	return 0;
}

static int cgroup_v1_links(int rootfd, const char *dest, const char *dir, struct vs_error *err)
{
	vs_autoclose int fd = -1;
	vs_autofree char *parts = NULL;
	char *save = NULL;
	if (!strchr(dir, ','))
		return 0;
	fd = vs_rootfs_resolve(rootfd, dest, 0, err);
	parts = strdup(dir);
	if (fd < 0 || !parts)
		return fd < 0 ? -1 : vs_error_set(err, ENOMEM, "cgroup links");
	/* "cpu" and "cpuacct" both lead to "cpu,cpuacct", as on the host. */
	for (char *s = strtok_r(parts, ",", &save); s; s = strtok_r(NULL, ",", &save))
		if (symlinkat(dir, fd, s) < 0 && errno != EEXIST)
			return vs_error_set(err, errno, "linking `%s` to `%s`", s, dir);
	return 0;
}

static int mount_cgroup(int rootfd, const struct vs_spec *spec, const struct vs_spec_mount *m,
			const struct vs_mount_opts *o, const struct vs_rootfs_cgroup_mounts *cg,
			struct vs_error *err)
{
	bool ns = vs_rootfs_has_ns(spec, VS_NS_CGROUP);
	struct vs_mount_opts tmpfs = *o;
	if (!cg)
		return 0;
	if (strcmp(m->type, "cgroup2") == 0 || cg->v2 || cg->count == 0) {
		if (!ns && !cg->v2_dir)
			return vs_error_msg(err, "the host has no cgroup v2 hierarchy for this container");
		if (cgroup_one(rootfd, m->destination, "cgroup2", NULL, cg->v2_dir, ns, o, err) < 0)
			return -1;
		return finish_mount(rootfd, m->destination, o, false, err);
	}
	/* v1 layout: a tmpfs holding one directory per hierarchy. */
	tmpfs.flags &= ~MS_RDONLY;
	tmpfs.data = (char *)"mode=755"; /* only read by mount(2), never freed */
	tmpfs.tmpcopyup = false;
	tmpfs.attr_set = tmpfs.attr_clr = 0;
	tmpfs.propagation = 0;
	if (mount_fs(rootfd, "tmpfs", "tmpfs", m->destination, &tmpfs, err) < 0)
		return -1;
	for (size_t i = 0; i < cg->count; i++) {
		const char *dir = strncmp(cg->names[i], "name=", 5) == 0 ? cg->names[i] + 5 : cg->names[i];
		vs_autofree char *sub = NULL;
		if (!*dir || strchr(dir, '/'))
			return vs_error_msg(err, "bad cgroup hierarchy name `%s`", cg->names[i]);
		if (asprintf(&sub, "%s/%s", m->destination, dir) < 0) {
			sub = NULL;
			return vs_error_set(err, ENOMEM, "cgroup mounts");
		}
		if (cgroup_one(rootfd, sub, "cgroup", cg->names[i], cg->host_dirs ? cg->host_dirs[i] : NULL,
			       ns, o, err) < 0 ||
		    cgroup_v1_links(rootfd, m->destination, dir, err) < 0)
			return -1;
	}
	if (cg->v2_dir || (ns && cg->v2)) {
		vs_autofree char *sub = NULL;
		if (asprintf(&sub, "%s/unified", m->destination) < 0) {
			sub = NULL;
			return vs_error_set(err, ENOMEM, "cgroup mounts");
		}
		if (cgroup_one(rootfd, sub, "cgroup2", NULL, cg->v2_dir, ns, o, err) < 0)
			return -1;
	}
	return finish_mount(rootfd, m->destination, o, true, err);
}

static bool type_is(const char *type, const char *name)
{
	return type && strcmp(type, name) == 0;
}

static int mount_dispatch(int rootfd, const struct vs_spec *spec, const struct vs_spec_mount *m,
			  struct vs_mount_opts *o, const struct vs_rootfs_cgroup_mounts *cg,
			  struct vs_error *err)
{
	if (type_is(m->type, "rbind")) {
		o->flags |= MS_BIND | MS_REC;
		o->recursive = true;
	}
	if (type_is(m->type, "bind"))
		o->flags |= MS_BIND;
	if (o->flags & MS_BIND)
		return mount_bind(rootfd, m->source, m->destination, o, err);
	if (!m->type || !*m->type || type_is(m->type, "none"))
		return vs_error_msg(err, "no filesystem type, and not a bind mount");
	if (o->flags & MS_REMOUNT)
		return mount_fs(rootfd, m->type, m->source, m->destination, o, err);
	if (type_is(m->type, "cgroup") || type_is(m->type, "cgroup2"))
		return mount_cgroup(rootfd, spec, m, o, cg, err);
	return mount_fs(rootfd, m->type, m->source, m->destination, o, err);
}

int vs_rootfs_mount_one(int rootfd, const struct vs_spec *spec, size_t index,
			const struct vs_rootfs_cgroup_mounts *cgroups, struct vs_error *err)
{
	const struct vs_spec_mount *m = &spec->mounts[index];
	struct vs_mount_opts o;
	int ret;
	if (!m->destination || m->destination[0] != '/')
		return vs_error_msg(err, "mounts[%zu]: destination `%s` is not absolute", index,
				    m->destination ? m->destination : "");
	if (m->uid_mappings_count || m->gid_mappings_count)
		return vs_error_msg(err, "mounts[%zu] (%s): idmapped mounts are not supported", index,
				    m->destination);
	if (vs_mount_opts_parse(&m->options, &o, err) < 0)
		return vs_error_prefix(err, "mounts[%zu] (%s): ", index, m->destination);
	o.label = spec->linux.mount_label;
	ret = mount_dispatch(rootfd, spec, m, &o, cgroups, err);
	vs_mount_opts_free(&o);
	if (ret < 0)
		return vs_error_prefix(err, "mounts[%zu] (%s): ", index, m->destination);
	return 0;
}
