/* The board's record of queue notify addresses bound to eventfds, for
 * accelerators that can signal them in the kernel. Internal to
 * src/machine. */
#ifndef VESSEL_MACHINE_DOORBELL_H
#define VESSEL_MACHINE_DOORBELL_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/vm.h"

/* struct vs_virtio_doorbell's bind, with the vs_vm as opaque: records the
 * binding and, once an accelerator with ioeventfd is attached, applies it. */
int vs_pc_doorbell_bind(void *opaque, uint64_t gpa, int fd, bool on);
/* The accelerator just attached: apply every recorded binding. */
void vs_pc_doorbells_attach(struct vs_vm *vm);
void vs_pc_doorbells_release(struct vs_vm *vm);

#endif
