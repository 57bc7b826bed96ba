/* virtio-blk on the block layer, driven as a guest driver does: reads,
 * writes that reach the image (raw and qcow2), flush, GET_ID, discard and
 * write-zeroes, the error statuses for what a driver must not ask, many
 * requests in flight at once, throttle delays that hold requests without
 * holding the I/O thread, flushes answered after the writes before them,
 * cache=none with unaligned guest buffers, and a reset with requests in
 * flight. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "devices/virtio/blk.h"
#include "tap.h"
#include "virtio_driver.h"

#define SLOT 2
#define HDR VD_DATA
#define DATA (VD_DATA + 0x1000)
#define STATUS (VD_DATA + 0x8000)
#define BATCH (VD_DATA + 0x100000) /* data of batched requests, up to 4 MiB */
#define DISK_SECTORS 2048

struct disk_opts {
	const char *format; /* NULL: raw, probed */
	bool readonly, direct;
	unsigned int queues;
	uint64_t bps, iops;
	uint64_t sectors;
};

struct fixture {
	struct vdrv d;
	struct vs_device dev;
	char path[64];
	unsigned int queues; /* the device's */
	int q;		     /* where request() submits */
};

/* A disk whose sector s is filled with the byte s. */
static int make_disk(const char *path, const char *format, uint64_t sectors)
{
	struct vs_error err = { 0 };
	struct vs_block_create_opts co = { .size = sectors * 512 };
	struct vs_block_open_opts oo = { .format = format, .flags = VS_BLOCK_RDWR };
	struct vs_block *bs;
	uint8_t sector[512];
	int r = 0;
	if (vs_block_create(path, format, &co, &err) < 0 || vs_block_open(path, &oo, &bs, &err) < 0) {
		printf("# disk: %s\n", err.msg);
		return -1;
	}
	for (uint64_t s = 0; s < sectors && r == 0; s++) {
		memset(sector, (uint8_t)s, sizeof(sector));
		r = vs_block_pwrite(bs, s * 512, sector, sizeof(sector));
	}
	vs_block_close(bs);
	return r;
}

/* Bytes of the image as the block layer reads them (either format). */
static int disk_read(const struct fixture *f, uint64_t off, void *buf, size_t len)
{
	struct vs_error err = { 0 };
	struct vs_block *bs;
	if (vs_block_open(f->path, NULL, &bs, &err) < 0)
		return -1;
	int r = vs_block_pread(bs, off, buf, len);
	vs_block_close(bs);
	return r;
}

