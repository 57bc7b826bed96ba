/* The qcow2 driver through the block layer: data round trips for every
 * cluster size and refcount width, refcount-table growth, discard and
 * zeroing, backing files, the asynchronous (worker) path, the consistency
 * check, and refusal of bad headers. qemu-img interop is in
 * tests/integration/test_img.py. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../tap.h"
#include "block/block.h"
#include "block/qcow2/qcow2.h"
#include "util/cleanup.h"

static char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, sizeof(buf[0]), "/tmp/vessel-qcow2-%d-%s", (int)getpid(), name);
	return p;
}

static struct vs_block *open_rw(const char *path)
{
	struct vs_error err;
	struct vs_block *bs = NULL;
	struct vs_block_open_opts o = { .flags = VS_BLOCK_RDWR };
	if (vs_block_open(path, &o, &bs, &err) < 0)
		printf("#   open: %s\n", err.msg);
	return bs;
}

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off * 2654435761u) >> 13) | 1;
}

static bool check_clean(struct vs_block *bs)
{
	struct vs_block_check r;
	struct vs_error err;
	if (vs_block_check(bs, 0, &r, NULL, NULL, &err) < 0) {
		printf("#   check: %s\n", err.msg);
		return false;
	}
	if (r.corruptions || r.leaks)
		printf("#   check: %llu corruptions, %llu leaks\n", (unsigned long long)r.corruptions,
		       (unsigned long long)r.leaks);
	return !r.corruptions && !r.leaks;
}

TEST(round_trip_all_geometries)
{
	static const uint32_t sizes[] = { 512, 4096, 65536, 2u << 20 };
	static uint8_t buf[300000], back[300000];
	for (size_t si = 0; si < VS_ARRAY_SIZE(sizes); si++) {
		for (unsigned rb = 1; rb <= 64; rb *= 2) {
			const char *path = tmp_path("rt.qcow2");
			struct vs_error err;
			struct vs_block_create_opts co = { .size = 8 << 20,
							   .cluster_size = sizes[si],
							   .refcount_bits = rb };
			CHECK(vs_block_create(path, "qcow2", &co, &err) == 0);
			struct vs_block *bs = open_rw(path);
			CHECK(bs != NULL);
			if (!bs)
				continue;
			/* Unaligned writes across clusters, some overlapping. */
			uint64_t offs[] = { 0, 1000, 70000, 3 << 20, (8 << 20) - 300000, 1 << 20 };
			for (size_t k = 0; k < VS_ARRAY_SIZE(offs); k++) {
				for (size_t i = 0; i < sizeof(buf); i++)
					buf[i] = pattern(offs[k] + i + k);
				CHECK(vs_block_pwrite(bs, offs[k], buf, sizeof(buf)) == 0);
			}
			vs_block_close(bs);
			bs = open_rw(path);
			CHECK(bs != NULL);
			if (!bs)
				continue;
			size_t last = VS_ARRAY_SIZE(offs) - 1;
			CHECK(vs_block_pread(bs, offs[last], back, sizeof(back)) == 0);
			for (size_t i = 0; i < sizeof(back); i += 97)
				if (back[i] != pattern(offs[last] + i + last)) {
					printf("#   cs %u rb %u: byte %zu differs\n", sizes[si], rb, i);
					CHECK(0);
					break;
				}
			/* Never written: zeros. */
			CHECK(vs_block_pread(bs, 6 << 20, back, 4096) == 0);
			CHECK(back[0] == 0 && back[4095] == 0);
			CHECK(check_clean(bs));
			vs_block_close(bs);
			unlink(path);
		}
	}
}

TEST(refcount_entries_every_width)
{
	uint8_t block[512];
	for (unsigned order = 0; order <= 6; order++) {
		struct qcow2 s = { .refcount_order = order };
		uint64_t max = order == 6 ? UINT64_MAX : (1ull << (1u << order)) - 1;
		uint64_t n = 512 * 8 >> order;
		memset(block, 0, sizeof(block));
		for (uint64_t i = 0; i < n; i++)
			qcow2_put_refcount_entry(&s, block, i, (i * 7) & max);
		for (uint64_t i = 0; i < n; i++)
			CHECK_EQ_U64(qcow2_get_refcount_entry(&s, block, i), (i * 7) & max);
	}
	/* Sub-byte entries: bit 0 is the least significant. */
	struct qcow2 s1 = { .refcount_order = 0 };
	memset(block, 0, sizeof(block));
	qcow2_put_refcount_entry(&s1, block, 1, 1);
	CHECK_EQ_U64(block[0], 2);
}

