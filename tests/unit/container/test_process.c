/* vs_process_die_with_parent: arms PR_SET_PDEATHSIG and notices a parent
 * that is already gone through its pidfd. Each case runs in a child so the
 * test process itself keeps no parent-death signal. */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/process.h"
#include "tap.h"

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Run fn in a child; its exit status (or -1 when it did not exit). */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int arms_with_live_parent(void)
{
	struct vs_error err = { 0 };
	int fd = pidfd_of(getppid()), sig = 0;
	if (fd < 0)
		return errno == ENOSYS ? 77 : 10;
	if (vs_process_die_with_parent(fd, &err) < 0)
		return 11;
	if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0 || sig != SIGKILL)
		return 12;
	/* Cleared, as a uid change does: armed again. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (vs_process_die_with_parent(fd, &err) < 0)
		return 13;
	if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0 || sig != SIGKILL)
		return 14;
	return 0;
}

static int notices_dead_parent(void)
{
	struct vs_error err = { 0 };
	int fd;
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	fd = pidfd_of(gone);
	if (fd < 0)
		return errno == ENOSYS ? 77 : 20;
	waitpid(gone, NULL, 0);
	/* Stands in for a parent that died before PDEATHSIG was armed. */
	if (vs_process_die_with_parent(fd, &err) != -1)
		return 21;
	return strstr(err.msg, "exited") ? 0 : 22;
}

TEST(arms_pdeathsig_and_rearms_after_clear)
{
	int r = in_child(arms_with_live_parent);
	if (r == 77)
		SKIP("no pidfd_open");
	CHECK_EQ_U64(r, 0);
}

TEST(parent_already_gone_is_an_error)
{
	int r = in_child(notices_dead_parent);
	if (r == 77)
		SKIP("no pidfd_open");
	CHECK_EQ_U64(r, 0);
}

VS_TAP_MAIN(TAP_CASE(arms_pdeathsig_and_rearms_after_clear), TAP_CASE(parent_already_gone_is_an_error))
