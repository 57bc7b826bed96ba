/* virtio-balloon driven as a guest driver would: free page reporting and
 * inflation drop exactly the whole pages handed over (private guest RAM
 * reads back as zeros once dropped), nothing else; `actual` is the
 * driver's to write; the stats queue's buffer is held, parsed and given
 * back on request. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/virtio/balloon.h"
#include "tap.h"
#include "virtio_driver.h"

#define SLOT 5
#define PAGE 4096u

static int make(struct vdrv *d, struct vs_device *dev)
{
	struct vs_error err = { 0 };
	struct vs_virtio_config env;
	if (vd_board(d, false) < 0)
		return -1;
	env = vd_env(d, SLOT);
	if (vs_virtio_balloon_create(&env, NULL, dev, &err) < 0) {
		printf("# balloon: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

TEST(identity_and_features)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	CHECK(make(&d, &dev) == 0);
	CHECK_EQ_U64(vd_cfg_read(&d, SLOT, 0, 4), 0x10451af4);
	CHECK(vd_start(&d, SLOT, VS_BALLOON_F_REPORTING, 3, true) & VS_VIRTIO_S_DRIVER_OK);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_NUMQ, 2), 4);
	vd_write(&d, VS_VIRTIO_COMMON_DFSELECT, 0, 4);
	CHECK(vd_read(&d, VS_VIRTIO_COMMON_DF, 4) & VS_BALLOON_F_REPORTING);
	CHECK(vd_read(&d, VS_VIRTIO_COMMON_DF, 4) & VS_BALLOON_F_STATS_VQ);
	vd_release(&d, &dev);
}

TEST(config_actual_is_the_drivers)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	CHECK(make(&d, &dev) == 0);
	CHECK(vd_start(&d, SLOT, 0, 3, true) & VS_VIRTIO_S_DRIVER_OK);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_BAR_DEVICE, 4), 0); /* num_pages: no inflation asked */
	vd_write(&d, VS_VIRTIO_BAR_DEVICE + 4, 1234, 4);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_BAR_DEVICE + 4, 4), 1234);
	vd_write(&d, VS_VIRTIO_BAR_DEVICE, 99, 4); /* num_pages is read-only */
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_BAR_DEVICE, 4), 0);
	vd_write(&d, VS_VIRTIO_COMMON_STATUS, 0, 1); /* reset clears it */
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_BAR_DEVICE + 4, 4), 0);
	vd_release(&d, &dev);
}

TEST(reported_pages_are_dropped)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	uint8_t *p;
	CHECK(make(&d, &dev) == 0);
	p = vs_gpa_ptr(&d.mem, VD_DATA, 4 * PAGE);
	memset(p, 0xaa, 4 * PAGE);
	CHECK(vd_start(&d, SLOT, VS_BALLOON_F_REPORTING, 3, true) & VS_VIRTIO_S_DRIVER_OK);
	/* Two whole pages and half of a third, device-writable as Linux
	 * reports them; then a readable segment, which is no report. */
	struct vd_seg seg = { VD_DATA, 2 * PAGE + PAGE / 2, true };
	vd_submit(&d, VS_BALLOON_Q_REPORTING(0), &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_REPORTING(0)), 0);
	CHECK(all(p, 2 * PAGE, 0));
	CHECK(all(p + 2 * PAGE, 2 * PAGE, 0xaa));
	seg = (struct vd_seg){ VD_DATA + 3 * PAGE, PAGE, false };
	vd_submit(&d, VS_BALLOON_Q_REPORTING(0), &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_REPORTING(0)), 0);
	CHECK(all(p + 2 * PAGE, 2 * PAGE, 0xaa));
	vd_release(&d, &dev);
}

TEST(inflated_pages_are_dropped)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	uint8_t *p;
	uint32_t pfns[3] = { (uint32_t)((VD_DATA + PAGE) / PAGE), 0xfffffff0u /* not RAM */,
			     (uint32_t)((VD_DATA + 3 * PAGE) / PAGE) };
	CHECK(make(&d, &dev) == 0);
	p = vs_gpa_ptr(&d.mem, VD_DATA, 4 * PAGE);
	memset(p, 0x55, 4 * PAGE);
	vs_gpa_write(&d.mem, VD_DATA + 16 * PAGE, pfns, sizeof(pfns));
	CHECK(vd_start(&d, SLOT, 0, 3, true) & VS_VIRTIO_S_DRIVER_OK);
	struct vd_seg seg = { VD_DATA + 16 * PAGE, sizeof(pfns), false };
	vd_submit(&d, VS_BALLOON_Q_INFLATE, &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_INFLATE), 0);
	CHECK(all(p, PAGE, 0x55));
	CHECK(all(p + PAGE, PAGE, 0));
	CHECK(all(p + 2 * PAGE, PAGE, 0x55));
	CHECK(all(p + 3 * PAGE, PAGE, 0));
	/* Deflating gives the pages back: they are simply usable again. */
	vd_submit(&d, VS_BALLOON_Q_DEFLATE, &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_DEFLATE), 0);
	p[PAGE] = 7;
	CHECK_EQ_U64(p[PAGE], 7);
	vd_release(&d, &dev);
}

