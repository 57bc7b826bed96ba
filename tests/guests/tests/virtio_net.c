/* test=virtio-net[=MODE]: a polled virtio-net driver (receive queue 0 with
 * NQ buffers, transmit queue 1) and just enough Ethernet/IPv4 to talk to
 * libslirp and to other guests.
 *
 *   (none) | user   ARP for the gateway 10.0.2.2, ICMP echo to it, and a
 *                   DHCP DISCOVER answered by an OFFER of 10.0.2.15
 *   send=MARK       on a switch: broadcast a marker frame (EtherType
 *                   0x88b5) every few polls until a guest acknowledges it
 *   recv=MARK       on a switch: wait for the marker, acknowledge it
 *   quiet=MARK      on a switch: listen for QUIET_S seconds, expect no marker
 *   tcp=PORT        behind hostfwd: answer one TCP connection to PORT with
 *                   a greeting, then close it
 *   udp=PORT        behind hostfwd: echo one datagram to PORT, prefixed
 *
 * ARP requests for 10.0.2.15 are answered in every mode (slirp asks before
 * it sends the guest anything). */
#include "io.h"
#include "libc.h"
#include "pci.h"
#include "rtc.h"
#include "system.h"
#include "tests.h"

#define NQ 16
#define BUF_LEN 1548 /* 12-byte header + 1536 */
#define HDR 12
#define TIMEOUT_S 30
#define QUIET_S 6
#define F_MAC (1ull << 5)
#define F_VERSION_1 (1ull << 32)
#define D_WRITE 2
#define ETH_ARP 0x0806
#define ETH_IP 0x0800
#define ETH_MARK 0x88b5

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct ring {
	struct desc desc[NQ] __attribute__((aligned(16)));
	struct {
		uint16_t flags, idx, ring[NQ], used_event;
	} avail __attribute__((aligned(4)));
	struct {
		uint16_t flags;
		volatile uint16_t idx;
		struct {
			uint32_t id, len;
		} ring[NQ];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
	uint16_t used_seen;
	uint64_t notify;
};

static struct ring rxq __attribute__((aligned(4096))), txq __attribute__((aligned(4096)));
static uint8_t rxbuf[NQ][BUF_LEN];
static uint8_t txbuf[BUF_LEN];
static uint8_t mac[6];
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t my_ip[4] = { 10, 0, 2, 15 }, gw_ip[4] = { 10, 0, 2, 2 };
static uint64_t common, notify_base, device_cfg;
static uint32_t notify_mult;

/* ---- Bytes ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* ---- The device ---- */

static uint64_t cap_addr(unsigned slot, unsigned cap)
{
	uint64_t addr;
	bool is64, io;
	unsigned bar = pci_read(slot, cap + 4, 1);
	pci_bar_size(slot, bar, &addr, &is64, &io);
	return addr + pci_read(slot, cap + 8, 4);
}

static void setup_queue(uint16_t q, struct ring *r, bool receive)
{
	mmio_write16(common + 22, q);
	if (mmio_read16(common + 24) < NQ)
		fail("virtio-net: queue %u holds only %u", q, mmio_read16(common + 24));
	mmio_write16(common + 24, NQ);
	mmio_write32(common + 32, (uint32_t)(uintptr_t)r->desc);
	mmio_write32(common + 36, 0);
	mmio_write32(common + 40, (uint32_t)(uintptr_t)&r->avail);
	mmio_write32(common + 44, 0);
	mmio_write32(common + 48, (uint32_t)(uintptr_t)&r->used);
	mmio_write32(common + 52, 0);
	r->notify = notify_base + (uint64_t)mmio_read16(common + 30) * notify_mult;
	mmio_write16(common + 28, 1);
	if (!receive)
		return;
	for (uint16_t i = 0; i < NQ; i++) {
		r->desc[i] = (struct desc){ (uint64_t)(uintptr_t)rxbuf[i], BUF_LEN, D_WRITE, 0 };
		r->avail.ring[i] = i;
	}
	r->avail.idx = NQ;
}

static void start(void)
{
	uint64_t features;
	int slot = pci_find(0x1af4, 0x1041);
	if (slot < 0)
		fail("virtio-net: no device 1af4:1041 on bus 0");
	pci_write((unsigned)slot, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER, 2);
	for (unsigned p = pci_read((unsigned)slot, PCI_CAP_PTR, 1); p;
	     p = pci_read((unsigned)slot, p + 1, 1)) {
		if (pci_read((unsigned)slot, p, 1) != 0x09)
			continue;
		switch (pci_read((unsigned)slot, p + 3, 1)) {
		case 1:
			common = cap_addr((unsigned)slot, p);
			break;
		case 2:
			notify_base = cap_addr((unsigned)slot, p);
			notify_mult = pci_read((unsigned)slot, p + 16, 4);
			break;
		case 4:
			device_cfg = cap_addr((unsigned)slot, p);
			break;
		}
	}
	if (!common || !notify_base || !device_cfg)
		fail("virtio-net: capabilities missing");
	mmio_write8(common + 20, 0);
	mmio_write8(common + 20, 1 | 2);
	mmio_write32(common + 0, 0);
	features = mmio_read32(common + 4);
	mmio_write32(common + 0, 1);
	features |= (uint64_t)mmio_read32(common + 4) << 32;
	if (!(features & F_VERSION_1) || !(features & F_MAC))
		fail("virtio-net: features 0x%lx lack VERSION_1 or MAC", features);
	mmio_write32(common + 8, 0);
	mmio_write32(common + 12, (uint32_t)F_MAC);
	mmio_write32(common + 8, 1);
	mmio_write32(common + 12, (uint32_t)(F_VERSION_1 >> 32));
	mmio_write8(common + 20, 1 | 2 | 8);
	if (!(mmio_read8(common + 20) & 8))
		fail("virtio-net: features refused");
	for (int i = 0; i < 6; i++)
		mac[i] = mmio_read8(device_cfg + (uint64_t)i);
	setup_queue(0, &rxq, true);
	setup_queue(1, &txq, false);
	mmio_write8(common + 20, 1 | 2 | 8 | 4);
	mmio_write16(rxq.notify, 0);
	printf("virtio-net: device at 00:%02x.0, mac %02x:%02x:%02x:%02x:%02x:%02x\n", slot, mac[0], mac[1],
	       mac[2], mac[3], mac[4], mac[5]);
}

/* Send txbuf[HDR .. HDR+len) and wait until the device has taken it. */
static void transmit(size_t len)
{
	struct deadline d;
	unsigned polls = 0;
	uint16_t idx = txq.avail.idx;
	memset(txbuf, 0, HDR);
	txq.desc[0] = (struct desc){ (uint64_t)(uintptr_t)txbuf, (uint32_t)(HDR + len), 0, 0 };
	txq.avail.ring[idx % NQ] = 0;
	barrier();
	txq.avail.idx = (uint16_t)(idx + 1);
	__asm__ volatile("mfence" ::: "memory");
	mmio_write16(txq.notify, 1);
	deadline_start(&d, TIMEOUT_S);
	while (txq.used.idx == txq.used_seen) {
		cpu_relax();
		if (++polls % 64 == 0 && deadline_passed(&d))
			fail("virtio-net: transmit not completed");
	}
	txq.used_seen++;
}

static uint8_t *eth(const uint8_t *dst, uint16_t type)
{
	uint8_t *f = txbuf + HDR;
	memcpy(f, dst, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, type);
	return f + 14;
}

static void send_arp(uint16_t op, const uint8_t *dst_mac, const uint8_t *tha, const uint8_t *tpa)
{
	uint8_t *a = eth(dst_mac, ETH_ARP);
	put16(a, 1);
	put16(a + 2, ETH_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, mac, 6);
	memcpy(a + 14, my_ip, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	transmit(14 + 28 + 18); /* padded to the 60-byte minimum */
}

/* An IPv4 header for `payload` bytes of protocol `proto`; returns the payload. */
static uint8_t *ipv4(const uint8_t *dst_mac, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		     size_t payload)
{
	static uint16_t id = 1;
	uint8_t *ip = eth(dst_mac, ETH_IP);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + payload));
	put16(ip + 4, id++);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	return ip + 20;
}

