/* The security defaults `vessel ct run` puts into a generated config.json,
 * matching what podman would ask of an OCI runtime:
 *
 *  - capabilities: containers-common's default_capabilities (podman 4+):
 *    CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP SETGID
 *    SETPCAP SETUID SYS_CHROOT (no AUDIT_WRITE, MKNOD or NET_RAW, which
 *    Docker still grants);
 *  - masked and read-only /proc and /sys paths (podman's lists, plus the
 *    powercap and interrupts masks newer engines add against power and
 *    interrupt side channels);
 *  - a seccomp allow-list in the spirit of containers-common's
 *    seccomp.json, written out in defaults.c.
 *
 * The seccomp profile:
 *  - default action SCMP_ACT_ERRNO(ENOSYS): a syscall the list does not
 *    know (typically one newer than the list) looks unimplemented, so libc
 *    and liburing-style callers take their fallback path instead of
 *    failing on EPERM; this is why clone3 answers ENOSYS without
 *    CAP_SYS_ADMIN (glibc then uses clone);
 *  - syscalls known to be dangerous fail with EPERM explicitly (kexec_*,
 *    swapon/swapoff, keyctl/add_key/request_key, userfaultfd, uselib, old
 *    module and pciconfig calls, vm86);
 *  - syscalls a capability legitimises are allowed only when that
 *    capability is in the set passed in, else EPERM (mount & co,
 *    unshare/setns, namespace flags of clone, bpf, perf_event_open,
 *    reboot, chroot, module loading, acct, kcmp, iopl, settimeofday,
 *    vhangup, syslog, open_by_handle_at, page migration);
 *  - ptrace and process_vm_{readv,writev} are allowed on kernels >= 4.8
 *    (where seccomp cannot be bypassed with ptrace), else need
 *    CAP_SYS_PTRACE;
 *  - personality only for PER_LINUX, PER_LINUX32, their UNAME26 variants
 *    and the 0xffffffff query;
 *  - without CAP_AUDIT_WRITE, socket(AF_NETLINK, *, NETLINK_AUDIT) fails
 *    with EINVAL, which libaudit reads as "no audit in this kernel"
 *    rather than as an error;
 *  - io_uring is left out (ENOSYS): its history of kernel bugs and its
 *    bypass of per-syscall filtering; users fall back to epoll/aio.
 */
#ifndef VESSEL_CONTAINER_DEFAULTS_H
#define VESSEL_CONTAINER_DEFAULTS_H

#include <stdint.h>

#include "container/spec.h"
#include "util/error.h"

/* Bitmask of the default capabilities (bounding, effective, permitted; the
 * inheritable and ambient sets stay empty, as with podman). */
uint64_t vs_defaults_caps(void);

/* NULL-terminated lists of absolute container paths. */
const char *const *vs_defaults_masked_paths(void);
const char *const *vs_defaults_readonly_paths(void);

/* Fill *out with the default seccomp profile for a container whose
 * bounding set is `caps` (pass vs_defaults_caps() for the default; pass
 * the final set after --cap-add/--cap-drop so cap-gated syscalls follow).
 * Architectures are the host's native one and its compat ABIs. Everything
 * is heap-allocated with the ownership spec.h describes, so the result may
 * also be moved into a struct vs_spec and released by vs_spec_free();
 * otherwise release it with vs_defaults_seccomp_free(). On failure *out is
 * left empty. */
int vs_defaults_seccomp(uint64_t caps, struct vs_spec_seccomp *out, struct vs_error *err);

/* Release what a struct vs_spec_seccomp owns (not the struct itself) and
 * zero it; safe on a zeroed or partly built struct. */
void vs_defaults_seccomp_free(struct vs_spec_seccomp *s);

#endif
