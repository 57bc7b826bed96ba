/* The irqchip set: creation, the board wiring between its parts, the one
 * lock that serialises them, the timer thread, and the CPU-side calls.
 *
 * The timer thread sleeps on a condition variable (CLOCK_MONOTONIC) until
 * the earliest deadline of the PIT's channel 0 and the LAPIC timers; a part
 * arming an earlier deadline wakes it (vs_irqchip_timer_armed). Deadlines
 * are host CLOCK_MONOTONIC ns, the clock hw/timebase.h derives the guest
 * TSC from.
 */
#include "devices/irqchip/irqchip_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/pc_layout.h"

#define IOAPIC_MMIO_LEN 0x1000
#define IOAPIC_RTE_MASKED (1ull << 16)

void vs_irqchip_kick_locked(struct vs_irqchip *chip, int cpu)
{
	if (chip->cfg.kick)
		chip->cfg.kick(chip->cfg.opaque, cpu);
}

void vs_irqchip_timer_armed(struct vs_irqchip *chip, uint64_t deadline_ns)
{
	if (deadline_ns < chip->wait_until)
		pthread_cond_signal(&chip->cond);
}

void vs_irqchip_pic_intr_changed(struct vs_irqchip *chip, bool level)
{
	vs_lapic_lint0(&chip->lapic[0], level);
}

void vs_irqchip_pit_out(struct vs_irqchip *chip, int level)
{
	vs_pic_set_irq(&chip->pic, 0, level);
	vs_ioapic_set_irq(&chip->ioapic, 2, level);
}

bool vs_irqchip_pit_unmasked(const struct vs_irqchip *chip)
{
	return !(chip->pic.c[0].imr & 1) || !(chip->ioapic.redir[2] & IOAPIC_RTE_MASKED);
}

/* Whether `vector`, just taken by a CPU, is IRQ 0's: through the 8259
 * (ExtINT) or the I/O APIC's pin 2. Another CPU may use the same vector
 * number for another IRQ (Linux's vector spaces are per CPU): such an ack
 * only sends a missed tick a little early. */
static bool is_pit_vector(const struct vs_irqchip *chip, bool extint, int vector)
{
	if (extint)
		return vector == chip->pic.c[0].base;
	return !(chip->ioapic.redir[2] & IOAPIC_RTE_MASKED) && vector == (int)(chip->ioapic.redir[2] & 0xff);
}

static uint64_t run_timers(struct vs_irqchip *chip, uint64_t now)
{
	uint64_t next = vs_pit_poll(&chip->pit, now), t;
	for (int i = 0; i < chip->cfg.ncpus; i++) {
		t = vs_lapic_timer_poll(&chip->lapic[i], now);
		if (t < next)
			next = t;
	}
	return next;
}

static void *timer_thread(void *arg)
{
	struct vs_irqchip *chip = arg;
	struct timespec ts;
	uint64_t next;

	pthread_mutex_lock(&chip->lock);
	while (!chip->stop) {
		next = run_timers(chip, vs_now_ns());
		chip->wait_until = next;
		if (next == UINT64_MAX) {
			pthread_cond_wait(&chip->cond, &chip->lock);
		} else {
			ts.tv_sec = (time_t)(next / 1000000000ull);
			ts.tv_nsec = (long)(next % 1000000000ull);
			pthread_cond_timedwait(&chip->cond, &chip->lock, &ts);
		}
		/* Until the loop recomputes, any arm must signal. */
		chip->wait_until = 0;
	}
	pthread_mutex_unlock(&chip->lock);
	return NULL;
}

int vs_irqchip_create(const struct vs_irqchip_config *cfg, struct vs_irqchip **out, struct vs_error *err)
{
	struct vs_irqchip *chip;
	pthread_condattr_t attr;
	int rc;

	*out = NULL;
	if (!cfg || cfg->ncpus < 1 || cfg->ncpus > 64 || !cfg->timebase)
		return vs_error_msg(err, "irqchip: need 1..64 CPUs and a timebase");
	chip = calloc(1, sizeof(*chip));
	if (!chip)
		return vs_error_set(err, ENOMEM, "irqchip");
	chip->lapic = calloc((size_t)cfg->ncpus, sizeof(*chip->lapic));
	if (!chip->lapic) {
		free(chip);
		return vs_error_set(err, ENOMEM, "irqchip");
	}
	chip->cfg = *cfg;
	chip->wait_until = 0;
	vs_pic_init(&chip->pic, chip);
	vs_pit_init(&chip->pit, chip);
	/* The I/O APIC's ID follows the CPUs', as the MADT says. */
	vs_ioapic_init(&chip->ioapic, chip, (uint8_t)cfg->ncpus);
	for (int i = 0; i < cfg->ncpus; i++)
		vs_lapic_init(&chip->lapic[i], chip, i);

	pthread_mutex_init(&chip->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&chip->cond, &attr);
	pthread_condattr_destroy(&attr);
	rc = pthread_create(&chip->thread, NULL, timer_thread, chip);
	if (rc) {
		pthread_cond_destroy(&chip->cond);
		pthread_mutex_destroy(&chip->lock);
		free(chip->lapic);
		free(chip);
		return vs_error_set(err, rc, "irqchip: starting the timer thread");
	}
	chip->thread_started = true;
	*out = chip;
	return 0;
}

