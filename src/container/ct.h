/* `vessel ct run`: a container from a root filesystem directory without a
 * hand-written bundle, with the defaults podman would use. */
#ifndef VESSEL_CONTAINER_CT_H
#define VESSEL_CONTAINER_CT_H

#include <stdbool.h>
#include <stdint.h>

#include "container/spec.h"
#include "container/state.h"
#include "util/error.h"
#include "util/json.h"

/* State root of `vessel ct run` containers (vessel-oci reaps it too). */
#define VS_CT_ROOT VS_OCI_DEFAULT_ROOT "/ct"

struct vs_ct_opts {
	const char *rootfs;   /* absolute */
	uint64_t memory;      /* bytes, 0: no limit */
	uint64_t cpu_millis;  /* thousandths of a CPU, 0: no limit */
	int64_t pids;	      /* 0: no limit */
	bool net_host;	      /* share the host's network namespace */
	const char *hostname; /* NULL: "vessel" */
	bool readonly;
	char **args; /* NULL-terminated */
};

/* The config.json text for these options (caller frees). */
char *vs_ct_config_json(const struct vs_ct_opts *o, struct vs_error *err);

/* The seccomp profile as the "linux.seccomp" JSON object. */
void vs_ct_write_seccomp(struct vs_json_writer *w, const struct vs_spec_seccomp *s);

#endif
