/* `vessel doctor`: what this host offers each isolation engine. The facts
 * are gathered once, then printed for people or, with --json, for tools. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm/kvm.h"
#include "cli/cli.h"
#include "util/json.h"

#define DOCTOR_MAX_ACCELS 8

static const char *const namespaces[] = { "mnt", "pid", "uts", "ipc", "net", "user", "cgroup", "time" };
#define NNS (sizeof(namespaces) / sizeof(namespaces[0]))

struct accel_fact {
	const char *name;
	bool available;
	char why[sizeof(((struct vs_error *)0)->msg)]; /* when unavailable */
	const char *flavour;			       /* kvm only */
	int max_vcpus;				       /* kvm only, -1 if unknown */
	const char *remedy;			       /* when unavailable */
	const char *note;			       /* limits worth knowing (PVM) */
};

struct facts {
	struct accel_fact accels[DOCTOR_MAX_ACCELS];
	int naccels;
	const char *cgroups; /* "v2", "hybrid", "v1", "none" */
	bool ns[NNS];
	const char *io_uring; /* "available", "unsupported", "disabled" */
	bool tap;
	char tap_why[128];
};

static const char kvm_remedy[] =
    "VMs run under the emulator (--accel emu); for KVM, load kvm_intel or kvm_amd "
    "on a host with VT-x/AMD-V and give this user /dev/kvm";
static const char pvm_note[] = "guest ring 0 is emulated by the host (~1 us/instruction) and some "
			       "instructions (xsave, cmpxchg16b) fail: unmodified Linux guests cannot boot "
			       "under KVM here (--accel auto runs them under the emulator); small test "
			       "guests can";

static bool path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static void gather_kvm(struct accel_fact *f)
{
	int fd;
	f->flavour = vs_kvm_is_pvm()			    ? "PVM (nested, paravirtual)"
		     : path_exists("/sys/module/kvm_intel") ? "Intel VT-x"
		     : path_exists("/sys/module/kvm_amd")   ? "AMD-V"
							    : "unknown";
	f->max_vcpus = -1;
	if (!f->available) {
		f->remedy = kvm_remedy;
		return;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		f->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
		close(fd);
	}
	if (vs_kvm_is_pvm())
		f->note = pvm_note;
}

static const char *cgroup_layout(void)
{
	struct statfs sfs;
	if (statfs("/sys/fs/cgroup", &sfs) < 0)
		return "none";
	if (sfs.f_type == CGROUP2_SUPER_MAGIC)
		return "v2";
	if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
		return "hybrid";
	return "v1";
}

static const char *io_uring_state(void)
{
	/* A deliberately invalid setup call: EFAULT/EINVAL means the syscall
	 * exists, ENOSYS that the kernel lacks it, EPERM that it is disabled. */
	long rc = syscall(__NR_io_uring_setup, 0, NULL);
	int e = errno;
	if (rc >= 0)
		close((int)rc);
	return e == ENOSYS ? "unsupported" : e == EPERM ? "disabled" : "available";
}

static void gather(struct facts *f)
{
	int fd;
	for (int i = 0; vs_accels[i] && f->naccels < DOCTOR_MAX_ACCELS; i++) {
		struct accel_fact *a = &f->accels[f->naccels++];
		struct vs_error err = { 0 };
		a->name = vs_accels[i]->name;
		a->available = vs_accels[i]->probe(&err) == 0;
		if (!a->available)
			snprintf(a->why, sizeof(a->why), "%s", err.msg);
		if (vs_accels[i] == &vs_accel_kvm_ops)
			gather_kvm(a);
	}
	f->cgroups = cgroup_layout();
	for (size_t i = 0; i < NNS; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/ns/%s", namespaces[i]);
		f->ns[i] = path_exists(path);
	}
	f->io_uring = io_uring_state();
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	f->tap = fd >= 0;
	if (fd >= 0)
		close(fd);
	else
		snprintf(f->tap_why, sizeof(f->tap_why), "%s", strerror(errno));
}

