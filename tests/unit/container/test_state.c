/* State files: the pid file (and state.json, written the same way) is
 * replaced atomically, and a path that is not a regular file is refused
 * without being moved. State directories: delete keeps a few emptied ones
 * as spares for the next create, invisible to list and to the lock. */
#include "container/state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"

static const char *slurp(const char *path)
{
	static char buf[64];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return fd < 0 ? "<missing>" : buf;
}

TEST(pid_file_replaced)
{
	char tmpl[] = "/tmp/vessel-state-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char path[256], tmp[300], sub[300];
	struct vs_error err = { 0 };
	struct stat st;
	if (!dir)
		SKIP("no scratch directory");
	snprintf(path, sizeof(path), "%s/pid", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(vs_write_pid_file(path, 1234, &err) == 0); /* new */
	CHECK_STREQ(slurp(path), "1234");
	CHECK(vs_write_pid_file(path, 56, &err) == 0); /* over an existing one */
	CHECK_STREQ(slurp(path), "56");
	CHECK(access(tmp, F_OK) < 0); /* the old content is gone */
	unlink(path);

	/* A directory where the pid file should go: an error, and the
	 * directory stays where it was. */
	CHECK(mkdir(path, 0700) == 0);
	CHECK(vs_write_pid_file(path, 7, &err) < 0);
	CHECK(strstr(err.msg, "--pid-file") != NULL);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(access(tmp, F_OK) < 0);
	snprintf(sub, sizeof(sub), "%s", path);
	rmdir(sub);
	rmdir(dir);
}

static ino_t inode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void put_file(const char *dir, const char *name)
{
	char path[512];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

/* The state of a process: 'S' once it sleeps (here: in flock). */
static char proc_state(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

TEST(spare_dirs_reused)
{
	char tmpl[] = "/tmp/vessel-state-XXXXXX";
	char *top = mkdtemp(tmpl);
	char root[256], a[300], spare[300], name[32];
	struct vs_error err = { 0 };
	char **ids = NULL;
	size_t n = 99;
	int lock = -1, status = 0;
	ino_t ino;
	pid_t child;
	if (!top)
		SKIP("no scratch directory");
	snprintf(root, sizeof(root), "%s/root", top); /* made by the first create */
	snprintf(a, sizeof(a), "%s/a", root);
	snprintf(spare, sizeof(spare), "%s/~spare0", root);
	CHECK(vs_state_create_dir(root, "a", &lock, &err) == 0);
	ino = inode_of(a);
	put_file(a, "state.json");
	put_file(a, "config.json");

	/* Someone waits for the lock while the container is deleted: once it
	 * has it, the directory is a spare, and the container gone. */
	child = fork();
	if (child == 0) {
		int l = -1;
		struct vs_error e = { 0 };
		close(lock); /* the parent's: the same open file, the same flock */
		_exit(vs_state_lock(root, "a", &l, &e) == 0 ? 0 : strstr(e.msg, "does not exist") ? 1 : 2);
	}
	for (int i = 0; i < 500 && proc_state(child) != 'S'; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	CHECK(vs_state_remove(root, "a", &err) == 0);
	close(lock);
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(access(a, F_OK) < 0);
	CHECK(inode_of(spare) == ino); /* emptied and set aside */
	CHECK(vs_state_list(root, &ids, &n, &err) == 0 && n == 0);
	free(ids);

	/* The next create takes it. */
	CHECK(vs_state_create_dir(root, "b", &lock, &err) == 0);
	close(lock);
	snprintf(a, sizeof(a), "%s/b", root);
	CHECK(inode_of(a) == ino);
	CHECK(access(spare, F_OK) < 0);
	/* An id that is taken stays taken, the spare untouched. */
	CHECK(vs_state_create_dir(root, "c", &lock, &err) == 0);
	close(lock);
	CHECK(vs_state_remove(root, "c", &err) == 0);
	CHECK(access(spare, F_OK) == 0);
	CHECK(vs_state_create_dir(root, "b", &lock, &err) < 0);
	CHECK(strstr(err.msg, "already exists") != NULL);
	CHECK(access(spare, F_OK) == 0);

	/* Six deleted at once: four spares are kept, the rest removed. */
	CHECK(vs_state_remove(root, "b", &err) == 0);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		CHECK(vs_state_create_dir(root, name, &lock, &err) == 0);
		close(lock);
	}
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		CHECK(vs_state_remove(root, name, &err) == 0);
	}
	for (int k = 0; k < 6; k++) {
		snprintf(spare, sizeof(spare), "%s/~spare%d", root, k);
		CHECK((access(spare, F_OK) == 0) == (k < 4));
		rmdir(spare);
	}
	CHECK(rmdir(root) == 0); /* nothing else left */
	rmdir(top);
}

VS_TAP_MAIN(TAP_CASE(pid_file_replaced), TAP_CASE(spare_dirs_reused))
