/* `vessel doctor`: what this host offers each isolation engine. */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm/kvm.h"
#include "cli/cli.h"

static bool path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static void report_kvm(void)
{
	struct vs_error err = { 0 };
	const char *flavour = vs_kvm_is_pvm()			     ? "PVM (nested, paravirtual)"
			      : path_exists("/sys/module/kvm_intel") ? "Intel VT-x"
			      : path_exists("/sys/module/kvm_amd")   ? "AMD-V"
								     : "unknown";
	if (vs_kvm_probe(&err) < 0) {
		printf("kvm:        unavailable: %s\n", err.msg);
		printf("            VMs run under the emulator (--accel emu); for KVM, load kvm_intel or\n"
		       "            kvm_amd on a host with VT-x/AMD-V and give this user /dev/kvm\n");
		return;
	}
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int max = fd >= 0 ? ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS) : -1;
	if (fd >= 0)
		close(fd);
	printf("kvm:        available, flavour %s, up to %d vCPUs\n", flavour, max);
	if (vs_kvm_is_pvm())
		printf("            guest ring 0 is emulated by the host (~1 us/instruction), some\n"
		       "            instructions (xsave, cmpxchg16b) fail: unmodified Linux guests\n"
		       "            cannot boot under KVM here (--accel auto runs them under the\n"
		       "            emulator); small test guests can\n");
}

/* Every CPU backend built in; KVM gets the details above. */
static void report_accels(void)
{
	for (int i = 0; vs_accels[i]; i++) {
		struct vs_error err = { 0 };
		char label[16];
		if (vs_accels[i] == &vs_accel_kvm_ops) {
			report_kvm();
			continue;
		}
		snprintf(label, sizeof(label), "%s:", vs_accels[i]->name);
		if (vs_accels[i]->probe(&err) < 0)
			printf("%-11s unavailable: %s\n", label, err.msg);
		else
			printf("%-11s available\n", label);
	}
}

static void report_cgroups(void)
{
	struct statfs sfs;
	if (statfs("/sys/fs/cgroup", &sfs) < 0) {
		printf("cgroups:    /sys/fs/cgroup not mounted\n");
		return;
	}
	if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
		printf("cgroups:    v2 (unified)\n");
		return;
	}
	if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
		printf("cgroups:    hybrid (v1 controllers, v2 at /sys/fs/cgroup/unified)\n");
	else
		printf("cgroups:    v1\n");
}

static void report_namespaces(void)
{
	static const char *const ns[] = { "mnt", "pid", "uts", "ipc", "net", "user", "cgroup", "time" };
	char path[64];
	printf("namespaces:");
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		printf(" %s%s", ns[i], path_exists(path) ? "" : "(missing)");
	}
	printf("\n");
}

static void report_io_uring(void)
{
	/* A deliberately invalid setup call: EFAULT/EINVAL means the syscall
	 * exists, ENOSYS that the kernel lacks it, EPERM that it is disabled. */
	long rc = syscall(__NR_io_uring_setup, 0, NULL);
	int e = errno;
	if (rc >= 0)
		close((int)rc);
	if (e == ENOSYS)
		printf("io_uring:   not supported by this kernel\n");
	else if (e == EPERM)
		printf("io_uring:   disabled (kernel.io_uring_disabled)\n");
	else
		printf("io_uring:   available\n");
}

static void report_tap(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		printf("tap:        /dev/net/tun available\n");
	} else {
		printf("tap:        /dev/net/tun unavailable: %s\n", strerror(errno));
	}
}

int vs_cli_doctor(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: vessel doctor\nReports what this host offers vessel's engines.\n");
		return VS_EXIT_OK;
	}
	if (argc > 1) {
		vs_cli_error("doctor takes no arguments (got `%s`)", argv[1]);
		return VS_EXIT_USAGE;
	}
	report_accels();
	report_cgroups();
	report_namespaces();
	report_io_uring();
	report_tap();
	return VS_EXIT_OK;
}
