/* Seccomp: profiles compiled by vs_seccomp_load are exercised in forked
 * children (a filter cannot be removed); vs_seccomp_check's refusals;
 * the notify listener hand-off; the default profile. */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "container/caps.h"
#include "container/defaults.h"
#include "container/seccomp.h"

#define STRV(...)                                                           \
	(struct vs_strv)                                                    \
	{                                                                   \
		.v = (char *[]){ __VA_ARGS__, NULL },                       \
		.count = sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *) \
	}

/* What a child saw: up to 16 (return value, errno) pairs of the calls it
 * made after loading, and the load's own result. */
struct report {
	int load_rc;
	char msg[VS_ERROR_MSG_MAX];
	int n;
	long ret[16];
	int err[16];
	int no_new_privs;
};

static void record(struct report *r, long ret)
{
	if (r->n < 16) {
		r->ret[r->n] = ret;
		r->err[r->n] = ret < 0 ? errno : 0;
		r->n++;
	}
}

struct child_job {
	const struct vs_spec_seccomp *profile;
	bool no_new_privs;
	void (*calls)(struct report *r);
};

static int read_no_new_privs(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	int v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "NoNewPrivs: %d", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Fork, load the profile, run the calls, report back. Returns the raw
 * wait status; *r is filled when the child got as far as reporting. */
static int run_child(const struct child_job *job, struct report *r, bool *reported)
{
	int p[2];
	int st = -1;
	*reported = false;
	memset(r, 0, sizeof(*r));
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct report mine;
		struct vs_error err = { 0 };
		int fd = -1;
		memset(&mine, 0, sizeof(mine));
		close(p[0]);
		if (job->no_new_privs)
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		mine.load_rc = vs_seccomp_load(job->profile, &fd, &err);
		memcpy(mine.msg, err.msg, sizeof(mine.msg));
		mine.no_new_privs = read_no_new_privs();
		if (mine.load_rc == 0 && job->calls)
			job->calls(&mine);
		ssize_t n = write(p[1], &mine, sizeof(mine));
		_exit(n == (ssize_t)sizeof(mine) ? 0 : 1);
	}
	close(p[1]);
	*reported = read(p[0], r, sizeof(*r)) == (ssize_t)sizeof(*r);
	close(p[0]);
	waitpid(pid, &st, 0);
	return st;
}

/* The common case: the child loaded the profile, made its calls and
 * reported them. */
static bool loaded_and_ran(const struct vs_spec_seccomp *s, bool nnp, void (*calls)(struct report *r),
			   struct report *r)
{
	struct child_job job = { s, nnp, calls };
	bool reported;
	run_child(&job, r, &reported);
	if (reported && r->load_rc != 0)
		printf("#   load failed: %s\n", r->msg);
	return reported && r->load_rc == 0;
}

static struct vs_spec_seccomp allow_by_default(struct vs_seccomp_rule *rules, size_t n)
{
	return (struct vs_spec_seccomp){ .default_action = VS_SECCOMP_ALLOW,
					 .syscalls = rules,
					 .syscalls_count = n };
}

static bool can_load_filters(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
}

#define NEED_SECCOMP()                               \
	do {                                         \
		if (!can_load_filters())             \
			SKIP("seccomp unavailable"); \
	} while (0)

static void call_getcwd_getpid(struct report *r)
{
	char buf[256];
	record(r, syscall(SYS_getcwd, buf, sizeof(buf)));
	record(r, syscall(SYS_getpid));
}

TEST(errno_rule_with_custom_errno)
{
	NEED_SECCOMP();
	struct vs_seccomp_rule rule = {
		.names = STRV("getcwd"), .action = VS_SECCOMP_ERRNO, .has_errno_ret = true, .errno_ret = 1234
	};
	struct vs_spec_seccomp s = allow_by_default(&rule, 1);
	struct report r;
	CHECK(loaded_and_ran(&s, true, call_getcwd_getpid, &r));
	CHECK_EQ_U64(r.ret[0], -1);
	CHECK_EQ_U64(r.err[0], 1234);
	CHECK(r.ret[1] > 0); /* getpid unaffected */
	/* The parent has no filter. */
	char buf[256];
	CHECK(getcwd(buf, sizeof(buf)) != NULL);
}

