/* Split virtqueues, with the test as the driver: descriptors, the
 * available ring and the used ring written and read in guest memory. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "tap.h"

#define QSIZE 8
#define DESC 0x10000ull
#define AVAIL 0x20000ull
#define USED 0x30000ull
#define BUF 0x100000ull
#define TABLE 0x200000ull

struct drv {
	struct vs_guest_mem mem;
	struct vs_vq vq;
	uint16_t avail_idx;
};

static int drv_init(struct drv *d, bool event_idx, bool indirect)
{
	struct vs_error err = { 0 };
	memset(d, 0, sizeof(*d));
	if (vs_guest_mem_create(&d->mem, 16 * VS_MiB, &err) < 0)
		return -1;
	return vs_vq_enable(&d->vq, &d->mem, QSIZE, DESC, AVAIL, USED, event_idx, indirect);
}

static void put_desc(struct drv *d, uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vs_vring_desc desc = { addr, len, flags, next };
	vs_gpa_write(&d->mem, table + 16ull * i, &desc, sizeof(desc));
}

static void publish(struct drv *d, uint16_t head)
{
	vs_gpa_write(&d->mem, AVAIL + 4 + 2ull * (d->avail_idx % QSIZE), &head, 2);
	d->avail_idx++;
	vs_gpa_write(&d->mem, AVAIL + 2, &d->avail_idx, 2);
}

static uint16_t rd16(struct drv *d, uint64_t gpa)
{
	uint16_t v = 0;
	vs_gpa_read(&d->mem, gpa, &v, 2);
	return v;
}

static uint32_t rd32(struct drv *d, uint64_t gpa)
{
	uint32_t v = 0;
	vs_gpa_read(&d->mem, gpa, &v, 4);
	return v;
}

TEST(chain_out_then_in)
{
	struct drv d;
	static struct vs_vq_elem e;
	char buf[16];
	CHECK(drv_init(&d, false, false) == 0);
	CHECK(vs_vq_pop(&d.vq, &e) == 0);
	CHECK(!vs_vq_should_notify(&d.vq)); /* nothing was used */
	vs_gpa_write(&d.mem, BUF, "hello, world", 12);
	put_desc(&d, DESC, 3, BUF, 5, VS_VRING_DESC_F_NEXT, 5);
	put_desc(&d, DESC, 5, BUF + 5, 7, VS_VRING_DESC_F_NEXT, 1);
	put_desc(&d, DESC, 1, BUF + 0x1000, 100, VS_VRING_DESC_F_WRITE, 0);
	publish(&d, 3);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	CHECK_EQ_U64(e.head, 3);
	CHECK_EQ_U64(e.nout, 2);
	CHECK_EQ_U64(e.nin, 1);
	CHECK_EQ_U64(e.out_len, 12);
	CHECK_EQ_U64(e.in_len, 100);
	CHECK_EQ_U64(vs_vq_elem_read(&e, 3, buf, sizeof(buf)), 9);
	CHECK(memcmp(buf, "lo, world", 9) == 0);
	CHECK_EQ_U64(vs_vq_elem_write(&e, 98, "xyz", 3), 2);
	CHECK(vs_vq_pop(&d.vq, &e) == 0);
	vs_vq_push(&d.vq, e.head, 42);
	CHECK_EQ_U64(rd16(&d, USED + 2), 1);
	CHECK_EQ_U64(rd32(&d, USED + 4), 3);
	CHECK_EQ_U64(rd32(&d, USED + 8), 42);
	CHECK(vs_vq_should_notify(&d.vq));
	/* The driver asks for no interrupts. */
	{
		uint16_t f = VS_VRING_AVAIL_F_NO_INTERRUPT;
		vs_gpa_write(&d.mem, AVAIL, &f, 2);
		publish(&d, 3);
		CHECK(vs_vq_pop(&d.vq, &e) == 1);
		vs_vq_push(&d.vq, e.head, 0);
		CHECK(!vs_vq_should_notify(&d.vq));
	}
	vs_guest_mem_release(&d.mem);
}

/* Each malformed chain breaks the queue, and it stays broken. */
static void expect_broken(int *failed_, struct drv *d, uint16_t head)
{
	static struct vs_vq_elem e;
	publish(d, head);
	CHECK(vs_vq_pop(&d->vq, &e) == -EINVAL);
	CHECK(d->vq.broken);
	CHECK(vs_vq_pop(&d->vq, &e) == -EINVAL);
	vs_guest_mem_release(&d->mem);
}

