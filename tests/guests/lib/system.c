#include "system.h"
#include "acpi.h"
#include "io.h"
#include "libc.h"

void debug_exit(uint8_t v)
{
	outb(DEBUG_EXIT_PORT, v);
	/* The VMM should have stopped us; never hlt with interrupts off (that
	 * blocks forever under an in-kernel irqchip), just spin. */
	for (;;)
		cpu_relax();
}

void fail(const char *fmt, ...)
{
	va_list ap;

	puts_raw("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	puts_raw("\n");
	debug_exit(1);
}

void io_delay_n(unsigned n)
{
	while (n--)
		io_delay();
}

void acpi_poweroff(void)
{
	uint16_t port = 0x604;
	int typ = acpi_s5_slp_typ();

	if (!acpi_pm1a_cnt_port(&port))
		printf("poweroff: no FADT PM1a control block, using port 0x%x\n", port);
	if (typ < 0) {
		printf("poweroff: no \\_S5 in the DSDT, using SLP_TYP 5\n");
		typ = 5;
	}
	printf("poweroff: writing SLP_TYP %d | SLP_EN to port 0x%x\n", typ, port);
	outw(port, (uint16_t)(((unsigned)typ & 7) << 10 | 1u << 13));
	io_delay_n(100000);
}

void kbd_reset(void)
{
	outb(0x64, 0xfe);
	io_delay_n(100000);
}

void cf9_reset(void)
{
	outb(0xcf9, 0x06);
	io_delay_n(100000);
}

bool acpi_reset(void)
{
	uint16_t port;
	uint8_t value;

	if (!acpi_reset_reg(&port, &value))
		return false;
	printf("reset: writing 0x%x to the FADT reset register, port 0x%x\n", value, port);
	outb(port, value);
	io_delay_n(100000);
	return true;
}