TEST(errno_defaults_to_eperm)
{
	NEED_SECCOMP();
	struct vs_seccomp_rule rule = { .names = STRV("getcwd"), .action = VS_SECCOMP_ERRNO };
	struct vs_spec_seccomp s = allow_by_default(&rule, 1);
	struct report r;
	CHECK(loaded_and_ran(&s, true, call_getcwd_getpid, &r));
	CHECK_EQ_U64(r.ret[0], -1);
	CHECK_EQ_U64(r.err[0], EPERM);
}

static void call_args(struct report *r)
{
	record(r, syscall(SYS_personality, 0xffffffffUL)); /* denied */
	record(r, syscall(SYS_personality, 0xfffffffeUL)); /* not matched: the kernel answers */
	record(r, syscall(SYS_lseek, 1000, 0, 7));	   /* both args match */
	record(r, syscall(SYS_lseek, 1000, 0, 0));	   /* second does not */
	record(r, syscall(SYS_lseek, 999, 0, 7));	   /* first does not */
	record(r, syscall(SYS_dup, 0x13));		   /* 0x13 & 0xf0 == 0x10 */
	record(r, syscall(SYS_dup, 0x23));		   /* 0x23 & 0xf0 != 0x10 */
	record(r, syscall(SYS_getpriority, 0, 500));	   /* repeated index: ORed */
	record(r, syscall(SYS_getpriority, 0, 501));
	record(r, syscall(SYS_getpriority, 0, 0)); /* neither: allowed */
}

TEST(arg_rules)
{
	NEED_SECCOMP();
	struct vs_seccomp_arg pers = { .index = 0, .value = 0xffffffffu, .op = VS_SCMP_EQ };
	struct vs_seccomp_arg lseek_args[] = { { .index = 0, .value = 1000, .op = VS_SCMP_EQ },
					       { .index = 2, .value = 6, .op = VS_SCMP_GT } };
	struct vs_seccomp_arg dup_arg = {
		.index = 0, .value = 0xf0, .value_two = 0x10, .op = VS_SCMP_MASKED_EQ
	};
	struct vs_seccomp_arg prio_args[] = { { .index = 1, .value = 500, .op = VS_SCMP_EQ },
					      { .index = 1, .value = 501, .op = VS_SCMP_EQ } };
	struct vs_seccomp_rule rules[] = { { .names = STRV("personality"),
					     .action = VS_SECCOMP_ERRNO,
					     .has_errno_ret = true,
					     .errno_ret = 4001,
					     .args = &pers,
					     .args_count = 1 },
					   { .names = STRV("lseek"),
					     .action = VS_SECCOMP_ERRNO,
					     .has_errno_ret = true,
					     .errno_ret = 55,
					     .args = lseek_args,
					     .args_count = 2 },
					   { .names = STRV("dup"),
					     .action = VS_SECCOMP_ERRNO,
					     .has_errno_ret = true,
					     .errno_ret = 77,
					     .args = &dup_arg,
					     .args_count = 1 },
					   { .names = STRV("getpriority"),
					     .action = VS_SECCOMP_ERRNO,
					     .has_errno_ret = true,
					     .errno_ret = 66,
					     .args = prio_args,
					     .args_count = 2 } };
	struct vs_spec_seccomp s = allow_by_default(rules, 4);
	struct report r;
	CHECK(loaded_and_ran(&s, true, call_args, &r));
	CHECK_EQ_U64(r.n, 10);
	CHECK(r.ret[0] == -1 && r.err[0] == 4001);
	CHECK(r.err[1] != 4001);
	CHECK(r.ret[2] == -1 && r.err[2] == 55);
	CHECK(r.ret[3] == -1 && r.err[3] == EBADF);
	CHECK(r.ret[4] == -1 && r.err[4] == EBADF);
	CHECK(r.ret[5] == -1 && r.err[5] == 77);
	CHECK(r.ret[6] == -1 && r.err[6] == EBADF);
	CHECK(r.ret[7] == -1 && r.err[7] == 66);
	CHECK(r.ret[8] == -1 && r.err[8] == 66);
	CHECK(r.ret[9] >= 0);
}

