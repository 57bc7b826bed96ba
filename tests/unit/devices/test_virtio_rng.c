/* virtio-rng over the PCI transport, driven the way a guest driver does:
 * identity and capabilities, the handshake, buffers filled through the
 * I/O thread, INTx with the ISR, MSI-X, and the reset path a broken queue
 * takes. */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/rng.h"
#include "tap.h"
#include "virtio_driver.h"

#define SLOT 3

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int make(struct vdrv *d, struct vs_device *dev, bool msi)
{
	struct vs_error err = { 0 };
	struct vs_virtio_config env;
	if (vd_board(d, msi) < 0)
		return -1;
	env = vd_env(d, SLOT);
	if (vs_virtio_rng_create(&env, dev, &err) < 0) {
		printf("# rng: %s\n", err.msg);
		return -1;
	}
	return 0;
}

TEST(identity)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	CHECK(make(&d, &dev, false) == 0);
	CHECK_EQ_U64(vd_cfg_read(&d, SLOT, 0, 4), 0x10441af4);
	CHECK(vd_cfg_read(&d, SLOT, VS_PCI_REVISION, 1) >= 1);
	CHECK(vd_cfg_read(&d, SLOT, VS_PCI_SUBSYS_ID, 2) >= 0x40);
	CHECK_EQ_U64(vd_cfg_read(&d, SLOT, 0x10, 4) & 0xf, VS_PCI_BAR_MEM64);
	CHECK_EQ_U64(vd_cfg_read(&d, SLOT, VS_PCI_INTERRUPT_PIN, 1), 1);
	CHECK(vd_start(&d, SLOT, 0, 1, true) & VS_VIRTIO_S_FEATURES_OK);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_NUMQ, 2), 1);
	vd_write(&d, VS_VIRTIO_COMMON_DFSELECT, 1, 4);
	CHECK(vd_read(&d, VS_VIRTIO_COMMON_DF, 4) & 1); /* VERSION_1 */
	vd_release(&d, &dev);
}

TEST(entropy_with_intx)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	struct vd_seg seg = { VD_DATA, 64, true };
	uint8_t *buf;
	CHECK(make(&d, &dev, false) == 0);
	buf = vs_gpa_ptr(&d.mem, VD_DATA, 64);
	CHECK(vd_start(&d, SLOT, VS_VIRTIO_F_EVENT_IDX, 1, true) & VS_VIRTIO_S_DRIVER_OK);
	vd_submit(&d, 0, &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, 0), 64);
	CHECK(!all_zero(buf, 64)); /* 2^-512 to fail by chance */
	/* INTA of slot 3 is line 3: GSI 19, until the ISR is read. */
	CHECK_EQ_U64(__atomic_load_n(&d.level[19], __ATOMIC_SEQ_CST), 1);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_BAR_ISR, 1), 1);
	CHECK_EQ_U64(d.level[19], 0);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_BAR_ISR, 1), 0);
	/* Many requests, each answered once. */
	for (int i = 0; i < 40; i++) {
		seg.len = (uint32_t)(1 + i * 100);
		vd_submit(&d, 0, &seg, 1);
		CHECK_EQ_U64(vd_wait_used(&d, 0), seg.len);
	}
	vd_release(&d, &dev);
}

