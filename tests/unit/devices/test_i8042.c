#include "devices/legacy/i8042.h"

#include "../tap.h"
#include "hw/pc_layout.h"

struct fake_stop {
	int calls;
	enum vs_stop_reason reason;
	int status;
};

struct rig {
	struct vs_bus bus;
	struct vs_i8042 *kbd;
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
	memset(r, 0, sizeof(*r));
	vs_bus_init(&r->bus, "pio");
	r->kbd = vs_i8042_create(&sink);
	if (!r->kbd)
		return -1;
	if (vs_bus_register(&r->bus, VS_PORT_I8042_DATA, 1, &vs_i8042_data_ops, r->kbd, "i8042-data", &err))
		return -1;
	return vs_bus_register(&r->bus, VS_PORT_I8042_CMD, 1, &vs_i8042_cmd_ops, r->kbd, "i8042-cmd", &err);
}

static void rig_fini(struct rig *r)
{
	vs_i8042_destroy(r->kbd);
	vs_bus_release(&r->bus);
}

static void outb(struct rig *r, uint16_t port, uint8_t v)
{
	vs_bus_write(&r->bus, port, &v, 1);
}

static uint8_t inb(struct rig *r, uint16_t port)
{
	uint8_t v = 0;
	vs_bus_read(&r->bus, port, &v, 1);
	return v;
}

#define DATA VS_PORT_I8042_DATA
#define CMD VS_PORT_I8042_CMD

TEST(status_and_self_tests)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	CHECK_EQ_U64(inb(&r, CMD), 0x14); /* SYS, not inhibited, buffers empty */
	CHECK_EQ_U64(inb(&r, DATA), 0x00);
	outb(&r, CMD, 0xaa);
	CHECK_EQ_U64(inb(&r, CMD), 0x1d); /* output full, last write a command */
	CHECK_EQ_U64(inb(&r, DATA), 0x55);
	CHECK_EQ_U64(inb(&r, CMD) & 0x01, 0);
	outb(&r, CMD, 0xab);
	CHECK_EQ_U64(inb(&r, CMD) & 0x01, 1);
	CHECK_EQ_U64(inb(&r, DATA), 0x00);
	CHECK_EQ_U64(inb(&r, CMD) & 0x03, 0); /* input buffer never busy */
	CHECK_EQ_U64(r.stop.calls, 0);
	rig_fini(&r);
}

TEST(command_byte)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	outb(&r, CMD, 0x20);
	CHECK_EQ_U64(inb(&r, DATA), 0x65);
	outb(&r, CMD, 0x60);
	outb(&r, DATA, 0x47);
	CHECK_EQ_U64(inb(&r, CMD) & 0x09, 0); /* consumed, not echoed */
	outb(&r, CMD, 0x20);
	CHECK_EQ_U64(inb(&r, DATA), 0x47);
	outb(&r, CMD, 0xad);
	outb(&r, CMD, 0x20);
	CHECK_EQ_U64(inb(&r, DATA), 0x57);
	outb(&r, CMD, 0xae);
	outb(&r, CMD, 0xa7);
	outb(&r, CMD, 0x20);
	CHECK_EQ_U64(inb(&r, DATA), 0x67);
	rig_fini(&r);
}

TEST(reset_line)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	outb(&r, CMD, 0xff); /* pulses nothing */
	CHECK_EQ_U64(r.stop.calls, 0);
	outb(&r, CMD, 0xfe);
	CHECK_EQ_U64(r.stop.calls, 1);
	CHECK_EQ_U64(r.stop.reason, VS_STOP_RESET);
	CHECK_EQ_U64(r.stop.status, 0);
	rig_fini(&r);

	CHECK(rig_init(&r) == 0);
	outb(&r, CMD, 0xd0);
	CHECK_EQ_U64(inb(&r, DATA), 0x03);
	outb(&r, CMD, 0xd1);
	outb(&r, DATA, 0x01); /* A20 off, reset high: no reset */
	CHECK_EQ_U64(r.stop.calls, 0);
	outb(&r, CMD, 0xd0);
	CHECK_EQ_U64(inb(&r, DATA), 0x01);
	outb(&r, DATA, 0xfe); /* not after 0xd1: a keyboard command */
	CHECK_EQ_U64(r.stop.calls, 0);
	outb(&r, CMD, 0xd1);
	outb(&r, DATA, 0xfe);
	CHECK_EQ_U64(r.stop.calls, 1);
	CHECK_EQ_U64(r.stop.reason, VS_STOP_RESET);
	rig_fini(&r);
}

