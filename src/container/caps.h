/* Linux capabilities for the container process: the name table used by the
 * spec parser and the CLI, and the final capability step before exec.
 *
 * Capability sets travel as uint64_t bitmasks of CAP_* numbers (bit n is
 * capability n), as in struct vs_spec_caps. */
#ifndef VESSEL_CONTAINER_CAPS_H
#define VESSEL_CONTAINER_CAPS_H

#include <linux/capability.h> /* CAP_* numbers */
#include <stdbool.h>
#include <stdint.h>

#include "container/spec.h"
#include "util/error.h"

/* Highest capability number this table knows (CAP_CHECKPOINT_RESTORE). */
#define VS_CAP_LAST_KNOWN 40

#define VS_CAP_BIT(n) (UINT64_C(1) << (n))

/* "CAP_CHOWN" -> 0 ... "CAP_CHECKPOINT_RESTORE" -> 40. The name must be the
 * exact upper-case spelling of capabilities(7), "CAP_" prefix included.
 * Returns -1 for an unknown name. */
int vs_caps_from_name(const char *name);

/* 0 -> "CAP_CHOWN"; NULL for a number outside 0..VS_CAP_LAST_KNOWN. */
const char *vs_caps_name(int cap);

/* The highest capability number the running kernel supports: the value of
 * /proc/sys/kernel/cap_last_cap, or, when /proc is not readable (e.g. not
 * yet mounted in a new mount namespace), the highest number
 * PR_CAPBSET_READ accepts. Never fails: falls back to VS_CAP_LAST_KNOWN. */
int vs_caps_last_supported(void);

/* Give the calling process exactly the capability sets in `caps`. Meant
 * for a container's init (or exec) process after setgroups/setgid/setuid
 * (done with PR_SET_KEEPCAPS so the permitted set survived), as the last
 * step before exec; only a seccomp filter loaded under no_new_privileges
 * may come after it.
 *
 *  1. effective := permitted, to regain CAP_SETPCAP after a uid change;
 *  2. every capability not in caps->bounding is dropped from the bounding
 *     set (PR_CAPBSET_DROP);
 *  3. effective, permitted and inheritable are set with capset(2);
 *  4. the ambient set is cleared, then each ambient capability is raised.
 *
 * Capabilities above vs_caps_last_supported() are ignored, as runc does,
 * so a spec written for a newer kernel still runs. A request the kernel
 * would refuse is reported by capability name: an effective capability
 * outside permitted, a permitted one the process does not hold, an
 * inheritable one outside the bounding set, an ambient one outside
 * permitted or inheritable; these are checked before anything changes.
 * A failure after that (a kernel refusal) leaves the sets part-way: the
 * process must not exec. */
int vs_caps_apply(const struct vs_spec_caps *caps, struct vs_error *err);

/* Set PR_SET_NO_NEW_PRIVS when `enable` (the flag cannot be cleared once
 * set, so `false` does nothing). The runtime may equally call prctl itself;
 * this exists so the error message is uniform. */
int vs_caps_apply_no_new_privs(bool enable, struct vs_error *err);

#endif