/* Take the next received frame (NULL if none); *len its length. The
 * buffer goes back to the device on the next call. */
static const uint8_t *receive(size_t *len)
{
	static int held = -1;
	uint32_t id, n;
	if (held >= 0) {
		uint16_t idx = rxq.avail.idx;
		rxq.avail.ring[idx % NQ] = (uint16_t)held;
		barrier();
		rxq.avail.idx = (uint16_t)(idx + 1);
		__asm__ volatile("mfence" ::: "memory");
		mmio_write16(rxq.notify, 0);
		held = -1;
	}
	if (rxq.used.idx == rxq.used_seen)
		return NULL;
	barrier();
	id = rxq.used.ring[rxq.used_seen % NQ].id;
	n = rxq.used.ring[rxq.used_seen % NQ].len;
	rxq.used_seen++;
	if (id >= NQ)
		fail("virtio-net: used id %u out of range", id);
	held = (int)id;
	if (n < HDR + 14) {
		*len = 0;
		return rxbuf[id] + HDR;
	}
	if (rxbuf[id][10] != 1)
		fail("virtio-net: num_buffers %u in a received header", rxbuf[id][10]);
	*len = n - HDR;
	return rxbuf[id] + HDR;
}

/* Answer "who has 10.0.2.15"; true if the frame was that. */
static bool answer_arp(const uint8_t *f, size_t len)
{
	if (len < 42 || get16(f + 12) != ETH_ARP || get16(f + 20) != 1 || memcmp(f + 38, my_ip, 4))
		return false;
	send_arp(2, f + 22, f + 22, f + 28);
	return true;
}

