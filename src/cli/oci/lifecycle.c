/* create, start, run, state, list, kill, delete, pause, resume. */
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/oci/oci.h"
#include "cli/tty.h"
#include "container/container.h"
#include "container/state.h"
#include "util/json.h"
#include "util/log.h"

enum {
	OPT_BUNDLE = 'b',
	OPT_CONSOLE = 1000,
	OPT_PIDFILE,
	OPT_NOPIVOT,
	OPT_NOKEYRING,
	OPT_PRESERVE,
	OPT_KEEP
};

static const struct option create_opts[] = {
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "console-socket", required_argument, NULL, OPT_CONSOLE },
	{ "pid-file", required_argument, NULL, OPT_PIDFILE },
	{ "no-pivot", no_argument, NULL, OPT_NOPIVOT },
	{ "no-new-keyring", no_argument, NULL, OPT_NOKEYRING },
	{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
	{ "detach", no_argument, NULL, 'd' },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ NULL, 0, NULL, 0 },
};

struct create_args {
	struct vs_create_opts o;
	bool detach, keep;
	const char *id;
};

static int parse_create(const struct oci_globals *g, const char *cmd, int argc, char **argv,
			struct create_args *a)
{
	int opt;
	char *end;
	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":b:d", create_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_BUNDLE:
			a->o.bundle = optarg;
			break;
		case OPT_CONSOLE:
			a->o.console_socket = optarg;
			break;
		case OPT_PIDFILE:
			a->o.pid_file = optarg;
			break;
		case OPT_NOPIVOT:
			a->o.no_pivot = true;
			break;
		case OPT_NOKEYRING:
			break; /* we never create a session keyring */
		case OPT_PRESERVE:
			a->o.preserve_fds = (int)strtol(optarg, &end, 10);
			if (*end || a->o.preserve_fds < 0 || a->o.preserve_fds > 1000) {
				oci_error(g, "%s: --preserve-fds `%s` is not a count", cmd, optarg);
				return -1;
			}
			break;
		case 'd':
			a->detach = true;
			break;
		case OPT_KEEP:
			a->keep = true;
			break;
		case ':':
			oci_error(g, "%s: option `%s` needs a value", cmd, argv[optind - 1]);
			return -1;
		default:
			oci_error(g, "%s: unknown option `%s`", cmd, argv[optind - 1]);
			return -1;
		}
	}
	a->id = oci_one_id(g, cmd, argc, argv, optind);
	return a->id ? 0 : -1;
}

int oci_create(const struct oci_globals *g, int argc, char **argv)
{
	struct create_args a;
	struct vs_error err = { 0 };
	pid_t pid;
	if (parse_create(g, "create", argc, argv, &a) < 0)
		return 1;
	if (vs_container_create(g->root, a.id, &a.o, &pid, &err) < 0) {
		oci_error(g, "create %s: %s", a.id, err.msg);
		return 1;
	}
	vs_debug("created %s, init pid %d", a.id, (int)pid);
	return 0;
}

static int simple_id_command(const struct oci_globals *g, const char *cmd, int argc, char **argv,
			     const char **id)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	optind = 1;
	opterr = 0;
	if (getopt_long(argc, argv, "", none, NULL) != -1) {
		oci_error(g, "%s: unknown option `%s`", cmd, argv[optind - 1]);
		return -1;
	}
	*id = oci_one_id(g, cmd, argc, argv, optind);
	return *id ? 0 : -1;
}

int oci_start(const struct oci_globals *g, int argc, char **argv)
{
	const char *id;
	struct vs_error err = { 0 };
	if (simple_id_command(g, "start", argc, argv, &id) < 0)
		return 1;
	if (vs_container_start(g->root, id, &err) < 0) {
		oci_error(g, "start %s: %s", id, err.msg);
		return 1;
	}
	return 0;
}

/* Whether the bundle's process asks for a terminal (false when the
 * config does not load: create reports that). */
static bool wants_terminal(const char *bundle)
{
	struct vs_spec spec;
	struct vs_error err = { 0 };
	bool terminal;
	if (vs_spec_load(bundle ? bundle : ".", &spec, &err) < 0)
		return false;
	terminal = spec.process.terminal;
	vs_spec_free(&spec);
	return terminal;
}

