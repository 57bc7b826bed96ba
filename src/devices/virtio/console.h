/* virtio-console (virtio 1.2 section 5.3), one port without
 * VIRTIO_CONSOLE_F_MULTIPORT: Linux makes it /dev/hvc0. What the guest
 * writes (transmitq) goes to `out_fd`; what `in_fd` delivers is put in the
 * receiveq buffers the guest posts. With a listening socket instead, each
 * client that connects becomes both, one at a time; a client that hangs up
 * makes room for the next. Everything runs on the I/O thread: `in_fd` is
 * watched only while the guest has posted buffers, so a guest that reads
 * nothing stalls the peer, not the loop. */
#ifndef VESSEL_DEVICES_VIRTIO_CONSOLE_H
#define VESSEL_DEVICES_VIRTIO_CONSOLE_H

#include "devices/virtio/virtio_pci.h"
#include "hw/device.h"

#define VS_CONSOLE_Q_RX 0
#define VS_CONSOLE_Q_TX 1

struct vs_virtio_console_config {
	/* Each -1 or a descriptor the device takes over (also on failure);
	 * in_fd may equal out_fd. in_fd is made non-blocking (sockets are
	 * read with MSG_DONTWAIT instead); writes to out_fd may block the
	 * I/O thread (a file, or a peer that keeps up). */
	int in_fd, out_fd;
	int listen_fd; /* a listening stream socket, or -1 */
};

/* `env` as for vs_virtio_rng_create. */
int vs_virtio_console_create(const struct vs_virtio_config *env, const struct vs_virtio_console_config *cc,
			     struct vs_device *dev, struct vs_error *err);

#endif