static void call_getppid(struct report *r)
{
	record(r, syscall(SYS_getppid));
}

TEST(kill_process_kills_with_sigsys)
{
	NEED_SECCOMP();
	struct vs_seccomp_rule rule = { .names = STRV("getppid"), .action = VS_SECCOMP_KILL_PROCESS };
	struct vs_spec_seccomp s = allow_by_default(&rule, 1);
	struct child_job job = { &s, true, call_getppid };
	struct report r;
	bool ok;
	int st = run_child(&job, &r, &ok);
	CHECK(!ok && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);

	/* SCMP_ACT_KILL (thread) in a single-threaded child: same end. */
	rule.action = VS_SECCOMP_KILL;
	st = run_child(&job, &r, &ok);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}

TEST(unknown_syscall_names_are_skipped)
{
	NEED_SECCOMP();
	struct vs_seccomp_rule rules[] = {
		{ .names = STRV("no_such_syscall_xyz", "getcwd", "another_future_call"),
		  .action = VS_SECCOMP_ERRNO,
		  .has_errno_ret = true,
		  .errno_ret = 1234 },
		{ .names = STRV("only_unknown_here"), .action = VS_SECCOMP_KILL_PROCESS }
	};
	struct vs_spec_seccomp s = allow_by_default(rules, 2);
	struct vs_error err = { 0 };
	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);
	struct report r;
	CHECK(loaded_and_ran(&s, true, call_getcwd_getpid, &r));
	CHECK(r.ret[0] == -1 && r.err[0] == 1234);
}

static int check_msg(const struct vs_spec_seccomp *s, const char *want, const char *want2)
{
	struct vs_error err = { 0 };
	int rc = vs_seccomp_check(s, &err);
	if (rc == 0) {
		printf("#   accepted; wanted an error with `%s`\n", want);
		return 0;
	}
	if (!strstr(err.msg, want) || (want2 && !strstr(err.msg, want2))) {
		printf("#   message `%s` lacks `%s`\n", err.msg, want);
		return 0;
	}
	return 1;
}

