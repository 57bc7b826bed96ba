/* vessel ct run --rootfs DIR [options] -- CMD... */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/tty.h"
#include "cli/vm_limits.h"
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
    "                     [--hostname H] [--ro] [-t] [-e NAME[=VALUE]]... [-v HOST:CTR[:ro]]...\n"
    "                     [-w DIR] [-u USER[:GROUP]] -- CMD [ARG...]\n"
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
    "  -t, --tty       run CMD on a pseudo-terminal (stdin must be a terminal)\n"
    "  -e, --env NAME=VALUE  set a variable; -e NAME passes the caller's value\n"
    "  -v, --volume HOST:CTR[:ro]  bind-mount the existing HOST path at CTR\n"
    "  -w, --workdir DIR     working directory of CMD (created if missing)\n"
    "  -u, --user USER[:GROUP]  uid/gid, numeric or from the rootfs's\n"
    "                  /etc/passwd and /etc/group (default 0:0)\n"
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

/* The id of `name` (a name, or a number standing for itself) in the
 * rootfs's passwd or group file (field 3); -1 when absent. Gives the gid
 * of a passwd entry in *pw_gid when asked. */
static long lookup_id(const char *rootfs, const char *file, const char *name, long *pw_gid)
{
	char path[4096], line[1024];
	long found = -1;
	snprintf(path, sizeof(path), "%s/%s", rootfs, file);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *save = NULL;
		char *fields[4] = { 0 };
		int n = 0;
		for (char *t = strtok_r(line, ":\n", &save); t && n < 4; t = strtok_r(NULL, ":\n", &save))
			fields[n++] = t;
		/* By name, or for a number by its id (the gid of uid 1000). */
		if (n < 3 || (strcmp(fields[0], name) != 0 && strcmp(fields[2], name) != 0))
			continue;
		found = strtol(fields[2], NULL, 10);
		if (pw_gid && n >= 4)
			*pw_gid = strtol(fields[3], NULL, 10);
	}
	fclose(f);
	return found;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* -u USER[:GROUP], as podman: numbers as they are, names from the
 * rootfs; a USER found in /etc/passwd brings its primary group. */
static int parse_user(const char *rootfs, const char *spec, uint32_t *uid, uint32_t *gid)
{
	vs_autofree char *copy = strdup(spec);
	char *group;
	long u, g = 0;
	if (!copy)
		return -1;
	group = strchr(copy, ':');
	if (group)
		*group++ = '\0';
	if (all_digits(copy)) {
		u = strtol(copy, NULL, 10);
		lookup_id(rootfs, "etc/passwd", copy, &g); /* its primary group, if listed */
	} else if ((u = lookup_id(rootfs, "etc/passwd", copy, &g)) < 0) {
		vs_cli_error("--user `%s`: no user `%s` in %s/etc/passwd", spec, copy, rootfs);
		return -1;
	}
	if (group && all_digits(group))
		g = strtol(group, NULL, 10);
	else if (group && (g = lookup_id(rootfs, "etc/group", group, NULL)) < 0) {
		vs_cli_error("--user `%s`: no group `%s` in %s/etc/group", spec, group, rootfs);
		return -1;
	}
	if (u > UINT32_MAX - 1 || g > UINT32_MAX - 1 || (group && !*group) || !*copy) {
		vs_cli_error("--user `%s`: use UID[:GID] or NAME[:GROUP]", spec);
		return -1;
	}
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return 0;
}

#define CT_MAX_LIST 256

/* What the options allocate, released in one place. */
struct ct_lists {
	struct vs_ct_volume vols[CT_MAX_LIST];
	char *vol_strings[2 * CT_MAX_LIST];
	size_t nvol, nvol_strings;
	const char *env[CT_MAX_LIST];
	char *env_owned[CT_MAX_LIST];
	size_t nenv, nenv_owned;
};

static void ct_lists_free(struct ct_lists *l)
{
	for (size_t i = 0; i < l->nvol_strings; i++)
		free(l->vol_strings[i]);
	for (size_t i = 0; i < l->nenv_owned; i++)
		free(l->env_owned[i]);
}

/* -v HOST:CTR[:ro|rw]: HOST must exist (podman would create it; a typo
 * silently making a directory is worse than an error). */
static int parse_volume(struct ct_lists *l, const char *arg)
{
	vs_autofree char *copy = strdup(arg);
	struct vs_ct_volume *v = &l->vols[l->nvol];
	char *ctr, *mode, *host, *ctr_copy;
	if (!copy)
		return -1;
	if (l->nvol == CT_MAX_LIST) {
		vs_cli_error("--volume: at most %d", CT_MAX_LIST);
		return -1;
	}
	ctr = strchr(copy, ':');
	if (!ctr || ctr == copy || !ctr[1]) {
		vs_cli_error("--volume `%s`: use HOST:CTR[:ro]", arg);
		return -1;
	}
	*ctr++ = '\0';
	mode = strchr(ctr, ':');
	if (mode)
		*mode++ = '\0';
	if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0) {
		vs_cli_error("--volume `%s`: unknown mode `%s` (use ro or rw)", arg, mode);
		return -1;
	}
	if (ctr[0] != '/') {
		vs_cli_error("--volume `%s`: the container path `%s` must be absolute", arg, ctr);
		return -1;
	}
	host = realpath(copy, NULL);
	if (!host) {
		vs_cli_error("--volume `%s`: host path `%s`: %s", arg, copy, strerror(errno));
		return -1;
	}
	l->vol_strings[l->nvol_strings++] = host;
	ctr_copy = strdup(ctr);
	if (!ctr_copy)
		return -1;
	l->vol_strings[l->nvol_strings++] = ctr_copy;
	*v = (struct vs_ct_volume){ .host = host, .ctr = ctr_copy, .readonly = mode && !strcmp(mode, "ro") };
	l->nvol++;
	return 0;
}

