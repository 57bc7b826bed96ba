/* /dev of the container: the runtime-spec default devices and symlinks on
 * a /dev the spec mounts as a fresh filesystem, plus linux.devices.
 *
 * Device nodes are made with mknod; where that is refused (a user
 * namespace has no CAP_MKNOD over devices) the host's node is bind-mounted
 * onto an empty file instead, and its owner and mode stay the host's:
 * chown/chmod would change the host's node through the bind.
 */
#include "container/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cleanup.h"

struct dev_node {
	const char *path; /* in the container */
	const char *host; /* the host's node to bind when mknod is refused */
	mode_t type;	  /* S_IFCHR, S_IFBLK or S_IFIFO */
	dev_t rdev;
	mode_t perm;
	uid_t uid;
	gid_t gid;
	bool replace; /* an explicit linux.devices entry wins over what is there */
};

/* The runtime-spec's default devices (numbers from the kernel's
 * Documentation/admin-guide/devices.txt, a fixed ABI). */
static const struct {
	const char *name;
	unsigned int major, minor;
} default_devs[] = {
	{ "null", 1, 3 },   { "zero", 1, 5 },	 { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} default_links[] = {
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
};

static int bind_host_node(int dir, const char *name, const struct dev_node *n, struct vs_error *err)
{
	struct vs_fd_path p;
	vs_autoclose int fd = openat(dir, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vs_error_set(err, errno, "creating the mount point for `%s`", n->path);
	if (mount(n->host, vs_fd_path(&p, fd), NULL, MS_BIND, NULL) < 0)
		return vs_error_set(err, errno, "bind-mounting the host's `%s`", n->host);
	return 0;
}

static int make_node(int rootfd, const struct dev_node *n, struct vs_error *err)
{
	vs_autofree char *parent = strdup(n->path);
	vs_autoclose int dir = -1;
	char *slash = parent ? strrchr(parent, '/') : NULL;
	const char *name;
	if (!parent)
		return vs_error_set(err, ENOMEM, "`%s`", n->path);
	if (!slash || n->path[0] != '/')
		return vs_error_msg(err, "device path `%s` is not absolute", n->path);
	name = n->path + (slash - parent) + 1;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return vs_error_msg(err, "device path `%s` does not name a file", n->path);
	slash[slash == parent ? 1 : 0] = '\0';
	dir = vs_rootfs_open_dest(rootfd, parent, VS_CREATE_DIR, err);
	if (dir < 0)
		return -1;
	if (n->replace && unlinkat(dir, name, 0) < 0 && errno != ENOENT)
		return vs_error_set(err, errno, "replacing `%s`", n->path);
	if (mknodat(dir, name, n->type | n->perm, n->rdev) == 0) {
		/* mknod applied the umask; the spec's mode is exact. */
		if (fchownat(dir, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(dir, name, n->perm, 0) < 0)
			return vs_error_set(err, errno, "setting owner and mode of `%s`", n->path);
		return 0;
	}
	if (errno == EEXIST && !n->replace)
		return 0;
	if (errno != EPERM || n->type == S_IFIFO)
		return vs_error_set(err, errno, "mknod `%s`", n->path);
	return bind_host_node(dir, name, n, err);
}

static bool mount_is_bind(const struct vs_spec_mount *m)
{
	if (m->type && (strcmp(m->type, "bind") == 0 || strcmp(m->type, "rbind") == 0))
		return true;
	for (size_t i = 0; i < m->options.count; i++)
		if (strcmp(m->options.v[i], "bind") == 0 || strcmp(m->options.v[i], "rbind") == 0)
			return true;
	return false;
}

static int spec_devices(int rootfd, const struct vs_spec_linux *lx, struct vs_error *err)
{
	for (size_t i = 0; i < lx->devices_count; i++) {
		const struct vs_spec_device *d = &lx->devices[i];
		struct dev_node n = {
			.path = d->path,
			.host = d->path,
			.rdev = makedev((unsigned int)d->major, (unsigned int)d->minor),
			.perm = d->has_file_mode ? (mode_t)(d->file_mode & 07777) : 0666,
			.uid = d->has_uid ? d->uid : 0,
			.gid = d->has_gid ? d->gid : 0,
			.replace = true,
		};
		switch (d->type) {
		case 'c':
		case 'u':
			n.type = S_IFCHR;
			break;
		case 'b':
			n.type = S_IFBLK;
			break;
		case 'p':
			n.type = S_IFIFO;
			n.rdev = 0;
			break;
		default:
			return vs_error_msg(err, "linux.devices[%zu]: unknown type `%c`", i, d->type);
		}
		if (!d->path)
			return vs_error_msg(err, "linux.devices[%zu]: no path", i);
		if (make_node(rootfd, &n, err) < 0)
			return vs_error_prefix(err, "linux.devices[%zu]: ", i);
	}
	return 0;
}

static int default_devices(int rootfd, bool have_proc, struct vs_error *err)
{
	vs_autoclose int dev = -1;
	for (size_t i = 0; i < VS_ARRAY_SIZE(default_devs); i++) {
		char path[32];
		struct dev_node n = {
			.path = path,
			.host = path,
			.type = S_IFCHR,
			.rdev = makedev(default_devs[i].major, default_devs[i].minor),
			.perm = 0666,
		};
		snprintf(path, sizeof(path), "/dev/%s", default_devs[i].name);
		if (make_node(rootfd, &n, err) < 0)
			return -1;
	}
	dev = vs_rootfs_resolve(rootfd, "/dev", 0, err);
	if (dev < 0)
		return -1;
	for (size_t i = 0; i < VS_ARRAY_SIZE(default_links); i++)
		if (symlinkat(default_links[i].target, dev, default_links[i].name) < 0 && errno != EEXIST)
			return vs_error_set(err, errno, "linking /dev/%s", default_links[i].name);
	if (have_proc && symlinkat("/proc/kcore", dev, "core") < 0 && errno != EEXIST)
		return vs_error_set(err, errno, "linking /dev/core");
	/* The devpts instance's own ptmx, not the host's. */
	if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
		return vs_error_set(err, errno, "replacing /dev/ptmx");
	if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
		return vs_error_set(err, errno, "linking /dev/ptmx");
	return 0;
}

int vs_rootfs_setup_dev(int rootfd, const struct vs_spec *spec, struct vs_error *err)
{
	const struct vs_spec_mount *dev = NULL;
	bool have_proc = false;
	for (size_t i = 0; i < spec->mounts_count; i++) {
		const struct vs_spec_mount *m = &spec->mounts[i];
		if (vs_rootfs_path_eq(m->destination, "/dev"))
			dev = m;
		if (vs_rootfs_path_eq(m->destination, "/proc") && m->type && strcmp(m->type, "proc") == 0)
			have_proc = true;
	}
	/* A bind-mounted /dev is someone's real /dev: leave it alone. */
	if (dev && mount_is_bind(dev))
		return 0;
	if (spec_devices(rootfd, &spec->linux, err) < 0)
		return -1;
	return dev ? default_devices(rootfd, have_proc, err) : 0;
}