static int setup_opts(struct fixture *f, const struct disk_opts *o)
{
	struct vs_error err = { 0 };
	struct vs_virtio_config env;
	struct vs_virtio_blk_config bc = {
		.path = f->path,
		.format = o->format,
		.readonly = o->readonly,
		.direct = o->direct,
		.bps = o->bps,
		.iops = o->iops,
		.queues = o->queues ? o->queues : 1,
		.id = "vessel-test",
	};
	int fd;
	f->queues = bc.queues;
	f->q = 0;
	strcpy(f->path, "/tmp/vessel-blk-XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0)
		return -1;
	close(fd);
	if (make_disk(f->path, o->format ? o->format : "raw", o->sectors ? o->sectors : DISK_SECTORS) < 0 ||
	    vd_board(&f->d, false) < 0)
		return -1;
	env = vd_env(&f->d, SLOT);
	if (vs_virtio_blk_create(&env, &bc, &f->dev, &err) < 0) {
		printf("# blk: %s\n", err.msg);
		return -1;
	}
	return vd_start(&f->d, SLOT, ~0ull, (int)f->queues, true) & VS_VIRTIO_S_DRIVER_OK ? 0 : -1;
}

static int setup(struct fixture *f, bool readonly)
{
	return setup_opts(f, &(struct disk_opts){ .readonly = readonly });
}

static void teardown(struct fixture *f)
{
	vd_release(&f->d, &f->dev);
	unlink(f->path);
}

static void put_header(struct fixture *f, uint64_t at, uint32_t type, uint64_t sector)
{
	uint8_t hdr[16] = { 0 };
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	vs_gpa_write(&f->d.mem, at, hdr, sizeof(hdr));
}

/* One request: header, data segments of `len` at DATA (split in two when
 * longer than a sector), status. Returns the status byte, or -1 when
 * unanswered. */
static int request(struct fixture *f, uint32_t type, uint64_t sector, uint32_t len, bool device_writes,
		   int64_t *used)
{
	uint8_t status = 0xee;
	struct vd_seg segs[4];
	int n = 0;
	put_header(f, HDR, type, sector);
	vs_gpa_write(&f->d.mem, STATUS, &status, 1);
	segs[n++] = (struct vd_seg){ HDR, 16, false };
	if (len > 512) {
		segs[n++] = (struct vd_seg){ DATA, 512, device_writes };
		segs[n++] = (struct vd_seg){ DATA + 512, len - 512, device_writes };
	} else if (len) {
		segs[n++] = (struct vd_seg){ DATA, len, device_writes };
	}
	segs[n++] = (struct vd_seg){ STATUS, 1, true };
	vd_submit(&f->d, f->q, segs, n);
	*used = vd_wait_used(&f->d, f->q);
	vs_gpa_read(&f->d.mem, STATUS, &status, 1);
	return *used < 0 ? -1 : status;
}

/* Request number `i` of a batch: its own header, data and status areas
 * (data `len` bytes at DATA + i * stride). Not notified. */
static uint16_t add_request(struct fixture *f, int q, int i, uint32_t type, uint64_t sector, uint32_t len,
			    uint64_t stride)
{
	uint64_t hdr = HDR + 16ull * (uint64_t)i, status = STATUS + (uint64_t)i;
	uint8_t s = 0xee;
	struct vd_seg segs[3];
	int n = 0;
	put_header(f, hdr, type, sector);
	vs_gpa_write(&f->d.mem, status, &s, 1);
	segs[n++] = (struct vd_seg){ hdr, 16, false };
	if (len)
		segs[n++] = (struct vd_seg){ BATCH + stride * (uint64_t)i, len, type == 0 || type == 8 };
	segs[n++] = (struct vd_seg){ status, 1, true };
	return vd_add(&f->d, q, segs, n);
}

static uint8_t status_of(struct fixture *f, int i)
{
	uint8_t s;
	vs_gpa_read(&f->d.mem, STATUS + (uint64_t)i, &s, 1);
	return s;
}

static uint8_t *data(struct fixture *f)
{
	return vs_gpa_ptr(&f->d.mem, DATA, 0x4000);
}

static uint8_t *batch(struct fixture *f)
{
	return vs_gpa_ptr(&f->d.mem, BATCH, 4 << 20);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(config_space)
{
	struct fixture f;
	CHECK(setup(&f, false) == 0);
	CHECK_EQ_U64(vd_read(&f.d, VS_VIRTIO_BAR_DEVICE, 8), DISK_SECTORS);
	CHECK_EQ_U64(vd_read(&f.d, VS_VIRTIO_BAR_DEVICE + 20, 4), 512);
	CHECK_EQ_U64(vd_read(&f.d, VS_VIRTIO_BAR_DEVICE + 12, 4), 254);
	vd_write(&f.d, VS_VIRTIO_COMMON_DFSELECT, 0, 4);
	CHECK(vd_read(&f.d, VS_VIRTIO_COMMON_DF, 4) & (1u << 9));    /* flush */
	CHECK(!(vd_read(&f.d, VS_VIRTIO_COMMON_DF, 4) & (1u << 5))); /* not read-only */
	CHECK(vd_read(&f.d, VS_VIRTIO_COMMON_DF, 4) & (1u << 13));   /* discard */
	CHECK(vd_read(&f.d, VS_VIRTIO_COMMON_DF, 4) & (1u << 14));   /* write zeroes */
	teardown(&f);
}

static void read_write_flush(int *failed_, const char *format)
{
	struct fixture f;
	int64_t used;
	uint8_t back[1024];
	CHECK(setup_opts(&f, &(struct disk_opts){ .format = format }) == 0);
	CHECK_EQ_U64(request(&f, 0, 7, 1024, true, &used), 0);
	CHECK_EQ_U64(used, 1025);
	CHECK(data(&f)[0] == 7 && data(&f)[511] == 7 && data(&f)[512] == 8 && data(&f)[1023] == 8);
	memset(data(&f), 0xab, 1024);
	CHECK_EQ_U64(request(&f, 1, 100, 1024, false, &used), 0);
	CHECK_EQ_U64(used, 1);
	CHECK_EQ_U64(request(&f, 4, 0, 0, false, &used), 0);
	CHECK(disk_read(&f, 100 * 512, back, sizeof(back)) == 0);
	CHECK(back[0] == 0xab && back[1023] == 0xab);
	CHECK(disk_read(&f, 102 * 512, back, 1) == 0 && back[0] == 102);
	/* Reads see the write, through the device too. */
	CHECK_EQ_U64(request(&f, 0, 101, 512, true, &used), 0);
	CHECK(data(&f)[0] == 0xab && data(&f)[511] == 0xab);
	teardown(&f);
}

TEST(read_write_flush_raw)
{
	read_write_flush(failed_, NULL);
}

TEST(read_write_flush_qcow2)
{
	read_write_flush(failed_, "qcow2");
}

TEST(errors)
{
	struct fixture f;
	int64_t used;
	CHECK(setup(&f, false) == 0);
	CHECK_EQ_U64(request(&f, 0, DISK_SECTORS - 1, 1024, true, &used), 1); /* past the end */
	CHECK_EQ_U64(request(&f, 0, UINT64_MAX, 512, true, &used), 1);
	CHECK_EQ_U64(request(&f, 0, 0, 100, true, &used), 1);  /* not whole sectors */
	CHECK_EQ_U64(request(&f, 99, 0, 512, true, &used), 2); /* unknown type */
	CHECK_EQ_U64(request(&f, 0, 0, 512, true, &used), 0);  /* and the queue still works */
	teardown(&f);
}

TEST(get_id)
{
	struct fixture f;
	int64_t used;
	CHECK(setup(&f, false) == 0);
	CHECK_EQ_U64(request(&f, 8, 0, 20, true, &used), 0);
	CHECK_EQ_U64(used, 21);
	CHECK(memcmp(data(&f), "vessel-test\0", 12) == 0);
	teardown(&f);
}

TEST(read_only)
{
	struct fixture f;
	int64_t used;
	uint8_t back = 0;
	CHECK(setup(&f, true) == 0);
	vd_write(&f.d, VS_VIRTIO_COMMON_DFSELECT, 0, 4);
	CHECK(vd_read(&f.d, VS_VIRTIO_COMMON_DF, 4) & (1u << 5));
	memset(data(&f), 0xcd, 512);
	CHECK_EQ_U64(request(&f, 1, 3, 512, false, &used), 1);
	CHECK(disk_read(&f, 3 * 512, &back, 1) == 0 && back == 3);
	CHECK_EQ_U64(request(&f, 0, 3, 512, true, &used), 0);
	teardown(&f);
}

static bool zeros(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int range_request(struct fixture *f, uint32_t type, uint64_t sector, uint32_t count)
{
	uint8_t range[16] = { 0 };
	int64_t used;
	memcpy(range, &sector, 8);
	memcpy(range + 8, &count, 4);
	vs_gpa_write(&f->d.mem, DATA, range, 16);
	return request(f, type, 0, 16, false, &used);
}

static void write_zeroes_and_discard(int *failed_, const char *format)
{
	struct fixture f;
	uint8_t back[4096];
	CHECK(setup_opts(&f, &(struct disk_opts){ .format = format }) == 0);
	CHECK_EQ_U64(range_request(&f, 13, 16, 8), 0);
	CHECK(disk_read(&f, 16 * 512, back, 4096) == 0 && zeros(back, 4096));
	CHECK(disk_read(&f, 24 * 512, back, 1) == 0 && back[0] == 24);
	CHECK_EQ_U64(range_request(&f, 11, 256, 128), 0);
	CHECK(disk_read(&f, 256 * 512, back, 4096) == 0 && zeros(back, 4096)); /* holes punched */
	CHECK_EQ_U64(range_request(&f, 13, DISK_SECTORS - 4, 8), 1);	       /* past the end */
	CHECK_EQ_U64(range_request(&f, 13, 40, 0), 0);			       /* empty */
	CHECK(disk_read(&f, 40 * 512, back, 1) == 0 && back[0] == 40);
	teardown(&f);
}

TEST(write_zeroes_and_discard_raw)
{
	write_zeroes_and_discard(failed_, NULL);
}

TEST(write_zeroes_and_discard_qcow2)
{
	write_zeroes_and_discard(failed_, "qcow2");
}

TEST(multiple_queues)
{
	struct fixture f;
	int64_t used;
	CHECK(setup_opts(&f, &(struct disk_opts){ .queues = 3 }) == 0);
	vd_write(&f.d, VS_VIRTIO_COMMON_DFSELECT, 0, 4);
	CHECK(vd_read(&f.d, VS_VIRTIO_COMMON_DF, 4) & (1u << 12)); /* MQ */
	CHECK_EQ_U64(vd_read(&f.d, VS_VIRTIO_COMMON_NUMQ, 2), 3);
	CHECK_EQ_U64(vd_read(&f.d, VS_VIRTIO_BAR_DEVICE + 34, 2), 3);
	for (int q = 2; q >= 0; q--) {
		f.q = q;
		CHECK_EQ_U64(request(&f, 0, (uint64_t)(10 + q), 512, true, &used), 0);
		CHECK_EQ_U64(data(&f)[0], 10 + q);
	}
	teardown(&f);
}

/* Sixteen reads in flight at once over four queues, on qcow2. */
TEST(many_in_flight)
{
	struct fixture f;
	CHECK(setup_opts(&f, &(struct disk_opts){ .format = "qcow2", .queues = 4 }) == 0);
	for (int q = 0; q < 4; q++)
		for (int j = 0; j < 4; j++)
			add_request(&f, q, q * 4 + j, 0, (uint64_t)(q * 4 + j) * 9, 4096, 4096);
	for (int q = 0; q < 4; q++)
		vd_notify(&f.d, q);
	for (int q = 0; q < 4; q++)
		for (int j = 0; j < 4; j++)
			CHECK_EQ_U64(vd_wait_used(&f.d, q), 4097);
	for (int i = 0; i < 16; i++) {
		CHECK_EQ_U64(status_of(&f, i), 0);
		CHECK_EQ_U64(batch(&f)[4096 * i], (uint8_t)(i * 9));
		CHECK_EQ_U64(batch(&f)[4096 * i + 4095], (uint8_t)(i * 9 + 7));
	}
	teardown(&f);
}

/* 128 MiB of writes in flight over four queues, twice the data a disk
 * takes at once: chains wait in their rings and are all answered (the
 * queues left waiting are resumed by completions, not by the guest). */
TEST(data_budget)
{
	struct fixture f;
	CHECK(setup_opts(&f, &(struct disk_opts){ .queues = 4, .sectors = 16384 }) == 0);
	for (int q = 0; q < 4; q++)
		for (int j = 0; j < 4; j++)
			add_request(&f, q, q * 4 + j, 1, 0, 8 << 20, 0);
	for (int q = 0; q < 4; q++)
		vd_notify(&f.d, q);
	for (int q = 0; q < 4; q++)
		for (int j = 0; j < 4; j++)
			CHECK_EQ_U64(vd_wait_used(&f.d, q), 1);
	for (int i = 0; i < 16; i++)
		CHECK_EQ_U64(status_of(&f, i), 0);
	teardown(&f);
}

/* iops=4: four reads go at once, four more wait about a second; a
 * request that needs no I/O (GET_ID, on another queue) is answered while
 * they wait, so the I/O thread is not the one waiting. */
TEST(throttle_iops)
{
	struct fixture f;
	double t0;
	CHECK(setup_opts(&f, &(struct disk_opts){ .iops = 4, .queues = 3 }) == 0);
	t0 = now_s();
	for (int q = 0; q < 2; q++)
		for (int j = 0; j < 4; j++)
			add_request(&f, q, q * 4 + j, 0, (uint64_t)(q * 4 + j), 512, 512);
	vd_notify(&f.d, 0);
	vd_notify(&f.d, 1);
	add_request(&f, 2, 8, 8, 0, 20, 512);
	vd_notify(&f.d, 2);
	CHECK_EQ_U64(vd_wait_used(&f.d, 2), 21);
	CHECK_EQ_U64(status_of(&f, 8), 0);
	/* Answered while reads are still held back. */
	CHECK(vd_used_count(&f.d, 0) + vd_used_count(&f.d, 1) < 8);
	for (int q = 0; q < 2; q++)
		for (int j = 0; j < 4; j++)
			CHECK_EQ_U64(vd_wait_used(&f.d, q), 513);
	CHECK(now_s() - t0 >= 0.8); /* a lower bound only: the host may be slow */
	for (int i = 0; i < 8; i++)
		CHECK_EQ_U64(status_of(&f, i), 0);
	teardown(&f);
}

/* bps=256K: 512 KiB of reads take at least about a second. */
TEST(throttle_bps)
{
	struct fixture f;
	double t0;
	CHECK(setup_opts(&f, &(struct disk_opts){ .bps = 256 * 1024 }) == 0);
	t0 = now_s();
	for (int i = 0; i < 4; i++)
		add_request(&f, 0, i, 0, (uint64_t)i * 256, 128 * 1024, 128 * 1024);
	vd_notify(&f.d, 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_U64(vd_wait_used(&f.d, 0), 128 * 1024 + 1);
	CHECK(now_s() - t0 >= 0.8);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_U64(batch(&f)[128 * 1024 * i], (uint8_t)(i * 256));
	teardown(&f);
}

/* Three 1 MiB writes and a flush in one notification, on the worker-thread
 * engine where they run side by side, with O_DIRECT so that the writes
 * take the time and a flush alone would have nothing to do: the flush is
 * answered after every write sent before it, each time. */
TEST(flush_after_earlier_writes)
{
	struct fixture f;
	setenv("VESSEL_AIO", "threads", 1);
	int rc = setup_opts(&f, &(struct disk_opts){ .sectors = 8192, .direct = true });
	unsetenv("VESSEL_AIO");
	CHECK(rc == 0);
	for (int round = 0; round < 20; round++) {
		uint16_t flush, id;
		bool flush_last = true;
		for (int i = 0; i < 3; i++) {
			memset(batch(&f) + (1 << 20) * (size_t)i, round + i, 1 << 20);
			add_request(&f, 0, i, 1, (uint64_t)i * 2048, 1 << 20, 1 << 20);
		}
		flush = add_request(&f, 0, 3, 4, 0, 0, 0);
		vd_notify(&f.d, 0);
		for (int i = 0; i < 4; i++) {
			CHECK(vd_wait_used_id(&f.d, 0, &id) >= 0);
			if (id == flush && i != 3)
				flush_last = false;
		}
		CHECK(flush_last);
		for (int i = 0; i < 4; i++)
			CHECK_EQ_U64(status_of(&f, i), 0);
	}
	teardown(&f);
}

/* A driver without VIRTIO_BLK_F_FLUSH gets writes that are flushed
 * before they are answered: they still work, and read back. */
TEST(write_through_without_flush_feature)
{
	struct fixture f;
	int64_t used;
	uint8_t back[512];
	CHECK(setup(&f, false) == 0);
	vd_write(&f.d, VS_VIRTIO_COMMON_STATUS, 0, 1);
	f.d.avail_idx[0] = f.d.used_seen[0] = 0;
	CHECK(vd_start(&f.d, SLOT, ~(1ull << 9), 1, true) & VS_VIRTIO_S_DRIVER_OK);
	memset(data(&f), 0x77, 512);
	CHECK_EQ_U64(request(&f, 1, 50, 512, false, &used), 0);
	CHECK_EQ_U64(range_request(&f, 13, 51, 1), 0);
	CHECK(disk_read(&f, 50 * 512, back, 512) == 0 && back[0] == 0x77 && back[511] == 0x77);
	CHECK(disk_read(&f, 51 * 512, back, 512) == 0 && zeros(back, 512));
	teardown(&f);
}

/* cache=none: guest buffers that are not sector-aligned still work (the
 * device copies them), and the bytes are in the file. */
TEST(cache_none_unaligned_buffers)
{
	struct fixture f;
	uint8_t back[512];
	CHECK(setup_opts(&f, &(struct disk_opts){ .direct = true }) == 0);
	add_request(&f, 0, 0, 0, 5, 512, 0); /* aligned */
	vd_notify(&f.d, 0);
	CHECK_EQ_U64(vd_wait_used(&f.d, 0), 513);
	CHECK_EQ_U64(batch(&f)[0], 5);
	/* Data at DATA + 8: unaligned, read then written. */
	put_header(&f, HDR, 0, 6);
	vd_submit(&f.d, 0,
		  (struct vd_seg[]){ { HDR, 16, false }, { DATA + 8, 512, true }, { STATUS, 1, true } }, 3);
	CHECK_EQ_U64(vd_wait_used(&f.d, 0), 513);
	CHECK(data(&f)[8] == 6 && data(&f)[519] == 6);
	memset(data(&f) + 8, 0x5a, 512);
	put_header(&f, HDR, 1, 9);
	vd_submit(&f.d, 0,
		  (struct vd_seg[]){ { HDR, 16, false }, { DATA + 8, 512, false }, { STATUS, 1, true } }, 3);
	CHECK_EQ_U64(vd_wait_used(&f.d, 0), 1);
	CHECK_EQ_U64(status_of(&f, 0), 0);
	CHECK(disk_read(&f, 9 * 512, back, 512) == 0 && back[0] == 0x5a && back[511] == 0x5a);
	teardown(&f);
}

/* A reset with requests held by the throttle, then a second life: the
 * stale requests are dropped, the new ones answered. */
TEST(reset_with_requests_in_flight)
{
	struct fixture f;
	CHECK(setup_opts(&f, &(struct disk_opts){ .iops = 1 }) == 0);
	for (int i = 0; i < 4; i++)
		add_request(&f, 0, i, 0, (uint64_t)i, 512, 512);
	vd_notify(&f.d, 0);
	CHECK_EQ_U64(vd_wait_used(&f.d, 0), 513);
	vd_write(&f.d, VS_VIRTIO_COMMON_STATUS, 0, 1);
	f.d.avail_idx[0] = f.d.used_seen[0] = 0;
	CHECK(vd_start(&f.d, SLOT, ~0ull, 1, true) & VS_VIRTIO_S_DRIVER_OK);
	add_request(&f, 0, 0, 8, 0, 20, 0);
	vd_notify(&f.d, 0);
	CHECK_EQ_U64(vd_wait_used(&f.d, 0), 21);
	teardown(&f);
}

TEST(open_errors)
{
	struct vdrv d;
	struct vs_device dev;
	struct vs_error err = { 0 };
	struct vs_virtio_config env;
	char path[64] = "/tmp/vessel-blk-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK(vd_board(&d, false) == 0);
	env = vd_env(&d, SLOT);
	struct vs_virtio_blk_config bc = { .path = "/nonexistent/disk.img", .queues = 1, .id = "x" };
	CHECK(vs_virtio_blk_create(&env, &bc, &dev, &err) < 0);
	CHECK(strstr(err.msg, "vessel img create") != NULL);
	/* A qcow2 marked corrupt opens read-only, never writable. */
	CHECK(make_disk(path, "qcow2", 64) == 0);
	fd = open(path, O_RDWR);
	uint8_t incompat = 0;
	CHECK(pread(fd, &incompat, 1, 79) == 1);
	incompat |= 2;
	CHECK(pwrite(fd, &incompat, 1, 79) == 1);
	close(fd);
	bc.path = path;
	memset(&err, 0, sizeof(err));
	CHECK(vs_virtio_blk_create(&env, &bc, &dev, &err) < 0);
	CHECK(strstr(err.msg, "corrupt") != NULL);
	bc.readonly = true;
	CHECK(vs_virtio_blk_create(&env, &bc, &dev, &err) == 0);
	vd_release(&d, &dev);
	unlink(path);
}

VS_TAP_MAIN(TAP_CASE(multiple_queues), TAP_CASE(config_space), TAP_CASE(read_write_flush_raw),
	    TAP_CASE(read_write_flush_qcow2), TAP_CASE(errors), TAP_CASE(get_id), TAP_CASE(read_only),
	    TAP_CASE(write_zeroes_and_discard_raw), TAP_CASE(write_zeroes_and_discard_qcow2),
	    TAP_CASE(many_in_flight), TAP_CASE(data_budget), TAP_CASE(throttle_iops), TAP_CASE(throttle_bps),
	    TAP_CASE(flush_after_earlier_writes), TAP_CASE(write_through_without_flush_feature),
	    TAP_CASE(cache_none_unaligned_buffers), TAP_CASE(reset_with_requests_in_flight),
	    TAP_CASE(open_errors))
