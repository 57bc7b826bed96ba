#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"

static const char usage[] =
    "usage: vessel [-v|--verbose] COMMAND [OPTIONS]\n"
    "\n"
    "  -v, --verbose  print debug messages\n"
    "\n"
    "commands:\n"
    "  vm run     boot a kernel in a VM, under KVM or the emulator (see `vessel vm run --help`)\n"
    "  img        disk images: create, info, check, convert, compare, map, resize, snapshot, ...\n"
    "  ct run     run a command in a container on a root filesystem (see `vessel ct run --help`)\n"
    "  doctor     report what this host offers: CPU backends, cgroups, namespaces, io_uring, tap\n"
    "  version    print the version (also -V, --version)\n";

static const char vm_usage[] =
    "usage: vessel vm run [OPTIONS]   boot a kernel in a VM; see `vessel vm run --help`\n";

static char prog_name[] = "vessel";
static const struct vs_log_sink stderr_sink = { vs_log_stderr, prog_name };

int main(int argc, char **argv)
{
	vs_log_set_sink(&stderr_sink);
	/* Global options come before the command. */
	while (argc >= 2 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--verbose") == 0)) {
		vs_log_set_level(VS_LOG_DEBUG);
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	if (argc < 2) {
		fputs(usage, stderr);
		return VS_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return VS_EXIT_OK;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "-V") == 0) {
		printf("vessel %s\n", VESSEL_VERSION);
		return VS_EXIT_OK;
	}
	if (strcmp(argv[1], "ct") == 0)
		return vs_cli_ct(argc - 1, argv + 1);
	if (strcmp(argv[1], "img") == 0)
		return vs_cli_img(argc - 1, argv + 1);
	if (strcmp(argv[1], "doctor") == 0)
		return vs_cli_doctor(argc - 1, argv + 1);
	if (strcmp(argv[1], "vm") == 0) {
		if (argc >= 3 && strcmp(argv[2], "run") == 0)
			return vs_cli_vm_run(argc - 2, argv + 2);
		if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			fputs(vm_usage, stdout);
			return VS_EXIT_OK;
		}
		vs_cli_error("unknown vm command%s%s: use `vessel vm run`", argc >= 3 ? " " : "",
			     argc >= 3 ? argv[2] : "");
		return VS_EXIT_USAGE;
	}
	vs_cli_error("unknown command `%s`: see `vessel --help`", argv[1]);
	return VS_EXIT_USAGE;
}
