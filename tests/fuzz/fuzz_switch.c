/* libFuzzer target: one NIC's port on the host-only switch (--net
 * switch=NAME), the real backend (switch.c, switch_fdb.c) on real
 * SOCK_SEQPACKET connections, with every other VM on the segment played by
 * the input. Every VM is untrusted to the others, so the peers send frames
 * of any length (0 to past any frame, past the receive buffer too), from
 * any source address (broadcast, multicast, the guest's own, a stream of
 * fresh ones that fills the forwarding table), on the connections the
 * port made to them or the ones they made to the port; they join, stop
 * reading (back-pressure), read again, hang up and die without cleaning
 * up. The guest sends frames of any length in one to three pieces (the
 * destination split across them) to any address, and pauses its receive
 * side. The event loop gets turns (hang-ups, EPOLLOUT, accepts, the stall
 * timer).
 *
 * Checked: what recv() returns fits the buffer and is exactly a frame a
 * peer sent; what a peer receives is exactly a frame the guest sent
 * (nothing a peer sent is ever forwarded: a port never sends a frame back
 * towards the segment); a frame reaches each connection at most once; a
 * frame that reaches more than one connection was flooded, so it went only
 * on connections the port made and its destination was a group address
 * or not known; a unicast frame to a station known (from frames received
 * since the table last could have filled) to sit behind connection X goes
 * to X or nowhere. Nothing may crash, hang or leak. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_virtio.h"
#include "net/net_backend.h"
#include "net/switch_fdb.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PEERS 4
#define MAX_SOCKS 16
#define MAX_FRAMES 4096
#define MAX_LEN 2100
#define TAG_LEN 20 /* dst, src, type, magic (2), id (4) */

/* The other VMs' sockets: a peer's listener (the port connects to it:
 * `made` from the port's side) or a connection the peer made to the
 * port's own socket. */
struct hsock {
	int fd; /* -1: closed */
	int peer;
	bool made; /* the port made it (a flood goes there) */
	bool dead; /* closed, or sent an empty datagram (the port hangs up on it) */
};

struct frame {
	uint8_t dst[6], src[6];
	uint16_t len;
	bool from_guest;
	/* Guest frames: the harness sockets it reached, and where the port
	 * knew its destination was when it was sent (KNOWN_*, or a socket).
	 * Peer frames: the socket it was sent on. */
	uint32_t seen;
	int known;
};

#define KNOWN_NOT -1 /* flooded, or sent to one connection */
#define KNOWN_ONE -2 /* learned from a frame too short to tell whose: one connection at most */

static struct {
	char dir[128];
	struct vs_net_backend be;
	int listeners[MAX_PEERS];
	char names[MAX_PEERS][32];
	int npeers;
	struct hsock s[MAX_SOCKS];
	int ns;
	struct frame f[MAX_FRAMES];
	uint32_t nf;
	/* The model of the forwarding table: where each station was last
	 * heard, from frames recv() returned. */
	struct {
		uint8_t mac[6];
		int sock; /* KNOWN_ONE: learned, but not from a tagged frame; KNOWN_NOT: forgotten */
	} learned[512];
	int nlearned;
	bool table_full; /* 64 stations or more heard: entries may be replaced */
	bool any_dead;	 /* a connection died: an untagged frame may have come on it */
	bool waiting;	 /* a send got -EAGAIN and no peer has read since */
	int stop_fd, stop_calls;
	struct vs_loop *loop;
} H;