/* ---- Statistics ---- */

#define STATS_GPA (VD_DATA + 32 * PAGE)

/* Entries as the driver lays them out: packed le16 tag, le64 value. */
static size_t put_stat(uint8_t *p, uint16_t tag, uint64_t val)
{
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	for (int k = 0; k < 8; k++)
		p[2 + k] = (uint8_t)(val >> (8 * k));
	return 10;
}

/* Wait (bounded, as vd_wait_used) until the device has taken `n` reports. */
static bool wait_reports(void *bal, uint64_t n, struct vs_balloon_stats *s)
{
	for (int i = 0; i < 10000; i++) {
		vs_virtio_balloon_stats(bal, s);
		if (s->reports >= n)
			return s->reports == n;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return false;
}

static int start_stats(struct vdrv *d, struct vs_device *dev)
{
	if (make(d, dev) < 0)
		return -1;
	return vd_start(d, SLOT, VS_BALLOON_F_STATS_VQ | VS_BALLOON_F_REPORTING, 4, true);
}

TEST(stats_held_parsed_and_returned_on_request)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	struct vs_balloon_stats s;
	uint8_t buf[64];
	size_t n = 0;
	CHECK(start_stats(&d, &dev) & VS_VIRTIO_S_DRIVER_OK);
	vs_virtio_balloon_stats(dev.opaque, &s);
	CHECK_EQ_U64(s.reports, 0);
	n += put_stat(buf + n, VS_BALLOON_S_MEMTOT, 256ull << 20);
	n += put_stat(buf + n, 0x99, 7); /* unknown: ignored */
	n += put_stat(buf + n, VS_BALLOON_S_MEMFREE, 200ull << 20);
	n += put_stat(buf + n, VS_BALLOON_S_HTLB_PGFAIL, 3);
	memcpy(buf + n, "\x05\x00\x01\x02\x03", 5); /* a partial entry (MEMTOT): ignored */
	vs_gpa_write(&d.mem, STATS_GPA, buf, n + 5);
	struct vd_seg seg = { STATS_GPA, (uint32_t)n + 5, false };
	vd_submit(&d, VS_BALLOON_Q_STATS, &seg, 1);
	CHECK(wait_reports(dev.opaque, 1, &s));
	CHECK_EQ_U64(s.present,
		     1u << VS_BALLOON_S_MEMTOT | 1u << VS_BALLOON_S_MEMFREE | 1u << VS_BALLOON_S_HTLB_PGFAIL);
	CHECK_EQ_U64(s.val[VS_BALLOON_S_MEMTOT], 256ull << 20);
	CHECK_EQ_U64(s.val[VS_BALLOON_S_MEMFREE], 200ull << 20);
	CHECK_EQ_U64(s.val[VS_BALLOON_S_HTLB_PGFAIL], 3);
	CHECK(s.at_ns > 0);
	/* Held: nothing comes back until the device asks. */
	CHECK_EQ_U64(vd_used_count(&d, VS_BALLOON_Q_STATS), 0);
	vs_virtio_balloon_stats_request(dev.opaque);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_STATS), 0);
	/* The refill: one entry split across two segments; a new set
	 * replaces the old one whole. */
	n = put_stat(buf, VS_BALLOON_S_MINFLT, 0x0102030405060708ull);
	vs_gpa_write(&d.mem, STATS_GPA, buf, 4);
	vs_gpa_write(&d.mem, STATS_GPA + PAGE, buf + 4, n - 4);
	struct vd_seg two[2] = { { STATS_GPA, 4, false }, { STATS_GPA + PAGE, (uint32_t)n - 4, false } };
	vd_submit(&d, VS_BALLOON_Q_STATS, two, 2);
	CHECK(wait_reports(dev.opaque, 2, &s));
	CHECK_EQ_U64(s.present, 1u << VS_BALLOON_S_MINFLT);
	CHECK_EQ_U64(s.val[VS_BALLOON_S_MINFLT], 0x0102030405060708ull);
	/* A request while the driver owes the buffer does nothing. */
	vs_virtio_balloon_stats_request(dev.opaque);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_STATS), 0);
	vs_virtio_balloon_stats_request(dev.opaque);
	CHECK_EQ_U64(vd_used_count(&d, VS_BALLOON_Q_STATS), 2);
	vd_release(&d, &dev);
}

