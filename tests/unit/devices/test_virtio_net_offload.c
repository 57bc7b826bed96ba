/* virtio-net's transmit offloads as pure functions: the header's layout,
 * the Internet checksum against a known value, completing a partial UDP
 * checksum, refusing checksum fields outside the frame, and cutting IPv4
 * and IPv6 TCP segmentation frames into valid segments (lengths, ids,
 * sequence numbers, flags, checksums), resuming after a refused segment
 * and refusing frames that are not what the header says. */
#include <errno.h>
#include <string.h>

#include "devices/virtio/net_offload.h"
#include "net/net_backend.h"
#include "tap.h"

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

TEST(header_layout_round_trips)
{
	uint8_t raw[12] = { 1, 4, 0x36, 0, 0xa8, 5, 34, 0, 16, 0, 3, 0 }, back[12];
	struct vs_net_hdr h;
	vs_net_hdr_parse(raw, &h);
	CHECK_EQ_U64(h.flags, 1);
	CHECK_EQ_U64(h.gso_type, VS_NET_GSO_TCPV6);
	CHECK_EQ_U64(h.hdr_len, 0x36);
	CHECK_EQ_U64(h.gso_size, 1448);
	CHECK_EQ_U64(h.csum_start, 34);
	CHECK_EQ_U64(h.csum_offset, 16);
	CHECK_EQ_U64(h.num_buffers, 3);
	vs_net_hdr_build(&h, back);
	CHECK(memcmp(raw, back, 12) == 0);
}

/* RFC 1071's example: the sum of 00 01 f2 03 f4 f5 f6 f7 is 0xddf2. */
TEST(internet_checksum_of_the_rfc_example)
{
	const uint8_t d[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	CHECK_EQ_U64(vs_inet_fold(vs_inet_sum(0, d, 8)), (uint16_t)~0xddf2);
	/* An odd length pads with a zero byte. */
	CHECK_EQ_U64(vs_inet_fold(vs_inet_sum(0, d, 7)), (uint16_t) ~(0xddf2 - 0xf7));
}

/* Ethernet + IPv4 (20) + UDP (8) + payload, UDP checksum field holding
 * the pseudo-header sum as Linux leaves it for CHECKSUM_PARTIAL. */
static size_t udp_frame(uint8_t *f, size_t payload)
{
	size_t len = 14 + 20 + 8 + payload;
	uint8_t pseudo[12];
	memset(f, 0, len);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(20 + 8 + payload));
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 2 }, 8);
	put16(f + 34, 5000);
	put16(f + 36, 53);
	put16(f + 38, (uint16_t)(8 + payload));
	for (size_t i = 0; i < payload; i++)
		f[42 + i] = (uint8_t)(i * 13 + 1);
	memcpy(pseudo, f + 26, 8);
	pseudo[8] = 0;
	pseudo[9] = 17;
	put16(pseudo + 10, (uint16_t)(8 + payload));
	put16(f + 40, (uint16_t)~vs_inet_fold(vs_inet_sum(0, pseudo, 12)));
	return len;
}

static bool l4_checksum_ok(const uint8_t *f, size_t l3, size_t l4, size_t len, uint8_t proto, bool v6)
{
	uint8_t pseudo[40] = { 0 };
	uint32_t sum;
	if (v6) {
		memcpy(pseudo, f + l3 + 8, 32);
		pseudo[34] = (uint8_t)((len - l4) >> 8);
		pseudo[35] = (uint8_t)(len - l4);
		pseudo[39] = proto;
		sum = vs_inet_sum(0, pseudo, 40);
	} else {
		memcpy(pseudo, f + l3 + 12, 8);
		pseudo[9] = proto;
		put16(pseudo + 10, (uint16_t)(len - l4));
		sum = vs_inet_sum(0, pseudo, 12);
	}
	return vs_inet_fold(vs_inet_sum(sum, f + l4, len - l4)) == 0;
}

TEST(partial_udp_checksum_is_completed)
{
	uint8_t f[200];
	size_t len = udp_frame(f, 101); /* odd: the last byte pads */
	CHECK(!l4_checksum_ok(f, 14, 34, len, 17, false));
	CHECK_EQ(vs_net_csum_complete(f, len, 34, 6), 0);
	CHECK(l4_checksum_ok(f, 14, 34, len, 17, false));
}