TEST(entropy_with_msix)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	struct vd_seg seg = { VD_DATA, 32, true };
	uint32_t cap = 0, ptr;
	uint64_t table;
	CHECK(make(&d, &dev, true) == 0);
	for (ptr = vd_cfg_read(&d, SLOT, VS_PCI_CAP_PTR, 1); ptr; ptr = vd_cfg_read(&d, SLOT, ptr + 1, 1))
		if (vd_cfg_read(&d, SLOT, ptr, 1) == VS_PCI_CAP_ID_MSIX)
			cap = ptr;
	CHECK(cap != 0);
	CHECK_EQ_U64(vd_cfg_read(&d, SLOT, cap + 2, 2) & 0x7ff, 1); /* config + 1 queue */
	table = vd_cfg_read(&d, SLOT, VS_PCI_BAR0 + 8, 4) & ~0xfull;
	/* Vector 1 for the queue: address, data, unmasked; then enable. */
	{
		uint32_t v[4] = { 0xfee00000, 0, 0x31, 0 };
		vs_bus_write(&d.mmio, table + 16, (uint8_t *)&v[0], 4);
		vs_bus_write(&d.mmio, table + 20, (uint8_t *)&v[1], 4);
		vs_bus_write(&d.mmio, table + 24, (uint8_t *)&v[2], 4);
		vs_bus_write(&d.mmio, table + 28, (uint8_t *)&v[3], 4);
	}
	vd_cfg_write(&d, SLOT, cap + 2, VS_MSIX_CTRL_ENABLE, 2);
	CHECK(vd_start(&d, SLOT, 0, 1, true) & VS_VIRTIO_S_DRIVER_OK);
	vd_write(&d, VS_VIRTIO_COMMON_Q_SELECT, 0, 2);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_Q_MSIX, 2), 1);
	vd_write(&d, VS_VIRTIO_COMMON_Q_MSIX, 9, 2); /* no such vector */
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_Q_MSIX, 2), VS_VIRTIO_NO_VECTOR);
	vd_write(&d, VS_VIRTIO_COMMON_Q_MSIX, 1, 2);
	vd_submit(&d, 0, &seg, 1);
	CHECK_EQ_U64(vd_wait_used(&d, 0), 32);
	/* The used entry is published before the message is sent. */
	for (int i = 0; i < 1000 && !__atomic_load_n(&d.msi_count, __ATOMIC_SEQ_CST); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	CHECK_EQ_U64(__atomic_load_n(&d.msi_count, __ATOMIC_SEQ_CST), 1);
	CHECK_EQ_U64(d.msi_data, 0x31);
	CHECK_EQ_U64(d.level[19], 0);
	vd_release(&d, &dev);
}

TEST(version_1_is_required)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	CHECK(make(&d, &dev, false) == 0);
	CHECK(vd_start(&d, SLOT, 0, 1, false) & VS_VIRTIO_S_FEATURES_OK);
	vd_write(&d, VS_VIRTIO_COMMON_STATUS, 0, 1);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_STATUS, 1), 0);
	vd_write(&d, VS_VIRTIO_COMMON_STATUS, 3, 1);
	vd_write(&d, VS_VIRTIO_COMMON_GFSELECT, 1, 4);
	vd_write(&d, VS_VIRTIO_COMMON_GF, 0, 4);
	vd_write(&d, VS_VIRTIO_COMMON_STATUS, 3 | VS_VIRTIO_S_FEATURES_OK, 1);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_STATUS, 1), 3);
	/* A feature the device does not offer is refused too. */
	vd_write(&d, VS_VIRTIO_COMMON_GF, 1 | 2, 4); /* VERSION_1 and bit 33 */
	vd_write(&d, VS_VIRTIO_COMMON_STATUS, 3 | VS_VIRTIO_S_FEATURES_OK, 1);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_STATUS, 1), 3);
	vd_release(&d, &dev);
}

TEST(broken_queue_needs_reset)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	struct vd_seg seg = { 0xfff0000000ull, 64, true }; /* not guest RAM */
	int64_t got = 0;
	CHECK(make(&d, &dev, false) == 0);
	CHECK(vd_start(&d, SLOT, 0, 1, true) & VS_VIRTIO_S_DRIVER_OK);
	vd_submit(&d, 0, &seg, 1);
	for (int i = 0; i < 10000 && !(vd_read(&d, VS_VIRTIO_COMMON_STATUS, 1) & VS_VIRTIO_S_NEEDS_RESET);
	     i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	CHECK(vd_read(&d, VS_VIRTIO_COMMON_STATUS, 1) & VS_VIRTIO_S_NEEDS_RESET);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_BAR_ISR, 1), 2); /* configuration change */
	/* The driver resets and starts over; the device works again. */
	vs_iothread_stop(d.io);
	CHECK(vd_start(&d, SLOT, 0, 1, true) & VS_VIRTIO_S_DRIVER_OK);
	CHECK(!(vd_read(&d, VS_VIRTIO_COMMON_STATUS, 1) & VS_VIRTIO_S_NEEDS_RESET));
	seg.addr = VD_DATA;
	vd_submit(&d, 0, &seg, 1);
	got = vd_wait_used(&d, 0);
	CHECK_EQ_U64(got, 64);
	vd_release(&d, &dev);
}

