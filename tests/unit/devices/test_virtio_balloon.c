/* virtio-balloon driven as a guest driver would: free page reporting and
 * inflation drop exactly the whole pages handed over (private guest RAM
 * reads back as zeros once dropped), nothing else; `actual` is the
 * driver's to write. */
#include <string.h>

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
	if (vs_virtio_balloon_create(&env, dev, &err) < 0) {
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
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_NUMQ, 2), 3);
	vd_write(&d, VS_VIRTIO_COMMON_DFSELECT, 0, 4);
	CHECK(vd_read(&d, VS_VIRTIO_COMMON_DF, 4) & VS_BALLOON_F_REPORTING);
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
	vd_submit(&d, VS_BALLOON_Q_REPORTING, &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_REPORTING), 0);
	CHECK(all(p, 2 * PAGE, 0));
	CHECK(all(p + 2 * PAGE, 2 * PAGE, 0xaa));
	seg = (struct vd_seg){ VD_DATA + 3 * PAGE, PAGE, false };
	vd_submit(&d, VS_BALLOON_Q_REPORTING, &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_BALLOON_Q_REPORTING), 0);
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

VS_TAP_MAIN(TAP_CASE(identity_and_features), TAP_CASE(config_actual_is_the_drivers),
	    TAP_CASE(reported_pages_are_dropped), TAP_CASE(inflated_pages_are_dropped))
