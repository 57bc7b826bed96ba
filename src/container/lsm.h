/* Linux security modules: whether the host has AppArmor or SELinux, the
 * refusal at create of a label the host cannot apply (the spec's fields
 * are never dropped silently), and the exec labels set before execve. */
#ifndef VESSEL_CONTAINER_LSM_H
#define VESSEL_CONTAINER_LSM_H

#include <stdbool.h>

#include "container/spec.h"
#include "util/error.h"

bool vs_lsm_apparmor_enabled(void);
bool vs_lsm_selinux_enabled(void);

/* Refuse process.apparmorProfile, process.selinuxLabel and
 * linux.mountLabel (`mount_label`, may be NULL) that this host cannot
 * apply, naming the field. */
int vs_lsm_check(const struct vs_spec_process *p, const char *mount_label, struct vs_error *err);

/* Arm the labels of `p` for the next execve (in the process itself):
 * "exec PROFILE" into attr/apparmor/exec (attr/exec on kernels before
 * 5.8), the SELinux label into attr/exec. */
int vs_lsm_set_exec(const struct vs_spec_process *p, struct vs_error *err);

/* The same with the attr directory given (tests point it at a scratch
 * directory to see what would be written). */
int vs_lsm_set_exec_at(const char *attr_dir, const struct vs_spec_process *p, struct vs_error *err);

#endif
