/* Byte streams between a device and its host backend (the console today;
 * a virtio-console port or a socket later): the device writes to a sink and
 * is offered input. */
#ifndef VESSEL_HW_CHARDEV_H
#define VESSEL_HW_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

/* Device output: the backend takes all of it (it may drop, never block
 * long). */
struct vs_char_out {
	void (*write)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

/* Device input: the device takes what fits and returns how much; a short
 * count means "full, offer the rest again later", so a fast paste is paced
 * by the guest rather than dropped. */
struct vs_char_in {
	size_t (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

static inline size_t vs_char_receive(const struct vs_char_in *in, const uint8_t *buf, size_t len)
{
	return in->receive ? in->receive(in->opaque, buf, len) : len;
}

#endif
