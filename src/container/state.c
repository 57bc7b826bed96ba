#include "container/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/file.h"
#include "util/json.h"

int vs_state_check_id(const char *id, struct vs_error *err)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return vs_error_msg(err, "invalid container id `%s`", id);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.'))
			return vs_error_msg(err, "invalid container id `%s`: use letters, digits, _ + - .",
					    id);
	}
	return 0;
}

char *vs_state_dir(const char *root, const char *id)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", root, id) < 0)
		return NULL;
	return p;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int lock_dir(const char *dir, int *lock_fd, struct vs_error *err)
{
	struct stat st, now;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return vs_error_set(err, e, "locking `%s`", dir);
	}
	/* A concurrent delete may have removed it while we waited, or set
	 * it aside as a spare (vs_state_remove): the name must still lead
	 * to the directory we locked. */
	if (fstat(fd, &st) < 0 || st.st_nlink == 0 || stat(dir, &now) < 0 || now.st_ino != st.st_ino ||
	    now.st_dev != st.st_dev) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	*lock_fd = fd;
	return 0;
}

/* Spare state directories. On ext4 a new directory gets a block at once,
 * and removing it frees that block, which on a file system mounted with
 * `discard` (this root file system, which holds /run) waits for the
 * device: about 1-4 ms per container. So `delete` empties the directory
 * and renames it to a spare name, and `create` renames a spare to its id:
 * no block is allocated or freed. The names are not valid ids, so `list`
 * and the reaper never see them; at most VS_STATE_SPARES are kept, the
 * rest are removed. */
#define VS_STATE_SPARES 4

static void spare_path(char *buf, size_t len, const char *root, int k)
{
	snprintf(buf, len, "%s/~spare%d", root, k);
}

/* Rename a spare to `dir`: 0, or -1 with errno EEXIST (the id is taken)
 * or anything else (no spare to take: mkdir instead). */
static int take_spare(const char *root, const char *dir)
{
	char spare[4096];
	for (int k = 0; k < VS_STATE_SPARES; k++) {
		spare_path(spare, sizeof(spare), root, k);
		if (renameat2(AT_FDCWD, spare, AT_FDCWD, dir, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EEXIST || errno == ENOTEMPTY)
			return errno = EEXIST, -1;
		if (errno != ENOENT)
			break;
	}
	errno = ENOENT;
	return -1;
}

int vs_state_create_dir(const char *root, const char *id, int *lock_fd, struct vs_error *err)
{
	vs_autofree char *dir = vs_state_dir(root, id);
	int r;
	if (!dir)
		return vs_error_set(err, ENOMEM, "state directory");
	r = take_spare(root, dir);
	if (r < 0 && errno != EEXIST) {
		r = mkdir(dir, 0700);
		if (r < 0 && errno == ENOENT) { /* no state root yet */
			if (mkdir_p(root, 0700) < 0)
				return vs_error_set(err, errno, "creating state root `%s`", root);
			r = mkdir(dir, 0700);
		}
	}
	if (r < 0) {
		if (errno == EEXIST)
			return vs_error_msg(err, "container `%s` already exists", id);
		return vs_error_set(err, errno, "creating `%s`", dir);
	}
	if (lock_dir(dir, lock_fd, err) < 0) {
		rmdir(dir);
		if (!err->msg[0])
			vs_error_set(err, errno, "locking `%s`", dir);
		return -1;
	}
	return 0;
}

int vs_state_lock(const char *root, const char *id, int *lock_fd, struct vs_error *err)
{
	vs_autofree char *dir = NULL;
	if (vs_state_check_id(id, err) < 0)
		return -1;
	dir = vs_state_dir(root, id);
	if (!dir)
		return vs_error_set(err, ENOMEM, "state directory");
	vs_error_clear(err);
	if (lock_dir(dir, lock_fd, err) < 0) {
		if (errno == ENOENT && !err->msg[0])
			return vs_error_msg(err, "container `%s` does not exist", id);
		if (!err->msg[0])
			return vs_error_set(err, errno, "opening `%s`", dir);
		return -1;
	}
	return 0;
}

/* Write `text` to `tmp`, then put it in place of `final` atomically: a
 * reader sees the old file or the new one, never half of one. An existing
 * `final` is swapped out (RENAME_EXCHANGE) and then unlinked rather than
 * renamed over: on ext4, renaming over a file makes the new one allocate
 * its blocks at once (auto_da_alloc) so that the old one, when replaced or
 * unlinked later, frees blocks, which under the `discard` mount option
 * waits for the device (about 2 ms each here, twice per container).
 * Swapped, both files stay in delayed allocation and cost no I/O. */
static int replace_file(const char *tmp, const char *final, const char *text, size_t len, mode_t mode)
{
	vs_autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	struct stat st;
	if (fd < 0 || vs_write_all(fd, text, len) < 0)
		return -1;
	/* Only a regular file is swapped: exchange would move a directory
	 * (a mistyped --pid-file) aside where rename fails with EISDIR. */
	if (lstat(final, &st) == 0 && !S_ISREG(st.st_mode))
		return rename(tmp, final);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0)
		return unlink(tmp) < 0 && errno != ENOENT ? -1 : 0;
	/* ENOENT: no `final` yet; EINVAL: a file system without exchange. */
	if (errno != ENOENT && errno != EINVAL)
		return -1;
	return rename(tmp, final);
}

