#include "virtio_driver.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define ECAM 0xe0000000ull
#define QMEM(q) (0x100000ull + 0x10000ull * (uint64_t)(q))
#define QDESC(q) QMEM(q)
#define QAVAIL(q) (QMEM(q) + 0x4000)
#define QUSED(q) (QMEM(q) + 0x8000)

static void set_level(void *opaque, uint32_t gsi, int level)
{
	struct vdrv *d = opaque;
	__atomic_store_n(&d->level[gsi], level, __ATOMIC_SEQ_CST);
}

static void msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	struct vdrv *d = opaque;
	(void)addr;
	__atomic_store_n(&d->msi_data, data, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&d->msi_count, 1, __ATOMIC_SEQ_CST);
}

int vd_board(struct vdrv *d, bool msi)
{
	struct vs_pci_host_config cfg = {
		.ecam_base = ECAM,
		.ecam_buses = 1,
		.mmio32_base = 0xc0000000ull,
		.mmio32_size = 0x10000000ull,
		.io_base = 0xc000,
		.io_size = 0x1000,
	};
	struct vs_error err = { 0 };
	memset(d, 0, sizeof(*d));
	for (uint32_t i = 0; i < 4; i++)
		cfg.intx[i] = (struct vs_irq_line){ set_level, d, 16 + i };
	if (msi)
		cfg.msi = (struct vs_msi_sink){ msi_send, d };
	vs_bus_init(&d->pio, "pio");
	vs_bus_init(&d->mmio, "mmio");
	if (vs_guest_mem_create(&d->mem, 64 * VS_MiB, &err) < 0 ||
	    vs_pci_host_create(&cfg, &d->host, &err) < 0 ||
	    vs_pci_host_register(d->host, &d->pio, &d->mmio, &err) < 0 ||
	    vs_iothread_create(&d->io, &err) < 0) {
		printf("# board: %s\n", err.msg);
		return -1;
	}
	return 0;
}

struct vs_virtio_config vd_env(struct vdrv *d, int slot)
{
	return (struct vs_virtio_config){
		.pci = d->host, .slot = slot, .mem = &d->mem, .loop = vs_iothread_loop(d->io)
	};
}

void vd_release(struct vdrv *d, const struct vs_device *dev)
{
	vs_iothread_stop(d->io);
	if (dev && dev->destroy)
		dev->destroy(dev->opaque);
	vs_iothread_destroy(d->io);
	vs_pci_host_destroy(d->host);
	vs_bus_release(&d->pio);
	vs_bus_release(&d->mmio);
	vs_guest_mem_release(&d->mem);
}

uint32_t vd_cfg_read(struct vdrv *d, int slot, uint32_t reg, uint32_t size)
{
	uint32_t v = 0;
	vs_bus_read(&d->mmio, ECAM + ((uint64_t)slot << 15) + reg, (uint8_t *)&v, size);
	return v;
}

void vd_cfg_write(struct vdrv *d, int slot, uint32_t reg, uint32_t v, uint32_t size)
{
	vs_bus_write(&d->mmio, ECAM + ((uint64_t)slot << 15) + reg, (uint8_t *)&v, size);
}

uint64_t vd_read(struct vdrv *d, uint64_t off, uint32_t size)
{
	uint64_t v = 0;
	vs_bus_read(&d->mmio, d->bar0 + off, (uint8_t *)&v, size);
	return v;
}

void vd_write(struct vdrv *d, uint64_t off, uint64_t v, uint32_t size)
{
	vs_bus_write(&d->mmio, d->bar0 + off, (uint8_t *)&v, size);
}

/* Walk the capabilities: every virtio structure must be there, in BAR 0
 * where the transport says. */
static int check_caps(struct vdrv *d, int slot)
{
	uint32_t ptr = vd_cfg_read(d, slot, VS_PCI_CAP_PTR, 1);
	unsigned int seen = 0;
	for (int n = 0; ptr && n < 48; n++) {
		if (vd_cfg_read(d, slot, ptr, 1) == VS_PCI_CAP_ID_VENDOR) {
			uint32_t type = vd_cfg_read(d, slot, ptr + 3, 1);
			uint32_t bar = vd_cfg_read(d, slot, ptr + 4, 1);
			uint32_t off = vd_cfg_read(d, slot, ptr + 8, 4);
			seen |= 1u << type;
			if (type == VS_VIRTIO_PCI_CAP_COMMON && (bar != 0 || off != VS_VIRTIO_BAR_COMMON))
				return -1;
			if (type == VS_VIRTIO_PCI_CAP_NOTIFY &&
			    (off != VS_VIRTIO_BAR_NOTIFY ||
			     vd_cfg_read(d, slot, ptr + 16, 4) != VS_VIRTIO_NOTIFY_MULT))
				return -1;
		}
		ptr = vd_cfg_read(d, slot, ptr + 1, 1);
	}
	return (seen & 0x2e) == 0x2e ? 0 : -1; /* common, notify, ISR, PCI cfg */
}