void vs_irqchip_destroy(struct vs_irqchip *chip)
{
	if (!chip)
		return;
	if (chip->thread_started) {
		pthread_mutex_lock(&chip->lock);
		chip->stop = true;
		pthread_cond_signal(&chip->cond);
		pthread_mutex_unlock(&chip->lock);
		pthread_join(chip->thread, NULL);
	}
	pthread_cond_destroy(&chip->cond);
	pthread_mutex_destroy(&chip->lock);
	free(chip->lapic);
	free(chip);
}

int vs_irqchip_register(struct vs_irqchip *chip, struct vs_bus *pio, struct vs_bus *mmio,
			struct vs_error *err)
{
	if (vs_bus_register(pio, 0x20, 2, &vs_pic_master_ops, &chip->pic, "pic-master", err) < 0 ||
	    vs_bus_register(pio, 0xa0, 2, &vs_pic_slave_ops, &chip->pic, "pic-slave", err) < 0 ||
	    vs_bus_register(pio, 0x4d0, 2, &vs_pic_elcr_ops, &chip->pic, "elcr", err) < 0 ||
	    vs_bus_register(pio, 0x40, 4, &vs_pit_ops, &chip->pit, "pit", err) < 0 ||
	    vs_bus_register(pio, 0x61, 1, &vs_port61_ops, &chip->pit, "port61", err) < 0 ||
	    vs_bus_register(mmio, VS_IOAPIC_ADDR, IOAPIC_MMIO_LEN, &vs_ioapic_ops, &chip->ioapic, "ioapic",
			    err) < 0)
		return -1;
	return 0;
}

void vs_irqchip_set_irq(struct vs_irqchip *chip, uint32_t gsi, int level)
{
	if (gsi >= VS_IOAPIC_NPINS)
		return;
	pthread_mutex_lock(&chip->lock);
	/* PIC IRQ 2 is the slave's cascade input, never a device line. */
	if (gsi < 16 && gsi != 2)
		vs_pic_set_irq(&chip->pic, gsi, level != 0);
	vs_ioapic_set_irq(&chip->ioapic, gsi, level != 0);
	pthread_mutex_unlock(&chip->lock);
}

int vs_irqchip_send_msi(struct vs_irqchip *chip, uint64_t addr, uint32_t data)
{
	struct vs_apic_msg m = {
		.vector = (uint8_t)data,
		.mode = (uint8_t)((data >> 8) & 7),
		.dest = (uint8_t)(addr >> 12),
		.shorthand = APIC_SH_NONE,
		.logical = addr & 4,
		.assert = true,
		.src = -1,
	};
	int n;
	if ((addr >> 20) != 0xfee)
		return 0;
	if (m.mode != APIC_DM_FIXED && m.mode != APIC_DM_LOWEST && m.mode != APIC_DM_NMI)
		return 0;
	if ((addr & 8) && m.mode == APIC_DM_FIXED)
		m.mode = APIC_DM_LOWEST; /* the redirection hint */
	pthread_mutex_lock(&chip->lock);
	n = vs_apic_deliver(chip, &m);
	pthread_mutex_unlock(&chip->lock);
	return n;
}

static struct vs_lapic *cpu_lapic(struct vs_irqchip *chip, int cpu)
{
	if (cpu < 0 || cpu >= chip->cfg.ncpus)
		return NULL;
	return &chip->lapic[cpu];
}

void vs_irqchip_lapic_read(struct vs_irqchip *chip, int cpu, uint32_t offset, uint8_t *data, uint32_t size)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	uint32_t v = 0;
	if (a && size == 4 && !(offset & 3) && offset < 0x1000) {
		pthread_mutex_lock(&chip->lock);
		v = vs_lapic_read_reg(a, offset);
		pthread_mutex_unlock(&chip->lock);
	}
	for (uint32_t i = 0; i < size; i++)
		data[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0;
}

