/* libFuzzer target: virtio-balloon's queues with guest memory, rings and
 * buffers from the input. The device is brought up as a driver would
 * (STATS_VQ, PAGE_REPORTING, event index and indirect descriptors as the
 * input's header picks them, so the queues are numbered either way; queue
 * sizes from the input), then the input alternates guest memory writes,
 * chains of one to four segments of any length and direction on any
 * queue (statistics buffers of any size, not a multiple of 10 bytes,
 * device-writable; page frame lists; reported ranges), queue processing,
 * statistics requests (while the buffer is held, owed, or never given),
 * configuration accesses and device resets. The statistics seen from the
 * host must stay sane: report counts never go back, arrival times never
 * go back, and no tag past the known ones is ever present. Nothing may
 * crash, hang or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/balloon.h"
#include "fuzz_virtio.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT 1
#define NQ 4
#define AREA 0x100000ull /* rings, then buffers */
#define RINGS_LEN 0x3000u
#define BUFS (AREA + NQ * RINGS_LEN)
#define BUFS_LEN 0x8000u

/* A chain of `n` segments on queue q from descriptor `first`, direct. */
static void add_chain(const struct vs_guest_mem *mem, uint16_t q, uint16_t qs, struct fuzz_input *c)
{
	uint64_t rings = AREA + q * (uint64_t)RINGS_LEN;
	uint16_t first = (uint16_t)(fuzz_take(c, 1) % qs);
	uint8_t shape = (uint8_t)fuzz_take(c, 1);
	int n = 1 + (shape & 3);
	for (int i = 0; i < n; i++) {
		struct vs_vring_desc d = {
			.addr = BUFS + fuzz_take(c, 2) % BUFS_LEN,
			.len = (uint32_t)(fuzz_take(c, 2) % 0x400),
			/* bits 2-5: which segments the device may write */
			.flags = (uint16_t)((i + 1 < n ? VS_VRING_DESC_F_NEXT : 0) |
					    (shape & (4 << i) ? VS_VRING_DESC_F_WRITE : 0)),
			.next = (uint16_t)((first + i + 1) % qs),
		};
		memcpy(vs_gpa_ptr(mem, rings + 16ull * ((first + i) % qs), 16), &d, 16);
	}
	fuzz_vring_publish(mem, rings, qs, first);
}

/* Statistics entries, well-formed or not, into the buffer area. */
static void put_stats(const struct vs_guest_mem *mem, struct fuzz_input *c)
{
	uint64_t off = fuzz_take(c, 2) % (BUFS_LEN - 10 * 16);
	int n = (int)(fuzz_take(c, 1) % 16);
	for (int i = 0; i < n; i++) {
		uint8_t e[10];
		uint16_t tag = (uint16_t)(fuzz_take(c, 1) % 12); /* 10 and 11 are unknown */
		uint64_t val = fuzz_take(c, 8);
		e[0] = (uint8_t)tag;
		e[1] = (uint8_t)(tag >> 8);
		for (int k = 0; k < 8; k++)
			e[2 + k] = (uint8_t)(val >> (8 * k));
		memcpy(vs_gpa_ptr(mem, BUFS + off + 10ull * (uint64_t)i, 10), e, 10);
	}
}

static void check_stats(void *bal, struct vs_balloon_stats *last)
{
	static FILE *sink;
	struct vs_balloon_stats s;
	vs_virtio_balloon_stats(bal, &s);
	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	vs_balloon_stats_print(&s, s.at_ns + 1, sink); /* the -v line, with the guest's values */
	if (s.reports < last->reports || s.at_ns < last->at_ns || (s.present >> VS_BALLOON_S_NR) != 0)
		abort();
	if (s.reports == last->reports && memcmp(&s, last, sizeof(s)) != 0)
		abort(); /* values changed without a report */
	*last = s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vs_guest_mem mem;
	static int ready;
	struct vs_error err = { 0 };
	struct fuzz_board b;
	struct vs_device dev = { 0 };
	struct vs_virtio *v;
	struct vs_balloon_stats last = { 0 };
	struct fuzz_input c = { data, size };
	uint64_t bar, features = 0;
	uint16_t qsize[NQ];
	uint8_t hdr;
	int ops = 0;

	if (!ready) {
		if (vs_guest_mem_create(&mem, VS_MEM_MIN, &err) < 0)
			abort();
		vs_log_set_level(VS_LOG_ERROR); /* the guest's mistakes are expected here */
		ready = 1;
	}
	memset(vs_gpa_ptr(&mem, AREA, NQ * RINGS_LEN + BUFS_LEN), 0, NQ * RINGS_LEN + BUFS_LEN);
	hdr = (uint8_t)fuzz_take(&c, 1);
	fuzz_board_create(&b, NULL);
	{
		struct vs_virtio_config env = fuzz_board_env(&b, &mem, SLOT);
		/* No interval: the timer's requests are the input's op 4. */
		if (vs_virtio_balloon_create(&env, NULL, &dev, &err) < 0)
			abort();
	}
	v = *(struct vs_virtio **)dev.opaque;
	if (hdr & 1)
		features |= VS_BALLOON_F_STATS_VQ;
	if (hdr & 2)
		features |= VS_BALLOON_F_REPORTING;
	if (hdr & 4)
		features |= VS_VIRTIO_F_EVENT_IDX;
	if (hdr & 8)
		features |= VS_VIRTIO_F_INDIRECT_DESC;
	bar = fuzz_virtio_begin(&b, SLOT, features | VS_VIRTIO_F_VERSION_1);
	for (uint16_t q = 0; q < NQ; q++) {
		qsize[q] = (uint16_t)(1u << (fuzz_take(&c, 1) % 8)); /* 1..128 */
		fuzz_virtio_queue(&b, bar, q, qsize[q], AREA + q * (uint64_t)RINGS_LEN);
	}
	fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, 15, 1);

	while (c.n && ops++ < 256) {
		uint8_t op = (uint8_t)fuzz_take(&c, 1);
		uint16_t q = (uint16_t)((op >> 3) % NQ);
		switch (op % 8) {
		case 0: /* guest memory: rings, descriptors, buffers */
			fuzz_guest_write(&mem, AREA, NQ * RINGS_LEN + BUFS_LEN, 2, &c);
			break;
		case 1: /* a chain */
			add_chain(&mem, q, qsize[q], &c);
			break;
		case 2:
			put_stats(&mem, &c);
			break;
		case 3: /* the I/O thread's turn */
			vs_virtio_process(v, q);
			break;
		case 4: /* the interval timer */
			vs_virtio_balloon_stats_request(dev.opaque);
			break;
		case 5: { /* configuration space: num_pages, actual, and past them */
			uint64_t val = fuzz_take(&c, 4);
			uint32_t off = (uint32_t)(op >> 5), sz = 1u << (fuzz_take(&c, 1) % 3);
			if (op & 0x10)
				fuzz_bar_write(&b, bar, VS_VIRTIO_BAR_DEVICE + off, val, sz);
			else
				vs_bus_read(&b.mmio, bar + VS_VIRTIO_BAR_DEVICE + off, (uint8_t *)&val, sz);
			break;
		}
		case 6: /* device reset, then up again (queues stay off) */
			fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, op & 0x80 ? 0 : 15, 1);
			break;
		case 7:
			check_stats(dev.opaque, &last);
			break;
		}
	}
	check_stats(dev.opaque, &last);
	dev.destroy(dev.opaque);
	fuzz_board_destroy(&b);
	return 0;
}
