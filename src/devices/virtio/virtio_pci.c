#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_DEVICE_BASE 0x1040
#define VIRTIO_SUBSYS_ID 0x40 /* modern devices use 0x40 and up */
#define VIRTIO_BAR 0
#define VIRTIO_MSIX_BAR 2
#define TRANSPORT_FEATURES \
	(VS_VIRTIO_F_VERSION_1 | VS_VIRTIO_F_INDIRECT_DESC | VS_VIRTIO_F_EVENT_IDX | VS_VIRTIO_F_RING_PACKED)

/* struct virtio_pci_cap (section 4.1.4), 16 bytes; the notify capability
 * adds notify_off_multiplier, the PCI configuration access capability
 * four data bytes. */
#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_LEN 16
#define CAP_PCI_CFG_DATA 16

struct queue {
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, avail, used;
	struct vs_vq vq;
	int kick_fd;
	uint16_t index;
	struct vs_virtio *v;
};

struct vs_virtio {
	struct vs_pci_func func;
	const struct vs_virtio_ops *ops;
	void *opaque;
	const struct vs_guest_mem *mem;
	struct vs_loop *loop;
	pthread_mutex_t lock;
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t config_vector;
	uint16_t queue_select;
	uint8_t status;
	/* ISR status and the INTx level change together, or a read racing a
	 * raise could leave the line asserted with the ISR clear. */
	pthread_mutex_t isr_lock;
	uint8_t isr;
	uint8_t pci_cfg_cap;
	struct vs_virtio_doorbell doorbell;
	uint64_t doorbell_base;	       /* notify area bound to the eventfds, 0: none */
	struct vs_ratelimit guest_log; /* what the guest did wrong, under `lock` */
	struct queue queues[VS_VIRTIO_MAX_QUEUES];
};

/* ---- Interrupts ---- */

static void raise_vector(struct vs_virtio *v, uint16_t vector, uint8_t isr_bit)
{
	if (vs_pci_msix_enabled(&v->func)) {
		if (vector != VS_VIRTIO_NO_VECTOR)
			vs_pci_msix_notify(&v->func, vector);
		return;
	}
	pthread_mutex_lock(&v->isr_lock);
	v->isr |= isr_bit;
	vs_pci_func_set_intx(&v->func, true);
	pthread_mutex_unlock(&v->isr_lock);
}

static void needs_reset_locked(struct vs_virtio *v)
{
	if (v->status & VS_VIRTIO_S_NEEDS_RESET)
		return;
	v->status |= VS_VIRTIO_S_NEEDS_RESET;
	if (v->status & VS_VIRTIO_S_DRIVER_OK)
		raise_vector(v, v->config_vector, 2);
}

void vs_virtio_queue_done(struct vs_virtio *v, uint16_t q)
{
	struct queue *qu = &v->queues[q];
	if (qu->vq.broken) {
		if (vs_ratelimit_ok(&v->guest_log))
			vs_debug("%s: queue %u broken by the driver, device needs reset", v->ops->name, q);
		needs_reset_locked(v);
		return;
	}
	if (vs_vq_should_notify(&qu->vq))
		raise_vector(v, qu->msix_vector, 1);
}

/* ---- Reset and queues ---- */

static void reset_locked(struct vs_virtio *v)
{
	for (int i = 0; i < v->ops->num_queues; i++) {
		struct queue *q = &v->queues[i];
		q->size = v->ops->queue_max;
		q->msix_vector = VS_VIRTIO_NO_VECTOR;
		q->enabled = false;
		q->desc = q->avail = q->used = 0;
		vs_vq_disable(&q->vq);
	}
	v->driver_features = 0;
	v->dfselect = v->gfselect = 0;
	v->config_vector = VS_VIRTIO_NO_VECTOR;
	v->queue_select = 0;
	v->status = 0;
	pthread_mutex_lock(&v->isr_lock);
	v->isr = 0;
	vs_pci_func_set_intx(&v->func, false);
	pthread_mutex_unlock(&v->isr_lock);
	if (v->ops->reset)
		v->ops->reset(v->opaque);
}

