/* `vessel vm run`: parse, pick the accelerator, boot, report. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel/kvm/kvm.h"
#include "cli/cli.h"
#include "cli/vm_limits.h"
#include "machine/vm.h"
#include "util/parse.h"

static const char vm_run_usage[] =
    "usage: vessel vm run [--kernel PATH] [--initrd PATH] [--cmdline STR] [--mem SIZE] [--cpus N]\n"
    "                     [--accel kvm|emu|auto] [--console stdio|none|file:PATH]\n"
    "                     [--disk PATH[,OPTS]]... [--net NET[,OPTS]]...\n"
    "                     [--cpu-weight N] [--cpu-max QUOTA/PERIOD|CPUS]\n"
    "                     [--console2 file:PATH|socket:PATH]\n"
    "                     [--balloon[=stats-interval=SECONDS]]\n"
    "\n"
    "  --kernel PATH    PVH ELF, Linux bzImage or ELF vmlinux (detected from the contents);\n"
    "                   without it, the default guest `make run` prepared (Debian's kernel,\n"
    "                   busybox, a shell on the console)\n"
    "  --initrd PATH    initial ramdisk (PVH module 0 / Linux ramdisk)\n"
    "  --cmdline STR    kernel command line (default: console=ttyS0)\n"
    "  --mem SIZE       guest RAM, e.g. 512M or 2G (default 256M, minimum 16M)\n"
    "  --cpus N         vCPUs, 1 to 64 (default 1)\n"
    "  --accel A        a backend (kvm, emu) or auto (default): the first that can run the guest\n"
    "  -v, --verbose    say which backend was chosen and why, and log debug messages\n"
    "  --console C      stdio (default; Ctrl-A x quits), none, or file:PATH\n"
    "  --disk D         a disk image as virtio-blk (vda, vdb, ... in order; up to 16);\n"
    "                   D is PATH[,OPTS], OPTS from:\n"
    "                     format=raw|qcow2      default: detected; a qcow2 backing chain is opened\n"
    "                     readonly=on           the guest cannot write\n"
    "                     cache=none|writeback  O_DIRECT (raw images) or the host page cache\n"
    "                                           (default); a guest flush reaches stable storage\n"
    "                     iops=N, bps=N         throttle, requests / bytes per second (bps=10M);\n"
    "                                           requests over the limit wait\n"
    "                     queues=N              1 to 8 request queues (default 1)\n"
    "                     key-file=F            passphrase of an encrypted (LUKS) qcow2, read\n"
    "                                           byte for byte from file F\n"
    "  --net NET        a virtio-net NIC (up to 8), NET one of:\n"
    "                     user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-:GUESTPORT]...  NAT (libslirp):\n"
    "                       guest 10.0.2.15, gateway 10.0.2.2 = host loopback, DNS 10.0.2.3;\n"
    "                       HOSTADDR defaults to 127.0.0.1\n"
    "                     tap=IFNAME     a tap interface (created, and removed on exit, if missing)\n"
    "                     switch=NAME    a host-only segment shared by every VM using NAME\n"
    "                   options: mac=XX:XX:XX:XX:XX:XX (default: derived from the kernel path,\n"
    "                   command line, disks and NIC number), rx-bps=N, tx-bps=N (bytes/s)\n"
    "  --console2 C     a virtio-console port (the guest's /dev/hvc0): file:PATH gets its output,\n"
    "                   socket:PATH listens on a unix socket whose client (one at a time, e.g.\n"
    "                   `socat - UNIX-CONNECT:PATH`) talks to it both ways; removed on exit\n"
    "  --balloon        virtio-balloon with free page reporting: RAM the guest frees goes back\n"
    "                   to the host; and memory statistics from the guest, printed with -v at\n"
    "                   exit. --balloon=stats-interval=N asks the guest for fresh ones every N\n"
    "                   seconds (default 0: only those the guest sends when its driver starts)\n"
    "  --cpu-weight N   CPU share against other cgroups, 1 to 10000 (100 is the default share):\n"
    "                   cgroup v2 cpu.weight (v1: cpu.shares by the OCI mapping)\n"
    "  --cpu-max M      CPU time cap: QUOTA/PERIOD in microseconds (50000/100000), or a number\n"
    "                   of CPUs (0.5 = half a CPU, period 100 ms)\n"
    "                   Either puts the VMM (all its threads) in cgroup /vessel-vm/<pid>-<start>,\n"
    "                   removed on exit (after a SIGKILL: by the next vm run or ct run)\n"
    "\n"
    "exit status: 0 guest powered off or rebooted, (v<<1)|1 after a write of v to the\n"
    "debug-exit port 0x501, 3 guest crash (triple fault, accelerator failure), 2 usage or\n"
    "set-up error.\n";

/* "kvm, emu": the backends built in, for messages. */
static const char *accel_names(void)
{
	static char names[64];
	size_t used = 0;
	for (int i = 0; vs_accels[i] && used < sizeof(names); i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
					 vs_accels[i]->name);
	return names;
}

