/* The decoded-block cache: runs of common instructions decoded once into
 * records (a handler and its pre-decoded operands) and replayed from
 * there. Anything the block decoder does not know ends the block and runs
 * through the interpreter (vs_emu_step), so the records only cover the
 * plain integer instructions that dominate kernel and user code.
 *
 * Blocks are per vCPU (no locking), keyed by the host offset of their
 * first byte in guest RAM (so by guest-physical address) and the decoding
 * mode (64-bit or 32-bit code; 16-bit code always interprets).
 *
 * Self-modifying code, two mechanisms:
 * - Every block keeps a copy of its bytes and compares them on entry:
 *   writes from other vCPUs, devices or this vCPU's string and atomic
 *   paths are seen at the next block boundary, which is as soon as
 *   cross-modifying code is guaranteed to be seen on hardware.
 * - Within a block, a store into the block's own page must stop it after
 *   the storing instruction: pages with blocks are marked in the vCPU's
 *   code map, never get a write tag in its TLB, and the write slow path
 *   (vs_emu_translate) clears the mark and raises `attention`, which ends
 *   the block. The mark comes back (with the page's write tags flushed)
 *   the next time a block on that page is entered.
 *
 * Faults: c->rip is at each record's instruction while it runs, and every
 * handler loads and checks before it writes, like the interpreter. */
#include <stdlib.h>
#include <sys/mman.h>

#include "accel/emu/block.h"

/* ---- the cache ----
 *
 * Set-associative: a block's set is picked by hashing its key's RAM
 * offset, BLK_WAYS blocks a set, the least recently looked-up one
 * replaced. A direct-mapped table of the same sets lost one block in
 * eight looked up to a collision while Linux forks and execs (kernel and
 * busybox code together are some 30000 blocks), and every loss costs a
 * decode and, once hot again, a compile. The keys and use stamps of a set
 * share one cache line, so a look-up reads one line before the block.
 * The layout is in block.h: jit.c's far chain looks blocks up too. */

