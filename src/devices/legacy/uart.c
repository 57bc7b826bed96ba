/* 8250/16550A UART.
 *
 * Transmission is instantaneous: a THR write goes straight to the char sink,
 * so THR and the shift register are always empty (LSR.THRE and LSR.TEMT
 * stay set) and no TX FIFO is modelled. The receive side keeps a 16-byte
 * FIFO filled by the console thread.
 *
 * Simplifications a guest cannot tell from a fast, error-free line: no
 * baud-rate timing, no character-timeout interrupt (RX data interrupts as
 * soon as one byte is waiting, whatever the FCR trigger level), and no
 * parity/framing/break errors; the only line error is an overrun caused by
 * loopback traffic into a full FIFO. The 16-byte receive queue is kept even
 * with FIFOs disabled: host input is flow-controlled (vs_uart_receive takes
 * only what fits), so a 16450-style single byte would only slow it down.
 */
#include "devices/legacy/uart.h"

#include "hw/aml.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum {
	UART_RBR_THR = 0, /* DLL when LCR.DLAB */
	UART_IER = 1,	  /* DLM when LCR.DLAB */
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f  /* the rest reads 0: Linux probes bit 6 to spot XScale UARTs */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO_ON 0xc0 /* both bits set: a 16550A with working FIFOs */

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_KEEP 0xc9 /* enable, DMA mode, RX trigger level */

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_RX_ERR 0x80
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

/* Outside loopback the host end behaves like a terminal that is connected
 * and ready: carrier, DSR and CTS asserted, no ring. */
#define MSR_HOST_LINES (MSR_DCD | MSR_DSR | MSR_CTS)

struct vs_uart {
	pthread_mutex_t lock;
	struct vs_irq_line irq;
	struct vs_char_out out;

	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr;
	uint8_t dll, dlm;
	bool thr_pending; /* THRE interrupt armed and not yet acknowledged */
	int irq_level;	  /* last level driven on the line */

	uint8_t rx[VS_UART_FIFO];
	unsigned int rx_head, rx_count;

	/* Where the board put it, for its ACPI description. */
	uint16_t acpi_port;
	uint8_t acpi_irq;
	unsigned int acpi_uid;
};

static void rx_clear(struct vs_uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->lsr &= ~(LSR_DR | LSR_RX_ERR);
}

/* Appends one byte; on a full FIFO the byte is lost and flagged as an
 * overrun, as the hardware does. */
static void rx_push(struct vs_uart *u, uint8_t b)
{
	if (u->rx_count == VS_UART_FIFO) {
		u->lsr |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % VS_UART_FIFO] = b;
	u->rx_count++;
	u->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct vs_uart *u)
{
	uint8_t b;
	if (u->rx_count == 0)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % VS_UART_FIFO;
	if (--u->rx_count == 0)
		u->lsr &= ~LSR_DR;
	return b;
}

/* Highest-priority pending source, in IIR encoding (without FIFO bits). */
static uint8_t pending_source(const struct vs_uart *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr & LSR_ERRORS))
		return IIR_RLSI;
	if ((u->ier & IER_ERBFI) && (u->lsr & LSR_DR))
		return IIR_RDI;
	if ((u->ier & IER_ETBEI) && u->thr_pending)
		return IIR_THRI;
	if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Only touches the line when the level changes: each change may cost the
 * machine a system call. On a PC the UART's interrupt output reaches the
 * PIC through a buffer enabled by OUT2, and Linux leaves OUT2 clear while
 * the port is closed, so an unused port must stay silent. */
static void update_irq(struct vs_uart *u)
{
	int level = pending_source(u) != IIR_NO_INT && (u->mcr & MCR_OUT2);
	if (level != u->irq_level) {
		u->irq_level = level;
		vs_irq_set(&u->irq, level);
	}
}

/* Modem status inputs as the guest sees them: in loopback they are wired to
 * the modem control outputs (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD). */
