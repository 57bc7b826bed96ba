#include "util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int vs_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = 1024;
		break;
	case 'M':
		mult = (1024ull * 1024);
		break;
	case 'G':
		mult = (1024ull * 1024 * 1024);
		break;
	case 'T':
		mult = 1024 * (1024ull * 1024 * 1024);
		break;
	default:
		return -1;
	}
	if (*end) {
		end++;
		/* Accept "M", "MB", "MiB". */
		if (toupper((unsigned char)*end) == 'I')
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}
