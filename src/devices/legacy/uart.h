/* 8250/16550A UART (COM1). Output bytes go to a char sink; input bytes are
 * pushed by the machine's console loop. Registers an 8-port range. */
#ifndef VESSEL_DEVICES_UART_H
#define VESSEL_DEVICES_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/device.h"
#include "hw/chardev.h"
#include "hw/irq.h"

#define VS_UART_PORTS 8
#define VS_UART_FIFO 16

struct vs_uart;

struct vs_uart *vs_uart_create(const struct vs_irq_line *irq, const struct vs_char_out *out);
void vs_uart_destroy(struct vs_uart *uart);

/* Bus ops for the 8 registers; opaque is the struct vs_uart. */
extern const struct vs_bus_ops vs_uart_bus_ops;

/* Queue host input for the guest. Returns how many bytes were accepted
 * (0 when the receive FIFO is full). Thread-safe. */
size_t vs_uart_receive(struct vs_uart *uart, const uint8_t *buf, size_t len);

/* Free space in the receive FIFO. Thread-safe. */
size_t vs_uart_rx_space(struct vs_uart *uart);

/* The UART as the board owns it: destroy, and Device(COMn) with PNP0501 at
 * `port` / ISA `irq` with _UID `uid` for the DSDT. */
struct vs_device vs_uart_device(struct vs_uart *uart, uint16_t port, uint8_t irq, unsigned int uid);

/* Host input for the guest, as a char-device input (vs_uart_receive). */
struct vs_char_in vs_uart_char_in(struct vs_uart *uart);

#endif