/* Receive until `want` accepts a frame (it returns true) or time runs out. */
static bool wait_for(bool (*want)(const uint8_t *f, size_t len), unsigned seconds)
{
	struct deadline d;
	unsigned polls = 0;
	deadline_start(&d, seconds);
	for (;;) {
		size_t len;
		const uint8_t *f = receive(&len);
		if (f && len && !answer_arp(f, len) && want(f, len))
			return true;
		if (!f)
			cpu_relax();
		if (++polls % 64 == 0 && deadline_passed(&d))
			return false;
	}
}

/* ---- user: ARP, ICMP, DHCP through slirp ---- */

static uint8_t gw_mac[6];

static bool is_arp_reply(const uint8_t *f, size_t len)
{
	if (len < 42 || get16(f + 12) != ETH_ARP || get16(f + 20) != 2 || memcmp(f + 28, gw_ip, 4))
		return false;
	memcpy(gw_mac, f + 22, 6);
	return true;
}

static const char ping_data[] = "vessel ping payload";

static bool is_echo_reply(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *icmp = ip + 20;
	if (len < 14 + 20 + 8 + sizeof(ping_data) || get16(f + 12) != ETH_IP || ip[9] != 1 ||
	    memcmp(ip + 12, gw_ip, 4) || icmp[0] != 0)
		return false;
	if (get16(icmp + 4) != 0x1234 || get16(icmp + 6) != 1 ||
	    memcmp(icmp + 8, ping_data, sizeof(ping_data)))
		fail("virtio-net: an echo reply with the wrong id, sequence or data");
	if (fold(sum16(icmp, get16(ip + 2) - 20u, 0)) != 0)
		fail("virtio-net: echo reply checksum wrong");
	return true;
}

static uint8_t offered[4];

static bool is_dhcp_offer(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
	if (len < 14 + 20 + 8 + 240 || get16(f + 12) != ETH_IP || ip[9] != 17 || get16(udp + 2) != 68)
		return false;
	if (b[0] != 2 || get32(b + 4) != 0x7e55e1 || get32(b + 236) != 0x63825363)
		return false;
	for (const uint8_t *o = b + 240; o < f + len && *o != 255; o += o[0] ? 2 + o[1] : 1)
		if (o[0] == 53 && o[2] == 2) {
			memcpy(offered, b + 16, 4);
			return true;
		}
	return false;
}

