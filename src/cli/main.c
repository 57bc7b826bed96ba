#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: vessel COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  vm run     boot a kernel in a microVM (see `vessel vm run --help`)\n"
    "  img        disk images: create, info, check, convert, compare, map, resize\n"
    "  doctor     report what this host offers: KVM, cgroups, namespaces, io_uring, tap\n"
    "  version    print the version\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return VS_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return VS_EXIT_OK;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
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
		vs_cli_error("unknown vm command%s%s: use `vessel vm run`", argc >= 3 ? " " : "",
			     argc >= 3 ? argv[2] : "");
		return VS_EXIT_USAGE;
	}
	vs_cli_error("unknown command `%s`: see `vessel --help`", argv[1]);
	return VS_EXIT_USAGE;
}
