/* vessel-oci exec [options] ID [COMMAND [ARG...]] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/oci/oci.h"
#include "container/caps.h"
#include "container/container.h"
#include "util/cleanup.h"
#include "util/file.h"

enum { OPT_CONSOLE = 1000, OPT_PIDFILE, OPT_NNP, OPT_PRESERVE, OPT_IGNORED_ARG, OPT_IGNORED };

static int parse_user(const char *s, struct vs_exec_overrides *ov)
{
	char *end;
	unsigned long uid = strtoul(s, &end, 10), gid = 0;
	if (end == s || (*end && *end != ':'))
		return -1;
	if (*end == ':') {
		const char *g = end + 1;
		gid = strtoul(g, &end, 10);
		if (end == g || *end)
			return -1;
	}
	ov->has_user = true;
	ov->uid = (uint32_t)uid;
	ov->gid = (uint32_t)gid;
	return 0;
}

int oci_exec(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "cwd", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' },
		{ "tty", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "process", required_argument, NULL, 'p' },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, OPT_PIDFILE },
		{ "process-label", required_argument, NULL, OPT_IGNORED_ARG },
		{ "apparmor", required_argument, NULL, OPT_IGNORED_ARG },
		{ "no-new-privs", no_argument, NULL, OPT_NNP },
		{ "cap", required_argument, NULL, 'c' },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ "ignore-paused", no_argument, NULL, OPT_IGNORED },
		{ "cgroup", required_argument, NULL, OPT_IGNORED_ARG },
		{ NULL, 0, NULL, 0 },
	};
	struct vs_exec_overrides ov = { 0 };
	struct vs_exec_opts o = { .overrides = &ov };
	struct vs_spec_process proc;
	struct vs_error err = { 0 };
	vs_autofree char **env = NULL;
	vs_autofree uint32_t *gids = NULL;
	vs_autofree uint8_t *process_json = NULL;
	size_t nenv = 0, process_len = 0;
	const char *process_path = NULL, *id;
	bool have_process = false;
	int opt, rc = 1, cap;

	env = calloc((size_t)argc + 1, sizeof(char *));
	gids = calloc((size_t)argc + 1, sizeof(uint32_t));
	if (!env || !gids)
		return 1;
	optind = 1;
	opterr = 0;
	/* '+': the command after the id is not ours to parse. */
	while ((opt = getopt_long(argc, argv, "+:w:e:tu:g:p:dc:", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_CONSOLE:
			o.console_socket = optarg;
			break;
		case 'w':
			ov.cwd = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=')) {
				oci_error(g, "exec: --env `%s` is not NAME=value", optarg);
				return 1;
			}
			env[nenv++] = optarg;
			break;
		case 't':
			ov.tty = true;
			break;
		case 'u':
			if (parse_user(optarg, &ov) < 0) {
				oci_error(g, "exec: --user `%s`: use UID[:GID] (numbers)", optarg);
				return 1;
			}
			break;
		case 'g': {
			char *end;
			gids[ov.gids_count++] = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || end == optarg) {
				oci_error(g, "exec: --additional-gids `%s` is not a number", optarg);
				return 1;
			}
			break;
		}
		case 'p':
			process_path = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		case OPT_PIDFILE:
			o.pid_file = optarg;
			break;
		case OPT_NNP:
			ov.no_new_privs = true;
			break;
		case 'c':
			cap = vs_caps_from_name(optarg);
			if (cap < 0) {
				oci_error(g, "exec: --cap `%s` is not a capability name (e.g. CAP_NET_ADMIN)",
					  optarg);
				return 1;
			}
			ov.caps_add |= 1ull << cap;
			break;
		case OPT_PRESERVE:
			o.preserve_fds = atoi(optarg);
			break;
		case OPT_IGNORED:
		case OPT_IGNORED_ARG:
			break;
		case ':':
			oci_error(g, "exec: option `%s` needs a value", argv[optind - 1]);
			return 1;
		default:
			oci_error(g, "exec: unknown option `%s`", argv[optind - 1]);
			return 1;
		}
	}
	if (optind >= argc) {
		oci_error(g, "exec: missing container id");
		return 1;
	}
	id = argv[optind];
	ov.args = argv + optind + 1;
	ov.env = env;
	ov.gids = gids;
	if (process_path) {
		if (vs_read_file(process_path, "process", 1u << 20, &process_json, &process_len, &err) < 0 ||
		    vs_spec_parse_process((const char *)process_json, process_len, &proc, &err) < 0) {
			oci_error(g, "exec %s: --process: %s", id, err.msg);
			return 1;
		}
		have_process = true;
		o.process = &proc;
	} else if (!ov.args[0]) {
		oci_error(g, "exec %s: no command given (use --process FILE or ID COMMAND...)", id);
		return 1;
	}
	rc = vs_container_exec(g->root, id, &o, &err);
	if (rc < 0) {
		oci_error(g, "exec %s: %s", id, err.msg);
		rc = 1;
	}
	if (have_process)
		vs_spec_process_free(&proc);
	return rc;
}