static void write_strmap(struct vs_json_writer *w, const char *key, const struct vs_strv *keys,
			 const struct vs_strv *values)
{
	vs_jw_key(w, key);
	vs_jw_object_begin(w);
	for (size_t i = 0; i < keys->count; i++)
		vs_jw_kv_string(w, keys->v[i], values->v[i]);
	vs_jw_object_end(w);
}

int vs_state_save(const char *dir, const struct vs_state *st, struct vs_error *err)
{
	struct vs_json_writer w;
	vs_autofree char *text = NULL;
	size_t len;
	char tmp[4096], final[4096];

	vs_jw_init(&w, 0);
	vs_jw_object_begin(&w);
	vs_jw_kv_string(&w, "ociVersion", st->oci_version);
	vs_jw_kv_string(&w, "id", st->id);
	vs_jw_kv_string(&w, "phase", st->phase);
	vs_jw_kv_int(&w, "pid", st->pid);
	vs_jw_kv_uint(&w, "pidStart", st->pid_start);
	vs_jw_kv_string(&w, "bundle", st->bundle);
	vs_jw_kv_string(&w, "rootfs", st->rootfs);
	vs_jw_kv_string(&w, "created", st->created);
	vs_jw_kv_uint(&w, "owner", st->owner);
	vs_jw_kv_string(&w, "cgroup", st->cgroup);
	if (st->runner) {
		vs_jw_kv_int(&w, "runner", st->runner);
		vs_jw_kv_uint(&w, "runnerStart", st->runner_start);
	}
	write_strmap(&w, "annotations", &st->annotation_keys, &st->annotation_values);
	vs_jw_object_end(&w);
	if (vs_jw_finish(&w, &text, &len, err) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/.state.json.tmp", dir);
	snprintf(final, sizeof(final), "%s/state.json", dir);
	if (replace_file(tmp, final, text, len, 0600) < 0)
		return vs_error_set(err, errno, "writing `%s`", final);
	return 0;
}

static char *dup_str(const struct vs_json *v)
{
	const char *s = vs_json_str(v);
	return s ? strdup(s) : NULL;
}

static int load_strmap(const struct vs_json *obj, struct vs_strv *keys, struct vs_strv *values)
{
	size_t n = vs_json_count(obj);
	if (!vs_json_is(obj, VS_JSON_OBJECT) || n == 0)
		return 0;
	keys->v = calloc(n + 1, sizeof(char *));
	values->v = calloc(n + 1, sizeof(char *));
	if (!keys->v || !values->v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct vs_json_member *m = &obj->obj.members[i];
		keys->v[i] = strdup(m->key);
		values->v[i] = dup_str(&m->value);
		if (!keys->v[i] || !values->v[i])
			return -1;
		keys->count = values->count = i + 1;
	}
	return 0;
}

int vs_state_load(const char *root, const char *id, struct vs_state *st, struct vs_error *err)
{
	vs_autofree char *dir = vs_state_dir(root, id);
	vs_autofree char *path = NULL;
	vs_autofree uint8_t *text = NULL;
	vs_auto_json_doc struct vs_json_doc *doc = NULL;
	const struct vs_json *r;
	size_t len;
	int64_t pid = 0;
	uint64_t u = 0;

	memset(st, 0, sizeof(*st));
	if (!dir || asprintf(&path, "%s/state.json", dir) < 0)
		return vs_error_set(err, ENOMEM, "state path");
	if (vs_read_file(path, "state", 1 << 20, &text, &len, err) < 0)
		return -1;
	if (vs_json_parse((const char *)text, len, NULL, &doc, err) < 0)
		return vs_error_prefix(err, "`%s`: ", path);
	r = vs_json_root(doc);
	st->id = dup_str(vs_json_get(r, "id"));
	st->oci_version = dup_str(vs_json_get(r, "ociVersion"));
	st->phase = dup_str(vs_json_get(r, "phase"));
	st->bundle = dup_str(vs_json_get(r, "bundle"));
	st->rootfs = dup_str(vs_json_get(r, "rootfs"));
	st->created = dup_str(vs_json_get(r, "created"));
	st->cgroup = dup_str(vs_json_get(r, "cgroup"));
	vs_json_get_int64(vs_json_get(r, "pid"), &pid);
	vs_json_get_uint64(vs_json_get(r, "pidStart"), &st->pid_start);
	vs_json_get_uint64(vs_json_get(r, "owner"), &u);
	st->pid = (pid_t)pid;
	pid = 0;
	vs_json_get_int64(vs_json_get(r, "runner"), &pid);
	st->runner = (pid_t)pid;
	vs_json_get_uint64(vs_json_get(r, "runnerStart"), &st->runner_start);
	st->owner = (uid_t)u;
	if (!st->id || !st->phase ||
	    load_strmap(vs_json_get(r, "annotations"), &st->annotation_keys, &st->annotation_values) < 0) {
		vs_state_free(st);
		return vs_error_msg(err, "`%s` is incomplete", path);
	}
	return 0;
}

void vs_state_free(struct vs_state *st)
{
	free(st->id);
	free(st->oci_version);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->phase);
	free(st->cgroup);
	vs_strv_free(&st->annotation_keys);
	vs_strv_free(&st->annotation_values);
	memset(st, 0, sizeof(*st));
}

