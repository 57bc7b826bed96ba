/* The raw driver: the image is the file (or block device) itself. Its data
 * path goes straight to the engine (io_uring); holes are found with
 * SEEK_DATA/SEEK_HOLE and made with fallocate. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "util/cleanup.h"

static int raw_probe(const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return 1; /* anything is a raw image, as a last resort */
}

static int fd_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int raw_open(struct vs_block *bs, int fd, const struct vs_block_open_opts *o, struct vs_error *err)
{
	(void)o;
	int r = fd_size(fd, &bs->size);
	if (r < 0)
		return vs_error_set(err, -r, "`%s`: size", bs->filename);
	return 0;
}

static void raw_close(struct vs_block *bs)
{
	(void)bs;
}

static int raw_read(struct vs_block *bs, uint64_t off, void *buf, size_t len)
{
	int64_t n = vs_block_file_read(bs, off, buf, len);
	if (n < 0)
		return (int)n;
	memset((char *)buf + n, 0, len - (size_t)n); /* file shorter than the image */
	return 0;
}

static int raw_write(struct vs_block *bs, uint64_t off, const void *buf, size_t len)
{
	return vs_block_file_write(bs, off, buf, len);
}

static int raw_flush(struct vs_block *bs)
{
	return fdatasync(bs->fd) < 0 ? -errno : 0;
}

static int raw_discard(struct vs_block *bs, uint64_t off, uint64_t len)
{
	/* Discard is advisory: a file system without hole punching keeps
	 * the data, which is allowed. */
	if (fallocate(bs->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	return 0;
}

static int raw_write_zeroes(struct vs_block *bs, uint64_t off, uint64_t len)
{
	static const char zeros[65536];
	if (fallocate(bs->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (fallocate(bs->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int r = raw_write(bs, off, zeros, n);
		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static void raw_get_info(struct vs_block *bs, struct vs_block_info *info)
{
	(void)bs;
	(void)info;
}

static int raw_block_status(struct vs_block *bs, uint64_t off, uint64_t len, uint64_t *pnum,
			    struct vs_block_status *st)
{
	off_t data = lseek(bs->fd, (off_t)off, SEEK_DATA);
	st->flags = VS_BLOCK_ALLOCATED | VS_BLOCK_OFFSET_VALID;
	st->host_offset = off;
	if (data < 0 && errno == ENXIO) {
		/* Past the last data: a hole to the end. */
		st->flags |= VS_BLOCK_ZERO;
		*pnum = len;
		return 0;
	}
	if (data < 0) {
		/* No SEEK_DATA: report everything as data. */
		st->flags |= VS_BLOCK_DATA;
		*pnum = len;
		return 0;
	}
	if ((uint64_t)data > off) {
		st->flags |= VS_BLOCK_ZERO;
		*pnum = (uint64_t)data - off < len ? (uint64_t)data - off : len;
		return 0;
	}
	off_t hole = lseek(bs->fd, (off_t)off, SEEK_HOLE);
	st->flags |= VS_BLOCK_DATA;
	*pnum = hole < 0 || (uint64_t)hole - off > len ? len : (uint64_t)hole - off;
	if (*pnum == 0)
		*pnum = len;
	return 0;
}

static int raw_resize(struct vs_block *bs, uint64_t new_size, struct vs_error *err)
{
	if (ftruncate(bs->fd, (off_t)new_size) < 0)
		return vs_error_set(err, errno, "resize `%s`", bs->filename);
	bs->size = new_size;
	return 0;
}

static int raw_create(const char *path, const struct vs_block_create_opts *o, struct vs_error *err)
{
	if (o->backing_file)
		return vs_error_msg(err, "raw images have no backing file");
	if (o->prealloc == VS_PREALLOC_METADATA)
		return vs_error_msg(
		    err, "preallocation=metadata is not supported by raw images (off, falloc, full)");
	vs_autoclose int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return vs_error_set(err, errno, "open `%s`", path);
	if (ftruncate(fd, (off_t)o->size) < 0)
		return vs_error_set(err, errno, "size `%s`", path);
	if (o->prealloc == VS_PREALLOC_FALLOC && o->size) {
		int r = posix_fallocate(fd, 0, (off_t)o->size);
		if (r)
			return vs_error_set(err, r, "preallocate `%s`", path);
	} else if (o->prealloc == VS_PREALLOC_FULL) {
		static const char zeros[65536];
		for (uint64_t off = 0; off < o->size; off += sizeof(zeros)) {
			size_t n = o->size - off < sizeof(zeros) ? (size_t)(o->size - off) : sizeof(zeros);
			if (pwrite(fd, zeros, n, (off_t)off) != (ssize_t)n)
				return vs_error_set(err, errno ? errno : EIO, "write `%s`", path);
		}
	}
	if (fsync(fd) < 0)
		return vs_error_set(err, errno, "sync `%s`", path);
	return 0;
}

static int raw_submit(struct vs_block *bs, struct vs_aio *aio, struct vs_aio_req *areq, int op, uint64_t off,
		      const struct iovec *iov, int iovcnt)
{
	if (bs->direct_align && (op == VS_BLOCK_READ || op == VS_BLOCK_WRITE)) {
		/* O_DIRECT: misaligned requests are bounced on a worker. */
		uint64_t m = off;
		for (int i = 0; i < iovcnt; i++)
			m |= (uintptr_t)iov[i].iov_base | iov[i].iov_len;
		if (m & (bs->direct_align - 1))
			return -ENOTSUP;
	}
	switch (op) {
	case VS_BLOCK_READ:
		areq->op = VS_AIO_READ;
		break;
	case VS_BLOCK_WRITE:
		areq->op = VS_AIO_WRITE;
		areq->inline_ok = bs->page_cache;
		break;
	case VS_BLOCK_FLUSH:
		areq->op = VS_AIO_FSYNC;
		break;
	default:
		return -ENOTSUP; /* fallocate runs on a worker */
	}
	areq->fd = bs->fd;
	areq->offset = off;
	areq->iov = iov;
	areq->iovcnt = iovcnt;
	vs_aio_submit(aio, areq);
	return 0;
}

const struct vs_block_driver_ops vs_block_raw = {
	.name = "raw",
	.probe = raw_probe,
	.create = raw_create,
	.open = raw_open,
	.close = raw_close,
	.read = raw_read,
	.write = raw_write,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.get_info = raw_get_info,
	.block_status = raw_block_status,
	.resize = raw_resize,
	.submit = raw_submit,
};
