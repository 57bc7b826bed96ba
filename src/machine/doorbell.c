/* Queue notifications that skip user space: the virtio transport binds
 * each queue's eventfd to its notify address while BAR 0 decodes, from
 * device creation on, before any accelerator exists. The board keeps the
 * bindings and hands them to the accelerator (KVM_IOEVENTFD) when it
 * attaches and whenever they change afterwards. Backends without the op
 * (the emulator calls the BAR handler, which signals the same eventfd)
 * only have the list kept. */
#include "machine/doorbell.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* Virtio drivers notify with a 16-bit write of the queue index. */
#define NOTIFY_LEN 2

struct vs_doorbell {
	uint64_t gpa;
	int fd;
	bool applied; /* the accelerator has it */
};

static void apply(struct vs_vm *vm, struct vs_doorbell *d, bool assign)
{
	int rc;
	if (!vm->accel || !vm->accel_ops->ioeventfd || d->applied == assign)
		return;
	rc = vm->accel_ops->ioeventfd(vm->accel, d->gpa, NOTIFY_LEN, d->fd, assign);
	if (rc < 0) {
		/* Not fatal: the write then exits to the BAR handler. */
		vs_debug("ioeventfd %s at 0x%llx: %s", assign ? "assign" : "deassign",
			 (unsigned long long)d->gpa, strerror(-rc));
		return;
	}
	d->applied = assign;
	vs_debug("ioeventfd %s at 0x%llx", assign ? "bound" : "unbound", (unsigned long long)d->gpa);
}

int vs_pc_doorbell_bind(void *opaque, uint64_t gpa, int fd, bool on)
{
	struct vs_vm *vm = opaque;
	int rc = 0;
	pthread_mutex_lock(&vm->doorbell_lock);
	if (on) {
		if (vm->ndoorbells == vm->cap_doorbells) {
			size_t cap = vm->cap_doorbells ? 2 * vm->cap_doorbells : 16;
			struct vs_doorbell *p = realloc(vm->doorbells, cap * sizeof(*p));
			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			vm->doorbells = p;
			vm->cap_doorbells = cap;
		}
		vm->doorbells[vm->ndoorbells] = (struct vs_doorbell){ gpa, fd, false };
		apply(vm, &vm->doorbells[vm->ndoorbells++], true);
		goto out;
	}
	for (size_t i = 0; i < vm->ndoorbells; i++) {
		if (vm->doorbells[i].gpa != gpa || vm->doorbells[i].fd != fd)
			continue;
		apply(vm, &vm->doorbells[i], false);
		vm->doorbells[i] = vm->doorbells[--vm->ndoorbells];
		break;
	}
out:
	pthread_mutex_unlock(&vm->doorbell_lock);
	return rc;
}

void vs_pc_doorbells_attach(struct vs_vm *vm)
{
	pthread_mutex_lock(&vm->doorbell_lock);
	for (size_t i = 0; i < vm->ndoorbells; i++)
		apply(vm, &vm->doorbells[i], true);
	pthread_mutex_unlock(&vm->doorbell_lock);
}

void vs_pc_doorbells_release(struct vs_vm *vm)
{
	/* The accelerator's bindings go with its VM fd; the eventfds are the
	 * devices'. Only the list is ours. */
	free(vm->doorbells);
	vm->doorbells = NULL;
	vm->ndoorbells = vm->cap_doorbells = 0;
}
