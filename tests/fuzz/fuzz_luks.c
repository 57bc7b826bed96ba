/* libFuzzer target: any byte string as a LUKS area (header and key
 * slots, as a qcow2 image's encryption extension names it) is refused with
 * a message or parsed; a parsed header with small iteration counts is then
 * unlocked with a passphrase, reading key material only inside the area.
 * (Counts up to VS_LUKS_MAX_ITERATIONS are valid but too slow to fuzz.)
 * Every slot the amend path would write (vs_luks_check_slot_area) lies
 * inside the area, and erasing one (amend encrypt.state=inactive) writes
 * only there. */
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

struct copy {
	uint8_t *data;
	size_t size;
};

static int write_copy(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct copy *c = ctx;
	if (off > c->size || len > c->size - off)
		abort();
	memcpy(c->data + off, buf, len);
	return 0;
}

static int read_copy(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct copy *c = ctx;
	if (off > c->size || len > c->size - off)
		abort();
	memcpy(buf, c->data + off, len);
	return 0;
}

static int sync_copy(void *ctx)
{
	(void)ctx;
	return 0;
}

/* Erase one slot (chosen by the input) in a copy of the area. */
static void erase_one(const struct vs_luks_header *parsed, const uint8_t *data, size_t size)
{
	struct vs_luks_header h = *parsed;
	struct vs_error err = { 0 };
	struct copy c = { malloc(size), size };
	struct vs_luks_io io = { read_copy, write_copy, sync_copy, &c, size };
	struct vs_luks_amend a = { .state = VS_LUKS_STATE_INACTIVE,
				   .keyslot = data[size - 1] % VS_LUKS_SLOTS,
				   .force = data[size - 1] & 0x80 };
	unsigned mask;
	if (!c.data)
		return;
	memcpy(c.data, data, size);
	if (vs_luks_erase_keys(&h, &a, &io, &mask, &err) < 0 && err.msg[0] == '\0')
		abort();
	free(c.data);
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
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++) {
		uint64_t start = (uint64_t)h.slots[i].key_offset * VS_LUKS_SECTOR;
		if (vs_luks_check_slot_area(&h, i, size, &err) == 0 &&
		    (start < VS_LUKS_HEADER_SIZE || start + vs_luks_material_len(&h) > size))
			abort();
	}
	erase_one(&h, data, size);
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
