#include "container/lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"

bool vs_lsm_apparmor_enabled(void)
{
	char c = 0;
	int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y';
}

bool vs_lsm_selinux_enabled(void)
{
	/* selinuxfs is mounted where the policy is loaded. */
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

int vs_lsm_check(const struct vs_spec_process *p, const char *mount_label, struct vs_error *err)
{
	if (p->apparmor_profile && *p->apparmor_profile && !vs_lsm_apparmor_enabled())
		return vs_error_msg(err, "process.apparmorProfile `%s`: AppArmor is not enabled on this host",
				    p->apparmor_profile);
	if (p->selinux_label && *p->selinux_label && !vs_lsm_selinux_enabled())
		return vs_error_msg(err, "process.selinuxLabel `%s`: SELinux is not enabled on this host",
				    p->selinux_label);
	if (mount_label && *mount_label && !vs_lsm_selinux_enabled())
		return vs_error_msg(err, "linux.mountLabel `%s`: SELinux is not enabled on this host",
				    mount_label);
	return 0;
}

/* Write `value` into <attr_dir>/<file>; `alt` is the older shared name,
 * tried when the LSM-specific one is missing. */
static int write_attr(const char *attr_dir, const char *file, const char *alt, const char *value,
		      const char *field, struct vs_error *err)
{
	char path[PATH_MAX];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", attr_dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && alt) {
		snprintf(path, sizeof(path), "%s/%s", attr_dir, alt);
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return vs_error_set(err, errno, "%s: opening %s (is /proc mounted in the container?)", field,
				    path);
	/* One write(2) of the whole value, no NUL: what libapparmor's
	 * aa_change_onexec and libselinux's setexeccon write. */
	if (vs_write_all(fd, value, strlen(value)) < 0) {
		int e = errno;
		close(fd);
		return vs_error_set(err, e, "%s `%s`: writing %s", field, value, path);
	}
	close(fd);
	return 0;
}

int vs_lsm_set_exec_at(const char *attr_dir, const struct vs_spec_process *p, struct vs_error *err)
{
	if (p->apparmor_profile && *p->apparmor_profile) {
		char cmd[512];
		if (snprintf(cmd, sizeof(cmd), "exec %s", p->apparmor_profile) >= (int)sizeof(cmd))
			return vs_error_msg(err, "process.apparmorProfile: name too long");
		/* attr/apparmor/exec since Linux 5.8 (stacked LSMs); attr/exec
		 * before, which AppArmor then owns. */
		if (write_attr(attr_dir, "apparmor/exec", "exec", cmd, "process.apparmorProfile", err) < 0)
			return -1;
	}
	if (p->selinux_label && *p->selinux_label &&
	    write_attr(attr_dir, "exec", NULL, p->selinux_label, "process.selinuxLabel", err) < 0)
		return -1;
	return 0;
}

int vs_lsm_set_exec(const struct vs_spec_process *p, struct vs_error *err)
{
	/* thread-self: the attributes are per thread, and init is one. */
	return vs_lsm_set_exec_at("/proc/thread-self/attr", p, err);
}