static void user_mode(void)
{
	static const uint8_t zero_mac[6], any[4], all[4] = { 255, 255, 255, 255 };
	uint8_t *p;
	send_arp(1, bcast, zero_mac, gw_ip);
	if (!wait_for(is_arp_reply, TIMEOUT_S))
		fail("virtio-net: no ARP reply for 10.0.2.2");
	printf("virtio-net: ARP 10.0.2.2 is at %02x:%02x:%02x:%02x:%02x:%02x\n", gw_mac[0], gw_mac[1],
	       gw_mac[2], gw_mac[3], gw_mac[4], gw_mac[5]);

	p = ipv4(gw_mac, my_ip, gw_ip, 1, 8 + sizeof(ping_data));
	memset(p, 0, 8);
	p[0] = 8;
	put16(p + 4, 0x1234);
	put16(p + 6, 1);
	memcpy(p + 8, ping_data, sizeof(ping_data));
	put16(p + 2, fold(sum16(p, 8 + sizeof(ping_data), 0)));
	transmit(14 + 20 + 8 + sizeof(ping_data));
	if (!wait_for(is_echo_reply, TIMEOUT_S))
		fail("virtio-net: no ICMP echo reply from 10.0.2.2");
	printf("virtio-net: ICMP echo reply from 10.0.2.2\n");

	/* DHCP DISCOVER: BOOTP request, xid 0x7e55e1, message type 1. */
	p = ipv4(bcast, any, all, 17, 8 + 244);
	memset(p, 0, 8 + 244);
	put16(p, 68);
	put16(p + 2, 67);
	put16(p + 4, 8 + 244);
	p += 8;
	p[0] = 1;
	p[1] = 1;
	p[2] = 6;
	put32(p + 4, 0x7e55e1);
	memcpy(p + 28, mac, 6);
	put32(p + 236, 0x63825363);
	p[240] = 53;
	p[241] = 1;
	p[242] = 1;
	p[243] = 255;
	transmit(14 + 20 + 8 + 244);
	if (!wait_for(is_dhcp_offer, TIMEOUT_S))
		fail("virtio-net: no DHCP offer");
	printf("virtio-net: DHCP offer %u.%u.%u.%u\n", offered[0], offered[1], offered[2], offered[3]);
	debug_exit(0);
}

/* ---- switch: marker frames between guests ---- */

static char marker[32];
static uint8_t peer_mac[6];

static void send_mark(const uint8_t *dst, const char *kind)
{
	uint8_t *p = eth(dst, ETH_MARK);
	memset(p, 0, 46);
	memcpy(p, kind, 4);
	memcpy(p + 4, marker, strlen(marker));
	transmit(14 + 46);
}

static bool is_mark(const uint8_t *f, size_t len, const char *kind)
{
	if (len < 60 || get16(f + 12) != ETH_MARK || memcmp(f + 14, kind, 4) ||
	    memcmp(f + 18, marker, strlen(marker) + 1))
		return false;
	memcpy(peer_mac, f + 6, 6);
	return true;
}

static bool is_data(const uint8_t *f, size_t len)
{
	return is_mark(f, len, "MARK");
}

static bool is_ack(const uint8_t *f, size_t len)
{
	return is_mark(f, len, "ACK!") && !memcmp(f, mac, 6);
}

