/* Ways to end the machine: test=reboot (i8042 reset; =cf9 and =acpi for
 * the other reset registers), test=triple (a fault with no usable IDT),
 * test=poweroff (ACPI S5), test=exit=N (isa-debug-exit with value N).
 * Each is the last thing the guest does; if the machine is still running
 * afterwards the test says so and exits with 0x7f. */
#include "libc.h"
#include "system.h"
#include "tests.h"

#define STILL_ALIVE 0x7f

/* arg: "" or "kbd" for the i8042, "cf9" for the reset control register,
 * "acpi" for the FADT's reset register. */
void test_reboot(const char *arg)
{
	if (!strcmp(arg, "cf9")) {
		printf("reboot: writing 0x06 to port 0xcf9\n");
		cf9_reset();
	} else if (!strcmp(arg, "acpi")) {
		if (!acpi_reset())
			fail("reboot: the FADT has no usable reset register");
	} else {
		printf("reboot: pulsing reset through the i8042\n");
		kbd_reset();
	}
	printf("reboot: still running\n");
	debug_exit(STILL_ALIVE);
}

void test_triple(const char *arg)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };

	/* The fault that starts it: #UD (ud2) by default, "int3" for #BP,
	 * "gp" for a #GP from a non-canonical address. None can be delivered
	 * through an empty IDT -> #GP, which cannot be delivered either ->
	 * #DF -> triple fault: shutdown. (Under the PVM flavour of KVM the
	 * int3 variant ends in an emulation failure instead.) */
	printf("triple: loading an empty IDT and raising %s\n", *arg ? arg : "ud2");
	__asm__ volatile("lidt %0" : : "m"(empty));
	if (!strcmp(arg, "int3"))
		__asm__ volatile("int3");
	else if (!strcmp(arg, "gp"))
		__asm__ volatile("movq $0, (%0)" : : "r"(0x8000000000000000ull) : "memory");
	else
		__asm__ volatile("ud2");
	printf("triple: still running\n");
	debug_exit(STILL_ALIVE);
}

void test_poweroff(const char *arg)
{
	(void)arg;
	acpi_poweroff();
	printf("poweroff: still running\n");
	debug_exit(STILL_ALIVE);
}

void test_exit(const char *arg)
{
	uint64_t v = 0;

	if (!parse_uint(arg, strlen(arg), &v) || v > 255)
		fail("exit: want exit=N with N in 0..255, got '%s'", arg);
	printf("exit: writing %lu to the debug-exit port\n", v);
	debug_exit((uint8_t)v);
}
