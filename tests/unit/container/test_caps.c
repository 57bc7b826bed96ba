/* Capabilities: the name table, cap_last_cap, and vs_caps_apply checked
 * against /proc/self/status in forked children (the test process keeps
 * its own capabilities). Also the default capability set and paths. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "container/caps.h"
#include "container/defaults.h"

struct child_report {
	int rc; /* what the call under test returned */
	char msg[VS_ERROR_MSG_MAX];
	bool have_status;
	uint64_t inh, prm, eff, bnd, amb;
	int no_new_privs;
	unsigned uid;
};

/* Read the capability lines and NoNewPrivs of /proc/self/status. */
static bool read_status(struct child_report *r)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int found = 0;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		int n;
		if (sscanf(line, "CapInh: %llx", &v) == 1)
			r->inh = v, found++;
		else if (sscanf(line, "CapPrm: %llx", &v) == 1)
			r->prm = v, found++;
		else if (sscanf(line, "CapEff: %llx", &v) == 1)
			r->eff = v, found++;
		else if (sscanf(line, "CapBnd: %llx", &v) == 1)
			r->bnd = v, found++;
		else if (sscanf(line, "CapAmb: %llx", &v) == 1)
			r->amb = v, found++;
		else if (sscanf(line, "NoNewPrivs: %d", &n) == 1)
			r->no_new_privs = n, found++;
	}
	fclose(f);
	return found == 6;
}

/* Run fn in a forked child and bring back its report; false if the child
 * died or reported nothing. */