static void switch_mode(const char *mode, const char *mark)
{
	if (strlen(mark) == 0 || strlen(mark) >= 30)
		fail("virtio-net: marker must be 1..29 characters");
	memcpy(marker, mark, strlen(mark) + 1);
	if (!strcmp(mode, "send")) {
		for (int i = 0; i < TIMEOUT_S * 4; i++) {
			send_mark(bcast, "MARK");
			if (wait_for(is_ack, 1)) {
				printf(
				    "virtio-net: marker %s acknowledged by %02x:%02x:%02x:%02x:%02x:%02x\n",
				    marker, peer_mac[0], peer_mac[1], peer_mac[2], peer_mac[3], peer_mac[4],
				    peer_mac[5]);
				debug_exit(0);
			}
		}
		fail("virtio-net: marker %s never acknowledged", marker);
	}
	if (!strcmp(mode, "recv")) {
		if (!wait_for(is_data, TIMEOUT_S * 4))
			fail("virtio-net: marker %s never arrived", marker);
		printf("virtio-net: marker %s received from %02x:%02x:%02x:%02x:%02x:%02x\n", marker,
		       peer_mac[0], peer_mac[1], peer_mac[2], peer_mac[3], peer_mac[4], peer_mac[5]);
		for (int i = 0; i < 3; i++)
			send_mark(peer_mac, "ACK!");
		debug_exit(0);
	}
	/* quiet */
	if (wait_for(is_data, QUIET_S))
		fail("virtio-net: marker %s heard on another switch", marker);
	printf("virtio-net: no marker %s in %u s\n", marker, QUIET_S);
	debug_exit(0);
}

/* ---- tcp: one connection behind hostfwd ---- */

static uint16_t tcp_port;
static uint8_t t_mac[6], t_ip[4];
static uint16_t t_port;
static uint32_t t_seq, t_ack; /* peer's next sequence number, and what it acknowledged */
static uint8_t t_flags;
static size_t t_datalen;

#define TCP_FIN 1
#define TCP_SYN 2
#define TCP_PSH 8
#define TCP_ACK 16
#define ISS 1000u
static const char greeting[] = "hello from the vessel guest\n";

static bool is_tcp(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *t;
	size_t ihl, tot;
	if (len < 14 + 20 + 20 || get16(f + 12) != ETH_IP || ip[9] != 6 || memcmp(ip + 16, my_ip, 4))
		return false;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = get16(ip + 2);
	t = ip + ihl;
	if (get16(t + 2) != tcp_port)
		return false;
	memcpy(t_mac, f + 6, 6);
	memcpy(t_ip, ip + 12, 4);
	t_port = get16(t);
	t_flags = t[13];
	t_seq = get32(t + 4);
	t_ack = get32(t + 8);
	t_datalen = tot - ihl - (size_t)(t[12] >> 4) * 4;
	return true;
}

static bool is_syn(const uint8_t *f, size_t len)
{
	return is_tcp(f, len) && (t_flags & TCP_SYN) && !(t_flags & TCP_ACK);
}

static void send_tcp(uint32_t seq, uint32_t ack, uint8_t flags, const void *data, size_t n)
{
	uint8_t *t = ipv4(t_mac, my_ip, t_ip, 6, 20 + n);
	uint32_t s;
	memset(t, 0, 20);
	put16(t, tcp_port);
	put16(t + 2, t_port);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 8192);
	memcpy(t + 20, data, n);
	s = sum16(my_ip, 4, 0);
	s = sum16(t_ip, 4, s);
	s += 6 + (uint32_t)(20 + n);
	put16(t + 16, fold(sum16(t, 20 + n, s)));
	transmit(14 + 20 + 20 + n);
}

static bool acked_all(const uint8_t *f, size_t len)
{
	return is_tcp(f, len) && (t_flags & TCP_ACK) && t_ack == ISS + 1 + sizeof(greeting) - 1 + 1;
}

