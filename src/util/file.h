#ifndef VESSEL_UTIL_FILE_H
#define VESSEL_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Read a whole regular file into a malloc'd buffer. Files larger than
 * `max_len` are refused before anything is read; `what` names the file's
 * role in messages ("kernel", "initrd"). */
int vs_read_file(const char *path, const char *what, uint64_t max_len, uint8_t **out, size_t *out_len,
		 struct vs_error *err);

/* write() all of buf, retrying on EINTR and short writes. */
int vs_write_all(int fd, const void *buf, size_t len);

#endif
