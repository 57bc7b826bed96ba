/* virtio-blk (virtio 1.2 section 5.2) on a vs_blk_backend: request queues
 * (one, or several with VIRTIO_BLK_F_MQ so a guest can give each CPU its
 * own) served synchronously on the I/O thread. A request is a header
 * (type, sector) in the readable part, data, and a status byte as the last
 * writable byte; anything else is answered with an error status, never by
 * touching memory outside the chain. */
#include "devices/virtio/blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLK_TYPE 2
#define BLK_CLASS 0x018000 /* mass storage, other */
#define BLK_QUEUE_SIZE 256
#define SECTOR 512ull

#define F_SEG_MAX (1ull << 2)
#define F_RO (1ull << 5)
#define F_BLK_SIZE (1ull << 6)
#define F_FLUSH (1ull << 9)
#define F_MQ (1ull << 12)
#define F_DISCARD (1ull << 13)
#define F_WRITE_ZEROES (1ull << 14)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13

#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

#define ID_BYTES 20
#define SEG_MAX (VS_VQ_MAX_IOV - 2)  /* header and status take a segment each */
#define MAX_RANGES 16		     /* discard / write-zeroes segments per request */
#define MAX_RANGE_SECTORS (1u << 22) /* 2 GiB */
#define MAX_REQUEST_BYTES (1ull << 31)

/* Device configuration (struct virtio_blk_config), the fields offered. */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_LEN 60

struct blk {
	struct vs_virtio *virtio; /* first: tests/fuzz/fuzz_virtio_pci.c relies on it */
	struct vs_blk_backend be;
	struct vs_virtio_ops ops;
	uint8_t config[CFG_LEN];
	char id[ID_BYTES];
	struct vs_vq_elem elem;
	struct iovec iov[VS_VQ_MAX_IOV];
};

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The data segments of a request: readable ones after the 16-byte header,
 * or writable ones before the status byte. Returns their count. */
static int data_iov(struct blk *b, const struct vs_vq_elem *e, bool readable, uint64_t *len)
{
	uint64_t skip = readable ? 16 : 0;
	uint64_t keep = readable ? e->out_len - 16 : e->in_len - 1;
	unsigned int first = readable ? 0 : e->nout,
		     end = readable ? e->nout : (unsigned int)e->nout + e->nin;
	int n = 0;
	*len = keep;
	for (unsigned int i = first; i < end && keep > 0; i++) {
		uint64_t seg = e->iov[i].len;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		seg -= skip;
		if (seg > keep)
			seg = keep;
		b->iov[n++] = (struct iovec){ e->iov[i].base + skip, seg };
		keep -= seg;
		skip = 0;
	}
	return n;
}

/* Whole sectors inside the disk, and a request the used ring's 32-bit
 * length can report (drivers send far less). */
static bool in_range(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = b->be.size / SECTOR;
	return (bytes % SECTOR) == 0 && bytes <= MAX_REQUEST_BYTES && sector <= sectors &&
	       bytes / SECTOR <= sectors - sector;
}

/* Discard or write-zeroes: an array of {sector, num_sectors, flags}. */
static uint8_t do_ranges(struct blk *b, const struct vs_vq_elem *e, uint32_t type)
{
	uint64_t n = (e->out_len - 16) / 16;
	if ((e->out_len - 16) % 16 || n == 0 || n > MAX_RANGES)
		return S_IOERR;
	if (b->be.readonly)
		return S_IOERR;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t r[16];
		uint64_t sector;
		uint32_t count, flags;
		int rc;
		vs_vq_elem_read(e, 16 + 16 * i, r, sizeof(r));
		memcpy(&sector, r, 8);
		memcpy(&count, r + 8, 4);
		memcpy(&flags, r + 12, 4);
		/* flags: bit 0 unmap (write-zeroes only); the rest reserved. */
		if (count > MAX_RANGE_SECTORS || (flags & ~1u) || (type == T_DISCARD && flags) ||
		    !in_range(b, sector, (uint64_t)count * SECTOR))
			return S_IOERR;
		rc = type == T_DISCARD
			 ? b->be.ops->discard(b->be.opaque, sector * SECTOR, count * SECTOR)
			 : b->be.ops->write_zeroes(b->be.opaque, sector * SECTOR, count * SECTOR);
		if (rc < 0)
			return S_IOERR;
	}
	return S_OK;
}