int oci_run(const struct oci_globals *g, int argc, char **argv)
{
	struct create_args a;
	struct vs_error err = { 0 };
	struct vs_cli_tty tty = { .listen_fd = -1, .master = -1, .pump = -1 };
	bool use_tty = false;
	char why[512];
	pid_t pid;
	int status;
	if (parse_create(g, "run", argc, argv, &a) < 0)
		return 1;
	/* As runc: a terminal and no --console-socket means a pty of our own
	 * in the foreground, on the caller's terminal. */
	if (!a.o.console_socket && wants_terminal(a.o.bundle)) {
		if (a.detach) {
			oci_error(g, "run %s: cannot allocate a tty when detaching without --console-socket",
				  a.id);
			return 1;
		}
		if (vs_cli_tty_listen(&tty, true, why, sizeof(why)) < 0) {
			oci_error(g, "run %s: %s", a.id, why);
			return 1;
		}
		a.o.console_socket = tty.path;
		use_tty = true;
	}
	if (vs_container_create(g->root, a.id, &a.o, &pid, &err) < 0) {
		vs_cli_tty_close(&tty);
		oci_error(g, "run %s: %s", a.id, err.msg);
		return 1;
	}
	if (use_tty && vs_cli_tty_accept(&tty, why, sizeof(why)) < 0) {
		struct vs_error ignored = { 0 };
		vs_cli_tty_close(&tty);
		oci_error(g, "run %s: %s", a.id, why);
		vs_container_delete(g->root, a.id, true, &ignored);
		return 1;
	}
	if (vs_container_start(g->root, a.id, &err) < 0) {
		struct vs_error ignored = { 0 };
		vs_cli_tty_close(&tty);
		oci_error(g, "run %s: %s", a.id, err.msg);
		vs_container_delete(g->root, a.id, true, &ignored);
		return 1;
	}
	if (a.detach)
		return 0;
	if (use_tty && vs_cli_tty_start_pump(&tty, why, sizeof(why)) < 0)
		oci_error(g, "run %s: %s", a.id, why);
	status = vs_wait_forwarding(pid);
	vs_cli_tty_close(&tty);
	if (!a.keep && vs_container_delete(g->root, a.id, true, &err) < 0)
		oci_error(g, "run %s: cleaning up: %s", a.id, err.msg);
	return status;
}

int oci_state(const struct oci_globals *g, int argc, char **argv)
{
	const char *id;
	struct vs_error err = { 0 };
	char *json = NULL;
	struct vs_json_doc *doc = NULL;
	struct vs_json_writer w;
	char *pretty = NULL;
	size_t len;
	if (simple_id_command(g, "state", argc, argv, &id) < 0)
		return 1;
	if (vs_container_state(g->root, id, &json, &err) < 0) {
		oci_error(g, "state %s: %s", id, err.msg);
		return 1;
	}
	/* runc prints it indented. */
	vs_jw_init(&w, 2);
	if (vs_json_parse(json, strlen(json), NULL, &doc, &err) == 0) {
		vs_jw_value(&w, vs_json_root(doc));
		if (vs_jw_finish(&w, &pretty, &len, &err) == 0) {
			printf("%s\n", pretty);
			free(pretty);
		}
		vs_json_doc_free(doc);
	} else {
		printf("%s\n", json);
	}
	free(json);
	return 0;
}

/* runc prints the table through Go's tabwriter (minimum width 12,
 * padding 3): each column as wide as its widest cell plus 3, the last one
 * unpadded. */
enum { LIST_COLS = 6, LIST_MINWIDTH = 12, LIST_PADDING = 3 };

struct list_row {
	char *cell[LIST_COLS];
};

static void print_table(struct list_row *rows, size_t n)
{
	size_t width[LIST_COLS] = { 0 };
	for (size_t r = 0; r < n; r++)
		for (int c = 0; c < LIST_COLS; c++)
			if (!rows[r].cell[c])
				rows[r].cell[c] = strdup("?"); /* out of memory: still a table */
	for (size_t r = 0; r < n; r++)
		for (int c = 0; c < LIST_COLS - 1; c++) {
			size_t w = strlen(rows[r].cell[c] ? rows[r].cell[c] : "?") + LIST_PADDING;
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < n; r++) {
		for (int c = 0; c < LIST_COLS - 1; c++)
			printf("%-*s", (int)(width[c] < LIST_MINWIDTH ? LIST_MINWIDTH : width[c]),
			       rows[r].cell[c] ? rows[r].cell[c] : "?");
		printf("%s\n", rows[r].cell[LIST_COLS - 1] ? rows[r].cell[LIST_COLS - 1] : "?");
	}
}

/* The name of `uid` from /etc/passwd, as runc prints it ("#uid" when it
 * has none). The file itself, not getpwuid's NSS modules: vessel-oci is
 * linked statically where it can be (see meson.build). */
static char *owner_name(uint32_t uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	char *s = NULL;
	while (f && (pw = fgetpwent(f)))
		if (pw->pw_uid == uid) {
			s = strdup(pw->pw_name);
			break;
		}
	if (f)
		fclose(f);
	if (s || asprintf(&s, "#%u", uid) >= 0)
		return s;
	return NULL;
}