static void enable_queue_locked(struct vs_virtio *v, struct queue *q)
{
	bool event_idx = v->driver_features & VS_VIRTIO_F_EVENT_IDX;
	bool indirect = v->driver_features & VS_VIRTIO_F_INDIRECT_DESC;
	int rc;
	if (q->enabled)
		return;
	/* Packed: desc is the ring, avail and used the driver's and the
	 * device's event suppression structures (section 4.1.4.3). */
	if (v->driver_features & VS_VIRTIO_F_RING_PACKED)
		rc = vs_vq_enable_packed(&q->vq, v->mem, q->size, q->desc, q->avail, q->used, event_idx,
					 indirect);
	else
		rc = vs_vq_enable(&q->vq, v->mem, q->size, q->desc, q->avail, q->used, event_idx, indirect);
	if (rc < 0) {
		if (vs_ratelimit_ok(&v->guest_log))
			vs_debug("%s: queue %u set up outside guest RAM or misaligned", v->ops->name,
				 q->index);
		needs_reset_locked(v);
		return;
	}
	q->enabled = true;
}

static void kick(struct queue *q)
{
	uint64_t one = 1;
	if (write(q->kick_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wakeup is pending anyway */
	}
}

void vs_virtio_process(struct vs_virtio *v, uint16_t index)
{
	struct queue *q;
	if (index >= v->ops->num_queues)
		return;
	q = &v->queues[index];
	pthread_mutex_lock(&v->lock);
	if ((v->status & VS_VIRTIO_S_DRIVER_OK) && !(v->status & VS_VIRTIO_S_NEEDS_RESET) && q->enabled &&
	    !q->vq.broken)
		v->ops->queue_notify(v->opaque, v, q->index);
	pthread_mutex_unlock(&v->lock);
}

/* I/O thread: a notification arrived. */
static void on_kick(void *opaque, uint32_t events)
{
	struct queue *q = opaque;
	uint64_t n;
	(void)events;
	if (read(q->kick_fd, &n, sizeof(n)) < 0)
		return;
	vs_virtio_process(q->v, q->index);
}

/* ---- Common configuration ---- */

static bool features_ok(const struct vs_virtio *v)
{
	return (v->driver_features & ~v->device_features) == 0 &&
	       (v->driver_features & VS_VIRTIO_F_VERSION_1);
}

static void write_status_locked(struct vs_virtio *v, uint8_t val)
{
	uint8_t old = v->status;
	if (val == 0) {
		reset_locked(v);
		return;
	}
	if ((val & VS_VIRTIO_S_FEATURES_OK) && !(old & VS_VIRTIO_S_FEATURES_OK) && !features_ok(v))
		val &= (uint8_t)~VS_VIRTIO_S_FEATURES_OK; /* the driver reads it back and gives up */
	/* NEEDS_RESET is the device's to set, and stays until a reset. */
	v->status = (uint8_t)((val & ~VS_VIRTIO_S_NEEDS_RESET) | (old & VS_VIRTIO_S_NEEDS_RESET));
	if ((v->status & VS_VIRTIO_S_DRIVER_OK) && !(old & VS_VIRTIO_S_DRIVER_OK))
		for (int i = 0; i < v->ops->num_queues; i++)
			if (v->queues[i].enabled)
				kick(&v->queues[i]); /* buffers added before DRIVER_OK */
}

static struct queue *selected(struct vs_virtio *v)
{
	return v->queue_select < v->ops->num_queues ? &v->queues[v->queue_select] : NULL;
}

static void common_snapshot(struct vs_virtio *v, uint8_t *c)
{
	struct queue *q = selected(v);
	uint64_t df = v->dfselect < 2 ? v->device_features >> (32 * v->dfselect) : 0;
	uint64_t gf = v->gfselect < 2 ? v->driver_features >> (32 * v->gfselect) : 0;
	memset(c, 0, VS_VIRTIO_COMMON_LEN);
#define PUT(off, val, n)                                             \
	do {                                                         \
		uint64_t val_ = (val);                               \
		for (int i_ = 0; i_ < (n); i_++)                     \
			c[(off) + i_] = (uint8_t)(val_ >> (8 * i_)); \
	} while (0)
	PUT(VS_VIRTIO_COMMON_DFSELECT, v->dfselect, 4);
	PUT(VS_VIRTIO_COMMON_DF, (uint32_t)df, 4);
	PUT(VS_VIRTIO_COMMON_GFSELECT, v->gfselect, 4);
	PUT(VS_VIRTIO_COMMON_GF, (uint32_t)gf, 4);
	PUT(VS_VIRTIO_COMMON_MSIX, v->config_vector, 2);
	PUT(VS_VIRTIO_COMMON_NUMQ, v->ops->num_queues, 2);
	PUT(VS_VIRTIO_COMMON_STATUS, v->status, 1);
	PUT(VS_VIRTIO_COMMON_Q_SELECT, v->queue_select, 2);
	if (q) {
		PUT(VS_VIRTIO_COMMON_Q_SIZE, q->size, 2);
		PUT(VS_VIRTIO_COMMON_Q_MSIX, q->msix_vector, 2);
		PUT(VS_VIRTIO_COMMON_Q_ENABLE, q->enabled, 2);
		PUT(VS_VIRTIO_COMMON_Q_NOFF, q->index, 2);
		PUT(VS_VIRTIO_COMMON_Q_DESCLO, q->desc, 8);
		PUT(VS_VIRTIO_COMMON_Q_AVAILLO, q->avail, 8);
		PUT(VS_VIRTIO_COMMON_Q_USEDLO, q->used, 8);
	}
#undef PUT
}

static uint16_t checked_vector(struct vs_virtio *v, uint32_t val)
{
	/* A vector the function does not have reads back as NO_VECTOR, which
	 * tells the driver the mapping failed (section 4.1.5.1.2). */
	return val < v->func.msix.nvec ? (uint16_t)val : VS_VIRTIO_NO_VECTOR;
}

static void set_addr(uint64_t *field, uint64_t off, uint32_t val, uint32_t size)
{
	if (size == 8)
		*field = val; /* low half only reaches here through the 4-byte path */
	else if (off & 4)
		*field = (*field & 0xffffffffull) | (uint64_t)val << 32;
	else
		*field = (*field & ~0xffffffffull) | val;
}

static void common_write_locked(struct vs_virtio *v, uint64_t off, uint32_t val, uint32_t size)
{
	struct queue *q = selected(v);
	switch (off) {
	case VS_VIRTIO_COMMON_DFSELECT:
		v->dfselect = val;
		break;
	case VS_VIRTIO_COMMON_GFSELECT:
		v->gfselect = val;
		break;
	case VS_VIRTIO_COMMON_GF:
		if (v->gfselect < 2 && !(v->status & VS_VIRTIO_S_FEATURES_OK)) {
			unsigned int sh = 32 * v->gfselect;
			v->driver_features = (v->driver_features & ~(0xffffffffull << sh)) | (uint64_t)val
												 << sh;
		}
		break;
	case VS_VIRTIO_COMMON_MSIX:
		v->config_vector = checked_vector(v, val);
		break;
	case VS_VIRTIO_COMMON_STATUS:
		write_status_locked(v, (uint8_t)val);
		break;
	case VS_VIRTIO_COMMON_Q_SELECT:
		v->queue_select = (uint16_t)val;
		break;
	case VS_VIRTIO_COMMON_Q_SIZE:
		/* Smaller powers of two only, and only while disabled. */
		if (q && !q->enabled && val && val <= v->ops->queue_max && !(val & (val - 1)))
			q->size = (uint16_t)val;
		break;
	case VS_VIRTIO_COMMON_Q_MSIX:
		if (q)
			q->msix_vector = checked_vector(v, val);
		break;
	case VS_VIRTIO_COMMON_Q_ENABLE:
		/* Only 1 may be written; disabling is done by a reset. A queue
		 * enabled after DRIVER_OK (out of order) is served as well,
		 * once notified. */
		if (q && val == 1)
			enable_queue_locked(v, q);
		break;
	case VS_VIRTIO_COMMON_Q_DESCLO:
	case VS_VIRTIO_COMMON_Q_DESCHI:
		if (q && !q->enabled)
			set_addr(&q->desc, off, val, size);
		break;
	case VS_VIRTIO_COMMON_Q_AVAILLO:
	case VS_VIRTIO_COMMON_Q_AVAILHI:
		if (q && !q->enabled)
			set_addr(&q->avail, off, val, size);
		break;
	case VS_VIRTIO_COMMON_Q_USEDLO:
	case VS_VIRTIO_COMMON_Q_USEDHI:
		if (q && !q->enabled)
			set_addr(&q->used, off, val, size);
		break;
	default:
		break; /* read-only or reserved */
	}
}

/* ---- BAR 0 ---- */

static uint64_t le_get(const uint8_t *p, uint32_t size)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void bar_read(void *opaque, uint64_t off, uint8_t *data, uint32_t size)
{
	struct vs_virtio *v = opaque;
	memset(data, 0, size);
	if (off < VS_VIRTIO_BAR_COMMON + VS_VIRTIO_COMMON_LEN) {
		uint8_t c[VS_VIRTIO_COMMON_LEN];
		if (off + size > VS_VIRTIO_COMMON_LEN)
			return;
		pthread_mutex_lock(&v->lock);
		common_snapshot(v, c);
		pthread_mutex_unlock(&v->lock);
		memcpy(data, c + off, size);
	} else if (off == VS_VIRTIO_BAR_ISR) {
		/* Reading clears it and lowers INTx (section 4.1.4.5). */
		pthread_mutex_lock(&v->isr_lock);
		data[0] = v->isr;
		v->isr = 0;
		vs_pci_func_set_intx(&v->func, false);
		pthread_mutex_unlock(&v->isr_lock);
	} else if (off >= VS_VIRTIO_BAR_DEVICE && off < VS_VIRTIO_BAR_DEVICE + VS_VIRTIO_DEVICE_MAX) {
		uint32_t o = (uint32_t)(off - VS_VIRTIO_BAR_DEVICE);
		if (o + size > v->ops->config_len || !v->ops->config_read)
			return;
		pthread_mutex_lock(&v->lock);
		v->ops->config_read(v->opaque, o, data, size);
		pthread_mutex_unlock(&v->lock);
	}
}

static void bar_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t size)
{
	struct vs_virtio *v = opaque;
	if (off >= VS_VIRTIO_BAR_NOTIFY &&
	    off < VS_VIRTIO_BAR_NOTIFY + VS_VIRTIO_NOTIFY_MULT * (uint64_t)v->ops->num_queues) {
		/* Any write there names its queue by address (we offer no
		 * notification data): signal it and return to the guest. */
		kick(&v->queues[(off - VS_VIRTIO_BAR_NOTIFY) / VS_VIRTIO_NOTIFY_MULT]);
	} else if (off < VS_VIRTIO_BAR_COMMON + VS_VIRTIO_COMMON_LEN) {
		if (off + size > VS_VIRTIO_COMMON_LEN || (off & (size - 1)))
			return;
		pthread_mutex_lock(&v->lock);
		if (size == 8) {
			common_write_locked(v, off, (uint32_t)le_get(data, 4), 4);
			common_write_locked(v, off + 4, (uint32_t)le_get(data + 4, 4), 4);
		} else {
			common_write_locked(v, off, (uint32_t)le_get(data, size), size);
		}
		pthread_mutex_unlock(&v->lock);
	} else if (off >= VS_VIRTIO_BAR_DEVICE && off < VS_VIRTIO_BAR_DEVICE + VS_VIRTIO_DEVICE_MAX) {
		uint32_t o = (uint32_t)(off - VS_VIRTIO_BAR_DEVICE);
		if (o + size > v->ops->config_len || !v->ops->config_write)
			return;
		pthread_mutex_lock(&v->lock);
		v->ops->config_write(v->opaque, o, data, size);
		pthread_mutex_unlock(&v->lock);
	}
}

