/* virtio-blk (virtio 1.2 section 5.2) on the block layer: request queues
 * (one, or several with VIRTIO_BLK_F_MQ so a guest can give each CPU its
 * own) whose chains become asynchronous block-layer requests (blk_io.c);
 * many may be in flight, and each is answered when it completes. A request
 * is a header (type, sector) in the readable part, data, and a status byte
 * as the last writable byte; anything else is answered with an error
 * status, never by touching memory outside the chain.
 *
 * A device reset does not wait for requests in flight (the vCPU must not
 * block on host I/O): they finish against the image, but their answers
 * are dropped, and requests the throttle still held are cancelled. */
#include "devices/virtio/blk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/virtio/blk_req.h"

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

#define ID_BYTES 20
#define SEG_MAX (VS_VQ_MAX_IOV - 2)  /* header and status take a segment each */
#define MAX_RANGE_SECTORS (1u << 22) /* 2 GiB */
/* Far above what drivers send (Linux: 1280 KiB unless raised), low enough
 * that copies made for a request stay modest. */
#define MAX_REQUEST_BYTES (32ull << 20)
#define BYTES_BUDGET (64ull << 20) /* data in flight per disk before chains wait in the ring */

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

_Static_assert(CFG_LEN <= sizeof(((struct blk *)0)->config), "config space fits");
_Static_assert(ID_BYTES == sizeof(((struct blk *)0)->id), "serial fits");

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The data segments of a request: readable ones after the 16-byte header,
 * or writable ones before the status byte. */
static void data_iov(struct blk_req *r, const struct vs_vq_elem *e, bool readable, uint64_t *len)
{
	uint64_t skip = readable ? 16 : 0;
	uint64_t keep = readable ? e->out_len - 16 : e->in_len - 1;
	unsigned int first = readable ? 0 : e->nout,
		     end = readable ? e->nout : (unsigned int)e->nout + e->nin;
	*len = keep;
	r->niov = 0;
	for (unsigned int i = first; i < end && keep > 0; i++) {
		uint64_t seg = e->iov[i].len;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		seg -= skip;
		if (seg > keep)
			seg = keep;
		r->iov[r->niov++] = (struct iovec){ e->iov[i].base + skip, seg };
		keep -= seg;
		skip = 0;
	}
}

/* Whole sectors inside the disk, and no larger than a request may be. */
static bool in_range(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = b->size / SECTOR;
	return (bytes % SECTOR) == 0 && bytes <= MAX_REQUEST_BYTES && sector <= sectors &&
	       bytes / SECTOR <= sectors - sector;
}

/* Discard or write-zeroes: an array of {sector, num_sectors, flags}, all
 * checked before any is done. Empty ranges are skipped. */
static uint8_t parse_ranges(struct blk *b, struct blk_req *r, const struct vs_vq_elem *e, uint32_t type)
{
	uint64_t n = (e->out_len - 16) / 16;
	if ((e->out_len - 16) % 16 || n == 0 || n > VS_BLK_MAX_RANGES || b->readonly)
		return VS_BLK_S_IOERR;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t raw[16];
		uint64_t sector;
		uint32_t count, flags;
		vs_vq_elem_read(e, 16 + 16 * i, raw, sizeof(raw));
		memcpy(&sector, raw, 8);
		memcpy(&count, raw + 8, 4);
		memcpy(&flags, raw + 12, 4);
		/* flags: bit 0 unmap (write-zeroes only); the rest reserved. */
		if (count > MAX_RANGE_SECTORS || (flags & ~1u) || (type == T_DISCARD && flags) ||
		    sector > b->size / SECTOR || count > b->size / SECTOR - sector)
			return VS_BLK_S_IOERR;
		if (count)
			r->ranges[r->nranges++] = (struct blk_range){ sector * SECTOR, count * SECTOR };
	}
	r->io.op = type == T_DISCARD ? VS_BLOCK_DISCARD : VS_BLOCK_WRITE_ZEROES;
	r->io.offset = r->ranges[0].off;
	r->io.len = r->ranges[0].len;
	return VS_BLK_S_OK;
}

/* The last writable byte of the chain (in_len >= 1 is checked). */
static uint8_t *status_byte(const struct vs_vq_elem *e)
{
	for (unsigned int i = (unsigned int)e->nout + e->nin; i-- > e->nout;)
		if (e->iov[i].len)
			return e->iov[i].base + e->iov[i].len - 1;
	return NULL;
}

/* Parse one chain and start it. A chain without header or status byte
 * cannot be answered with a status: it is returned with nothing written. */
