/* The vessel command line: parsing, printing and exit codes only. */
#ifndef VESSEL_CLI_H
#define VESSEL_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit statuses of the CLI contract. */
enum {
	VS_EXIT_OK = 0,
	VS_EXIT_USAGE = 2, /* bad input or a set-up failure */
	VS_EXIT_GUEST_CRASH = 3,
};

/* Print "vessel: <msg>" to stderr. */
void vs_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vs_cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Integers in [min, max] with a clear message naming the option. */
int vs_cli_parse_int(const char *opt, const char *value, long min, long max, long *out);

int vs_cli_vm_run(int argc, char **argv);
struct vs_net_config;
/* --net SPEC into `nc`; cuts `spec` in place. Prints the error itself. */
int vs_cli_parse_net(char *spec, struct vs_net_config *nc);
struct vs_disk_config;
/* --disk SPEC into `d`; cuts `spec` in place. Prints the error itself. */
int vs_cli_parse_disk(char *spec, struct vs_disk_config *d);
int vs_cli_doctor(int argc, char **argv);
int vs_cli_ct(int argc, char **argv);
int vs_cli_img(int argc, char **argv);

/* Read a passphrase file whole (at most 64 KiB); the caller frees *out.
 * Errors are printed, naming the file. */
int vs_cli_read_key_file(const char *path, uint8_t **out, size_t *len);

#endif
