#include "devices/legacy/uart.h"

#include "../tap.h"
#include "hw/pc_layout.h"

struct fake_irq {
	int level;
	int calls;
};

struct fake_out {
	uint8_t buf[256];
	size_t len;
};

struct rig {
	struct vs_bus bus;
	struct vs_uart *uart;
	struct fake_irq irq;
	struct fake_out out;
};

static void fake_set_level(void *opaque, uint32_t gsi, int level)
{
	struct fake_irq *f = opaque;
	if (gsi == VS_IRQ_COM1) {
		f->level = level;
		f->calls++;
	}
}

static void fake_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake_out *o = opaque;
	for (size_t i = 0; i < len && o->len < sizeof(o->buf); i++)
		o->buf[o->len++] = buf[i];
}

static int rig_init(struct rig *r)
{
	struct vs_irq_line line = { fake_set_level, &r->irq, VS_IRQ_COM1 };
	struct vs_char_out out = { fake_write, &r->out };
	struct vs_error err;
	memset(r, 0, sizeof(*r));
	vs_bus_init(&r->bus, "pio");
	r->uart = vs_uart_create(&line, &out);
	if (!r->uart)
		return -1;
	return vs_bus_register(&r->bus, VS_PORT_COM1, VS_UART_PORTS, &vs_uart_bus_ops, r->uart, "com1", &err);
}

static void rig_fini(struct rig *r)
{
	vs_uart_destroy(r->uart);
	vs_bus_release(&r->bus);
}

static void outb(struct rig *r, unsigned int reg, uint8_t v)
{
	vs_bus_write(&r->bus, VS_PORT_COM1 + reg, &v, 1);
}

static uint8_t inb(struct rig *r, unsigned int reg)
{
	uint8_t v = 0;
	vs_bus_read(&r->bus, VS_PORT_COM1 + reg, &v, 1);
	return v;
}

enum {
	RBR = 0,
	THR = 0,
	DLL = 0,
	IER = 1,
	DLM = 1,
	IIR = 2,
	FCR = 2,
	LCR = 3,
	MCR = 4,
	LSR = 5,
	MSR = 6,
	SCR = 7
};

TEST(tx_reaches_sink)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	CHECK_EQ_U64(inb(&r, LSR), 0x60);
	outb(&r, THR, 'h');
	outb(&r, THR, 'i');
	CHECK_EQ_U64(r.out.len, 2);
	CHECK(memcmp(r.out.buf, "hi", 2) == 0);
	CHECK_EQ_U64(inb(&r, LSR), 0x60); /* transmitted at once */
	/* Nothing enabled: the line was never touched. */
	CHECK_EQ_U64(r.irq.calls, 0);
	rig_fini(&r);
}

TEST(divisor_latch)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	outb(&r, IER, 0x05);
	outb(&r, LCR, 0x83);
	outb(&r, DLL, 0x01);
	outb(&r, DLM, 0x02);
	CHECK_EQ_U64(r.out.len, 0);
	CHECK_EQ_U64(inb(&r, DLL), 0x01);
	CHECK_EQ_U64(inb(&r, DLM), 0x02);
	CHECK_EQ_U64(inb(&r, LCR), 0x83);
	outb(&r, LCR, 0x03);
	CHECK_EQ_U64(inb(&r, IER), 0x05); /* IER untouched by the DLM write */
	outb(&r, THR, 'A');
	CHECK_EQ_U64(r.out.len, 1);
	CHECK_EQ_U64(r.out.buf[0], 'A');
	outb(&r, LCR, 0x80);
	CHECK_EQ_U64(inb(&r, DLL), 0x01); /* the THR write did not hit DLL */
	rig_fini(&r);
}

