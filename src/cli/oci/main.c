/* vessel-oci [global options] COMMAND [options] ID: runc's interface. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/oci/oci.h"
#include "container/idmap.h"
#include "container/container.h"
#include "container/ct.h"
#include "container/state.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"

static const char usage[] =
    "usage: vessel-oci [global options] COMMAND [options] [ID]\n"
    "\n"
    "An OCI runtime (runtime-spec " VS_OCI_VERSION ") with runc's command line.\n"
    "\n"
    "commands: create start run exec state list kill delete pause resume ps update features spec help\n"
    "(`vessel-oci help COMMAND` or `vessel-oci COMMAND --help` for its options)\n"
    "\n"
    "global options:\n"
    "  --root DIR           state directory (default " VS_OCI_DEFAULT_ROOT
    ", $XDG_RUNTIME_DIR/vessel for an unprivileged user)\n"
    "  --log FILE           also write errors to FILE\n"
    "  --log-format F       text or json (default text)\n"
    "  --systemd-cgroup     refused: vessel manages cgroupfs directly\n"
    "  --debug              verbose logging\n"
    "  --version            print the version\n";

/* The log sink of vessel-oci: stderr always (runc prints errors there too),
 * and with --log one line per message in the file conmon or containerd
 * reads. Every vs_warn of the library lands here as well as oci_error. */
struct oci_log {
	int fd; /* --log file, O_APPEND, or -1 */
	bool json;
};

static struct oci_log oci_log = { .fd = -1 };

static void oci_log_write(void *opaque, enum vs_log_level level, const char *msg)
{
	const struct oci_log *l = opaque;
	const char *name = vs_log_level_name(level);
	vs_autofree char *text = NULL;
	size_t len;
	if (level == VS_LOG_ERROR)
		fprintf(stderr, "vessel-oci: %s\n", msg);
	else
		fprintf(stderr, "vessel-oci: %s: %s\n", name, msg);
	if (l->fd < 0)
		return;
	if (l->json) {
		struct vs_json_writer w;
		char ts[64];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + n, sizeof(ts) - n, ".%09ldZ", now.tv_nsec);
		vs_jw_init(&w, 0);
		vs_jw_object_begin(&w);
		vs_jw_kv_string(&w, "level", name);
		vs_jw_kv_string(&w, "msg", msg);
		vs_jw_kv_string(&w, "time", ts);
		vs_jw_object_end(&w);
		if (vs_jw_finish(&w, &text, &len, NULL) < 0)
			return;
		char *grown = realloc(text, len + 2);
		if (!grown)
			return;
		text = grown;
		text[len++] = '\n';
		text[len] = '\0';
	} else {
		if (asprintf(&text, "%s: %s\n", name, msg) < 0) {
			text = NULL;
			return;
		}
		len = strlen(text);
	}
	/* One write() per line: with O_APPEND the lines of concurrent
	 * vessel-oci processes do not interleave. A failed log write has no
	 * better place to be reported. */
	if (vs_write_all(l->fd, text, len) < 0)
		return;
}

static const struct vs_log_sink oci_sink = { oci_log_write, &oci_log };

void oci_error(const struct oci_globals *g, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	(void)g; /* the sink is process-wide; g stays for call sites' symmetry */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vs_log(VS_LOG_ERROR, "%s", msg);
}

const char *oci_one_id(const struct oci_globals *g, const char *cmd, int argc, char **argv, int optind_)
{
	if (optind_ >= argc) {
		oci_error(g, "%s: missing container id; usage: vessel-oci %s [options] ID", cmd, cmd);
		return NULL;
	}
	if (optind_ + 1 < argc) {
		oci_error(g, "%s: unexpected argument `%s`", cmd, argv[optind_ + 1]);
		return NULL;
	}
	return argv[optind_];
}

int oci_parse_signal(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *name = sigabbrev_np(sig);
		if (name && strcasecmp(name, s) == 0)
			return sig;
	}
	return -1;
}

static const struct {
	const char *name;
	oci_command_fn fn;
} commands[] = {
	{ "create", oci_create },     { "start", oci_start },	{ "run", oci_run },
	{ "exec", oci_exec },	      { "state", oci_state },	{ "list", oci_list },
	{ "kill", oci_kill },	      { "delete", oci_delete }, { "pause", oci_pause },
	{ "resume", oci_resume },     { "ps", oci_ps },		{ "update", oci_update },
	{ "features", oci_features }, { "spec", oci_spec },
};

/* Global options come before the command; both "--opt value" and
 * "--opt=value" forms, as urfave/cli accepts them for runc. */
