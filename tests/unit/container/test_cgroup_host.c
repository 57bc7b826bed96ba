/* cgroups on the host's real cgroupfs: create, limits read back from the
 * kernel, processes, freezer, kill, device control, removal. Needs root
 * and a writable /sys/fs/cgroup; skipped otherwise. Cgroups are made
 * relative to this test's own cgroup, under names unique to the run. */
#include "container/cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "util/cleanup.h"

static const struct vs_cgroup_env host = { "/sys/fs/cgroup", "/proc/self/mountinfo", "/proc/self/cgroup" };

static const char *get(const char *dir, const char *file)
{
	static char buf[4096];
	struct vs_error err = { 0 };
	if (vs_cgroup_read(dir, file, buf, sizeof(buf), &err) < 0)
		snprintf(buf, sizeof(buf), "<%s>", err.msg);
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Whether `pid` is a line of dir/cgroup.procs. */
static bool lists_pid(const char *dir, pid_t pid)
{
	char path[4096], line[32];
	bool found = false;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= atoi(line) == pid;
	fclose(f);
	return found;
}

/* Create a cgroup under a unique name, or explain why the host cannot. */
static struct vs_cgroup *make(const char *tag, const char **skip)
{
	static char why[600];
	char name[128];
	struct vs_error err = { 0 };
	struct vs_cgroup *cg = NULL;
	*skip = NULL;
	if (geteuid() != 0) {
		*skip = "needs root";
		return NULL;
	}
	if (strcmp(vs_cgroup_layout_name(), "none") == 0) {
		*skip = "no cgroup filesystem at /sys/fs/cgroup";
		return NULL;
	}
	snprintf(name, sizeof(name), "vessel-test-%d-%s", (int)getpid(), tag);
	if (vs_cgroup_create(name, "unused", &cg, &err) < 0) {
		snprintf(why, sizeof(why), "/sys/fs/cgroup is not writable here: %s", err.msg);
		*skip = why;
		return NULL;
	}
	return cg;
}

static void gone_everywhere(int *failed_, struct vs_cgroup *cg)
{
	const struct vs_cgroup_hierarchy *h;
	size_t n = vs_cgroup_hierarchies(cg, &h);
	for (size_t i = 0; i < n; i++) {
		if (exists(h[i].dir)) {
			printf("#   left behind: %s\n", h[i].dir);
			*failed_ = 1;
		}
	}
}

/* A child that waits for a byte on a pipe, then runs `after` (NULL:
 * sleeps until killed) and exits with its result. */
struct child {
	pid_t pid;
	int go;
};

static int spawn(struct child *c, int (*after)(void))
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		char b;
		close(p[1]);
		if (read(p[0], &b, 1) != 1)
			_exit(99);
		if (!after)
			for (;;)
				pause();
		_exit(after());
	}
	close(p[0]);
	c->go = p[1];
	return 0;
}

/* waitpid with a deadline: a broken freezer or kill must fail the test,
 * not hang it. Thaws by hand (not through the code under test). */
static bool wait_exit(struct vs_cgroup *cg, pid_t pid, int *status)
{
	struct vs_error err = { 0 };
	for (int i = 0; i < 300; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		usleep(10000);
	}
	printf("#   process %d did not exit\n", (int)pid);
	const char *freezer = vs_cgroup_dir_for(cg, VS_CG_FREEZER),
		   *v2 = vs_cgroup_dir_for(cg, VS_CG_UNIFIED);
	if (freezer)
		vs_cgroup_write(freezer, "freezer.state", "THAWED", &err);
	if (v2)
		vs_cgroup_write_opt(v2, "cgroup.freeze", "0", &err);
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	*status = -1;
	return false;
}

static int run_child(struct vs_cgroup *cg, struct child *c)
{
	int status;
	if (write(c->go, "g", 1) != 1)
		return -1;
	close(c->go);
	if (!wait_exit(cg, c->pid, &status))
		return -1;
	return status;
}

