/* linux.seccomp: compiling the spec's profile into a BPF filter with
 * libseccomp, loading it, and handing a SCMP_ACT_NOTIFY listener to the
 * seccomp agent at listenerPath.
 *
 * Semantics, chosen to match runc so existing profiles behave the same:
 *  - syscall names unknown to libseccomp are skipped (profiles list newer
 *    syscalls than an older library knows);
 *  - a rule whose action (and errno) equals the default action is skipped,
 *    as libseccomp refuses such rules and they change nothing;
 *  - the args of one rule are ANDed, except that when an argument index
 *    appears more than once the rule is split into one rule per arg (ORed);
 *  - errnoRet defaults to EPERM for SCMP_ACT_ERRNO and SCMP_ACT_TRACE and is
 *    an error with any other action;
 *  - SCMP_ACT_KILL kills the thread, like SCMP_ACT_KILL_THREAD;
 *  - the native architecture is always in the filter;
 *  - no_new_privileges is left to the caller (libseccomp's own NNP
 *    default is turned off), so the filter honours process.noNewPrivileges.
 */
#ifndef VESSEL_CONTAINER_SECCOMP_H
#define VESSEL_CONTAINER_SECCOMP_H

#include <stdbool.h>
#include <sys/types.h>

#include "container/spec.h"
#include "util/error.h"

/* Validate `s` and compile it in memory without loading anything: unknown
 * architectures or flags, out-of-range actions or operators, an errnoRet
 * on an action that has none, argument indexes past 5, SCMP_ACT_NOTIFY as
 * the default action, on `write` (the runtime itself writes, and would
 * deadlock) or without listenerPath, listenerMetadata without
 * listenerPath, and anything libseccomp refuses. For `create`, before any
 * process is forked. */
int vs_seccomp_check(const struct vs_spec_seccomp *s, struct vs_error *err);

/* Compile and load `s` into the calling thread (with
 * SECCOMP_FILTER_FLAG_TSYNC, if listed, into all its threads). Loading
 * needs no_new_privs already set or CAP_SYS_ADMIN: call it last when
 * process.noNewPrivileges is set, else before capabilities are dropped.
 * When the profile uses SCMP_ACT_NOTIFY, *listener_fd receives the
 * notification fd (close-on-exec; the caller owns it and passes it on with
 * vs_seccomp_send_listener); otherwise it is set to -1. */
int vs_seccomp_load(const struct vs_spec_seccomp *s, int *listener_fd, struct vs_error *err);

/* True when some rule of `s` uses SCMP_ACT_NOTIFY. */
bool vs_seccomp_uses_notify(const struct vs_spec_seccomp *s);

/* Send the seccomp notification fd to the agent listening on the UNIX
 * stream socket `listener_path`, as the runtime-spec's "container process
 * state": one connection carrying
 *   {"ociVersion":"1.1.0","fds":["seccompFd"],"pid":PID,
 *    "metadata":METADATA,"state":STATE}
 * with `fd` attached as SCM_RIGHTS to the first byte. `metadata`
 * (listenerMetadata) may be NULL and is then left out; `state_json` is the
 * container state object as `vessel-oci state` prints it and is embedded
 * verbatim. `pid` is the container process as seen by the runtime. The
 * connection is closed afterwards; `fd` stays open and owned by the
 * caller. */
/* The two halves of vs_seccomp_send_listener: the runtime connects while
 * the host's listenerPath is reachable, the container process sends its
 * notification fd on that socket right before exec. */
int vs_seccomp_listener_connect(const char *listener_path, struct vs_error *err);
int vs_seccomp_listener_send(int sock, const char *metadata, int fd, pid_t pid, const char *state_json,
			     struct vs_error *err);

int vs_seccomp_send_listener(const char *listener_path, const char *metadata, int fd, pid_t pid,
			     const char *state_json, struct vs_error *err);

#endif