int vs_state_remove(const char *root, const char *id, struct vs_error *err)
{
	vs_autofree char *dir = vs_state_dir(root, id);
	const char *files[] = { "state.json", ".state.json.tmp", "exec.fifo", "config.json" };
	char path[4096];
	if (!dir)
		return vs_error_set(err, ENOMEM, "state path");
	for (size_t i = 0; i < VS_ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) < 0 && errno != ENOENT)
			return vs_error_set(err, errno, "removing `%s`", path);
	}
	/* Kept as a spare when there is room (see take_spare). */
	for (int k = 0; k < VS_STATE_SPARES; k++) {
		spare_path(path, sizeof(path), root, k);
		if (renameat2(AT_FDCWD, dir, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST && errno != ENOTEMPTY)
			break;
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		return vs_error_set(err, errno, "removing `%s`", dir);
	return 0;
}

uint64_t vs_proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	char *p;
	ssize_t n;
	unsigned long long start = 0;
	vs_autoclose int fd = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may contain spaces and parentheses: fields start
	 * after the last ')'. State is field 3, start time field 22. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}

bool vs_state_init_alive(const struct vs_state *st)
{
	return st->pid > 0 && st->pid_start != 0 && vs_proc_start_time(st->pid) == st->pid_start;
}

const char *vs_state_status(const char *root, const struct vs_state *st, bool paused)
{
	char path[4096];
	struct stat sb;
	if (strcmp(st->phase, "creating") == 0)
		return vs_state_init_alive(st) ? "creating" : "stopped";
	if (!vs_state_init_alive(st))
		return "stopped";
	snprintf(path, sizeof(path), "%s/%s/exec.fifo", root, st->id);
	if (stat(path, &sb) == 0)
		return "created";
	return paused ? "paused" : "running";
}

char *vs_state_json(const char *oci_version, const char *id, const char *status, pid_t pid,
		    const char *bundle, const struct vs_strv *annotation_keys,
		    const struct vs_strv *annotation_values)
{
	struct vs_json_writer w;
	char *text = NULL;
	size_t len;
	vs_jw_init(&w, 0);
	vs_jw_object_begin(&w);
	vs_jw_kv_string(&w, "ociVersion", oci_version ? oci_version : VS_OCI_VERSION);
	vs_jw_kv_string(&w, "id", id);
	vs_jw_kv_string(&w, "status", status);
	if (pid > 0 && strcmp(status, "stopped") != 0)
		vs_jw_kv_int(&w, "pid", pid);
	vs_jw_kv_string(&w, "bundle", bundle);
	if (annotation_keys && annotation_keys->count)
		write_strmap(&w, "annotations", annotation_keys, annotation_values);
	vs_jw_object_end(&w);
	if (vs_jw_finish(&w, &text, &len, NULL) < 0)
		return NULL;
	return text;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vs_state_list(const char *root, char ***ids, size_t *count, struct vs_error *err)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, cap = 0;
	*ids = NULL;
	*count = 0;
	if (!d)
		return errno == ENOENT ? 0 : vs_error_set(err, errno, "listing `%s`", root);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || vs_state_check_id(e->d_name, NULL) < 0)
			continue;
		if (n + 1 >= cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nv = realloc(v, nc * sizeof(*nv));
			if (!nv)
				goto oom;
			v = nv;
			cap = nc;
		}
		if (!(v[n] = strdup(e->d_name)))
			goto oom;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ids = v;
	*count = n;
	return 0;
oom:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return vs_error_set(err, ENOMEM, "listing `%s`", root);
}

int vs_state_load_config(const char *root, const struct vs_state *st, struct vs_spec *spec,
			 struct vs_error *err)
{
	char path[PATH_MAX];
	vs_autofree uint8_t *text = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/%s/config.json", root, st->id);
	if (vs_read_file(path, "saved config", VS_CONFIG_MAX, &text, &len, err) < 0)
		return -1;
	return vs_spec_parse((const char *)text, len, st->bundle, spec, err);
}

int vs_write_pid_file(const char *path, pid_t pid, struct vs_error *err)
{
	char tmp[PATH_MAX], text[32];
	int n = snprintf(text, sizeof(text), "%d", (int)pid);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return vs_error_msg(err, "--pid-file `%s`: path too long", path);
	if (replace_file(tmp, path, text, (size_t)n, 0644) < 0) {
		int e = errno;
		unlink(tmp);
		return vs_error_set(err, e, "--pid-file `%s`", path);
	}
	return 0;
}
