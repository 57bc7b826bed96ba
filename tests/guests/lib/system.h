/* Ending the machine: isa-debug-exit, ACPI power-off, keyboard-controller
 * reset. None of them returns. */
#ifndef GUEST_SYSTEM_H
#define GUEST_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT 0x501

/* The VMM exits with status (v << 1) | 1. */
__attribute__((noreturn)) void debug_exit(uint8_t v);

/* Print "FAIL: <msg>" and debug_exit(1). */
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);

/* S5 through the FADT's PM1a control block (falls back to the vessel
 * port and SLP_TYP when the tables do not say). Returns only if the
 * machine is still alive after a bounded wait. */
void acpi_poweroff(void);

/* Pulse the reset line through the i8042 (0xfe to port 0x64). Returns
 * only if the machine is still alive after a bounded wait. */
void kbd_reset(void);

/* Write 0x06 (system reset, CPU reset) to the PCI reset control register
 * 0xcf9. Returns only if the machine is still alive after a bounded wait. */
void cf9_reset(void);

/* Write the FADT's RESET_VALUE to its RESET_REG. False when the FADT has
 * no usable reset register; else returns only if still alive. */
bool acpi_reset(void);

/* Wait roughly `n` microseconds or longer: n writes to the POST port. */
void io_delay_n(unsigned n);

#endif
