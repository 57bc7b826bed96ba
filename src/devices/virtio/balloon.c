#include "devices/virtio/balloon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BALLOON_TYPE 5
#define BALLOON_CLASS 0x058000 /* memory controller, other */
#define BALLOON_QUEUE_SIZE 128
#define BALLOON_PAGE 4096ull /* the balloon's page size, whatever the host's */
#define CFG_LEN 8	     /* num_pages, actual */

struct balloon {
	struct vs_virtio *virtio; /* first: tests/fuzz/fuzz_virtio_pci.c relies on it */
	const struct vs_guest_mem *mem;
	uint64_t host_page;
	uint32_t actual; /* what the driver says it holds, under the device lock */
	struct vs_vq_elem elem;
};

/* Drop the host pages wholly inside [p, p + len): a range that only covers
 * part of a host page leaves that page alone (its other part may be in
 * use). Private anonymous guest RAM reads back as zeros afterwards, which
 * is all a driver may expect of memory it handed over. */
static void discard(const struct balloon *b, uint8_t *p, uint64_t len)
{
	uintptr_t start = ((uintptr_t)p + b->host_page - 1) & ~(uintptr_t)(b->host_page - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(uintptr_t)(b->host_page - 1);
	if (end > start)
		madvise((void *)start, end - start, MADV_DONTNEED);
}

/* inflateq: readable arrays of le32 page frame numbers (4 KiB pages). */
static void inflate(struct balloon *b, const struct vs_vq_elem *e)
{
	uint32_t pfn;
	for (uint64_t off = 0; off + 4 <= e->out_len; off += 4) {
		if (vs_vq_elem_read(e, off, &pfn, 4) != 4)
			break;
		uint64_t gpa = (uint64_t)pfn * BALLOON_PAGE;
		uint8_t *p = vs_gpa_ptr(b->mem, gpa, BALLOON_PAGE);
		if (p) /* a frame outside RAM is the guest's mistake: ignore it */
			discard(b, p, BALLOON_PAGE);
	}
}

/* reporting_vq: the free ranges themselves, as device-writable buffers
 * (already checked to lie in guest RAM by the queue code). */
static void report(struct balloon *b, const struct vs_vq_elem *e)
{
	for (unsigned int i = e->nout; i < (unsigned int)e->nout + e->nin; i++)
		discard(b, e->iov[i].base, e->iov[i].len);
}

static void balloon_notify(void *opaque, struct vs_virtio *v, uint16_t q)
{
	struct balloon *b = opaque;
	struct vs_vq *vq = vs_virtio_queue(v, q);
	while (vs_vq_pop(vq, &b->elem) > 0) {
		if (q == VS_BALLOON_Q_INFLATE)
			inflate(b, &b->elem);
		else if (q == VS_BALLOON_Q_REPORTING)
			report(b, &b->elem);
		/* deflate: the pages come back on the guest's next touch */
		vs_vq_push(vq, b->elem.head, 0);
	}
	vs_virtio_queue_done(v, q);
}

static void balloon_config_read(void *opaque, uint32_t off, uint8_t *data, uint32_t size)
{
	struct balloon *b = opaque;
	uint8_t cfg[CFG_LEN] = { 0 }; /* num_pages 0: no inflation asked */
	uint32_t actual = b->actual;
	memcpy(cfg + 4, &actual, 4);
	memcpy(data, cfg + off, size);
}

static void balloon_config_write(void *opaque, uint32_t off, const uint8_t *data, uint32_t size)
{
	struct balloon *b = opaque;
	uint8_t cfg[4];
	/* Only `actual` is the driver's to write. */
	if (off < 4 || off + size > CFG_LEN)
		return;
	memcpy(cfg, &b->actual, 4);
	memcpy(cfg + (off - 4), data, size);
	memcpy(&b->actual, cfg, 4);
}

static void balloon_reset(void *opaque)
{
	struct balloon *b = opaque;
	b->actual = 0;
}

static const struct vs_virtio_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_type = BALLOON_TYPE,
	.pci_class = BALLOON_CLASS,
	.features = VS_BALLOON_F_REPORTING,
	.num_queues = 3,
	.queue_max = BALLOON_QUEUE_SIZE,
	.config_len = CFG_LEN,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_notify,
	.reset = balloon_reset,
};

static void balloon_destroy(void *opaque)
{
	struct balloon *b = opaque;
	vs_virtio_destroy(b->virtio);
	free(b);
}

int vs_virtio_balloon_create(const struct vs_virtio_config *env, struct vs_device *dev, struct vs_error *err)
{
	struct vs_virtio_config cfg = *env;
	struct balloon *b = calloc(1, sizeof(*b));
	long page = sysconf(_SC_PAGESIZE);
	if (!b)
		return vs_error_set(err, ENOMEM, "allocating virtio-balloon");
	b->mem = env->mem;
	b->host_page = page > 0 ? (uint64_t)page : 4096;
	cfg.ops = &balloon_ops;
	cfg.opaque = b;
	if (vs_virtio_create(&cfg, &b->virtio, err) < 0) {
		free(b);
		return -1;
	}
	*dev = (struct vs_device){ .name = "virtio-balloon", .opaque = b, .destroy = balloon_destroy };
	return 0;
}
