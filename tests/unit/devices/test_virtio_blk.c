/* virtio-blk on a raw file, driven as a guest driver does: reads, writes
 * that reach the file, flush, GET_ID, discard and write-zeroes, and the
 * error statuses for what a driver must not ask. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "tap.h"
#include "virtio_driver.h"

#define SLOT 2
#define HDR VD_DATA
#define DATA (VD_DATA + 0x1000)
#define STATUS (VD_DATA + 0x8000)
#define DISK_SECTORS 2048

struct fixture {
	struct vdrv d;
	struct vs_device dev;
	char path[64];
	int fd;
	unsigned int queues; /* the device's */
	int q;		     /* where request() submits */
};

static int setup_queues(struct fixture *f, bool readonly, unsigned int queues)
{
	struct vs_error err = { 0 };
	struct vs_blk_backend be;
	struct vs_virtio_config env;
	uint8_t sector[512];
	f->queues = queues;
	f->q = 0;
	strcpy(f->path, "/tmp/vessel-blk-XXXXXX");
	f->fd = mkstemp(f->path);
	if (f->fd < 0)
		return -1;
	for (int s = 0; s < DISK_SECTORS; s++) {
		memset(sector, (uint8_t)s, sizeof(sector));
		if (write(f->fd, sector, sizeof(sector)) != (ssize_t)sizeof(sector))
			return -1;
	}
	if (vd_board(&f->d, false) < 0 || vs_blk_raw_open(f->path, readonly, &be, &err) < 0)
		return -1;
	env = vd_env(&f->d, SLOT);
	if (vs_virtio_blk_create(&env, &be, "vessel-test", f->queues, &f->dev, &err) < 0) {
		printf("# blk: %s\n", err.msg);
		return -1;
	}
	return vd_start(&f->d, SLOT, ~0ull, (int)queues, true) & VS_VIRTIO_S_DRIVER_OK ? 0 : -1;
}

static int setup(struct fixture *f, bool readonly)
{
	return setup_queues(f, readonly, 1);
}

static void teardown(struct fixture *f)
{
	vd_release(&f->d, &f->dev);
	close(f->fd);
	unlink(f->path);
}

/* One request: header, data segments of `len` at DATA (split in two when
 * `split`), status. Returns the status byte, or -1 when unanswered. */
static int request(struct fixture *f, uint32_t type, uint64_t sector, uint32_t len, bool device_writes,
		   int64_t *used)
{
	uint8_t hdr[16] = { 0 }, status = 0xee;
	struct vd_seg segs[4];
	int n = 0;
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	vs_gpa_write(&f->d.mem, HDR, hdr, sizeof(hdr));
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

static uint8_t *data(struct fixture *f)
{
	return vs_gpa_ptr(&f->d.mem, DATA, 0x4000);
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
	teardown(&f);
}

TEST(read_write_flush)
{
	struct fixture f;
	int64_t used;
	uint8_t back[1024];
	CHECK(setup(&f, false) == 0);
	CHECK_EQ_U64(request(&f, 0, 7, 1024, true, &used), 0);
	CHECK_EQ_U64(used, 1025);
	CHECK(data(&f)[0] == 7 && data(&f)[511] == 7 && data(&f)[512] == 8 && data(&f)[1023] == 8);
	memset(data(&f), 0xab, 1024);
	CHECK_EQ_U64(request(&f, 1, 100, 1024, false, &used), 0);
	CHECK_EQ_U64(used, 1);
	CHECK_EQ_U64(request(&f, 4, 0, 0, false, &used), 0);
	CHECK(pread(f.fd, back, sizeof(back), 100 * 512) == (ssize_t)sizeof(back));
	CHECK(back[0] == 0xab && back[1023] == 0xab);
	CHECK(pread(f.fd, back, 1, 102 * 512) == 1 && back[0] == 102);
	teardown(&f);
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
	CHECK(pread(f.fd, &back, 1, 3 * 512) == 1 && back == 3);
	CHECK_EQ_U64(request(&f, 0, 3, 512, true, &used), 0);
	teardown(&f);
}

TEST(write_zeroes_and_discard)
{
	struct fixture f;
	int64_t used;
	uint8_t range[16] = { 0 }, back[4096];
	uint64_t sector = 16;
	uint32_t count = 8;
	bool zero = true;
	CHECK(setup(&f, false) == 0);
	memcpy(range, &sector, 8);
	memcpy(range + 8, &count, 4);
	vs_gpa_write(&f.d.mem, DATA, range, 16);
	CHECK_EQ_U64(request(&f, 13, 0, 16, false, &used), 0);
	CHECK(pread(f.fd, back, 4096, 16 * 512) == 4096);
	for (int i = 0; i < 4096; i++)
		zero &= back[i] == 0;
	CHECK(zero);
	CHECK(pread(f.fd, back, 1, 24 * 512) == 1 && back[0] == 24);
	sector = 32;
	memcpy(range, &sector, 8);
	vs_gpa_write(&f.d.mem, DATA, range, 16);
	CHECK_EQ_U64(request(&f, 11, 0, 16, false, &used), 0);
	CHECK(pread(f.fd, back, 4096, 32 * 512) == 4096);
	zero = true;
	for (int i = 0; i < 4096; i++)
		zero &= back[i] == 0;
	CHECK(zero); /* tmpfs and ext4 punch holes */
	/* A range past the end is refused. */
	sector = DISK_SECTORS - 4;
	memcpy(range, &sector, 8);
	vs_gpa_write(&f.d.mem, DATA, range, 16);
	CHECK_EQ_U64(request(&f, 13, 0, 16, false, &used), 1);
	teardown(&f);
}

TEST(multiple_queues)
{
	struct fixture f;
	int64_t used;
	CHECK(setup_queues(&f, false, 3) == 0);
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

VS_TAP_MAIN(TAP_CASE(multiple_queues), TAP_CASE(config_space), TAP_CASE(read_write_flush), TAP_CASE(errors),
	    TAP_CASE(get_id), TAP_CASE(read_only), TAP_CASE(write_zeroes_and_discard))
