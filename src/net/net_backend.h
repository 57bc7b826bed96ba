/* What virtio-net needs of a network: send one Ethernet frame, take the
 * next received one, and be told when either may make progress again.
 * Backends (tap, libslirp, the host-only switch) live in src/net, one file
 * each, and run on the machine's I/O thread: attach() registers their fds
 * (and timers) on its loop before the thread starts, and every op and
 * callback runs on that thread afterwards.
 *
 * Flow control is pull-based so nothing is buffered without bound: the
 * device calls recv() only while the guest has posted receive buffers, and
 * pauses the backend (rx_pause) when it has none; a backend with an fd then
 * stops watching it and the host kernel (socket or tap queue) holds or
 * drops the frames. Hot path: ops return plain -errno. */
#ifndef VESSEL_NET_NET_BACKEND_H
#define VESSEL_NET_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <sys/uio.h>

#include "util/error.h"
#include "util/loop.h"

/* Largest frame a backend passes either way: Ethernet without FCS, MTU
 * 1500 plus a VLAN tag, with room to spare; longer ones are dropped. */
#define VS_NET_MAX_FRAME 1536
#define VS_NET_MIN_FRAME 14

/* The device side, called back by the backend on the I/O thread. */
struct vs_net_peer {
	/* Frames may be waiting: call recv() until -EAGAIN. */
	void (*rx_ready)(void *opaque);
	/* A send() that returned -EAGAIN may succeed now. */
	void (*tx_ready)(void *opaque);
	void *opaque;
};

struct vs_net_backend_ops {
	const char *name;
	/* Frames from recv() carry checksums the backend computed itself
	 * (libslirp builds every packet it emits): the device may tell the
	 * guest they need no checking. Not so for frames from other hosts or
	 * guests, which only pass through. */
	bool rx_csum_valid;
	int (*attach)(void *be, struct vs_loop *loop, const struct vs_net_peer *peer, struct vs_error *err);
	/* One frame from the guest. 0 when sent or deliberately dropped (a
	 * full peer on the switch), -EAGAIN when the host cannot take it now
	 * (tx_ready follows), other -errno when it was lost. */
	int (*send)(void *be, const struct iovec *iov, int n);
	/* The next frame for the guest into buf: its length, or -EAGAIN. */
	ssize_t (*recv)(void *be, void *buf, size_t len);
	/* Stop (true) or resume (false) watching for frames for the guest. */
	void (*rx_pause)(void *be, bool paused);
	/* Unwatch, close and free; the I/O thread has stopped. */
	void (*destroy)(void *be);
};

struct vs_net_backend {
	const struct vs_net_backend_ops *ops;
	void *opaque;
};

/* --net tap=IFNAME: attach to an existing tap interface, or create one
 * that disappears when vessel exits (it is not made persistent). */
int vs_net_tap_open(const char *ifname, struct vs_net_backend *out, struct vs_error *err);

/* --net user: libslirp with QEMU's addresses (10.0.2.0/24, host 10.0.2.2,
 * DNS 10.0.2.3, DHCP from 10.0.2.15). */
struct vs_net_hostfwd {
	bool udp;
	struct in_addr host_addr;
	uint16_t host_port, guest_port;
};
#define VS_NET_MAX_HOSTFWD 16
int vs_net_slirp_open(const struct vs_net_hostfwd *fwd, int nfwd, struct vs_net_backend *out,
		      struct vs_error *err);

/* --net switch=NAME: every VM on this host that joins NAME shares one L2
 * segment (see switch.c for the rendezvous directory). */
int vs_net_switch_open(const char *name, struct vs_net_backend *out, struct vs_error *err);
/* The directory the switch NAME's sockets live in (for tests and docs). */
int vs_net_switch_dir(const char *name, char *buf, size_t len, struct vs_error *err);

#endif
