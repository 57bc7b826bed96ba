/* Cleaning up after foreground runners that were killed.
 *
 * `vessel ct run` records itself as the container's runner and its init
 * carries PR_SET_PDEATHSIG(SIGKILL), so a runner killed with SIGKILL takes
 * the container's processes with it: init dies, and with it every process
 * of its pid namespace. What the kernel does not remove is the runtime's
 * bookkeeping on the host: the state directory <root>/<id> and the
 * container's cgroup directories. (Mounts need no work: they live in the
 * container's mount namespace, which goes away with its last process.)
 *
 * Nobody is left to remove them, so the next runtime invocation does:
 * `vessel ct run` reaps its own root before creating a container, and every
 * `vessel-oci` command reaps its --root and the ct root before its own
 * work. A container is an orphan when its state names a runner whose pid
 * no longer exists or now belongs to a process with another start time;
 * containers without a runner (created by `vessel-oci create`) are never
 * touched: their manager deletes them. */
#include <stdlib.h>

#include "container/container.h"
#include "container/state.h"
#include "util/log.h"

static bool runner_gone(const struct vs_state *st)
{
	uint64_t start = vs_proc_start_time(st->runner);
	return start == 0 || start != st->runner_start;
}

int vs_container_reap_orphans(const char *root)
{
	struct vs_error err = { 0 };
	char **ids = NULL;
	size_t count = 0;
	int reaped = 0;
	if (vs_state_list(root, &ids, &count, &err) < 0) {
		vs_debug("reaping leftovers: %s", err.msg);
		return 0;
	}
	for (size_t i = 0; i < count; i++) {
		struct vs_state st;
		bool orphan;
		/* A directory without a loadable state (another kind of entry,
		 * or a create that has not saved yet) is not ours to judge. */
		if (vs_state_load(root, ids[i], &st, &err) < 0) {
			vs_error_clear(&err);
			free(ids[i]);
			continue;
		}
		orphan = st.runner != 0 && runner_gone(&st);
		if (orphan) {
			vs_debug("container `%s`: its runner (pid %d) is gone; removing what it left", ids[i],
				 (int)st.runner);
			/* delete takes the container's lock, so a concurrent
			 * reaper waits and then finds nothing (an error we
			 * ignore). */
			if (vs_container_delete(root, ids[i], true, &err) == 0) {
				reaped++;
			} else {
				struct vs_state again;
				struct vs_error gone = { 0 };
				if (vs_state_load(root, ids[i], &again, &gone) == 0) {
					vs_warn("removing leftover container `%s`: %s", ids[i], err.msg);
					vs_state_free(&again);
				}
			}
			vs_error_clear(&err);
		}
		vs_state_free(&st);
		free(ids[i]);
	}
	free(ids);
	return reaped;
}
