/* libFuzzer target: any byte string as a LUKS area (header and key
 * slots, as a qcow2 image's encryption extension names it) is refused with
 * a message or parsed; a parsed header with small iteration counts is then
 * unlocked with a passphrase, reading key material only inside the area.
 * (Counts up to VS_LUKS_MAX_ITERATIONS are valid but too slow to fuzz.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block/luks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct area {
	const uint8_t *data;
	size_t size;
};

static int read_area(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct area *a = ctx;
	/* The parser promised every active slot lies inside. */
	if (off > a->size || len > a->size - off)
		abort();
	memcpy(buf, a->data + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_luks_header h;
	struct vs_error err = { 0 };
	uint8_t master[VS_LUKS_MAX_KEY];
	if (vs_luks_parse(&h, data, size, size, &err) < 0) {
		if (err.msg[0] == '\0')
			abort();
		return 0;
	}
	if (h.key_bytes > VS_LUKS_MAX_KEY || h.mk_iterations > 64)
		return 0;
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++)
		if (h.slots[i].active && h.slots[i].iterations > 64)
			return 0;
	struct area a = { data, size };
	if (vs_luks_unlock(&h, "fuzz", 4, read_area, &a, master, &err) < 0 && err.msg[0] == '\0')
		abort();
	return 0;
}
