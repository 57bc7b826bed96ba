/* virtio-net offloads done by the device on frames the guest transmits
 * (virtio 1.2 section 5.1.6): the virtio_net_hdr, completing a partial
 * checksum (VIRTIO_NET_F_CSUM) and cutting a TCP segmentation frame into
 * MSS-sized ones (VIRTIO_NET_F_HOST_TSO4/6). Every field comes from the
 * guest: each is checked against the frame it describes, and a frame that
 * does not add up is refused (-EINVAL), never trusted. Pure functions over
 * a copy of the frame, so the guest cannot change it meanwhile. */
#ifndef VESSEL_DEVICES_VIRTIO_NET_OFFLOAD_H
#define VESSEL_DEVICES_VIRTIO_NET_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#define VS_NET_HDR_LEN 12 /* with num_buffers: VERSION_1 or MRG_RXBUF */
#define VS_NET_HDR_F_NEEDS_CSUM 1
#define VS_NET_HDR_F_DATA_VALID 2
#define VS_NET_GSO_NONE 0
#define VS_NET_GSO_TCPV4 1
#define VS_NET_GSO_TCPV6 4
#define VS_NET_GSO_ECN 0x80
/* The largest segmentation frame taken: an IP datagram's 64 KiB plus the
 * Ethernet and VLAN headers. */
#define VS_NET_MAX_GSO_FRAME (65535 + 18)

struct vs_net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

void vs_net_hdr_parse(const uint8_t raw[VS_NET_HDR_LEN], struct vs_net_hdr *h);
void vs_net_hdr_build(const struct vs_net_hdr *h, uint8_t raw[VS_NET_HDR_LEN]);

/* The Internet checksum (RFC 1071) of `len` bytes added to `sum`, and the
 * final complemented 16-bit value. */
uint32_t vs_inet_sum(uint32_t sum, const uint8_t *p, size_t len);
uint16_t vs_inet_fold(uint32_t sum);

/* VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum over frame[start, len), into
 * the 16 bits at start + offset (which hold the pseudo-header sum).
 * -EINVAL when that field does not lie inside the frame. */
int vs_net_csum_complete(uint8_t *frame, size_t len, uint16_t start, uint16_t offset);

/* Cut the TCP segmentation frame `frame` (Ethernet, optional VLAN tag,
 * IPv4 or IPv6 without extension headers, TCP) into frames of at most
 * h->gso_size payload bytes with their own lengths, IPv4 ids, sequence
 * numbers, flags and full checksums, built in `seg` (VS_NET_MAX_FRAME
 * bytes) and handed to emit() one by one. Segments below *done are
 * skipped (already sent); *done counts the ones emit() took. Returns 0, a
 * negative emit() result (the segment is retried next time), or -EINVAL
 * for a frame that is not what h says (wrong protocol, lengths beyond the
 * frame, an MSS that makes segments longer than VS_NET_MAX_FRAME). */
int vs_net_tso(const uint8_t *frame, size_t len, const struct vs_net_hdr *h, uint8_t *seg,
	       int (*emit)(void *opaque, const uint8_t *seg, size_t len), void *opaque, unsigned *done);

#endif