TEST(stats_misbehaving_driver)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	struct vs_balloon_stats s;
	uint8_t buf[10];
	uint16_t id;
	CHECK(start_stats(&d, &dev) & VS_VIRTIO_S_DRIVER_OK);
	put_stat(buf, VS_BALLOON_S_MEMTOT, 42);
	vs_gpa_write(&d.mem, STATS_GPA, buf, sizeof(buf));
	struct vd_seg seg = { STATS_GPA, sizeof(buf), false };
	uint16_t first = vd_add(&d, VS_BALLOON_Q_STATS, &seg, 1);
	vd_notify(&d, VS_BALLOON_Q_STATS);
	CHECK(wait_reports(dev.opaque, 1, &s));
	/* A second buffer while one is held: the first goes back at once. */
	seg.len = 9; /* shorter than an entry */
	vd_add(&d, VS_BALLOON_Q_STATS, &seg, 1);
	vd_notify(&d, VS_BALLOON_Q_STATS);
	CHECK_EQ_U64(vd_wait_used_id(&d, VS_BALLOON_Q_STATS, &id), 0);
	CHECK_EQ_U64(id, first);
	vs_virtio_balloon_stats(dev.opaque, &s);
	CHECK_EQ_U64(s.reports, 1); /* nothing whole to read: the values stand */
	CHECK_EQ_U64(s.val[VS_BALLOON_S_MEMTOT], 42);
	/* A device-writable buffer (the wrong direction) is held and
	 * returned like any other, and read as nothing. */
	vs_virtio_balloon_stats_request(dev.opaque);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_STATS), 0);
	seg = (struct vd_seg){ STATS_GPA, 100, true };
	vd_submit(&d, VS_BALLOON_Q_STATS, &seg, 1);
	vs_virtio_balloon_stats_request(dev.opaque);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_STATS), 0);
	vs_virtio_balloon_stats(dev.opaque, &s);
	CHECK_EQ_U64(s.reports, 1);
	CHECK_EQ_U64(s.present, 1u << VS_BALLOON_S_MEMTOT);
	/* Reset forgets the held buffer: a request afterwards returns
	 * nothing into the new rings. */
	vd_submit(&d, VS_BALLOON_Q_STATS, &(struct vd_seg){ STATS_GPA, 10, false }, 1);
	CHECK(wait_reports(dev.opaque, 2, &s));
	CHECK(vd_start(&d, SLOT, VS_BALLOON_F_STATS_VQ, 4, true) & VS_VIRTIO_S_DRIVER_OK);
	vs_virtio_balloon_stats_request(dev.opaque); /* served on this thread */
	CHECK_EQ_U64(vd_used_count(&d, VS_BALLOON_Q_STATS), 0);
	vd_release(&d, &dev);
}

TEST(reporting_queue_follows_stats_queue)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	uint8_t *p;
	CHECK(start_stats(&d, &dev) & VS_VIRTIO_S_DRIVER_OK);
	p = vs_gpa_ptr(&d.mem, VD_DATA, PAGE);
	memset(p, 0xaa, PAGE);
	struct vd_seg seg = { VD_DATA, PAGE, true };
	vd_submit(&d, VS_BALLOON_Q_REPORTING(VS_BALLOON_F_STATS_VQ), &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, 3), 0);
	CHECK(all(p, PAGE, 0));
	vd_release(&d, &dev);
}

TEST(stats_line)
{
	struct vs_balloon_stats s = { .reports = 3, .at_ns = 1000000000ull };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CHECK(f != NULL);
	s.present = 1u << VS_BALLOON_S_MEMTOT | 1u << VS_BALLOON_S_SWAP_IN;
	s.val[VS_BALLOON_S_MEMTOT] = 1234;
	s.val[VS_BALLOON_S_MEMFREE] = 99; /* not present: not printed */
	vs_balloon_stats_print(&s, 3500000000ull, f);
	s.reports = 0;
	vs_balloon_stats_print(&s, 0, f);
	fclose(f);
	CHECK(strcmp(text, "virtio-balloon: guest memory statistics (report 3, 2.5 s old): swap-in=0 "
			   "total-memory=1234\n"
			   "virtio-balloon: no memory statistics from the guest\n") == 0);
	CHECK(vs_balloon_stat_name(VS_BALLOON_S_HTLB_PGFAIL) != NULL);
	CHECK(vs_balloon_stat_name(VS_BALLOON_S_NR) == NULL);
	free(text);
}

VS_TAP_MAIN(TAP_CASE(identity_and_features), TAP_CASE(config_actual_is_the_drivers),
	    TAP_CASE(reported_pages_are_dropped), TAP_CASE(inflated_pages_are_dropped),
	    TAP_CASE(stats_held_parsed_and_returned_on_request), TAP_CASE(stats_misbehaving_driver),
	    TAP_CASE(reporting_queue_follows_stats_queue), TAP_CASE(stats_line))