static void tcp_mode(const char *arg)
{
	uint64_t port;
	uint32_t peer_next;
	if (!parse_uint(arg, strlen(arg), &port) || port == 0 || port > 65535)
		fail("virtio-net: tcp=%s is not a port", arg);
	tcp_port = (uint16_t)port;
	printf("virtio-net: listening on tcp %u\n", tcp_port);
	if (!wait_for(is_syn, TIMEOUT_S * 2))
		fail("virtio-net: no connection to tcp %u", tcp_port);
	peer_next = t_seq + 1;
	send_tcp(ISS, peer_next, TCP_SYN | TCP_ACK, NULL, 0);
	send_tcp(ISS + 1, peer_next, TCP_PSH | TCP_ACK, greeting, sizeof(greeting) - 1);
	send_tcp(ISS + (uint32_t)sizeof(greeting), peer_next, TCP_FIN | TCP_ACK, NULL, 0);
	if (!wait_for(acked_all, TIMEOUT_S))
		fail("virtio-net: greeting and FIN never acknowledged");
	/* Acknowledge the peer's FIN if it came with (or before) that ACK. */
	if (t_flags & TCP_FIN)
		send_tcp(ISS + (uint32_t)sizeof(greeting) + 1, t_seq + (uint32_t)t_datalen + 1, TCP_ACK, NULL,
			 0);
	printf("virtio-net: tcp %u served from %u.%u.%u.%u:%u\n", tcp_port, t_ip[0], t_ip[1], t_ip[2],
	       t_ip[3], t_port);
	debug_exit(0);
}

/* ---- udp: one datagram behind hostfwd, echoed ---- */

static uint8_t u_mac[6], u_ip[4];
static uint16_t u_port, u_len;
static uint8_t u_data[256];

static bool is_udp(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *u;
	size_t ihl;
	if (len < 14 + 20 + 8 || get16(f + 12) != ETH_IP || ip[9] != 17 || memcmp(ip + 16, my_ip, 4))
		return false;
	ihl = (size_t)(ip[0] & 15) * 4;
	u = ip + ihl;
	if (get16(u + 2) != tcp_port || get16(u + 4) < 8 || 14 + ihl + get16(u + 4) > len)
		return false;
	memcpy(u_mac, f + 6, 6);
	memcpy(u_ip, ip + 12, 4);
	u_port = get16(u);
	u_len = (uint16_t)(get16(u + 4) - 8);
	if (u_len > sizeof(u_data) - 6)
		u_len = sizeof(u_data) - 6;
	memcpy(u_data, "echo: ", 6);
	memcpy(u_data + 6, u + 8, u_len);
	return true;
}

static void udp_mode(const char *arg)
{
	uint64_t port;
	uint8_t *u;
	uint32_t s;
	size_t n;
	if (!parse_uint(arg, strlen(arg), &port) || port == 0 || port > 65535)
		fail("virtio-net: udp=%s is not a port", arg);
	tcp_port = (uint16_t)port;
	printf("virtio-net: listening on udp %u\n", tcp_port);
	if (!wait_for(is_udp, TIMEOUT_S * 2))
		fail("virtio-net: no datagram to udp %u", tcp_port);
	n = 6u + u_len;
	u = ipv4(u_mac, my_ip, u_ip, 17, 8 + n);
	put16(u, tcp_port);
	put16(u + 2, u_port);
	put16(u + 4, (uint16_t)(8 + n));
	put16(u + 6, 0);
	memcpy(u + 8, u_data, n);
	s = sum16(my_ip, 4, 0);
	s = sum16(u_ip, 4, s);
	s += 17 + (uint32_t)(8 + n);
	put16(u + 6, fold(sum16(u, 8 + n, s)));
	transmit(14 + 20 + 8 + n);
	printf("virtio-net: udp %u echoed %u bytes to %u.%u.%u.%u:%u\n", tcp_port, u_len, u_ip[0], u_ip[1],
	       u_ip[2], u_ip[3], u_port);
	debug_exit(0);
}

void test_virtio_net(const char *arg)
{
	const char *eq;
	start();
	if (!*arg || !strcmp(arg, "user"))
		user_mode();
	if (!strncmp(arg, "tcp=", 4))
		tcp_mode(arg + 4);
	if (!strncmp(arg, "udp=", 4))
		udp_mode(arg + 4);
	eq = arg;
	while (*eq && *eq != '=')
		eq++;
	if (*eq == '=') {
		char mode[8] = { 0 };
		if ((size_t)(eq - arg) < sizeof(mode))
			memcpy(mode, arg, (size_t)(eq - arg));
		if (!strcmp(mode, "send") || !strcmp(mode, "recv") || !strcmp(mode, "quiet"))
			switch_mode(mode, eq + 1);
	}
	fail("virtio-net: unknown mode `%s`", arg);
}
