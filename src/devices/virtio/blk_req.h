/* virtio-blk internals shared by blk.c (the device: configuration, chains
 * in, used ring out) and blk_io.c (requests in flight on the block layer).
 *
 * Threads: everything here runs on the I/O thread; the transport's device
 * lock is held in queue_notify and reset (which also run there or, for
 * reset, on a vCPU thread touching only `gen` and the queues' counts). */
#ifndef VESSEL_DEVICES_VIRTIO_BLK_REQ_H
#define VESSEL_DEVICES_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/block.h"
#include "devices/virtio/blk.h"
#include "util/log.h"
#include "util/loop.h"

#define VS_BLK_MAX_RANGES 16 /* discard / write-zeroes segments per request */

#define VS_BLK_S_OK 0
#define VS_BLK_S_IOERR 1
#define VS_BLK_S_UNSUPP 2

struct blk;

struct blk_range {
	uint64_t off, len;
};

/* One guest request from pop to push. */
struct blk_req {
	struct vs_block_req io;
	struct blk *b;
	struct blk_req *next;	       /* on a queue's completed list, or the held flushes */
	struct blk_req *wprev, *wnext; /* on the writes in flight, oldest first */
	bool in_writes;
	uint64_t seq; /* submission order, for flushes */
	unsigned int gen;
	uint16_t queue, head;
	uint8_t *status; /* the chain's last writable byte, in guest memory */
	uint8_t result;
	bool write_through; /* the driver has no flush: each write is flushed */
	uint32_t written;   /* data bytes the device put into the chain */
	uint64_t bytes;	    /* data bytes counted in the device's budget */
	/* Discard / write-zeroes: ranges in bytes, done one after another. */
	uint8_t nranges, range;
	struct blk_range ranges[VS_BLK_MAX_RANGES];
	/* cache=none: an aligned copy of guest buffers the file cannot take. */
	void *bounce;
	struct iovec bounce_iov;
	int niov;
	struct iovec iov[]; /* the data segments in guest memory */
};

struct blk_queue {
	unsigned int inflight; /* popped and not yet pushed (this generation) */
	bool starved;	       /* chains left in the ring for want of budget */
	struct blk_req *done_head, *done_tail;
};

struct blk {
	struct vs_virtio *virtio; /* first: tests/fuzz rely on it */
	struct vs_virtio_ops ops;
	struct vs_block *bs;
	struct vs_aio *aio;
	struct vs_loop *loop;
	int timer_fd;
	uint64_t timer_due; /* when the throttle timer fires, 0: disarmed */
	bool direct, readonly;
	bool closing;
	uint64_t size;
	unsigned int gen, gen_seen; /* device resets; gen under the device lock */
	uint64_t seq;
	uint64_t bytes_inflight; /* data of requests not yet freed */
	struct blk_req *writes_head, *writes_tail;
	struct blk_req *flush_head, *flush_tail; /* flushes waiting for older writes */
	struct blk_queue queues[VS_VIRTIO_BLK_MAX_QUEUES];
	struct vs_ratelimit guest_log;
	uint8_t config[64];
	char id[20];
	struct vs_vq_elem elem; /* the chain being parsed */
};

/* Start a parsed request (io.op and its fields set): writes and ranges go
 * on the writes in flight, a flush waits for older writes. The answer
 * arrives on its queue's completed list, now or from a completion. */
void blk_io_start(struct blk *b, struct blk_req *r);
/* A request answered without I/O (errors, GET_ID). */
void blk_io_finish(struct blk *b, struct blk_req *r);
/* After submissions: let the throttle go and arm its timer. */
void blk_io_throttle(struct blk *b);
/* Run completions and hand them to their queues (the I/O thread's
 * handler of the engine's eventfd). */
void blk_io_complete(struct blk *b);
int blk_io_init(struct blk *b, struct vs_error *err);
/* Answer nothing more: wait out the engine, free every request. */
void blk_io_release(struct blk *b);
void blk_req_free(struct blk_req *r);

#endif
