/* LUKS key slot changes (vs_luks_add_key, vs_luks_erase_keys) against
 * power cuts: every write and sync the change makes is recorded, then the
 * area is rebuilt as a crash at each point could leave it (what was
 * synced, plus any subset of what was written since), and every such
 * state must still open with the passphrases it held, with no active slot
 * whose material does not open. qemu-img interop is in
 * tests/integration/test_img_amend.py. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "block/luks.h"

#define MAX_OPS 32

struct op {
	bool sync;
	uint64_t off;
	size_t len;
	uint8_t *data;
};

/* The area as the change sees it (every write lands at once) and the log
 * of its writes and syncs. */
struct disk {
	uint8_t *area;
	size_t len;
	struct op ops[MAX_OPS];
	unsigned nops;
};

static int d_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct disk *d = ctx;
	if (off > d->len || len > d->len - off)
		return -5;
	memcpy(buf, d->area + off, len);
	return 0;
}

static int d_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct disk *d = ctx;
	if (off > d->len || len > d->len - off || d->nops == MAX_OPS)
		return -5;
	struct op *o = &d->ops[d->nops++];
	*o = (struct op){ .off = off, .len = len, .data = malloc(len) };
	if (!o->data)
		return -12;
	memcpy(o->data, buf, len);
	memcpy(d->area + off, buf, len);
	return 0;
}

static int d_sync(void *ctx)
{
	struct disk *d = ctx;
	if (d->nops == MAX_OPS)
		return -5;
	d->ops[d->nops++] = (struct op){ .sync = true };
	return 0;
}

static void d_forget(struct disk *d)
{
	for (unsigned i = 0; i < d->nops; i++)
		free(d->ops[i].data);
	d->nops = 0;
}

/* Does slot i alone open with this passphrase? */
static bool slot_opens(const struct vs_luks_header *h, unsigned i, const char *pass, struct disk *d)
{
	struct vs_luks_header one = *h;
	struct vs_error err = { 0 };
	uint8_t master[VS_LUKS_MAX_KEY];
	for (unsigned j = 0; j < VS_LUKS_SLOTS; j++)
		one.slots[j].active = j == i;
	return vs_luks_unlock(&one, pass, strlen(pass), d_read, d, master, &err) == 0;
}

/* Every state a crash during the logged change can leave, from `before`:
 * each active slot opens with one of `passes`, and `must` opens. 0 or the
 * number of bad states. */
static unsigned crash_states(const uint8_t *before, struct disk *log, const char *const *passes,
			     unsigned npasses, const char *must)
{
	unsigned bad = 0;
	struct disk st = { .area = malloc(log->len), .len = log->len };
	if (!st.area)
		return 1;
	for (unsigned cut = 0; cut <= log->nops; cut++) {
		unsigned synced = 0;
		for (unsigned i = 0; i < cut; i++)
			if (log->ops[i].sync)
				synced = i + 1;
		unsigned pending[MAX_OPS], np = 0;
		for (unsigned i = synced; i < cut; i++)
			if (!log->ops[i].sync)
				pending[np++] = i;
		for (unsigned mask = 0; mask < (1u << np); mask++) {
			memcpy(st.area, before, log->len);
			for (unsigned i = 0; i < synced; i++)
				if (!log->ops[i].sync)
					memcpy(st.area + log->ops[i].off, log->ops[i].data, log->ops[i].len);
			for (unsigned k = 0; k < np; k++)
				if (mask & (1u << k))
					memcpy(st.area + log->ops[pending[k]].off, log->ops[pending[k]].data,
					       log->ops[pending[k]].len);
			struct vs_luks_header h;
			struct vs_error err = { 0 };
			bool ok = vs_luks_parse(&h, st.area, st.len, st.len, &err) == 0;
			for (unsigned i = 0; ok && i < VS_LUKS_SLOTS; i++) {
				bool any = false;
				for (unsigned p = 0; h.slots[i].active && !any && p < npasses; p++)
					any = slot_opens(&h, i, passes[p], &st);
				ok = !h.slots[i].active || any;
			}
			struct vs_error e2 = { 0 };
			uint8_t master[VS_LUKS_MAX_KEY];
			ok = ok && vs_luks_unlock(&h, must, strlen(must), d_read, &st, master, &e2) == 0;
			if (!ok) {
				printf("#   crash after op %u (pending mask 0x%x) leaves a bad area\n", cut,
				       mask);
				bad++;
			}
		}
	}
	free(st.area);
	return bad;
}