TEST(refcount_table_growth)
{
	const char *path = tmp_path("grow.qcow2");
	struct vs_error err;
	/* 512-byte clusters with 64-bit refcounts: one table cluster covers
	 * only 2 MiB, so 6 MiB of data makes it grow more than once. */
	struct vs_block_create_opts co = { .size = 8 << 20, .cluster_size = 512, .refcount_bits = 64 };
	CHECK(vs_block_create(path, "qcow2", &co, &err) == 0);
	struct vs_block *bs = open_rw(path);
	if (!bs)
		return;
	static uint8_t buf[1 << 20];
	for (int i = 0; i < 6; i++) {
		memset(buf, i + 1, sizeof(buf));
		CHECK(vs_block_pwrite(bs, (uint64_t)i << 20, buf, sizeof(buf)) == 0);
	}
	struct qcow2 *s = bs->opaque;
	CHECK(s->rt_clusters > 1);
	CHECK(check_clean(bs));
	CHECK(vs_block_pread(bs, 5 << 20, buf, 512) == 0);
	CHECK(buf[0] == 6 && buf[511] == 6);
	vs_block_close(bs);
	unlink(path);
}

TEST(discard_and_write_zeroes)
{
	const char *path = tmp_path("dz.qcow2");
	struct vs_error err;
	struct vs_block_create_opts co = { .size = 4 << 20, .cluster_size = 4096 };
	CHECK(vs_block_create(path, "qcow2", &co, &err) == 0);
	struct vs_block *bs = open_rw(path);
	if (!bs)
		return;
	static uint8_t buf[1 << 20];
	memset(buf, 0xab, sizeof(buf));
	CHECK(vs_block_pwrite(bs, 0, buf, sizeof(buf)) == 0);
	CHECK(vs_block_write_zeroes(bs, 1000, 20000) == 0);
	CHECK(vs_block_discard(bs, 65536, 65536) == 0);
	CHECK(vs_block_pread(bs, 0, buf, sizeof(buf)) == 0);
	CHECK(buf[999] == 0xab && buf[1000] == 0 && buf[20999] == 0 && buf[21000] == 0xab);
	CHECK(buf[65536] == 0 && buf[131071] == 0 && buf[131072] == 0xab);
	struct vs_block_status st;
	uint64_t n;
	CHECK(vs_block_status(bs, 8192, 4096, &n, &st) == 0);
	CHECK(st.flags & VS_BLOCK_ZERO);
	CHECK(check_clean(bs));
	vs_block_close(bs);
	unlink(path);
}

TEST(backing_file_merge)
{
	const char *base = tmp_path("base.raw"), *top = tmp_path("top.qcow2");
	struct vs_error err;
	struct vs_block_create_opts bo = { .size = 1 << 20 };
	CHECK(vs_block_create(base, "raw", &bo, &err) == 0);
	struct vs_block *b = open_rw(base);
	if (!b)
		return;
	static uint8_t buf[1 << 20];
	memset(buf, 0x5a, sizeof(buf));
	CHECK(vs_block_pwrite(b, 0, buf, sizeof(buf)) == 0);
	vs_block_close(b);
	/* A larger top: past the backing file's end reads zeros. */
	struct vs_block_create_opts to = { .size = 2 << 20, .backing_file = base, .backing_fmt = "raw" };
	CHECK(vs_block_create(top, "qcow2", &to, &err) == 0);
	struct vs_block *bs = open_rw(top);
	if (!bs)
		return;
	CHECK(bs->backing != NULL);
	memset(buf, 0x11, 100);
	CHECK(vs_block_pwrite(bs, 70000, buf, 100) == 0);
	CHECK(vs_block_pread(bs, 0, buf, sizeof(buf)) == 0);
	CHECK(buf[69999] == 0x5a && buf[70000] == 0x11 && buf[70099] == 0x11 && buf[70100] == 0x5a);
	CHECK(vs_block_pread(bs, (1 << 20) - 10, buf, 20) == 0);
	CHECK(buf[9] == 0x5a && buf[10] == 0);
	struct vs_block_status st;
	uint64_t n;
	CHECK(vs_block_status(bs, 0, 65536, &n, &st) == 0);
	CHECK(st.depth == 1 && (st.flags & VS_BLOCK_ALLOCATED));
	CHECK(check_clean(bs));
	vs_block_close(bs);

	/* A loop through backing files is refused. */
	struct vs_block_create_opts lo = { .size = 1 << 20, .backing_file = top, .backing_fmt = "qcow2" };
	const char *loop = tmp_path("loop.qcow2");
	CHECK(vs_block_create(loop, "qcow2", &lo, &err) == 0);
	unlink(top);
	struct vs_block_create_opts back = { .size = 1 << 20, .backing_file = loop, .backing_fmt = "qcow2" };
	CHECK(vs_block_create(top, "qcow2", &back, &err) == 0);
	CHECK(vs_block_open(top, NULL, &bs, &err) < 0);
	CHECK(strstr(err.msg, "loop") != NULL);
	unlink(top);
	unlink(loop);
	unlink(base);
}

