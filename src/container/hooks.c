#include "container/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/process.h"
#include "util/file.h"
#include "util/log.h"

/* Wait for `pid` up to `timeout_s` seconds (0: forever). */
static int wait_hook(pid_t pid, int timeout_s, int *status)
{
	int64_t deadline = timeout_s > 0 ? (int64_t)vs_now_ns() + (int64_t)timeout_s * 1000000000ll : 0;
	for (;;) {
		pid_t r = waitpid(pid, status, deadline ? WNOHANG : 0);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (deadline && (int64_t)vs_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			errno = ETIMEDOUT;
			return -1;
		}
		if (deadline)
			poll(NULL, 0, 5);
	}
}

static int run_one(const struct vs_spec_hook *h, const char *what, size_t index, const char *state_json,
		   struct vs_error *err)
{
	int in[2], status;
	pid_t pid;
	if (pipe2(in, O_CLOEXEC) < 0)
		return vs_error_set(err, errno, "%s hook %zu: pipe", what, index);
	pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return vs_error_set(err, errno, "%s hook %zu: fork", what, index);
	}
	if (pid == 0) {
		char *const empty[] = { NULL };
		char *const argv0[] = { h->path, NULL };
		dup2(in[0], STDIN_FILENO);
		vs_process_reset_signals();
		execve(h->path, h->args.count ? h->args.v : argv0, h->env.count ? h->env.v : empty);
		_exit(127);
	}
	close(in[0]);
	/* A hook that does not read its stdin must not block us: SIGPIPE is
	 * ignored by the CLI and a short write is fine. */
	vs_write_all(in[1], state_json, strlen(state_json));
	close(in[1]);
	if (wait_hook(pid, h->has_timeout ? h->timeout : 0, &status) < 0) {
		if (errno == ETIMEDOUT)
			return vs_error_msg(err, "%s hook %zu (`%s`) timed out after %d s", what, index,
					    h->path, h->timeout);
		return vs_error_set(err, errno, "%s hook %zu (`%s`): waitpid", what, index, h->path);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return vs_error_msg(err, "%s hook %zu (`%s`) could not be executed", what, index, h->path);
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return vs_error_msg(err, "%s hook %zu (`%s`) exited with status %d", what, index, h->path,
				    WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return vs_error_msg(err, "%s hook %zu (`%s`) was killed by signal %d", what, index, h->path,
				    WTERMSIG(status));
	return 0;
}

int vs_hooks_run(const struct vs_spec_hooks *hooks, enum vs_hook_kind kind, const char *state_json,
		 struct vs_error *err)
{
	for (size_t i = 0; i < hooks->count[kind]; i++)
		if (run_one(&hooks->list[kind][i], vs_hook_kind_name(kind), i, state_json, err) < 0)
			return -1;
	return 0;
}

size_t vs_hooks_run_all(const struct vs_spec_hooks *hooks, enum vs_hook_kind kind, const char *state_json,
			struct vs_error *first)
{
	size_t failed = 0;
	for (size_t i = 0; i < hooks->count[kind]; i++) {
		struct vs_error e = { 0 };
		if (run_one(&hooks->list[kind][i], vs_hook_kind_name(kind), i, state_json, &e) < 0 &&
		    failed++ == 0)
			*first = e;
	}
	return failed;
}