TEST(check_refuses_bad_profiles)
{
	struct vs_seccomp_arg arg = { .index = 0, .value = 1, .op = VS_SCMP_EQ };
	struct vs_seccomp_rule rule = { .names = STRV("getcwd"), .action = VS_SECCOMP_ERRNO };
	struct vs_spec_seccomp s = allow_by_default(&rule, 1);
	struct vs_error err = { 0 };

	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);

	s.default_action = (enum vs_seccomp_action)99;
	CHECK(check_msg(&s, "defaultAction", "unknown action"));
	s.default_action = VS_SECCOMP_ALLOW;

	rule.action = (enum vs_seccomp_action)42;
	CHECK(check_msg(&s, "syscalls[0]", "unknown action"));
	rule.action = VS_SECCOMP_ALLOW;
	rule.has_errno_ret = true;
	rule.errno_ret = 5;
	CHECK(check_msg(&s, "errnoRet", "SCMP_ACT_ALLOW"));
	rule.action = VS_SECCOMP_ERRNO;
	rule.errno_ret = 4095;
	CHECK(check_msg(&s, "errnoRet 4095", "SCMP_ACT_ERRNO"));
	rule.errno_ret = 4094;
	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);
	rule.action = VS_SECCOMP_TRACE;
	rule.errno_ret = 65535;
	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);
	rule.errno_ret = 65536;
	CHECK(check_msg(&s, "errnoRet 65536", "SCMP_ACT_TRACE"));
	rule.action = VS_SECCOMP_ERRNO;
	rule.has_errno_ret = false;

	s.has_default_errno_ret = true;
	s.default_errno_ret = 1;
	s.default_action = VS_SECCOMP_KILL_PROCESS;
	CHECK(check_msg(&s, "defaultAction", "errnoRet"));
	s.has_default_errno_ret = false;
	s.default_action = VS_SECCOMP_ALLOW;

	s.architectures = STRV("SCMP_ARCH_X86_64", "SCMP_ARCH_VAX");
	CHECK(check_msg(&s, "architectures[1]", "SCMP_ARCH_VAX"));
	s.architectures =
	    STRV("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);
	s.architectures = (struct vs_strv){ 0 };

	s.flags = STRV("SECCOMP_FILTER_FLAG_FOO");
	CHECK(check_msg(&s, "flags[0]", "SECCOMP_FILTER_FLAG_FOO"));
	s.flags =
	    STRV("SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC");
	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);
	s.flags = STRV("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
	if (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 6)
		CHECK(check_msg(&s, "WAIT_KILLABLE_RECV", "libseccomp"));
	s.flags = (struct vs_strv){ 0 };

	rule.args = &arg;
	rule.args_count = 1;
	arg.index = 6;
	CHECK(check_msg(&s, "args[0]", "index 6"));
	arg.index = 0;
	arg.op = (enum vs_seccomp_op)9;
	CHECK(check_msg(&s, "args[0]", "operator"));
	arg.op = VS_SCMP_EQ;
	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);
	rule.args = NULL;
	rule.args_count = 0;

	rule.names = (struct vs_strv){ 0 };
	CHECK(check_msg(&s, "names", "at least one"));
	rule.names = STRV("getcwd");

	s.default_action = VS_SECCOMP_NOTIFY;
	CHECK(check_msg(&s, "SCMP_ACT_NOTIFY", "default"));
	s.default_action = VS_SECCOMP_ALLOW;
	rule.action = VS_SECCOMP_NOTIFY;
	CHECK(check_msg(&s, "listenerPath", NULL));
	s.listener_path = "/run/agent.sock";
	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);
	rule.names = STRV("read", "write");
	CHECK(check_msg(&s, "`write`", NULL));
	rule.names = STRV("getcwd");
	rule.action = VS_SECCOMP_ERRNO;
	s.listener_path = NULL;
	s.listener_metadata = "x";
	CHECK(check_msg(&s, "listenerMetadata", NULL));

	/* Nothing was loaded into this process. */
	CHECK_EQ_U64(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
}

TEST(rule_equal_to_default_is_skipped)
{
	NEED_SECCOMP();
	struct vs_seccomp_rule rules[] = { { .names = STRV("getpid"), .action = VS_SECCOMP_ALLOW },
					   { .names = STRV("getcwd"),
					     .action = VS_SECCOMP_ERRNO,
					     .has_errno_ret = true,
					     .errno_ret = 99 } };
	struct vs_spec_seccomp s = allow_by_default(rules, 2);
	struct report r;
	CHECK(loaded_and_ran(&s, true, call_getcwd_getpid, &r));
	CHECK(r.ret[0] == -1 && r.err[0] == 99);
	CHECK(r.ret[1] > 0);
}

TEST(load_leaves_no_new_privs_alone)
{
	if (!can_load_filters() || geteuid() != 0)
		SKIP("needs root (CAP_SYS_ADMIN) to load without no_new_privs");
	struct vs_seccomp_rule rule = { .names = STRV("getcwd"), .action = VS_SECCOMP_ERRNO };
	struct vs_spec_seccomp s = allow_by_default(&rule, 1);
	struct report r;
	CHECK(loaded_and_ran(&s, false, call_getcwd_getpid, &r));
	CHECK_EQ_U64(r.no_new_privs, 0);
	CHECK(r.ret[0] == -1 && r.err[0] == EPERM);
	CHECK(loaded_and_ran(&s, true, call_getcwd_getpid, &r));
	CHECK_EQ_U64(r.no_new_privs, 1);
}

/* A listening UNIX socket in a fresh directory. */
struct agent {
	char dir[64];
	char path[100];
	int fd;
};

static bool agent_open(struct agent *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(a->dir, sizeof(a->dir), "/tmp/vs-seccomp-XXXXXX");
	a->fd = -1;
	if (!mkdtemp(a->dir))
		return false;
	snprintf(a->path, sizeof(a->path), "%s/agent.sock", a->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->path);
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return a->fd >= 0 && bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(a->fd, 4) == 0;
}

