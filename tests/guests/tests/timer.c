/* Timer interrupts, three ways:
 *  test=timer        PIT channel 0 -> 8259 IRQ 0 -> LAPIC LINT0 (ExtINT);
 *  test=timer-apic   PIT -> I/O APIC (the GSI the MADT gives IRQ 0) ->
 *                    LAPIC, with the 8259 fully masked;
 *  test=lapic-timer  the LAPIC's own periodic timer.
 * Each waits in hlt for TICKS interrupts and prints "<name>: N ticks". */
#include "apic.h"
#include "idt.h"
#include "io.h"
#include "isa_irq.h"
#include "libc.h"
#include "pic_pit.h"
#include "system.h"
#include "tests.h"

#define TICKS 5
#define TICK_HZ 100
#define LAPIC_TIMER_VECTOR 0x50

static volatile unsigned ticks;

static void wait_ticks(void)
{
	/* Checking with interrupts off and then "sti; hlt" cannot miss the
	 * wake-up: sti only takes effect after hlt has started. */
	for (;;) {
		cli();
		if (ticks >= TICKS)
			break;
		sti_hlt();
	}
}

static void pit_tick(struct irq_frame *f)
{
	(void)f;
	ticks++;
	isa_irq_eoi(0);
}

static void pit_test(const char *name, enum irq_path path)
{
	if (!isa_irq_init(path))
		fail("%s: cannot set up the %s path", name, path == IRQ_VIA_PIC ? "8259" : "I/O APIC");
	idt_set_handler(isa_irq_vector(0), pit_tick);
	if (!isa_irq_enable(0))
		fail("%s: cannot route IRQ 0", name);
	pit_start_periodic(TICK_HZ);
	wait_ticks();
	pit_stop();
	isa_irq_disable(0);
	printf("%s: %u ticks\n", name, ticks);
	debug_exit(0);
}

void test_timer(const char *arg)
{
	(void)arg;
	pit_test("timer", IRQ_VIA_PIC);
}

void test_timer_apic(const char *arg)
{
	(void)arg;
	pit_test("timer-apic", IRQ_VIA_IOAPIC);
}

static void lapic_tick(struct irq_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

void test_lapic_timer(const char *arg)
{
	(void)arg;
	idt_set_handler(LAPIC_TIMER_VECTOR, lapic_tick);
	lapic_enable();
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | LAPIC_TIMER_VECTOR);
	/* The period depends on the (virtual) bus clock, unknown here; a few
	 * million bus cycles is milliseconds at any plausible rate. */
	lapic_write(LAPIC_TIMER_INIT, 200000);
	wait_ticks();
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0);
	printf("lapic-timer: %u ticks\n", ticks);
	debug_exit(0);
}
