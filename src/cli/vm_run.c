/* `vessel vm run`: parse, pick the accelerator, boot, report. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "accel/kvm/kvm.h"
#include "cli/cli.h"
#include "machine/vm.h"
#include "util/parse.h"

static const char vm_run_usage[] =
    "usage: vessel vm run --kernel PATH [--initrd PATH] [--cmdline STR] [--mem SIZE] [--cpus N]\n"
    "                     [--accel kvm|emu|auto] [--console stdio|none|file:PATH]\n"
    "\n"
    "  --kernel PATH    PVH ELF, Linux bzImage or ELF vmlinux (detected from the contents)\n"
    "  --initrd PATH    initial ramdisk (PVH module 0 / Linux ramdisk)\n"
    "  --cmdline STR    kernel command line (default: console=ttyS0)\n"
    "  --mem SIZE       guest RAM, e.g. 512M or 2G (default 256M, minimum 16M)\n"
    "  --cpus N         vCPUs, 1 to 64 (default 1)\n"
    "  --accel A        kvm, emu or auto (default auto: KVM when usable)\n"
    "  --console C      stdio (default; Ctrl-A x quits), none, or file:PATH\n"
    "\n"
    "exit status: 0 guest powered off or rebooted, (v<<1)|1 after a write of v to the\n"
    "debug-exit port 0x501, 3 guest crash (triple fault, accelerator failure), 2 usage or\n"
    "set-up error.\n";

enum accel_choice { ACCEL_AUTO, ACCEL_KVM, ACCEL_EMU };

static const char pvm_note[] =
    "this host's KVM is the nested PVM flavour (kvm_pvm): guest ring-0 code is emulated by the\n"
    "host kernel (about 1 us per instruction) and some instructions (xsave family, cmpxchg16b)\n"
    "fail, so an unmodified Linux kernel cannot boot under KVM here; small test guests can.";

static int choose_accel(enum accel_choice choice, const struct vs_accel_ops **ops)
{
	struct vs_error err = { 0 };
	if (choice == ACCEL_EMU) {
		vs_cli_error(
		    "--accel emu: the x86-64 emulator is not part of this build yet; use --accel kvm");
		return -1;
	}
	if (vs_kvm_probe(&err) < 0) {
		if (choice == ACCEL_KVM)
			vs_cli_error("--accel kvm: %s", err.msg);
		else
			vs_cli_error("KVM is not usable (%s) and the emulator is not part of this build yet",
				     err.msg);
		return -1;
	}
	*ops = &vs_accel_kvm_ops;
	return 0;
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
static int boot_and_run(struct vs_vm_config *cfg, enum accel_choice accel, const char *console_spec)
{
	struct vs_console console;
	struct vs_error err = { 0 };
	struct vs_vm *vm = NULL;
	bool crashed = false;
	char report[sizeof(vm->report)] = "";
	sigset_t old_mask;
	int status = VS_EXIT_USAGE;
	int sfd = block_stop_signals(&old_mask);

	if (vs_console_open(&console, console_spec, &err) < 0)
		goto out_signals;
	cfg->console = &console;
	if (vs_vm_create(cfg, &vm, &err) < 0)
		goto out_console;
	if (vs_kvm_is_pvm() && vm->boot.is_linux && accel == ACCEL_AUTO) {
		/* auto means "whatever can run this guest": PVM cannot run
		 * Linux, and there is no emulator to fall back on yet. */
		vs_error_msg(
		    &err,
		    "`%s` is a Linux kernel, which this host's KVM cannot run, and the emulator is not "
		    "part of this build yet; --accel kvm tries anyway",
		    cfg->kernel_path);
		crashed = true; /* print the PVM note with the error */
		goto out_vm;
	}
	if (vs_kvm_is_pvm() && vm->boot.is_linux)
		vs_cli_note("%s", pvm_note); /* raw mode keeps output processing */
	status = vs_vm_run(vm, sfd);
	memcpy(report, vm->report, sizeof(report));
	if (vm->stop_signal)
		snprintf(report, sizeof(report), "vessel: stopped by signal %d (%s)\n", vm->stop_signal,
			 strsignal(vm->stop_signal));
	crashed = vm->stop_reason == VS_STOP_CRASH;
out_vm:
	vs_vm_destroy(vm);
out_console:
	vs_console_close(&console);
	cfg->console = NULL; /* it points into this frame */
out_signals:
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (err.msg[0])
		vs_cli_error("%s", err.msg);
	fputs(report, stderr);
	if (crashed && vs_kvm_is_pvm())
		vs_cli_note("%s", pvm_note);
	return status;
}

int vs_cli_vm_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "accel", required_argument, NULL, 'a' },
		{ "console", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vs_vm_config cfg = { .mem_size = VS_DEFAULT_MEM, .ncpus = 1 };
	enum accel_choice accel = ACCEL_AUTO;
	const char *console_spec = "stdio";
	struct vs_error err = { 0 };
	enum vs_console_kind kind;
	const char *console_path;
	int opt;
	long n;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
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
			if (strcmp(optarg, "kvm") == 0)
				accel = ACCEL_KVM;
			else if (strcmp(optarg, "emu") == 0)
				accel = ACCEL_EMU;
			else if (strcmp(optarg, "auto") == 0)
				accel = ACCEL_AUTO;
			else {
				vs_cli_error("--accel `%s` is unknown: use kvm, emu or auto", optarg);
				return VS_EXIT_USAGE;
			}
			break;
		case 'o':
			console_spec = optarg;
			if (vs_console_parse(console_spec, &kind, &console_path, &err) < 0) {
				vs_cli_error("--console: %s", err.msg);
				return VS_EXIT_USAGE;
			}
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
	/* Placeholders: the check only needs them present. */
	cfg.console = &(struct vs_console){ .in_fd = -1, .out_fd = -1 };
	cfg.accel = &vs_accel_kvm_ops;
	if (vs_vm_config_check(&cfg, &err) < 0) {
		vs_cli_error("%s", err.msg);
		return VS_EXIT_USAGE;
	}
	if (choose_accel(accel, &cfg.accel) < 0)
		return VS_EXIT_USAGE;
	return boot_and_run(&cfg, accel, console_spec);
}
