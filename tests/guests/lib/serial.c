#include "serial.h"
#include "io.h"

void serial_init(void)
{
	outb(COM1_PORT + UART_IER, 0);
	outb(COM1_PORT + UART_LCR, 0x80); /* DLAB: the next two bytes are the divisor */
	outb(COM1_PORT + 0, 1);		  /* 115200 baud */
	outb(COM1_PORT + 1, 0);
	outb(COM1_PORT + UART_LCR, 0x03); /* 8 data bits, no parity, 1 stop bit */
	outb(COM1_PORT + UART_IIR, 0x07); /* enable and clear both FIFOs */
	outb(COM1_PORT + UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
}

uint8_t serial_lsr(void)
{
	return inb(COM1_PORT + UART_LSR);
}

/* Waiting for THRE is bounded: a virtual UART is always ready, and if it
 * is not, losing a byte beats hanging the guest forever. */
static void put_raw(char c)
{
	for (int i = 0; i < 100000 && !(serial_lsr() & UART_LSR_THRE); i++)
		cpu_relax();
	outb(COM1_PORT + UART_RBR, (uint8_t)c);
}

void serial_putc(char c)
{
	if (c == '\n')
		put_raw('\r');
	put_raw(c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

bool serial_rx_ready(void)
{
	return serial_lsr() & UART_LSR_DR;
}

uint8_t serial_getc(void)
{
	return inb(COM1_PORT + UART_RBR);
}

void serial_set_rx_irq(bool on)
{
	uint8_t mcr = UART_MCR_DTR | UART_MCR_RTS;

	outb(COM1_PORT + UART_MCR, on ? mcr | UART_MCR_OUT2 : mcr);
	outb(COM1_PORT + UART_IER, on ? UART_IER_RDI : 0);
}