void vs_irqchip_lapic_write(struct vs_irqchip *chip, int cpu, uint32_t offset, const uint8_t *data,
			    uint32_t size)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	uint32_t v;
	if (!a || size != 4 || (offset & 3) || offset >= 0x1000)
		return;
	v = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	pthread_mutex_lock(&chip->lock);
	vs_lapic_write_reg(a, offset, v);
	pthread_mutex_unlock(&chip->lock);
}

uint64_t vs_irqchip_apic_base(struct vs_irqchip *chip, int cpu)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	uint64_t v;
	if (!a)
		return 0;
	pthread_mutex_lock(&chip->lock);
	v = a->base_msr;
	pthread_mutex_unlock(&chip->lock);
	return v;
}

int vs_irqchip_set_apic_base(struct vs_irqchip *chip, int cpu, uint64_t value)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	int rc;
	if (!a)
		return -1;
	pthread_mutex_lock(&chip->lock);
	rc = vs_lapic_set_base(a, value);
	pthread_mutex_unlock(&chip->lock);
	return rc;
}

uint64_t vs_irqchip_tsc_deadline(struct vs_irqchip *chip, int cpu)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	uint64_t v;
	if (!a)
		return 0;
	pthread_mutex_lock(&chip->lock);
	v = vs_lapic_tsc_deadline(a);
	pthread_mutex_unlock(&chip->lock);
	return v;
}

void vs_irqchip_set_tsc_deadline(struct vs_irqchip *chip, int cpu, uint64_t tsc)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	if (!a)
		return;
	pthread_mutex_lock(&chip->lock);
	vs_lapic_set_tsc_deadline(a, tsc);
	/* A deadline already in the past fires now, not at the thread's
	 * convenience. */
	vs_lapic_timer_poll(a, vs_now_ns());
	pthread_mutex_unlock(&chip->lock);
}

uint8_t vs_irqchip_cr8(struct vs_irqchip *chip, int cpu)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	uint8_t v;
	if (!a)
		return 0;
	pthread_mutex_lock(&chip->lock);
	v = (uint8_t)((a->tpr >> 4) & 0xf);
	pthread_mutex_unlock(&chip->lock);
	return v;
}

void vs_irqchip_set_cr8(struct vs_irqchip *chip, int cpu, uint8_t cr8)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	if (!a)
		return;
	pthread_mutex_lock(&chip->lock);
	a->tpr = (uint32_t)(cr8 & 0xf) << 4;
	pthread_mutex_unlock(&chip->lock);
}

static bool extint_pending(struct vs_irqchip *chip, int cpu)
{
	return cpu == 0 && chip->pic.intr && vs_lapic_accepts_pic(&chip->lapic[0]);
}

int vs_irqchip_pending(struct vs_irqchip *chip, int cpu)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	int v;
	if (!a)
		return -1;
	pthread_mutex_lock(&chip->lock);
	if (extint_pending(chip, cpu))
		v = vs_pic_peek(&chip->pic);
	else if (vs_lapic_hw_enabled(a))
		v = vs_lapic_pending(a);
	else
		v = -1;
	pthread_mutex_unlock(&chip->lock);
	return v;
}

int vs_irqchip_ack(struct vs_irqchip *chip, int cpu)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	bool extint;
	int v;
	if (!a)
		return -1;
	pthread_mutex_lock(&chip->lock);
	extint = extint_pending(chip, cpu);
	if (extint)
		v = vs_pic_inta(&chip->pic);
	else if (vs_lapic_hw_enabled(a))
		v = vs_lapic_ack(a);
	else
		v = -1;
	if (v >= 0 && is_pit_vector(chip, extint, v))
		vs_pit_acked(&chip->pit, vs_now_ns());
	pthread_mutex_unlock(&chip->lock);
	return v;
}

bool vs_irqchip_take_nmi(struct vs_irqchip *chip, int cpu)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	bool v;
	if (!a)
		return false;
	pthread_mutex_lock(&chip->lock);
	v = a->nmi_pending;
	a->nmi_pending = false;
	pthread_mutex_unlock(&chip->lock);
	return v;
}

enum vs_irqchip_event vs_irqchip_take_event(struct vs_irqchip *chip, int cpu, uint8_t *sipi_vector)
{
	struct vs_lapic *a = cpu_lapic(chip, cpu);
	enum vs_irqchip_event ev = VS_IRQCHIP_NONE;
	uint8_t vector = 0;
	if (!a)
		return VS_IRQCHIP_NONE;
	pthread_mutex_lock(&chip->lock);
	if (!vs_lapic_take_event(a, &ev, &vector))
		ev = VS_IRQCHIP_NONE;
	pthread_mutex_unlock(&chip->lock);
	if (ev == VS_IRQCHIP_SIPI && sipi_vector)
		*sipi_vector = vector;
	return ev;
}
