/* KVM's GSI routing table and the irqfds bound to it. KVM_SET_GSI_ROUTING
 * replaces the whole table, so it is kept here in full: the board's fixed
 * routes (PIC and I/O APIC pins) first, then one MSI route per message a
 * device vector fired, each on its own GSI above the I/O APIC's pins with
 * an eventfd bound to it (KVM_IRQFD). Writing that eventfd makes KVM send
 * the message itself, from whatever thread wrote it. */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm/kvm.h"
#include "hw/pc_layout.h"

#define FIXED_ROUTES 40 /* PIC 15 + I/O APIC 23, rounded up */
#define MAX_ROUTES (FIXED_ROUTES + VS_ACCEL_MSI_ROUTES)

struct vs_kvm_routes {
	int vm_fd;
	pthread_mutex_t lock; /* the table and the ioctls that install it */
	uint32_t nfixed;
	/* Table index of route id's entry, 0 when it has none yet (index 0
	 * is always a fixed route). */
	uint16_t slot[VS_ACCEL_MSI_ROUTES];
	_Atomic int irqfd[VS_ACCEL_MSI_ROUTES];
	struct kvm_irq_routing table; /* followed by MAX_ROUTES entries */
};

static uint32_t msi_gsi(uint32_t id)
{
	return VS_IOAPIC_PINS + id;
}

static struct kvm_irq_routing_entry *entry(struct vs_kvm_routes *r, uint32_t i)
{
	return &r->table.entries[i];
}

/* The PIT drives GSI 0, which a PC wires to I/O APIC pin 2 (the MADT says
 * so with an interrupt source override); KVM's default routing sends it to
 * pin 0. GSIs 1-15 reach both the PICs and the I/O APIC pin of the same
 * number; 16-23 only the I/O APIC. */
static void add_fixed_routes(struct vs_kvm_routes *r)
{
	uint32_t n = 0;
	for (uint32_t gsi = 0; gsi < VS_IOAPIC_PINS; gsi++) {
		if (gsi < 16 && gsi != 2) {
			*entry(r, n++) = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
					       gsi % 8 },
			};
		}
		if (gsi == 2)
			continue;
		*entry(r, n++) = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi },
		};
	}
	r->nfixed = r->table.nr = n;
}

static int install(struct vs_kvm_routes *r)
{
	return ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, &r->table) < 0 ? -errno : 0;
}

int vs_kvm_routes_create(int vm_fd, struct vs_kvm_routes **out, struct vs_error *err)
{
	struct vs_kvm_routes *r = calloc(1, sizeof(*r) + MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));
	int rc;
	_Static_assert(FIXED_ROUTES >= 2 * VS_IOAPIC_PINS - 9, "room for the fixed routes");
	if (!r)
		return vs_error_set(err, ENOMEM, "IRQ routing table");
	r->vm_fd = vm_fd;
	pthread_mutex_init(&r->lock, NULL);
	for (uint32_t i = 0; i < VS_ACCEL_MSI_ROUTES; i++)
		atomic_init(&r->irqfd[i], -1);
	add_fixed_routes(r);
	rc = install(r);
	if (rc < 0) {
		vs_kvm_routes_destroy(r);
		return vs_error_set(err, -rc, "KVM_SET_GSI_ROUTING");
	}
	*out = r;
	return 0;
}

void vs_kvm_routes_destroy(struct vs_kvm_routes *r)
{
	if (!r)
		return;
	/* Closing an irqfd's eventfd detaches it from the VM. */
	for (uint32_t i = 0; i < VS_ACCEL_MSI_ROUTES; i++)
		if (atomic_load(&r->irqfd[i]) >= 0)
			close(atomic_load(&r->irqfd[i]));
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Point route `id`'s table entry at the message: a new entry the first
 * time, then the same one rewritten (never two entries for one GSI). */
static int set_entry_locked(struct vs_kvm_routes *r, uint32_t id, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_msi msi = { .address_lo = (uint32_t)addr,
					   .address_hi = (uint32_t)(addr >> 32),
					   .data = data };
	struct kvm_irq_routing_entry *e;
	int rc;
	if (!r->slot[id]) {
		e = entry(r, r->table.nr);
		*e = (struct kvm_irq_routing_entry){ .gsi = msi_gsi(id),
						     .type = KVM_IRQ_ROUTING_MSI,
						     .u.msi = msi };
		r->table.nr++;
		rc = install(r);
		if (rc < 0) {
			r->table.nr--;
			return rc;
		}
		r->slot[id] = (uint16_t)(r->table.nr - 1);
		return 0;
	}
	e = entry(r, r->slot[id]);
	if (e->u.msi.address_lo == msi.address_lo && e->u.msi.address_hi == msi.address_hi &&
	    e->u.msi.data == msi.data)
		return 0; /* the guest rewrote the same message */
	e->u.msi = msi;
	return install(r);
}

/* The eventfd bound to route `id`'s GSI, made once. */
static int bind_irqfd_locked(struct vs_kvm_routes *r, uint32_t id)
{
	struct kvm_irqfd irqfd = { .gsi = msi_gsi(id) };
	int fd, rc;
	if (atomic_load(&r->irqfd[id]) >= 0)
		return 0;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	irqfd.fd = (uint32_t)fd;
	if (ioctl(r->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	atomic_store(&r->irqfd[id], fd);
	return 0;
}

int vs_kvm_route_msi(struct vs_kvm_routes *r, uint32_t id, uint64_t addr, uint32_t data)
{
	int rc;
	if (id >= VS_ACCEL_MSI_ROUTES)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	rc = set_entry_locked(r, id, addr, data);
	if (rc == 0)
		rc = bind_irqfd_locked(r, id);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int vs_kvm_route_fire(struct vs_kvm_routes *r, uint32_t id)
{
	uint64_t one = 1;
	int fd = id < VS_ACCEL_MSI_ROUTES ? atomic_load(&r->irqfd[id]) : -1;
	if (fd < 0)
		return -ENOENT;
	/* EAGAIN: the counter is saturated, so KVM has an injection pending. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}
