/* The container's root filesystem: spec mounts, /dev, pivot_root, masked
 * and read-only paths.
 *
 * The container init calls, in order and in its new mount namespace (and
 * user namespace, mappings written) while still privileged:
 *   vs_rootfs_prepare()   propagation, rootfs bind, every spec mount, /dev
 *   vs_rootfs_pivot()     pivot_root (or MS_MOVE + chroot), chdir("/")
 *   vs_rootfs_finalize()  maskedPaths, readonlyPaths, root.readonly
 * Mount destinations are resolved inside the rootfs: symlinks and ".." in
 * the container's tree never lead outside it.
 */
#ifndef VESSEL_CONTAINER_ROOTFS_H
#define VESSEL_CONTAINER_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "container/spec.h"
#include "util/error.h"

/* The container's cgroups, for mounts of type "cgroup" and "cgroup2". With
 * a cgroup namespace in the spec cgroupfs is mounted directly; without one
 * the host directories are bind-mounted. */
struct vs_rootfs_cgroup_mounts {
	const char **names;	/* v1 hierarchies as mount options: "memory", "cpu,cpuacct", "name=systemd" */
	const char **host_dirs; /* host directory of the container's cgroup in names[i] */
	size_t count;		/* number of v1 hierarchies */
	bool v2;		/* pure cgroup v2 host: "cgroup" mounts mean one cgroup2 mount */
	const char *v2_dir;	/* host directory of the container's cgroup in the v2 tree (pure v2, or the
				   hybrid "unified" tree); NULL when there is none */
};

/* Steps 1-4 (see the file comment). `cgroups` NULL skips cgroup mounts. */
int vs_rootfs_prepare(const struct vs_spec *spec, const struct vs_rootfs_cgroup_mounts *cgroups,
		      struct vs_error *err);

/* Make spec->root_path the root: pivot_root(".", ".") and detach the old
 * root; `no_pivot` (runc --no-pivot), or a host root on initramfs where
 * pivot_root cannot work, uses vs_rootfs_move_root() instead. */
int vs_rootfs_pivot(const struct vs_spec *spec, bool no_pivot, struct vs_error *err);

/* vs_rootfs_pivot in two steps. The first pivots and leaves the old root
 * stacked on the new one (paths from "/" already resolve in the new root),
 * its fd in *old_root (-1 when nothing is left to detach: no_pivot). The
 * second, vs_rootfs_detach_old_root, detaches it and closes the fd: that
 * unmount waits for an RCU grace period (a few ms), so container init does
 * it after telling `create` it is ready, while the caller goes on. Until
 * then a process that joins the mount namespace with setns lands in the
 * old root: vs_container_exec chroots into init's root while the
 * container is `created`. */
int vs_rootfs_pivot_keep_old(const struct vs_spec *spec, bool no_pivot, int *old_root, struct vs_error *err);
int vs_rootfs_detach_old_root(int *old_root, struct vs_error *err);

/* After the pivot: maskedPaths, readonlyPaths, root.readonly, and the
 * shared/unbindable rootfsPropagation that cannot be set before it. */
int vs_rootfs_finalize(const struct vs_spec *spec, struct vs_error *err);

/* The MS_MOVE + chroot fallback: detaches every mount that is neither an
 * ancestor of `root` nor inside it, moves `root` onto "/", chroots. */
int vs_rootfs_move_root(const char *root, struct vs_error *err);

/* Mount options of one spec mount, split for mount(2) and friends. */
struct vs_mount_opts {
	unsigned long flags;	   /* MS_* for mount(2); rbind gives MS_BIND|MS_REC */
	unsigned long cleared;	   /* MS_* an option explicitly turned off ("rw", "suid", "atime", ...) */
	unsigned long propagation; /* MS_PRIVATE/SLAVE/SHARED/UNBINDABLE, |MS_REC for the r forms; 0: none */
	char *data;		   /* filesystem options joined by ',' (malloc'd), NULL when none */
	bool recursive;		   /* rbind */
	bool tmpcopyup;		   /* copy the covered directory's content into a new tmpfs */
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE): rro, rnosuid, ... */
	const char *label;	     /* linux.mountLabel (the spec's, not owned); NULL: none */
};