struct actx {
	int done, errors;
};

static void on_req(struct vs_block_req *req, int ret)
{
	struct actx *c = req->opaque;
	c->done++;
	c->errors += ret < 0;
}

TEST(async_through_workers)
{
	const char *path = tmp_path("async.qcow2");
	struct vs_error err;
	struct vs_block_create_opts co = { .size = 4 << 20 };
	CHECK(vs_block_create(path, "qcow2", &co, &err) == 0);
	struct vs_block *bs = open_rw(path);
	struct vs_aio *aio;
	if (!bs || vs_aio_create(VS_AIO_AUTO, 16, &aio, &err) < 0) {
		CHECK(0);
		return;
	}
	enum { N = 32 };
	static uint8_t data[N][4096], back[N][4096];
	static struct iovec iov[N][2], riov[N];
	static struct vs_block_req reqs[N];
	struct actx c = { 0 };
	for (int i = 0; i < N; i++) {
		memset(data[i], i + 1, 4096);
		iov[i][0] = (struct iovec){ data[i], 1000 };
		iov[i][1] = (struct iovec){ data[i] + 1000, 3096 };
		reqs[i] = (struct vs_block_req){ .op = VS_BLOCK_WRITE,
						 .offset = (uint64_t)i * 100000,
						 .iov = iov[i],
						 .iovcnt = 2,
						 .done = on_req,
						 .opaque = &c };
		CHECK(vs_block_submit(bs, aio, &reqs[i]) == 0);
	}
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	for (int i = 0; i < N; i++) {
		riov[i] = (struct iovec){ back[i], 4096 };
		reqs[i] = (struct vs_block_req){ .op = VS_BLOCK_READ,
						 .offset = (uint64_t)i * 100000,
						 .iov = &riov[i],
						 .iovcnt = 1,
						 .done = on_req,
						 .opaque = &c };
		CHECK(vs_block_submit(bs, aio, &reqs[i]) == 0);
	}
	struct vs_block_req fl = { .op = VS_BLOCK_FLUSH, .done = on_req, .opaque = &c };
	CHECK(vs_block_submit(bs, aio, &fl) == 0);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK_EQ_U64(c.done, 2 * N + 1);
	CHECK_EQ_U64(c.errors, 0);
	for (int i = 0; i < N; i++)
		CHECK(memcmp(back[i], data[i], 4096) == 0);
	CHECK(check_clean(bs));
	vs_aio_destroy(aio);
	vs_block_close(bs);
	unlink(path);
}

static int open_patched(const char *path, uint64_t off, const void *bytes, size_t len, unsigned flags,
			struct vs_error *err)
{
	int fd = open(path, O_RDWR);
	if (fd < 0 || pwrite(fd, bytes, len, (off_t)off) != (ssize_t)len)
		return -2;
	close(fd);
	struct vs_block *bs;
	struct vs_block_open_opts o = { .format = "qcow2", .flags = flags };
	if (vs_block_open(path, &o, &bs, err) < 0)
		return -1;
	vs_block_close(bs);
	return 0;
}

