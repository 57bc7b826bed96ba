/* libFuzzer target: a split or packed virtqueue whose rings, descriptors,
 * indirect tables, event structures and indices all come from the input. Every chain must be taken
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
	static struct vs_vq vq;
	uint16_t qsize, desc_off, avail_off, used_off;
	uint8_t flags;
	uint8_t *area;
	uint16_t held[4];
	uint32_t held_len[4];
	unsigned nheld = 0, batch;

	if (!ready) {
		if (vs_guest_mem_create(&mem, VS_MEM_MIN, &err) < 0)
			abort();
		ready = 1;
	}
	if (size < 8)
		return 0;
	/* Header: queue size (power of two from the low bits), ring offsets,
	 * feature flags (bit 0 EVENT_IDX, 1 INDIRECT_DESC, 2 packed, the rest
	 * where in the index space the queue starts); the rest is the guest
	 * memory image. */
	qsize = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
	desc_off = (uint16_t)((data[1] | data[2] << 8) % AREA_MAX);
	avail_off = (uint16_t)((data[3] | data[4] << 8) % AREA_MAX);
	used_off = (uint16_t)((data[5] | data[6] << 8) % AREA_MAX);
	flags = data[7];
	area = vs_gpa_ptr(&mem, AREA, AREA_MAX);
	memset(area, 0, AREA_MAX);
	memcpy(area, data + 8, size - 8 < AREA_MAX ? size - 8 : AREA_MAX);

	if (flags & 4) {
		if (vs_vq_enable_packed(&vq, &mem, qsize, AREA + desc_off, AREA + avail_off, AREA + used_off,
					flags & 1, flags & 2) < 0)
			return 0;
		/* Start anywhere in the ring, in either lap. */
		vq.last_avail = vq.used_idx = vq.signalled = (uint16_t)((flags >> 4) % qsize);
		vq.avail_wrap = vq.used_wrap = vq.signalled_wrap = flags & 8;
	} else {
		if (vs_vq_enable(&vq, &mem, qsize, AREA + desc_off, AREA + avail_off, AREA + used_off,
				 flags & 1, flags & 2) < 0)
			return 0;
		vq.last_avail = (uint16_t)(flags >> 3); /* start anywhere in the index space */
		vq.used_idx = vq.signalled = vq.last_avail;
	}
	/* Buffers complete in batches, last taken first (devices need not
	 * complete in order); some are handed back once with unpop. */
	batch = 1 + (data[2] >> 6);
	for (int i = 0; i < 512; i++) {
		static const uint8_t pattern[64] = { 0xa5 };
		uint8_t sink[64];
		int rc = vs_vq_pop(&vq, &elem);
		if (rc > 0 && i % 7 == 3) {
			uint16_t head = elem.head;
			vs_vq_unpop(&vq);
			if (vs_vq_pop(&vq, &elem) <= 0 || elem.head != head)
				abort(); /* unpop must give the same chain back */
		}
		if (rc <= 0) {
			if (rc < 0 && !vq.broken)
				abort(); /* a refusal must mark the queue */
			break;
		}
		held[nheld] = elem.head;
		held_len[nheld++] = (uint32_t)elem.in_len;
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
		if (nheld < batch)
			continue;
		for (; nheld; nheld--)
			vs_vq_push(&vq, held[nheld - 1], held_len[nheld - 1]);
		vs_vq_should_notify(&vq);
	}
	for (; nheld; nheld--)
		vs_vq_push(&vq, held[nheld - 1], held_len[nheld - 1]);
	vs_vq_should_notify(&vq);
	return 0;
}
