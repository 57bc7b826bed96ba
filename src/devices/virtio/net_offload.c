#include "devices/virtio/net_offload.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "net/net_backend.h"

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_VLAN 0x8100
#define IPPROTO_TCP_ 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t get16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

void vs_net_hdr_parse(const uint8_t raw[VS_NET_HDR_LEN], struct vs_net_hdr *h)
{
	*h = (struct vs_net_hdr){
		.flags = raw[0],
		.gso_type = raw[1],
		.hdr_len = get16le(raw + 2),
		.gso_size = get16le(raw + 4),
		.csum_start = get16le(raw + 6),
		.csum_offset = get16le(raw + 8),
		.num_buffers = get16le(raw + 10),
	};
}

void vs_net_hdr_build(const struct vs_net_hdr *h, uint8_t raw[VS_NET_HDR_LEN])
{
	raw[0] = h->flags;
	raw[1] = h->gso_type;
	put16le(raw + 2, h->hdr_len);
	put16le(raw + 4, h->gso_size);
	put16le(raw + 6, h->csum_start);
	put16le(raw + 8, h->csum_offset);
	put16le(raw + 10, h->num_buffers);
}

uint32_t vs_inet_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;
	size_t i = 0;
	for (; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		s += (uint32_t)p[i] << 8; /* an odd byte counts as the high half */
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t vs_inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int vs_net_csum_complete(uint8_t *frame, size_t len, uint16_t start, uint16_t offset)
{
	uint16_t c;
	if (start >= len || (size_t)offset + 2 > len - start)
		return -EINVAL;
	c = vs_inet_fold(vs_inet_sum(0, frame + start, len - start));
	/* 0 means "no checksum" to UDP; 0xffff is the same value for TCP. */
	put16be(frame + start + offset, c ? c : 0xffff);
	return 0;
}

/* Where the headers of a segmentation frame are, after checking them. */
struct tso_layout {
	size_t l3, l4, payload; /* offsets */
	bool v6;
};

static int tso_layout(const uint8_t *f, size_t len, const struct vs_net_hdr *h, struct tso_layout *t)
{
	size_t l3 = ETH_HLEN, thl;
	uint16_t proto;
	if (len < ETH_HLEN)
		return -EINVAL;
	proto = get16be(f + 12);
	if (proto == ETH_P_VLAN) {
		if (len < ETH_HLEN + 4)
			return -EINVAL;
		proto = get16be(f + 16);
		l3 += 4;
	}
	t->l3 = l3;
	t->v6 = (h->gso_type & ~VS_NET_GSO_ECN) == VS_NET_GSO_TCPV6;
	if (!t->v6) {
		size_t ihl;
		if (proto != ETH_P_IPV4 || len < l3 + 20 || f[l3] >> 4 != 4)
			return -EINVAL;
		ihl = (size_t)(f[l3] & 15) * 4;
		/* Not TCP, or a fragment (MF or an offset): not segmentable. */
		if (ihl < 20 || len < l3 + ihl || f[l3 + 9] != IPPROTO_TCP_ || (get16be(f + l3 + 6) & 0x3fff))
			return -EINVAL;
		t->l4 = l3 + ihl;
	} else {
		if (proto != ETH_P_IPV6 || len < l3 + 40 || f[l3] >> 4 != 6 || f[l3 + 6] != IPPROTO_TCP_)
			return -EINVAL;
		t->l4 = l3 + 40;
	}
	if (len < t->l4 + 20)
		return -EINVAL;
	thl = (size_t)(f[t->l4 + 12] >> 4) * 4;
	if (thl < 20 || len < t->l4 + thl)
		return -EINVAL;
	t->payload = t->l4 + thl;
	if (h->gso_size == 0 || t->payload + h->gso_size > VS_NET_MAX_FRAME)
		return -EINVAL;
	return 0;
}

/* Fill in one segment's lengths, id, sequence number, flags and
 * checksums; `seg` holds the original headers and `size` payload bytes. */
static void tso_fix(uint8_t *seg, const struct tso_layout *t, unsigned i, size_t off, size_t size, bool last)
{
	size_t l4len = t->payload - t->l4 + size;
	uint8_t *ip = seg + t->l3, *tcp = seg + t->l4;
	uint8_t pseudo[40];
	uint32_t sum;
	if (!t->v6) {
		size_t ihl = t->l4 - t->l3;
		put16be(ip + 2, (uint16_t)(ihl + l4len));
		put16be(ip + 4, (uint16_t)(get16be(ip + 4) + i));
		put16be(ip + 10, 0);
		put16be(ip + 10, vs_inet_fold(vs_inet_sum(0, ip, ihl)));
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = IPPROTO_TCP_;
		put16be(pseudo + 10, (uint16_t)l4len);
		sum = vs_inet_sum(0, pseudo, 12);
	} else {
		put16be(ip + 4, (uint16_t)l4len);
		memcpy(pseudo, ip + 8, 32);
		put32be(pseudo + 32, (uint32_t)l4len);
		memset(pseudo + 36, 0, 3);
		pseudo[39] = IPPROTO_TCP_;
		sum = vs_inet_sum(0, pseudo, 40);
	}
	put32be(tcp + 4, get32be(tcp + 4) + (uint32_t)off);
	if (!last)
		tcp[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (i)
		tcp[13] &= (uint8_t)~TCP_CWR;
	put16be(tcp + 16, 0);
	put16be(tcp + 16, vs_inet_fold(vs_inet_sum(sum, tcp, l4len)));
}

int vs_net_tso(const uint8_t *frame, size_t len, const struct vs_net_hdr *h, uint8_t *seg,
	       int (*emit)(void *opaque, const uint8_t *seg, size_t len), void *opaque, unsigned *done)
{
	struct tso_layout t;
	size_t payload, mss = h->gso_size;
	unsigned count;
	if (tso_layout(frame, len, h, &t) < 0)
		return -EINVAL;
	payload = len - t.payload;
	count = payload ? (unsigned)((payload + mss - 1) / mss) : 1;
	for (unsigned i = *done; i < count; i++) {
		size_t off = i * mss, size = payload - off < mss ? payload - off : mss;
		int rc;
		memcpy(seg, frame, t.payload);
		memcpy(seg + t.payload, frame + t.payload + off, size);
		tso_fix(seg, &t, i, off, size, i + 1 == count);
		rc = emit(opaque, seg, t.payload + size);
		if (rc < 0)
			return rc;
		*done = i + 1;
	}
	return 0;
}