TEST(bad_headers_refused)
{
	static const struct {
		uint64_t off;
		uint8_t bytes[8];
		size_t len;
		const char *word;
	} cases[] = {
		{ 0, { 'Q', 'F', 'I', 0 }, 4, "magic" },
		{ 4, { 0, 0, 0, 4 }, 4, "version" },
		{ 20, { 0, 0, 0, 8 }, 4, "cluster_bits" },
		{ 40, { 0, 0, 0, 1, 0, 0, 0, 0 }, 8, "L1 table" },
		{ 48, { 0, 0, 0, 0, 0, 0, 0x10, 0 }, 8, "refcount table" },
		{ 72, { 0, 0, 0, 0, 0, 0, 1, 0 }, 8, "feature" },
		{ 96, { 0, 0, 0, 7 }, 4, "refcount_order" },
		{ 32, { 0, 0, 0, 2 }, 4, "encrypted" },
	};
	for (size_t i = 0; i < VS_ARRAY_SIZE(cases); i++) {
		const char *path = tmp_path("bad.qcow2");
		struct vs_error err = { 0 };
		struct vs_block_create_opts co = { .size = 1 << 20 };
		CHECK(vs_block_create(path, "qcow2", &co, &err) == 0);
		int r = open_patched(path, cases[i].off, cases[i].bytes, cases[i].len, 0, &err);
		CHECK(r == -1);
		if (r == -1 && !strstr(err.msg, cases[i].word)) {
			printf("#   case %zu: `%s` does not name `%s`\n", i, err.msg, cases[i].word);
			CHECK(0);
		}
		unlink(path);
	}
	/* The corrupt bit: read-only opens work, read-write ones do not. */
	const char *path = tmp_path("corrupt.qcow2");
	struct vs_error err = { 0 };
	struct vs_block_create_opts co = { .size = 1 << 20 };
	CHECK(vs_block_create(path, "qcow2", &co, &err) == 0);
	uint8_t corrupt[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };
	CHECK(open_patched(path, 72, corrupt, 8, 0, &err) == 0);
	CHECK(open_patched(path, 72, corrupt, 8, VS_BLOCK_RDWR, &err) == -1);
	CHECK(strstr(err.msg, "corrupt") != NULL);
	unlink(path);
}

/* cache=none: the image opened with O_DIRECT, written at unaligned offsets,
 * lengths and addresses (bounced) and aligned ones (straight through the
 * engine), read back with and without O_DIRECT. tmpfs refuses O_DIRECT:
 * the file lives in /var/tmp. */
