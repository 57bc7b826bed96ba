/* Packed virtqueues, with the test as the driver: descriptors made
 * available in the ring with the driver's wrap counter, used descriptors
 * read back, event suppression written by the driver. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "tap.h"

#define QSIZE 4
#define RING 0x10000ull
#define DRIVER 0x20000ull
#define DEVICE 0x30000ull
#define BUF 0x100000ull
#define TABLE 0x200000ull
#define F_NEXT VS_VRING_DESC_F_NEXT
#define F_WRITE VS_VRING_DESC_F_WRITE
#define F_INDIRECT VS_VRING_DESC_F_INDIRECT

struct drv {
	struct vs_guest_mem mem;
	struct vs_vq vq;
	uint16_t pos;
	bool wrap;
};

static int drv_init(struct drv *d, bool event_idx, bool indirect)
{
	struct vs_error err = { 0 };
	memset(d, 0, sizeof(*d));
	d->wrap = true;
	if (vs_guest_mem_create(&d->mem, 16 * VS_MiB, &err) < 0)
		return -1;
	return vs_vq_enable_packed(&d->vq, &d->mem, QSIZE, RING, DRIVER, DEVICE, event_idx, indirect);
}

/* The flags that make a descriptor available in the driver's current lap. */
static uint16_t avail_bits(bool wrap)
{
	return wrap ? VS_VRING_PACKED_F_AVAIL : VS_VRING_PACKED_F_USED;
}

static void put(struct drv *d, uint64_t gpa, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
	struct vs_vring_packed_desc desc = { addr, len, id, flags };
	vs_gpa_write(&d->mem, gpa, &desc, sizeof(desc));
}

/* Make a chain of `n` segments available as buffer `id`; the flags of
 * each segment come from `flags` (NEXT added for all but the last). */
static void add_chain(struct drv *d, uint16_t id, unsigned n, const uint16_t *flags)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t f = (uint16_t)(flags[i] | (i + 1 < n ? F_NEXT : 0) | avail_bits(d->wrap));
		put(d, RING + 16ull * d->pos, BUF + 0x100 * i, 0x10, id, f);
		if (++d->pos == QSIZE) {
			d->pos = 0;
			d->wrap = !d->wrap;
		}
	}
}

static struct vs_vring_packed_desc slot(struct drv *d, uint16_t i)
{
	struct vs_vring_packed_desc desc;
	vs_gpa_read(&d->mem, RING + 16ull * i, &desc, sizeof(desc));
	return desc;
}

static void set_driver_event(struct drv *d, uint16_t off_wrap, uint16_t flags)
{
	uint16_t v[2] = { off_wrap, flags };
	vs_gpa_write(&d->mem, DRIVER, v, sizeof(v));
}

/* Chains wrap the ring; buffers complete out of order; each used
 * descriptor carries its id and length with both bits set to the
 * device's wrap counter, and the device skips each buffer's slots. */