TEST(rx_fifo_fills_and_refuses)
{
	struct rig r;
	uint8_t in[20];
	CHECK(rig_init(&r) == 0);
	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)('a' + i);
	CHECK_EQ_U64(vs_uart_rx_space(r.uart), 16);
	CHECK_EQ_U64(inb(&r, LSR) & 0x01, 0);
	CHECK_EQ_U64(vs_uart_receive(r.uart, in, sizeof(in)), 16);
	CHECK_EQ_U64(vs_uart_rx_space(r.uart), 0);
	CHECK_EQ_U64(vs_uart_receive(r.uart, in + 16, 4), 0);
	CHECK_EQ_U64(inb(&r, LSR), 0x61);
	for (unsigned int i = 0; i < 16; i++) {
		CHECK_EQ_U64(inb(&r, LSR) & 0x01, 1);
		CHECK_EQ_U64(inb(&r, RBR), 'a' + i);
	}
	CHECK_EQ_U64(inb(&r, LSR), 0x60); /* refused bytes were not an overrun */
	CHECK_EQ_U64(vs_uart_rx_space(r.uart), 16);
	CHECK_EQ_U64(vs_uart_receive(r.uart, in + 16, 4), 4);
	CHECK_EQ_U64(inb(&r, RBR), 'q');
	rig_fini(&r);
}

TEST(fcr_makes_a_16550a)
{
	struct rig r;
	uint8_t b = 'z';
	CHECK(rig_init(&r) == 0);
	CHECK_EQ_U64(inb(&r, IIR), 0x01);
	outb(&r, FCR, 0x01);
	CHECK_EQ_U64(inb(&r, IIR), 0xc1);
	outb(&r, FCR, 0x21); /* 16750 64-byte bit: must not echo in IIR */
	CHECK_EQ_U64(inb(&r, IIR) & 0xe0, 0xc0);
	CHECK_EQ_U64(vs_uart_receive(r.uart, &b, 1), 1);
	outb(&r, FCR, 0x03); /* clear RX */
	CHECK_EQ_U64(inb(&r, LSR) & 0x01, 0);
	outb(&r, LCR, 0xbf); /* IIR still visible with DLAB set */
	CHECK_EQ_U64(inb(&r, IIR), 0xc1);
	outb(&r, LCR, 0x03);
	outb(&r, FCR, 0x00);
	CHECK_EQ_U64(inb(&r, IIR), 0x01);
	outb(&r, IER, 0xff);
	CHECK_EQ_U64(inb(&r, IER), 0x0f);
	outb(&r, SCR, 0x5a);
	CHECK_EQ_U64(inb(&r, SCR), 0x5a);
	rig_fini(&r);
}

TEST(rx_irq_level_and_out2)
{
	struct rig r;
	uint8_t b = 'k';
	CHECK(rig_init(&r) == 0);
	outb(&r, IER, 0x01);
	CHECK_EQ_U64(vs_uart_receive(r.uart, &b, 1), 1);
	/* Pending, but OUT2 is clear: the line stays low. */
	CHECK_EQ_U64(inb(&r, IIR), 0x04);
	CHECK_EQ_U64(r.irq.level, 0);
	outb(&r, MCR, 0x0b);
	CHECK_EQ_U64(r.irq.level, 1);
	outb(&r, MCR, 0x03);
	CHECK_EQ_U64(r.irq.level, 0);
	outb(&r, MCR, 0x0b);
	CHECK_EQ_U64(r.irq.level, 1);
	CHECK_EQ_U64(inb(&r, RBR), 'k');
	CHECK_EQ_U64(r.irq.level, 0);
	CHECK_EQ_U64(inb(&r, IIR), 0x01);
	CHECK_EQ_U64(vs_uart_receive(r.uart, &b, 1), 1);
	CHECK_EQ_U64(r.irq.level, 1); /* raised from the console side too */
	outb(&r, IER, 0x00);
	CHECK_EQ_U64(r.irq.level, 0);
	rig_fini(&r);
}

TEST(thre_interrupt)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	outb(&r, MCR, 0x08);
	CHECK_EQ_U64(r.irq.level, 0);
	outb(&r, IER, 0x02); /* 0->1 with THR empty */
	CHECK_EQ_U64(r.irq.level, 1);
	CHECK_EQ_U64(inb(&r, IIR), 0x02);
	CHECK_EQ_U64(r.irq.level, 0); /* acknowledged by the IIR read */
	CHECK_EQ_U64(inb(&r, IIR), 0x01);
	outb(&r, IER, 0x02); /* no 0->1 edge: stays quiet */
	CHECK_EQ_U64(r.irq.level, 0);
	outb(&r, THR, 'x');
	CHECK_EQ_U64(r.irq.level, 1); /* THR emptied again */
	outb(&r, IER, 0x00);
	CHECK_EQ_U64(r.irq.level, 0);
	outb(&r, THR, 'y');
	CHECK_EQ_U64(r.irq.level, 0);
	outb(&r, IER, 0x02);
	CHECK_EQ_U64(r.irq.level, 1);
	CHECK_EQ_U64(inb(&r, IIR), 0x02);
	rig_fini(&r);
}

