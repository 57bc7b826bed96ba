/* A passphrase file, byte for byte (as qemu reads --object secret,file=:
 * a trailing newline is part of the passphrase), for `vessel img` and
 * `--disk key-file=`. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/luks.h"
#include "cli/cli.h"

int vs_cli_read_key_file(const char *path, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		vs_cli_error("key file `%s`: %s", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = malloc(VS_LUKS_MAX_PASSPHRASE + 1);
	size_t have = 0;
	ssize_t n = 1;
	while (buf && have <= VS_LUKS_MAX_PASSPHRASE &&
	       (n = read(fd, buf + have, VS_LUKS_MAX_PASSPHRASE + 1 - have)) > 0)
		have += (size_t)n;
	close(fd);
	if (!buf || n < 0 || have > VS_LUKS_MAX_PASSPHRASE) {
		vs_cli_error("key file `%s`: %s", path,
			     !buf    ? "out of memory"
			     : n < 0 ? strerror(errno)
				     : "larger than 64 KiB");
		free(buf);
		return -1;
	}
	*out = buf;
	*len = have;
	return 0;
}
