#include "fuzz_dev.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

uint8_t fuzz_byte(struct fuzz_input *in)
{
	uint8_t b;
	if (in->n == 0)
		return 0;
	b = *in->p++;
	in->n--;
	return b;
}

/* Fills the bytes of a read buffer past the access size: a device must
 * not touch them (ASan cannot tell, they lie inside the same array). */
#define POISON 0x5a

void fuzz_dev_run(struct fuzz_input *in, const struct fuzz_range *ranges, size_t count,
		  fuzz_host_event host_event, void *ctx)
{
	static const uint32_t sizes[4] = { 1, 2, 4, 8 };
	struct vs_bus bus;
	struct vs_error err;

	vs_bus_init(&bus, "pio");
	for (size_t i = 0; i < count; i++)
		if (vs_bus_register(&bus, ranges[i].base, ranges[i].len, ranges[i].ops, ranges[i].opaque,
				    ranges[i].name, &err) < 0)
			abort();
	while (in->n > 0) {
		uint8_t op = fuzz_byte(in);
		uint32_t size = sizes[(op >> 1) & 3];
		size_t which = (size_t)(op >> 3) % (count + (host_event ? 1 : 0));
		const struct fuzz_range *r;
		uint8_t data[8];
		uint64_t addr;

		if (which == count) {
			host_event(ctx, op, in);
			continue;
		}
		r = &ranges[which];
		addr = r->base + fuzz_byte(in) % (r->len + 1);
		if (op & 1) {
			for (uint32_t i = 0; i < size; i++)
				data[i] = fuzz_byte(in);
			vs_bus_write(&bus, addr, data, size);
		} else {
			memset(data, POISON, sizeof(data));
			vs_bus_read(&bus, addr, data, size);
			for (uint32_t i = size; i < sizeof(data); i++)
				if (data[i] != POISON)
					abort();
		}
	}
	vs_bus_release(&bus);
}

void fuzz_irq_set_level(void *opaque, uint32_t gsi, int level)
{
	struct fuzz_irq *irq = opaque;
	if (gsi != irq->gsi || (level != 0 && level != 1) || level == irq->level)
		abort();
	irq->level = level;
	irq->calls++;
}

void fuzz_stop_request(void *opaque, enum vs_stop_reason reason, int status)
{
	struct fuzz_stop *s = opaque;
	switch (reason) {
	case VS_STOP_DEBUG_EXIT:
		if (status <= 0 || !(status & 1))
			abort();
		break;
	case VS_STOP_POWEROFF:
	case VS_STOP_RESET:
		if (status != 0)
			abort();
		break;
	default: /* crash, user and host errors are not a device's to report */
		abort();
	}
	s->calls++;
	s->last_reason = reason;
	s->last_status = status;
}

void fuzz_out_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fuzz_out *o = opaque;
	if (!buf || len == 0)
		abort();
	o->bytes += len;
}

void fuzz_dev_quiet(void)
{
	vs_log_set_level(VS_LOG_ERROR);
}
