/* vessel ct run --rootfs DIR [options] -- CMD... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/container.h"
#include "container/ct.h"
#include "container/state.h"
#include "util/parse.h"
#include "util/cleanup.h"
#include "util/log.h"

/* podman's convention: the container's own status passes through, so
 * vessel's own failures use 125. */
#define CT_EXIT_SETUP 125

static const char ct_usage[] =
    "usage: vessel ct run --rootfs DIR [--memory SIZE] [--cpus N] [--pids N] [--net none|host]\n"
    "                     [--hostname H] [--ro] -- CMD [ARG...]\n"
    "\n"
    "Runs CMD in a new container on the root filesystem DIR with podman's defaults:\n"
    "new pid/mount/ipc/uts/cgroup/network namespaces, masked /proc and /sys paths,\n"
    "a reduced capability set and the default seccomp profile.\n"
    "\n"
    "  --memory SIZE   memory limit, e.g. 256M\n"
    "  --cpus N        CPU limit in CPUs, e.g. 0.5\n"
    "  --pids N        maximum number of processes\n"
    "  --net MODE      none (default: a private network namespace) or host\n"
    "  --hostname H    container hostname (default vessel)\n"
    "  --ro            read-only root filesystem\n"
    "\n"
    "exit status: the command's own, or 125 when vessel could not run it.\n";

static int parse_cpus(const char *s, uint64_t *millis)
{
	char *end;
	double v = strtod(s, &end);
	/* !(v > 0) also refuses NaN; hex floats are not a CPU count. */
	if (end == s || *end || !(v > 0) || v > 4096 || strpbrk(s, "xXnNiI"))
		return -1;
	*millis = (uint64_t)(v * 1000 + 0.5);
	return *millis ? 0 : -1;
}

int vs_cli_ct(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rootfs", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "pids", required_argument, NULL, 'p' },
		{ "net", required_argument, NULL, 'n' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "ro", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vs_ct_opts o = { 0 };
	struct vs_create_opts co = { .bundle = "/" };
	struct vs_spec spec;
	struct vs_error err = { 0 };
	vs_autofree char *rootfs = NULL;
	vs_autofree char *config = NULL;
	const char *root = VS_CT_ROOT;
	char id[64];
	long n;
	int opt, status;
	uint32_t rnd;
	pid_t pid;

	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			fputs(ct_usage, stdout);
			return VS_EXIT_OK;
		}
		vs_cli_error("unknown ct command%s%s: use `vessel ct run`", argc >= 2 ? " " : "",
			     argc >= 2 ? argv[1] : "");
		return CT_EXIT_SETUP; /* as every other `vessel ct` failure */
	}
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			free(rootfs);
			rootfs = realpath(optarg, NULL);
			if (!rootfs) {
				vs_cli_error("--rootfs `%s`: no such directory", optarg);
				return CT_EXIT_SETUP;
			}
			break;
		case 'm':
			if (vs_parse_size(optarg, &o.memory) < 0 || o.memory < 4 * 1024 * 1024) {
				vs_cli_error("--memory `%s` is not a size of at least 4M (e.g. 256M)",
					     optarg);
				return CT_EXIT_SETUP;
			}
			break;
		case 'c':
			if (parse_cpus(optarg, &o.cpu_millis) < 0) {
				vs_cli_error("--cpus `%s` is not a positive number of CPUs (e.g. 0.5 or 2)",
					     optarg);
				return CT_EXIT_SETUP;
			}
			break;
		case 'p':
			if (vs_cli_parse_int("--pids", optarg, 1, 4194304, &n) < 0)
				return CT_EXIT_SETUP;
			o.pids = n;
			break;
		case 'n':
			if (strcmp(optarg, "host") == 0)
				o.net_host = true;
			else if (strcmp(optarg, "none") != 0) {
				vs_cli_error("--net `%s`: use none or host", optarg);
				return CT_EXIT_SETUP;
			}
			break;
		case 'H':
			o.hostname = optarg;
			break;
		case 'R':
			o.readonly = true;
			break;
		case 'h':
			fputs(ct_usage, stdout);
			return VS_EXIT_OK;
		case ':':
			vs_cli_error("option `%s` needs a value; see `vessel ct run --help`",
				     argv[optind - 1]);
			return CT_EXIT_SETUP;
		default:
			vs_cli_error("unknown option `%s`; see `vessel ct run --help`", argv[optind - 1]);
			return CT_EXIT_SETUP;
		}
	}
	if (!rootfs) {
		vs_cli_error("--rootfs DIR is required");
		return CT_EXIT_SETUP;
	}
	if (optind >= argc) {
		vs_cli_error("no command given: vessel ct run --rootfs DIR -- CMD [ARG...]");
		return CT_EXIT_SETUP;
	}
	o.rootfs = rootfs;
	o.args = argv + optind;
	config = vs_ct_config_json(&o, &err);
	if (!config || vs_spec_parse(config, strlen(config), "/", &spec, &err) < 0) {
		vs_cli_error("building the container config: %s", err.msg);
		return CT_EXIT_SETUP;
	}
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)vs_now_ns();
	snprintf(id, sizeof(id), "ct-%d-%08x", (int)getpid(), rnd);
	co.spec = &spec;
	co.config_json = config;
	/* Killed with SIGKILL, we cannot clean up: the container dies with us
	 * (die_with_caller) and the next run removes its state and cgroups. */
	co.die_with_caller = true;
	vs_container_reap_orphans(root);
	if (vs_container_create(root, id, &co, &pid, &err) < 0) {
		vs_spec_free(&spec);
		vs_cli_error("%s", err.msg);
		return CT_EXIT_SETUP;
	}
	vs_spec_free(&spec);
	if (vs_container_start(root, id, &err) < 0) {
		struct vs_error ignored = { 0 };
		vs_cli_error("%s", err.msg);
		vs_container_delete(root, id, true, &ignored);
		/* init exits 126 (not executable) or 127 (not found) when the
		 * exec fails, as a shell and podman report it. */
		status = vs_wait_status(pid);
		return status == 126 || status == 127 ? status : CT_EXIT_SETUP;
	}
	status = vs_wait_forwarding(pid);
	if (vs_container_delete(root, id, true, &err) < 0)
		vs_cli_error("cleaning up container %s: %s", id, err.msg);
	return status;
}
