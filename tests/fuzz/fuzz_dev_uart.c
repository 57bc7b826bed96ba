/* libFuzzer target: the COM1 UART under any sequence of guest port
 * accesses interleaved with console input. */
#include <stdlib.h>

#include "devices/legacy/uart.h"
#include "fuzz_dev.h"
#include "hw/pc_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Host event: the console pushes up to 19 bytes; the UART takes what fits
 * and says so truthfully. */
static void console_input(void *ctx, uint8_t op, struct fuzz_input *in)
{
	struct vs_uart *uart = ctx;
	uint8_t buf[19];
	size_t len = (size_t)(op & 7) + fuzz_byte(in) % 12, room, took;

	for (size_t i = 0; i < len; i++)
		buf[i] = fuzz_byte(in);
	room = vs_uart_rx_space(uart);
	if (room > VS_UART_FIFO)
		abort();
	took = vs_uart_receive(uart, buf, len);
	if (took > len || took > room || vs_uart_rx_space(uart) != room - took)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_irq irq = { .gsi = VS_IRQ_COM1 };
	struct fuzz_out out = { 0 };
	struct vs_irq_line line = { fuzz_irq_set_level, &irq, VS_IRQ_COM1 };
	struct vs_char_out sink = { fuzz_out_write, &out };
	struct fuzz_input in = { data, size };
	struct vs_uart *uart;

	fuzz_dev_quiet();
	uart = vs_uart_create(&line, &sink);
	if (!uart)
		abort();
	const struct fuzz_range ranges[] = {
		{ VS_PORT_COM1, VS_UART_PORTS, &vs_uart_bus_ops, uart, "uart-com1" },
	};
	fuzz_dev_run(&in, ranges, 1, console_input, uart);
	vs_uart_destroy(uart);
	return 0;
}
