#include "hw/device.h"

#include <errno.h>
#include <stdlib.h>

int vs_devices_add(struct vs_devices *list, const struct vs_device *dev, struct vs_error *err)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct vs_device *items = realloc(list->items, cap * sizeof(*items));
		if (!items) {
			dev->destroy(dev->opaque);
			return vs_error_set(err, ENOMEM, "adding device %s", dev->name);
		}
		list->items = items;
		list->cap = cap;
	}
	list->items[list->count++] = *dev;
	return 0;
}

void vs_devices_reset(const struct vs_devices *list)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].reset)
			list->items[i].reset(list->items[i].opaque);
}

void vs_devices_aml(const struct vs_devices *list, struct vs_aml *a)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].aml)
			list->items[i].aml(list->items[i].opaque, a);
}

void vs_devices_report(const struct vs_devices *list, FILE *out)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].report)
			list->items[i].report(list->items[i].opaque, out);
}

void vs_devices_release(struct vs_devices *list)
{
	while (list->count > 0) {
		struct vs_device *d = &list->items[--list->count];
		d->destroy(d->opaque);
	}
	free(list->items);
	*list = (struct vs_devices){ 0 };
}
