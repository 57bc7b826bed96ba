/* CPU limits of `vessel vm run`: the VMM process (every thread) in a cgroup
 * of its own, made with the containers' cgroup code (container/cgroup.h),
 * so v1, v2 and hybrid hosts work alike. The machine library knows nothing
 * of this: the CLI moves the process before the VM's threads exist, and
 * they inherit the cgroup.
 *
 * The cgroup is /vessel-vm/<pid>-<start time> in every hierarchy (an
 * absolute path, as containers use /vessel/<id>). A vessel killed with
 * SIGKILL cannot remove it; the name says whose it was, so the next
 * `vessel vm run` or `vessel ct run` removes those whose process is gone. */
#ifndef VESSEL_CLI_VM_LIMITS_H
#define VESSEL_CLI_VM_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

struct vs_cgroup;

struct vs_vm_limits {
	bool has_weight, has_max;
	uint64_t weight;  /* cgroup v2 cpu.weight, 1..10000 (100: the default share) */
	int64_t quota_us; /* CPU time per period */
	uint64_t period_us;
	struct vs_cgroup *cg;	/* while the VM runs */
	struct vs_cgroup *home; /* where the process was before */
};

/* --cpu-weight N and --cpu-max QUOTA/PERIOD|FRACTION; print their error. */
int vs_cli_parse_cpu_weight(const char *value, struct vs_vm_limits *l);
int vs_cli_parse_cpu_max(const char *value, struct vs_vm_limits *l);

/* Create the cgroup, write the limits, move this process in. Nothing to do
 * without limits. Prints its error; on failure nothing is left behind. */
int vs_cli_vm_limits_enter(struct vs_vm_limits *l);

/* Move back and remove the cgroup (no-op when none was made). */
void vs_cli_vm_limits_leave(struct vs_vm_limits *l);

/* Remove the cgroups of VMs whose vessel is gone; the number removed. */
int vs_cli_vm_limits_reap(void);

#endif
