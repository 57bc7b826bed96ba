/* The NBD connection's reply buffer and big-endian helpers. */
#include <stdlib.h>
#include <string.h>

#include "block/nbd_server_int.h"

uint8_t *nbd_buf_reserve(struct nbd_buf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (b->cap - b->end >= n)
		return b->p + b->end;
	/* Slide the unsent bytes down before growing. */
	if (b->start) {
		memmove(b->p, b->p + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
		if (b->cap - b->end >= n)
			return b->p + b->end;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->end < n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return NULL;
	}
	b->p = p;
	b->cap = cap;
	return b->p + b->end;
}

void nbd_buf_put(struct nbd_buf *b, const void *data, size_t n)
{
	uint8_t *p = nbd_buf_reserve(b, n);
	if (!p)
		return;
	if (n)
		memcpy(p, data, n);
	b->end += n;
}

void nbd_buf_u16(struct nbd_buf *b, uint16_t v)
{
	uint8_t p[2];
	nbd_set16(p, v);
	nbd_buf_put(b, p, 2);
}

void nbd_buf_u32(struct nbd_buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	nbd_buf_put(b, p, 4);
}

void nbd_buf_u64(struct nbd_buf *b, uint64_t v)
{
	nbd_buf_u32(b, (uint32_t)(v >> 32));
	nbd_buf_u32(b, (uint32_t)v);
}

uint16_t nbd_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t nbd_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t nbd_get64(const uint8_t *p)
{
	return (uint64_t)nbd_get32(p) << 32 | nbd_get32(p + 4);
}

void nbd_set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