TEST(checksum_fields_outside_the_frame_are_refused)
{
	uint8_t f[200];
	size_t len = udp_frame(f, 10);
	CHECK_EQ(vs_net_csum_complete(f, len, (uint16_t)len, 0), -EINVAL);
	CHECK_EQ(vs_net_csum_complete(f, len, 34, (uint16_t)(len - 34 - 1)), -EINVAL);
	CHECK_EQ(vs_net_csum_complete(f, len, 0xffff, 0xffff), -EINVAL);
	CHECK_EQ(vs_net_csum_complete(f, len, 34, (uint16_t)(len - 34 - 2)), 0); /* the last two bytes */
}

/* A TCP segmentation frame: Ethernet, IPv4 (id 0x1234) or IPv6, TCP with
 * 12 bytes of options, flags PSH|ACK|FIN|CWR, `payload` bytes. */
static size_t tcp_frame(uint8_t *f, bool v6, size_t payload)
{
	size_t l3 = 14, l4 = v6 ? 54 : 34, hl = l4 + 32;
	memset(f, 0, hl);
	put16(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f[l3] = 0x60;
		f[l3 + 6] = 6;
		f[l3 + 7] = 64;
		f[l3 + 8] = 0xfe;
		f[l3 + 23] = 1;
		f[l3 + 24] = 0xfe;
		f[l3 + 39] = 2;
	} else {
		f[l3] = 0x45;
		put16(f + l3 + 4, 0x1234);
		f[l3 + 6] = 0x40; /* DF */
		f[l3 + 8] = 64;
		f[l3 + 9] = 6;
		memcpy(f + l3 + 12, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 2 }, 8);
	}
	put16(f + l4, 40000);
	put16(f + l4 + 2, 80);
	put16(f + l4 + 4, 0x1000);
	put16(f + l4 + 6, 0x0010); /* seq 0x10000010 */
	f[l4 + 12] = 8 << 4;	   /* 32-byte header */
	f[l4 + 13] = 0x80 | 0x10 | 0x08 | 0x01;
	for (size_t i = 0; i < payload; i++)
		f[hl + i] = (uint8_t)(i * 7 + 3);
	return hl + payload;
}

struct sink {
	uint8_t seg[8][VS_NET_MAX_FRAME];
	size_t len[8];
	int n, refuse_at;
};

static int collect(void *opaque, const uint8_t *seg, size_t len)
{
	struct sink *s = opaque;
	if (s->n == s->refuse_at) {
		s->refuse_at = -1;
		return -EAGAIN;
	}
	if (s->n == 8)
		return -ENOBUFS;
	memcpy(s->seg[s->n], seg, len);
	s->len[s->n++] = len;
	return 0;
}

static void check_segments(int *failed_, const struct sink *s, const uint8_t *frame, bool v6, size_t payload,
			   size_t mss)
{
	size_t l3 = 14, l4 = v6 ? 54 : 34, hl = l4 + 32, off = 0;
	int count = (int)((payload + mss - 1) / mss);
	CHECK_EQ(s->n, count);
	for (int i = 0; i < s->n && i < count; i++) {
		const uint8_t *g = s->seg[i];
		size_t size = payload - off < mss ? payload - off : mss;
		bool last = i + 1 == count;
		CHECK_EQ_U64(s->len[i], hl + size);
		if (v6) {
			CHECK_EQ_U64(be16(g + l3 + 4), 32 + size);
		} else {
			CHECK_EQ_U64(be16(g + l3 + 2), 20 + 32 + size);
			CHECK_EQ_U64(be16(g + l3 + 4), 0x1234 + i);
			CHECK_EQ_U64(vs_inet_fold(vs_inet_sum(0, g + l3, 20)), 0); /* header checksum */
		}
		CHECK_EQ_U64(be32(g + l4 + 4), 0x10000010u + off);
		CHECK_EQ_U64(g[l4 + 13], (i == 0 ? 0x80 : 0) | 0x10 | (last ? 0x09 : 0));
		CHECK(l4_checksum_ok(g, l3, l4, hl + size, 6, v6));
		CHECK(memcmp(g + hl, frame + hl + off, size) == 0);
		CHECK(memcmp(g + l4 + 20, frame + l4 + 20, 12) == 0); /* options kept */
		off += size;
	}
}