static int make(struct disk *d, struct vs_luks_header *h, uint8_t *master)
{
	struct vs_luks_create_opts o = { .iter_time_ms = 1 };
	struct vs_error err = { 0 };
	return vs_luks_format(&o, "old", 3, &d->area, &d->len, h, master, &err);
}

TEST(add_key_survives_a_crash_anywhere)
{
	struct disk d = { 0 };
	struct vs_luks_header h;
	struct vs_error err = { 0 };
	uint8_t master[VS_LUKS_MAX_KEY];
	unsigned slot = 99;
	CHECK(make(&d, &h, master) == 0);
	if (!d.area)
		return;
	uint8_t *before = malloc(d.len);
	memcpy(before, d.area, d.len);
	struct vs_luks_io io = { d_read, d_write, d_sync, &d, d.len };
	struct vs_luks_amend a = { .state = VS_LUKS_STATE_ACTIVE,
				   .keyslot = -1,
				   .new_secret = "new",
				   .new_len = 3,
				   .iter_time_ms = 1 };
	CHECK(vs_luks_add_key(&h, master, &a, &io, &slot, &err) == 0);
	CHECK_EQ(slot, 1u);
	CHECK(h.slots[1].active);
	const char *const both[] = { "old", "new" };
	CHECK_EQ(crash_states(before, &d, both, 2, "old"), 0u);
	/* And the whole change: the new passphrase opens. */
	CHECK(slot_opens(&h, 1, "new", &d));
	d_forget(&d);

	/* Slot 1 again, forced over itself with another passphrase: at no
	 * point is it active with material for neither. */
	memcpy(before, d.area, d.len);
	a.keyslot = 1;
	a.new_secret = "newer";
	a.new_len = 5;
	CHECK(vs_luks_add_key(&h, master, &a, &io, &slot, &err) < 0);
	CHECK(strstr(err.msg, "Refusing to overwrite active keyslot 1") != NULL);
	a.force = true;
	CHECK(vs_luks_add_key(&h, master, &a, &io, &slot, &err) == 0);
	const char *const three[] = { "old", "new", "newer" };
	CHECK_EQ(crash_states(before, &d, three, 3, "old"), 0u);
	CHECK(slot_opens(&h, 1, "newer", &d) && !slot_opens(&h, 1, "new", &d));
	d_forget(&d);
	free(before);
	free(d.area);
}

