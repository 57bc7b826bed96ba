#ifndef VESSEL_UTIL_FDPASS_H
#define VESSEL_UTIL_FDPASS_H

#include <stddef.h>

/* Send `len` bytes with `fd` attached (SCM_RIGHTS) to the first chunk,
 * the rest in further sends if the socket takes it piecemeal. Returns 0,
 * or -1 with errno set. */
int vs_send_with_fd(int sock, const void *buf, size_t len, int fd);

#endif
