#include "devices/legacy/sysctl.h"

#include "../tap.h"
#include "hw/pc_layout.h"

struct fake_stop {
	int calls;
	enum vs_stop_reason reason;
	int status;
};

struct rig {
	struct vs_bus bus;
	struct vs_sysctl *sc;
	struct fake_stop stop;
};

static void fake_request(void *opaque, enum vs_stop_reason reason, int status)
{
	struct fake_stop *s = opaque;
	s->calls++;
	s->reason = reason;
	s->status = status;
}

static int rig_init(struct rig *r)
{
	struct vs_stop_sink sink = { fake_request, &r->stop };
	struct vs_error err;
	int ret = 0;
	memset(r, 0, sizeof(*r));
	vs_bus_init(&r->bus, "pio");
	r->sc = vs_sysctl_create(&sink);
	if (!r->sc)
		return -1;
	ret |= vs_bus_register(&r->bus, VS_PORT_DEBUG_EXIT, 2, &vs_debug_exit_ops, r->sc, "debug-exit", &err);
	ret |= vs_bus_register(&r->bus, VS_PORT_ACPI_PM1A_EVT, 4, &vs_acpi_pm1a_evt_ops, r->sc, "pm1a-evt",
			       &err);
	ret |= vs_bus_register(&r->bus, VS_PORT_ACPI_PM1A_CNT, 2, &vs_acpi_pm1a_cnt_ops, r->sc, "pm1a-cnt",
			       &err);
	ret |= vs_bus_register(&r->bus, VS_PORT_RESET, 1, &vs_reset_ops, r->sc, "reset", &err);
	ret |= vs_bus_register(&r->bus, VS_PORT_POST, 1, &vs_post_port_ops, r->sc, "post", &err);
	return ret;
}

static void rig_fini(struct rig *r)
{
	vs_sysctl_destroy(r->sc);
	vs_bus_release(&r->bus);
}

static void out(struct rig *r, uint16_t port, uint32_t v, uint32_t size)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	vs_bus_write(&r->bus, port, d, size);
}

static uint32_t in(struct rig *r, uint16_t port, uint32_t size)
{
	uint8_t d[4] = { 0, 0, 0, 0 };
	vs_bus_read(&r->bus, port, d, size);
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

TEST(debug_exit_status)
{
	static const struct {
		uint32_t v, size;
		int status;
	} cases[] = {
		{ 0, 1, 1 }, { 1, 1, 3 }, { 0x7f, 1, 0xff }, { 0x31, 2, 0x63 }, { 0x10000, 4, 0x20001 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig r;
		CHECK(rig_init(&r) == 0);
		out(&r, VS_PORT_DEBUG_EXIT, cases[i].v, cases[i].size);
		CHECK_EQ_U64(r.stop.calls, 1);
		CHECK_EQ_U64(r.stop.reason, VS_STOP_DEBUG_EXIT);
		CHECK_EQ_U64(r.stop.status, cases[i].status);
		rig_fini(&r);
	}
}

TEST(debug_exit_reads_and_ignores)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	CHECK_EQ_U64(in(&r, VS_PORT_DEBUG_EXIT, 1), 0xff);
	CHECK_EQ_U64(in(&r, VS_PORT_DEBUG_EXIT, 4), 0xffffffff);
	out(&r, VS_PORT_DEBUG_EXIT + 1, 0x10, 1); /* not the exit register */
	CHECK_EQ_U64(r.stop.calls, 0);
	rig_fini(&r);
}

TEST(pm1_s5_power_off)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_CNT, 2), 0x0001); /* SCI_EN */
	/* Linux: SLP_TYP first, then the same with SLP_EN. */
	out(&r, VS_PORT_ACPI_PM1A_CNT, 5u << 10 | 1, 2);
	CHECK_EQ_U64(r.stop.calls, 0);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_CNT, 2), 0x1401);
	out(&r, VS_PORT_ACPI_PM1A_CNT, 5u << 10 | 1 << 13 | 1, 2);
	CHECK_EQ_U64(r.stop.calls, 1);
	CHECK_EQ_U64(r.stop.reason, VS_STOP_POWEROFF);
	CHECK_EQ_U64(r.stop.status, 0);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_CNT, 2), 0x1401); /* SLP_EN reads 0 */
	rig_fini(&r);

	/* The high byte alone carries SLP_TYP and SLP_EN. */
	CHECK(rig_init(&r) == 0);
	out(&r, VS_PORT_ACPI_PM1A_CNT + 1, (5u << 2) | (1u << 5), 1);
	CHECK_EQ_U64(r.stop.calls, 1);
	CHECK_EQ_U64(r.stop.reason, VS_STOP_POWEROFF);
	rig_fini(&r);
}