TEST(keyboard_commands)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	outb(&r, DATA, 0xff);
	CHECK_EQ_U64(inb(&r, CMD) & 0x09, 0x01);
	CHECK_EQ_U64(inb(&r, DATA), 0xfa);
	CHECK_EQ_U64(inb(&r, DATA), 0xaa);
	CHECK_EQ_U64(inb(&r, CMD) & 0x01, 0);
	outb(&r, DATA, 0xf2);
	CHECK_EQ_U64(inb(&r, DATA), 0xfa);
	CHECK_EQ_U64(inb(&r, DATA), 0xab);
	CHECK_EQ_U64(inb(&r, DATA), 0x41); /* translated */
	outb(&r, DATA, 0xf5);
	CHECK_EQ_U64(inb(&r, DATA), 0xfa);
	outb(&r, DATA, 0xed); /* set LEDs, then its argument */
	outb(&r, DATA, 0xf4); /* an argument here, not "enable" */
	CHECK_EQ_U64(inb(&r, DATA), 0xfa);
	CHECK_EQ_U64(inb(&r, DATA), 0xfa);
	CHECK_EQ_U64(inb(&r, CMD) & 0x01, 0);
	outb(&r, DATA, 0xee);
	CHECK_EQ_U64(inb(&r, DATA), 0xee);
	outb(&r, CMD, 0xd2); /* write keyboard output buffer */
	outb(&r, DATA, 0x1c);
	CHECK_EQ_U64(inb(&r, DATA), 0x1c);
	rig_fini(&r);
}

TEST(aux_probe_fails_fast)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	outb(&r, CMD, 0xd3);
	outb(&r, DATA, 0x5a);
	CHECK_EQ_U64(inb(&r, CMD) & 0x21, 0x01); /* data, but not flagged AUX */
	/* Linux leaves that byte unread; the next reply must replace it. */
	outb(&r, CMD, 0xa9);
	CHECK_EQ_U64(inb(&r, DATA), 0x02);
	CHECK_EQ_U64(inb(&r, CMD) & 0x01, 0);
	outb(&r, CMD, 0xd4);
	outb(&r, DATA, 0xff); /* to the absent mouse: swallowed */
	CHECK_EQ_U64(inb(&r, CMD) & 0x01, 0);
	rig_fini(&r);
}

TEST(unknown_and_wide)
{
	struct rig r;
	uint8_t d[4] = { 0, 0, 0, 0 };
	CHECK(rig_init(&r) == 0);
	outb(&r, CMD, 0xc8);
	CHECK_EQ_U64(inb(&r, CMD) & 0x01, 0);
	CHECK_EQ_U64(r.stop.calls, 0);
	vs_bus_read(&r.bus, CMD, d, 4);
	CHECK_EQ_U64(d[0], 0x1c);
	CHECK_EQ_U64(d[1], 0xff);
	CHECK_EQ_U64(d[3], 0xff);
	d[0] = 0xfe;
	d[1] = 0x00;
	vs_bus_write(&r.bus, CMD, d, 2); /* the low byte reaches the port */
	CHECK_EQ_U64(r.stop.calls, 1);
	rig_fini(&r);
}

VS_TAP_MAIN(TAP_CASE(status_and_self_tests), TAP_CASE(command_byte), TAP_CASE(reset_line),
	    TAP_CASE(keyboard_commands), TAP_CASE(aux_probe_fails_fast), TAP_CASE(unknown_and_wide))