/* A long note, folded under its label as the other lines are. */
static void print_folded(const char *text)
{
	const char *p = text;
	while (*p) {
		size_t n = strlen(p), cut = n;
		if (n > 66) {
			cut = 66;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = 66;
		}
		printf("            %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static void print_text(const struct facts *f)
{
	static const char *const cgroup_text[][2] = {
		{ "v2", "v2 (unified)" },
		{ "hybrid", "hybrid (v1 controllers, v2 at /sys/fs/cgroup/unified)" },
		{ "v1", "v1" },
		{ "none", "/sys/fs/cgroup not mounted" },
	};
	for (int i = 0; i < f->naccels; i++) {
		const struct accel_fact *a = &f->accels[i];
		char label[16];
		snprintf(label, sizeof(label), "%s:", a->name);
		if (!a->available)
			printf("%-11s unavailable: %s\n", label, a->why);
		else if (a->flavour)
			printf("%-11s available, flavour %s, up to %d vCPUs\n", label, a->flavour,
			       a->max_vcpus);
		else
			printf("%-11s available\n", label);
		if (a->remedy)
			print_folded(a->remedy);
		if (a->note)
			print_folded(a->note);
	}
	for (size_t i = 0; i < sizeof(cgroup_text) / sizeof(cgroup_text[0]); i++)
		if (strcmp(f->cgroups, cgroup_text[i][0]) == 0)
			printf("cgroups:    %s\n", cgroup_text[i][1]);
	printf("namespaces:");
	for (size_t i = 0; i < NNS; i++)
		printf(" %s%s", namespaces[i], f->ns[i] ? "" : "(missing)");
	printf("\n");
	printf("io_uring:   %s\n", strcmp(f->io_uring, "unsupported") == 0 ? "not supported by this kernel"
				   : strcmp(f->io_uring, "disabled") == 0
				       ? "disabled (kernel.io_uring_disabled)"
				       : "available");
	if (f->tap)
		printf("tap:        /dev/net/tun available\n");
	else
		printf("tap:        /dev/net/tun unavailable: %s\n", f->tap_why);
}

static int print_json(const struct facts *f)
{
	struct vs_json_writer w;
	struct vs_error err = { 0 };
	char *out = NULL;
	size_t len = 0;
	vs_jw_init(&w, 2);
	vs_jw_object_begin(&w);
	vs_jw_key(&w, "accelerators");
	vs_jw_array_begin(&w);
	for (int i = 0; i < f->naccels; i++) {
		const struct accel_fact *a = &f->accels[i];
		vs_jw_object_begin(&w);
		vs_jw_kv_string(&w, "name", a->name);
		vs_jw_kv_bool(&w, "available", a->available);
		if (!a->available)
			vs_jw_kv_string(&w, "reason", a->why);
		if (a->flavour)
			vs_jw_kv_string(&w, "flavour", a->flavour);
		if (a->available && a->max_vcpus > 0)
			vs_jw_kv_int(&w, "max_vcpus", a->max_vcpus);
		if (a->remedy)
			vs_jw_kv_string(&w, "remedy", a->remedy);
		if (a->note)
			vs_jw_kv_string(&w, "note", a->note);
		vs_jw_object_end(&w);
	}
	vs_jw_array_end(&w);
	vs_jw_kv_string(&w, "cgroups", f->cgroups);
	vs_jw_key(&w, "namespaces");
	vs_jw_object_begin(&w);
	for (size_t i = 0; i < NNS; i++)
		vs_jw_kv_bool(&w, namespaces[i], f->ns[i]);
	vs_jw_object_end(&w);
	vs_jw_kv_string(&w, "io_uring", f->io_uring);
	vs_jw_key(&w, "tap");
	vs_jw_object_begin(&w);
	vs_jw_kv_bool(&w, "available", f->tap);
	if (!f->tap)
		vs_jw_kv_string(&w, "reason", f->tap_why);
	vs_jw_object_end(&w);
	vs_jw_object_end(&w);
	if (vs_jw_finish(&w, &out, &len, &err) < 0) {
		vs_cli_error("doctor --json: %s", err.msg);
		return VS_EXIT_USAGE;
	}
	fwrite(out, 1, len, stdout);
	printf("\n");
	free(out);
	return VS_EXIT_OK;
}

int vs_cli_doctor(int argc, char **argv)
{
	struct facts f = { 0 };
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: vessel doctor [--json]\n"
			       "Reports what this host offers vessel's engines: CPU backends (KVM and its\n"
			       "flavour, the emulator), cgroups, namespaces, io_uring, tap.\n");
			return VS_EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
			continue;
		}
		vs_cli_error("doctor: unknown argument `%s`; see `vessel doctor --help`", argv[i]);
		return VS_EXIT_USAGE;
	}
	gather(&f);
	if (json)
		return print_json(&f);
	print_text(&f);
	return VS_EXIT_OK;
}