static bool in_child(void (*fn)(const void *arg, struct child_report *r), const void *arg,
		     struct child_report *out)
{
	int p[2];
	if (pipe(p) < 0)
		return false;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		struct child_report r;
		memset(&r, 0, sizeof(r));
		close(p[0]);
		fn(arg, &r);
		r.have_status = read_status(&r);
		r.uid = (unsigned)getuid();
		ssize_t n = write(p[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	memset(out, 0, sizeof(*out));
	ssize_t n = read(p[0], out, sizeof(*out));
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return n == (ssize_t)sizeof(*out) && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static bool privileged(void)
{
	return geteuid() == 0 && prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) == 1;
}

static uint64_t known_caps(void)
{
	int last = vs_caps_last_supported();
	return last >= 63 ? UINT64_MAX : VS_CAP_BIT(last + 1) - 1;
}

#define B(c) VS_CAP_BIT(CAP_##c)

TEST(name_table_round_trip)
{
	for (int i = 0; i <= VS_CAP_LAST_KNOWN; i++) {
		const char *name = vs_caps_name(i);
		CHECK(name != NULL);
		if (name) {
			CHECK(strncmp(name, "CAP_", 4) == 0);
			CHECK_EQ_U64(vs_caps_from_name(name), i);
		}
	}
	CHECK_EQ_U64(vs_caps_from_name("CAP_CHOWN"), 0);
	CHECK_EQ_U64(vs_caps_from_name("CAP_NET_BIND_SERVICE"), 10);
	CHECK_EQ_U64(vs_caps_from_name("CAP_SYS_ADMIN"), 21);
	CHECK_EQ_U64(vs_caps_from_name("CAP_AUDIT_READ"), 37);
	CHECK_EQ_U64(vs_caps_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	CHECK_STREQ(vs_caps_name(24), "CAP_SYS_RESOURCE");
	CHECK_STREQ(vs_caps_name(39), "CAP_BPF");
}

TEST(name_table_rejects_unknown)
{
	CHECK(vs_caps_from_name("CAP_FOO") == -1);
	CHECK(vs_caps_from_name("SYS_ADMIN") == -1); /* prefix required */
	CHECK(vs_caps_from_name("cap_sys_admin") == -1);
	CHECK(vs_caps_from_name("CAP_SYS_ADMIN ") == -1);
	CHECK(vs_caps_from_name("CAP_") == -1);
	CHECK(vs_caps_from_name("") == -1);
	CHECK(vs_caps_from_name(NULL) == -1);
	CHECK(vs_caps_name(-1) == NULL);
	CHECK(vs_caps_name(41) == NULL);
}

TEST(last_supported_matches_proc)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int expect = -1;
	if (!f)
		SKIP("no /proc/sys/kernel/cap_last_cap");
	if (fscanf(f, "%d", &expect) != 1)
		expect = -1;
	fclose(f);
	CHECK(expect >= 0);
	CHECK_EQ_U64(vs_caps_last_supported(), expect);
	/* The kernel agrees: the last one is readable, the next is not. */
	CHECK(prctl(PR_CAPBSET_READ, vs_caps_last_supported(), 0, 0, 0) >= 0);
	CHECK(prctl(PR_CAPBSET_READ, vs_caps_last_supported() + 1, 0, 0, 0) < 0);
}

static void apply_child(const void *arg, struct child_report *r)
{
	struct vs_error err = { 0 };
	r->rc = vs_caps_apply(arg, &err);
	memcpy(r->msg, err.msg, sizeof(r->msg));
}

TEST(apply_reduced_set)
{
	if (!privileged())
		SKIP("needs root with CAP_SETPCAP");
	struct vs_spec_caps c = { .bounding = B(CHOWN) | B(DAC_OVERRIDE) | B(KILL) | B(NET_BIND_SERVICE) |
					      B(SETUID) | B(SETGID),
				  .permitted = B(CHOWN) | B(KILL) | B(NET_BIND_SERVICE) | B(SETUID),
				  .effective = B(CHOWN) | B(KILL),
				  .inheritable = B(KILL) | B(NET_BIND_SERVICE),
				  .ambient = B(NET_BIND_SERVICE) };
	struct child_report r;
	CHECK(in_child(apply_child, &c, &r));
	CHECK_EQ_U64(r.rc, 0);
	if (r.rc)
		printf("#   error: %s\n", r.msg);
	CHECK(r.have_status);
	CHECK_EQ_U64(r.bnd, c.bounding);
	CHECK_EQ_U64(r.prm, c.permitted);
	CHECK_EQ_U64(r.eff, c.effective);
	CHECK_EQ_U64(r.inh, c.inheritable);
	CHECK_EQ_U64(r.amb, c.ambient);
}

TEST(apply_empty_set_drops_everything)
{
	if (!privileged())
		SKIP("needs root with CAP_SETPCAP");
	struct vs_spec_caps c = { 0 };
	struct child_report r;
	CHECK(in_child(apply_child, &c, &r));
	CHECK_EQ_U64(r.rc, 0);
	CHECK_EQ_U64(r.bnd, 0);
	CHECK_EQ_U64(r.prm, 0);
	CHECK_EQ_U64(r.eff, 0);
	CHECK_EQ_U64(r.inh, 0);
	CHECK_EQ_U64(r.amb, 0);
}

/* The runtime's order: keep caps across setuid to a non-root user, which
 * clears the effective set, then apply. */
static void apply_after_setuid_child(const void *arg, struct child_report *r)
{
	struct vs_error err = { 0 };
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
		r->rc = -100;
		return;
	}
	r->rc = vs_caps_apply(arg, &err);
	memcpy(r->msg, err.msg, sizeof(r->msg));
}

TEST(apply_after_setuid_with_keepcaps)
{
	if (!privileged())
		SKIP("needs root with CAP_SETPCAP");
	struct vs_spec_caps c = { .bounding = B(CHOWN) | B(KILL) | B(NET_BIND_SERVICE),
				  .permitted = B(CHOWN) | B(KILL) | B(NET_BIND_SERVICE),
				  .effective = B(CHOWN) | B(NET_BIND_SERVICE),
				  .inheritable = B(NET_BIND_SERVICE),
				  .ambient = B(NET_BIND_SERVICE) };
	struct child_report r;
	CHECK(in_child(apply_after_setuid_child, &c, &r));
	CHECK_EQ_U64(r.rc, 0);
	CHECK_EQ_U64(r.uid, 65534);
	if (r.rc)
		printf("#   error: %s\n", r.msg);
	CHECK_EQ_U64(r.bnd, c.bounding);
	CHECK_EQ_U64(r.prm, c.permitted);
	CHECK_EQ_U64(r.eff, c.effective);
	CHECK_EQ_U64(r.inh, c.inheritable);
	CHECK_EQ_U64(r.amb, c.ambient);
}

TEST(apply_ignores_caps_the_kernel_lacks)
{
	if (!privileged())
		SKIP("needs root with CAP_SETPCAP");
	if (vs_caps_last_supported() >= 62)
		SKIP("kernel knows capability 62");
	uint64_t future = VS_CAP_BIT(62) | VS_CAP_BIT(63);
	struct vs_spec_caps c = { .bounding = B(CHOWN) | B(KILL) | future,
				  .permitted = B(CHOWN) | future,
				  .effective = B(CHOWN) | future,
				  .inheritable = future,
				  .ambient = future };
	struct child_report r;
	CHECK(in_child(apply_child, &c, &r));
	CHECK_EQ_U64(r.rc, 0);
	if (r.rc)
		printf("#   error: %s\n", r.msg);
	CHECK_EQ_U64(r.bnd, B(CHOWN) | B(KILL));
	CHECK_EQ_U64(r.prm, B(CHOWN));
	CHECK_EQ_U64(r.eff, B(CHOWN));
	CHECK_EQ_U64(r.inh, 0);
	CHECK_EQ_U64(r.amb, 0);
	CHECK_EQ_U64(r.bnd & ~known_caps(), 0);
}

/* As runc does: an ambient capability that is not both permitted and
 * inheritable cannot be raised, so it is skipped (runc spec's own default
 * config asks for such ones) while the rest is applied. */
TEST(ambient_needs_permitted_and_inheritable)
{
	if (!privileged())
		SKIP("needs root with CAP_SETPCAP");
	struct child_report r;
	/* In permitted but not inheritable: skipped. */
	struct vs_spec_caps c = { .bounding = B(NET_BIND_SERVICE) | B(KILL),
				  .permitted = B(NET_BIND_SERVICE) | B(KILL),
				  .effective = B(NET_BIND_SERVICE),
				  .inheritable = B(KILL),
				  .ambient = B(NET_BIND_SERVICE) | B(KILL) };
	CHECK(in_child(apply_child, &c, &r));
	CHECK(r.rc == 0);
	CHECK_EQ_U64(r.amb, B(KILL));
	CHECK_EQ_U64(r.bnd, c.bounding);

	/* In inheritable but not permitted: skipped too. */
	c.inheritable = B(KILL) | B(NET_BIND_SERVICE);
	c.permitted = B(NET_BIND_SERVICE);
	c.effective = 0;
	c.ambient = B(KILL);
	CHECK(in_child(apply_child, &c, &r));
	CHECK(r.rc == 0);
	CHECK_EQ_U64(r.amb, 0);
	CHECK_EQ_U64(r.prm, B(NET_BIND_SERVICE));
}

TEST(apply_refuses_inconsistent_sets_by_name)
{
	if (!privileged())
		SKIP("needs root with CAP_SETPCAP");
	struct child_report r;
	struct vs_spec_caps c = { .bounding = B(CHOWN) | B(KILL),
				  .permitted = B(CHOWN),
				  .effective = B(CHOWN) | B(KILL) };
	CHECK(in_child(apply_child, &c, &r));
	CHECK(r.rc == -1);
	CHECK(strstr(r.msg, "effective CAP_KILL is not in the permitted set") != NULL);

	c = (struct vs_spec_caps){ .bounding = B(CHOWN), .permitted = B(CHOWN), .inheritable = B(MKNOD) };
	CHECK(in_child(apply_child, &c, &r));
	CHECK(r.rc == -1);
	CHECK(strstr(r.msg, "inheritable CAP_MKNOD is not in the bounding set") != NULL);
}

/* First shed CAP_SYS_TIME, then ask for it back. */
static void regain_child(const void *arg, struct child_report *r)
{
	struct vs_error err = { 0 };
	struct vs_spec_caps first = { .bounding = B(CHOWN) | B(SETPCAP),
				      .permitted = B(CHOWN) | B(SETPCAP),
				      .effective = B(CHOWN) | B(SETPCAP) };
	(void)arg;
	if (vs_caps_apply(&first, &err) < 0) {
		r->rc = -100;
		memcpy(r->msg, err.msg, sizeof(r->msg));
		return;
	}
	struct vs_spec_caps again = { .bounding = B(CHOWN) | B(SYS_TIME),
				      .permitted = B(CHOWN) | B(SYS_TIME) };
	r->rc = vs_caps_apply(&again, &err);
	memcpy(r->msg, err.msg, sizeof(r->msg));
}

TEST(apply_names_a_capability_the_runtime_lacks)
{
	if (!privileged())
		SKIP("needs root with CAP_SETPCAP");
	struct child_report r;
	CHECK(in_child(regain_child, NULL, &r));
	CHECK(r.rc == -1);
	CHECK(strstr(r.msg, "CAP_SYS_TIME") != NULL);
	CHECK(strstr(r.msg, "does not hold") != NULL);
	CHECK_EQ_U64(r.prm, B(CHOWN) | B(SETPCAP)); /* unchanged by the refused call */
}

static void nnp_child(const void *arg, struct child_report *r)
{
	struct vs_error err = { 0 };
	r->rc = vs_caps_apply_no_new_privs(*(const bool *)arg, &err);
}

TEST(no_new_privs_helper)
{
	struct child_report r;
	bool on = true, off = false;
	CHECK(in_child(nnp_child, &off, &r));
	CHECK_EQ_U64(r.rc, 0);
	CHECK_EQ_U64(r.no_new_privs, 0);
	CHECK(in_child(nnp_child, &on, &r));
	CHECK_EQ_U64(r.rc, 0);
	CHECK_EQ_U64(r.no_new_privs, 1);
}

TEST(default_caps_are_podmans)
{
	static const char *const expect[] = { "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FOWNER",
					      "CAP_FSETID",  "CAP_KILL",	 "CAP_NET_BIND_SERVICE",
					      "CAP_SETFCAP", "CAP_SETGID",	 "CAP_SETPCAP",
					      "CAP_SETUID",  "CAP_SYS_CHROOT" };
	uint64_t mask = 0;
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		mask |= VS_CAP_BIT(vs_caps_from_name(expect[i]));
	CHECK_EQ_U64(vs_defaults_caps(), mask);
	CHECK_EQ_U64(__builtin_popcountll(vs_defaults_caps()), 11);
	CHECK((vs_defaults_caps() & (B(SYS_ADMIN) | B(NET_RAW) | B(MKNOD) | B(AUDIT_WRITE))) == 0);
}

static bool in_list(const char *const *list, const char *path)
{
	for (; *list; list++)
		if (strcmp(*list, path) == 0)
			return true;
	return false;
}

TEST(default_paths)
{
	const char *const *masked = vs_defaults_masked_paths();
	const char *const *ro = vs_defaults_readonly_paths();
	static const char *const want_masked[] = {
		"/proc/acpi",	    "/proc/kcore",	 "/proc/keys",	      "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware",    "/sys/fs/selinux",	 "/sys/dev/block"
	};
	static const char *const want_ro[] = { "/proc/asound", "/proc/bus", "/proc/fs",
					       "/proc/irq",    "/proc/sys", "/proc/sysrq-trigger" };
	for (size_t i = 0; i < sizeof(want_masked) / sizeof(want_masked[0]); i++)
		CHECK(in_list(masked, want_masked[i]));
	for (size_t i = 0; i < sizeof(want_ro) / sizeof(want_ro[0]); i++)
		CHECK(in_list(ro, want_ro[i]));
	for (const char *const *p = masked; *p; p++) {
		CHECK((*p)[0] == '/');
		CHECK(!in_list(ro, *p)); /* a path is either masked or read-only */
	}
	for (const char *const *p = ro; *p; p++)
		CHECK((*p)[0] == '/');
}

VS_TAP_MAIN(TAP_CASE(name_table_round_trip), TAP_CASE(name_table_rejects_unknown),
	    TAP_CASE(last_supported_matches_proc), TAP_CASE(apply_reduced_set),
	    TAP_CASE(apply_empty_set_drops_everything), TAP_CASE(apply_after_setuid_with_keepcaps),
	    TAP_CASE(apply_ignores_caps_the_kernel_lacks), TAP_CASE(ambient_needs_permitted_and_inheritable),
	    TAP_CASE(apply_refuses_inconsistent_sets_by_name),
	    TAP_CASE(apply_names_a_capability_the_runtime_lacks), TAP_CASE(no_new_privs_helper),
	    TAP_CASE(default_caps_are_podmans), TAP_CASE(default_paths))