TEST(pm1_other_sleep_ignored)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	out(&r, VS_PORT_ACPI_PM1A_CNT, 3u << 10 | 1 << 13, 2); /* S3 */
	CHECK_EQ_U64(r.stop.calls, 0);
	out(&r, VS_PORT_ACPI_PM1A_CNT, 5u << 10, 2); /* S5 without SLP_EN */
	CHECK_EQ_U64(r.stop.calls, 0);
	out(&r, VS_PORT_ACPI_PM1A_CNT, 0x00, 1); /* low byte only */
	CHECK_EQ_U64(r.stop.calls, 0);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_CNT + 1, 1), 0x14);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_CNT + 1, 2), 0xff14); /* past the end */
	rig_fini(&r);
}

TEST(pm1_event_block)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_EVT, 4), 0);
	out(&r, VS_PORT_ACPI_PM1A_EVT + 2, 0x0120, 2);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_EVT + 2, 2), 0x0120);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_EVT, 4), 0x01200000);
	out(&r, VS_PORT_ACPI_PM1A_EVT + 3, 0x81, 1);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_EVT + 2, 2), 0x8120);
	out(&r, VS_PORT_ACPI_PM1A_EVT, 0xffff, 2); /* write-1-to-clear status */
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_EVT, 4), 0x81200000);
	out(&r, VS_PORT_ACPI_PM1A_EVT, 0, 4);
	CHECK_EQ_U64(in(&r, VS_PORT_ACPI_PM1A_EVT + 2, 2), 0);
	CHECK_EQ_U64(r.stop.calls, 0);
	rig_fini(&r);
}

TEST(reset_register)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	CHECK_EQ_U64(in(&r, VS_PORT_RESET, 1), 0x00);
	out(&r, VS_PORT_RESET, 0x02, 1);
	CHECK_EQ_U64(r.stop.calls, 0);
	CHECK_EQ_U64(in(&r, VS_PORT_RESET, 1), 0x02);
	out(&r, VS_PORT_RESET, 0x04, 1); /* CPU-only reset bit alone: stored */
	CHECK_EQ_U64(r.stop.calls, 0);
	CHECK_EQ_U64(in(&r, VS_PORT_RESET, 1), 0x04);
	out(&r, VS_PORT_RESET, 0x06, 1);
	CHECK_EQ_U64(r.stop.calls, 1);
	CHECK_EQ_U64(r.stop.reason, VS_STOP_RESET);
	rig_fini(&r);

	CHECK(rig_init(&r) == 0);
	out(&r, VS_PORT_RESET, 0x0e, 1);
	CHECK_EQ_U64(r.stop.calls, 1);
	CHECK_EQ_U64(r.stop.reason, VS_STOP_RESET);
	rig_fini(&r);
}

TEST(post_port)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	CHECK_EQ_U64(in(&r, VS_PORT_POST, 1), 0xff);
	out(&r, VS_PORT_POST, 0x42, 1);
	CHECK_EQ_U64(in(&r, VS_PORT_POST, 1), 0x42);
	CHECK_EQ_U64(in(&r, VS_PORT_POST, 2), 0xff42);
	CHECK_EQ_U64(r.stop.calls, 0);
	rig_fini(&r);
}

VS_TAP_MAIN(TAP_CASE(debug_exit_status), TAP_CASE(debug_exit_reads_and_ignores), TAP_CASE(pm1_s5_power_off),
	    TAP_CASE(pm1_other_sleep_ignored), TAP_CASE(pm1_event_block), TAP_CASE(reset_register),
	    TAP_CASE(post_port))
