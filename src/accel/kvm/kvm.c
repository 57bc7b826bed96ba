/* KVM accelerator: in-kernel irqchip and PIT, one memory slot per RAM
 * region, and vCPU exits translated into the machine's vs_exit records. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel/kvm/kvm.h"
#include "accel/accel.h"
#include "hw/pc_layout.h"
#include "util/cleanup.h"

/* Addresses KVM needs for its real-mode emulation helpers on Intel hosts:
 * three pages just below the BIOS ROM, inside the PCI hole. */
#define KVM_TSS_ADDR 0xfffbd000ul
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ul
#define KVM_CPUID_MAX 256
#define CPUID_EXTRA 4

struct vs_accel {
	int kvm_fd;
	int vm_fd;
	int run_size;
	int ncpus;
	struct kvm_cpuid2 *supported_cpuid;
	struct vs_kvm_routes *routes;
};

struct vs_vcpu {
	struct vs_accel *acc;
	int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	atomic_bool thread_known;
};

bool vs_kvm_is_pvm(void)
{
	struct stat st;
	return stat("/sys/module/kvm_pvm", &st) == 0;
}

int vs_kvm_probe(struct vs_error *err)
{
	vs_autoclose int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int version;
	if (fd < 0)
		return vs_error_set(err, errno, "cannot open /dev/kvm");
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version < 0)
		return vs_error_set(err, errno, "/dev/kvm is not a KVM device");
	if (version != KVM_API_VERSION)
		return vs_error_msg(err, "/dev/kvm speaks API version %d, vessel needs %d", version,
				    KVM_API_VERSION);
	return 0;
}

static void kick_handler(int sig)
{
	(void)sig; /* its only job is to make KVM_RUN return EINTR */
}

static int install_kick_handler(struct vs_error *err)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VS_VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return vs_error_set(err, errno, "installing the vCPU kick signal handler");
	return 0;
}

static int check_caps(int kvm_fd, struct vs_error *err)
{
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
		{ KVM_CAP_IRQCHIP, "in-kernel irqchip" },     { KVM_CAP_USER_MEMORY, "user memory" },
		{ KVM_CAP_SET_TSS_ADDR, "TSS address" },      { KVM_CAP_PIT2, "in-kernel PIT" },
		{ KVM_CAP_IMMEDIATE_EXIT, "immediate exit" }, { KVM_CAP_EXT_CPUID, "extended CPUID" },
		{ KVM_CAP_IRQ_ROUTING, "IRQ routing" },
	};
	for (size_t i = 0; i < VS_ARRAY_SIZE(needed); i++)
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
			return vs_error_msg(err, "host KVM lacks a needed capability: %s", needed[i].name);
	return 0;
}

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd, struct vs_error *err)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + KVM_CPUID_MAX * sizeof(struct kvm_cpuid_entry2));
	if (!c) {
		vs_error_set(err, ENOMEM, "CPUID table");
		return NULL;
	}
	c->nent = KVM_CPUID_MAX;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		vs_error_set(err, errno, "KVM_GET_SUPPORTED_CPUID");
		free(c);
		return NULL;
	}
	return c;
}

static void kvm_destroy(struct vs_accel *acc)
{
	if (!acc)
		return;
	vs_kvm_routes_destroy(acc->routes);
	if (acc->vm_fd >= 0)
		close(acc->vm_fd);
	if (acc->kvm_fd >= 0)
		close(acc->kvm_fd);
	free(acc->supported_cpuid);
	free(acc);
}