static const uint8_t macs[8][6] = {
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
	{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
	{ 0x02, 0, 0, 0, 0, 1 },
	{ 0x02, 0, 0, 0, 0, 2 },
	{ 0x02, 0, 0, 0, 0, 3 },
	{ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
	{ 0, 0, 0, 0, 0, 0 },
};

static void pick_mac(struct fuzz_input *in, uint8_t mac[6])
{
	uint8_t k = (uint8_t)fuzz_take(in, 1);
	if (k & 0x80) {
		uint64_t v = fuzz_take(in, 6);
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)(v >> (8 * i));
	} else {
		memcpy(mac, macs[k & 7], 6);
	}
}

/* Frame `id`'s bytes: the addresses, then a tag naming it, then a
 * pattern; shorter frames are a prefix. */
static void frame_bytes(uint32_t id, uint8_t *p)
{
	const struct frame *f = &H.f[id];
	uint8_t full[MAX_LEN];
	memcpy(full, f->dst, 6);
	memcpy(full + 6, f->src, 6);
	full[12] = 0x88, full[13] = 0xb5; /* local experimental ethertype */
	full[14] = 0xf2, full[15] = 0x7a;
	memcpy(full + 16, &id, 4);
	for (size_t i = TAG_LEN; i < f->len; i++)
		full[i] = (uint8_t)(id * 31 + i);
	memcpy(p, full, f->len);
}

static int new_frame(struct fuzz_input *in, bool from_guest, uint32_t *id)
{
	struct frame *f;
	uint16_t sel;
	if (H.nf == MAX_FRAMES)
		return -1;
	f = &H.f[H.nf];
	*f = (struct frame){ .from_guest = from_guest };
	pick_mac(in, f->dst);
	pick_mac(in, f->src);
	sel = (uint16_t)fuzz_take(in, 2);
	/* Mostly Ethernet sizes; sometimes anything up to past the largest. */
	f->len = sel & 0x8000 ? (uint16_t)(sel % MAX_LEN) : (uint16_t)(TAG_LEN + sel % 100);
	*id = H.nf++;
	return 0;
}

/* A frame seen on the other side: exactly the frame its tag names, and
 * from the right side. Untagged ones (shorter than the tag) are not
 * checked. Returns its id, or -1. */
static int64_t verify(const uint8_t *p, size_t n, bool want_guest)
{
	uint8_t expect[MAX_LEN];
	uint32_t id;
	if (n < TAG_LEN)
		return -1;
	memcpy(&id, p + 16, 4);
	if (p[14] != 0xf2 || p[15] != 0x7a || id >= H.nf || H.f[id].len != n ||
	    H.f[id].from_guest != want_guest)
		abort(); /* not a frame the other side sent, or not whole */
	frame_bytes(id, expect);
	if (memcmp(expect, p, n))
		abort();
	return id;
}

static int learned_slot(const uint8_t *mac)
{
	for (int i = 0; i < H.nlearned; i++)
		if (!memcmp(H.learned[i].mac, mac, 6))
			return i;
	return -1;
}

static void learn(const uint8_t *mac, int sock)
{
	int i = learned_slot(mac);
	if (!vs_mac_is_unicast(mac) || H.table_full)
		return;
	if (i < 0) {
		if (H.nlearned == (int)(sizeof(H.learned) / sizeof(H.learned[0]))) {
			H.table_full = true;
			return;
		}
		i = H.nlearned++;
		memcpy(H.learned[i].mac, mac, 6);
		if (H.nlearned >= VS_FDB_SIZE)
			H.table_full = true;
	}
	/* Frames still queued from a connection that is going away are
	 * learned, then forgotten when the port sees the hang-up. */
	if (sock >= 0 ? H.s[sock].dead : H.any_dead)
		sock = KNOWN_NOT;
	H.learned[i].sock = sock;
}

/* ---- The other VMs ---- */

static int add_sock(int fd, int peer, bool made)
{
	if (H.ns == MAX_SOCKS) {
		close(fd);
		return -1;
	}
	H.s[H.ns] = (struct hsock){ fd, peer, made };
	return H.ns++;
}

static void peer_join(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, p = H.npeers;
	if (p == MAX_PEERS)
		return;
	snprintf(H.names[p], sizeof(H.names[p]), "peer%d.sock", p);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", H.dir, H.names[p]);
	unlink(a.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0)
		abort();
	H.listeners[p] = fd;
	H.npeers++;
}

/* The connections the port made to the peers' listeners. */
static void peers_accept(void)
{
	for (int p = 0; p < H.npeers; p++)
		for (int fd; H.listeners[p] >= 0 &&
			     (fd = accept4(H.listeners[p], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;)
			add_sock(fd, p, true);
}

/* A peer connects to the port's own socket file. */
static void peer_connect(int p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	DIR *d = opendir(H.dir);
	struct dirent *e;
	int fd;
	if (!d)
		abort();
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".sock") && strncmp(e->d_name, "peer", 4))
			snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", H.dir, e->d_name);
	closedir(d);
	if (!a.sun_path[0])
		return;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return;
	}
	add_sock(fd, p, false);
}

/* The port may drop its connection behind socket i (it is forgotten
 * when the port notices): stations learned there, or anywhere unknown,
 * may be anywhere now. */
static void model_forget(int i)
{
	H.s[i].dead = H.any_dead = true;
	for (int k = 0; k < H.nlearned; k++)
		if (H.learned[k].sock == i || H.learned[k].sock == KNOWN_ONE)
			H.learned[k].sock = KNOWN_NOT;
}

static void sock_close(int i)
{
	if (H.s[i].fd < 0)
		return;
	close(H.s[i].fd);
	H.s[i].fd = -1;
	model_forget(i);
}

