#include "block/block.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

static const struct vs_block_driver_ops *const drivers[] = { &vs_block_qcow2, &vs_block_raw };

const struct vs_block_driver_ops *vs_block_driver(const char *name)
{
	for (size_t i = 0; i < VS_ARRAY_SIZE(drivers); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

static const struct vs_block_driver_ops *probe(int fd)
{
	uint8_t buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	const struct vs_block_driver_ops *best = &vs_block_raw;
	int best_score = 0;
	if (n <= 0)
		return best;
	for (size_t i = 0; i < VS_ARRAY_SIZE(drivers); i++) {
		int s = drivers[i]->probe ? drivers[i]->probe(buf, (size_t)n) : 0;
		if (s > best_score) {
			best_score = s;
			best = drivers[i];
		}
	}
	return best;
}

/* The alignment O_DIRECT wants for the file: statx's answer when the
 * kernel gives one, else the file system's block size (a safe multiple),
 * within 512..4096. */
static unsigned direct_alignment(int fd)
{
	unsigned a = 0;
#ifdef STATX_DIOALIGN
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN))
		a = sx.stx_dio_offset_align > sx.stx_dio_mem_align ? sx.stx_dio_offset_align
								   : sx.stx_dio_mem_align;
#endif
	if (!a) {
		struct stat st;
		a = fstat(fd, &st) == 0 && st.st_blksize > 0 ? (unsigned)st.st_blksize : 4096;
	}
	if (a < 512)
		a = 512;
	if (a > 4096 || (a & (a - 1)))
		a = 4096;
	return a;
}

/* O_DIRECT is set after the driver opened the image, so probing and the
 * driver's own reads at open need no aligned buffers. */
static int set_direct(struct vs_block *bs, struct vs_error *err)
{
	int fl;
	if ((fl = fcntl(bs->fd, F_GETFL)) < 0 || fcntl(bs->fd, F_SETFL, fl | O_DIRECT) < 0)
		return vs_error_set(
		    err, errno, "`%s`: its file system refuses O_DIRECT (cache=none); use cache=writeback",
		    bs->filename);
	bs->direct_align = direct_alignment(bs->fd);
	return 0;
}

int vs_block_open(const char *path, const struct vs_block_open_opts *o, struct vs_block **out,
		  struct vs_error *err)
{
	static const struct vs_block_open_opts defaults = { 0 };
	const struct vs_block_driver_ops *drv;
	struct stat st;
	if (!o)
		o = &defaults;
	if (o->depth >= VS_BLOCK_MAX_CHAIN)
		return vs_error_msg(err, "`%s`: backing chain deeper than %d images", path,
				    VS_BLOCK_MAX_CHAIN);
	bool rw = o->flags & VS_BLOCK_RDWR;
	vs_autoclose int fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return vs_error_set(err, errno, "open `%s`", path);
	if (fstat(fd, &st) < 0)
		return vs_error_set(err, errno, "stat `%s`", path);
	for (const struct vs_block_chain *c = o->chain; c; c = c->next)
		if (c->dev == st.st_dev && c->ino == st.st_ino)
			return vs_error_msg(err, "`%s`: backing chain loops back to an image already in it",
					    path);
	if (o->format) {
		drv = vs_block_driver(o->format);
		if (!drv)
			return vs_error_msg(err, "`%s`: unknown image format `%s` (raw, qcow2)", path,
					    o->format);
	} else {
		drv = probe(fd);
	}
	struct vs_block *bs = calloc(1, sizeof(*bs));
	if (!bs)
		return vs_error_set(err, ENOMEM, "open `%s`", path);
	bs->drv = drv;
	bs->fd = fd; /* drivers use it; owned here until the open succeeds */
	bs->read_only = !rw;
	bs->filename = strdup(path);
	pthread_mutex_init(&bs->lock, NULL);
	vs_throttle_init(&bs->throttle, 0, 0, 0, 0);
	struct vs_block_chain self = { .dev = st.st_dev, .ino = st.st_ino, .next = o->chain };
	struct vs_block_open_opts child = *o;
	child.chain = &self;
	if (!bs->filename || drv->open(bs, fd, &child, err) < 0) {
		if (!bs->filename)
			vs_error_set(err, ENOMEM, "open `%s`", path);
		pthread_mutex_destroy(&bs->lock);
		free(bs->filename);
		free(bs);
		return -1;
	}
	vs_steal_fd(&fd);
	if ((o->flags & VS_BLOCK_DIRECT) && set_direct(bs, err) < 0) {
		vs_block_close(bs);
		return -1;
	}
	bs->page_cache = S_ISREG(st.st_mode) && !(o->flags & VS_BLOCK_DIRECT);
	*out = bs;
	return 0;
}

