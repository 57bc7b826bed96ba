/* --disk PATH[,format=raw|qcow2][,readonly=on|off][,cache=none|writeback]
 *             [,iops=N][,bps=N][,queues=N][,key-file=PATH]
 * Every message names the --disk option at fault and what would work. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "machine/vm.h"
#include "util/parse.h"

#define DISK_OPTIONS                                                                         \
	"format=raw|qcow2, readonly=on|off, cache=none|writeback, iops=N, bps=N, queues=N, " \
	"key-file=PATH"

/* Passphrases read for key-file=: the VM opens its images once, at start,
 * and the process ends with it, so they stay here until exit. */
static uint8_t *keys_read[VS_MAX_DISKS];
static int nkeys_read;

static int parse_rate(const char *spec, const char *name, const char *v, bool sizes, uint64_t *out)
{
	char *end;
	unsigned long long n;
	if (sizes) {
		if (vs_parse_size(v, out) == 0 && *out > 0)
			return 0;
	} else {
		n = strtoull(v, &end, 10);
		if (*v >= '0' && *v <= '9' && !*end && n > 0 && n <= 1000000000ull) {
			*out = n;
			return 0;
		}
	}
	vs_cli_error("--disk %s: %s=`%s` is not a rate: give a positive number of %s (e.g. %s=%s)", spec,
		     name, v, sizes ? "bytes per second, suffixes K/M/G allowed" : "requests per second",
		     name, sizes ? "10M" : "500");
	return -1;
}

int vs_cli_parse_disk(char *spec, struct vs_disk_config *d)
{
	char *opt = strchr(spec, ',');
	*d = (struct vs_disk_config){ .path = spec, .queues = 1 };
	while (opt) {
		char *next = strchr(opt + 1, ',');
		*opt++ = '\0';
		if (next)
			*next = '\0';
		if (!strcmp(opt, "readonly=on") || !strcmp(opt, "readonly")) {
			d->readonly = true;
		} else if (!strcmp(opt, "readonly=off")) {
			d->readonly = false;
		} else if (!strncmp(opt, "format=", 7)) {
			if (strcmp(opt + 7, "raw") != 0 && strcmp(opt + 7, "qcow2") != 0) {
				vs_cli_error(
				    "--disk %s: unknown format `%s`: use format=raw or format=qcow2, or "
				    "leave it out to detect it",
				    spec, opt + 7);
				return -1;
			}
			d->format = opt + 7;
		} else if (!strcmp(opt, "cache=none")) {
			d->direct = true;
		} else if (!strcmp(opt, "cache=writeback")) {
			d->direct = false;
		} else if (!strncmp(opt, "cache=", 6)) {
			vs_cli_error("--disk %s: unknown cache mode in `%s`: use cache=none (O_DIRECT) or "
				     "cache=writeback (the host's page cache)",
				     spec, opt);
			return -1;
		} else if (!strncmp(opt, "iops=", 5)) {
			if (parse_rate(spec, "iops", opt + 5, false, &d->iops) < 0)
				return -1;
		} else if (!strncmp(opt, "bps=", 4)) {
			if (parse_rate(spec, "bps", opt + 4, true, &d->bps) < 0)
				return -1;
		} else if (!strncmp(opt, "key-file=", 9)) {
			uint8_t *key;
			size_t len;
			if (d->key || nkeys_read == VS_MAX_DISKS) {
				vs_cli_error("--disk %s: key-file= given twice", spec);
				return -1;
			}
			if (!opt[9] || vs_cli_read_key_file(opt + 9, &key, &len) < 0) {
				if (!opt[9])
					vs_cli_error("--disk %s: key-file= needs the path of a file holding "
						     "the passphrase",
						     spec);
				return -1;
			}
			keys_read[nkeys_read++] = key;
			d->key = key;
			d->key_len = len;
		} else if (!strncmp(opt, "queues=", 7)) {
			long n;
			if (vs_cli_parse_int("--disk queues", opt + 7, 1, 8, &n) < 0)
				return -1;
			d->queues = (int)n;
		} else {
			vs_cli_error("--disk %s: unknown option `%s` (%s)", spec, opt, DISK_OPTIONS);
			return -1;
		}
		opt = next;
	}
	if (!*d->path) {
		vs_cli_error("--disk needs a path: --disk PATH[,%s]", "format=..., readonly=on, ...");
		return -1;
	}
	return 0;
}
