/* A new user namespace's uid and gid maps, written by the runtime: directly
 * when it may (root, or an unprivileged user mapping only its own ids,
 * with setgroups denied first as the kernel requires), else through the
 * setuid newuidmap/newgidmap (Debian's uidmap), which check the caller's
 * subordinate ids in /etc/subuid and /etc/subgid. */
#ifndef VESSEL_CONTAINER_IDMAP_H
#define VESSEL_CONTAINER_IDMAP_H

#include <stdbool.h>
#include <sys/types.h>

#include "container/spec.h"
#include "util/error.h"

int vs_idmap_write(pid_t pid, const struct vs_spec_linux *lx, struct vs_error *err);

/* Whether this process is rootless: not root, or "root" of a user
 * namespace that does not map the whole id space (rootless podman runs
 * the runtime in such a namespace, as uid 0). */
bool vs_idmap_rootless(void);

#endif
