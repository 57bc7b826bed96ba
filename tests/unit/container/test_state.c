/* State files: the pid file (and state.json, written the same way) is
 * replaced atomically, and a path that is not a regular file is refused
 * without being moved. */
#include "container/state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

VS_TAP_MAIN(TAP_CASE(pid_file_replaced))
