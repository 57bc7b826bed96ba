#include "machine/pc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/irqchip/irqchip.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/rtc.h"
#include "devices/legacy/sysctl.h"
#include "devices/legacy/uart.h"
#include "devices/pci/pci.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "machine/doorbell.h"
#include "machine/firmware/firmware.h"
#include "hw/pc_layout.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/iothread.h"
#include "x86/cpu_state.h"

/* The board routes every device interrupt: to its userspace interrupt
 * controllers when the backend has none, else to the backend's. */
static void irq_to_board(void *opaque, uint32_t gsi, int level)
{
	struct vs_vm *vm = opaque;
	int rc;
	if (vm->irqchip) {
		vs_irqchip_set_irq(vm->irqchip, gsi, level);
		return;
	}
	if (!vm->accel)
		return; /* no CPU exists yet to notice */
	rc = vm->accel_ops->set_irq(vm->accel, gsi, level);
	if (rc < 0 && vs_ratelimit_ok(&vm->irq_error_log))
		vs_warn("raising GSI %u on %s failed: %s", gsi, vm->accel_ops->name, strerror(-rc));
}

/* MSIs likewise: to the userspace LAPICs when the board has them, else
 * through the backend (KVM_SIGNAL_MSI). Devices exist before any backend
 * and raise nothing until a vCPU has run. */
static void msi_to_board(void *opaque, uint64_t addr, uint32_t data)
{
	struct vs_vm *vm = opaque;
	int rc;
	if (vm->irqchip) {
		vs_irqchip_send_msi(vm->irqchip, addr, data);
		return;
	}
	if (!vm->accel || !vm->accel_ops->send_msi)
		return;
	rc = vm->accel_ops->send_msi(vm->accel, addr, data);
	if (rc < 0 && vs_ratelimit_ok(&vm->irq_error_log))
		vs_warn("MSI 0x%llx/0x%x on %s failed: %s", (unsigned long long)addr, data,
			vm->accel_ops->name, strerror(-rc));
}

/* The fast path for MSIs: a route per vector in the backend (KVM irqfd,
 * or the emulator's direct call into the userspace LAPICs). Before a
 * backend exists there is nothing to route to yet. */
static int msi_route_set(void *opaque, uint32_t id, uint64_t addr, uint32_t data)
{
	struct vs_vm *vm = opaque;
	int rc;
	if (!vm->accel)
		return -EAGAIN;
	if (!vm->accel_ops->msi_route_set || id >= VS_ACCEL_MSI_ROUTES)
		return -ENOTSUP;
	rc = vm->accel_ops->msi_route_set(vm->accel, id, addr, data);
	if (rc == 0)
		vs_debug("MSI route %u on %s: 0x%llx/0x%x", id, vm->accel_ops->name, (unsigned long long)addr,
			 data);
	else if (vs_ratelimit_ok(&vm->irq_error_log))
		vs_debug("MSI route %u on %s: %s; sending its messages one by one", id, vm->accel_ops->name,
			 strerror(-rc));
	return rc == -EAGAIN ? -EIO : rc;
}

static int msi_route_fire(void *opaque, uint32_t id)
{
	struct vs_vm *vm = opaque;
	return vm->accel ? vm->accel_ops->msi_route_fire(vm->accel, id) : -EAGAIN;
}

static void stop_from_device(void *opaque, enum vs_stop_reason reason, int status)
{
	vs_vm_request_stop(opaque, reason, status);
}

/* A port range of one device. */
struct port_range {
	uint64_t base, len;
	const struct vs_bus_ops *ops;
	const char *name;
};