static int kvm_create(const struct vs_accel_config *cfg, struct vs_accel **out, struct vs_error *err)
{
	struct vs_accel *acc = calloc(1, sizeof(*acc));
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;
	if (!acc)
		return vs_error_set(err, ENOMEM, "KVM state");
	acc->vm_fd = -1;
	acc->ncpus = cfg->ncpus;
	acc->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (acc->kvm_fd < 0) {
		vs_error_set(err, errno, "cannot open /dev/kvm");
		goto fail;
	}
	if (ioctl(acc->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		vs_error_msg(err, "/dev/kvm speaks an unknown API version");
		goto fail;
	}
	if (check_caps(acc->kvm_fd, err) < 0 || install_kick_handler(err) < 0)
		goto fail;
	acc->run_size = ioctl(acc->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (acc->run_size <= 0) {
		vs_error_set(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	if (ioctl(acc->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS) < cfg->ncpus &&
	    ioctl(acc->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS) < cfg->ncpus) {
		vs_error_msg(err, "host KVM cannot run %d vCPUs", cfg->ncpus);
		goto fail;
	}
	acc->vm_fd = ioctl(acc->kvm_fd, KVM_CREATE_VM, 0);
	if (acc->vm_fd < 0) {
		vs_error_set(err, errno, "KVM_CREATE_VM");
		goto fail;
	}
	fcntl(acc->vm_fd, F_SETFD, FD_CLOEXEC);
	if (ioctl(acc->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		vs_error_set(err, errno, "KVM_SET_TSS_ADDR");
		goto fail;
	}
	/* Only needed (and only supported) on Intel; harmless to skip. */
	ioctl(acc->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity);
	if (ioctl(acc->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		vs_error_set(err, errno, "KVM_CREATE_IRQCHIP");
		goto fail;
	}
	if (ioctl(acc->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		vs_error_set(err, errno, "KVM_CREATE_PIT2");
		goto fail;
	}
	if (vs_kvm_routes_create(acc->vm_fd, &acc->routes, err) < 0)
		goto fail;
	for (int i = 0; i < cfg->mem->nregions; i++) {
		const struct vs_mem_region *r = &cfg->mem->regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = (uint32_t)i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->hva,
		};
		if (ioctl(acc->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			vs_error_set(err, errno, "mapping guest RAM at 0x%llx into KVM",
				     (unsigned long long)r->gpa);
			goto fail;
		}
	}
	acc->supported_cpuid = get_supported_cpuid(acc->kvm_fd, err);
	if (!acc->supported_cpuid)
		goto fail;
	*out = acc;
	return 0;
fail:
	kvm_destroy(acc);
	return -1;
}

/* Route the PIC to LINT0 (ExtINT) and NMIs to LINT1, as a BIOS leaves a
 * PC: without it the in-kernel PIC's interrupts never reach the CPU. */
static int setup_lapic_lints(int fd, struct vs_error *err)
{
	struct kvm_lapic_state lapic;
	uint32_t lvt0, lvt1;
	enum { APIC_LVT0 = 0x350, APIC_LVT1 = 0x360, MODE_EXTINT = 7 << 8, MODE_NMI = 4 << 8 };
	if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		return vs_error_set(err, errno, "KVM_GET_LAPIC");
	memcpy(&lvt0, &lapic.regs[APIC_LVT0], 4);
	memcpy(&lvt1, &lapic.regs[APIC_LVT1], 4);
	lvt0 = (lvt0 & ~0x1c700u & ~0x10000u) | MODE_EXTINT;
	lvt1 = (lvt1 & ~0x1c700u & ~0x10000u) | MODE_NMI;
	memcpy(&lapic.regs[APIC_LVT0], &lvt0, 4);
	memcpy(&lapic.regs[APIC_LVT1], &lvt1, 4);
	if (ioctl(fd, KVM_SET_LAPIC, &lapic) < 0)
		return vs_error_set(err, errno, "KVM_SET_LAPIC");
	return 0;
}

static void kvm_vcpu_destroy(struct vs_vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->acc->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
}

static int kvm_vcpu_create(struct vs_accel *acc, int index, struct vs_vcpu **out, struct vs_error *err)
{
	struct vs_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	struct kvm_cpuid2 *cpuid = acc->supported_cpuid;
	vs_autofree struct kvm_cpuid2 *mine = NULL;
	size_t cpuid_size = sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0]);
	if (!vcpu)
		return vs_error_set(err, ENOMEM, "vCPU %d", index);
	vcpu->acc = acc;
	vcpu->index = index;
	vcpu->fd = ioctl(acc->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		vs_error_set(err, errno, "KVM_CREATE_VCPU %d", index);
		goto fail;
	}
	fcntl(vcpu->fd, F_SETFD, FD_CLOEXEC);
	vcpu->run = mmap(NULL, (size_t)acc->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		vs_error_set(err, errno, "mapping the run area of vCPU %d", index);
		goto fail;
	}
	/* Room for the leaves the filter synthesises. */
	mine = malloc(cpuid_size + CPUID_EXTRA * sizeof(cpuid->entries[0]));
	if (!mine) {
		vs_error_set(err, ENOMEM, "CPUID of vCPU %d", index);
		goto fail;
	}
	memcpy(mine, cpuid, cpuid_size);
	mine->nent = (uint32_t)vs_kvm_cpuid_filter(mine->entries, (int)mine->nent,
						   (int)mine->nent + CPUID_EXTRA, index, acc->ncpus);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, mine) < 0) {
		vs_error_set(err, errno, "KVM_SET_CPUID2 on vCPU %d", index);
		goto fail;
	}
	if (setup_lapic_lints(vcpu->fd, err) < 0)
		goto fail;
	*out = vcpu;
	return 0;
fail:
	kvm_vcpu_destroy(vcpu);
	return -1;
}

static void seg_to_kvm(const struct vs_segment *s, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->type;
	k->present = s->present;
	k->dpl = s->dpl;
	k->db = s->db;
	k->s = s->s;
	k->l = s->l;
	k->g = s->g;
	k->avl = s->avl;
	k->unusable = s->unusable;
}

static void seg_from_kvm(const struct kvm_segment *k, struct vs_segment *s)
{
	s->base = k->base;
	s->limit = k->limit;
	s->selector = k->selector;
	s->type = k->type;
	s->present = k->present;
	s->dpl = k->dpl;
	s->db = k->db;
	s->s = k->s;
	s->l = k->l;
	s->g = k->g;
	s->avl = k->avl;
	s->unusable = k->unusable;
}

static int kvm_vcpu_set_state(struct vs_vcpu *vcpu, const struct vs_cpu_state *st, struct vs_error *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rax = st->rax,
		.rbx = st->rbx,
		.rcx = st->rcx,
		.rdx = st->rdx,
		.rsi = st->rsi,
		.rdi = st->rdi,
		.rsp = st->rsp,
		.rbp = st->rbp,
		.r8 = st->r8,
		.r9 = st->r9,
		.r10 = st->r10,
		.r11 = st->r11,
		.r12 = st->r12,
		.r13 = st->r13,
		.r14 = st->r14,
		.r15 = st->r15,
		.rip = st->rip,
		.rflags = st->rflags,
	};
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return vs_error_set(err, errno, "KVM_GET_SREGS");
	seg_to_kvm(&st->cs, &sregs.cs);
	seg_to_kvm(&st->ds, &sregs.ds);
	seg_to_kvm(&st->es, &sregs.es);
	seg_to_kvm(&st->fs, &sregs.fs);
	seg_to_kvm(&st->gs, &sregs.gs);
	seg_to_kvm(&st->ss, &sregs.ss);
	seg_to_kvm(&st->tr, &sregs.tr);
	seg_to_kvm(&st->ldt, &sregs.ldt);
	sregs.gdt.base = st->gdt.base;
	sregs.gdt.limit = st->gdt.limit;
	sregs.idt.base = st->idt.base;
	sregs.idt.limit = st->idt.limit;
	sregs.cr0 = st->cr0;
	sregs.cr2 = st->cr2;
	sregs.cr3 = st->cr3;
	sregs.cr4 = st->cr4;
	sregs.cr8 = st->cr8;
	sregs.efer = st->efer;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return vs_error_set(err, errno, "KVM_SET_SREGS");
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return vs_error_set(err, errno, "KVM_SET_REGS");
	return 0;
}

static int kvm_vcpu_get_state(struct vs_vcpu *vcpu, struct vs_cpu_state *st)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	memset(st, 0, sizeof(*st));
	st->rax = r.rax, st->rbx = r.rbx, st->rcx = r.rcx, st->rdx = r.rdx;
	st->rsi = r.rsi, st->rdi = r.rdi, st->rsp = r.rsp, st->rbp = r.rbp;
	st->r8 = r.r8, st->r9 = r.r9, st->r10 = r.r10, st->r11 = r.r11;
	st->r12 = r.r12, st->r13 = r.r13, st->r14 = r.r14, st->r15 = r.r15;
	st->rip = r.rip, st->rflags = r.rflags;
	seg_from_kvm(&s.cs, &st->cs);
	seg_from_kvm(&s.ds, &st->ds);
	seg_from_kvm(&s.es, &st->es);
	seg_from_kvm(&s.fs, &st->fs);
	seg_from_kvm(&s.gs, &st->gs);
	seg_from_kvm(&s.ss, &st->ss);
	seg_from_kvm(&s.tr, &st->tr);
	seg_from_kvm(&s.ldt, &st->ldt);
	st->gdt.base = s.gdt.base, st->gdt.limit = s.gdt.limit;
	st->idt.base = s.idt.base, st->idt.limit = s.idt.limit;
	st->cr0 = s.cr0, st->cr2 = s.cr2, st->cr3 = s.cr3, st->cr4 = s.cr4, st->cr8 = s.cr8;
	st->efer = s.efer;
	return 0;
}

static void translate_exit(struct kvm_run *run, struct vs_exit *exit)
{
	memset(exit, 0, sizeof(*exit));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit->kind = VS_EXIT_IO;
		exit->io.port = run->io.port;
		exit->io.size = run->io.size;
		exit->io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
		exit->io.count = run->io.count;
		exit->io.data = (uint8_t *)run + run->io.data_offset;
		return;
	case KVM_EXIT_MMIO:
		exit->kind = VS_EXIT_MMIO;
		exit->mmio.gpa = run->mmio.phys_addr;
		exit->mmio.data = run->mmio.data;
		exit->mmio.len = run->mmio.len;
		exit->mmio.is_write = run->mmio.is_write;
		return;
	case KVM_EXIT_HLT:
		exit->kind = VS_EXIT_HLT;
		return;
	case KVM_EXIT_INTR:
		exit->kind = VS_EXIT_INTR;
		return;
	case KVM_EXIT_SHUTDOWN:
		exit->kind = VS_EXIT_SHUTDOWN;
		snprintf(exit->detail, sizeof(exit->detail), "triple fault (KVM_EXIT_SHUTDOWN)");
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			exit->kind = VS_EXIT_POWEROFF;
			return;
		case KVM_SYSTEM_EVENT_RESET:
			exit->kind = VS_EXIT_RESET;
			return;
		default:
			exit->kind = VS_EXIT_UNKNOWN;
			exit->reason = run->system_event.type;
			snprintf(exit->detail, sizeof(exit->detail), "KVM system event %u",
				 run->system_event.type);
			return;
		}
	case KVM_EXIT_INTERNAL_ERROR:
		exit->kind = VS_EXIT_INTERNAL;
		exit->reason = run->internal.suberror;
		snprintf(exit->detail, sizeof(exit->detail), "KVM internal error, suberror %u%s",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
			     ? " (instruction emulation failed)"
			     : "");
		return;
	case KVM_EXIT_FAIL_ENTRY:
		exit->kind = VS_EXIT_FAIL_ENTRY;
		exit->reason = run->fail_entry.hardware_entry_failure_reason;
		snprintf(exit->detail, sizeof(exit->detail), "KVM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return;
	default:
		exit->kind = VS_EXIT_UNKNOWN;
		exit->reason = run->exit_reason;
		snprintf(exit->detail, sizeof(exit->detail), "unexpected KVM exit reason %u",
			 run->exit_reason);
		return;
	}
}