TEST(loop_is_refused)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	put_desc(&d, DESC, 0, BUF, 8, VS_VRING_DESC_F_NEXT, 1);
	put_desc(&d, DESC, 1, BUF, 8, VS_VRING_DESC_F_NEXT, 0);
	expect_broken(failed_, &d, 0);
}

TEST(self_loop_is_refused)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	put_desc(&d, DESC, 2, BUF, 8, VS_VRING_DESC_F_NEXT, 2);
	expect_broken(failed_, &d, 2);
}

TEST(next_out_of_table)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	put_desc(&d, DESC, 0, BUF, 8, VS_VRING_DESC_F_NEXT, QSIZE);
	expect_broken(failed_, &d, 0);
}

TEST(head_out_of_table)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	expect_broken(failed_, &d, QSIZE + 1);
}

TEST(buffer_outside_ram)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	put_desc(&d, DESC, 0, 16 * VS_MiB - 4, 8, 0, 0); /* straddles the end of RAM */
	expect_broken(failed_, &d, 0);
}

TEST(buffer_wrapping_address)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	put_desc(&d, DESC, 0, UINT64_MAX - 3, 8, 0, 0);
	expect_broken(failed_, &d, 0);
}

TEST(readable_after_writable)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	put_desc(&d, DESC, 0, BUF, 8, VS_VRING_DESC_F_WRITE | VS_VRING_DESC_F_NEXT, 1);
	put_desc(&d, DESC, 1, BUF, 8, 0, 0);
	expect_broken(failed_, &d, 0);
}

TEST(avail_index_jump)
{
	struct drv d;
	static struct vs_vq_elem e;
	uint16_t idx = QSIZE + 1;
	CHECK(drv_init(&d, false, false) == 0);
	vs_gpa_write(&d.mem, AVAIL + 2, &idx, 2);
	CHECK(vs_vq_pop(&d.vq, &e) == -EINVAL);
	vs_guest_mem_release(&d.mem);
}

TEST(indirect_table)
{
	struct drv d;
	static struct vs_vq_elem e;
	CHECK(drv_init(&d, false, true) == 0);
	put_desc(&d, TABLE, 0, BUF, 16, VS_VRING_DESC_F_NEXT, 2);
	put_desc(&d, TABLE, 2, BUF + 16, 4, VS_VRING_DESC_F_NEXT | VS_VRING_DESC_F_WRITE, 1);
	put_desc(&d, TABLE, 1, BUF + 32, 1, VS_VRING_DESC_F_WRITE, 0);
	put_desc(&d, DESC, 4, TABLE, 3 * 16, VS_VRING_DESC_F_INDIRECT, 0);
	publish(&d, 4);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	CHECK_EQ_U64(e.head, 4);
	CHECK_EQ_U64(e.nout, 1);
	CHECK_EQ_U64(e.nin, 2);
	CHECK_EQ_U64(e.in_len, 5);
	vs_guest_mem_release(&d.mem);
}

TEST(indirect_not_negotiated)
{
	struct drv d;
	CHECK(drv_init(&d, false, false) == 0);
	put_desc(&d, TABLE, 0, BUF, 16, 0, 0);
	put_desc(&d, DESC, 0, TABLE, 16, VS_VRING_DESC_F_INDIRECT, 0);
	expect_broken(failed_, &d, 0);
}

TEST(indirect_in_indirect)
{
	struct drv d;
	CHECK(drv_init(&d, false, true) == 0);
	put_desc(&d, TABLE, 0, TABLE + 0x100, 16, VS_VRING_DESC_F_INDIRECT, 0);
	put_desc(&d, TABLE + 0x100, 0, BUF, 16, 0, 0);
	put_desc(&d, DESC, 0, TABLE, 16, VS_VRING_DESC_F_INDIRECT, 0);
	expect_broken(failed_, &d, 0);
}

TEST(indirect_with_next)
{
	struct drv d;
	CHECK(drv_init(&d, false, true) == 0);
	put_desc(&d, TABLE, 0, BUF, 16, 0, 0);
	put_desc(&d, DESC, 0, TABLE, 16, VS_VRING_DESC_F_INDIRECT | VS_VRING_DESC_F_NEXT, 1);
	put_desc(&d, DESC, 1, BUF, 16, 0, 0);
	expect_broken(failed_, &d, 0);
}