TEST(chains_wrap_and_complete_out_of_order)
{
	struct drv d;
	static struct vs_vq_elem a, b, c;
	static const uint16_t out_in[] = { 0, F_WRITE }, one_in[] = { F_WRITE };
	struct vs_vring_packed_desc u;
	CHECK(drv_init(&d, false, false) == 0);
	CHECK(vs_vq_pop(&d.vq, &a) == 0);
	add_chain(&d, 2, 2, out_in); /* slots 0-1 */
	add_chain(&d, 0, 1, one_in); /* slot 2 */
	CHECK(vs_vq_pop(&d.vq, &a) == 1);
	CHECK_EQ_U64(a.head, 2);
	CHECK_EQ_U64(a.nout, 1);
	CHECK_EQ_U64(a.nin, 1);
	CHECK(vs_vq_pop(&d.vq, &b) == 1);
	CHECK_EQ_U64(b.head, 0);
	CHECK(vs_vq_pop(&d.vq, &c) == 0);
	/* b completes first: slot 0 becomes its used descriptor. */
	vs_vq_push(&d.vq, b.head, 7);
	u = slot(&d, 0);
	CHECK_EQ_U64(u.id, 0);
	CHECK_EQ_U64(u.len, 7);
	CHECK_EQ_U64(u.flags & (VS_VRING_PACKED_F_AVAIL | VS_VRING_PACKED_F_USED),
		     VS_VRING_PACKED_F_AVAIL | VS_VRING_PACKED_F_USED);
	vs_vq_push(&d.vq, a.head, 9); /* slot 1, then the device skips slot 2 */
	CHECK_EQ_U64(slot(&d, 1).id, 2);
	CHECK_EQ_U64(slot(&d, 1).len, 9);
	/* The driver frees slots 0-2 and adds a chain over the wrap: slot 3
	 * in lap 1, slots 0-1 in lap 2 (AVAIL clear, USED set). */
	add_chain(&d, 1, 1, one_in);
	{
		static const uint16_t three[] = { 0, 0, F_WRITE };
		add_chain(&d, 3, 3, three);
	}
	CHECK(vs_vq_pop(&d.vq, &c) == 1);
	CHECK_EQ_U64(c.head, 1);
	CHECK(vs_vq_pop(&d.vq, &c) == 1);
	CHECK_EQ_U64(c.head, 3);
	CHECK_EQ_U64(c.nout, 2);
	CHECK_EQ_U64(c.nin, 1);
	/* Unpop gives the same chain back, across the wrap. */
	vs_vq_unpop(&d.vq);
	CHECK(vs_vq_pop(&d.vq, &c) == 1);
	CHECK_EQ_U64(c.head, 3);
	CHECK(vs_vq_pop(&d.vq, &c) == 0);
	vs_vq_push(&d.vq, 3, 1); /* at slot 3 (lap 1), then wraps */
	CHECK_EQ_U64(slot(&d, 3).id, 3);
	vs_vq_push(&d.vq, 1, 1); /* at slot 2 of lap 2: both bits clear */
	u = slot(&d, 2);
	CHECK_EQ_U64(u.id, 1);
	CHECK_EQ_U64(u.flags & (VS_VRING_PACKED_F_AVAIL | VS_VRING_PACKED_F_USED), 0);
	/* Pushing an id the device does not hold writes nothing. */
	vs_vq_push(&d.vq, 1, 5);
	CHECK_EQ_U64(slot(&d, 3).id, 3);
	CHECK(!d.vq.broken);
	vs_guest_mem_release(&d.mem);
}

/* A descriptor whose bits do not say "available in this lap" is not
 * taken: both set (used), or AVAIL from the previous lap. */
TEST(unavailable_descriptors_wait)
{
	struct drv d;
	static struct vs_vq_elem e;
	CHECK(drv_init(&d, false, false) == 0);
	put(&d, RING, BUF, 16, 0, VS_VRING_PACKED_F_AVAIL | VS_VRING_PACKED_F_USED);
	CHECK(vs_vq_pop(&d.vq, &e) == 0);
	put(&d, RING, BUF, 16, 0, VS_VRING_PACKED_F_USED);
	CHECK(vs_vq_pop(&d.vq, &e) == 0);
	put(&d, RING, BUF, 16, 0, VS_VRING_PACKED_F_AVAIL);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	vs_guest_mem_release(&d.mem);
}

static void expect_broken(int *failed_, struct drv *d)
{
	static struct vs_vq_elem e;
	CHECK(vs_vq_pop(&d->vq, &e) == -EINVAL);
	CHECK(d->vq.broken);
	CHECK(vs_vq_pop(&d->vq, &e) == -EINVAL);
	vs_guest_mem_release(&d->mem);
}

TEST(chain_round_the_ring_is_refused)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	/* Every slot says NEXT, in both laps' encodings: the walk would
	 * never end. */
	for (int i = 0; i < QSIZE; i++)
		put(&d, RING + 16ull * i, BUF, 16, 0, F_NEXT | VS_VRING_PACKED_F_AVAIL);
	expect_broken(failed_, &d);
}