int vd_start(struct vdrv *d, int slot, uint64_t features, int nq, bool driver_ok)
{
	struct vs_error err = { 0 };
	uint64_t have;
	uint8_t status;
	if ((vd_cfg_read(d, slot, 0, 2)) != 0x1af4 || check_caps(d, slot) < 0)
		return -1;
	d->slot = slot;
	d->bar0 = (vd_cfg_read(d, slot, 0x10, 4) & ~0xfull) | (uint64_t)vd_cfg_read(d, slot, 0x14, 4) << 32;
	vd_write(d, VS_VIRTIO_COMMON_STATUS, 0, 1);
	vd_write(d, VS_VIRTIO_COMMON_STATUS, VS_VIRTIO_S_ACKNOWLEDGE | VS_VIRTIO_S_DRIVER, 1);
	vd_write(d, VS_VIRTIO_COMMON_DFSELECT, 0, 4);
	have = vd_read(d, VS_VIRTIO_COMMON_DF, 4);
	vd_write(d, VS_VIRTIO_COMMON_DFSELECT, 1, 4);
	have |= vd_read(d, VS_VIRTIO_COMMON_DF, 4) << 32;
	/* This driver lays out split rings only: never ask for packed ones. */
	features = (features | VS_VIRTIO_F_VERSION_1) & have & ~VS_VIRTIO_F_RING_PACKED;
	vd_write(d, VS_VIRTIO_COMMON_GFSELECT, 0, 4);
	vd_write(d, VS_VIRTIO_COMMON_GF, (uint32_t)features, 4);
	vd_write(d, VS_VIRTIO_COMMON_GFSELECT, 1, 4);
	vd_write(d, VS_VIRTIO_COMMON_GF, features >> 32, 4);
	vd_write(d, VS_VIRTIO_COMMON_STATUS,
		 VS_VIRTIO_S_ACKNOWLEDGE | VS_VIRTIO_S_DRIVER | VS_VIRTIO_S_FEATURES_OK, 1);
	status = (uint8_t)vd_read(d, VS_VIRTIO_COMMON_STATUS, 1);
	if (!(status & VS_VIRTIO_S_FEATURES_OK))
		return status;
	for (int q = 0; q < nq; q++) {
		memset(vs_gpa_ptr(&d->mem, QMEM(q), 0x10000), 0, 0x10000);
		d->avail_idx[q] = d->used_seen[q] = 0;
		vd_write(d, VS_VIRTIO_COMMON_Q_SELECT, (uint64_t)q, 2);
		vd_write(d, VS_VIRTIO_COMMON_Q_SIZE, VD_QSIZE, 2);
		vd_write(d, VS_VIRTIO_COMMON_Q_DESCLO, QDESC(q), 8);
		vd_write(d, VS_VIRTIO_COMMON_Q_AVAILLO, QAVAIL(q), 4); /* two halves, as Linux does */
		vd_write(d, VS_VIRTIO_COMMON_Q_AVAILHI, 0, 4);
		vd_write(d, VS_VIRTIO_COMMON_Q_USEDLO, QUSED(q), 8);
		vd_write(d, VS_VIRTIO_COMMON_Q_MSIX, (uint64_t)q + 1, 2);
		vd_write(d, VS_VIRTIO_COMMON_Q_ENABLE, 1, 2);
	}
	if (driver_ok)
		vd_write(d, VS_VIRTIO_COMMON_STATUS,
			 VS_VIRTIO_S_ACKNOWLEDGE | VS_VIRTIO_S_DRIVER | VS_VIRTIO_S_FEATURES_OK |
			     VS_VIRTIO_S_DRIVER_OK,
			 1);
	if (vs_iothread_start(d->io, &err) < 0)
		return -1;
	return (int)vd_read(d, VS_VIRTIO_COMMON_STATUS, 1);
}

void vd_submit(struct vdrv *d, int q, const struct vd_seg *segs, int n)
{
	vd_add(d, q, segs, n);
	vd_notify(d, q);
}

void vd_notify(struct vdrv *d, int q)
{
	vd_write(d, VS_VIRTIO_BAR_NOTIFY + VS_VIRTIO_NOTIFY_MULT * (uint64_t)q, (uint64_t)q, 2);
}

uint16_t vd_add(struct vdrv *d, int q, const struct vd_seg *segs, int n)
{
	uint16_t head = (uint16_t)((d->avail_idx[q] * 4) % VD_QSIZE), idx;
	for (int i = 0; i < n; i++) {
		struct vs_vring_desc desc = {
			.addr = segs[i].addr,
			.len = segs[i].len,
			.flags = (uint16_t)((segs[i].write ? VS_VRING_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VS_VRING_DESC_F_NEXT : 0)),
			.next = (uint16_t)((head + i + 1) % VD_QSIZE),
		};
		vs_gpa_write(&d->mem, QDESC(q) + 16ull * ((head + i) % VD_QSIZE), &desc, sizeof(desc));
	}
	vs_gpa_write(&d->mem, QAVAIL(q) + 4 + 2ull * (d->avail_idx[q] % VD_QSIZE), &head, 2);
	idx = ++d->avail_idx[q];
	__atomic_store_n((uint16_t *)vs_gpa_ptr(&d->mem, QAVAIL(q) + 2, 2), idx, __ATOMIC_RELEASE);
	return head;
}

uint16_t vd_used_count(struct vdrv *d, int q)
{
	return __atomic_load_n((const uint16_t *)vs_gpa_ptr(&d->mem, QUSED(q) + 2, 2), __ATOMIC_ACQUIRE);
}

int64_t vd_wait_used(struct vdrv *d, int q)
{
	return vd_wait_used_id(d, q, NULL);
}

int64_t vd_wait_used_id(struct vdrv *d, int q, uint16_t *id)
{
	const uint16_t *used_idx = vs_gpa_ptr(&d->mem, QUSED(q) + 2, 2);
	/* Bounded so a broken device fails the test instead of hanging it:
	 * ten seconds is no timing assertion, only a last resort. */
	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(used_idx, __ATOMIC_ACQUIRE) != d->used_seen[q]) {
			uint32_t len = 0;
			uint16_t slot = d->used_seen[q]++ % VD_QSIZE;
			vs_gpa_read(&d->mem, QUSED(q) + 4 + 8ull * slot + 4, &len, 4);
			if (id) {
				uint32_t head = 0;
				vs_gpa_read(&d->mem, QUSED(q) + 4 + 8ull * slot, &head, 4);
				*id = (uint16_t)head;
			}
			return len;
		}
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return -1;
}