TEST(queue_outside_ram_needs_reset)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	CHECK(make(&d, &dev, false) == 0);
	CHECK(vd_start(&d, SLOT, 0, 0, false) & VS_VIRTIO_S_FEATURES_OK);
	vd_write(&d, VS_VIRTIO_COMMON_Q_SELECT, 0, 2);
	vd_write(&d, VS_VIRTIO_COMMON_Q_DESCLO, 0xd0000000ull, 8);
	vd_write(&d, VS_VIRTIO_COMMON_Q_ENABLE, 1, 2);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_Q_ENABLE, 2), 0);
	CHECK(vd_read(&d, VS_VIRTIO_COMMON_STATUS, 1) & VS_VIRTIO_S_NEEDS_RESET);
	vd_release(&d, &dev);
}

/* The PCI configuration access capability reaches BAR 0 too. */
TEST(pci_cfg_window)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	uint32_t cap = 0;
	CHECK(make(&d, &dev, false) == 0);
	for (uint32_t p = vd_cfg_read(&d, SLOT, VS_PCI_CAP_PTR, 1); p; p = vd_cfg_read(&d, SLOT, p + 1, 1))
		if (vd_cfg_read(&d, SLOT, p, 1) == VS_PCI_CAP_ID_VENDOR &&
		    vd_cfg_read(&d, SLOT, p + 3, 1) == VS_VIRTIO_PCI_CAP_PCI_CFG)
			cap = p;
	CHECK(cap != 0);
	vd_cfg_write(&d, SLOT, cap + 4, 0, 1);
	vd_cfg_write(&d, SLOT, cap + 8, VS_VIRTIO_COMMON_NUMQ, 4);
	vd_cfg_write(&d, SLOT, cap + 12, 2, 4);
	CHECK_EQ_U64(vd_cfg_read(&d, SLOT, cap + 16, 4) & 0xffff, 1);
	vd_cfg_write(&d, SLOT, cap + 8, VS_VIRTIO_COMMON_STATUS, 4);
	vd_cfg_write(&d, SLOT, cap + 12, 1, 4);
	vd_cfg_write(&d, SLOT, cap + 16, VS_VIRTIO_S_ACKNOWLEDGE, 1);
	d.bar0 = (vd_cfg_read(&d, SLOT, 0x10, 4) & ~0xfull);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_STATUS, 1), VS_VIRTIO_S_ACKNOWLEDGE);
	vd_release(&d, &dev);
}

struct binds {
	int n;
	uint64_t gpa[8];
	int fd[8];
	bool on[8];
};

static int record_bind(void *opaque, uint64_t gpa, int fd, bool on)
{
	struct binds *b = opaque;
	if (b->n < 8) {
		b->gpa[b->n] = gpa;
		b->fd[b->n] = fd;
		b->on[b->n] = on;
		b->n++;
	}
	return 0;
}

/* The ioeventfd seam: the queue's eventfd is bound to its notify address
 * while BAR 0 decodes, follows the BAR when it moves, and a signal on it
 * alone (what KVM does for a bound write) gets the queue served. */
