/* The guest's C entry point: read the boot information, pick the test
 * named by "test=NAME" on the command line (the demo when there is none)
 * and run it. */
#include "bootinfo.h"
#include "defs.h"
#include "idt.h"
#include "libc.h"
#include "pic_pit.h"
#include "serial.h"
#include "system.h"
#include "tests/tests.h"

void guest_main(uint64_t proto, uint64_t info);

struct test {
	const char *name;
	void (*run)(const char *arg);
};

static const struct test tests[] = {
	{ "info", test_info },
	{ "serial", test_serial },
	{ "serial-irq", test_serial_irq },
	{ "smp", test_smp },
	{ "cpuid", test_cpuid },
	{ "timer", test_timer },
	{ "timer-apic", test_timer_apic },
	{ "lapic-timer", test_lapic_timer },
	{ "rtc", test_rtc },
	{ "reboot", test_reboot },
	{ "triple", test_triple },
	{ "poweroff", test_poweroff },
	{ "exit", test_exit },
	{ "demo", test_demo },
	{ "bench", test_bench },
	{ "pci", test_pci },
	{ "virtio-rng", test_virtio_rng },
	{ "virtio-blk", test_virtio_blk },
	{ "virtio-net", test_virtio_net },
	{ "isa", test_isa },
};

static char name_buf[64];

void guest_main(uint64_t proto, uint64_t info)
{
	serial_init();
	bootinfo_parse((enum boot_proto)proto, info);
	idt_init();
	/* Firmware (SeaBIOS under QEMU) may leave the 8259 unmasked with its
	 * real-mode vector base 8, where IRQ 0 would look like a #DF once
	 * interrupts are on: remap it out of the exception range, all masked. */
	pic_init();
	if (boot.error) {
		printf("guest: %s (protocol %lu, info at 0x%lx)\n", boot.error, proto, info);
		debug_exit(0x7d);
	}

	uint64_t len = 0;
	const char *word = cmdline_get("test", &len);
	if (!word) {
		/* "exit=N" alone is accepted as a short form of test=exit=N. */
		word = cmdline_get("exit", &len);
		if (!word) {
			test_demo("");
			debug_exit(0x7d);
		}
		word -= 5;
		len += 5;
	}
	if (len >= sizeof(name_buf))
		len = sizeof(name_buf) - 1;
	memcpy(name_buf, word, len);
	name_buf[len] = '\0';

	printf("test %s start\n", name_buf);
	size_t nlen = 0;
	while (name_buf[nlen] && name_buf[nlen] != '=')
		nlen++;
	const char *arg = name_buf[nlen] ? name_buf + nlen + 1 : "";

	for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
		if (strlen(tests[i].name) == nlen && !strncmp(tests[i].name, name_buf, nlen)) {
			tests[i].run(arg);
			printf("test %s returned\n", name_buf);
			debug_exit(0x7d);
		}
	}
	printf("unknown test '%s'\n", name_buf);
	debug_exit(0x7c);
}