int oci_list(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "quiet", no_argument, NULL, 'q' },
					      { NULL, 0, NULL, 0 } };
	struct vs_error err = { 0 };
	char **ids;
	size_t n, nrows = 0;
	bool json = false, quiet = false;
	int opt;
	struct vs_json_writer w;
	struct list_row *rows;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
		if (opt == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json = strcmp(optarg, "json") == 0;
		else if (opt == 'q')
			quiet = true;
		else {
			oci_error(g, "list: bad option `%s` (use --format table|json, --quiet)",
				  argv[optind - 1]);
			return 1;
		}
	}
	if (vs_state_list(g->root, &ids, &n, &err) < 0) {
		oci_error(g, "list: %s", err.msg);
		return 1;
	}
	rows = calloc(n + 1, sizeof(*rows));
	if (!rows) {
		oci_error(g, "list: out of memory");
		for (size_t i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
		return 1;
	}
	rows[nrows++] = (struct list_row){ { strdup("ID"), strdup("PID"), strdup("STATUS"), strdup("BUNDLE"),
					     strdup("CREATED"), strdup("OWNER") } };
	vs_jw_init(&w, 0);
	vs_jw_array_begin(&w);
	for (size_t i = 0; i < n; i++) {
		struct vs_state st;
		const char *status;
		int pid;
		if (vs_state_load(g->root, ids[i], &st, &err) < 0) {
			/* being created or deleted right now, or not a
			 * container (the ct root lives below the default root) */
			free(ids[i]);
			continue;
		}
		status = vs_container_status(g->root, &st);
		pid = vs_state_init_alive(&st) && strcmp(status, "stopped") != 0 ? (int)st.pid : 0;
		if (quiet)
			printf("%s\n", ids[i]);
		else if (!json) {
			struct list_row *r = &rows[nrows++];
			if (asprintf(&r->cell[1], "%d", pid) < 0)
				r->cell[1] = NULL;
			r->cell[0] = strdup(ids[i]);
			r->cell[2] = strdup(status);
			r->cell[3] = strdup(st.bundle ? st.bundle : "");
			r->cell[4] = strdup(st.created ? st.created : "");
			r->cell[5] = owner_name(st.owner);
		}
		vs_jw_object_begin(&w);
		vs_jw_kv_string(&w, "ociVersion", st.oci_version);
		vs_jw_kv_string(&w, "id", ids[i]);
		vs_jw_kv_int(&w, "pid", pid);
		vs_jw_kv_string(&w, "status", status);
		vs_jw_kv_string(&w, "bundle", st.bundle);
		vs_jw_kv_string(&w, "rootfs", st.rootfs);
		vs_jw_kv_string(&w, "created", st.created);
		/* runc gives the user name here too ("#uid" when unknown). */
		char *owner = owner_name(st.owner);
		vs_jw_kv_string(&w, "owner", owner ? owner : "?");
		free(owner);
		vs_jw_object_end(&w);
		vs_state_free(&st);
		free(ids[i]);
	}
	free(ids);
	vs_jw_array_end(&w);
	if (!json && !quiet)
		print_table(rows, nrows);
	for (size_t r = 0; r < nrows; r++)
		for (int c = 0; c < LIST_COLS; c++)
			free(rows[r].cell[c]);
	free(rows);
	if (json && !quiet) {
		char *text = NULL;
		size_t len;
		if (vs_jw_finish(&w, &text, &len, &err) < 0) {
			oci_error(g, "list: %s", err.msg);
			return 1;
		}
		printf("%s\n", text);
		free(text);
	} else {
		vs_jw_release(&w);
	}
	return 0;
}

int oci_kill(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
	struct vs_error err = { 0 };
	bool all = false;
	int opt, sig = SIGTERM;
	const char *id;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		if (opt != 'a') {
			oci_error(g, "kill: unknown option `%s`", argv[optind - 1]);
			return 1;
		}
		all = true;
	}
	if (optind >= argc || optind + 2 < argc) {
		oci_error(g, "kill: usage: vessel-oci kill [--all] ID [SIGNAL]");
		return 1;
	}
	id = argv[optind];
	if (optind + 1 < argc && (sig = oci_parse_signal(argv[optind + 1])) < 0) {
		oci_error(g, "kill: unknown signal `%s`", argv[optind + 1]);
		return 1;
	}
	if (vs_container_kill(g->root, id, sig, all, &err) < 0) {
		oci_error(g, "kill %s: %s", id, err.msg);
		return 1;
	}
	return 0;
}

int oci_delete(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	struct vs_error err = { 0 };
	bool force = false;
	int opt;
	const char *id;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (opt != 'f') {
			oci_error(g, "delete: unknown option `%s`", argv[optind - 1]);
			return 1;
		}
		force = true;
	}
	if (!(id = oci_one_id(g, "delete", argc, argv, optind)))
		return 1;
	if (vs_container_delete(g->root, id, force, &err) < 0) {
		oci_error(g, "delete %s: %s", id, err.msg);
		return 1;
	}
	return 0;
}

static int pause_resume(const struct oci_globals *g, const char *cmd, bool pause, int argc, char **argv)
{
	const char *id;
	struct vs_error err = { 0 };
	if (simple_id_command(g, cmd, argc, argv, &id) < 0)
		return 1;
	if (vs_container_pause(g->root, id, pause, &err) < 0) {
		oci_error(g, "%s %s: %s", cmd, id, err.msg);
		return 1;
	}
	return 0;
}

int oci_pause(const struct oci_globals *g, int argc, char **argv)
{
	return pause_resume(g, "pause", true, argc, argv);
}

int oci_resume(const struct oci_globals *g, int argc, char **argv)
{
	return pause_resume(g, "resume", false, argc, argv);
}