/* Peer socket i sends frame `id` (of its own making). */
static void peer_send(int i, uint32_t id)
{
	uint8_t buf[MAX_LEN];
	if (H.s[i].fd < 0)
		return;
	frame_bytes(id, buf);
	/* Refused when the port's receive queue is full, or it hung up. */
	if (send(H.s[i].fd, buf, H.f[id].len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 && !H.f[id].len)
		model_forget(i); /* an empty datagram reads as a hang-up */
}

/* Peer socket i reads what it was sent. */
static void peer_read(int i)
{
	uint8_t buf[MAX_LEN + 1];
	ssize_t n;
	H.waiting = false;
	while (H.s[i].fd >= 0 && (n = recv(H.s[i].fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC)) > 0) {
		int64_t id;
		struct frame *f;
		if ((size_t)n > sizeof(buf))
			abort(); /* longer than any frame the guest sent */
		if ((id = verify(buf, (size_t)n, true)) < 0)
			continue;
		f = &H.f[id];
		if (f->seen & (1u << i))
			abort(); /* the same frame twice on one connection */
		if (f->known >= 0 && f->known != i)
			abort(); /* a known station's frame went elsewhere */
		if (f->seen && (f->known == KNOWN_ONE || !H.s[i].made))
			abort(); /* a second connection: only floods do that, on made ones */
		for (int k = 0; k < H.ns; k++)
			if ((f->seen & (1u << k)) && !H.s[k].made)
				abort();
		f->seen |= 1u << i;
	}
}

/* ---- The loop ---- */

static void on_stop(void *opaque, uint32_t events)
{
	uint64_t v;
	(void)opaque, (void)events;
	if (++H.stop_calls < 2)
		return;
	if (read(H.stop_fd, &v, sizeof(v)) < 0)
		abort();
	vs_loop_stop(H.loop);
}

static void loop_turn(void)
{
	uint64_t one = 1;
	H.stop_calls = 0;
	if (write(H.stop_fd, &one, sizeof(one)) != sizeof(one) || vs_loop_run(H.loop) < 0)
		abort();
}

static void ready_cb(void *opaque)
{
	(void)opaque;
}

/* ---- The guest ---- */

static void guest_send(struct fuzz_input *in)
{
	uint8_t buf[MAX_LEN];
	struct iovec iov[3];
	uint32_t id;
	uint8_t cut = (uint8_t)fuzz_take(in, 1);
	int n = 1 + cut % 3, slot;
	size_t a, b;
	if (new_frame(in, true, &id) < 0)
		return;
	frame_bytes(id, buf);
	/* Cut points anywhere, the destination's six bytes included. */
	a = H.f[id].len ? (cut >> 2) % (H.f[id].len + 1u) : 0;
	b = a + (H.f[id].len - a ? (size_t)fuzz_take(in, 1) % (H.f[id].len - a + 1u) : 0);
	iov[0] = (struct iovec){ buf, n == 1 ? H.f[id].len : a };
	iov[1] = (struct iovec){ buf + a, n == 2 ? H.f[id].len - a : b - a };
	iov[2] = (struct iovec){ buf + b, H.f[id].len - b };
	slot = learned_slot(H.f[id].dst);
	H.f[id].known = KNOWN_NOT;
	if (!H.table_full && H.f[id].len >= 6 && vs_mac_is_unicast(H.f[id].dst) && slot >= 0)
		H.f[id].known = H.learned[slot].sock;
	if (H.be.ops->send(H.be.opaque, iov, n) == -EAGAIN)
		H.waiting = true;
	peers_accept(); /* a peer that joined: the port connected to it */
	if (cut & 0x80) /* the peers read at once, or later (back-pressure meanwhile) */
		for (int i = 0; i < H.ns; i++)
			peer_read(i);
}

static void guest_recv(struct fuzz_input *in)
{
	static uint8_t buf[4096];
	size_t len = 1 + (size_t)fuzz_take(in, 2) % sizeof(buf);
	ssize_t n = H.be.ops->recv(H.be.opaque, buf, len);
	int64_t id;
	if (n == -EAGAIN)
		return;
	if (n < 0 || (size_t)n > len)
		abort();
	id = verify(buf, (size_t)n, false);
	if (n >= 12) {
		int from = KNOWN_ONE;
		/* The peer socket that sent it: the one the id was sent on. */
		if (id >= 0)
			from = (int)H.f[id].seen;
		learn(buf + 6, from);
	}
}

static char xdg[] = "/tmp/vessel-fuzz-switch-XXXXXX";

/* At exit: the segment's directories (empty once the port is gone). */
static void remove_dirs(void)
{
	char *end;
	while ((end = strrchr(H.dir, '/')) && end >= H.dir + strlen(xdg)) {
		rmdir(H.dir);
		*end = 0;
	}
	rmdir(xdg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct vs_error err = { 0 };
	struct fuzz_input c = { data, size };
	struct vs_net_peer np = { ready_cb, ready_cb, NULL };
	uint8_t hdr;
	int ops = 0;
	bool slept = false;

	if (!ready) {
		if (!mkdtemp(xdg) || setenv("XDG_RUNTIME_DIR", xdg, 1) < 0 || atexit(remove_dirs) != 0)
			abort();
		H.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (H.stop_fd < 0 || vs_net_switch_dir("fuzz", H.dir, sizeof(H.dir), &err) < 0)
			abort();
		for (char *p = H.dir + strlen(xdg) + 1;; p++) /* mkdir -p: the peers come first */
			if (*p == '/' || !*p) {
				char ch = *p;
				*p = 0;
				if (mkdir(H.dir, 0700) < 0 && errno != EEXIST)
					abort();
				if (!(*p = ch))
					break;
			}
		vs_log_set_level(VS_LOG_ERROR);
		ready = 1;
	}
	H.npeers = H.ns = H.nlearned = 0;
	H.nf = 0;
	H.table_full = H.any_dead = H.waiting = false;
	hdr = (uint8_t)fuzz_take(&c, 1);
	for (int p = 0; p < (hdr & 3); p++) /* the peers already there when the port opens */
		peer_join();
	if (vs_net_switch_open("fuzz", &H.be, &err) < 0)
		abort();
	peers_accept(); /* the connections it made to them */
	if (vs_loop_create(&H.loop, &err) < 0 ||
	    vs_loop_add(H.loop, H.stop_fd, EPOLLIN, on_stop, NULL, &err) < 0)
		abort();
	if (hdr & 4) /* attached (the loop's handlers), or only the ops */
		if (H.be.ops->attach(H.be.opaque, H.loop, &np, &err) < 0)
			abort();

	while (c.n && ops++ < 256) {
		uint8_t op = (uint8_t)fuzz_take(&c, 1);
		int i = H.ns ? (op >> 4) % H.ns : 0;
		uint32_t id;
		switch (op % 10) {
		case 0:
		case 1:
			guest_send(&c);
			break;
		case 2:
			guest_recv(&c);
			break;
		case 3: /* a peer sends a frame */
			if (H.ns && new_frame(&c, false, &id) == 0) {
				H.f[id].seen = (uint32_t)i; /* peer frames: the socket they went on */
				peer_send(i, id);
			}
			break;
		case 4: { /* a peer sends a burst from fresh source addresses */
			int k = 1 + (int)fuzz_take(&c, 1) % 80;
			uint8_t base = (uint8_t)fuzz_take(&c, 1);
			for (int j = 0; j < k && H.ns && H.nf < MAX_FRAMES; j++) {
				struct frame *f = &H.f[H.nf];
				*f = (struct frame){ .len = 60, .seen = (uint32_t)i };
				memcpy(f->dst, macs[j % 8], 6);
				f->src[0] = (uint8_t)(base & 0xfe), f->src[4] = (uint8_t)(j >> 8),
				f->src[5] = (uint8_t)j;
				if (base & 1)
					f->src[0] |= 1; /* group sources: never learned */
				peer_send(i, H.nf++);
			}
			break;
		}
		case 5: /* a peer reads what it was sent (until then it pushes back) */
			peers_accept();
			if (H.ns)
				peer_read(i);
			break;
		case 6: /* a VM joins: the port connects to it when it next sends */
			if (op & 0x10)
				peer_join();
			else if (H.npeers)
				peer_connect((op >> 5) % H.npeers);
			break;
		case 7: /* a connection hangs up, or a VM dies leaving its file */
			if (op & 0x80 && H.npeers) {
				int p = (op >> 4) % H.npeers;
				if (H.listeners[p] >= 0)
					close(H.listeners[p]);
				H.listeners[p] = -1;
				for (int k = 0; k < H.ns; k++)
					if (H.s[k].peer == p)
						sock_close(k);
			} else if (H.ns) {
				sock_close(i);
			}
			break;
		case 8:
			if (hdr & 4)
				loop_turn();
			break;
		case 9:
			if (op & 0x10) {
				H.be.ops->rx_pause(H.be.opaque, op & 0x20);
			} else if (op == 0x63 && !slept && (hdr & 4) && H.waiting) {
				/* Once, and only while a connection pushes back
				 * (it costs 110 ms): past the stall time, so the
				 * timer marks the peer that takes nothing. */
				struct timespec ts = { 0, 110 * 1000000l };
				nanosleep(&ts, NULL);
				loop_turn();
				slept = true;
			}
			break;
		}
	}
	peers_accept();
	for (int k = 0; k < H.ns; k++)
		peer_read(k);
	H.be.ops->destroy(H.be.opaque);
	vs_loop_destroy(H.loop);
	for (int k = 0; k < H.ns; k++)
		sock_close(k);
	for (int p = 0; p < H.npeers; p++) {
		char path[256];
		if (H.listeners[p] >= 0)
			close(H.listeners[p]);
		snprintf(path, sizeof(path), "%s/%s", H.dir, H.names[p]);
		unlink(path);
	}
	return 0;
}
