/* The registry of CPU backends built into vessel. */
#include "accel/accel.h"

#include <string.h>

const struct vs_accel_ops *const vs_accels[] = {
	&vs_accel_kvm_ops,
	&vs_accel_emu_ops,
	NULL,
};

const struct vs_accel_ops *vs_accel_find(const char *name)
{
	for (int i = 0; vs_accels[i]; i++)
		if (strcmp(vs_accels[i]->name, name) == 0)
			return vs_accels[i];
	return NULL;
}