TEST(bad_chains_are_refused)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
		uint16_t id, flags;
		bool indirect;
	} cases[] = {
		{ BUF, 16, QSIZE, 0, false },		     /* id beyond the ring */
		{ 16 * VS_MiB - 4, 8, 0, 0, false },	     /* straddles the end of RAM */
		{ UINT64_MAX - 3, 8, 0, 0, false },	     /* wraps the address space */
		{ TABLE, 16, 0, F_INDIRECT, false },	     /* indirect not negotiated */
		{ TABLE, 24, 0, F_INDIRECT, true },	     /* not whole descriptors */
		{ TABLE, 16, 0, F_INDIRECT | F_NEXT, true }, /* indirect chained on */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct drv d;
		CHECK(drv_init(&d, false, cases[i].indirect) == 0);
		put(&d, TABLE, BUF, 16, 0, 0);
		put(&d, RING, cases[i].addr, cases[i].len, cases[i].id,
		    (uint16_t)(cases[i].flags | VS_VRING_PACKED_F_AVAIL));
		put(&d, RING + 16, BUF, 16, 0, VS_VRING_PACKED_F_AVAIL);
		printf("# case %zu\n", i);
		expect_broken(failed_, &d);
	}
}

TEST(readable_after_writable)
{
	struct drv d;
	static const uint16_t in_out[] = { F_WRITE, 0 };
	CHECK(drv_init(&d, false, false) == 0);
	add_chain(&d, 0, 2, in_out);
	expect_broken(failed_, &d);
}

TEST(indirect_tables)
{
	struct drv d;
	static struct vs_vq_elem e;
	CHECK(drv_init(&d, false, true) == 0);
	/* NEXT means nothing inside a table: entries follow each other. */
	put(&d, TABLE, BUF, 16, 0, F_NEXT);
	put(&d, TABLE + 16, BUF + 16, 4, 0, F_WRITE);
	put(&d, TABLE + 32, BUF + 32, 1, 0, F_WRITE);
	put(&d, RING, TABLE, 48, 3, F_INDIRECT | VS_VRING_PACKED_F_AVAIL);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	CHECK_EQ_U64(e.head, 3);
	CHECK_EQ_U64(e.nout, 1);
	CHECK_EQ_U64(e.nin, 2);
	CHECK_EQ_U64(e.in_len, 5);
	vs_vq_push(&d.vq, e.head, 5);
	CHECK_EQ_U64(slot(&d, 0).id, 3);
	/* A table inside a table. */
	put(&d, TABLE + 0x100, TABLE, 16, 0, F_INDIRECT);
	put(&d, RING + 16, TABLE + 0x100, 16, 1, F_INDIRECT | VS_VRING_PACKED_F_AVAIL);
	expect_broken(failed_, &d);
}

TEST(indirect_after_a_direct_descriptor)
{
	struct drv d;
	CHECK(drv_init(&d, false, true) == 0);
	put(&d, TABLE, BUF, 16, 0, 0);
	put(&d, RING, BUF, 16, 0, F_NEXT | VS_VRING_PACKED_F_AVAIL);
	put(&d, RING + 16, TABLE, 16, 0, F_INDIRECT | VS_VRING_PACKED_F_AVAIL);
	expect_broken(failed_, &d);
}

/* Driver event suppression: ENABLE always, DISABLE never, DESC (with
 * EVENT_IDX) once the used position passes the named descriptor, in the
 * named lap. The device asks for every notification itself. */