static void reap(struct child *c)
{
	kill(c->pid, SIGKILL);
	close(c->go);
	waitpid(c->pid, NULL, 0);
}

TEST(life_cycle)
{
	const char *skip;
	struct vs_cgroup *cg = make("life", &skip);
	struct vs_error err = { 0 };
	struct vs_cgroup_layout layout;
	if (!cg)
		SKIP(skip);
	const struct vs_cgroup_hierarchy *h;
	size_t n = vs_cgroup_hierarchies(cg, &h);
	CHECK(vs_cgroup_layout_detect(&host, &layout, &err) == 0);
	CHECK_EQ_U64(n, layout.count);
	CHECK(strcmp(vs_cgroup_manager_name(cg), vs_cgroup_layout_name()) == 0);
	vs_cgroup_layout_free(&layout);
	for (size_t i = 0; i < n; i++)
		CHECK(exists(h[i].dir));
	const char *cpuset = vs_cgroup_dir_for(cg, VS_CG_CPUSET);
	bool v2 = cg->kind == VS_CGROUP_V2;
	if (cpuset && !v2)
		CHECK(get(cpuset, "cpuset.cpus")[0] != '\0'); /* copied, or no task could join */

	struct vs_spec_resources r = { 0 };
	r.has_memory_limit = true;
	r.memory_limit = 64 << 20;
	r.has_pids_limit = true;
	r.pids_limit = 50;
	r.has_cpu_quota = r.has_cpu_period = r.has_cpu_shares = true;
	r.cpu_quota = 50000;
	r.cpu_period = 100000;
	r.cpu_shares = 512;
	r.cpu_cpus = "0";
	r.cpu_mems = "0";
	CHECK(vs_cgroup_apply(cg, &r, &err) == 0);
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	const char *mem = vs_cgroup_dir_for(cg, VS_CG_MEMORY | VS_CG_UNIFIED);
	const char *cpu = vs_cgroup_dir_for(cg, VS_CG_CPU | VS_CG_UNIFIED);
	const char *pids = vs_cgroup_dir_for(cg, VS_CG_PIDS | VS_CG_UNIFIED);
	if (v2) {
		CHECK(strcmp(get(mem, "memory.max"), "67108864") == 0);
		CHECK(strcmp(get(cpu, "cpu.max"), "50000 100000") == 0);
		CHECK(strcmp(get(cpu, "cpu.weight"), "20") == 0);
		CHECK(strcmp(get(cpu, "cpuset.cpus"), "0") == 0);
	} else {
		CHECK(strcmp(get(mem, "memory.limit_in_bytes"), "67108864") == 0);
		CHECK(strcmp(get(cpu, "cpu.cfs_quota_us"), "50000") == 0);
		CHECK(strcmp(get(cpu, "cpu.cfs_period_us"), "100000") == 0);
		CHECK(strcmp(get(cpu, "cpu.shares"), "512") == 0);
		CHECK(cpuset && strcmp(get(cpuset, "cpuset.cpus"), "0") == 0);
		CHECK(cpuset && strcmp(get(cpuset, "cpuset.mems"), "0") == 0);
	}
	CHECK(strcmp(get(pids, "pids.max"), "50") == 0);
	/* Idempotent, as `update` needs. */
	CHECK(vs_cgroup_apply(cg, &r, &err) == 0);
	if (!v2 && get(mem, "memory.memsw.limit_in_bytes")[0] != '<') {
		/* v1 keeps memsw >= limit at every step: raising both needs
		 * memsw first, lowering both needs the limit first. */
		struct vs_spec_resources m = { 0 };
		m.has_memory_limit = m.has_memory_swap = true;
		m.memory_limit = 64 << 20;
		m.memory_swap = 128 << 20;
		CHECK(vs_cgroup_apply(cg, &m, &err) == 0);
		m.memory_limit = 256 << 20;
		m.memory_swap = 512 << 20;
		CHECK(vs_cgroup_apply(cg, &m, &err) == 0);
		CHECK(strcmp(get(mem, "memory.limit_in_bytes"), "268435456") == 0);
		CHECK(strcmp(get(mem, "memory.memsw.limit_in_bytes"), "536870912") == 0);
		m.memory_limit = 32 << 20;
		m.memory_swap = 48 << 20;
		CHECK(vs_cgroup_apply(cg, &m, &err) == 0);
		CHECK(strcmp(get(mem, "memory.limit_in_bytes"), "33554432") == 0);
		CHECK(strcmp(get(mem, "memory.memsw.limit_in_bytes"), "50331648") == 0);
		if (err.msg[0])
			printf("#   %s\n", err.msg);
	}

	struct child c;
	CHECK(spawn(&c, NULL) == 0);
	CHECK(vs_cgroup_enter(cg, c.pid, &err) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(lists_pid(h[i].dir, c.pid));
	pid_t *list = NULL;
	size_t count = 0;
	CHECK(vs_cgroup_pids(cg, &list, &count, &err) == 0);
	CHECK(count == 1 && list && list[0] == c.pid);
	free(list);

	bool frozen = true;
	CHECK(vs_cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);
	CHECK(vs_cgroup_freeze(cg, true, &err) == 0);
	CHECK(vs_cgroup_is_frozen(cg, &frozen, &err) == 0 && frozen);
	const char *freezer = vs_cgroup_dir_for(cg, VS_CG_FREEZER);
	if (freezer)
		CHECK(strcmp(get(freezer, "freezer.state"), "FROZEN") == 0);
	else
		CHECK(strstr(get(vs_cgroup_dir_for(cg, VS_CG_UNIFIED), "cgroup.events"), "frozen 1") != NULL);
	CHECK(vs_cgroup_freeze(cg, false, &err) == 0);
	CHECK(vs_cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);
	if (freezer)
		CHECK(strcmp(get(freezer, "freezer.state"), "THAWED") == 0);

	/* Killing a paused container kills it. */
	CHECK(vs_cgroup_freeze(cg, true, &err) == 0);
	CHECK(vs_cgroup_kill_all(cg, SIGKILL, &err) == 0);
	int status = 0;
	CHECK(wait_exit(cg, c.pid, &status));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(c.go);

	CHECK(vs_cgroup_destroy(cg, &err) == 0);
	gone_everywhere(failed_, cg);
	vs_cgroup_free(cg);
}

TEST(sub_cgroups_and_signals)
{
	const char *skip;
	struct vs_cgroup *cg = make("sub", &skip);
	struct vs_error err = { 0 };
	char sub[4096];
	if (!cg)
		SKIP(skip);
	const struct vs_cgroup_hierarchy *h;
	size_t n = vs_cgroup_hierarchies(cg, &h);
	struct child c;
	CHECK(spawn(&c, NULL) == 0);
	CHECK(vs_cgroup_enter(cg, c.pid, &err) == 0);
	/* The container made a cgroup of its own and moved into it. */
	for (size_t i = 0; i < n; i++) {
		char pid[16];
		snprintf(sub, sizeof(sub), "%s/sub", h[i].dir);
		snprintf(pid, sizeof(pid), "%d", (int)c.pid);
		CHECK(mkdir(sub, 0755) == 0);
		if (cg->controllers[i] & VS_CG_CPUSET)
			CHECK(vs_cgroup_v1_fill_cpuset(sub, &err) == 0);
		CHECK(vs_cgroup_write(sub, "cgroup.procs", pid, &err) == 0);
	}
	pid_t *list = NULL;
	size_t count = 0;
	CHECK(vs_cgroup_pids(cg, &list, &count, &err) == 0);
	CHECK(count == 1 && list && list[0] == c.pid);
	free(list);

	/* A paused container stays paused when signalled... */
	CHECK(vs_cgroup_freeze(cg, true, &err) == 0);
	CHECK(vs_cgroup_kill_all(cg, SIGUSR1, &err) == 0);
	bool frozen = false;
	CHECK(vs_cgroup_is_frozen(cg, &frozen, &err) == 0 && frozen);
	usleep(20000);
	CHECK(waitpid(c.pid, NULL, WNOHANG) == 0);
	/* ...and takes the signal once thawed. */
	CHECK(vs_cgroup_freeze(cg, false, &err) == 0);
	int status = 0;
	CHECK(wait_exit(cg, c.pid, &status));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1);
	close(c.go);

	CHECK(vs_cgroup_destroy(cg, &err) == 0);
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	gone_everywhere(failed_, cg);
	vs_cgroup_free(cg);
}

