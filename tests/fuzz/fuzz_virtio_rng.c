/* libFuzzer target: virtio-rng's queue with rings and chains from the
 * input. The device is brought up as a driver would (event index and
 * indirect descriptors as the input's header picks them, a queue size of
 * 1 to 128: past the device's 64 is refused), then the input alternates
 * chains of every shape (fuzz_chain.h: read-only, writable and mixed
 * segments, lengths up to 4 GiB, addresses outside RAM, indirect tables,
 * loops), guest memory writes, queue processing (on queues it does not
 * have too), configuration reads and device resets. The device may only
 * write inside the writable segments it was given, and the used ring must
 * hold heads from the ring with lengths of at most the 64 KiB a chain is
 * served. Nothing may crash, hang or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/rng.h"
#include "fuzz_chain.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT 1
#define RINGS 0x100000ull
#define RINGS_LEN 0x3000u
#define WATCH (RINGS + RINGS_LEN)
#define WATCH_LEN 0x21000u /* indirect tables, 128 KiB of buffers */
#define MAX_SERVED (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vs_guest_mem mem;
	static int ready;
	struct vs_error err = { 0 };
	struct fuzz_board b;
	struct vs_device dev = { 0 };
	struct fuzz_watch w;
	struct vs_virtio *v;
	struct fuzz_input c = { data, size };
	uint64_t bar, features = VS_VIRTIO_F_VERSION_1;
	uint16_t qs, seen = 0;
	uint8_t hdr;
	int ops = 0;

	if (!ready) {
		if (vs_guest_mem_create(&mem, VS_MEM_MIN, &err) < 0)
			abort();
		vs_log_set_level(VS_LOG_ERROR); /* the guest's mistakes are expected here */
		ready = 1;
	}
	memset(vs_gpa_ptr(&mem, RINGS, RINGS_LEN), 0, RINGS_LEN);
	fuzz_watch_init(&w, &mem, RINGS, RINGS_LEN, WATCH, WATCH_LEN);
	hdr = (uint8_t)fuzz_take(&c, 1);
	fuzz_board_create(&b, NULL);
	{
		struct vs_virtio_config env = fuzz_board_env(&b, &mem, SLOT);
		if (vs_virtio_rng_create(&env, &dev, &err) < 0)
			abort();
	}
	v = *(struct vs_virtio **)dev.opaque;
	if (hdr & 1)
		features |= VS_VIRTIO_F_EVENT_IDX;
	if (hdr & 2)
		features |= VS_VIRTIO_F_INDIRECT_DESC;
	bar = fuzz_virtio_begin(&b, SLOT, features);
	qs = (uint16_t)(1u << ((hdr >> 2) % 8)); /* 1..128 */
	fuzz_virtio_queue(&b, bar, 0, qs, RINGS);
	fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, 15, 1);

	while (c.n && ops++ < 256) {
		uint8_t op = (uint8_t)fuzz_take(&c, 1);
		switch (op % 6) {
		case 0:
			fuzz_watch_guest_write(&w, RINGS, RINGS_LEN, &c);
			break;
		case 1:
		case 2:
			fuzz_chain_add(&w, RINGS, qs, &c);
			break;
		case 3: /* the I/O thread's turn: queue 0, or one it does not have */
			vs_virtio_process(v, (uint16_t)(op & 0x40 ? (op >> 3) & 7 : 0));
			break;
		case 4: { /* configuration space: it has none */
			uint64_t val = fuzz_take(&c, 4);
			uint32_t off = (uint32_t)(op >> 4), sz = 1u << ((op >> 3) & 1 ? 2 : 0);
			if (op & 0x80)
				fuzz_bar_write(&b, bar, VS_VIRTIO_BAR_DEVICE + off, val, sz);
			else
				vs_bus_read(&b.mmio, bar + VS_VIRTIO_BAR_DEVICE + off, (uint8_t *)&val, sz);
			break;
		}
		case 5: /* device reset, then up again (the queue stays off) */
			fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, op & 0x80 ? 0 : 15, 1);
			break;
		}
		if (op & 0x20) {
			fuzz_watch_check(&w);
			fuzz_used_check(&w, RINGS, qs, &seen, MAX_SERVED);
		}
	}
	vs_virtio_process(v, 0);
	fuzz_watch_check(&w);
	fuzz_used_check(&w, RINGS, qs, &seen, MAX_SERVED);
	dev.destroy(dev.opaque);
	fuzz_board_destroy(&b);
	return 0;
}