static void agent_close(struct agent *a)
{
	if (a->fd >= 0)
		close(a->fd);
	unlink(a->path);
	rmdir(a->dir);
}

/* Accept one connection and read it to EOF: the payload and the first
 * SCM_RIGHTS fd (-1 if none). Waits at most 10 s for the peer. */
static bool agent_receive(struct agent *a, char *buf, size_t cap, int *fd_out)
{
	struct pollfd pfd = { .fd = a->fd, .events = POLLIN };
	*fd_out = -1;
	if (poll(&pfd, 1, 10000) != 1)
		return false;
	int c = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return false;
	size_t len = 0;
	for (;;) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(4 * sizeof(int))];
		} ctl;
		struct iovec iov = { .iov_base = buf + len, .iov_len = cap - 1 - len };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		ssize_t n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && *fd_out < 0)
				memcpy(fd_out, CMSG_DATA(h), sizeof(int));
		len += (size_t)n;
		if (len == cap - 1)
			break;
	}
	buf[len] = '\0';
	close(c);
	return true;
}

TEST(send_listener_message_and_fd)
{
	struct agent a;
	int p[2];
	if (!agent_open(&a) || pipe(p) < 0) {
		agent_close(&a);
		SKIP("cannot create a UNIX socket");
	}
	struct vs_error err = { 0 };
	const char *state = "{\"ociVersion\":\"1.1.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":77}";
	CHECK_EQ_U64(vs_seccomp_send_listener(a.path, NULL, p[1], 77, state, &err), 0);
	char buf[1024];
	int got = -1;
	CHECK(agent_receive(&a, buf, sizeof(buf), &got));
	CHECK(strcmp(buf,
		     "{\"ociVersion\":\"1.1.0\",\"fds\":[\"seccompFd\"],\"pid\":77,\"state\":{\"ociVersion\":"
		     "\"1.1.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":77}}") == 0);
	struct stat s1, s2;
	CHECK(got >= 0 && fstat(got, &s1) == 0 && fstat(p[1], &s2) == 0 && s1.st_ino == s2.st_ino &&
	      s1.st_dev == s2.st_dev);
	/* The caller's fd stays open. */
	CHECK(fcntl(p[1], F_GETFD) >= 0);

	/* Metadata is a JSON string, escaped. */
	CHECK_EQ_U64(vs_seccomp_send_listener(a.path, "K=\"v\"\\\n", p[1], 5, "{}", &err), 0);
	CHECK(agent_receive(&a, buf, sizeof(buf), &got));
	CHECK(strstr(buf, "\"metadata\":\"K=\\\"v\\\"\\\\\\u000a\",") != NULL);
	if (got >= 0)
		close(got);
	close(p[0]);
	close(p[1]);
	agent_close(&a);

	CHECK_EQ_U64(vs_seccomp_send_listener("/nonexistent/vessel/agent.sock", NULL, 0, 1, "{}", &err), -1);
	CHECK(strstr(err.msg, "/nonexistent/vessel/agent.sock") != NULL);
	CHECK_EQ_U64(err.code, ENOENT);
}