TEST(tso4_cuts_into_valid_segments)
{
	static uint8_t f[8192];
	static struct sink s;
	struct vs_net_hdr h = { .gso_type = VS_NET_GSO_TCPV4, .gso_size = 1448 };
	size_t len = tcp_frame(f, false, 4000);
	unsigned done = 0;
	uint8_t seg[VS_NET_MAX_FRAME];
	s = (struct sink){ .refuse_at = -1 };
	CHECK_EQ(vs_net_tso(f, len, &h, seg, collect, &s, &done), 0);
	CHECK_EQ_U64(done, 3);
	check_segments(failed_, &s, f, false, 4000, 1448);
}

TEST(tso6_resumes_after_a_refused_segment)
{
	static uint8_t f[8192];
	static struct sink s;
	struct vs_net_hdr h = { .gso_type = VS_NET_GSO_TCPV6, .gso_size = 1000 };
	size_t len = tcp_frame(f, true, 3500);
	unsigned done = 0;
	uint8_t seg[VS_NET_MAX_FRAME];
	s = (struct sink){ .refuse_at = 2 };
	CHECK_EQ(vs_net_tso(f, len, &h, seg, collect, &s, &done), -EAGAIN);
	CHECK_EQ_U64(done, 2);
	CHECK_EQ(vs_net_tso(f, len, &h, seg, collect, &s, &done), 0);
	CHECK_EQ_U64(done, 4);
	check_segments(failed_, &s, f, true, 3500, 1000);
}

TEST(tso_refuses_frames_that_are_not_what_the_header_says)
{
	static uint8_t f[8192];
	struct sink s = { .refuse_at = -1 };
	struct vs_net_hdr h4 = { .gso_type = VS_NET_GSO_TCPV4, .gso_size = 1448 };
	struct vs_net_hdr h6 = { .gso_type = VS_NET_GSO_TCPV6, .gso_size = 1448 };
	uint8_t seg[VS_NET_MAX_FRAME];
	unsigned done = 0;
	size_t len = tcp_frame(f, false, 3000);
	CHECK_EQ(vs_net_tso(f, len, &h6, seg, collect, &s, &done), -EINVAL); /* IPv4 called v6 */
	h4.gso_size = 0;
	CHECK_EQ(vs_net_tso(f, len, &h4, seg, collect, &s, &done), -EINVAL);
	h4.gso_size = 1500; /* segments longer than a frame */
	CHECK_EQ(vs_net_tso(f, len, &h4, seg, collect, &s, &done), -EINVAL);
	h4.gso_size = 1448;
	CHECK_EQ(vs_net_tso(f, 60, &h4, seg, collect, &s, &done), -EINVAL); /* TCP header cut off */
	f[34 + 12] = 15 << 4;						    /* 60-byte TCP header */
	CHECK_EQ(vs_net_tso(f, 34 + 40, &h4, seg, collect, &s, &done), -EINVAL);
	f[34 + 12] = 8 << 4;
	f[23] = 17; /* UDP */
	CHECK_EQ(vs_net_tso(f, len, &h4, seg, collect, &s, &done), -EINVAL);
	f[23] = 6;
	f[20] = 0x20; /* a fragment (MF) */
	CHECK_EQ(vs_net_tso(f, len, &h4, seg, collect, &s, &done), -EINVAL);
	f[20] = 0x40;
	f[14] = 0x4f; /* IHL 60 */
	CHECK_EQ(vs_net_tso(f, 14 + 50, &h4, seg, collect, &s, &done), -EINVAL);
	CHECK_EQ(s.n, 0);
}

VS_TAP_MAIN(TAP_CASE(header_layout_round_trips), TAP_CASE(internet_checksum_of_the_rfc_example),
	    TAP_CASE(partial_udp_checksum_is_completed),
	    TAP_CASE(checksum_fields_outside_the_frame_are_refused), TAP_CASE(tso4_cuts_into_valid_segments),
	    TAP_CASE(tso6_resumes_after_a_refused_segment),
	    TAP_CASE(tso_refuses_frames_that_are_not_what_the_header_says))
