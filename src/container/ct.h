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

/* -v HOST:CTR[:ro]: a recursive bind mount of HOST at CTR. */
struct vs_ct_volume {
	const char *host; /* absolute, existing */
	const char *ctr;  /* absolute */
	bool readonly;
};

struct vs_ct_opts {
	const char *rootfs;   /* absolute */
	uint64_t memory;      /* bytes, 0: no limit */
	uint64_t cpu_millis;  /* thousandths of a CPU, 0: no limit */
	int64_t pids;	      /* 0: no limit */
	bool net_host;	      /* share the host's network namespace */
	const char *hostname; /* NULL: "vessel" */
	bool readonly;
	char **args; /* NULL-terminated */
	/* "NAME=VALUE" after the defaults (PATH, TERM, HOME, container); a
	 * name given here replaces the default of that name. */
	const char *const *env;
	size_t env_count;
	const struct vs_ct_volume *volumes;
	size_t volume_count;
	const char *cwd; /* absolute; NULL: "/" */
	uint32_t uid, gid;
	bool terminal; /* process.terminal: the caller passes a console socket */
};

/* The config.json text for these options (caller frees). */
char *vs_ct_config_json(const struct vs_ct_opts *o, struct vs_error *err);

/* The seccomp profile as the "linux.seccomp" JSON object. */
void vs_ct_write_seccomp(struct vs_json_writer *w, const struct vs_spec_seccomp *s);

#endif
