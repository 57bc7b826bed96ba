/* Table cache for L2 tables and refcount blocks: a fixed number of
 * cluster-sized slots, least recently used out. Mostly write-through:
 * callers write changed entries to the file themselves, except for slots
 * marked dirty (L2 entries waiting for their refcounts to be durable,
 * refcount blocks under lazy refcounts), which are written back whole on
 * eviction and by qcow2_cache_write_back(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2/qcow2.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cluster_size)
{
	if (n < 2)
		n = 2;
	c->n = n;
	c->clock = 0;
	c->ndirty = 0;
	c->slots = calloc(n, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		/* Aligned for O_DIRECT: tables go to the file without a copy. */
		void *p = NULL;
		c->slots[i].data = posix_memalign(&p, 4096, cluster_size) == 0 ? p : NULL;
		if (!c->slots[i].data) {
			qcow2_cache_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	if (!c->slots)
		return;
	for (unsigned i = 0; i < c->n; i++)
		free(c->slots[i].data);
	free(c->slots);
	c->slots = NULL;
}

static struct qcow2_cache_slot *lookup(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slots[i].offset == offset) {
			c->slots[i].used = ++c->clock;
			return &c->slots[i];
		}
	return NULL;
}

static struct qcow2_cache_slot *victim(struct qcow2_cache *c)
{
	struct qcow2_cache_slot *v = &c->slots[0];
	for (unsigned i = 1; i < c->n; i++)
		if (c->slots[i].used < v->used)
			v = &c->slots[i];
	return v;
}

static void set_dirty(struct qcow2_cache *c, struct qcow2_cache_slot *sl, bool dirty)
{
	if (sl->dirty != dirty)
		c->ndirty += dirty ? 1u : (unsigned)-1;
	sl->dirty = dirty;
	if (!dirty)
		sl->dirty_lo = sl->dirty_hi = 0;
}

static void add_dirty(struct qcow2_cache *c, struct qcow2_cache_slot *sl, uint64_t lo, uint64_t hi)
{
	if (!sl->dirty || lo < sl->dirty_lo)
		sl->dirty_lo = (uint32_t)lo;
	if (!sl->dirty || hi > sl->dirty_hi)
		sl->dirty_hi = (uint32_t)hi;
	set_dirty(c, sl, true);
}

static int write_slot(struct qcow2 *s, struct qcow2_cache *c, struct qcow2_cache_slot *sl)
{
	/* L2 entries may point at clusters whose refcounts are not durable
	 * yet: a barrier first. */
	int r = c == &s->l2_cache ? qcow2_barrier(s) : 0;
	/* The changed bytes only, widened to whole sectors (O_DIRECT blocks). */
	uint64_t a = s->bs->direct_align > 512 ? s->bs->direct_align : 512;
	uint64_t lo = sl->dirty_lo & ~(a - 1), hi = ((uint64_t)sl->dirty_hi + a - 1) & ~(a - 1);
	if (hi > s->cluster_size || hi <= lo)
		lo = 0, hi = s->cluster_size;
	if (r == 0)
		r = qcow2_pwrite(s, sl->offset + lo, sl->data + lo, hi - lo);
	if (r == 0)
		set_dirty(c, sl, false);
	return r;
}

/* A slot to reuse, its dirty content written back first. */
static int evict(struct qcow2 *s, struct qcow2_cache *c, struct qcow2_cache_slot **out)
{
	struct qcow2_cache_slot *sl = victim(c);
	if (sl->dirty && sl->offset) {
		int r = write_slot(s, c, sl);
		if (r < 0)
			return r;
	}
	set_dirty(c, sl, false);
	*out = sl;
	return 0;
}

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, uint8_t **data)
{
	struct qcow2_cache_slot *sl = lookup(c, offset);
	if (sl) {
		*data = sl->data;
		return 0;
	}
	int r = evict(s, c, &sl);
	if (r < 0)
		return r;
	sl->offset = 0;
	r = qcow2_pread(s, offset, sl->data, s->cluster_size);
	if (r < 0)
		return r;
	sl->offset = offset;
	sl->used = ++c->clock;
	*data = sl->data;
	return 0;
}

int qcow2_cache_install(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, uint8_t **data)
{
	struct qcow2_cache_slot *sl = lookup(c, offset);
	if (!sl) {
		int r = evict(s, c, &sl);
		if (r < 0)
			return r;
		sl->offset = offset;
		sl->used = ++c->clock;
	}
	*data = sl->data;
	return 0;
}

/* A dropped table is no longer referenced: its pending content goes too. */
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slots[i].offset == offset) {
			c->slots[i].offset = 0;
			set_dirty(c, &c->slots[i], false);
		}
}

void qcow2_cache_mark_dirty_range(struct qcow2_cache *c, uint64_t offset, uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slots[i].offset == offset)
			add_dirty(c, &c->slots[i], lo, hi);
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint64_t offset)
{
	qcow2_cache_mark_dirty_range(c, offset, 0, UINT32_MAX);
}

bool qcow2_cache_has_dirty(const struct qcow2_cache *c)
{
	return c->ndirty != 0;
}

int qcow2_cache_write_back(struct qcow2 *s, struct qcow2_cache *c)
{
	for (unsigned i = 0; c->ndirty && i < c->n; i++)
		if (c->slots[i].dirty) {
			int r = write_slot(s, c, &c->slots[i]);
			if (r < 0)
				return r;
		}
	return 0;
}