/* Parse spec mount options. Options with '=' and the known value-less
 * filesystem options ("newinstance", "acl", ...) go to data in order; any
 * other unknown word is an error naming it. Pure: no system calls. */
int vs_mount_opts_parse(const struct vs_strv *opts, struct vs_mount_opts *out, struct vs_error *err);
void vs_mount_opts_free(struct vs_mount_opts *o);

/* The same, reduced to what mount(2) takes; *data is malloc'd (or NULL)
 * and owned by the caller. */
int vs_mount_options_parse(struct vs_strv *opts, unsigned long *flags, unsigned long *propagation,
			   char **data, bool *recursive, struct vs_error *err);

/* The data string mount(2) gets for a new `type` mount with the SELinux
 * linux.mountLabel `label`: `data` (may be NULL) plus context="label", as
 * runc and crun do. *out is NULL (nothing to add) for bind mounts and
 * remounts (mount(2) ignores their data), for proc, sysfs, cgroup and
 * cgroup2 (labelled by policy, they refuse context=), and when `data`
 * already names a context. Returns 0, or -1 with `err` set: a label that
 * cannot be quoted, or no memory. Pure: no system calls. */
int vs_mount_label_data(const char *type, unsigned long flags, const char *data, const char *label,
			char **out, struct vs_error *err);

/* rootfsPropagation value to the MS_* flags applied before the pivot to
 * the whole tree (`early`) and after it to the container's "/" (`late`:
 * shared and unbindable, which would break the rootfs bind or pivot_root). */
int vs_rootfs_propagation(const char *value, unsigned long *early, unsigned long *late, struct vs_error *err);

/* ---- Shared by rootfs.c, mounts.c and devices.c; exposed for tests. ---- */

#define VS_RESOLVE_MANUAL 0x1u /* skip openat2() and walk component by component */

/* Open `path` below the directory `rootfd` as if rootfd were "/" (absolute
 * symlinks and ".." stay inside), following symlinks, as an O_PATH|O_CLOEXEC
 * fd. Returns the fd, or -1 with err->code the errno (ENOENT when missing). */
int vs_rootfs_resolve(int rootfd, const char *path, unsigned int how, struct vs_error *err);

enum vs_rootfs_create { VS_CREATE_NONE, VS_CREATE_DIR, VS_CREATE_FILE };

/* vs_rootfs_resolve(), creating missing components as directories and the
 * last one as `create` says (0755 directories, 0644 empty files). */
int vs_rootfs_open_dest(int rootfd, const char *path, enum vs_rootfs_create create, struct vs_error *err);

/* "/proc/self/fd/N": mount(2) and friends take paths, and this one names
 * exactly the file the fd refers to, whatever happens to the path. */
struct vs_fd_path {
	char s[32];
};

static inline const char *vs_fd_path(struct vs_fd_path *p, int fd)
{
	snprintf(p->s, sizeof(p->s), "/proc/self/fd/%d", fd);
	return p->s;
}

/* Whether two container paths name the same place ("/dev/" == "//dev"). */
bool vs_rootfs_path_eq(const char *a, const char *b);

/* Whether the spec has (joins or creates) a namespace of this type. */
bool vs_rootfs_has_ns(const struct vs_spec *spec, enum vs_ns_type type);

/* Mount spec->mounts[index] below rootfd (mounts.c). */
int vs_rootfs_mount_one(int rootfd, const struct vs_spec *spec, size_t index,
			const struct vs_rootfs_cgroup_mounts *cgroups, struct vs_error *err);

/* Remount the bind mount at `path` with its current per-mount flags plus
 * `add` (MS_RDONLY, ...): flags the kernel locked in a user namespace and
 * nosuid/nodev/noexec are never dropped. */
int vs_mount_remount_keep(const char *path, unsigned long add, struct vs_error *err);

/* Populate /dev below rootfd after the spec mounts (devices.c). */
int vs_rootfs_setup_dev(int rootfd, const struct vs_spec *spec, struct vs_error *err);

#endif
