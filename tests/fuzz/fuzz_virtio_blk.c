/* libFuzzer target: virtio-blk on the block layer, on a raw image or a
 * qcow2 image over a raw backing file, with guest memory, rings and
 * request headers from the input. The device is brought up as a driver
 * would (features, queue count and sizes from the input's header, maybe
 * a throttle), then the input alternates guest memory writes, well-formed
 * request chains with arbitrary types, sectors and lengths, queue
 * processing, waits for the block layer's completions, and device resets
 * with requests in flight. Nothing may crash, hang or leak, and the qcow2
 * image must stay consistent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "devices/pci/pci.h"
#include "devices/virtio/blk.h"
#include "fuzz_virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT 1
#define AREA 0x100000ull /* rings, then buffers */
#define AREA_LEN 0x20000u
#define RINGS_LEN 0x3000u /* per queue: descriptors, avail, used */
#define NQ 3
#define BUFS (AREA + NQ * RINGS_LEN)
#define DISK_BYTES (256 * 1024)

static char raw_path[64], qcow2_path[64], base_path[64];

static void remove_images(void)
{
	unlink(raw_path);
	unlink(qcow2_path);
	unlink(base_path);
}

static void make_images(void)
{
	struct vs_error err = { 0 };
	struct vs_block_create_opts raw = { .size = DISK_BYTES };
	struct vs_block_create_opts q = {
		.size = DISK_BYTES, .cluster_size = 4096, .backing_file = base_path, .backing_fmt = "raw"
	};
	struct vs_block *bs;
	uint8_t pattern[4096];
	snprintf(raw_path, sizeof(raw_path), "/tmp/vessel-fuzz-blk-%d.raw", (int)getpid());
	snprintf(base_path, sizeof(base_path), "/tmp/vessel-fuzz-blk-%d.base", (int)getpid());
	snprintf(qcow2_path, sizeof(qcow2_path), "/tmp/vessel-fuzz-blk-%d.qcow2", (int)getpid());
	atexit(remove_images);
	if (vs_block_create(raw_path, "raw", &raw, &err) < 0 ||
	    vs_block_create(base_path, "raw", &raw, &err) < 0 ||
	    vs_block_open(base_path, &(struct vs_block_open_opts){ .flags = VS_BLOCK_RDWR }, &bs, &err) < 0)
		abort();
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7);
	for (uint64_t off = 0; off < DISK_BYTES; off += 16384)
		if (vs_block_pwrite(bs, off, pattern, sizeof(pattern)) < 0)
			abort();
	vs_block_close(bs);
	if (vs_block_create(qcow2_path, "qcow2", &q, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
}

/* The qcow2 image after a run: its metadata still adds up. */
static void check_qcow2(void)
{
	struct vs_error err = { 0 };
	struct vs_block_check res;
	struct vs_block *bs;
	if (vs_block_open(qcow2_path, NULL, &bs, &err) < 0 ||
	    vs_block_check(bs, 0, &res, NULL, NULL, &err) < 0) {
		fprintf(stderr, "qcow2 after the run: %s\n", err.msg);
		abort();
	}
	if (res.corruptions)
		abort();
	vs_block_close(bs);
}

/* A well-formed chain on queue q: header (type, sector), `len` data bytes
 * (split at `split`), status; descriptors from `first`, all direct. */
static void add_chain(const struct vs_guest_mem *mem, uint16_t q, uint16_t qs, struct fuzz_input *c)
{
	static const uint32_t types[] = { 0, 1, 4, 8, 11, 13, 99 };
	uint64_t rings = AREA + q * (uint64_t)RINGS_LEN;
	uint16_t first = (uint16_t)(fuzz_take(c, 1) % qs);
	uint32_t type = types[fuzz_take(c, 1) % 7];
	uint64_t sector = fuzz_take(c, 2) % (DISK_BYTES / 512 + 8);
	uint32_t len = (uint32_t)(fuzz_take(c, 2) % 0x4000), split = (uint32_t)fuzz_take(c, 2) % (len + 1);
	uint64_t buf = BUFS + (fuzz_take(c, 2) % (AREA_LEN - NQ * RINGS_LEN - 0x4020));
	uint8_t *hdr = vs_gpa_ptr(mem, buf, 16);
	bool device_writes = type == 0 || type == 8;
	struct vs_vring_desc d[4] = {
		{ buf, 16, VS_VRING_DESC_F_NEXT, 0 },
		{ buf + 16, split,
		  (uint16_t)(VS_VRING_DESC_F_NEXT | (device_writes ? VS_VRING_DESC_F_WRITE : 0)), 0 },
		{ buf + 16 + split, len - split,
		  (uint16_t)(VS_VRING_DESC_F_NEXT | (device_writes ? VS_VRING_DESC_F_WRITE : 0)), 0 },
		{ buf + 16 + len, 1, VS_VRING_DESC_F_WRITE, 0 },
	};
	memcpy(hdr, &type, 4);
	memset(hdr + 4, 0, 4);
	memcpy(hdr + 8, &sector, 8);
	for (int i = 0; i < 4; i++) {
		d[i].next = (uint16_t)((first + i + 1) % qs);
		memcpy(vs_gpa_ptr(mem, rings + 16ull * ((first + i) % qs), 16), &d[i], 16);
	}
	fuzz_vring_publish(mem, rings, qs, first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vs_guest_mem mem;
	static int ready;
	struct vs_error err = { 0 };
	struct fuzz_board b;
	struct vs_device dev = { 0 };
	struct vs_virtio *v;
	struct fuzz_input c = { data, size };
	uint64_t bar = 0, features;
	uint16_t qsize[NQ];
	uint8_t hdr;
	int ops = 0;

	if (!ready) {
		if (vs_guest_mem_create(&mem, VS_MEM_MIN, &err) < 0)
			abort();
		make_images();
		ready = 1;
	}
	memset(vs_gpa_ptr(&mem, AREA, AREA_LEN), 0, AREA_LEN);
	hdr = (uint8_t)fuzz_take(&c, 1);
	struct vs_virtio_blk_config bc = {
		.path = hdr & 1 ? qcow2_path : raw_path,
		.format = hdr & 1 ? "qcow2" : "raw", /* the guest may write a qcow2 header into the raw one */
		.readonly = hdr & 2,
		.queues = 1 + (hdr >> 2) % NQ,
		.iops = hdr & 0x10 ? 1 + fuzz_take(&c, 1) : 0,
		.bps = hdr & 0x20 ? 512 + fuzz_take(&c, 2) : 0,
		.id = "fuzz",
	};
	fuzz_board_create(&b, NULL);
	{
		struct vs_virtio_config env = fuzz_board_env(&b, &mem, SLOT);
		if (vs_virtio_blk_create(&env, &bc, &dev, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			abort();
		}
	}
	v = *(struct vs_virtio **)dev.opaque;
	/* The driver's side of the handshake: flush (or not: writes go
	 * through), MQ, discard, write zeroes; event index, indirect (bits
	 * 28-29). */
	features = fuzz_take(&c, 1);
	bar = fuzz_virtio_begin(&b, SLOT,
				(features & 16 ? 0 : 1u << 9) | (bc.queues > 1 ? 1u << 12 : 0) |
				    ((features & 1) << 13) | ((features & 2) << 13) | ((features & 4) << 26) |
				    ((features & 8) << 26) | VS_VIRTIO_F_VERSION_1);
	for (uint16_t q = 0; q < bc.queues; q++) {
		uint64_t base = AREA + q * (uint64_t)RINGS_LEN;
		qsize[q] = (uint16_t)(1u << (fuzz_take(&c, 1) % 9)); /* 1..256 */
		fuzz_virtio_queue(&b, bar, q, qsize[q], base);
	}
	fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, 15, 1);

	while (c.n && ops++ < 256) {
		uint8_t op = (uint8_t)fuzz_take(&c, 1);
		uint16_t q = (uint16_t)((op >> 3) % bc.queues);
		switch (op % 6) {
		case 0: /* guest memory: rings, descriptors, buffers */
			fuzz_guest_write(&mem, AREA, AREA_LEN, 3, &c);
			break;
		case 1:
		case 2: /* a request */
			add_chain(&mem, q, qsize[q], &c);
			break;
		case 3:
			vs_virtio_process(v, q);
			break;
		case 4: /* the I/O thread runs completions */
			vs_virtio_blk_drain(&dev);
			break;
		case 5: /* device reset, then up again (queues stay off) */
			fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, op & 0x80 ? 0 : 15, 1);
			break;
		}
	}
	dev.destroy(dev.opaque);
	fuzz_board_destroy(&b);
	if (hdr & 1)
		check_qcow2();
	return 0;
}
