/* vessel-oci: the runc-compatible command line. */
#ifndef VESSEL_CLI_OCI_H
#define VESSEL_CLI_OCI_H

#include <stdbool.h>

#include "util/error.h"

struct oci_globals {
	const char *root;
};

/* Report an error the way runc does: on stderr and, with --log, as a JSON
 * (or text) line in the log file, where conmon looks for it. Warnings and
 * (with --debug) debug lines of the library take the same way through the
 * util/log sink that main() installs. */
void oci_error(const struct oci_globals *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef int (*oci_command_fn)(const struct oci_globals *g, int argc, char **argv);

int oci_create(const struct oci_globals *g, int argc, char **argv);
int oci_start(const struct oci_globals *g, int argc, char **argv);
int oci_run(const struct oci_globals *g, int argc, char **argv);
int oci_exec(const struct oci_globals *g, int argc, char **argv);
int oci_state(const struct oci_globals *g, int argc, char **argv);
int oci_list(const struct oci_globals *g, int argc, char **argv);
int oci_kill(const struct oci_globals *g, int argc, char **argv);
int oci_delete(const struct oci_globals *g, int argc, char **argv);
int oci_pause(const struct oci_globals *g, int argc, char **argv);
int oci_resume(const struct oci_globals *g, int argc, char **argv);
int oci_ps(const struct oci_globals *g, int argc, char **argv);
int oci_update(const struct oci_globals *g, int argc, char **argv);
int oci_features(const struct oci_globals *g, int argc, char **argv);
int oci_spec(const struct oci_globals *g, int argc, char **argv);

/* Parse a signal given as a number, "KILL" or "SIGKILL". */
int oci_parse_signal(const char *s);

/* One positional argument (the container id) and nothing else. */
const char *oci_one_id(const struct oci_globals *g, const char *cmd, int argc, char **argv, int optind_);

#endif
