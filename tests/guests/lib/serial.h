/* 16550A UART on COM1: the guest's console. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#define COM1_PORT 0x3f8
#define COM1_IRQ 4

#define UART_RBR 0 /* receive buffer (read) / transmit holding (write) */
#define UART_IER 1
#define UART_IIR 2 /* interrupt identification (read) / FIFO control (write) */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_IER_RDI 0x01 /* interrupt when received data is available */
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT2 0x08 /* gates the UART's IRQ line on PC boards */
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_IIR_NO_INT 0x01

void serial_init(void);
void serial_putc(char c); /* "\n" goes out as "\r\n" */
void serial_puts(const char *s);
bool serial_rx_ready(void);
uint8_t serial_getc(void); /* call only when serial_rx_ready() */
uint8_t serial_lsr(void);
void serial_set_rx_irq(bool on);

#endif