TEST(event_suppression)
{
	struct drv d;
	static struct vs_vq_elem e;
	static const uint16_t in[] = { F_WRITE };
	uint16_t dev_event[2] = { 0xffff, 0xffff };
	CHECK(drv_init(&d, true, false) == 0);
	vs_gpa_read(&d.mem, DEVICE, dev_event, sizeof(dev_event));
	CHECK_EQ_U64(dev_event[1], VS_VRING_EVENT_F_ENABLE);
	CHECK(!vs_vq_should_notify(&d.vq)); /* nothing used yet */
	set_driver_event(&d, 0, VS_VRING_EVENT_F_DISABLE);
	add_chain(&d, 0, 1, in);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	vs_vq_push(&d.vq, e.head, 1);
	CHECK(!vs_vq_should_notify(&d.vq));
	set_driver_event(&d, 0, VS_VRING_EVENT_F_ENABLE);
	add_chain(&d, 1, 1, in);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	vs_vq_push(&d.vq, e.head, 1);
	CHECK(vs_vq_should_notify(&d.vq));
	/* Used position is 2 (lap 1): ask for an interrupt after slot 3,
	 * i.e. once the used position steps past 3. */
	set_driver_event(&d, 3 | 0x8000, VS_VRING_EVENT_F_DESC);
	add_chain(&d, 2, 1, in);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	vs_vq_push(&d.vq, e.head, 1); /* slot 2 */
	CHECK(!vs_vq_should_notify(&d.vq));
	add_chain(&d, 3, 1, in);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	vs_vq_push(&d.vq, e.head, 1); /* slot 3: the event */
	CHECK(vs_vq_should_notify(&d.vq));
	/* Lap 2, slot 0 (wrap bit clear): passed by the next used buffer. */
	set_driver_event(&d, 0, VS_VRING_EVENT_F_DESC);
	add_chain(&d, 0, 1, in);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	vs_vq_push(&d.vq, e.head, 1);
	CHECK(vs_vq_should_notify(&d.vq));
	vs_guest_mem_release(&d.mem);
}

TEST(enable_checks_the_areas)
{
	struct vs_guest_mem mem;
	static struct vs_vq vq;
	struct vs_error err = { 0 };
	CHECK(vs_guest_mem_create(&mem, 16 * VS_MiB, &err) == 0);
	CHECK(vs_vq_enable_packed(&vq, &mem, 6, RING, DRIVER, DEVICE, false, false) == -EINVAL);
	CHECK(vs_vq_enable_packed(&vq, &mem, 2 * VS_VQ_PACKED_MAX_SIZE, RING, DRIVER, DEVICE, false, false) ==
	      -EINVAL);
	CHECK(vs_vq_enable_packed(&vq, &mem, 8, RING + 8, DRIVER, DEVICE, false, false) == -EINVAL);
	CHECK(vs_vq_enable_packed(&vq, &mem, 8, RING, DRIVER + 2, DEVICE, false, false) == -EINVAL);
	CHECK(vs_vq_enable_packed(&vq, &mem, 8, RING, DRIVER, DEVICE + 1, false, false) == -EINVAL);
	CHECK(vs_vq_enable_packed(&vq, &mem, 8, 16 * VS_MiB - 64, DRIVER, DEVICE, false, false) == -EINVAL);
	CHECK(vs_vq_enable_packed(&vq, &mem, 8, RING, 0xc0000000ull, DEVICE, false, false) == -EINVAL);
	CHECK_EQ_U64(vq.size, 0);
	CHECK(vs_vq_enable_packed(&vq, &mem, 8, RING, DRIVER, DEVICE, false, false) == 0);
	CHECK(vq.packed);
	vs_guest_mem_release(&mem);
}

VS_TAP_MAIN(TAP_CASE(chains_wrap_and_complete_out_of_order), TAP_CASE(unavailable_descriptors_wait),
	    TAP_CASE(chain_round_the_ring_is_refused), TAP_CASE(bad_chains_are_refused),
	    TAP_CASE(readable_after_writable), TAP_CASE(indirect_tables),
	    TAP_CASE(indirect_after_a_direct_descriptor), TAP_CASE(event_suppression),
	    TAP_CASE(enable_checks_the_areas))