static struct blk_cache *blk_table(struct vs_emu_cpu *c)
{
	if (unlikely(!c->blk_tab)) {
		/* Tens of MiB of which a guest touches what it runs: mapped
		 * so that untouched pages cost nothing (calloc may memset). */
		void *t = mmap(NULL, sizeof(struct blk_cache), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		c->blk_tab = t == MAP_FAILED ? NULL : t;
		c->code_map = calloc(c->mem->total >> 12, 1);
		vs_jit_init(c);
		if (!c->blk_tab || !c->code_map) {
			vs_emu_blocks_free(c);
			c->blk_off = true;
			return NULL;
		}
	}
	return c->blk_tab;
}

void vs_emu_blocks_free(struct vs_emu_cpu *c)
{
	if (c->blk_tab)
		munmap(c->blk_tab, sizeof(struct blk_cache));
	free(c->code_map);
	vs_jit_free(c);
	c->blk_tab = NULL;
	c->code_map = NULL;
}

/* Mark a page as holding blocks: no write tag for it in this vCPU's TLB
 * from now on, so stores to it take the slow path and are seen. */
static void mark_code(struct vs_emu_cpu *c, uint64_t page)
{
	const uint8_t *host = c->mem->base + (page << 12);
	c->code_map[page] = 1;
	for (unsigned i = 0; i < TLB_SIZE; i++)
		if (c->tlb[i].tag_w && c->tlb[i].host == host)
			c->tlb[i].tag_w = 0;
}

/* The block's bytes are still those in guest RAM (no other vCPU, device
 * or string store changed them since it was decoded). */
static inline bool same_bytes(const struct blk *b, const uint8_t *host)
{
	unsigned n = b->nbytes;
	uint64_t x, y;
	if (unlikely(n < 8)) {
		uint32_t u, v;
		if (n < 4)
			return memcmp(b->bytes, host, n) == 0;
		/* Two words, overlapping. */
		memcpy(&u, b->bytes, 4);
		memcpy(&v, host, 4);
		if (u != v)
			return false;
		memcpy(&u, b->bytes + n - 4, 4);
		memcpy(&v, host + n - 4, 4);
		return u == v;
	}
	/* Whole words, the last one overlapping the one before. */
	for (unsigned i = 0; i + 8 < n; i += 8) {
		memcpy(&x, b->bytes + i, 8);
		memcpy(&y, host + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, b->bytes + n - 8, 8);
	memcpy(&y, host + n - 8, 8);
	return x == y;
}

static inline unsigned set_of(uint64_t off)
{
	return (unsigned)((off * 0x9e3779b97f4a7c15ull) >> (64 - BLK_BITS));
}

/* The block at `host` (guest RAM offset `off`): the one of its set with
 * that key if its bytes are still the same, else decoded again in its
 * place; else decoded in place of the set's least recently used one. */
static struct blk *blk_get(struct vs_emu_cpu *c, struct blk_cache *tab, uint64_t off, uint64_t key)
{
	unsigned s = set_of(off), w, victim = 0;
	struct blk_set *set = &tab->set[s];
	struct blk *b;
	const uint8_t *host = c->mem->base + off;
	for (w = 0; w < BLK_WAYS; w++)
		if (set->key[w] == key)
			break;
	if (likely(w < BLK_WAYS)) {
		b = &tab->blk[s * BLK_WAYS + w];
		set->used[w] = ++tab->clock;
		if (likely(same_bytes(b, host)))
			return b;
	} else {
		for (w = 1; w < BLK_WAYS; w++)
			if (set->used[w] < set->used[victim])
				victim = w;
		w = victim;
		b = &tab->blk[s * BLK_WAYS + w];
		set->used[w] = ++tab->clock;
	}
	vs_blk_build(c, b, host, 4096 - (unsigned)(off & 0xfff), key);
	set->key[w] = key;
	return b;
}

static inline uint64_t code_la(const struct vs_emu_cpu *c)
{
	return c->long64 ? c->rip : (uint32_t)(c->seg[S_CS].base + c->rip);
}

/* The block at RIP, or NULL to interpret. May fault on the fetch. */
static struct blk *blk_find(struct vs_emu_cpu *c)
{
	struct blk_cache *tab = blk_table(c);
	uint64_t la, off, page;
	const uint8_t *host;
	if (!tab)
		return NULL;
	la = code_la(c);
	if (unlikely((la & ~0xfffull) + 1 != c->fetch_page))
		vs_emu_fetch_slow(c, la);
	host = c->fetch_host + (la & 0xfff);
	off = (uint64_t)(host - c->mem->base);
	if (unlikely(host < c->mem->base || off >= c->mem->total))
		return NULL;
	page = off >> 12;
	if (unlikely(!c->code_map[page]))
		mark_code(c, page);
	return blk_get(c, tab, off, off << 2 | (c->long64 ? 1 : 2));
}

/* The block after `b` when RIP is still on the linear page `b` was
 * entered on (`page_la`): that linear page maps the same guest page as
 * when the chain was entered (only interpreted instructions and
 * exceptions change translations or the mode, and both end the chain),
 * and the page keeps its code mark (a store to it raises `attention`,
 * which ends the chain too). So no translation and no code-map look-up:
 * the successor is found through b's links, or else its set. A link is
 * checked against the slot's key, so blocks rebuilt or replaced since are
 * never followed; no generation count is needed. NULL: look it up in
 * full. */
static struct blk *blk_next(struct vs_emu_cpu *c, struct blk *b, uint64_t page_la)
{
	uint64_t la = code_la(c), key, off;
	unsigned pg = (unsigned)(la & 0xfff), i;
	struct blk *n;
	if ((la & ~0xfffull) != page_la)
		return NULL;
	off = ((uint64_t)(b->host - c->mem->base) & ~0xfffull) | pg;
	key = off << 2 | (b->key & 3);
	for (i = 0; i < 2; i++) {
		n = b->link[i];
		if (n && b->link_off[i] == pg && n->key == key && same_bytes(n, n->host))
			return n;
	}
	n = blk_get(c, c->blk_tab, off, key);
	i = b->link[0] == NULL ? 0 : 1;
	b->link[i] = n;
	b->link_off[i] = (uint16_t)pg;
	return n;
}

static inline void step_one(struct vs_emu_cpu *c)
{
	vs_emu_step(c);
	if (unlikely(++c->icount == c->icount_stop))
		atomic_store(&c->attention, 1);
}

/* Run a block record by record, counting each against the step limit.
 * Returns false when it stopped before its end. */
static bool run_counted(struct vs_emu_cpu *c, struct blk *b)
{
	for (struct blk_rec *r = b->rec, *end = r + b->nrec; r < end; r++) {
		r->fn(c, r);
		if (++c->icount == c->icount_stop)
			atomic_store(&c->attention, 1);
		if (atomic_load_explicit(&c->attention, memory_order_relaxed))
			return false;
	}
	return true;
}

/* Run a whole block: its host code when compiled, else its records.
 * `attention` is looked at only after records that may store (a store
 * into a page with blocks must end the block right after it); interrupts
 * and kicks wait for the end of the block. Returns false when it stopped
 * before its end. A fault inside is counted by vs_emu_blocks_fault. */
static bool run_whole_1(struct vs_emu_cpu *c, struct blk *b)
{
	if (b->jit) {
		if (likely(b->jit_gen == c->jit_gen)) {
			unsigned n;
			if (c->jit_link) {
				/* The last block's exit came here: link its code
				 * to this block's. */
				if (c->jit_link_gen == c->jit_gen)
					vs_jit_link(c, c->jit_link, b);
				c->jit_link = NULL;
			}
			n = b->jit(c);
			c->jit_link_gen = c->jit_gen;
			c->icount += n & ~JIT_STOPPED;
			return !(n & JIT_STOPPED);
		}
		b->jit = NULL; /* the code buffer started over */
		b->runs = 0;
	} else if (c->jit_hot && ++b->runs == c->jit_hot) {
		b->jit = vs_jit_compile(c, b);
		if (b->jit)
			return run_whole_1(c, b);
	}
	for (struct blk_rec *r = b->rec, *end = r + b->nrec; r < end; r++) {
		r->fn(c, r);
		if (r->stores && atomic_load_explicit(&c->attention, memory_order_relaxed)) {
			c->icount += (uint64_t)(r - b->rec) + 1;
			return false;
		}
	}
	c->icount += b->nrec;
	return true;
}

/* run_whole_1, noting the block for vs_emu_blocks_fault. */
static bool run_whole(struct vs_emu_cpu *c, struct blk *b)
{
	c->blk_cur = b;
	c->blk_cur_rip = c->rip;
	return run_whole_1(c, b);
}

void vs_emu_blocks_fault(struct vs_emu_cpu *c)
{
	struct blk *b = c->blk_cur;
	uint64_t at = 0;
	c->blk_cur = NULL;
	c->jit_link = NULL;
	/* Without a step limit, compiled blocks run on into each other and
	 * count themselves; the count is only a statistic then. */
	if (!b || !c->icount_stop)
		return;
	/* RIP is at the faulting instruction: the records before it ran. */
	for (unsigned i = 0; i < b->nrec; i++) {
		if (c->rip - c->blk_cur_rip == at) {
			c->icount += i;
			return;
		}
		at += b->rec[i].len;
	}
}

void vs_emu_run_blocks(struct vs_emu_cpu *c)
{
	while (!atomic_load_explicit(&c->attention, memory_order_relaxed)) {
		struct blk *b;
		uint64_t page_la;
		bool done;
		if (c->code_size == 2 || c->blk_off) {
			step_one(c);
			continue;
		}
		b = blk_find(c);
		if (!b) {
			step_one(c);
			continue;
		}
		page_la = code_la(c) & ~0xfffull;
		for (;;) {
			/* With a step limit, a block that might reach it runs
			 * counted, instruction by instruction. */
			if (unlikely(c->icount_stop) && c->icount + b->nrec + 1 >= c->icount_stop) {
				if (run_counted(c, b) && b->tail)
					step_one(c);
				break;
			}
			done = run_whole(c, b);
			/* Compiled code may have run on into other blocks,
			 * through a RET onto another page too (jit.c's
			 * emit_ret_chain: blk_cur_rip is on their page). */
			b = c->blk_cur;
			c->blk_cur = NULL;
			if (c->long64)
				page_la = c->blk_cur_rip & ~0xfffull;
			if (!done)
				return;
			if (!b) /* one whose bytes changed: look it up in full */
				break;
			if (b->tail) {
				/* The interpreter may change the mode or the page
				 * tables: look the next block up in full. */
				step_one(c);
				break;
			}
			if (atomic_load_explicit(&c->attention, memory_order_relaxed))
				return;
			b = blk_next(c, b, page_la);
			if (!b)
				break;
		}
	}
}