static int parse_globals(int argc, char **argv, struct oci_globals *g, const char **log_path, int *next)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *val = NULL;
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
#define IS(opt) (nlen == strlen(opt) && strncmp(a, opt, nlen) == 0)
#define VALUE()                                                       \
	do {                                                          \
		if (eq)                                               \
			val = eq + 1;                                 \
		else if (i + 1 < argc)                                \
			val = argv[++i];                              \
		else {                                                \
			oci_error(g, "option `%s` needs a value", a); \
			return -1;                                    \
		}                                                     \
	} while (0)
		if (IS("--root")) {
			VALUE();
			g->root = val;
		} else if (IS("--log")) {
			VALUE();
			*log_path = val;
		} else if (IS("--log-format")) {
			VALUE();
			if (strcmp(val, "json") == 0)
				oci_log.json = true;
			else if (strcmp(val, "text") == 0)
				oci_log.json = false;
			else {
				oci_error(g, "--log-format `%s`: use text or json", val);
				return -1;
			}
		} else if (IS("--systemd-cgroup")) {
			oci_error(g, "--systemd-cgroup: vessel-oci manages cgroupfs itself and does not "
				     "drive systemd; "
				     "use the cgroupfs manager (podman: --cgroup-manager=cgroupfs)");
			return -1;
		} else if (IS("--debug")) {
			vs_log_set_level(VS_LOG_DEBUG);
		} else if (IS("--rootless") || IS("--criu")) {
			if (!eq && i + 1 < argc && argv[i + 1][0] != '-')
				i++; /* accepted for compatibility, ignored */
		} else if (IS("--version") || IS("-v")) {
			printf("vessel-oci version %s\nspec: %s\n", VESSEL_VERSION, VS_OCI_VERSION);
			exit(0);
		} else if (IS("--help") || IS("-h")) {
			fputs(usage, stdout);
			exit(0);
		} else {
			oci_error(g, "unknown global option `%s`; see `vessel-oci --help`", a);
			return -1;
		}
#undef IS
#undef VALUE
	}
	*next = i;
	return 0;
}

int main(int argc, char **argv)
{
	struct oci_globals g = { .root = VS_OCI_DEFAULT_ROOT };
	const char *log_path = NULL, *xdg = getenv("XDG_RUNTIME_DIR");
	char user_root[4096];
	int next;
	signal(SIGPIPE, SIG_IGN);
	/* An unprivileged user cannot write /run/vessel: like runc, default to
	 * the user's runtime directory (rootless podman passes no --root). */
	if (xdg && xdg[0] == '/' && vs_idmap_rootless() &&
	    snprintf(user_root, sizeof(user_root), "%s/vessel", xdg) < (int)sizeof(user_root))
		g.root = user_root;
	vs_log_set_sink(&oci_sink);
	if (parse_globals(argc, argv, &g, &log_path, &next) < 0)
		return 1;
	/* Opened once, before any chdir or pivot_root, so a relative path
	 * means what it meant to conmon. The container init drops the sink
	 * (and with it this fd) when it closes inherited fds. */
	if (log_path) {
		oci_log.fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (oci_log.fd < 0) {
			oci_error(&g, "--log `%s`: %s", log_path, strerror(errno));
			return 1;
		}
	}
	if (next >= argc) {
		fputs(usage, stderr);
		return 1;
	}
	if (strcmp(argv[next], "help") == 0) {
		if (next + 1 >= argc) {
			fputs(usage, stdout);
			return 0;
		}
		if (oci_help_print(argv[next + 1], stdout) == 0)
			return 0;
		oci_error(&g, "help: unknown command `%s`; see `vessel-oci --help`", argv[next + 1]);
		return 1;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[next], commands[i].name) != 0)
			continue;
		if (oci_wants_help(argc - next, argv + next)) {
			oci_help_print(argv[next], stdout);
			return 0;
		}
		/* A `vessel ct run` killed with SIGKILL leaves state and
		 * cgroups behind (container/reap.c): the next command on this
		 * host removes them, whatever it is. Only the ct root holds
		 * containers with a runner (vessel-oci's own `run` records
		 * none: like runc's, its container outlives it), so --root is
		 * not scanned on every call. */
		vs_debug("%s (root %s)", argv[next], g.root);
		if (commands[i].fn != oci_features && commands[i].fn != oci_spec)
			vs_container_reap_orphans(VS_CT_ROOT);
		return commands[i].fn(&g, argc - next, argv + next);
	}
	oci_error(&g, "unknown command `%s`; see `vessel-oci --help`", argv[next]);
	return 1;
}