static const char pvm_note[] =
    "this host's KVM is the nested PVM flavour (kvm_pvm): guest ring-0 code is emulated by the\n"
    "host kernel (about 1 us per instruction) and some instructions (xsave family, cmpxchg16b)\n"
    "fail, so an unmodified Linux kernel cannot boot under KVM here; small test guests can.";

/* Whether `ops` can run this machine's guest on this host; err says why
 * not. KVM on a PVM host cannot run Linux (see pvm_note). */
static int accel_can_run(const struct vs_accel_ops *ops, const struct vs_vm *vm, struct vs_error *err)
{
	if (ops->probe(err) < 0)
		return -1;
	if (ops == &vs_accel_kvm_ops && vs_kvm_is_pvm() && vm->boot.is_linux)
		return vs_error_msg(err,
				    "this host's KVM is the nested PVM flavour, which cannot run a Linux "
				    "kernel");
	return 0;
}

/* The backend for `name` ("auto": the first that can run this guest). The
 * choice and the reasons are logged at info level (--verbose). */
static const struct vs_accel_ops *choose_accel(const char *name, const struct vs_vm *vm, struct vs_error *err)
{
	char why[512] = "";
	size_t used = 0;
	if (strcmp(name, "auto") != 0) {
		const struct vs_accel_ops *ops = vs_accel_find(name);
		if (ops->probe(err) < 0) {
			vs_error_prefix(err, "--accel %s: ", name);
			return NULL;
		}
		if (ops == &vs_accel_kvm_ops && vs_kvm_is_pvm() && vm->boot.is_linux)
			vs_cli_note("%s", pvm_note);
		vs_info("accelerator: %s (asked for)", ops->name);
		return ops;
	}
	for (int i = 0; vs_accels[i]; i++) {
		struct vs_error e = { 0 };
		if (accel_can_run(vs_accels[i], vm, &e) == 0) {
			vs_info("accelerator: %s%s%s%s", vs_accels[i]->name, used ? " (passed over: " : "",
				why, used ? ")" : "");
			return vs_accels[i];
		}
		used += (size_t)snprintf(why + used, used < sizeof(why) ? sizeof(why) - used : 0, "%s%s: %s",
					 used ? "; " : "", vs_accels[i]->name, e.msg);
		if (used >= sizeof(why))
			used = sizeof(why) - 1;
	}
	vs_error_msg(err, "no accelerator here can run `%s`: %s", vm->cfg.kernel_path, why);
	return NULL;
}

/* With no --kernel: the default guest that `make run` (scripts/default-guest.sh)
 * prepared from Debian's cloud kernel and busybox, with an interactive shell
 * on the console, as `qemu-system-x86_64 -kernel ... -nographic` users
 * expect. Looked up in $VESSEL_CACHE/guest (default /var/cache/vessel). */
static int default_guest(struct vs_vm_config *cfg, char *kernel, char *initrd)
{
	const char *cache = getenv("VESSEL_CACHE");
	if (!cache || !*cache)
		cache = "/var/cache/vessel";
	snprintf(kernel, PATH_MAX, "%s/guest/vmlinuz", cache);
	snprintf(initrd, PATH_MAX, "%s/guest/initramfs.cpio.gz", cache);
	if (access(kernel, R_OK) != 0 || access(initrd, R_OK) != 0) {
		vs_cli_error("no kernel given and no default guest in %s/guest: use --kernel PATH, or "
			     "prepare the default guest with scripts/default-guest.sh (make run does)",
			     cache);
		return -1;
	}
	cfg->kernel_path = kernel;
	if (!cfg->initrd_path)
		cfg->initrd_path = initrd;
	/* cryptomgr.notests: the kernel's self-tests of its crypto
	 * algorithms (RSA signing among them) were more than half of the
	 * guest instructions of a boot under the emulator (docs/emu.md). */
	if (!cfg->cmdline)
		cfg->cmdline = "console=ttyS0 quiet cryptomgr.notests";
	return 0;
}