static void start(struct blk *b, uint16_t q, const struct vs_vq_elem *e)
{
	uint8_t hdr[16];
	uint32_t type;
	uint64_t sector, len;
	struct blk_req *r = calloc(1, sizeof(*r) + sizeof(struct iovec) * ((size_t)e->nout + e->nin));
	if (!r) {
		/* No memory for the request: answer it as an error at once. */
		uint8_t *s = e->in_len ? status_byte(e) : NULL;
		if (s)
			*s = VS_BLK_S_IOERR;
		vs_vq_push(vs_virtio_queue(b->virtio, q), e->head, s ? 1 : 0);
		b->queues[q].inflight--;
		return;
	}
	r->b = b;
	r->queue = q;
	r->head = e->head;
	r->gen = b->gen;
	if (e->out_len < 16 || e->in_len < 1) {
		blk_io_finish(b, r);
		return;
	}
	r->status = status_byte(e);
	r->result = VS_BLK_S_IOERR;
	r->write_through = !(vs_virtio_features(b->virtio) & F_FLUSH);
	vs_vq_elem_read(e, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case T_IN:
	case T_OUT:
		data_iov(r, e, type == T_OUT, &len);
		if ((type == T_OUT && b->readonly) || !in_range(b, sector, len))
			break;
		r->result = VS_BLK_S_OK;
		r->io.op = type == T_IN ? VS_BLOCK_READ : VS_BLOCK_WRITE;
		r->io.offset = sector * SECTOR;
		r->written = type == T_IN ? (uint32_t)len : 0;
		blk_io_start(b, r);
		return;
	case T_FLUSH:
		r->result = VS_BLK_S_OK;
		r->io.op = VS_BLOCK_FLUSH;
		blk_io_start(b, r);
		return;
	case T_GET_ID:
		if (e->in_len - 1 >= ID_BYTES) {
			vs_vq_elem_write(e, 0, b->id, ID_BYTES);
			r->written = ID_BYTES;
			r->result = VS_BLK_S_OK;
		}
		break;
	case T_DISCARD:
	case T_WRITE_ZEROES:
		if (!(vs_virtio_features(b->virtio) & (type == T_DISCARD ? F_DISCARD : F_WRITE_ZEROES))) {
			r->result = VS_BLK_S_UNSUPP;
			break;
		}
		r->result = parse_ranges(b, r, e, type);
		if (r->result == VS_BLK_S_OK && r->nranges) {
			blk_io_start(b, r);
			return;
		}
		break;
	default:
		r->result = VS_BLK_S_UNSUPP;
	}
	blk_io_finish(b, r);
}

/* Push the queue's answered requests (those of an earlier generation only
 * go away). */
static void push_done(struct blk *b, uint16_t q)
{
	struct blk_queue *bq = &b->queues[q];
	struct vs_vq *vq = vs_virtio_queue(b->virtio, q);
	struct blk_req *r;
	while ((r = bq->done_head)) {
		bq->done_head = r->next;
		if (!bq->done_head)
			bq->done_tail = NULL;
		if (r->gen == b->gen) {
			if (r->status)
				*r->status = r->result;
			vs_vq_push(vq, r->head, r->status ? r->written + 1 : 0);
			bq->inflight--;
		}
		blk_req_free(r);
	}
}

static void blk_notify(void *opaque, struct vs_virtio *v, uint16_t q)
{
	struct blk *b = opaque;
	struct vs_vq *vq = vs_virtio_queue(v, q);
	if (b->gen_seen != b->gen) {
		/* First turn after a reset: what the throttle holds is stale. */
		b->gen_seen = b->gen;
		vs_block_cancel_throttled(b->bs, b->aio);
	}
	push_done(b, q);
	/* At most a ring's worth in flight, whatever the guest's indices say,
	 * and a bounded amount of data in all (copies made for a request can
	 * be as large as it). Chains left for want of budget are taken when
	 * completions free some. */
	b->queues[q].starved = false;
	while (b->queues[q].inflight < vq->size) {
		if (b->bytes_inflight >= BYTES_BUDGET) {
			b->queues[q].starved = true;
			break;
		}
		if (vs_vq_pop(vq, &b->elem) <= 0)
			break;
		b->queues[q].inflight++;
		start(b, q, &b->elem);
	}
	push_done(b, q);
	vs_virtio_queue_done(v, q);
	blk_io_throttle(b);
}

static void blk_reset(void *opaque)
{
	struct blk *b = opaque;
	b->gen++;
	for (int q = 0; q < VS_VIRTIO_BLK_MAX_QUEUES; q++)
		b->queues[q].inflight = 0;
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
	blk_io_release(b);
	vs_block_close(b->bs);
	free(b);
}