TEST(bad_values_leave_nothing)
{
	const char *skip;
	struct vs_cgroup *cg = make("bad", &skip);
	struct vs_error err = { 0 };
	if (!cg)
		SKIP(skip);
	struct vs_spec_resources r = { 0 };
	r.cpu_cpus = "999";
	CHECK(vs_cgroup_apply(cg, &r, &err) == -1);
	printf("#   %s\n", err.msg);
	CHECK(strstr(err.msg, "cpuset.cpus: writing 999: ") != NULL);
	memset(&r, 0, sizeof(r));
	r.has_cpu_period = true;
	r.cpu_period = 10; /* below the kernel's 1 ms minimum */
	CHECK(vs_cgroup_apply(cg, &r, &err) == -1);
	printf("#   %s\n", err.msg);
	CHECK(strstr(err.msg, ": writing 10: Invalid argument") != NULL);
	CHECK(vs_cgroup_destroy(cg, &err) == 0);
	gone_everywhere(failed_, cg);
	vs_cgroup_free(cg);
}

TEST(serialized_reopen_destroys)
{
	const char *skip;
	struct vs_cgroup *cg = make("reopen", &skip), *back = NULL;
	struct vs_error err = { 0 };
	if (!cg)
		SKIP(skip);
	char *s = vs_cgroup_serialize(cg);
	CHECK(s && vs_cgroup_open(s, &back, &err) == 0);
	if (back) {
		CHECK(strcmp(vs_cgroup_manager_name(back), vs_cgroup_manager_name(cg)) == 0);
		CHECK(vs_cgroup_destroy(back, &err) == 0);
		vs_cgroup_free(back);
	}
	free(s);
	gone_everywhere(failed_, cg);
	vs_cgroup_destroy(cg, &err);
	vs_cgroup_free(cg);
}