/* The listening socket of --console2 socket:PATH closed with the VM; its
 * name goes too (only a socket: a failed start leaves another file be). */
static void remove_console2_socket(const struct vs_console2_config *c2)
{
	struct stat st;
	if (c2->kind == VS_CONSOLE2_SOCKET && lstat(c2->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(c2->path);
}

/* SIGINT/SIGTERM/SIGHUP become a clean stop (terminal restored, threads
 * joined) through a signalfd the run loop polls. */
static int block_stop_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Everything that holds host resources, with one release path: the
 * terminal is restored and the VM torn down before anything is printed. */
static int boot_and_run(struct vs_vm_config *cfg, const char *accel, const char *console_spec,
			struct vs_vm_limits *limits)
{
	struct vs_console console;
	struct vs_error err = { 0 };
	struct vs_vm *vm = NULL;
	bool crashed = false;
	const struct vs_accel_ops *ops;
	bool vm_accel_was_kvm = false;
	FILE *backend_report = NULL;
	char *backend_text = NULL;
	size_t backend_len = 0;
	char report[sizeof(vm->report)] = "";
	sigset_t old_mask;
	int status = VS_EXIT_USAGE;
	int sfd = block_stop_signals(&old_mask);

	/* What an earlier vessel killed with SIGKILL left; then ours, before
	 * any thread of the VM exists: they inherit it. */
	vs_cli_vm_limits_reap();
	if (vs_cli_vm_limits_enter(limits) < 0)
		goto out_signals;
	if (vs_console_open(&console, console_spec, &err) < 0)
		goto out_limits;
	cfg->console = &console;
	if (vs_vm_create(cfg, &vm, &err) < 0)
		goto out_console;
	ops = choose_accel(accel, vm, &err);
	if (!ops || vs_vm_attach_accel(vm, ops, &err) < 0)
		goto out_vm;
	status = vs_vm_run(vm, sfd);
	/* -v: what the backend noticed (the emulator: opcodes it raised #UD
	 * for) and what the devices learnt (the balloon's guest memory
	 * statistics), after the terminal is back to normal below. */
	if (vs_log_enabled(VS_LOG_DEBUG))
		backend_report = open_memstream(&backend_text, &backend_len);
	if (backend_report) {
		if (ops->report)
			ops->report(vm->accel, backend_report);
		vs_devices_report(&vm->devices, backend_report);
		fclose(backend_report);
	}
	memcpy(report, vm->report, sizeof(report));
	if (vm->stop_signal)
		snprintf(report, sizeof(report), "vessel: stopped by signal %d (%s)\n", vm->stop_signal,
			 strsignal(vm->stop_signal));
	crashed = vm->stop_reason == VS_STOP_CRASH;
	vm_accel_was_kvm = ops == &vs_accel_kvm_ops;
out_vm:
	vs_vm_destroy(vm);
out_console:
	remove_console2_socket(&cfg->console2);
	vs_console_close(&console);
	cfg->console = NULL; /* it points into this frame */
out_limits:
	vs_cli_vm_limits_leave(limits);
out_signals:
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (err.msg[0])
		vs_cli_error("%s", err.msg);
	fputs(report, stderr);
	if (backend_text) {
		fputs(backend_text, stderr);
		free(backend_text);
	}
	if (crashed && vm_accel_was_kvm && vs_kvm_is_pvm())
		vs_cli_note("%s", pvm_note);
	return status;
}

int vs_cli_vm_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },  { "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' }, { "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },    { "accel", required_argument, NULL, 'a' },
		{ "console", required_argument, NULL, 'o' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	     { "disk", required_argument, NULL, 'd' },
		{ "net", required_argument, NULL, 'N' },     { "cpu-weight", required_argument, NULL, 'W' },
		{ "cpu-max", required_argument, NULL, 'X' }, { "console2", required_argument, NULL, 'C' },
		{ "balloon", optional_argument, NULL, 'B' }, { NULL, 0, NULL, 0 },
	};
	struct vs_vm_config cfg = { .mem_size = VS_DEFAULT_MEM, .ncpus = 1 };
	char default_kernel[PATH_MAX], default_initrd[PATH_MAX];
	const char *accel = "auto";
	const char *console_spec = "stdio";
	struct vs_vm_limits limits = { 0 };
	struct vs_error err = { 0 };
	enum vs_console_kind kind;
	const char *console_path;
	int opt;
	long n;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hv", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			cfg.kernel_path = optarg;
			break;
		case 'i':
			cfg.initrd_path = optarg;
			break;
		case 'c':
			cfg.cmdline = optarg;
			break;
		case 'm':
			if (vs_parse_size(optarg, &cfg.mem_size) < 0) {
				vs_cli_error("--mem `%s` is not a size: use e.g. 256M or 2G", optarg);
				return VS_EXIT_USAGE;
			}
			break;
		case 'n':
			if (vs_cli_parse_int("--cpus", optarg, 1, VS_MAX_CPUS, &n) < 0)
				return VS_EXIT_USAGE;
			cfg.ncpus = (int)n;
			break;
		case 'a':
			accel = optarg;
			if (strcmp(accel, "auto") != 0 && !vs_accel_find(accel)) {
				vs_cli_error("--accel `%s` is unknown: use %s or auto", optarg,
					     accel_names());
				return VS_EXIT_USAGE;
			}
			break;
		case 'v':
			vs_log_set_level(VS_LOG_DEBUG);
			break;
		case 'o':
			console_spec = optarg;
			if (vs_console_parse(console_spec, &kind, &console_path, &err) < 0) {
				vs_cli_error("--console: %s", err.msg);
				return VS_EXIT_USAGE;
			}
			break;
		case 'd':
			if (cfg.ndisks == VS_MAX_DISKS) {
				vs_cli_error("--disk: at most %d disks", VS_MAX_DISKS);
				return VS_EXIT_USAGE;
			}
			if (vs_cli_parse_disk(optarg, &cfg.disks[cfg.ndisks]) < 0)
				return VS_EXIT_USAGE;
			cfg.ndisks++;
			break;
		case 'N':
			if (cfg.nnics == VS_MAX_NICS) {
				vs_cli_error("--net: at most %d NICs", VS_MAX_NICS);
				return VS_EXIT_USAGE;
			}
			if (vs_cli_parse_net(optarg, &cfg.nics[cfg.nnics]) < 0)
				return VS_EXIT_USAGE;
			cfg.nnics++;
			break;
		case 'W':
			if (vs_cli_parse_cpu_weight(optarg, &limits) < 0)
				return VS_EXIT_USAGE;
			break;
		case 'X':
			if (vs_cli_parse_cpu_max(optarg, &limits) < 0)
				return VS_EXIT_USAGE;
			break;
		case 'C':
			if (!strncmp(optarg, "file:", 5) && optarg[5]) {
				cfg.console2 = (struct vs_console2_config){ VS_CONSOLE2_FILE, optarg + 5 };
			} else if (!strncmp(optarg, "socket:", 7) && optarg[7]) {
				cfg.console2 = (struct vs_console2_config){ VS_CONSOLE2_SOCKET, optarg + 7 };
			} else {
				vs_cli_error("--console2 `%s`: use file:PATH or socket:PATH", optarg);
				return VS_EXIT_USAGE;
			}
			break;
		case 'B':
			cfg.balloon = true;
			if (optarg && strncmp(optarg, "stats-interval=", 15) != 0) {
				vs_cli_error("--balloon=`%s`: the option is stats-interval=SECONDS", optarg);
				return VS_EXIT_USAGE;
			}
			if (optarg &&
			    vs_cli_parse_int("--balloon stats-interval", optarg + 15, 0, 86400, &n) < 0)
				return VS_EXIT_USAGE;
			cfg.balloon_stats_interval = optarg ? (unsigned int)n : 0;
			break;
		case 'h':
			fputs(vm_run_usage, stdout);
			return VS_EXIT_OK;
		case ':':
			vs_cli_error("option `%s` needs a value; see `vessel vm run --help`",
				     argv[optind - 1]);
			return VS_EXIT_USAGE;
		default:
			vs_cli_error("unknown option `%s`; see `vessel vm run --help`", argv[optind - 1]);
			return VS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vs_cli_error("unexpected argument `%s`; see `vessel vm run --help`", argv[optind]);
		return VS_EXIT_USAGE;
	}
	if (!cfg.kernel_path && default_guest(&cfg, default_kernel, default_initrd) < 0)
		return VS_EXIT_USAGE;
	/* Placeholders: the check only needs them present. */
	cfg.console = &(struct vs_console){ .in_fd = -1, .out_fd = -1 };
	if (vs_vm_config_check(&cfg, &err) < 0) {
		vs_cli_error("%s", err.msg);
		return VS_EXIT_USAGE;
	}
	return boot_and_run(&cfg, accel, console_spec, &limits);
}
