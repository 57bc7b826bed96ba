#include "x86/segment.h"

#include <string.h>

void vs_x86_desc_decode(uint64_t raw, uint64_t high, uint16_t selector, bool long_mode,
			struct vs_segment *out)
{
	uint32_t limit = (uint32_t)(raw & 0xffff) | (uint32_t)((raw >> 32) & 0xf0000);
	memset(out, 0, sizeof(*out));
	out->selector = selector;
	out->base = ((raw >> 16) & 0xffffff) | (((raw >> 56) & 0xff) << 24);
	out->type = (uint8_t)((raw >> 40) & 0xf);
	out->s = (uint8_t)((raw >> 44) & 1);
	out->dpl = (uint8_t)((raw >> 45) & 3);
	out->present = (uint8_t)((raw >> 47) & 1);
	out->avl = (uint8_t)((raw >> 52) & 1);
	out->l = (uint8_t)((raw >> 53) & 1);
	out->db = (uint8_t)((raw >> 54) & 1);
	out->g = (uint8_t)((raw >> 55) & 1);
	out->limit = out->g ? (limit << 12) | 0xfff : limit;
	if (long_mode && !out->s)
		out->base |= (high & 0xffffffffull) << 32;
}

void vs_x86_seg_real(uint16_t selector, bool code, struct vs_segment *out)
{
	memset(out, 0, sizeof(*out));
	out->selector = selector;
	out->base = (uint64_t)selector << 4;
	out->limit = 0xffff;
	out->type = code ? 0xb : 0x3;
	out->s = 1;
	out->present = 1;
}