/* Serve one request; returns the bytes written into the chain. */
static uint32_t serve(struct blk *b, const struct vs_vq_elem *e)
{
	uint8_t hdr[16], status = S_OK;
	uint32_t type, written = 1;
	uint64_t sector, len;
	int n;
	if (e->out_len < 16 || e->in_len < 1)
		return 0; /* no header or no room for a status: nothing to answer */
	vs_vq_elem_read(e, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case T_IN:
		n = data_iov(b, e, false, &len);
		if (!in_range(b, sector, len) ||
		    b->be.ops->readv(b->be.opaque, b->iov, n, sector * SECTOR) < 0)
			status = S_IOERR;
		else
			written += (uint32_t)len;
		break;
	case T_OUT:
		n = data_iov(b, e, true, &len);
		if (b->be.readonly || !in_range(b, sector, len) ||
		    b->be.ops->writev(b->be.opaque, b->iov, n, sector * SECTOR) < 0)
			status = S_IOERR;
		break;
	case T_FLUSH:
		if (b->be.ops->flush(b->be.opaque) < 0)
			status = S_IOERR;
		break;
	case T_GET_ID:
		if (e->in_len - 1 < ID_BYTES) {
			status = S_IOERR;
			break;
		}
		vs_vq_elem_write(e, 0, b->id, ID_BYTES);
		written += ID_BYTES;
		break;
	case T_DISCARD:
	case T_WRITE_ZEROES:
		if (!(vs_virtio_features(b->virtio) & (type == T_DISCARD ? F_DISCARD : F_WRITE_ZEROES)))
			status = S_UNSUPP;
		else
			status = do_ranges(b, e, type);
		break;
	default:
		status = S_UNSUPP;
	}
	vs_vq_elem_write(e, e->in_len - 1, &status, 1);
	return written;
}

static void blk_notify(void *opaque, struct vs_virtio *v, uint16_t q)
{
	struct blk *b = opaque;
	struct vs_vq *vq = vs_virtio_queue(v, q);
	while (vs_vq_pop(vq, &b->elem) > 0)
		vs_vq_push(vq, b->elem.head, serve(b, &b->elem));
	vs_virtio_queue_done(v, q);
}

static void blk_config_read(void *opaque, uint32_t off, uint8_t *data, uint32_t size)
{
	struct blk *b = opaque;
	memcpy(data, b->config + off, size);
}

static void blk_destroy(void *opaque)
{
	struct blk *b = opaque;
	vs_virtio_destroy(b->virtio);
	if (b->be.ops && b->be.ops->close)
		b->be.ops->close(b->be.opaque);
	free(b);
}

int vs_virtio_blk_create(const struct vs_virtio_config *env, const struct vs_blk_backend *be, const char *id,
			 unsigned int queues, struct vs_device *dev, struct vs_error *err)
{
	struct vs_virtio_config cfg = *env;
	struct blk *b;
	if (queues < 1 || queues > VS_VIRTIO_BLK_MAX_QUEUES) {
		be->ops->close(be->opaque);
		return vs_error_msg(err, "virtio-blk: %u queues is outside 1..%d", queues,
				    VS_VIRTIO_BLK_MAX_QUEUES);
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		be->ops->close(be->opaque);
		return vs_error_set(err, ENOMEM, "allocating virtio-blk");
	}
	b->be = *be;
	/* NUL-padded, not terminated when 20 long (section 5.2.6). */
	memcpy(b->id, id, strnlen(id, ID_BYTES));
	b->ops = (struct vs_virtio_ops){
		.name = "virtio-blk",
		.device_type = BLK_TYPE,
		.pci_class = BLK_CLASS,
		.features = F_SEG_MAX | F_BLK_SIZE | F_FLUSH,
		.num_queues = (uint16_t)queues,
		.queue_max = BLK_QUEUE_SIZE,
		.config_len = CFG_LEN,
		.config_read = blk_config_read,
		.queue_notify = blk_notify,
	};
	if (be->readonly)
		b->ops.features |= F_RO;
	if (queues > 1) {
		b->ops.features |= F_MQ;
		put_le(b->config + CFG_NUM_QUEUES, queues, 2);
	}
	if (be->ops->discard && !be->readonly) {
		b->ops.features |= F_DISCARD;
		put_le(b->config + CFG_MAX_DISCARD_SECTORS, MAX_RANGE_SECTORS, 4);
		put_le(b->config + CFG_MAX_DISCARD_SEG, MAX_RANGES, 4);
		put_le(b->config + CFG_DISCARD_ALIGN, 8, 4); /* 4 KiB: the host's hole granularity */
	}
	if (be->ops->write_zeroes && !be->readonly) {
		b->ops.features |= F_WRITE_ZEROES;
		put_le(b->config + CFG_MAX_WZ_SECTORS, MAX_RANGE_SECTORS, 4);
		put_le(b->config + CFG_MAX_WZ_SEG, MAX_RANGES, 4);
		b->config[CFG_WZ_MAY_UNMAP] = 0;
	}
	put_le(b->config + CFG_CAPACITY, be->size / SECTOR, 8);
	put_le(b->config + CFG_SEG_MAX, SEG_MAX, 4);
	put_le(b->config + CFG_BLK_SIZE, SECTOR, 4);
	cfg.ops = &b->ops;
	cfg.opaque = b;
	if (vs_virtio_create(&cfg, &b->virtio, err) < 0) {
		blk_destroy(b);
		return -1;
	}
	*dev = (struct vs_device){ .name = "virtio-blk", .opaque = b, .destroy = blk_destroy };
	return 0;
}