const struct vs_bus_ops vs_virtio_bar_ops = { bar_read, bar_write };

/* ---- The PCI configuration access capability (section 4.1.4.9) ---- */

static bool pci_cfg_window(struct vs_virtio *v, uint64_t *off, uint32_t *len)
{
	const uint8_t *c = &v->func.cfg[v->pci_cfg_cap];
	*off = le_get(c + CAP_OFFSET, 4);
	*len = (uint32_t)le_get(c + CAP_LENGTH, 4);
	return c[CAP_BAR] == VIRTIO_BAR && (*len == 1 || *len == 2 || *len == 4) && !(*off & (*len - 1)) &&
	       *off + *len <= VS_VIRTIO_BAR_SIZE;
}

/* Called by the PCI host with its config lock held: BAR 0's handlers take
 * only the device lock, so reaching them from here is safe. */
static void pci_cfg_write(void *opaque, uint32_t off, uint32_t size)
{
	struct vs_virtio *v = opaque;
	uint32_t data_off = v->pci_cfg_cap + CAP_PCI_CFG_DATA, len;
	uint64_t bar_off;
	if (off + size <= data_off || off >= data_off + 4 || !pci_cfg_window(v, &bar_off, &len))
		return;
	bar_write(v, bar_off, &v->func.cfg[data_off], len);
}

