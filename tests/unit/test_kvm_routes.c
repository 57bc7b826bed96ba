/* KVM MSI routes and their irqfds (accel/kvm/irq_routes.c) against the
 * host's KVM: a VM with the in-kernel irqchip and one vCPU whose LAPIC is
 * software-enabled, so a fired route shows up as its vector's bit in the
 * LAPIC's IRR. Checks that a route delivers its message, that a
 * reprogrammed route delivers the new one and not the old (one table
 * entry per GSI), that routes are independent, and that firing a route
 * never set fails. Skipped without a usable /dev/kvm. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm/kvm.h"
#include "tap.h"

#define APIC_SVR 0xf0
#define APIC_IRR 0x200
#define MSG_ADDR 0xfee00000ull /* APIC ID 0, physical destination */

struct vm {
	int kvm, vm, vcpu;
	struct vs_kvm_routes *routes;
};

static const char *vm_open(struct vm *v)
{
	struct vs_error err = { 0 };
	struct kvm_lapic_state lapic;
	uint32_t svr;
	memset(v, 0, sizeof(*v));
	v->vm = v->vcpu = -1;
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return "no /dev/kvm";
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0 || ioctl(v->vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return "KVM cannot create a VM with an in-kernel irqchip here";
	if (vs_kvm_routes_create(v->vm, &v->routes, &err) < 0)
		return "KVM_SET_GSI_ROUTING refused the fixed routes";
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0 || ioctl(v->vcpu, KVM_GET_LAPIC, &lapic) < 0)
		return "KVM cannot create a vCPU here";
	memcpy(&svr, &lapic.regs[APIC_SVR], 4);
	svr |= 0x100; /* software-enable: accept interrupts */
	memcpy(&lapic.regs[APIC_SVR], &svr, 4);
	if (ioctl(v->vcpu, KVM_SET_LAPIC, &lapic) < 0)
		return "KVM_SET_LAPIC failed";
	return NULL;
}

static void vm_close(struct vm *v)
{
	vs_kvm_routes_destroy(v->routes);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
	if (v->kvm >= 0)
		close(v->kvm);
}

/* The IRR bit of `vector`, cleared afterwards (with the rest of the IRR)
 * so the next check starts clean. */
static int take_irr(struct vm *v, uint8_t vector)
{
	struct kvm_lapic_state lapic;
	uint32_t word;
	int bit;
	if (ioctl(v->vcpu, KVM_GET_LAPIC, &lapic) < 0)
		return -1;
	memcpy(&word, &lapic.regs[APIC_IRR + 0x10 * (vector / 32)], 4);
	bit = (word >> (vector % 32)) & 1;
	for (int i = 0; i < 8; i++)
		memset(&lapic.regs[APIC_IRR + 0x10 * i], 0, 4);
	if (ioctl(v->vcpu, KVM_SET_LAPIC, &lapic) < 0)
		return -1;
	return bit;
}

TEST(routes_deliver_and_follow_reprogramming)
{
	struct vm v;
	const char *why = vm_open(&v);
	if (why) {
		vm_close(&v);
		SKIP(why);
	}
	CHECK_EQ_U64(vs_kvm_route_fire(v.routes, 5), (uint64_t)-ENOENT); /* never set */
	CHECK(vs_kvm_route_msi(v.routes, 5, MSG_ADDR, 0x61) == 0);
	CHECK(vs_kvm_route_fire(v.routes, 5) == 0);
	CHECK_EQ_U64(take_irr(&v, 0x61), 1);
	/* The same message again: nothing changes. */
	CHECK(vs_kvm_route_msi(v.routes, 5, MSG_ADDR, 0x61) == 0);
	CHECK(vs_kvm_route_fire(v.routes, 5) == 0);
	CHECK_EQ_U64(take_irr(&v, 0x61), 1);
	/* Reprogrammed: the new vector only. */
	CHECK(vs_kvm_route_msi(v.routes, 5, MSG_ADDR, 0x72) == 0);
	CHECK(vs_kvm_route_fire(v.routes, 5) == 0);
	CHECK_EQ_U64(take_irr(&v, 0x72), 1);
	CHECK(vs_kvm_route_fire(v.routes, 5) == 0);
	CHECK_EQ_U64(take_irr(&v, 0x61), 0);
	/* A second route, and the last id: each its own message. */
	CHECK(vs_kvm_route_msi(v.routes, VS_ACCEL_MSI_ROUTES - 1, MSG_ADDR, 0x83) == 0);
	CHECK(vs_kvm_route_fire(v.routes, VS_ACCEL_MSI_ROUTES - 1) == 0);
	CHECK_EQ_U64(take_irr(&v, 0x83), 1);
	CHECK(vs_kvm_route_fire(v.routes, 5) == 0);
	CHECK_EQ_U64(take_irr(&v, 0x83), 0);
	CHECK(vs_kvm_route_msi(v.routes, VS_ACCEL_MSI_ROUTES, MSG_ADDR, 0x83) == -EINVAL);
	CHECK(vs_kvm_route_fire(v.routes, VS_ACCEL_MSI_ROUTES) < 0);
	vm_close(&v);
}

VS_TAP_MAIN(TAP_CASE(routes_deliver_and_follow_reprogramming))
