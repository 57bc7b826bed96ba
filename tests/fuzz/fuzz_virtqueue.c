/* libFuzzer target: a split virtqueue whose rings, descriptors, indirect
 * tables and indices all come from the input. Every chain must be taken
 * (with every segment inside guest RAM: they are all written and read
 * here) or refused with the queue marked broken; never a crash or hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AREA 0x10000ull	 /* the input is copied here */
#define AREA_MAX 0x8000u /* rings, tables and buffers */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vs_guest_mem mem;
	static int ready;
	static struct vs_vq_elem elem;
	struct vs_error err;
	struct vs_vq vq;
	uint16_t qsize, desc_off, avail_off, used_off;
	uint8_t flags;
	uint8_t *area;

	if (!ready) {
		if (vs_guest_mem_create(&mem, VS_MEM_MIN, &err) < 0)
			abort();
		ready = 1;
	}
	if (size < 8)
		return 0;
	/* Header: queue size (power of two from the low bits), ring offsets,
	 * feature flags; the rest is the guest memory image. */
	qsize = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
	desc_off = (uint16_t)((data[1] | data[2] << 8) % AREA_MAX);
	avail_off = (uint16_t)((data[3] | data[4] << 8) % AREA_MAX);
	used_off = (uint16_t)((data[5] | data[6] << 8) % AREA_MAX);
	flags = data[7];
	area = vs_gpa_ptr(&mem, AREA, AREA_MAX);
	memset(area, 0, AREA_MAX);
	memcpy(area, data + 8, size - 8 < AREA_MAX ? size - 8 : AREA_MAX);

	if (vs_vq_enable(&vq, &mem, qsize, AREA + desc_off, AREA + avail_off, AREA + used_off, flags & 1,
			 flags & 2) < 0)
		return 0;
	vq.last_avail = (uint16_t)(flags >> 2); /* start anywhere in the index space */
	vq.used_idx = vq.signalled = vq.last_avail;
	for (int i = 0; i < 512; i++) {
		static const uint8_t pattern[64] = { 0xa5 };
		uint8_t sink[64];
		int rc = vs_vq_pop(&vq, &elem);
		if (rc <= 0) {
			if (rc < 0 && !vq.broken)
				abort(); /* a refusal must mark the queue */
			break;
		}
		if (elem.nout + elem.nin > VS_VQ_MAX_IOV)
			abort();
		/* Touch every byte of every segment, as a device may. */
		for (unsigned s = 0; s < (unsigned)elem.nout + elem.nin; s++) {
			const uint8_t *b = elem.iov[s].base;
			if (b < mem.base || elem.iov[s].len > mem.total ||
			    b - mem.base > (ptrdiff_t)(mem.total - elem.iov[s].len))
				abort();
			memset(elem.iov[s].base, 0x5a, elem.iov[s].len);
		}
		vs_vq_elem_read(&elem, 0, sink, sizeof(sink));
		vs_vq_elem_write(&elem, 1, pattern, sizeof(pattern));
		vs_vq_push(&vq, elem.head, (uint32_t)elem.in_len);
		vs_vq_should_notify(&vq);
	}
	return 0;
}