TEST(notify_listener_end_to_end)
{
	NEED_SECCOMP();
	if (seccomp_api_get() < 5)
		SKIP("kernel or libseccomp lacks SCMP_ACT_NOTIFY");
	struct agent a;
	if (!agent_open(&a)) {
		agent_close(&a);
		SKIP("cannot create a UNIX socket");
	}
	struct vs_seccomp_rule rule = { .names = STRV("getpgid"), .action = VS_SECCOMP_NOTIFY };
	struct vs_spec_seccomp s = allow_by_default(&rule, 1);
	s.listener_path = a.path;
	s.listener_metadata = "meta";
	CHECK(vs_seccomp_uses_notify(&s));

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct vs_error err = { 0 };
		int fd = -1;
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (vs_seccomp_load(&s, &fd, &err) < 0 || fd < 0)
			_exit(10);
		if (vs_seccomp_send_listener(a.path, s.listener_metadata, fd, getpid(), "{\"id\":\"t\"}",
					     &err) < 0)
			_exit(11);
		close(fd);
		/* Blocks until the agent (our parent) answers. */
		long v = syscall(SYS_getpgid, 0);
		_exit(v == 4242 ? 0 : 12);
	}
	char buf[1024], want[128];
	int nfd = -1;
	CHECK(pid > 0);
	CHECK(agent_receive(&a, buf, sizeof(buf), &nfd));
	snprintf(want, sizeof(want), "{\"ociVersion\":\"1.1.0\",\"fds\":[\"seccompFd\"],\"pid\":%d,",
		 (int)pid);
	CHECK(strncmp(buf, want, strlen(want)) == 0);
	CHECK(strstr(buf, "\"metadata\":\"meta\",\"state\":{\"id\":\"t\"}}") != NULL);
	CHECK(nfd >= 0);
	if (nfd >= 0) {
		struct seccomp_notif *req = NULL;
		struct seccomp_notif_resp *resp = NULL;
		struct pollfd pfd = { .fd = nfd, .events = POLLIN };
		CHECK(seccomp_notify_alloc(&req, &resp) == 0);
		CHECK(poll(&pfd, 1, 10000) == 1);
		if (req && resp && seccomp_notify_receive(nfd, req) == 0) {
			CHECK_EQ_U64(req->data.nr, SYS_getpgid);
			CHECK_EQ_U64(req->pid, pid);
			resp->id = req->id;
			resp->val = 4242;
			resp->error = 0;
			resp->flags = 0;
			CHECK_EQ(seccomp_notify_respond(nfd, resp), 0);
		} else {
			CHECK(!"no notification received");
		}
		seccomp_notify_free(req, resp);
		close(nfd);
	}
	int st = 0;
	if (pid > 0) {
		if (nfd < 0)
			kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st));
		CHECK_EQ_U64(WEXITSTATUS(st), 0);
	}
	agent_close(&a);
}

static const struct vs_seccomp_rule *plain_rule(const struct vs_spec_seccomp *s, const char *name)
{
	for (size_t i = 0; i < s->syscalls_count; i++)
		for (size_t n = 0; n < s->syscalls[i].names.count; n++)
			if (s->syscalls[i].args_count == 0 && strcmp(s->syscalls[i].names.v[n], name) == 0)
				return &s->syscalls[i];
	return NULL;
}

static void count_rules(const struct vs_spec_seccomp *s, const char *name, size_t *plain, size_t *cond)
{
	*plain = *cond = 0;
	for (size_t i = 0; i < s->syscalls_count; i++)
		for (size_t n = 0; n < s->syscalls[i].names.count; n++)
			if (strcmp(s->syscalls[i].names.v[n], name) == 0)
				(*(s->syscalls[i].args_count ? cond : plain))++;
}

static bool allowed(const struct vs_spec_seccomp *s, const char *name)
{
	const struct vs_seccomp_rule *r = plain_rule(s, name);
	return r && r->action == VS_SECCOMP_ALLOW;
}

static bool eperm(const struct vs_spec_seccomp *s, const char *name)
{
	const struct vs_seccomp_rule *r = plain_rule(s, name);
	return r && r->action == VS_SECCOMP_ERRNO && r->has_errno_ret && r->errno_ret == EPERM;
}

