#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

int vs_read_file(const char *path, const char *what, uint64_t max_len, uint8_t **out, size_t *out_len,
		 struct vs_error *err)
{
	vs_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	vs_autofree uint8_t *buf = NULL;
	struct stat st;
	size_t done = 0;
	if (fd < 0)
		return vs_error_set(err, errno, "cannot open %s `%s`", what, path);
	if (fstat(fd, &st) < 0)
		return vs_error_set(err, errno, "cannot stat %s `%s`", what, path);
	if (!S_ISREG(st.st_mode))
		return vs_error_msg(err, "%s `%s` is not a regular file", what, path);
	if ((uint64_t)st.st_size > max_len) {
		return vs_error_msg_code(err, EFBIG, "%s `%s` is %llu bytes, larger than the %llu-byte limit",
					 what, path, (unsigned long long)st.st_size,
					 (unsigned long long)max_len);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return vs_error_set(err, ENOMEM, "reading %s `%s`", what, path);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vs_error_set(err, errno, "reading %s `%s`", what, path);
		if (n == 0)
			return vs_error_msg(err, "%s `%s` shrank while being read", what, path);
		done += (size_t)n;
	}
	*out = vs_steal_ptr(&buf);
	*out_len = done;
	return 0;
}

int vs_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
