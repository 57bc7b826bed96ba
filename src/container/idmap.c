#include "container/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/process.h"
#include "util/file.h"

static int write_proc(pid_t pid, const char *file, const char *text, struct vs_error *err)
{
	char path[64];
	int fd, e;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_error_set(err, errno, "opening %s", path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		e = errno;
		close(fd);
		return vs_error_set(err, e, "writing %s", file);
	}
	close(fd);
	return 0;
}

static int format_map(const struct vs_spec_idmap *m, size_t n, const char *sep, char *buf, size_t size,
		      const char *what, struct vs_error *err)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + len, size - len, "%u %u %u%s", m[i].container_id, m[i].host_id,
				 m[i].size, sep);
		if (w < 0 || (size_t)w >= size - len)
			return vs_error_msg(err, "linux.%s: too many entries", what);
		len += (size_t)w;
	}
	return 0;
}

/* Only the caller's own id, once: what an unprivileged user may write. */
static bool own_id_only(const struct vs_spec_idmap *m, size_t n, unsigned id)
{
	return n == 1 && m[0].size == 1 && m[0].host_id == id;
}

/* newuidmap PID c h s [c h s ...] */
static int run_helper(const char *helper, pid_t pid, const struct vs_spec_idmap *m, size_t n,
		      const char *what, struct vs_error *err)
{
	char args[4096], pidstr[16];
	char *argv[3 + 3 * 340 + 1];
	size_t argc = 0;
	pid_t child;
	int status;
	if (n > 340)
		return vs_error_msg(err, "linux.%s: too many entries", what);
	if (format_map(m, n, " ", args, sizeof(args), what, err) < 0)
		return -1;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	argv[argc++] = (char *)helper;
	argv[argc++] = pidstr;
	for (char *save = NULL, *tok = strtok_r(args, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	child = fork();
	if (child < 0)
		return vs_error_set(err, errno, "linux.%s: fork", what);
	if (child == 0) {
		vs_process_reset_signals();
		execvp(helper, argv);
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return vs_error_set(err, errno, "linux.%s: waiting for %s", what, helper);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return vs_error_msg(
		    err,
		    "linux.%s: mapping more than your own id needs %s (Debian package uidmap), "
		    "not found",
		    what, helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return vs_error_msg(err,
				    "linux.%s: %s refused the mapping (are the ids yours in /etc/subuid and "
				    "/etc/subgid?)",
				    what, helper);
	return 0;
}

int vs_idmap_write(pid_t pid, const struct vs_spec_linux *lx, struct vs_error *err)
{
	char buf[4096];
	bool root = geteuid() == 0;
	if (root || own_id_only(lx->uid_mappings, lx->uid_mappings_count, (unsigned)geteuid())) {
		if (format_map(lx->uid_mappings, lx->uid_mappings_count, "\n", buf, sizeof(buf),
			       "uidMappings", err) < 0 ||
		    write_proc(pid, "uid_map", buf, err) < 0)
			return -1;
	} else if (run_helper("newuidmap", pid, lx->uid_mappings, lx->uid_mappings_count, "uidMappings",
			      err) < 0) {
		return -1;
	}
	if (root) {
		if (format_map(lx->gid_mappings, lx->gid_mappings_count, "\n", buf, sizeof(buf),
			       "gidMappings", err) < 0)
			return -1;
		return write_proc(pid, "gid_map", buf, err);
	}
	if (own_id_only(lx->gid_mappings, lx->gid_mappings_count, (unsigned)getegid())) {
		/* The kernel lets an unprivileged writer map its own gid only
		 * once setgroups is denied for the namespace. */
		if (write_proc(pid, "setgroups", "deny", err) < 0 ||
		    format_map(lx->gid_mappings, lx->gid_mappings_count, "\n", buf, sizeof(buf),
			       "gidMappings", err) < 0)
			return -1;
		return write_proc(pid, "gid_map", buf, err);
	}
	return run_helper("newgidmap", pid, lx->gid_mappings, lx->gid_mappings_count, "gidMappings", err);
}

bool vs_idmap_rootless(void)
{
	char buf[256];
	ssize_t n;
	unsigned inside, outside, count;
	int fd;
	if (geteuid() != 0)
		return true;
	fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The initial namespace maps 0..4294967294 onto itself, in one line. */
	if (sscanf(buf, "%u %u %u", &inside, &outside, &count) != 3)
		return false;
	return !(inside == 0 && outside == 0 && count == 4294967295u);
}