TEST(hugetlb_and_unified)
{
	const char *skip;
	struct vs_cgroup *cg = make("v2files", &skip);
	struct vs_error err = { 0 };
	if (!cg)
		SKIP(skip);
	const char *v1 = vs_cgroup_dir_for(cg, VS_CG_HUGETLB);
	const char *v2 = vs_cgroup_dir_for(cg, VS_CG_UNIFIED);
	struct vs_spec_resources r = { 0 };
	struct vs_spec_hugepage_limit hp = { "2MB", 4194304 };
	if (exists("/sys/kernel/mm/hugepages/hugepages-2048kB")) {
		r.hugepage_limits = &hp;
		r.hugepage_limits_count = 1;
		/* On hybrid hosts vessel does not enable controllers in the v2
		 * tree: hugetlb works there only if the admin enabled it. */
		bool v2_has = v2 && exists("/sys/fs/cgroup/unified/cgroup.subtree_control") &&
			      strstr(get("/sys/fs/cgroup/unified", "cgroup.subtree_control"), "hugetlb");
		if (cg->kind == VS_CGROUP_V2)
			v2_has = strstr(get(v2, "cgroup.controllers"), "hugetlb") != NULL;
		int rc = vs_cgroup_apply(cg, &r, &err);
		if (v1) {
			CHECK(rc == 0 && strcmp(get(v1, "hugetlb.2MB.limit_in_bytes"), "4194304") == 0);
		} else if (v2_has) {
			CHECK(rc == 0 && strcmp(get(v2, "hugetlb.2MB.max"), "4194304") == 0);
		} else {
			CHECK(rc == -1 && strstr(err.msg, "hugetlb") != NULL &&
			      strstr(err.msg, "subtree_control"));
		}
		if (rc < 0)
			printf("#   %s\n", err.msg);
	}
	memset(&r, 0, sizeof(r));
	char *keys[] = { "cgroup.max.descendants", NULL }, *values[] = { "7", NULL };
	r.unified_keys.v = keys;
	r.unified_keys.count = 1;
	r.unified_values.v = values;
	r.unified_values.count = 1;
	int rc = vs_cgroup_apply(cg, &r, &err);
	if (v2)
		CHECK(rc == 0 && strcmp(get(v2, "cgroup.max.descendants"), "7") == 0);
	else
		CHECK(rc == -1 && strstr(err.msg, "cgroup v1") != NULL);
	CHECK(vs_cgroup_destroy(cg, &err) == 0);
	gone_everywhere(failed_, cg);
	vs_cgroup_free(cg);
}