static void pci_cfg_read(void *opaque, uint32_t off, uint8_t *data, uint32_t size)
{
	struct vs_virtio *v = opaque;
	uint32_t data_off = v->pci_cfg_cap + CAP_PCI_CFG_DATA, len;
	uint64_t bar_off;
	uint8_t buf[4] = { 0 };
	if (off + size <= data_off || off >= data_off + 4 || !pci_cfg_window(v, &bar_off, &len))
		return;
	bar_read(v, bar_off, buf, len);
	for (uint32_t i = 0; i < size; i++)
		if (off + i >= data_off && off + i < data_off + 4)
			data[i] = buf[off + i - data_off];
}

/* ---- Doorbells (ioeventfd under KVM) ---- */

static void bind_doorbells(struct vs_virtio *v, uint64_t base, bool on)
{
	for (uint16_t q = 0; q < v->ops->num_queues; q++) {
		uint64_t gpa = base + VS_VIRTIO_BAR_NOTIFY + (uint64_t)q * VS_VIRTIO_NOTIFY_MULT;
		if (v->doorbell.bind(v->doorbell.opaque, gpa, v->queues[q].kick_fd, on) < 0)
			vs_debug("%s: %s the doorbell of queue %u at 0x%llx failed", v->ops->name,
				 on ? "binding" : "unbinding", q, (unsigned long long)gpa);
	}
}