TEST(default_profile_shape)
{
	struct vs_spec_seccomp s, admin;
	struct vs_error err = { 0 };
	CHECK_EQ_U64(vs_defaults_seccomp(vs_defaults_caps(), &s, &err), 0);
	CHECK_EQ_U64(vs_defaults_seccomp(vs_defaults_caps() | VS_CAP_BIT(CAP_SYS_ADMIN), &admin, &err), 0);

	CHECK(s.default_action == VS_SECCOMP_ERRNO && s.has_default_errno_ret &&
	      s.default_errno_ret == ENOSYS);
#if defined(__x86_64__)
	CHECK(s.architectures.count == 3 && strcmp(s.architectures.v[0], "SCMP_ARCH_X86_64") == 0);
#endif
	CHECK(s.syscalls_count > 20);
	CHECK(allowed(&s, "read") && allowed(&s, "execve") && allowed(&s, "exit_group") &&
	      allowed(&s, "openat"));
	CHECK(allowed(&s, "chroot")); /* CAP_SYS_CHROOT is a default */
	CHECK(eperm(&s, "kexec_load") && eperm(&s, "init_module") && eperm(&s, "reboot") &&
	      eperm(&s, "swapon") && eperm(&s, "keyctl") && eperm(&s, "add_key") && eperm(&s, "bpf") &&
	      eperm(&s, "perf_event_open") && eperm(&s, "userfaultfd") && eperm(&s, "mount") &&
	      eperm(&s, "unshare"));
	CHECK(plain_rule(&s, "io_uring_setup") == NULL);
	CHECK(plain_rule(&s, "clone3") == NULL); /* ENOSYS by default */
	CHECK(allowed(&admin, "mount") && allowed(&admin, "clone3") && allowed(&admin, "bpf"));
	CHECK(eperm(&admin, "kexec_load") && eperm(&admin, "reboot"));

	/* Every name has one unconditional rule at most, and a name with one
	 * has no conditional rules that would contradict it. */
	size_t dups = 0;
	for (size_t i = 0; i < s.syscalls_count; i++) {
		for (size_t n = 0; n < s.syscalls[i].names.count; n++) {
			size_t plain, cond;
			count_rules(&s, s.syscalls[i].names.v[n], &plain, &cond);
			if (plain > 1 || (plain == 1 && cond > 0)) {
				printf("#   `%s`: %zu plain, %zu conditional rules\n",
				       s.syscalls[i].names.v[n], plain, cond);
				dups++;
			}
		}
	}
	CHECK_EQ_U64(dups, 0);

	CHECK_EQ_U64(vs_seccomp_check(&s, &err), 0);
	if (err.code)
		printf("#   %s\n", err.msg);
	CHECK_EQ_U64(vs_seccomp_check(&admin, &err), 0);
	struct vs_spec_seccomp all;
	CHECK_EQ_U64(vs_defaults_seccomp(UINT64_MAX, &all, &err), 0);
	CHECK_EQ_U64(vs_seccomp_check(&all, &err), 0);
	CHECK(allowed(&all, "socket") && allowed(&all, "clone") && allowed(&all, "reboot"));
	vs_defaults_seccomp_free(&all);

	vs_defaults_seccomp_free(&s);
	vs_defaults_seccomp_free(&admin);
	CHECK(s.syscalls == NULL && s.syscalls_count == 0 && s.architectures.v == NULL);
	vs_defaults_seccomp_free(&s); /* idempotent */
}

static void exec_true(struct report *r)
{
	char *argv[] = { "true", NULL };
	char *envp[] = { NULL };
	execve("/bin/true", argv, envp);
	record(r, -1);
}

TEST(default_profile_runs_a_program)
{
	NEED_SECCOMP();
	if (access("/bin/true", X_OK) != 0)
		SKIP("no /bin/true");
	struct vs_spec_seccomp s;
	struct vs_error err = { 0 };
	CHECK_EQ_U64(vs_defaults_seccomp(vs_defaults_caps(), &s, &err), 0);
	struct child_job job = { &s, true, exec_true };
	struct report r;
	bool reported;
	int st = run_child(&job, &r, &reported);
	if (reported)
		printf("#   load %d (%s), exec errno %d\n", r.load_rc, r.msg, r.err[0]);
	CHECK(!reported); /* the child became /bin/true */
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	vs_defaults_seccomp_free(&s);
}

/* The calls whose fate the default profile decides. Each clone that
 * might succeed has its child leave at once. */
static void call_dangerous(struct report *r)
{
	record(r, syscall(SYS_reboot, 0, 0, 0, NULL)); /* bad magic: EINVAL if allowed */
	record(r, syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL));
	record(r, syscall(SYS_umount2, "/nonexistent-vessel-path", 0));
	record(r, syscall(SYS_unshare, 0));
	long pid = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	record(r, pid);
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	record(r, pid);
	long fd = syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	record(r, fd);
	fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	record(r, fd);
	record(r, syscall(SYS_personality, 0xffffffffUL));
	record(r, syscall(SYS_personality, 0x0040000UL)); /* ADDR_NO_RANDOMIZE: not on the list */
	record(r, syscall(SYS_io_uring_setup, 0, NULL));
	record(r, syscall(SYS_add_key, "user", "k", "v", 1, -1));
}