TEST(erase_survives_a_crash_anywhere)
{
	struct disk d = { 0 };
	struct vs_luks_header h;
	struct vs_error err = { 0 };
	uint8_t master[VS_LUKS_MAX_KEY];
	unsigned slot, mask = 0;
	CHECK(make(&d, &h, master) == 0);
	if (!d.area)
		return;
	struct vs_luks_io io = { d_read, d_write, d_sync, &d, d.len };
	struct vs_luks_amend add = {
		.state = VS_LUKS_STATE_ACTIVE, .keyslot = 6, .new_secret = "new", .new_len = 3
	};
	add.iter_time_ms = 1;
	CHECK(vs_luks_add_key(&h, master, &add, &io, &slot, &err) == 0);
	d_forget(&d);
	uint8_t *before = malloc(d.len);
	memcpy(before, d.area, d.len);
	struct vs_luks_amend er = {
		.state = VS_LUKS_STATE_INACTIVE, .keyslot = -1, .old_secret = "old", .old_len = 3
	};
	CHECK(vs_luks_erase_keys(&h, &er, &io, &mask, &err) == 0);
	CHECK_EQ(mask, 1u);
	const char *const both[] = { "old", "new" };
	CHECK_EQ(crash_states(before, &d, both, 2, "new"), 0u);
	/* Slot 0's material is gone from the area, not just its flag. */
	size_t ml = vs_luks_material_len(&h);
	CHECK(memcmp(d.area + (size_t)h.slots[0].key_offset * VS_LUKS_SECTOR,
		     before + (size_t)h.slots[0].key_offset * VS_LUKS_SECTOR, ml) != 0);
	d_forget(&d);
	/* The last slot stays unless forced. */
	er = (struct vs_luks_amend){ .state = VS_LUKS_STATE_INACTIVE, .keyslot = 6 };
	CHECK(vs_luks_erase_keys(&h, &er, &io, &mask, &err) < 0);
	CHECK(strstr(err.msg, "only active keyslot 6") != NULL);
	CHECK_EQ(d.nops, 0u);
	er.force = true;
	CHECK(vs_luks_erase_keys(&h, &er, &io, &mask, &err) == 0);
	CHECK(!h.slots[6].active);
	d_forget(&d);
	free(before);
	free(d.area);
}

TEST(bad_combinations_and_slot_areas)
{
	struct vs_error err = { 0 };
	struct vs_luks_amend a = { .state = VS_LUKS_STATE_ACTIVE, .keyslot = -1 };
	CHECK(vs_luks_amend_check(&a, &err) < 0 && strstr(err.msg, "'new-secret' is required"));
	a = (struct vs_luks_amend){ .state = VS_LUKS_STATE_INACTIVE, .keyslot = -1 };
	CHECK(vs_luks_amend_check(&a, &err) < 0 && strstr(err.msg, "To erase keyslot(s)"));
	a.keyslot = 8;
	CHECK(vs_luks_amend_check(&a, &err) < 0 && strstr(err.msg, "Invalid keyslot 8"));
	a = (struct vs_luks_amend){ .state = VS_LUKS_STATE_INACTIVE, .keyslot = 1, .new_secret = "x" };
	CHECK(vs_luks_amend_check(&a, &err) < 0 && strstr(err.msg, "'new-secret' must not be given"));

	/* An inactive slot whose area overlaps an active one is not written. */
	struct disk d = { 0 };
	struct vs_luks_header h;
	uint8_t master[VS_LUKS_MAX_KEY];
	unsigned slot;
	CHECK(make(&d, &h, master) == 0);
	if (!d.area)
		return;
	h.slots[3].key_offset = h.slots[0].key_offset + 1;
	CHECK(vs_luks_check_slot_area(&h, 3, d.len, &err) < 0 && strstr(err.msg, "overlap"));
	struct vs_luks_io io = { d_read, d_write, d_sync, &d, d.len };
	a = (struct vs_luks_amend){ .state = VS_LUKS_STATE_ACTIVE,
				    .keyslot = 3,
				    .new_secret = "n",
				    .new_len = 1,
				    .iter_time_ms = 1 };
	CHECK(vs_luks_add_key(&h, master, &a, &io, &slot, &err) < 0);
	CHECK_EQ(d.nops, 0u);
	h.slots[3].key_offset = (uint32_t)(d.len / VS_LUKS_SECTOR);
	CHECK(vs_luks_check_slot_area(&h, 3, d.len, &err) < 0 && strstr(err.msg, "past the end"));
	d_forget(&d);
	free(d.area);
}

VS_TAP_MAIN(TAP_CASE(add_key_survives_a_crash_anywhere), TAP_CASE(erase_survives_a_crash_anywhere),
	    TAP_CASE(bad_combinations_and_slot_areas))
