/* libFuzzer target: virtio-net's receive and transmit paths with guest
 * memory, rings and frames from the input. The device is brought up as a
 * driver would (features, queue sizes and ring addresses from the input's
 * header), then the input alternates guest memory writes, frames arriving
 * from a fake backend (any length, 0 to past the largest frame), queue
 * processing, a backend that refuses to send (-EAGAIN) and recovers, and
 * rate limits. The feature byte also picks the offloads (CSUM,
 * GUEST_CSUM, MRG_RXBUF, HOST_TSO4/6), so the guest's virtio_net_hdr
 * (checksum positions, segmentation type and size) and receive buffers
 * spread over several chains are fuzzed too; the backend may vouch for
 * its checksums. The fake backend checks every transmitted frame is whole
 * (14..VS_NET_MAX_FRAME bytes), that a segment pointing into guest memory
 * lies in guest RAM, and reads all of it (ASan checks the device's own
 * buffers). Nothing may crash, hang or leak. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "devices/virtio/net.h"
#include "fuzz_virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT 1
#define AREA 0x100000ull /* rings and buffers */
#define AREA_LEN 0x10000u

struct fake {
	const struct vs_guest_mem *mem;
	struct vs_net_peer peer;
	uint8_t frame[2048];
	size_t frame_len;
	bool have_frame, refuse;
};

static int f_attach(void *be, struct vs_loop *loop, const struct vs_net_peer *peer, struct vs_error *err)
{
	struct fake *f = be;
	(void)loop, (void)err;
	f->peer = *peer;
	return 0;
}

static int f_send(void *be, const struct iovec *iov, int n)
{
	struct fake *f = be;
	volatile uint8_t sink = 0;
	size_t total = 0;
	if (f->refuse)
		return -EAGAIN;
	for (int i = 0; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;
		bool in_ram = b >= f->mem->base && b < f->mem->base + f->mem->total;
		if (in_ram && (iov[i].iov_len > f->mem->total ||
			       (size_t)(b - f->mem->base) > f->mem->total - iov[i].iov_len))
			abort();
		for (size_t j = 0; j < iov[i].iov_len; j++)
			sink ^= b[j];
		total += iov[i].iov_len;
	}
	if (total < VS_NET_MIN_FRAME || total > VS_NET_MAX_FRAME)
		abort(); /* the device passes whole frames only */
	(void)sink;
	return 0;
}

static ssize_t f_recv(void *be, void *buf, size_t len)
{
	struct fake *f = be;
	size_t n;
	if (!f->have_frame)
		return -EAGAIN;
	n = f->frame_len < len ? f->frame_len : len;
	memcpy(buf, f->frame, n);
	f->have_frame = false;
	return (ssize_t)n;
}

static void f_pause(void *be, bool paused)
{
	(void)be, (void)paused;
}

static void f_destroy(void *be)
{
	(void)be;
}

static const struct vs_net_backend_ops fake_ops_vouching = {
	.name = "fuzz",
	.rx_csum_valid = true,
	.attach = f_attach,
	.send = f_send,
	.recv = f_recv,
	.rx_pause = f_pause,
	.destroy = f_destroy,
};

static const struct vs_net_backend_ops fake_ops = {
	.name = "fuzz",
	.attach = f_attach,
	.send = f_send,
	.recv = f_recv,
	.rx_pause = f_pause,
	.destroy = f_destroy,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vs_guest_mem mem;
	static struct fake f;
	static int ready;
	struct vs_error err = { 0 };
	struct fuzz_board b;
	struct vs_device dev = { 0 };
	struct vs_virtio *v;
	struct fuzz_input c = { data, size };
	struct vs_net_backend be = { &fake_ops, &f };
	struct vs_virtio_net_config nc = { .mac = { 0x52, 0x54, 0, 1, 2, 3 } };
	uint64_t bar = 0, features;
	uint8_t hdr;
	int ops = 0;

	if (!ready) {
		if (vs_guest_mem_create(&mem, VS_MEM_MIN, &err) < 0)
			abort();
		ready = 1;
	}
	memset(vs_gpa_ptr(&mem, AREA, AREA_LEN), 0, AREA_LEN);
	f = (struct fake){ .mem = &mem };
	hdr = (uint8_t)fuzz_take(&c, 1);
	if (hdr & 4)
		be.ops = &fake_ops_vouching;
	if (hdr & 1)
		nc.rx_bps = 1 + fuzz_take(&c, 2);
	if (hdr & 2)
		nc.tx_bps = 1 + fuzz_take(&c, 2);
	fuzz_board_create(&b, NULL);
	{
		struct vs_virtio_config env = fuzz_board_env(&b, &mem, SLOT);
		if (vs_virtio_net_create(&env, &be, &nc, &dev, &err) < 0)
			abort();
	}
	v = *(struct vs_virtio **)dev.opaque;
	/* The driver's side of the handshake. */
	features = fuzz_take(&c, 1);
	bar = fuzz_virtio_begin(
	    &b, SLOT,
	    ((features & 1) << 5) | ((features & 2) << 15) | ((features & 4) << 26) | ((features & 8) << 26) |
		((features & 0x10) >> 4) | ((features & 0x20) >> 4) | ((features & 0x40) << 9) |
		((features & 0x80) << 4) | ((features & 0x80) << 5) | VS_VIRTIO_F_VERSION_1);
	for (uint16_t q = 0; q < 2; q++) {
		uint64_t base = AREA + (q ? AREA_LEN / 2 : 0);
		uint16_t qs = (uint16_t)(1u << (fuzz_take(&c, 1) % 9)); /* 1..256 */
		fuzz_virtio_queue(&b, bar, q, qs, base);
	}
	fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, 15, 1);

	while (c.n && ops++ < 256) {
		uint8_t op = (uint8_t)fuzz_take(&c, 1);
		switch (op % 6) {
		case 0: /* guest memory: rings, descriptors, buffers */
			fuzz_guest_write(&mem, AREA, AREA_LEN, 2, &c);
			break;
		case 1: { /* a frame from the network, any length */
			size_t len = (size_t)fuzz_take(&c, 2) % sizeof(f.frame);
			for (size_t i = 0; i < len; i++)
				f.frame[i] = (uint8_t)(i ^ op);
			f.frame_len = len;
			f.have_frame = true;
			f.peer.rx_ready(f.peer.opaque);
			break;
		}
		case 2:
			vs_virtio_process(v, 0);
			break;
		case 3:
			vs_virtio_process(v, 1);
			break;
		case 4: /* the host's send queue fills or drains */
			f.refuse = !f.refuse;
			if (!f.refuse)
				f.peer.tx_ready(f.peer.opaque);
			break;
		case 5: /* device reset, then up again */
			fuzz_bar_write(&b, bar, VS_VIRTIO_COMMON_STATUS, op & 0x80 ? 0 : 15, 1);
			break;
		}
	}
	dev.destroy(dev.opaque);
	fuzz_board_destroy(&b);
	return 0;
}