void vs_block_close(struct vs_block *bs)
{
	if (!bs)
		return;
	bs->drv->close(bs);
	vs_block_close(bs->backing);
	if (bs->fd >= 0)
		close(bs->fd);
	pthread_mutex_destroy(&bs->lock);
	free(bs->filename);
	free(bs);
}

int vs_block_create(const char *path, const char *format, const struct vs_block_create_opts *o,
		    struct vs_error *err)
{
	const struct vs_block_driver_ops *drv = vs_block_driver(format ? format : "raw");
	char tmp[PATH_MAX];
	struct stat st;
	if (!drv || !drv->create)
		return vs_error_msg(err, "unknown image format `%s` (raw, qcow2)", format);
	/* Devices and other special files are written in place. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return drv->create(path, o, err);
	if (snprintf(tmp, sizeof(tmp), "%s.vessel-tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return vs_error_msg(err, "`%s`: path too long", path);
	if (drv->create(tmp, o, err) < 0) {
		unlink(tmp);
		return vs_error_prefix(err, "create `%s`: ", path);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return vs_error_set(err, e, "create `%s`: rename", path);
	}
	return 0;
}

/* Whole transfers at `off`: reads stop early only at the end of the file
 * (the bytes read are returned). */
static int64_t read_full(int fd, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int64_t)done;
}

