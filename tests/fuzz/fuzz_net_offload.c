/* libFuzzer target: virtio-net's transmit offloads on their own
 * (net_offload.c), which fuzz-virtio-net reaches only behind a whole
 * device. The input is a mode byte, the guest's 12-byte virtio_net_hdr
 * (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset: any
 * values) and the frame. The mode may make the frame look like what the
 * header claims (IPv4 or IPv6, optionally VLAN-tagged, TCP, lengths that
 * agree) so the segmentation paths past the first checks are reached; the
 * rest is the input's. Then: the checksum completion on a copy, and the
 * segmentation once in one go and once with emit() refusing every other
 * segment (the device's retry with *done): every segment is at most
 * VS_NET_MAX_FRAME bytes and readable, and both runs give the same
 * result and the same segments. Nothing may crash, hang or leak. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/net_offload.h"
#include "net/net_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEGS 256 /* digests kept; the retried run only for frames of at most that many */

struct sink {
	uint64_t sums[MAX_SEGS];
	unsigned n;
	bool refuse_next; /* refuse every other call */
	bool flaky;
};

static uint64_t digest(const uint8_t *p, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ len;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static int emit(void *opaque, const uint8_t *seg, size_t len)
{
	struct sink *s = opaque;
	if (len > VS_NET_MAX_FRAME || len < 14)
		abort();
	if (s->flaky && (s->refuse_next = !s->refuse_next))
		return -EAGAIN;
	if (s->n < MAX_SEGS)
		s->sums[s->n] = digest(seg, len);
	s->n++;
	return 0;
}

/* Make the frame what a driver would send for `mode`. */
static void shape(uint8_t *f, size_t len, uint8_t mode)
{
	size_t l3 = 14;
	if (len < 80)
		return;
	if (mode & 4) { /* an 802.1Q tag */
		f[12] = 0x81, f[13] = 0x00;
		l3 = 18;
	}
	if (mode & 2) {
		f[l3 - 2] = 0x86, f[l3 - 1] = 0xdd;
		f[l3] = (uint8_t)(0x60 | (f[l3] & 0x0f));
		f[l3 + 4] = (uint8_t)((len - l3 - 40) >> 8), f[l3 + 5] = (uint8_t)(len - l3 - 40);
		f[l3 + 6] = 6;
		if (mode & 8)
			f[l3 + 40 + 12] = (uint8_t)((f[l3 + 40 + 12] & 0x0f) | 0x50);
	} else {
		f[l3 - 2] = 0x08, f[l3 - 1] = 0x00;
		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)((len - l3) >> 8), f[l3 + 3] = (uint8_t)(len - l3);
		f[l3 + 9] = 6;
		if (mode & 8)
			f[l3 + 20 + 12] = (uint8_t)((f[l3 + 20 + 12] & 0x0f) | 0x50);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t seg[VS_NET_MAX_FRAME];
	static struct sink a, b;
	struct vs_net_hdr h;
	uint8_t mode, *frame;
	size_t len;
	int ra, rb;
	unsigned done = 0;

	if (size < 1 + VS_NET_HDR_LEN || size - 1 - VS_NET_HDR_LEN > VS_NET_MAX_GSO_FRAME)
		return 0;
	mode = data[0];
	vs_net_hdr_parse(data + 1, &h);
	len = size - 1 - VS_NET_HDR_LEN;
	frame = malloc(len ? len : 1); /* exactly the frame: ASan sees any read past it */
	if (!frame)
		abort();
	memcpy(frame, data + 1 + VS_NET_HDR_LEN, len);
	if (mode & 1)
		shape(frame, len, mode);
	if (mode & 0x10) { /* a header the frame agrees with, sizes still the input's */
		h.gso_type = (uint8_t)((mode & 2 ? VS_NET_GSO_TCPV6 : VS_NET_GSO_TCPV4) |
				       (mode & 0x20 ? VS_NET_GSO_ECN : 0));
		h.hdr_len = (uint16_t)((mode & 4 ? 18 : 14) + (mode & 2 ? 40 : 20) + 20 + (h.hdr_len & 3));
	}

	{ /* the checksum completion, on its own copy */
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		memcpy(copy, frame, len);
		if (vs_net_csum_complete(copy, len, h.csum_start, h.csum_offset) == 0 &&
		    (size_t)h.csum_start + h.csum_offset + 2 > len)
			abort(); /* wrote a field outside the frame */
		free(copy);
	}

	a = (struct sink){ 0 };
	b = (struct sink){ .flaky = true };
	ra = vs_net_tso(frame, len, &h, seg, emit, &a, &done);
	if (ra == 0 && done != a.n)
		abort();
	if (a.n > MAX_SEGS) /* an MSS of a few bytes: the retried run would be quadratic */
		goto out;
	done = 0;
	/* The device's retry: called again after each refusal, skipping what
	 * was sent (bounded: every other call succeeds). */
	for (int tries = 0; tries < 2 * MAX_SEGS + 2; tries++) {
		rb = vs_net_tso(frame, len, &h, seg, emit, &b, &done);
		if (rb != -EAGAIN)
			break;
	}
	if (rb == -EAGAIN || ra != rb || a.n != b.n || memcmp(a.sums, b.sums, sizeof(a.sums[0]) * a.n))
		abort(); /* a retry changed what is sent */
out:
	free(frame);
	return 0;
}