/* Hand `dev` to the board, then put it on the port bus. */
static int add_legacy(struct vs_vm *vm, const struct vs_device *dev, const struct port_range *ports, size_t n,
		      struct vs_error *err)
{
	if (!dev->opaque)
		return vs_error_set(err, ENOMEM, "creating device %s", dev->name);
	if (vs_devices_add(&vm->devices, dev, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (vs_bus_register(&vm->pio, ports[i].base, ports[i].len, ports[i].ops, dev->opaque,
				    ports[i].name, err) < 0)
			return -1;
	return 0;
}

/* The PCI host and its windows. INTx lands on GSI 16-19; MSI-X messages
 * go to msi_to_board, which every backend can deliver (the userspace
 * LAPICs for backends with needs_irqchip, send_msi for the others). */
static int add_pci(struct vs_vm *vm, struct vs_error *err)
{
	uint64_t high_end = VS_HIGH_RAM_START;
	struct vs_pci_host_config cfg = {
		.ecam_base = VS_PCI_ECAM_BASE,
		.ecam_buses = VS_PCI_ECAM_BUSES,
		.mmio32_base = VS_PCI_MMIO32_BASE,
		.mmio32_size = VS_PCI_MMIO32_SIZE,
		.mmio64_size = VS_PCI_MMIO64_SIZE,
		.io_base = VS_PCI_IO_BASE,
		.io_size = VS_PCI_IO_SIZE,
	};
	struct vs_device dev;
	if (vm->mem.nregions > 1)
		high_end = vm->mem.regions[1].gpa + vm->mem.regions[1].size;
	cfg.mmio64_base = VS_ALIGN_UP(high_end, VS_GiB);
	for (uint32_t i = 0; i < VS_PCI_INTX_LINES; i++)
		cfg.intx[i] = (struct vs_irq_line){ irq_to_board, vm, VS_PCI_GSI_BASE + i };
	cfg.msi = (struct vs_msi_sink){ msi_to_board, vm, msi_route_set, msi_route_fire };
	if (vs_pci_host_create(&cfg, &vm->pci, err) < 0)
		return -1;
	dev = vs_pci_host_device(vm->pci);
	if (vs_devices_add(&vm->devices, &dev, err) < 0) {
		vm->pci = NULL;
		return -1;
	}
	return vs_pci_host_register(vm->pci, &vm->pio, &vm->mmio, err);
}

/* PCI slots: 0 the host bridge, 1 virtio-rng, then the disks, then the
 * NICs (at fixed slots whatever the number of disks, so a guest's
 * interface names do not change when a disk is added). */
#define SLOT_RNG 1
#define SLOT_DISK0 2
#define SLOT_NIC0 (SLOT_DISK0 + VS_MAX_DISKS)
#define SLOT_CONSOLE2 (SLOT_NIC0 + VS_MAX_NICS)
#define SLOT_BALLOON (SLOT_CONSOLE2 + 1)
_Static_assert(SLOT_BALLOON < 32, "one PCI bus has 32 slots");

/* The descriptors of the virtio-console port; the device owns them. A
 * socket path that holds a socket already (a vessel that was killed) is
 * replaced; any other file there is an error. */
static int console2_fds(const struct vs_console2_config *c2, struct vs_virtio_console_config *cc,
			struct vs_error *err)
{
	*cc = (struct vs_virtio_console_config){ .in_fd = -1, .out_fd = -1, .listen_fd = -1 };
	if (c2->kind == VS_CONSOLE2_FILE) {
		cc->out_fd = open(c2->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (cc->out_fd < 0)
			return vs_error_set(err, errno, "opening %s", c2->path);
		return 0;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	if (strlen(c2->path) >= sizeof(sa.sun_path))
		return vs_error_msg(err, "socket path %s is too long (at most %zu bytes)", c2->path,
				    sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, c2->path, strlen(c2->path) + 1);
	if (lstat(c2->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return vs_error_msg(err, "%s exists and is not a socket", c2->path);
		unlink(c2->path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vs_error_set(err, e, "listening on %s", c2->path);
	}
	cc->listen_fd = fd;
	return 0;
}

static int open_backend(const struct vs_net_config *nc, struct vs_net_backend *be, struct vs_error *err)
{
	switch (nc->kind) {
	case VS_NET_USER:
		return vs_net_slirp_open(nc->fwd, nc->nfwd, be, err);
	case VS_NET_TAP:
		return vs_net_tap_open(nc->name, be, err);
	case VS_NET_SWITCH:
		return vs_net_switch_open(nc->name, be, err);
	}
	return vs_error_msg(err, "unknown network backend %d", (int)nc->kind);
}

static int add_nic(struct vs_vm *vm, struct vs_virtio_config *env, int i, struct vs_error *err)
{
	const struct vs_net_config *nc = &vm->cfg.nics[i];
	struct vs_virtio_net_config ncfg = { .rx_bps = nc->rx_bps, .tx_bps = nc->tx_bps };
	struct vs_net_backend be;
	struct vs_device dev;
	if (nc->has_mac)
		memcpy(ncfg.mac, nc->mac, 6);
	else
		vs_vm_default_mac(&vm->cfg, i, ncfg.mac);
	env->slot = SLOT_NIC0 + i;
	if (open_backend(nc, &be, err) < 0 || vs_virtio_net_create(env, &be, &ncfg, &dev, err) < 0 ||
	    vs_devices_add(&vm->devices, &dev, err) < 0)
		return vs_error_prefix(err, "--net #%d: ", i + 1);
	return 0;
}

/* The virtio devices and the I/O thread serving their queues. The thread
 * starts at once: nothing reaches it before a vCPU runs. */
static int add_virtio(struct vs_vm *vm, struct vs_error *err)
{
	struct vs_virtio_config env = {
		.pci = vm->pci,
		.mem = &vm->mem,
		.doorbell = { vs_pc_doorbell_bind, vm },
	};
	struct vs_device dev;
	if (vs_iothread_create(&vm->iothread, err) < 0)
		return -1;
	env.loop = vs_iothread_loop(vm->iothread);
	env.slot = SLOT_RNG;
	if (vs_virtio_rng_create(&env, &dev, err) < 0 || vs_devices_add(&vm->devices, &dev, err) < 0)
		return -1;
	for (int i = 0; i < vm->cfg.ndisks; i++) {
		const struct vs_disk_config *d = &vm->cfg.disks[i];
		char id[8];
		snprintf(id, sizeof(id), "vd%c", 'a' + i);
		struct vs_virtio_blk_config bc = {
			.path = d->path,
			.format = d->format,
			.readonly = d->readonly,
			.direct = d->direct,
			.bps = d->bps,
			.iops = d->iops,
			.queues = (unsigned int)d->queues,
			.id = id,
			.key = d->key,
			.key_len = d->key_len,
		};
		env.slot = SLOT_DISK0 + i;
		if (vs_virtio_blk_create(&env, &bc, &dev, err) < 0 ||
		    vs_devices_add(&vm->devices, &dev, err) < 0)
			return vs_error_prefix(err, "--disk %s (%s): ", d->path, id);
	}
	for (int i = 0; i < vm->cfg.nnics; i++)
		if (add_nic(vm, &env, i, err) < 0)
			return -1;
	if (vm->cfg.console2.kind != VS_CONSOLE2_NONE) {
		struct vs_virtio_console_config cc;
		env.slot = SLOT_CONSOLE2;
		if (console2_fds(&vm->cfg.console2, &cc, err) < 0 ||
		    vs_virtio_console_create(&env, &cc, &dev, err) < 0 ||
		    vs_devices_add(&vm->devices, &dev, err) < 0)
			return vs_error_prefix(err, "--console2: ");
	}
	if (vm->cfg.balloon) {
		struct vs_balloon_config bc = { .stats_interval = vm->cfg.balloon_stats_interval };
		env.slot = SLOT_BALLOON;
		if (vs_virtio_balloon_create(&env, &bc, &dev, err) < 0 ||
		    vs_devices_add(&vm->devices, &dev, err) < 0)
			return -1;
	}
	return vs_iothread_start(vm->iothread, err);
}

int vs_pc_add_devices(struct vs_vm *vm, struct vs_error *err)
{
	struct vs_irq_line com1_irq = { irq_to_board, vm, VS_IRQ_COM1 };
	struct vs_stop_sink stop = { stop_from_device, vm };
	struct vs_char_out out = vs_console_sink(vm->cfg.console);
	struct vs_uart *uart = vs_uart_create(&com1_irq, &out);
	struct vs_rtc *rtc;
	struct vs_i8042 *kbd;
	struct vs_sysctl *sysctl;
	const struct port_range uart_ports[] = {
		{ VS_PORT_COM1, VS_UART_PORTS, &vs_uart_bus_ops, "uart-com1" },
	};
	const struct port_range rtc_ports[] = {
		{ VS_PORT_RTC, 2, &vs_rtc_bus_ops, "cmos-rtc" },
	};
	const struct port_range kbd_ports[] = {
		{ VS_PORT_I8042_DATA, 1, &vs_i8042_data_ops, "i8042-data" },
		{ VS_PORT_I8042_CMD, 1, &vs_i8042_cmd_ops, "i8042-cmd" },
	};
	const struct port_range sysctl_ports[] = {
		{ VS_PORT_DEBUG_EXIT, 2, &vs_debug_exit_ops, "isa-debug-exit" },
		{ VS_PORT_ACPI_PM1A_EVT, 4, &vs_acpi_pm1a_evt_ops, "acpi-pm1a-evt" },
		{ VS_PORT_ACPI_PM1A_CNT, 2, &vs_acpi_pm1a_cnt_ops, "acpi-pm1a-cnt" },
		{ VS_PORT_RESET, 1, &vs_reset_ops, "reset-control" },
		{ VS_PORT_POST, 1, &vs_post_port_ops, "post-port" },
	};

	struct vs_device dev;

	if (!uart)
		return vs_error_set(err, ENOMEM, "creating device uart");
	vm->console_in = vs_uart_char_in(uart);
	dev = vs_uart_device(uart, VS_PORT_COM1, VS_IRQ_COM1, 1);
	if (add_legacy(vm, &dev, uart_ports, VS_ARRAY_SIZE(uart_ports), err) < 0)
		return -1;
	rtc = vs_rtc_create(vm->mem.total, NULL, NULL);
	dev = vs_rtc_device(rtc);
	if (add_legacy(vm, &dev, rtc_ports, VS_ARRAY_SIZE(rtc_ports), err) < 0)
		return -1;
	kbd = vs_i8042_create(&stop);
	dev = vs_i8042_device(kbd);
	if (add_legacy(vm, &dev, kbd_ports, VS_ARRAY_SIZE(kbd_ports), err) < 0)
		return -1;
	sysctl = vs_sysctl_create(&stop);
	dev = vs_sysctl_device(sysctl);
	if (add_legacy(vm, &dev, sysctl_ports, VS_ARRAY_SIZE(sysctl_ports), err) < 0)
		return -1;
	if (add_pci(vm, err) < 0)
		return -1;
	return add_virtio(vm, err);
}

void vs_pc_remove_devices(struct vs_vm *vm)
{
	vs_iothread_stop(vm->iothread);
	vs_irqchip_destroy(vm->irqchip);
	vm->irqchip = NULL;
	vs_devices_release(&vm->devices);
	vs_iothread_destroy(vm->iothread);
	vm->iothread = NULL;
}

static void kick_from_irqchip(void *opaque, int cpu)
{
	struct vs_vm *vm = opaque;
	struct vs_vcpu *vcpu = vm->vcpus[cpu];
	if (vcpu)
		vm->accel_ops->vcpu_interrupt(vcpu);
}

int vs_pc_add_irqchip(struct vs_vm *vm, struct vs_error *err)
{
	const struct vs_irqchip_config cfg = {
		.ncpus = vm->cfg.ncpus,
		.timebase = &vm->timebase,
		.kick = kick_from_irqchip,
		.opaque = vm,
	};
	if (vs_irqchip_create(&cfg, &vm->irqchip, err) < 0)
		return vs_error_prefix(err, "interrupt controllers: ");
	return vs_irqchip_register(vm->irqchip, &vm->pio, &vm->mmio, err);
}

int vs_pc_load(struct vs_vm *vm, struct vs_error *err)
{
	struct vs_firmware_config fw;
	vs_autofree uint8_t *kernel = NULL;
	vs_autofree uint8_t *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	struct vs_boot_params bp;

	vs_firmware_default_config(&fw, vm->cfg.ncpus);
	fw.devices = &vm->devices;
	if (vm->pci) {
		fw.pci_ecam_base = VS_PCI_ECAM_BASE;
		fw.pci_bus_end = VS_PCI_ECAM_BUSES - 1;
		fw.msi = vs_pci_host_has_msi(vm->pci);
	}
	if (vs_mptable_build(&vm->mem, VS_MPTABLE_ADDR, 0x10000, &fw, err) < 0)
		return vs_error_prefix(err, "building the MP table: ");
	if (vs_acpi_build(&vm->mem, VS_ACPI_ADDR, VS_MPTABLE_ADDR - VS_ACPI_ADDR, &fw, err) < 0)
		return vs_error_prefix(err, "building ACPI tables: ");

	if (vs_read_file(vm->cfg.kernel_path, "kernel", vm->mem.total, &kernel, &kernel_len, err) < 0 ||
	    (vm->cfg.initrd_path &&
	     vs_read_file(vm->cfg.initrd_path, "initrd", vm->mem.total, &initrd, &initrd_len, err) < 0)) {
		if (err->code == EFBIG)
			vs_error_prefix(err, "guest RAM is %llu MiB, raise --mem: ",
					(unsigned long long)(vm->mem.total / VS_MiB));
		return -1;
	}
	bp = (struct vs_boot_params){
		.kernel = kernel,
		.kernel_len = kernel_len,
		.initrd = initrd,
		.initrd_len = initrd_len,
		.cmdline = vm->cfg.cmdline ? vm->cfg.cmdline : "console=ttyS0",
		.rsdp_addr = VS_ACPI_ADDR,
	};
	if (vs_boot_load(&vm->mem, &bp, &vm->boot, err) < 0)
		return vs_error_prefix(err, "kernel `%s`: ", vm->cfg.kernel_path);
	return 0;
}

void vs_pc_crash_report(struct vs_vm *vm, struct vs_vcpu *vcpu, int index, const char *what)
{
	struct vs_cpu_state s;
	FILE *f = fmemopen(vm->report, sizeof(vm->report) - 1, "w");
	if (!f)
		return;
	fprintf(f, "guest crashed: %s on vCPU %d\n", what, index);
	if (vm->accel_ops->vcpu_get_state(vcpu, &s) == 0)
		vs_cpu_state_report(&s, &vm->mem, f);
	else
		fprintf(f, "(registers unavailable)\n");
	fclose(f);
}
