/* A virtual machine: guest memory, buses, devices, firmware tables, the
 * loaded kernel and vCPUs on one accelerator. Everything is owned by the
 * struct vs_vm and released by vs_vm_destroy(); there is no global state,
 * so a process may build several. */
#ifndef VESSEL_MACHINE_VM_H
#define VESSEL_MACHINE_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/accel.h"
#include "hw/bus.h"
#include "hw/chardev.h"
#include "hw/device.h"
#include "hw/guest_mem.h"
#include "hw/irq.h"
#include "hw/timebase.h"
#include "machine/boot/boot.h"
#include "machine/console.h"
#include "net/net_backend.h"
#include "util/error.h"
#include "util/log.h"

#define VS_MAX_CPUS 64
#define VS_DEFAULT_MEM (256 * VS_MiB)
#define VS_MAX_DISKS 16
#define VS_MAX_NICS 8

/* A virtio-blk disk: vda, vdb, ... in order. */
struct vs_disk_config {
	const char *path;
	const char *format; /* "raw", "qcow2", NULL: probed */
	bool readonly;
	bool direct;	    /* cache=none (O_DIRECT); else the page cache */
	int queues;	    /* request queues, 1..8 */
	uint64_t bps, iops; /* throttle, 0: unlimited */
	/* Passphrase of an encrypted (LUKS) qcow2 and its backing chain;
	 * NULL: none. Owned by the caller. */
	const void *key;
	size_t key_len;
};

/* A virtio-net NIC, after the disks in PCI order. */
enum vs_net_kind {
	VS_NET_USER,   /* libslirp NAT */
	VS_NET_TAP,    /* `name` is the interface */
	VS_NET_SWITCH, /* `name` is the host-only segment */
};

struct vs_net_config {
	enum vs_net_kind kind;
	const char *name;
	struct vs_net_hostfwd fwd[VS_NET_MAX_HOSTFWD];
	int nfwd;
	bool has_mac; /* else derived: see vs_vm_default_mac() */
	uint8_t mac[6];
	uint64_t rx_bps, tx_bps; /* bytes per second, 0: unlimited */
};

/* The virtio-console port (the guest's hvc0). */
enum vs_console2_kind {
	VS_CONSOLE2_NONE,   /* no device */
	VS_CONSOLE2_FILE,   /* guest output written to `path` (created or truncated) */
	VS_CONSOLE2_SOCKET, /* a unix stream socket listening at `path`: one client at a time */
};

struct vs_console2_config {
	enum vs_console2_kind kind;
	const char *path;
};

struct vs_vm_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL for none */
	const char *cmdline;	 /* NULL: "console=ttyS0" */
	uint64_t mem_size;
	int ncpus;
	struct vs_console *console; /* owned by the caller, outlives the VM */
	struct vs_disk_config disks[VS_MAX_DISKS];
	int ndisks;
	struct vs_net_config nics[VS_MAX_NICS];
	int nnics;
	struct vs_console2_config console2;
	bool balloon;			     /* virtio-balloon with free page reporting */
	unsigned int balloon_stats_interval; /* seconds between its statistics requests, 0: none */
};

/* The MAC of NIC `index` when none is given: 52:54:00 (QEMU's prefix,
 * locally administered) and three bytes of an FNV-1a hash over the
 * kernel path, the command line, the disk paths and the index. The same
 * command line gives the same MAC every time; VMs started with identical
 * kernel, command line and disks need mac= to differ. */
void vs_vm_default_mac(const struct vs_vm_config *cfg, int index, uint8_t mac[6]);

/* Check the parts of a config that need no host resources; used by the
 * CLI before it touches the terminal. */
int vs_vm_config_check(const struct vs_vm_config *cfg, struct vs_error *err);

struct vs_irqchip;
struct vs_pci_host;
struct vs_iothread;
struct vs_doorbell;

struct vs_vm {
	struct vs_vm_config cfg;
	struct vs_guest_mem mem;
	struct vs_bus pio;
	struct vs_bus mmio;
	struct vs_devices devices;    /* the board owns every device through these records */
	struct vs_char_in console_in; /* where console input goes (COM1) */
	struct vs_pci_host *pci;      /* owned through `devices` */
	struct vs_iothread *iothread; /* virtio queues are served there */
	struct vs_boot_info boot;

	/* The CPUs, from vs_vm_attach_accel() on. */
	const struct vs_accel_ops *accel_ops;
	struct vs_accel *accel;
	struct vs_vcpu *vcpus[VS_MAX_CPUS];
	pthread_t threads[VS_MAX_CPUS];
	int nthreads;
	/* Userspace interrupt controllers for backends that have none. */
	struct vs_timebase timebase;
	struct vs_irqchip *irqchip;

	struct vs_ratelimit unclaimed_log;
	struct vs_ratelimit irq_error_log;

	/* Queue notify addresses bound to eventfds (machine/doorbell.c): kept
	 * from device creation on, handed to the backend when it attaches. */
	pthread_mutex_t doorbell_lock;
	struct vs_doorbell *doorbells;
	size_t ndoorbells, cap_doorbells;

	/* Stopping: the first request wins and fixes the exit status. */
	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	enum vs_stop_reason stop_reason;
	int exit_status;
	int stop_signal;   /* the host signal that stopped the VM, or 0 */
	int wake_fd;	   /* eventfd: wakes the console loop when the VM stops */
	char report[4096]; /* crash / host-error report for the CLI to print */
};

/* Build the machine without its CPUs: guest memory, devices, firmware
 * tables and the loaded kernel. Every error in the user's input (a missing
 * or malformed kernel, an initrd that does not fit) is found here, before
 * any accelerator is chosen. */
int vs_vm_create(const struct vs_vm_config *cfg, struct vs_vm **out, struct vs_error *err);

/* Give the machine its CPUs on `ops`: the backend, its vCPUs in their
 * reset state, the boot CPU at the kernel's entry, and the userspace
 * interrupt controllers when the backend needs them. Once only. */
int vs_vm_attach_accel(struct vs_vm *vm, const struct vs_accel_ops *ops, struct vs_error *err);

void vs_vm_destroy(struct vs_vm *vm);

/* Run until the guest stops. Returns the exit status of the contract
 * (0 power-off/reset/user quit, (v<<1)|1 debug-exit, 3 crash, 2 host error);
 * vm->report holds a report when the status is 2 or 3. `signal_fd` (or -1)
 * is polled too: a readable signalfd stops the VM as a user quit. */
int vs_vm_run(struct vs_vm *vm, int signal_fd);

/* Ask the VM to stop; safe from any thread. */
void vs_vm_request_stop(struct vs_vm *vm, enum vs_stop_reason reason, int status);

#endif