TEST(indirect_bad_length)
{
	struct drv d;
	CHECK(drv_init(&d, false, true) == 0);
	put_desc(&d, DESC, 0, TABLE, 24, VS_VRING_DESC_F_INDIRECT, 0);
	expect_broken(failed_, &d, 0);
}

TEST(indirect_loop)
{
	struct drv d;
	CHECK(drv_init(&d, false, true) == 0);
	put_desc(&d, TABLE, 0, BUF, 16, VS_VRING_DESC_F_NEXT, 1);
	put_desc(&d, TABLE, 1, BUF, 16, VS_VRING_DESC_F_NEXT, 0);
	put_desc(&d, DESC, 0, TABLE, 32, VS_VRING_DESC_F_INDIRECT, 0);
	expect_broken(failed_, &d, 0);
}

TEST(event_idx)
{
	struct drv d;
	static struct vs_vq_elem e;
	uint16_t used_event;
	CHECK(drv_init(&d, true, false) == 0);
	put_desc(&d, DESC, 0, BUF, 16, VS_VRING_DESC_F_WRITE, 0);
	/* Interrupt only once the used index passes 1 (after two buffers). */
	used_event = 1;
	vs_gpa_write(&d.mem, AVAIL + 4 + 2 * QSIZE, &used_event, 2);
	publish(&d, 0);
	publish(&d, 0);
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	CHECK_EQ_U64(rd16(&d, USED + 4 + 8 * QSIZE), 1); /* avail_event: notify me for entry 1 */
	vs_vq_push(&d.vq, e.head, 16);
	CHECK(!vs_vq_should_notify(&d.vq));
	CHECK(vs_vq_pop(&d.vq, &e) == 1);
	vs_vq_push(&d.vq, e.head, 16);
	CHECK(vs_vq_should_notify(&d.vq));
	CHECK(vs_vq_pop(&d.vq, &e) == 0);
	CHECK_EQ_U64(rd16(&d, USED + 4 + 8 * QSIZE), 2);
	vs_guest_mem_release(&d.mem);
}

TEST(enable_checks_the_areas)
{
	struct vs_guest_mem mem;
	struct vs_vq vq;
	struct vs_error err = { 0 };
	CHECK(vs_guest_mem_create(&mem, 16 * VS_MiB, &err) == 0);
	CHECK(vs_vq_enable(&vq, &mem, 6, DESC, AVAIL, USED, false, false) == -EINVAL);
	CHECK(vs_vq_enable(&vq, &mem, 0, DESC, AVAIL, USED, false, false) == -EINVAL);
	CHECK(vs_vq_enable(&vq, &mem, 8, DESC + 8, AVAIL, USED, false, false) == -EINVAL);
	CHECK(vs_vq_enable(&vq, &mem, 8, DESC, AVAIL + 1, USED, false, false) == -EINVAL);
	CHECK(vs_vq_enable(&vq, &mem, 8, DESC, AVAIL, USED + 2, false, false) == -EINVAL);
	CHECK(vs_vq_enable(&vq, &mem, 8, 16 * VS_MiB - 64, AVAIL, USED, false, false) == -EINVAL);
	CHECK(vs_vq_enable(&vq, &mem, 8, DESC, AVAIL, 0xc0000000ull, false, false) == -EINVAL);
	CHECK_EQ_U64(vq.size, 0);
	CHECK(vs_vq_enable(&vq, &mem, 8, DESC, AVAIL, USED, false, false) == 0);
	vs_guest_mem_release(&mem);
}

VS_TAP_MAIN(TAP_CASE(chain_out_then_in), TAP_CASE(loop_is_refused), TAP_CASE(self_loop_is_refused),
	    TAP_CASE(next_out_of_table), TAP_CASE(head_out_of_table), TAP_CASE(buffer_outside_ram),
	    TAP_CASE(buffer_wrapping_address), TAP_CASE(readable_after_writable), TAP_CASE(avail_index_jump),
	    TAP_CASE(indirect_table), TAP_CASE(indirect_not_negotiated), TAP_CASE(indirect_in_indirect),
	    TAP_CASE(indirect_with_next), TAP_CASE(indirect_bad_length), TAP_CASE(indirect_loop),
	    TAP_CASE(event_idx), TAP_CASE(enable_checks_the_areas))