static uint8_t modem_lines(const struct vs_uart *u)
{
	uint8_t m = u->mcr;
	if (!(m & MCR_LOOP))
		return MSR_HOST_LINES;
	return (uint8_t)(((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_DTR) ? MSR_DSR : 0) |
			 ((m & MCR_OUT1) ? MSR_RI : 0) | ((m & MCR_OUT2) ? MSR_DCD : 0));
}

static void write_mcr(struct vs_uart *u, uint8_t v)
{
	uint8_t old = u->msr & ~MSR_DELTAS;
	uint8_t now, changed;

	u->mcr = v & MCR_MASK;
	now = modem_lines(u);
	changed = old ^ now;
	if (changed & MSR_CTS)
		u->msr |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr |= MSR_DDSR;
	if ((changed & MSR_RI) && !(now & MSR_RI)) /* trailing edge only */
		u->msr |= MSR_TERI;
	if (changed & MSR_DCD)
		u->msr |= MSR_DDCD;
	u->msr = (uint8_t)((u->msr & MSR_DELTAS) | now);
}

static void transmit(struct vs_uart *u, uint8_t v)
{
	if (u->mcr & MCR_LOOP)
		rx_push(u, v);
	else if (u->out.write)
		u->out.write(u->out.opaque, &v, 1);
	/* The write acknowledges a pending THRE interrupt, but the byte leaves
	 * at once, so THR is empty again and the interrupt re-arms: the driver
	 * gets one THRE interrupt per burst it writes. */
	u->thr_pending = (u->ier & IER_ETBEI) != 0;
}

static void write_fcr(struct vs_uart *u, uint8_t v)
{
	/* Toggling FIFO enable resets the FIFOs on a 16550A. */
	if ((v ^ u->fcr) & FCR_ENABLE)
		rx_clear(u);
	if (!(v & FCR_ENABLE)) {
		u->fcr = 0;
		return;
	}
	if (v & FCR_CLEAR_RX)
		rx_clear(u);
	u->fcr = v & FCR_KEEP;
}

