/* Table cache for L2 tables and refcount blocks: a fixed number of
 * cluster-sized slots, least recently used out. Write-through: callers
 * write changed entries to the file themselves, so an evicted slot never
 * needs writing back. */
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
	c->slots = calloc(n, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		c->slots[i].data = malloc(cluster_size);
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

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, uint8_t **data)
{
	struct qcow2_cache_slot *sl = lookup(c, offset);
	if (sl) {
		*data = sl->data;
		return 0;
	}
	sl = victim(c);
	sl->offset = 0;
	int r = qcow2_pread(s, offset, sl->data, s->cluster_size);
	if (r < 0)
		return r;
	sl->offset = offset;
	sl->used = ++c->clock;
	*data = sl->data;
	return 0;
}

int qcow2_cache_install(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, uint8_t **data)
{
	(void)s;
	struct qcow2_cache_slot *sl = lookup(c, offset);
	if (!sl) {
		sl = victim(c);
		sl->offset = offset;
		sl->used = ++c->clock;
	}
	*data = sl->data;
	return 0;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slots[i].offset == offset)
			c->slots[i].offset = 0;
}