/* -e NAME=VALUE, or -e NAME for the caller's value (skipped when the
 * caller has none, as podman does). */
static int parse_env(struct ct_lists *l, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (l->nenv == CT_MAX_LIST) {
		vs_cli_error("--env: at most %d", CT_MAX_LIST);
		return -1;
	}
	if (eq == arg || !*arg) {
		vs_cli_error("--env `%s`: use NAME=VALUE or NAME", arg);
		return -1;
	}
	if (eq) {
		l->env[l->nenv++] = arg;
		return 0;
	}
	const char *value = getenv(arg);
	char *text;
	if (!value)
		return 0;
	if (asprintf(&text, "%s=%s", arg, value) < 0)
		return -1;
	l->env_owned[l->nenv_owned++] = text;
	l->env[l->nenv++] = text;
	return 0;
}

static long host_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

static int ct_run(int argc, char **argv, struct ct_lists *l);

int vs_cli_ct(int argc, char **argv)
{
	struct ct_lists *l = calloc(1, sizeof(*l));
	int status;
	if (!l) {
		vs_cli_error("out of memory");
		return CT_EXIT_SETUP;
	}
	status = ct_run(argc, argv, l);
	ct_lists_free(l);
	free(l);
	return status;
}

static int ct_run(int argc, char **argv, struct ct_lists *l)
{
	static const struct option opts[] = {
		{ "rootfs", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "pids", required_argument, NULL, 'p' },
		{ "net", required_argument, NULL, 'n' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "ro", no_argument, NULL, 'R' },
		{ "tty", no_argument, NULL, 't' },
		{ "env", required_argument, NULL, 'e' },
		{ "volume", required_argument, NULL, 'v' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
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
	const char *user = NULL;
	struct vs_cli_tty console = { .listen_fd = -1, .master = -1, .pump = -1 };
	char why[512];
	struct stat st;
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
	while ((opt = getopt_long(argc, argv, "+:hte:v:w:u:", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			free(rootfs);
			rootfs = realpath(optarg, NULL);
			if (!rootfs) {
				vs_cli_error("--rootfs `%s`: %s", optarg, strerror(errno));
				return CT_EXIT_SETUP;
			}
			if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
				vs_cli_error("--rootfs `%s` is not a directory", optarg);
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
			if (o.cpu_millis > (uint64_t)host_cpus() * 1000) {
				vs_cli_error("--cpus %s is more than the %ld CPUs of this host "
					     "(the range is 0.001 to %ld)",
					     optarg, host_cpus(), host_cpus());
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
		case 't':
			o.terminal = true;
			break;
		case 'e':
			if (parse_env(l, optarg) < 0)
				return CT_EXIT_SETUP;
			break;
		case 'v':
			if (parse_volume(l, optarg) < 0)
				return CT_EXIT_SETUP;
			break;
		case 'w':
			if (optarg[0] != '/') {
				vs_cli_error("--workdir `%s` must be an absolute path", optarg);
				return CT_EXIT_SETUP;
			}
			o.cwd = optarg;
			break;
		case 'u':
			user = optarg;
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
	if (user && parse_user(rootfs, user, &o.uid, &o.gid) < 0)
		return CT_EXIT_SETUP;
	o.rootfs = rootfs;
	o.args = argv + optind;
	o.env = l->env;
	o.env_count = l->nenv;
	o.volumes = l->vols;
	o.volume_count = l->nvol;
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
	if (o.terminal) {
		if (vs_cli_tty_listen(&console, false, why, sizeof(why)) < 0) {
			vs_spec_free(&spec);
			vs_cli_error("--tty: %s", why);
			return CT_EXIT_SETUP;
		}
		co.console_socket = console.path;
	}
	/* Killed with SIGKILL, we cannot clean up: the container dies with us
	 * (die_with_caller) and the next run removes its state and cgroups. */
	co.die_with_caller = true;
	vs_container_reap_orphans(root);
	vs_cli_vm_limits_reap();
	if (vs_container_create(root, id, &co, &pid, &err) < 0) {
		vs_spec_free(&spec);
		vs_cli_tty_close(&console);
		vs_cli_error("%s", err.msg);
		/* A command that is not there is found at create now (as
		 * runc): 127 as a shell and podman report it. */
		return err.code == ENOENT && strstr(err.msg, "exec `") ? 127 : CT_EXIT_SETUP;
	}
	vs_spec_free(&spec);
	if (o.terminal && vs_cli_tty_accept(&console, why, sizeof(why)) < 0) {
		struct vs_error ignored = { 0 };
		vs_cli_tty_close(&console);
		vs_cli_error("--tty: %s", why);
		vs_container_delete(root, id, true, &ignored);
		return CT_EXIT_SETUP;
	}
	vs_debug("container %s: init is pid %d", id, (int)pid);
	if (vs_container_start(root, id, &err) < 0) {
		struct vs_error ignored = { 0 };
		vs_cli_tty_close(&console);
		vs_cli_error("%s", err.msg);
		vs_container_delete(root, id, true, &ignored);
		/* init exits 126 (not executable) or 127 (not found) when the
		 * exec fails, as a shell and podman report it. */
		status = vs_wait_status(pid);
		return status == 126 || status == 127 ? status : CT_EXIT_SETUP;
	}
	if (o.terminal && vs_cli_tty_start_pump(&console, why, sizeof(why)) < 0)
		vs_cli_error("--tty: %s", why); /* the command runs on, unseen */
	status = vs_wait_forwarding(pid);
	vs_cli_tty_close(&console);
	if (vs_container_delete(root, id, true, &err) < 0)
		vs_cli_error("cleaning up container %s: %s", id, err.msg);
	return status;
}
