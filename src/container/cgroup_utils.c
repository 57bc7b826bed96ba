/* The leaf of the cgroup code: file access in cgroup directories and
 * small helpers every manager (v1, v2, hybrid) and cgroup.c use. It
 * depends on nothing else of the cgroup code, so the managers need not
 * call back into cgroup.c, which only reaches them through their ops
 * tables. */
#include "container/cgroup_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/file.h"

static int open_in(const char *dir, const char *file, int flags, char *path, size_t size)
{
	int n = snprintf(path, size, "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, flags | O_CLOEXEC);
}

static int write_in(const char *dir, const char *file, const char *value, bool optional, struct vs_error *err)
{
	char path[PATH_MAX];
	vs_autoclose int fd = open_in(dir, file, O_WRONLY | O_TRUNC, path, sizeof(path));
	if (fd < 0 && optional && errno == ENOENT)
		return 1;
	if (fd < 0)
		return vs_error_set(err, errno, "%s/%s: writing %s", dir, file, value);
	int r = vs_write_all(fd, value, strlen(value));
	if (r < 0)
		return vs_error_set(err, -r, "%s: writing %s", path, value);
	return 0;
}

int vs_cgroup_write(const char *dir, const char *file, const char *value, struct vs_error *err)
{
	return write_in(dir, file, value, false, err);
}

int vs_cgroup_write_opt(const char *dir, const char *file, const char *value, struct vs_error *err)
{
	return write_in(dir, file, value, true, err);
}

int vs_cgroup_read(const char *dir, const char *file, char *buf, size_t size, struct vs_error *err)
{
	char path[PATH_MAX];
	vs_autoclose int fd = open_in(dir, file, O_RDONLY, path, sizeof(path));
	size_t len = 0;
	if (fd < 0)
		return vs_error_set(err, errno, "%s/%s: reading", dir, file);
	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vs_error_set(err, errno, "%s: reading", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	return 0;
}

static bool backoff(unsigned *attempt, unsigned limit)
{
	/* 0.1 ms doubling to 20 ms: quick for the common case of a few
	 * exiting processes, then 20 ms a step. */
	long ns = 100000L << (*attempt < 8 ? *attempt : 8);
	if (ns > 20000000L)
		ns = 20000000L;
	if (*attempt >= limit)
		return false;
	(*attempt)++;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ns };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return true;
}

bool vs_cgroup_backoff(unsigned *attempt)
{
	return backoff(attempt, 58); /* about one second in total */
}

bool vs_cgroup_freeze_backoff(unsigned *attempt)
{
	/* About five seconds: a task freezes only once it runs, which on a
	 * loaded host (a test suite on two cores) can take well over the
	 * second that is plenty otherwise. */
	return backoff(attempt, 258);
}

/* Whole /proc files: their size is not known in advance. */
int vs_cgroup_read_text(const char *path, char **out, struct vs_error *err)
{
	vs_autofclose FILE *f = fopen(path, "re");
	vs_autofree char *buf = NULL;
	size_t len = 0, cap = 0;
	if (!f)
		return vs_error_set(err, errno, "opening `%s`", path);
	for (;;) {
		if (cap - len < 4096) {
			char *grown = realloc(buf, cap + 16384);
			if (!grown)
				return vs_error_set(err, ENOMEM, "reading `%s`", path);
			buf = grown;
			cap += 16384;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		return vs_error_set(err, EIO, "reading `%s`", path);
	buf[len] = '\0';
	*out = vs_steal_ptr(&buf);
	return 0;
}

int vs_cgroup_check_page_size(const char *page_size, struct vs_error *err)
{
	size_t n = page_size ? strlen(page_size) : 0;
	if (n == 0 || n > 8)
		return vs_error_msg(err, "hugepageLimits: bad page size `%s`", page_size ? page_size : "");
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)page_size[i]))
			return vs_error_msg(err, "hugepageLimits: bad page size `%s`", page_size);
	return 0;
}

const char *vs_cgroup_dir_for(const struct vs_cgroup *cg, unsigned controller)
{
	for (size_t i = 0; i < cg->count; i++)
		if (cg->controllers[i] & controller)
			return cg->hier[i].dir;
	return NULL;
}