static void bar_mapped(void *opaque, int bar, uint64_t addr, bool mapped)
{
	struct vs_virtio *v = opaque;
	if (bar != VIRTIO_BAR || !v->doorbell.bind)
		return;
	if (!mapped && v->doorbell_base == addr) {
		bind_doorbells(v, addr, false);
		v->doorbell_base = 0;
	} else if (mapped) {
		bind_doorbells(v, addr, true);
		v->doorbell_base = addr;
	}
}

static const struct vs_pci_func_ops func_ops = { pci_cfg_write, pci_cfg_read, bar_mapped };

/* ---- Creation ---- */

static void add_virtio_cap(struct vs_pci_func *f, uint8_t type, uint32_t off, uint32_t len, uint32_t extra,
			   uint8_t caplen)
{
	uint8_t cap[20] = { 0 };
	cap[2] = caplen;
	cap[CAP_CFG_TYPE] = type;
	cap[CAP_BAR] = type == VS_VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_BAR;
	for (int i = 0; i < 4; i++) {
		cap[CAP_OFFSET + i] = (uint8_t)(off >> (8 * i));
		cap[CAP_LENGTH + i] = (uint8_t)(len >> (8 * i));
		cap[16 + i] = (uint8_t)(extra >> (8 * i));
	}
	vs_pci_func_add_cap(f, VS_PCI_CAP_ID_VENDOR, cap, caplen);
}