/* What to do about the usual reasons an image does not open. */
static void open_hint(struct vs_error *err, bool readonly)
{
	const char *hint = NULL;
	size_t n = strlen(err->msg);
	if (err->code == ENOENT)
		hint = " (give an existing image, or make one with `vessel img create`)";
	else if (err->code == ENOKEY)
		hint = " (add key-file=FILE holding its passphrase)";
	else if (!readonly && strstr(err->msg, "passphrase") == NULL &&
		 (err->code == EACCES || err->code == EROFS || err->code == EPERM ||
		  strstr(err->msg, "marked corrupt")))
		hint = " (add readonly=on to use it read-only)";
	if (hint)
		snprintf(err->msg + n, sizeof(err->msg) - n, "%s", hint);
}

static void fill_config(struct blk *b, unsigned int queues)
{
	b->ops.features = F_SEG_MAX | F_BLK_SIZE | F_FLUSH;
	if (b->readonly)
		b->ops.features |= F_RO;
	if (queues > 1) {
		b->ops.features |= F_MQ;
		put_le(b->config + CFG_NUM_QUEUES, queues, 2);
	}
	if (!b->readonly) {
		b->ops.features |= F_DISCARD | F_WRITE_ZEROES;
		put_le(b->config + CFG_MAX_DISCARD_SECTORS, MAX_RANGE_SECTORS, 4);
		put_le(b->config + CFG_MAX_DISCARD_SEG, VS_BLK_MAX_RANGES, 4);
		put_le(b->config + CFG_DISCARD_ALIGN, 8, 4); /* 4 KiB: the host's hole granularity */
		put_le(b->config + CFG_MAX_WZ_SECTORS, MAX_RANGE_SECTORS, 4);
		put_le(b->config + CFG_MAX_WZ_SEG, VS_BLK_MAX_RANGES, 4);
		b->config[CFG_WZ_MAY_UNMAP] = 0;
	}
	put_le(b->config + CFG_CAPACITY, b->size / SECTOR, 8);
	put_le(b->config + CFG_SEG_MAX, SEG_MAX, 4);
	put_le(b->config + CFG_BLK_SIZE, SECTOR, 4);
}

int vs_virtio_blk_create(const struct vs_virtio_config *env, const struct vs_virtio_blk_config *c,
			 struct vs_device *dev, struct vs_error *err)
{
	struct vs_virtio_config cfg = *env;
	struct vs_block_open_opts o = {
		.format = c->format,
		.flags = (c->readonly ? 0 : VS_BLOCK_RDWR) | (c->direct ? VS_BLOCK_DIRECT : 0),
		.key = c->key,
		.key_len = c->key_len,
	};
	struct blk *b;
	struct stat st;
	if (c->queues < 1 || c->queues > VS_VIRTIO_BLK_MAX_QUEUES)
		return vs_error_msg(err, "virtio-blk: %u queues is outside 1..%d", c->queues,
				    VS_VIRTIO_BLK_MAX_QUEUES);
	b = calloc(1, sizeof(*b));
	if (!b)
		return vs_error_set(err, ENOMEM, "allocating virtio-blk");
	b->timer_fd = -1;
	b->loop = env->loop;
	b->direct = c->direct;
	b->readonly = c->readonly;
	b->guest_log = (struct vs_ratelimit)VS_RATELIMIT_INIT(1.0, 10.0);
	/* NUL-padded, not terminated when 20 long (section 5.2.6). */
	memcpy(b->id, c->id, strnlen(c->id, ID_BYTES));
	if (vs_block_open(c->path, &o, &b->bs, err) < 0) {
		open_hint(err, c->readonly);
		free(b);
		return -1;
	}
	if (fstat(b->bs->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		vs_error_msg(err, "`%s` is neither a file nor a block device: give a disk image", c->path);
		vs_block_close(b->bs);
		free(b);
		return -1;
	}
	b->size = b->bs->size;
	if (c->bps || c->iops)
		vs_block_set_throttle(b->bs, c->bps, 0, c->iops, 0);
	b->ops = (struct vs_virtio_ops){
		.name = "virtio-blk",
		.device_type = BLK_TYPE,
		.pci_class = BLK_CLASS,
		.num_queues = (uint16_t)c->queues,
		.queue_max = BLK_QUEUE_SIZE,
		.config_len = CFG_LEN,
		.config_read = blk_config_read,
		.queue_notify = blk_notify,
		.reset = blk_reset,
	};
	fill_config(b, c->queues);
	cfg.ops = &b->ops;
	cfg.opaque = b;
	if (blk_io_init(b, err) < 0 || vs_virtio_create(&cfg, &b->virtio, err) < 0) {
		blk_destroy(b);
		return -1;
	}
	*dev = (struct vs_device){ .name = "virtio-blk", .opaque = b, .destroy = blk_destroy };
	return 0;
}
