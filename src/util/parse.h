/* Parsing of the small values users type: sizes with binary suffixes. */
#ifndef VESSEL_UTIL_PARSE_H
#define VESSEL_UTIL_PARSE_H

#include <stdint.h>

/* Parse a size such as "256M", "1G", "1048576", "512k" (K/M/G/T, optionally
 * followed by "B" or "iB", all powers of 1024). Returns -1 on a malformed or
 * overflowing value. */
int vs_parse_size(const char *s, uint64_t *out);

#endif