TEST(doorbell_follows_bar0)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	struct vs_error err = { 0 };
	struct vs_virtio_config env;
	struct binds b = { 0 };
	uint64_t bar0, one = 1;
	uint16_t idx;
	CHECK(vd_board(&d, false) == 0);
	env = vd_env(&d, SLOT);
	env.doorbell = (struct vs_virtio_doorbell){ record_bind, &b };
	CHECK(vs_virtio_rng_create(&env, &dev, &err) == 0);
	bar0 = vd_cfg_read(&d, SLOT, 0x10, 4) & ~0xfull;
	CHECK_EQ_U64(b.n, 1);
	CHECK(b.on[0]);
	CHECK_EQ_U64(b.gpa[0], bar0 + VS_VIRTIO_BAR_NOTIFY);
	CHECK(b.fd[0] >= 0);
	vd_cfg_write(&d, SLOT, VS_PCI_COMMAND, 0, 2);
	CHECK_EQ_U64(b.n, 2);
	CHECK(!b.on[1] && b.gpa[1] == b.gpa[0]);
	vd_cfg_write(&d, SLOT, 0x10, (uint32_t)bar0 + 0x100000, 4);
	CHECK_EQ_U64(b.n, 2); /* not decoding: nothing to bind */
	vd_cfg_write(&d, SLOT, VS_PCI_COMMAND, VS_PCI_CMD_MEMORY, 2);
	CHECK_EQ_U64(b.n, 3);
	CHECK(b.on[2] && b.gpa[2] == bar0 + 0x100000 + VS_VIRTIO_BAR_NOTIFY);
	/* Serve a request on the eventfd alone (queue 0's rings where
	 * virtio_driver.c puts them: descriptors at 1 MiB, avail 16 KiB on). */
	CHECK(vd_start(&d, SLOT, 0, 1, true) & VS_VIRTIO_S_DRIVER_OK);
	vs_gpa_write(&d.mem, 0x100000 + 0x4000 + 4, &(uint16_t){ 0 }, 2);
	vs_gpa_write(&d.mem, 0x100000, &(struct vs_vring_desc){ VD_DATA, 16, VS_VRING_DESC_F_WRITE, 0 }, 16);
	idx = 1;
	vs_gpa_write(&d.mem, 0x100000 + 0x4000 + 2, &idx, 2);
	CHECK(write(b.fd[2], &one, sizeof(one)) == sizeof(one));
	CHECK_EQ_U64(vd_wait_used(&d, 0), 16);
	vd_release(&d, &dev);
	CHECK_EQ_U64(b.n, 4); /* unbound when the device goes */
	CHECK(!b.on[3]);
}

struct hammer {
	struct vdrv *d;
	bool stop;
	unsigned long reads;
};

/* Another vCPU: ISR, common configuration and configuration space reads,
 * and harmless writes, while requests are being served. */
static void *hammer_main(void *opaque)
{
	struct hammer *h = opaque;
	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		vd_read(h->d, VS_VIRTIO_BAR_ISR, 1);
		vd_read(h->d, VS_VIRTIO_COMMON_STATUS, 1);
		vd_read(h->d, VS_VIRTIO_COMMON_Q_SIZE, 2);
		vd_write(h->d, VS_VIRTIO_COMMON_DFSELECT, 1, 4);
		vd_cfg_read(h->d, SLOT, VS_PCI_STATUS, 2);
		vd_cfg_write(h->d, SLOT, VS_PCI_INTERRUPT_LINE, 19, 1);
		__atomic_fetch_add(&h->reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(concurrent_access)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	struct vd_seg seg = { VD_DATA, 32, true };
	struct hammer h = { .d = &d };
	pthread_t t[2];
	CHECK(make(&d, &dev, false) == 0);
	CHECK(vd_start(&d, SLOT, VS_VIRTIO_F_EVENT_IDX, 1, true) & VS_VIRTIO_S_DRIVER_OK);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, hammer_main, &h) == 0);
	for (int i = 0; i < 200; i++) {
		vd_submit(&d, 0, &seg, 1);
		CHECK_EQ_U64(vd_wait_used(&d, 0), 32);
	}
	__atomic_store_n(&h.stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK(h.reads > 0);
	/* Whatever the interleaving, the line ends low once the ISR is read. */
	vd_read(&d, VS_VIRTIO_BAR_ISR, 1);
	CHECK_EQ_U64(__atomic_load_n(&d.level[19], __ATOMIC_SEQ_CST), 0);
	vd_release(&d, &dev);
}

VS_TAP_MAIN(TAP_CASE(concurrent_access), TAP_CASE(doorbell_follows_bar0), TAP_CASE(identity),
	    TAP_CASE(entropy_with_intx), TAP_CASE(entropy_with_msix), TAP_CASE(version_1_is_required),
	    TAP_CASE(broken_queue_needs_reset), TAP_CASE(queue_outside_ram_needs_reset),
	    TAP_CASE(pci_cfg_window))
