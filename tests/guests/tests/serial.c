/* test=serial and test=serial-irq: print "ready", read one line from COM1,
 * echo it as "got: <line>". The first polls the line status register; the
 * second waits in hlt for the UART's receive interrupt (IRQ 4, through
 * the 8259 or with test=serial-irq=ioapic the I/O APIC), with the PIT
 * ticking as a watchdog. */
#include "idt.h"
#include "io.h"
#include "isa_irq.h"
#include "libc.h"
#include "pic_pit.h"
#include "rtc.h"
#include "serial.h"
#include "system.h"
#include "tests.h"

#define LINE_MAX 256
#define TIMEOUT_S 30
#define TICK_HZ 100

static char line[LINE_MAX];
static volatile size_t line_len;
static volatile bool line_done;
static volatile unsigned uart_irqs, ticks;

/* Returns true once the line is complete. */
static bool take_byte(uint8_t c)
{
	if (c == '\n')
		return true;
	if (c != '\r' && line_len < LINE_MAX - 1)
		line[line_len++] = (char)c;
	return false;
}

void test_serial(const char *arg)
{
	struct deadline d;
	unsigned n = 0;

	(void)arg;
	while (serial_rx_ready()) /* nothing typed before "ready" counts */
		serial_getc();
	printf("ready\n");
	deadline_start(&d, TIMEOUT_S);
	for (;;) {
		if (serial_rx_ready()) {
			if (take_byte(serial_getc()))
				break;
			continue;
		}
		/* Reading the RTC costs two more traps: only now and then. */
		if (++n % 16 == 0 && deadline_passed(&d))
			fail("serial: no complete line within %u s (got %zu bytes)", TIMEOUT_S, line_len);
		cpu_relax();
	}
	line[line_len] = '\0';
	printf("got: %s\n", line);
	debug_exit(0);
}

static void uart_isr(struct irq_frame *f)
{
	(void)f;
	uart_irqs++;
	while (serial_rx_ready()) {
		if (take_byte(serial_getc()))
			line_done = true;
	}
	isa_irq_eoi(COM1_IRQ);
}

static void tick_isr(struct irq_frame *f)
{
	(void)f;
	ticks++;
	isa_irq_eoi(0);
}

/* arg "ioapic" routes both IRQs through the I/O APIC instead of the 8259. */
void test_serial_irq(const char *arg)
{
	enum irq_path path = strcmp(arg, "ioapic") ? IRQ_VIA_PIC : IRQ_VIA_IOAPIC;

	if (!isa_irq_init(path))
		fail("serial-irq: cannot set up the interrupt path");
	idt_set_handler(isa_irq_vector(COM1_IRQ), uart_isr);
	idt_set_handler(isa_irq_vector(0), tick_isr);
	while (serial_rx_ready())
		serial_getc();
	serial_set_rx_irq(true);
	if (!isa_irq_enable(COM1_IRQ) || !isa_irq_enable(0))
		fail("serial-irq: cannot route IRQ 4 and IRQ 0");
	pit_start_periodic(TICK_HZ);
	printf("serial-irq: via the %s\n", isa_irq_path_name());
	printf("ready\n");

	for (;;) {
		cli();
		if (line_done || ticks >= TIMEOUT_S * TICK_HZ)
			break;
		sti_hlt();
	}
	serial_set_rx_irq(false);
	pit_stop();
	isa_irq_disable(COM1_IRQ);
	isa_irq_disable(0);
	if (!line_done)
		fail("serial-irq: no complete line after %u ticks: %u UART interrupts, %zu bytes, LSR 0x%x",
		     ticks, uart_irqs, line_len, serial_lsr());
	line[line_len] = '\0';
	printf("serial-irq: %u interrupts\n", uart_irqs);
	printf("got: %s\n", line);
	debug_exit(0);
}