static uint8_t reg_read(struct vs_uart *u, unsigned int reg)
{
	uint8_t v, src;

	switch (reg) {
	case UART_RBR_THR:
		return (u->lcr & LCR_DLAB) ? u->dll : rx_pop(u);
	case UART_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR_FCR:
		/* IIR stays readable with DLAB set: Linux's probe for EFR-capable
		 * chips reads offset 2 with DLAB set and must not see 0 here. */
		src = pending_source(u);
		if (src == IIR_THRI)
			u->thr_pending = false;
		return (uint8_t)(src | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0));
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = u->lsr;
		u->lsr &= ~(LSR_ERRORS | LSR_RX_ERR);
		return v;
	case UART_MSR:
		v = u->msr;
		u->msr &= ~MSR_DELTAS;
		return v;
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void reg_write(struct vs_uart *u, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling ETBEI while THR is empty raises THRE at once; drivers
		 * kick transmission by toggling this bit. */
		if ((v & IER_ETBEI) && !(u->ier & IER_ETBEI) && (u->lsr & LSR_THRE))
			u->thr_pending = true;
		else if (!(v & IER_ETBEI))
			u->thr_pending = false;
		u->ier = v & IER_MASK;
		break;
	case UART_IIR_FCR:
		write_fcr(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		write_mcr(u, v);
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:
		/* LSR and MSR writes are factory-test features: ignored. */
		break;
	}
}

/* A wide access covers consecutive registers, as the ISA bus would split
 * it; bytes past the 8 ports read as open bus. */
static void uart_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_uart *u = opaque;
	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < size; i++) {
		uint64_t reg = offset + i;
		data[i] = reg < VS_UART_PORTS ? reg_read(u, (unsigned int)reg) : 0xff;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_uart *u = opaque;
	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < size; i++) {
		uint64_t reg = offset + i;
		if (reg < VS_UART_PORTS)
			reg_write(u, (unsigned int)reg, data[i]);
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

const struct vs_bus_ops vs_uart_bus_ops = { .read = uart_read, .write = uart_write };

struct vs_uart *vs_uart_create(const struct vs_irq_line *irq, const struct vs_char_out *out)
{
	struct vs_uart *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	if (pthread_mutex_init(&u->lock, NULL) != 0) {
		free(u);
		return NULL;
	}
	if (irq)
		u->irq = *irq;
	if (out)
		u->out = *out;
	u->lsr = LSR_THRE | LSR_TEMT;
	u->msr = MSR_HOST_LINES;
	u->dll = 0x0c; /* 9600 baud, a common firmware default */
	return u;
}

void vs_uart_destroy(struct vs_uart *uart)
{
	if (!uart)
		return;
	pthread_mutex_destroy(&uart->lock);
	free(uart);
}

/* In loopback the receiver is cut off from the line, so host input is held
 * back (reported as no room) rather than dropped. */
static size_t rx_room(const struct vs_uart *u)
{
	if (u->mcr & MCR_LOOP)
		return 0;
	return VS_UART_FIFO - u->rx_count;
}

size_t vs_uart_receive(struct vs_uart *uart, const uint8_t *buf, size_t len)
{
	size_t n;
	pthread_mutex_lock(&uart->lock);
	n = rx_room(uart);
	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		rx_push(uart, buf[i]);
	update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return n;
}

size_t vs_uart_rx_space(struct vs_uart *uart)
{
	size_t n;
	pthread_mutex_lock(&uart->lock);
	n = rx_room(uart);
	pthread_mutex_unlock(&uart->lock);
	return n;
}

static size_t uart_char_receive(void *opaque, const uint8_t *buf, size_t len)
{
	return vs_uart_receive(opaque, buf, len);
}

struct vs_char_in vs_uart_char_in(struct vs_uart *uart)
{
	return (struct vs_char_in){ uart_char_receive, uart };
}

/* Device(COMn): the 16550 at its PC address, so the OS binds its serial
 * driver through ACPI rather than by probing. */
static void uart_aml(void *opaque, struct vs_aml *a)
{
	const struct vs_uart *u = opaque;
	const uint16_t port = u->acpi_port;
	const uint16_t irq_mask = (uint16_t)(1u << u->acpi_irq);
	const uint8_t crs[] = {
		VS_RES_IO_TAG,
		VS_RES_IO_DECODE16,
		(uint8_t)port, /* range minimum */
		(uint8_t)(port >> 8),
		(uint8_t)port, /* range maximum */
		(uint8_t)(port >> 8),
		8, /* alignment */
		8, /* length */
		VS_RES_IRQ_NOFLAGS_TAG,
		(uint8_t)irq_mask,
		(uint8_t)(irq_mask >> 8),
		VS_RES_END_TAG,
		0, /* checksum 0: "treat as correct" */
	};
	char seg[8];

	snprintf(seg, sizeof(seg), "COM%u", u->acpi_uid % 10);
	vs_aml_device_open(a, seg);
	vs_aml_hid_eisa(a, "PNP0501");
	vs_aml_name(a, "_UID");
	vs_aml_integer(a, u->acpi_uid);
	vs_aml_crs(a, crs, sizeof(crs));
	vs_aml_close(a);
}

static void uart_destroy(void *opaque)
{
	vs_uart_destroy(opaque);
}

struct vs_device vs_uart_device(struct vs_uart *uart, uint16_t port, uint8_t irq, unsigned int uid)
{
	uart->acpi_port = port;
	uart->acpi_irq = irq & 15;
	uart->acpi_uid = uid;
	return (struct vs_device){
		.name = "uart",
		.opaque = uart,
		.destroy = uart_destroy,
		.aml = uart_aml,
	};
}