TEST(loopback)
{
	struct rig r;
	uint8_t b = 'h';
	CHECK(rig_init(&r) == 0);
	outb(&r, MCR, 0x10);
	outb(&r, THR, 'x');
	CHECK_EQ_U64(r.out.len, 0);
	CHECK_EQ_U64(inb(&r, LSR), 0x61);
	CHECK_EQ_U64(inb(&r, RBR), 'x');
	CHECK_EQ_U64(vs_uart_rx_space(r.uart), 0); /* host input held back */
	CHECK_EQ_U64(vs_uart_receive(r.uart, &b, 1), 0);
	/* Linux's probe: RTS|OUT2 in loopback must read back as CTS|DCD. */
	outb(&r, MCR, 0x1a);
	CHECK_EQ_U64(inb(&r, MSR) & 0xf0, 0x90);
	outb(&r, MCR, 0x15);
	CHECK_EQ_U64(inb(&r, MSR) & 0xf0, 0x60);
	outb(&r, MCR, 0x03);
	CHECK_EQ_U64(inb(&r, MSR) & 0xf0, 0xb0);
	outb(&r, THR, 'o');
	CHECK_EQ_U64(r.out.len, 1);
	CHECK_EQ_U64(inb(&r, LSR) & 0x01, 0);
	CHECK_EQ_U64(vs_uart_receive(r.uart, &b, 1), 1);
	rig_fini(&r);
}

TEST(iir_priority)
{
	struct rig r;
	CHECK(rig_init(&r) == 0);
	outb(&r, FCR, 0x01);
	outb(&r, MCR, 0x18); /* loopback: CTS, DSR drop -> modem status deltas */
	outb(&r, IER, 0x0f);
	for (unsigned int i = 0; i < 17; i++)
		outb(&r, THR, (uint8_t)i); /* the 17th overruns */
	CHECK_EQ_U64(r.irq.level, 1);
	CHECK_EQ_U64(inb(&r, IIR), 0xc6);
	CHECK_EQ_U64(inb(&r, LSR), 0x63); /* clears OE */
	CHECK_EQ_U64(inb(&r, IIR), 0xc4);
	for (unsigned int i = 0; i < 16; i++)
		CHECK_EQ_U64(inb(&r, RBR), i);
	CHECK_EQ_U64(inb(&r, IIR), 0xc2);
	CHECK_EQ_U64(inb(&r, IIR), 0xc0);
	CHECK_EQ_U64(r.irq.level, 1);
	CHECK_EQ_U64(inb(&r, MSR), 0x83); /* DCD from OUT2, DCTS|DDSR */
	CHECK_EQ_U64(inb(&r, IIR), 0xc1);
	CHECK_EQ_U64(r.irq.level, 0);
	rig_fini(&r);
}

TEST(wide_access)
{
	struct rig r;
	uint8_t d[4] = { 0 };
	CHECK(rig_init(&r) == 0);
	outb(&r, SCR, 0x42);
	vs_bus_read(&r.bus, VS_PORT_COM1 + 6, d, 4);
	CHECK_EQ_U64(d[0], 0xb0);
	CHECK_EQ_U64(d[1], 0x42);
	CHECK_EQ_U64(d[2], 0xff);
	CHECK_EQ_U64(d[3], 0xff);
	d[0] = 'w';
	d[1] = 0x01;
	vs_bus_write(&r.bus, VS_PORT_COM1, d, 2); /* THR, then IER */
	CHECK_EQ_U64(r.out.len, 1);
	CHECK_EQ_U64(r.out.buf[0], 'w');
	CHECK_EQ_U64(inb(&r, IER), 0x01);
	rig_fini(&r);
}

VS_TAP_MAIN(TAP_CASE(tx_reaches_sink), TAP_CASE(divisor_latch), TAP_CASE(rx_fifo_fills_and_refuses),
	    TAP_CASE(fcr_makes_a_16550a), TAP_CASE(rx_irq_level_and_out2), TAP_CASE(thre_interrupt),
	    TAP_CASE(loopback), TAP_CASE(iir_priority), TAP_CASE(wide_access))
