/* OCI lifecycle hooks: each runs with the container state JSON on stdin,
 * its own args and env, and an optional timeout. */
#ifndef VESSEL_CONTAINER_HOOKS_H
#define VESSEL_CONTAINER_HOOKS_H

#include "container/spec.h"
#include "util/error.h"

/* Run every hook of `kind` in order; the first failure stops the chain and
 * is reported naming the hook. */
int vs_hooks_run(const struct vs_spec_hooks *hooks, enum vs_hook_kind kind, const char *state_json,
		 struct vs_error *err);

/* Run every hook of `kind` in order, each whatever the others did (the
 * spec's rule for poststart and poststop: a failure is a warning). Returns
 * the number of hooks that failed; `first` gets the first failure. */
size_t vs_hooks_run_all(const struct vs_spec_hooks *hooks, enum vs_hook_kind kind, const char *state_json,
			struct vs_error *first);

#endif
