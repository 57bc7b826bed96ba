/* The raw-file block backend: preadv/pwritev on the file, fdatasync for a
 * flush, fallocate for discard and write-zeroes. */
#include "devices/virtio/blk_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/falloc.h>

#include "util/cleanup.h"

#define RAW_MAX_IOV 1024 /* the kernel's UIO_MAXIOV */

struct raw {
	int fd;
};

static uint64_t iov_total(const struct iovec *iov, int n)
{
	uint64_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Short transfers are continued; past the end of the file reads zeros. */
static int raw_rw(struct raw *r, const struct iovec *iov_in, int n, uint64_t off, bool write)
{
	struct iovec iov[RAW_MAX_IOV];
	uint64_t left = iov_total(iov_in, n);
	int cnt = n;
	if (n > (int)VS_ARRAY_SIZE(iov))
		return -EINVAL;
	for (int i = 0; i < n; i++)
		iov[i] = iov_in[i];
	struct iovec *p = iov;
	while (left > 0) {
		ssize_t got = write ? pwritev(r->fd, p, cnt, (off_t)off) : preadv(r->fd, p, cnt, (off_t)off);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0) {
			if (write)
				return -EIO;
			for (int i = 0; i < cnt; i++)
				memset(p[i].iov_base, 0, p[i].iov_len);
			return 0;
		}
		left -= (uint64_t)got;
		off += (uint64_t)got;
		while (got > 0 && cnt > 0) {
			if ((size_t)got >= p->iov_len) {
				got -= (ssize_t)p->iov_len;
				p++;
				cnt--;
			} else {
				p->iov_base = (uint8_t *)p->iov_base + got;
				p->iov_len -= (size_t)got;
				got = 0;
			}
		}
	}
	return 0;
}

static int raw_readv(void *opaque, const struct iovec *iov, int n, uint64_t off)
{
	return raw_rw(opaque, iov, n, off, false);
}

static int raw_writev(void *opaque, const struct iovec *iov, int n, uint64_t off)
{
	return raw_rw(opaque, iov, n, off, true);
}

static int raw_flush(void *opaque)
{
	struct raw *r = opaque;
	return fdatasync(r->fd) < 0 ? -errno : 0;
}

static int raw_discard(void *opaque, uint64_t off, uint64_t len)
{
	struct raw *r = opaque;
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return errno == EOPNOTSUPP ? 0 : -errno; /* discard is a hint */
	return 0;
}

static int raw_write_zeroes(void *opaque, uint64_t off, uint64_t len)
{
	struct raw *r = opaque;
	static const uint8_t zeros[65536];
	if (fallocate(r->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	while (len > 0) {
		struct iovec iov = { (void *)zeros, len < sizeof(zeros) ? len : sizeof(zeros) };
		int rc = raw_rw(r, &iov, 1, off, true);
		if (rc < 0)
			return rc;
		off += iov.iov_len;
		len -= iov.iov_len;
	}
	return 0;
}

static void raw_close(void *opaque)
{
	struct raw *r = opaque;
	close(r->fd);
	free(r);
}

static const struct vs_blk_backend_ops raw_ops = {
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
};

int vs_blk_raw_open(const char *path, bool readonly, struct vs_blk_backend *out, struct vs_error *err)
{
	struct raw *r;
	struct stat st;
	off_t end;
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return vs_error_set(err, errno, "opening disk `%s`", path);
	if (fstat(fd, &st) < 0 || (end = lseek(fd, 0, SEEK_END)) < 0) {
		vs_error_set(err, errno, "disk `%s`", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return vs_error_msg(err, "disk `%s` is neither a file nor a block device", path);
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return vs_error_set(err, ENOMEM, "disk `%s`", path);
	}
	r->fd = fd;
	*out = (struct vs_blk_backend){ &raw_ops, r, (uint64_t)end, readonly };
	return 0;
}