static int kvm_vcpu_run(struct vs_vcpu *vcpu, struct vs_exit *exit)
{
	if (!atomic_load(&vcpu->thread_known)) {
		vcpu->thread = pthread_self();
		atomic_store(&vcpu->thread_known, true);
	}
	if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST); /* kick() races */
			memset(exit, 0, sizeof(*exit));
			exit->kind = VS_EXIT_INTR;
			return 0;
		}
		return -errno;
	}
	translate_exit(vcpu->run, exit);
	return 0;
}

static void kvm_vcpu_kick(struct vs_vcpu *vcpu)
{
	/* immediate_exit covers a vCPU about to enter KVM_RUN; the signal
	 * covers one already inside it. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (atomic_load(&vcpu->thread_known))
		pthread_kill(vcpu->thread, VS_VCPU_KICK_SIGNAL);
}

static int kvm_set_irq(struct vs_accel *acc, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)(level != 0) };
	if (ioctl(acc->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

/* MSI through the in-kernel LAPICs. 0 when delivered, or when the guest
 * blocked it (no LAPIC accepted: KVM returns 0); -errno on failure. */
static int kvm_send_msi(struct vs_accel *acc, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	if (ioctl(acc->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

/* A guest write of `len` bytes (any value) at `gpa` signals `fd` in the
 * kernel, without an exit to user space. */
static int kvm_ioeventfd(struct vs_accel *acc, uint64_t gpa, uint32_t len, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = gpa,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};
	if (ioctl(acc->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

static int kvm_msi_route_set(struct vs_accel *acc, uint32_t id, uint64_t addr, uint32_t data)
{
	return vs_kvm_route_msi(acc->routes, id, addr, data);
}

static int kvm_msi_route_fire(struct vs_accel *acc, uint32_t id)
{
	return vs_kvm_route_fire(acc->routes, id);
}

const struct vs_accel_ops vs_accel_kvm_ops = {
	.name = "kvm",
	.probe = vs_kvm_probe,
	.create = kvm_create,
	.destroy = kvm_destroy,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_set_state = kvm_vcpu_set_state,
	.vcpu_get_state = kvm_vcpu_get_state,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.set_irq = kvm_set_irq,
	.send_msi = kvm_send_msi,
	.ioeventfd = kvm_ioeventfd,
	.msi_route_set = kvm_msi_route_set,
	.msi_route_fire = kvm_msi_route_fire,
};
