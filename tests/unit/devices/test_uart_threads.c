/* The UART from several threads at once, as a running VM drives it: the
 * console thread pushes host input while vCPU threads read it, transmit
 * and poll the status registers. Every byte must arrive once and in order
 * on both sides. Built into the ThreadSanitizer run of `make test`, which
 * also checks the device's locking. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "../tap.h"
#include "devices/legacy/uart.h"
#include "hw/pc_layout.h"

#define BYTES 3000 /* each way; a few hundred FIFO refills */

enum { RBR = 0, THR = 0, IER = 1, IIR = 2, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct rig {
	struct vs_bus bus;
	struct vs_uart *uart;
	/* Called with the UART's lock held, so plain fields suffice. */
	unsigned long irq_changes;
	int irq_level;
	uint8_t out[BYTES];
	size_t out_len;
	bool irq_bad;
	atomic_bool done;
};

static void set_level(void *opaque, uint32_t gsi, int level)
{
	struct rig *r = opaque;
	if (gsi != VS_IRQ_COM1 || level == r->irq_level)
		r->irq_bad = true;
	r->irq_level = level;
	r->irq_changes++;
}

static void sink(void *opaque, const uint8_t *buf, size_t len)
{
	struct rig *r = opaque;
	for (size_t i = 0; i < len && r->out_len < BYTES; i++)
		r->out[r->out_len++] = buf[i];
}

static uint8_t inb(struct rig *r, unsigned int reg)
{
	uint8_t v = 0;
	vs_bus_read(&r->bus, VS_PORT_COM1 + reg, &v, 1);
	return v;
}

static void outb(struct rig *r, unsigned int reg, uint8_t v)
{
	vs_bus_write(&r->bus, VS_PORT_COM1 + reg, &v, 1);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

/* The console thread: host input, as much as there is room for. */
static void *console(void *arg)
{
	struct rig *r = arg;
	size_t sent = 0;
	while (sent < BYTES) {
		uint8_t chunk[5];
		size_t n = 0, room = vs_uart_rx_space(r->uart);
		while (n < sizeof(chunk) && n < room && sent + n < BYTES) {
			chunk[n] = pattern(sent + n);
			n++;
		}
		n = vs_uart_receive(r->uart, chunk, n);
		sent += n;
		if (n == 0)
			sched_yield();
	}
	return NULL;
}

struct reader {
	struct rig *r;
	size_t got;
	size_t first_bad; /* index of the first wrong byte, or BYTES */
};

/* A vCPU polling LSR.DR and reading RBR, as a polled driver does. */
static void *reader(void *arg)
{
	struct reader *rd = arg;
	rd->first_bad = BYTES;
	while (rd->got < BYTES) {
		if (!(inb(rd->r, LSR) & 0x01)) {
			sched_yield();
			continue;
		}
		if (inb(rd->r, RBR) != pattern(rd->got) && rd->first_bad == BYTES)
			rd->first_bad = rd->got;
		rd->got++;
	}
	return NULL;
}

/* A vCPU transmitting (THR is always empty on this UART). */
static void *writer(void *arg)
{
	struct rig *r = arg;
	for (size_t i = 0; i < BYTES; i++)
		outb(r, THR, pattern(i));
	return NULL;
}

/* A vCPU that only looks: interrupt identification, status, scratch. */
static void *poller(void *arg)
{
	struct rig *r = arg;
	uint8_t s = 0;
	while (!atomic_load(&r->done)) {
		(void)inb(r, IIR);
		(void)inb(r, MSR);
		outb(r, SCR, s);
		(void)inb(r, SCR);
		s++;
		sched_yield();
	}
	return NULL;
}

TEST(console_and_vcpus_at_once)
{
	static struct rig r; /* BYTES of output: keep it off the stack */
	struct vs_irq_line line = { set_level, &r, VS_IRQ_COM1 };
	struct vs_char_out out = { sink, &r };
	struct reader rd = { .r = &r };
	struct vs_error err;
	pthread_t t[4];

	memset(&r, 0, sizeof(r));
	vs_bus_init(&r.bus, "pio");
	r.uart = vs_uart_create(&line, &out);
	CHECK(r.uart != NULL);
	if (!r.uart)
		return;
	CHECK(vs_bus_register(&r.bus, VS_PORT_COM1, VS_UART_PORTS, &vs_uart_bus_ops, r.uart, "com1", &err) ==
	      0);
	/* Interrupts on (data and THRE, OUT2 set) so the line toggles too. */
	outb(&r, IER, 0x03);
	outb(&r, MCR, 0x0b);

	CHECK(pthread_create(&t[0], NULL, console, &r) == 0);
	CHECK(pthread_create(&t[1], NULL, reader, &rd) == 0);
	CHECK(pthread_create(&t[2], NULL, writer, &r) == 0);
	CHECK(pthread_create(&t[3], NULL, poller, &r) == 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	atomic_store(&r.done, true);
	pthread_join(t[3], NULL);

	CHECK_EQ_U64(rd.got, BYTES);
	CHECK_EQ_U64(rd.first_bad, BYTES); /* in order, none lost or doubled */
	CHECK_EQ_U64(r.out_len, BYTES);
	for (size_t i = 0; i < r.out_len; i++)
		if (r.out[i] != pattern(i)) {
			CHECK_EQ_U64(i, BYTES); /* the first byte out of order */
			break;
		}
	CHECK(!r.irq_bad);
	CHECK(r.irq_changes > 0);
	CHECK_EQ_U64(vs_uart_rx_space(r.uart), VS_UART_FIFO);
	CHECK_EQ_U64(inb(&r, LSR) & 0x02, 0); /* flow control: never an overrun */

	vs_uart_destroy(r.uart);
	vs_bus_release(&r.bus);
}

VS_TAP_MAIN(TAP_CASE(console_and_vcpus_at_once))