TEST(default_profile_denies)
{
	NEED_SECCOMP();
	struct vs_spec_seccomp s;
	struct vs_error err = { 0 };
	CHECK_EQ_U64(vs_defaults_seccomp(vs_defaults_caps(), &s, &err), 0);
	struct report r;
	CHECK(loaded_and_ran(&s, true, call_dangerous, &r));
	CHECK_EQ_U64(r.n, 12);
	CHECK(r.ret[0] == -1 && r.err[0] == EPERM);  /* reboot */
	CHECK(r.ret[1] == -1 && r.err[1] == EPERM);  /* kexec_load */
	CHECK(r.ret[2] == -1 && r.err[2] == EPERM);  /* umount2 */
	CHECK(r.ret[3] == -1 && r.err[3] == EPERM);  /* unshare */
	CHECK(r.ret[4] == -1 && r.err[4] == EPERM);  /* clone(CLONE_NEWUTS) */
	CHECK(r.ret[5] > 0);			     /* fork */
	CHECK(r.ret[6] == -1 && r.err[6] == EINVAL); /* audit socket */
	CHECK(r.ret[7] >= 0);			     /* AF_UNIX socket */
	CHECK(r.ret[8] >= 0);			     /* personality query */
	CHECK(r.ret[9] == -1 && r.err[9] == ENOSYS);
	CHECK(r.ret[10] == -1 && r.err[10] == ENOSYS); /* io_uring: not listed */
	CHECK(r.ret[11] == -1 && r.err[11] == EPERM);  /* add_key */

	/* Without the filter (as root) the same calls get other answers, so
	 * the EPERMs above came from the profile. */
	if (geteuid() == 0) {
		CHECK(syscall(SYS_reboot, 0, 0, 0, NULL) == -1 && errno == EINVAL);
		CHECK(syscall(SYS_umount2, "/nonexistent-vessel-path", 0) == -1 && errno == ENOENT);
	}
	vs_defaults_seccomp_free(&s);
}

static void call_admin(struct report *r)
{
	record(r, syscall(SYS_umount2, "/nonexistent-vessel-path", 0));
	record(r, syscall(SYS_unshare, 0));
	record(r, syscall(SYS_reboot, 0, 0, 0, NULL));
}

TEST(default_profile_follows_capabilities)
{
	NEED_SECCOMP();
	struct vs_spec_seccomp s;
	struct vs_error err = { 0 };
	CHECK_EQ_U64(vs_defaults_seccomp(vs_defaults_caps() | VS_CAP_BIT(CAP_SYS_ADMIN), &s, &err), 0);
	struct report r;
	CHECK(loaded_and_ran(&s, true, call_admin, &r));
	CHECK(r.ret[0] == -1 && r.err[0] != EPERM && r.err[0] != ENOSYS); /* reaches the kernel */
	if (geteuid() == 0)
		CHECK_EQ(r.ret[1], 0);
	CHECK(r.ret[2] == -1 && r.err[2] == EPERM); /* still no CAP_SYS_BOOT */
	vs_defaults_seccomp_free(&s);
}

VS_TAP_MAIN(TAP_CASE(errno_rule_with_custom_errno), TAP_CASE(errno_defaults_to_eperm), TAP_CASE(arg_rules),
	    TAP_CASE(kill_process_kills_with_sigsys), TAP_CASE(unknown_syscall_names_are_skipped),
	    TAP_CASE(check_refuses_bad_profiles), TAP_CASE(rule_equal_to_default_is_skipped),
	    TAP_CASE(load_leaves_no_new_privs_alone), TAP_CASE(send_listener_message_and_fd),
	    TAP_CASE(notify_listener_end_to_end), TAP_CASE(default_profile_shape),
	    TAP_CASE(default_profile_runs_a_program), TAP_CASE(default_profile_denies),
	    TAP_CASE(default_profile_follows_capabilities))
