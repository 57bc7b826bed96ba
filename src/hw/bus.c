#include "hw/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void vs_bus_init(struct vs_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void vs_bus_release(struct vs_bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->count = bus->cap = 0;
}

static bool overlaps(const struct vs_bus_range *r, uint64_t base, uint64_t len)
{
	return base < r->base + r->len && r->base < base + len;
}

int vs_bus_register(struct vs_bus *bus, uint64_t base, uint64_t len, const struct vs_bus_ops *ops,
		    void *opaque, const char *name, struct vs_error *err)
{
	size_t pos = 0;
	if (len == 0 || base + len < base)
		return vs_error_msg(err, "%s bus: device `%s` has an empty or wrapping range", bus->name,
				    name);
	for (size_t i = 0; i < bus->count; i++) {
		if (overlaps(&bus->ranges[i], base, len))
			return vs_error_msg(err, "%s bus: `%s` at 0x%llx+0x%llx overlaps `%s`", bus->name,
					    name, (unsigned long long)base, (unsigned long long)len,
					    bus->ranges[i].name);
		if (bus->ranges[i].base < base)
			pos = i + 1;
	}
	if (bus->count == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct vs_bus_range *n = realloc(bus->ranges, cap * sizeof(*n));
		if (!n)
			return vs_error_set(err, ENOMEM, "%s bus: registering `%s`", bus->name, name);
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->count - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct vs_bus_range){ base, len, ops, opaque, name };
	bus->count++;
	return 0;
}

bool vs_bus_unregister(struct vs_bus *bus, uint64_t base)
{
	for (size_t i = 0; i < bus->count; i++) {
		if (bus->ranges[i].base == base) {
			memmove(&bus->ranges[i], &bus->ranges[i + 1],
				(bus->count - i - 1) * sizeof(bus->ranges[0]));
			bus->count--;
			return true;
		}
	}
	return false;
}

const struct vs_bus_range *vs_bus_find(const struct vs_bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vs_bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool vs_bus_read(const struct vs_bus *bus, uint64_t addr, uint8_t *data, uint32_t size)
{
	const struct vs_bus_range *r = vs_bus_find(bus, addr);
	if (!r || !r->ops->read) {
		memset(data, 0xff, size);
		return r != NULL;
	}
	r->ops->read(r->opaque, addr - r->base, data, size);
	return true;
}

bool vs_bus_write(const struct vs_bus *bus, uint64_t addr, const uint8_t *data, uint32_t size)
{
	const struct vs_bus_range *r = vs_bus_find(bus, addr);
	if (!r)
		return false;
	if (r->ops->write)
		r->ops->write(r->opaque, addr - r->base, data, size);
	return true;
}