static int write_full(int fd, uint64_t off, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Under O_DIRECT, whether a transfer needs to go through an aligned bounce
 * buffer (offset, length or address off the file's alignment). */
static bool misaligned(const struct vs_block *bs, uint64_t off, const void *buf, size_t len)
{
	uint64_t a = bs->direct_align;
	return a && ((off | len | (uintptr_t)buf) & (a - 1));
}

/* The aligned span [*lo, *hi) around [off, off + len), in a fresh aligned
 * buffer. */
static uint8_t *bounce_span(const struct vs_block *bs, uint64_t off, size_t len, uint64_t *lo, uint64_t *hi)
{
	uint64_t a = bs->direct_align;
	void *b = NULL;
	*lo = off & ~(a - 1);
	*hi = (off + len + a - 1) & ~(a - 1);
	return posix_memalign(&b, a, *hi - *lo) == 0 ? b : NULL;
}

int64_t vs_block_file_read(struct vs_block *bs, uint64_t off, void *buf, size_t len)
{
	if (!misaligned(bs, off, buf, len))
		return read_full(bs->fd, off, buf, len);
	uint64_t lo, hi;
	uint8_t *b = bounce_span(bs, off, len, &lo, &hi);
	if (!b)
		return -ENOMEM;
	int64_t n = read_full(bs->fd, lo, b, hi - lo);
	if (n >= 0) {
		/* The bytes of [off, off + len) that lie before the end. */
		n = (uint64_t)n > off - lo ? n - (int64_t)(off - lo) : 0;
		if ((uint64_t)n > len)
			n = (int64_t)len;
		memcpy(buf, b + (off - lo), (size_t)n);
	}
	free(b);
	return n;
}

/* Read-modify-write of the aligned blocks a misaligned write touches (the
 * part past the end of the file reads as zeros). Callers serialize writes
 * to the image (its lock); a concurrent aligned write into the same block
 * would have to overlap this one, which leaves the result undefined
 * anyway. */
int vs_block_file_write(struct vs_block *bs, uint64_t off, const void *buf, size_t len)
{
	if (!misaligned(bs, off, buf, len))
		return write_full(bs->fd, off, buf, len);
	uint64_t a = bs->direct_align, lo, hi;
	uint8_t *b = bounce_span(bs, off, len, &lo, &hi);
	int r = 0;
	if (!b)
		return -ENOMEM;
	for (int edge = 0; edge < 2 && r == 0; edge++) {
		uint64_t at = edge ? hi - a : lo;
		/* Skipped when the write covers the block, or the tail block
		 * is the head block, already read. */
		if (edge ? (off + len == hi || (hi - a == lo && off != lo)) : off == lo)
			continue;
		int64_t n = read_full(bs->fd, at, b + (at - lo), a);
		if (n < 0)
			r = (int)n;
		else
			memset(b + (at - lo) + n, 0, a - (uint64_t)n);
	}
	if (r == 0) {
		memcpy(b + (off - lo), buf, len);
		r = write_full(bs->fd, lo, b, hi - lo);
	}
	free(b);
	return r;
}

static int check_range(struct vs_block *bs, uint64_t off, uint64_t len)
{
	if (off > bs->size || len > bs->size - off)
		return -EINVAL;
	return 0;
}

int vs_block_pread(struct vs_block *bs, uint64_t off, void *buf, size_t len)
{
	/* Backing files may be shorter than the image on top: zeros there. */
	if (off >= bs->size) {
		memset(buf, 0, len);
		return 0;
	}
	if (len > bs->size - off) {
		size_t in = (size_t)(bs->size - off);
		memset((char *)buf + in, 0, len - in);
		len = in;
	}
	pthread_mutex_lock(&bs->lock);
	int r = bs->drv->read(bs, off, buf, len);
	pthread_mutex_unlock(&bs->lock);
	return r;
}

#define LOCKED_OP(expr)                          \
	do {                                     \
		pthread_mutex_lock(&bs->lock);   \
		int r_ = (expr);                 \
		pthread_mutex_unlock(&bs->lock); \
		return r_;                       \
	} while (0)

int vs_block_pwrite(struct vs_block *bs, uint64_t off, const void *buf, size_t len)
{
	if (bs->read_only)
		return -EROFS;
	if (check_range(bs, off, len) < 0)
		return -EINVAL;
	LOCKED_OP(bs->drv->write(bs, off, buf, len));
}

int vs_block_pwrite_compressed(struct vs_block *bs, uint64_t off, const void *buf, size_t len)
{
	if (bs->read_only)
		return -EROFS;
	if (!bs->drv->write_compressed)
		return -ENOTSUP;
	if (check_range(bs, off, len) < 0)
		return -EINVAL;
	LOCKED_OP(bs->drv->write_compressed(bs, off, buf, len));
}

int vs_block_flush(struct vs_block *bs)
{
	if (bs->read_only)
		return 0;
	LOCKED_OP(bs->drv->flush(bs));
}

int vs_block_discard(struct vs_block *bs, uint64_t off, uint64_t len)
{
	if (bs->read_only)
		return -EROFS;
	if (check_range(bs, off, len) < 0)
		return -EINVAL;
	LOCKED_OP(bs->drv->discard(bs, off, len));
}

int vs_block_write_zeroes(struct vs_block *bs, uint64_t off, uint64_t len)
{
	if (bs->read_only)
		return -EROFS;
	if (check_range(bs, off, len) < 0)
		return -EINVAL;
	LOCKED_OP(bs->drv->write_zeroes(bs, off, len));
}

int vs_block_status(struct vs_block *bs, uint64_t off, uint64_t len, uint64_t *pnum,
		    struct vs_block_status *st)
{
	if (check_range(bs, off, len) < 0 || len == 0)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	LOCKED_OP(bs->drv->block_status(bs, off, len, pnum, st));
}

void vs_block_get_info(struct vs_block *bs, struct vs_block_info *info)
{
	struct stat st;
	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&bs->lock);
	bs->drv->get_info(bs, info);
	pthread_mutex_unlock(&bs->lock);
	info->format = bs->drv->name;
	info->virtual_size = bs->size;
	if (fstat(bs->fd, &st) == 0)
		info->actual_size = (uint64_t)st.st_blocks * 512;
}

int vs_block_resize(struct vs_block *bs, uint64_t new_size, struct vs_error *err)
{
	if (bs->read_only)
		return vs_error_msg(err, "`%s` is open read-only", bs->filename);
	if (!bs->drv->resize)
		return vs_error_msg(err, "%s images cannot be resized", bs->drv->name);
	pthread_mutex_lock(&bs->lock);
	int r = bs->drv->resize(bs, new_size, err);
	pthread_mutex_unlock(&bs->lock);
	return r;
}

int vs_block_check(struct vs_block *bs, unsigned fix, struct vs_block_check *res, vs_block_report_fn report,
		   void *ctx, struct vs_error *err)
{
	memset(res, 0, sizeof(*res));
	if (!bs->drv->check)
		return vs_error_msg(err, "%s images have no consistency check", bs->drv->name);
	if (fix && bs->read_only)
		return vs_error_msg(err, "`%s` is open read-only: cannot repair", bs->filename);
	pthread_mutex_lock(&bs->lock);
	int r = bs->drv->check(bs, fix, res, report, ctx, err);
	pthread_mutex_unlock(&bs->lock);
	return r;
}

int vs_block_make_empty(struct vs_block *bs)
{
	if (bs->read_only)
		return -EROFS;
	if (!bs->drv->make_empty)
		return -ENOTSUP;
	LOCKED_OP(bs->drv->make_empty(bs));
}

int vs_block_set_backing(struct vs_block *bs, const char *file, const char *fmt, struct vs_error *err)
{
	if (bs->read_only)
		return vs_error_msg(err, "`%s` is open read-only", bs->filename);
	if (!bs->drv->set_backing)
		return vs_error_msg(err, "%s images have no backing file", bs->drv->name);
	pthread_mutex_lock(&bs->lock);
	int r = bs->drv->set_backing(bs, file, fmt, err);
	pthread_mutex_unlock(&bs->lock);
	return r;
}

static int no_snapshots(struct vs_block *bs, struct vs_error *err)
{
	return vs_error_msg(err, "%s images have no internal snapshots", bs->drv->name);
}

int vs_block_snapshot_list(struct vs_block *bs, struct vs_block_snapshot **out, unsigned *n,
			   struct vs_error *err)
{
	if (!bs->drv->snapshot_list)
		return no_snapshots(bs, err);
	pthread_mutex_lock(&bs->lock);
	int r = bs->drv->snapshot_list(bs, out, n);
	pthread_mutex_unlock(&bs->lock);
	return r < 0 ? vs_error_set(err, -r, "list snapshots") : 0;
}

#define SNAPSHOT_OP(op)                                                                   \
	do {                                                                              \
		if (!bs->drv->op)                                                         \
			return no_snapshots(bs, err);                                     \
		if (bs->read_only)                                                        \
			return vs_error_msg(err, "`%s` is open read-only", bs->filename); \
		pthread_mutex_lock(&bs->lock);                                            \
		int r_ = bs->drv->op(bs, name, err);                                      \
		pthread_mutex_unlock(&bs->lock);                                          \
		return r_;                                                                \
	} while (0)

int vs_block_snapshot_create(struct vs_block *bs, const char *name, struct vs_error *err)
{
	SNAPSHOT_OP(snapshot_create);
}

int vs_block_snapshot_apply(struct vs_block *bs, const char *name, struct vs_error *err)
{
	SNAPSHOT_OP(snapshot_apply);
}

int vs_block_snapshot_delete(struct vs_block *bs, const char *name, struct vs_error *err)
{
	SNAPSHOT_OP(snapshot_delete);
}

/* ---- asynchronous path ---- */

void vs_block_set_throttle(struct vs_block *bs, uint64_t bps, uint64_t bps_burst, uint64_t iops,
			   uint64_t iops_burst)
{
	vs_throttle_init(&bs->throttle, bps, bps_burst, iops, iops_burst);
}

static size_t iov_len(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

static void copy_from_iov(void *dst, const struct iovec *iov, int n)
{
	char *p = dst;
	for (int i = 0; i < n; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
}

static void copy_to_iov(const struct iovec *iov, int n, const void *src)
{
	const char *p = src;
	for (int i = 0; i < n; i++) {
		memcpy(iov[i].iov_base, p, iov[i].iov_len);
		p += iov[i].iov_len;
	}
}

/* Worker side of the synchronous fallback. */
static int run_on_worker(void *arg)
{
	struct vs_block_req *req = arg;
	struct vs_block *bs = req->bs_;
	switch (req->op) {
	case VS_BLOCK_READ:
		return vs_block_pread(bs, req->offset, req->data_, req->bytes_);
	case VS_BLOCK_WRITE:
		return vs_block_pwrite(bs, req->offset, req->data_, req->bytes_);
	case VS_BLOCK_FLUSH:
		return vs_block_flush(bs);
	case VS_BLOCK_DISCARD:
		return vs_block_discard(bs, req->offset, req->len);
	case VS_BLOCK_WRITE_ZEROES:
		return vs_block_write_zeroes(bs, req->offset, req->len);
	}
	return -EINVAL;
}

void vs_block_aio_done(struct vs_aio_req *areq)
{
	struct vs_block_req *req = areq->opaque;
	int ret = areq->res < 0 ? (int)areq->res : 0;
	if (req->op == VS_BLOCK_READ && req->bounce_ && ret == 0)
		copy_to_iov(req->iov, req->iovcnt, req->bounce_);
	free(req->bounce_);
	req->bounce_ = NULL;
	req->done(req, ret);
}

static int enomem_call(void *arg)
{
	(void)arg;
	return -ENOMEM;
}

static void dispatch(struct vs_block *bs, struct vs_aio *aio, struct vs_block_req *req)
{
	struct vs_aio_req *a = &req->aio_;
	memset(a, 0, sizeof(*a));
	a->done = vs_block_aio_done;
	a->opaque = req;
	if (bs->drv->submit && bs->drv->submit(bs, aio, a, req->op, req->offset, req->iov, req->iovcnt) == 0)
		return;
	a->op = VS_AIO_CALL;
	a->call = run_on_worker;
	a->call_arg = req;
	/* A lone write (a qcow2 allocation: table updates in memory, data
	 * into the page cache) runs in this thread; not over a backing file,
	 * whose reads for the cluster's edges may wait for a disk. */
	a->inline_ok = req->op == VS_BLOCK_WRITE && bs->page_cache && !bs->backing;
	req->data_ = req->iovcnt == 1 ? req->iov[0].iov_base : NULL;
	if ((req->op == VS_BLOCK_READ || req->op == VS_BLOCK_WRITE) && req->bytes_ && req->iovcnt > 1) {
		/* Scattered buffers go through one bounce buffer. */
		req->bounce_ = req->data_ = malloc(req->bytes_);
		/* Without memory the request still completes (with the error)
		 * through the engine, so `done` runs from vs_aio_poll(). */
		if (!req->bounce_)
			a->call = enomem_call;
		else if (req->op == VS_BLOCK_WRITE)
			copy_from_iov(req->bounce_, req->iov, req->iovcnt);
	}
	vs_aio_submit(aio, a);
}

int vs_block_submit(struct vs_block *bs, struct vs_aio *aio, struct vs_block_req *req)
{
	req->bs_ = bs;
	req->bounce_ = NULL;
	req->next_ = NULL;
	req->bytes_ = 0;
	switch (req->op) {
	case VS_BLOCK_READ:
	case VS_BLOCK_WRITE:
		req->bytes_ = iov_len(req->iov, req->iovcnt);
		if (check_range(bs, req->offset, req->bytes_) < 0)
			return -EINVAL;
		if (req->op == VS_BLOCK_WRITE && bs->read_only)
			return -EROFS;
		break;
	case VS_BLOCK_DISCARD:
	case VS_BLOCK_WRITE_ZEROES:
		if (check_range(bs, req->offset, req->len) < 0)
			return -EINVAL;
		if (bs->read_only)
			return -EROFS;
		break;
	case VS_BLOCK_FLUSH:
		break;
	default:
		return -EINVAL;
	}
	if (vs_throttle_enabled(&bs->throttle) || bs->throttled_head) {
		if (bs->throttled_tail)
			bs->throttled_tail->next_ = req;
		else
			bs->throttled_head = req;
		bs->throttled_tail = req;
		vs_block_run_throttled(bs, aio);
		return 0;
	}
	dispatch(bs, aio, req);
	return 0;
}

uint64_t vs_block_run_throttled(struct vs_block *bs, struct vs_aio *aio)
{
	while (bs->throttled_head) {
		struct vs_block_req *req = bs->throttled_head;
		uint64_t w = vs_throttle_admit(&bs->throttle, req->bytes_, vs_now_ns());
		if (w)
			return w;
		bs->throttled_head = req->next_;
		if (!bs->throttled_head)
			bs->throttled_tail = NULL;
		dispatch(bs, aio, req);
	}
	return 0;
}

void vs_block_cancel_throttled(struct vs_block *bs, struct vs_aio *aio)
{
	struct vs_block_req *req;
	while ((req = bs->throttled_head)) {
		bs->throttled_head = req->next_;
		memset(&req->aio_, 0, sizeof(req->aio_));
		req->aio_.done = vs_block_aio_done;
		req->aio_.opaque = req;
		vs_aio_complete_now(aio, &req->aio_, -ECANCELED);
	}
	bs->throttled_tail = NULL;
}
