#include "container/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/caps.h"
#include "container/lsm.h"
#include "container/seccomp.h"

int vs_process_die_with_parent(int parent_pidfd, struct vs_error *err)
{
	struct pollfd pfd = { .fd = parent_pidfd, .events = POLLIN };
	int cur = 0;
	/* Re-arm only when it was cleared: a seccomp profile loaded before
	 * the user switch may refuse prctl, and then there is nothing better
	 * to do than keep what is armed. */
	if (prctl(PR_GET_PDEATHSIG, &cur, 0, 0, 0) == 0 && cur != SIGKILL &&
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return vs_error_set(err, errno, "prctl(PR_SET_PDEATHSIG)");
	/* A pidfd polls readable once its process has exited. */
	if (parent_pidfd >= 0 && poll(&pfd, 1, 0) == 1)
		return vs_error_msg(err, "the runtime that started the container has exited");
	return 0;
}

void vs_process_reset_signals(void)
{
	sigset_t none;
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* fails harmlessly for KILL/STOP */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int apply_rlimits(const struct vs_spec_process *p, struct vs_error *err)
{
	for (size_t i = 0; i < p->rlimits_count; i++) {
		struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return vs_error_set(err, errno, "process.rlimits[%zu]: setrlimit(%d, %llu, %llu)", i,
					    p->rlimits[i].resource, (unsigned long long)rl.rlim_cur,
					    (unsigned long long)rl.rlim_max);
	}
	return 0;
}

static int apply_user(const struct vs_spec_process *p, struct vs_error *err)
{
	const struct vs_spec_user *u = &p->user;
	/* Keep the permitted set across the uid change; vs_caps_apply then
	 * trims every set to what the spec grants. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return vs_error_set(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setgroups(u->additional_gids_count, (const gid_t *)u->additional_gids) < 0 &&
	    (errno != EPERM || u->additional_gids_count > 0))
		return vs_error_set(err, errno, "process.user.additionalGids: setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return vs_error_set(err, errno, "process.user.gid %u: setresgid", u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return vs_error_set(err, errno, "process.user.uid %u: setresuid", u->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return vs_error_set(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
	return 0;
}

static int apply_personality(const char *domain, struct vs_error *err)
{
	if (!domain)
		return 0;
	if (personality(strcmp(domain, "LINUX32") == 0 ? PER_LINUX32 : PER_LINUX) < 0)
		return vs_error_set(err, errno, "linux.personality.domain %s", domain);
	return 0;
}

int vs_process_exec(const struct vs_process_exec_opts *o, struct vs_error *err)
{
	const struct vs_spec_process *p = o->process;
	int listener = -1;

	/* Labels first, while the process still has every privilege the
	 * runtime gave it (they take effect at the execve below). */
	if (vs_lsm_set_exec(p, err) < 0 || apply_rlimits(p, err) < 0 ||
	    apply_personality(o->personality_domain, err) < 0)
		return -1;
	if (p->has_oom_score_adj) {
		char buf[16];
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		if (fd < 0 || write(fd, buf, (size_t)n) != n) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return vs_error_set(err, e, "process.oomScoreAdj %d", p->oom_score_adj);
		}
		close(fd);
	}
	umask(p->user.has_umask ? (mode_t)p->user.umask : 022);
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which
	 * the switch to a non-root user drops: load it first (the filter must
	 * then allow setresuid & co, as every sane profile does). With
	 * no_new_privs it goes last, so it need not allow capset. */
	if (o->seccomp && !p->no_new_privileges && vs_seccomp_load(o->seccomp, &listener, err) < 0)
		return -1;
	if (apply_user(p, err) < 0)
		return -1;
	if (o->die_with_parent && vs_process_die_with_parent(o->parent_pidfd, err) < 0)
		return -1;
	if (p->cwd && chdir(p->cwd) < 0)
		return vs_error_set(err, errno, "process.cwd `%s`", p->cwd);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vs_error_set(err, errno, "process.noNewPrivileges");
	if (p->has_caps && vs_caps_apply(&p->caps, err) < 0)
		return -1;
	if (o->seccomp && p->no_new_privileges && vs_seccomp_load(o->seccomp, &listener, err) < 0)
		return -1;
	if (listener >= 0 && o->send_listener) {
		if (o->send_listener(o->listener_opaque, listener, err) < 0)
			return -1;
		close(listener);
	}
	vs_process_reset_signals();
	if (p->env.count)
		environ = p->env.v;
	else
		environ = (char *[]){ NULL };
	execvp(p->args.v[0], p->args.v);
	return vs_error_set(err, errno, "exec `%s`", p->args.v[0]);
}