int vs_virtio_create(const struct vs_virtio_config *cfg, struct vs_virtio **out, struct vs_error *err)
{
	const struct vs_virtio_ops *ops = cfg->ops;
	struct vs_pci_bar_def bar = { VS_VIRTIO_BAR_SIZE, VS_PCI_BAR_MEM64, &vs_virtio_bar_ops, NULL,
				      ops->name };
	struct vs_virtio *v;
	uint8_t pci_cfg;
	if (ops->num_queues == 0 || ops->num_queues > VS_VIRTIO_MAX_QUEUES ||
	    ops->config_len > VS_VIRTIO_DEVICE_MAX || !ops->queue_max ||
	    (ops->queue_max & (ops->queue_max - 1)) || !ops->queue_notify)
		return vs_error_msg(err, "internal: virtio device `%s` is malformed", ops->name);
	v = calloc(1, sizeof(*v));
	if (!v)
		return vs_error_set(err, ENOMEM, "allocating virtio device %s", ops->name);
	v->ops = ops;
	v->opaque = cfg->opaque;
	v->mem = cfg->mem;
	v->device_features = ops->features | TRANSPORT_FEATURES;
	/* Packed rings keep a per-buffer record bounded in size. */
	if (ops->queue_max > VS_VQ_PACKED_MAX_SIZE)
		v->device_features &= ~VS_VIRTIO_F_RING_PACKED;
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->isr_lock, NULL);
	v->guest_log = (struct vs_ratelimit)VS_RATELIMIT_INIT(1.0, 10.0);
	v->loop = cfg->loop;
	v->doorbell = cfg->doorbell;
	for (int i = 0; i < VS_VIRTIO_MAX_QUEUES; i++)
		v->queues[i].kick_fd = -1;
	for (uint16_t i = 0; i < ops->num_queues; i++) {
		struct queue *q = &v->queues[i];
		q->index = i;
		q->v = v;
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0) {
			vs_error_set(err, errno, "eventfd for %s", ops->name);
			goto fail;
		}
		if (vs_loop_add(cfg->loop, q->kick_fd, EPOLLIN, on_kick, q, err) < 0)
			goto fail;
	}

	vs_pci_func_init(&v->func, cfg->pci, VIRTIO_VENDOR, (uint16_t)(VIRTIO_DEVICE_BASE + ops->device_type),
			 ops->pci_class, 1);
	vs_pci_func_set_subsystem(&v->func, VIRTIO_VENDOR, VIRTIO_SUBSYS_ID);
	v->func.ops = &func_ops;
	reset_locked(v);
	v->func.opaque = v;
	bar.opaque = v;
	vs_pci_func_set_bar(&v->func, VIRTIO_BAR, &bar);
	add_virtio_cap(&v->func, VS_VIRTIO_PCI_CAP_COMMON, VS_VIRTIO_BAR_COMMON, VS_VIRTIO_COMMON_LEN, 0,
		       CAP_LEN);
	add_virtio_cap(&v->func, VS_VIRTIO_PCI_CAP_NOTIFY, VS_VIRTIO_BAR_NOTIFY,
		       VS_VIRTIO_NOTIFY_MULT * ops->num_queues, VS_VIRTIO_NOTIFY_MULT, CAP_LEN + 4);
	add_virtio_cap(&v->func, VS_VIRTIO_PCI_CAP_ISR, VS_VIRTIO_BAR_ISR, 1, 0, CAP_LEN);
	if (ops->config_len)
		add_virtio_cap(&v->func, VS_VIRTIO_PCI_CAP_DEVICE, VS_VIRTIO_BAR_DEVICE, ops->config_len, 0,
			       CAP_LEN);
	pci_cfg = v->func.next_cap;
	add_virtio_cap(&v->func, VS_VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, CAP_LEN + 4);
	v->pci_cfg_cap = pci_cfg;
	/* bar, offset, length and data are the driver's to write. */
	v->func.wmask[pci_cfg + CAP_BAR] = 0xff;
	memset(&v->func.wmask[pci_cfg + CAP_OFFSET], 0xff, 8);
	memset(&v->func.wmask[pci_cfg + CAP_PCI_CFG_DATA], 0xff, 4);
	/* One vector for configuration changes plus one per queue. */
	if (vs_pci_func_add_msix(&v->func, (uint16_t)(ops->num_queues + 1), VIRTIO_MSIX_BAR) < 0) {
		vs_error_msg(err, "internal: no room for MSI-X in %s's configuration space", ops->name);
		goto fail;
	}
	if (vs_pci_host_plug(cfg->pci, &v->func, cfg->slot, err) < 0)
		goto fail;
	*out = v;
	return 0;
fail:
	vs_virtio_destroy(v);
	return -1;
}

void vs_virtio_destroy(struct vs_virtio *v)
{
	if (!v)
		return;
	if (v->doorbell_base)
		bind_doorbells(v, v->doorbell_base, false);
	for (int i = 0; i < VS_VIRTIO_MAX_QUEUES; i++) {
		if (v->queues[i].kick_fd < 0)
			continue;
		if (v->loop)
			vs_loop_remove(v->loop, v->queues[i].kick_fd);
		close(v->queues[i].kick_fd);
	}
	pthread_mutex_destroy(&v->isr_lock);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

struct vs_vq *vs_virtio_queue(struct vs_virtio *v, uint16_t q)
{
	return &v->queues[q].vq;
}

uint64_t vs_virtio_features(const struct vs_virtio *v)
{
	return v->driver_features;
}

int vs_virtio_kick_fd(const struct vs_virtio *v, uint16_t q)
{
	return q < v->ops->num_queues ? v->queues[q].kick_fd : -1;
}

uint64_t vs_virtio_notify_addr(struct vs_virtio *v, uint16_t q)
{
	const struct vs_pci_bar *b = &v->func.bars[VIRTIO_BAR];
	if (q >= v->ops->num_queues || !b->mapped)
		return 0;
	return b->mapped_addr + VS_VIRTIO_BAR_NOTIFY + (uint64_t)q * VS_VIRTIO_NOTIFY_MULT;
}

struct vs_pci_func *vs_virtio_pci_func(struct vs_virtio *v)
{
	return &v->func;
}