static void direct_round_trip(int *failed_, uint32_t cluster_size, bool extl2)
{
	enum { SIZE = 8 << 20 };
	char path[256];
	snprintf(path, sizeof(path), "/var/tmp/vessel-qcow2-direct-%d.qcow2", (int)getpid());
	struct vs_error err;
	struct vs_block_create_opts co = { .size = SIZE, .cluster_size = cluster_size, .extended_l2 = extl2 };
	if (vs_block_create(path, "qcow2", &co, &err) < 0) {
		SKIP("/var/tmp: cannot create an image there");
		return;
	}
	struct vs_block *bs = NULL;
	struct vs_block_open_opts o = { .flags = VS_BLOCK_RDWR | VS_BLOCK_DIRECT };
	if (vs_block_open(path, &o, &bs, &err) < 0) {
		unlink(path);
		if (err.code == EINVAL)
			SKIP("the file system of /var/tmp refuses O_DIRECT");
		else
			CHECK(0);
		return;
	}
	CHECK(fcntl(bs->fd, F_GETFL) & O_DIRECT);
	CHECK(bs->direct_align >= 512 && bs->direct_align <= 4096);
	static uint8_t model[SIZE], buf[300001], back[SIZE];
	/* Synchronous path: odd offsets, lengths and buffer addresses. */
	static const uint64_t offs[] = { 0, 1000, 70001, 3 << 20, SIZE - 300000, 1 << 20, 511 };
	for (size_t k = 0; k < VS_ARRAY_SIZE(offs); k++) {
		size_t len = k == VS_ARRAY_SIZE(offs) - 1 ? 3 : 300000 - k;
		for (size_t i = 0; i < len; i++)
			buf[1 + i] = model[offs[k] + i] = pattern(offs[k] + i + k);
		CHECK(vs_block_pwrite(bs, offs[k], buf + 1, len) == 0);
	}
	/* Asynchronous path: aligned requests (io_uring at the host offset
	 * once allocated) and a scattered unaligned one. */
	struct vs_aio *aio;
	CHECK(vs_aio_create(VS_AIO_AUTO, 16, &aio, &err) == 0);
	uint8_t *al = NULL;
	CHECK(posix_memalign((void **)&al, 4096, 3 * 65536) == 0);
	struct actx c = { 0 };
	for (int pass = 0; pass < 2; pass++) {
		uint64_t off = (5 << 20) + (uint64_t)pass * 65536;
		for (size_t i = 0; i < 65536; i++)
			al[i] = model[off + i] = (uint8_t)(i * 7 + pass + 1);
		struct iovec iov = { al, 65536 };
		struct vs_block_req req = { .op = VS_BLOCK_WRITE,
					    .offset = off,
					    .iov = &iov,
					    .iovcnt = 1,
					    .done = on_req,
					    .opaque = &c };
		CHECK(vs_block_submit(bs, aio, &req) == 0);
		while (vs_aio_inflight(aio))
			vs_aio_wait(aio);
		/* Overwrite in place (allocated now): the fast path. */
		for (size_t i = 0; i < 4096; i++)
			al[65536 + i] = model[off + 4096 + i] = (uint8_t)(i + 3);
		struct iovec iov2 = { al + 65536, 4096 };
		req = (struct vs_block_req){ .op = VS_BLOCK_WRITE,
					     .offset = off + 4096,
					     .iov = &iov2,
					     .iovcnt = 1,
					     .done = on_req,
					     .opaque = &c };
		CHECK(vs_block_submit(bs, aio, &req) == 0);
		while (vs_aio_inflight(aio))
			vs_aio_wait(aio);
	}
	struct iovec sc[2] = { { buf + 3, 700 }, { buf + 1000, 1348 } };
	memcpy(model + (6 << 20) + 77, buf + 3, 700);
	memcpy(model + (6 << 20) + 777, buf + 1000, 1348);
	struct vs_block_req req = { .op = VS_BLOCK_WRITE,
				    .offset = (6 << 20) + 77,
				    .iov = sc,
				    .iovcnt = 2,
				    .done = on_req,
				    .opaque = &c };
	CHECK(vs_block_submit(bs, aio, &req) == 0);
	struct vs_block_req fl = { .op = VS_BLOCK_FLUSH, .done = on_req, .opaque = &c };
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK(vs_block_submit(bs, aio, &fl) == 0);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	/* Read back through O_DIRECT: aligned (fast path) and not. */
	struct iovec riov = { al + 2 * 65536, 65536 };
	req = (struct vs_block_req){ .op = VS_BLOCK_READ,
				     .offset = 5 << 20,
				     .iov = &riov,
				     .iovcnt = 1,
				     .done = on_req,
				     .opaque = &c };
	CHECK(vs_block_submit(bs, aio, &req) == 0);
	while (vs_aio_inflight(aio))
		vs_aio_wait(aio);
	CHECK(memcmp(al + 2 * 65536, model + (5 << 20), 65536) == 0);
	CHECK_EQ_U64(c.errors, 0);
	CHECK(vs_block_pread(bs, 999, back + 1, 70001) == 0);
	CHECK(memcmp(back + 1, model + 999, 70001) == 0);
	CHECK(check_clean(bs));
	vs_aio_destroy(aio);
	free(al);
	vs_block_close(bs);
	/* And through the page cache, all of it. */
	bs = open_rw(path);
	CHECK(bs != NULL);
	if (bs) {
		CHECK(vs_block_pread(bs, 0, back, SIZE) == 0);
		for (size_t i = 0; i < SIZE; i++)
			if (back[i] != model[i]) {
				printf("#   cs %u: byte %zu is %u, not %u\n", cluster_size, i, back[i],
				       model[i]);
				CHECK(0);
				break;
			}
		CHECK(check_clean(bs));
		vs_block_close(bs);
	}
	unlink(path);
}

TEST(direct_io)
{
	direct_round_trip(failed_, 65536, false);
	direct_round_trip(failed_, 512, false);
	direct_round_trip(failed_, 65536, true);
}

VS_TAP_MAIN(TAP_CASE(round_trip_all_geometries), TAP_CASE(refcount_entries_every_width),
	    TAP_CASE(refcount_table_growth), TAP_CASE(discard_and_write_zeroes), TAP_CASE(backing_file_merge),
	    TAP_CASE(async_through_workers), TAP_CASE(bad_headers_refused), TAP_CASE(direct_io))