/* Bits of the child's exit status: which opens succeeded. */
static int try_opens(void)
{
	static const struct {
		const char *path;
		int flags;
	} tries[] = { { "/dev/null", O_RDWR },
		      { "/dev/zero", O_RDONLY },
		      { "/dev/zero", O_RDWR },
		      { "/dev/full", O_RDWR } };
	int bits = 0;
	for (size_t i = 0; i < VS_ARRAY_SIZE(tries); i++) {
		int fd = open(tries[i].path, tries[i].flags);
		if (fd >= 0) {
			bits |= 1 << i;
			close(fd);
		} else if (errno != EPERM) {
			bits |= 0x40;
		}
	}
	return bits;
}

/* The exit status of a child that entered `cg` and tried the opens. */
static int opens_in(struct vs_cgroup *cg)
{
	struct child c;
	struct vs_error err = { 0 };
	if (spawn(&c, try_opens) < 0)
		return -1;
	if (vs_cgroup_enter(cg, c.pid, &err) < 0) {
		printf("#   %s\n", err.msg);
		reap(&c);
		return -1;
	}
	int status = run_child(cg, &c);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(devices_v1)
{
	const char *skip;
	struct vs_cgroup *cg = make("dev1", &skip);
	struct vs_error err = { 0 };
	if (!cg)
		SKIP(skip);
	const char *dev = vs_cgroup_dir_for(cg, VS_CG_DEVICES);
	if (!dev) {
		vs_cgroup_destroy(cg, &err);
		vs_cgroup_free(cg);
		SKIP("no v1 devices hierarchy");
	}
	struct vs_spec_device_rule rules[] = { { false, 'a', -1, -1, "rwm" },
					       { true, 'c', 1, 3, "rw" },
					       { true, 'c', 1, 5, "r" } };
	struct vs_spec_resources r = { 0 };
	r.devices = rules;
	r.devices_count = 3;
	CHECK(vs_cgroup_apply(cg, &r, &err) == 0);
	CHECK(strcmp(get(dev, "devices.list"), "c 1:3 rw\nc 1:5 r") == 0);
	CHECK_EQ_U64(opens_in(cg), 0x3); /* null rw, zero r; not zero rw, not full */
	CHECK(vs_cgroup_destroy(cg, &err) == 0);
	gone_everywhere(failed_, cg);
	vs_cgroup_free(cg);
}

TEST(devices_bpf)
{
	const char *skip;
	struct vs_cgroup *cg = make("bpf", &skip);
	struct vs_error err = { 0 };
	if (!cg)
		SKIP(skip);
	const char *v2 = vs_cgroup_dir_for(cg, VS_CG_UNIFIED);
	if (!v2) {
		vs_cgroup_destroy(cg, &err);
		vs_cgroup_free(cg);
		SKIP("no cgroup v2 tree on this host");
	}
	struct vs_spec_device_rule first[] = { { false, 'a', -1, -1, "rwm" },
					       { true, 'c', 1, 3, "rw" },
					       { true, 'c', 1, 5, "r" },
					       { true, 'c', 1, 7, "rw" },
					       { false, 'c', 1, 7, "w" } };
	if (vs_cgroup_bpf_devices(v2, first, VS_ARRAY_SIZE(first), &err) < 0 &&
	    (err.code == EPERM || err.code == ENOSYS)) {
		vs_cgroup_destroy(cg, &err);
		vs_cgroup_free(cg);
		SKIP("BPF is not available to this process");
	}
	CHECK(err.msg[0] == '\0');
	/* null rw, zero r only, full denied by the later "deny w" */
	CHECK_EQ_U64(opens_in(cg), 0x3);
	/* Replacing the program: the old rules must be gone. */
	struct vs_spec_device_rule second[] = { { false, 'a', -1, -1, "rwm" },
						{ true, 'c', 1, -1, "r" },
						{ true, 'c', 1, 7, "w" } };
	CHECK(vs_cgroup_bpf_devices(v2, second, VS_ARRAY_SIZE(second), &err) == 0);
	CHECK_EQ_U64(opens_in(cg), 0xa); /* zero r, full rw (r from 1:*, w from 1:7) */
	/* No rule matching: allowed, like a fresh v1 cgroup. */
	struct vs_spec_device_rule third[] = { { false, 'b', -1, -1, "rwm" } };
	CHECK(vs_cgroup_bpf_devices(v2, third, 1, &err) == 0);
	CHECK_EQ_U64(opens_in(cg), 0xf);
	CHECK(vs_cgroup_destroy(cg, &err) == 0);
	gone_everywhere(failed_, cg);
	vs_cgroup_free(cg);
}

/* vs_cgroup_open_own names where a process is, so it can go back there
 * after entering another cgroup (what `vessel vm run` does before it
 * removes the VM's cgroup). Done by a child, which reports through its
 * exit status, so the test process never moves. */
static int own_round_trip(struct vs_cgroup *cg)
{
	struct vs_error err = { 0 };
	struct vs_cgroup *home = NULL;
	const struct vs_cgroup_hierarchy *h, *hh;
	size_t n, nh;
	if (vs_cgroup_open_own(&home, &err) < 0)
		return 10;
	n = vs_cgroup_hierarchies(cg, &h);
	nh = vs_cgroup_hierarchies(home, &hh);
	if (n != nh)
		return 11;
	for (size_t i = 0; i < nh; i++)
		if (!lists_pid(hh[i].dir, getpid()))
			return 12;
	if (vs_cgroup_enter(cg, getpid(), &err) < 0)
		return 13;
	for (size_t i = 0; i < n; i++)
		if (!lists_pid(h[i].dir, getpid()) || lists_pid(hh[i].dir, getpid()))
			return 14;
	if (vs_cgroup_enter(home, getpid(), &err) < 0)
		return 15;
	for (size_t i = 0; i < nh; i++)
		if (!lists_pid(hh[i].dir, getpid()) || lists_pid(h[i].dir, getpid()))
			return 16;
	vs_cgroup_free(home);
	return 0;
}

TEST(open_own_and_back)
{
	struct vs_error err = { 0 };
	const char *skip;
	struct vs_cgroup *cg = make("own", &skip);
	int status = -1;
	if (!cg)
		SKIP(skip);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(own_round_trip(cg));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ_U64(WEXITSTATUS(status), 0);
	CHECK(vs_cgroup_destroy(cg, &err) == 0);
	gone_everywhere(failed_, cg);
	vs_cgroup_free(cg);
}

VS_TAP_MAIN(TAP_CASE(life_cycle), TAP_CASE(sub_cgroups_and_signals), TAP_CASE(bad_values_leave_nothing),
	    TAP_CASE(serialized_reopen_destroys), TAP_CASE(hugetlb_and_unified), TAP_CASE(devices_v1),
	    TAP_CASE(devices_bpf), TAP_CASE(open_own_and_back))
