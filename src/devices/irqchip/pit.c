/* 8254 programmable interval timer (ports 0x40-0x43) and port 0x61 (NMI
 * status and control: channel 2's gate in bit 0, the speaker enable in bit
 * 1, the refresh toggle in bit 4 and channel 2's output in bit 5).
 *
 * Counters are not ticked: every read derives the count and the output
 * level from the host time elapsed since the count was loaded, at
 * 1193182 Hz. Channel 0's output drives IRQ 0; its rising edges are
 * signalled from the chip's timer thread (vs_pit_poll).
 *
 * Missed ticks are re-delivered, as KVM's in-kernel PIT does: an edge due
 * while the last one sent has not been taken by a CPU yet (the vCPU thread
 * was not scheduled, or ran with interrupts off) joins a backlog, and each
 * time a CPU takes IRQ 0's interrupt (vs_pit_acked, from the irqchip's
 * acknowledge) the next one goes out at once. Guests that count ticks
 * against the TSC, as Linux's boot-time IO-APIC timer check does (5 ticks
 * within 80 ms of TSC time), then see every period that passed even when
 * the host left the vCPU unscheduled for most of it. The backlog holds at
 * most BACKLOG_NS of ticks, and is dropped while IRQ 0 is masked both in
 * the 8259 and at the I/O APIC (nobody could take them, as KVM resets it
 * on unmasking). An edge still not taken after a full period is sent again
 * (it merges with the pending request if there is one, and reaches the
 * other controller after the guest switched between them).
 *
 * All six modes are modelled, with the gate semantics of the data sheet
 * (gate low pauses modes 0/4, stops and later restarts modes 2/3, and a
 * rising gate triggers modes 1/5). Simplifications: a new count takes effect
 * at once, also in modes 2/3 where hardware waits for the period's end, and
 * mode 0 keeps counting while only the LSB of a 16-bit count was written.
 */
#include "devices/irqchip/irqchip_internal.h"

#include <string.h>

#define NS_PER_S 1000000000ull
/* The most missed ticks kept, in host time: enough for a vCPU thread
 * descheduled through Linux's 80 ms timer check, little enough that a
 * burst moves jiffies by no more than a late timer would. */
#define BACKLOG_NS 100000000ull

static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * VS_PIT_HZ / NS_PER_S);
}

/* Rounded up, so that ns_to_ticks(ticks_to_ns(t)) == t. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * NS_PER_S + VS_PIT_HZ - 1) / VS_PIT_HZ);
}

static uint64_t elapsed(const struct vs_pit_channel *ch, uint64_t now)
{
	if (ch->frozen)
		return ch->frozen_ticks;
	return now > ch->load_ns ? ns_to_ticks(now - ch->load_ns) : 0;
}

static bool periodic(const struct vs_pit_channel *ch)
{
	return ch->mode == 2 || ch->mode == 3;
}

static bool out_level(const struct vs_pit_channel *ch, uint64_t now)
{
	uint64_t d, n = ch->count, p;
	if (!ch->counting)
		return ch->mode != 0; /* mode 0 drives low from the control word on */
	if (periodic(ch) && (!ch->gate || ch->frozen))
		return true;
	d = elapsed(ch, now);
	switch (ch->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		return n < 2 || d % n != n - 1; /* low for the count's last tick */
	case 3:
		p = d % n;
		return p < (n + 1) / 2;
	default: /* 4, 5: low for one tick at the terminal count */
		return d != n;
	}
}

static uint32_t counter_value(const struct vs_pit_channel *ch, uint64_t now)
{
	uint64_t d, n = ch->count, p, h1, v;
	uint32_t modulus = ch->bcd ? 10000 : 0x10000;
	if (!ch->counting)
		return (uint32_t)(n % modulus);
	d = elapsed(ch, now);
	switch (ch->mode) {
	case 2:
		v = n - d % n;
		break;
	case 3:
		/* Counts down by two through each half of the period. */
		p = d % n;
		h1 = (n + 1) / 2;
		v = p < h1 ? n - 2 * p : n - 2 * (p - h1);
		v &= ~1ull;
		break;
	default:
		/* After the terminal count the counter wraps and keeps going. */
		v = (n + modulus - d % modulus) % modulus;
		break;
	}
	return (uint32_t)(v % modulus);
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)((v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) | ((v / 1000 % 10) << 12));
}

static uint32_t from_bcd(uint16_t v)
{
	/* Invalid digits just give some count, as the chip would. */
	return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000u;
}

static uint16_t read_count(const struct vs_pit_channel *ch, uint64_t now)
{
	uint32_t v = counter_value(ch, now);
	return ch->bcd ? to_bcd(v) : (uint16_t)v;
}

/* ---- channel 0's IRQ ---- */

static uint64_t edge_period(const struct vs_pit_channel *ch)
{
	uint64_t min = ns_to_ticks(VS_IRQCHIP_MIN_PERIOD_NS);
	return ch->count > min ? ch->count : min;
}

/* IRQ 0 sees each rising edge of the output as a pulse, as from KVM's
 * PIT: the line rests low, so reprogramming the mode (which moves the
 * output level) never looks like an interrupt. */
static void pulse(struct vs_pit *pit)
{
	vs_irqchip_pit_out(pit->chip, 1);
	vs_irqchip_pit_out(pit->chip, 0);
}

static void send_tick(struct vs_pit *pit, uint64_t now)
{
	pit->unacked = true;
	pit->sent_ns = now;
	pulse(pit);
}

/* `n` edges of a `period_ns` period fell due. */
static void tick_due(struct vs_pit *pit, uint64_t n, uint64_t period_ns, uint64_t now)
{
	uint64_t cap = BACKLOG_NS / period_ns;
	if (!vs_irqchip_pit_unmasked(pit->chip)) {
		pit->backlog = 0;
		pit->unacked = false;
		pulse(pit); /* an 8259 still latches it in IRR */
		return;
	}
	pit->backlog = (uint32_t)(pit->backlog + n < cap ? pit->backlog + n : cap);
	if (!pit->unacked) {
		if (pit->backlog)
			pit->backlog--;
		send_tick(pit, now);
	} else if (now - pit->sent_ns >= period_ns) {
		send_tick(pit, now); /* again: not a new tick */
	}
}

void vs_pit_acked(struct vs_pit *pit, uint64_t now)
{
	if (!pit->unacked)
		return;
	if (pit->backlog == 0) {
		pit->unacked = false;
		return;
	}
	pit->backlog--;
	send_tick(pit, now);
}

uint64_t vs_pit_poll(struct vs_pit *pit, uint64_t now)
{
	struct vs_pit_channel *ch = &pit->ch[0];
	uint64_t d, total, next_tick;

	if (!ch->counting || ch->frozen)
		return UINT64_MAX;
	d = elapsed(ch, now);
	if (periodic(ch))
		total = d / edge_period(ch);
	else
		total = d >= ch->count ? 1 : 0;
	if (total > ch->edges) {
		tick_due(pit, total - ch->edges, ticks_to_ns(edge_period(ch)), now);
		ch->edges = total;
	}
	if (periodic(ch))
		next_tick = (ch->edges + 1) * edge_period(ch);
	else if (ch->edges == 0)
		next_tick = ch->count;
	else
		return UINT64_MAX;
	return ch->load_ns + ticks_to_ns(next_tick);
}

static void channel_changed(struct vs_pit *pit, int idx, uint64_t now)
{
	uint64_t next;
	if (idx != 0)
		return;
	/* Ticks of the old programming are not owed any more. */
	pit->backlog = 0;
	pit->unacked = false;
	next = vs_pit_poll(pit, now);
	if (next != UINT64_MAX)
		vs_irqchip_timer_armed(pit->chip, next);
}

/* ---- programming ---- */

static void start_counting(struct vs_pit_channel *ch, uint64_t now)
{
	ch->counting = true;
	ch->load_ns = now;
	ch->frozen = false;
	ch->frozen_ticks = 0;
	ch->edges = 0;
	/* Modes 0/4 count only while the gate is high; 2/3 start on it. */
	if (!ch->gate && ch->mode != 1 && ch->mode != 5)
		ch->frozen = true;
}

static void load_count(struct vs_pit_channel *ch, uint16_t raw, uint64_t now)
{
	if (ch->bcd)
		ch->count = raw ? from_bcd(raw) : 10000;
	else
		ch->count = raw ? raw : 0x10000;
	if (ch->count == 0)
		ch->count = 10000; /* BCD 0x0000 after conversion */
	ch->loaded = true;
	ch->null_count = false;
	if (ch->mode == 1 || ch->mode == 5)
		return; /* waits for a gate trigger */
	start_counting(ch, now);
}

static void set_gate(struct vs_pit_channel *ch, bool gate, uint64_t now)
{
	if (gate == ch->gate)
		return;
	if (!gate) {
		if (ch->counting && !ch->frozen && ch->mode != 1 && ch->mode != 5) {
			ch->frozen_ticks = periodic(ch) ? 0 : elapsed(ch, now);
			ch->frozen = true;
		}
		ch->gate = false;
		return;
	}
	ch->gate = true;
	if (!ch->loaded)
		return;
	switch (ch->mode) {
	case 1:
	case 5:
	case 2:
	case 3:
		start_counting(ch, now); /* trigger / reload */
		break;
	default:
		if (ch->counting && ch->frozen) {
			ch->load_ns = now - ticks_to_ns(ch->frozen_ticks);
			ch->frozen = false;
		}
		break;
	}
}

static void latch_count(struct vs_pit_channel *ch, uint64_t now)
{
	if (ch->count_latched)
		return;
	ch->latch = read_count(ch, now);
	ch->count_latched = true;
	ch->latch_msb_next = false;
}

static void latch_status(struct vs_pit_channel *ch, uint64_t now)
{
	if (ch->status_latched)
		return;
	ch->status = (uint8_t)((out_level(ch, now) ? 0x80 : 0) | (ch->null_count ? 0x40 : 0) |
			       (ch->access << 4) | (ch->mode << 1) | (ch->bcd ? 1 : 0));
	ch->status_latched = true;
}

static void control_word(struct vs_pit *pit, uint8_t v, uint64_t now)
{
	int idx = v >> 6;
	struct vs_pit_channel *ch;

	if (idx == 3) { /* read-back: bit 5 clear latches counts, bit 4 status */
		for (int i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			if (!(v & 0x20))
				latch_count(&pit->ch[i], now);
			if (!(v & 0x10))
				latch_status(&pit->ch[i], now);
		}
		return;
	}
	ch = &pit->ch[idx];
	if ((v & 0x30) == 0) {
		latch_count(ch, now);
		return;
	}
	ch->access = (v >> 4) & 3;
	ch->mode = (v >> 1) & 7;
	if (ch->mode > 5)
		ch->mode -= 4; /* 6 and 7 are aliases of 2 and 3 */
	ch->bcd = v & 1;
	ch->loaded = false;
	ch->counting = false;
	ch->frozen = false;
	ch->null_count = true;
	ch->write_msb_next = false;
	ch->read_msb_next = false;
	ch->count_latched = false;
	ch->status_latched = false;
	ch->edges = 0;
	channel_changed(pit, idx, now);
}

static void data_write(struct vs_pit *pit, int idx, uint8_t v, uint64_t now)
{
	struct vs_pit_channel *ch = &pit->ch[idx];
	switch (ch->access) {
	case 1:
		load_count(ch, v, now);
		break;
	case 2:
		load_count(ch, (uint16_t)(v << 8), now);
		break;
	case 3:
		if (!ch->write_msb_next) {
			ch->write_lsb = v;
			ch->write_msb_next = true;
			return;
		}
		ch->write_msb_next = false;
		load_count(ch, (uint16_t)(ch->write_lsb | (v << 8)), now);
		break;
	default: /* no control word yet: the write is lost */
		return;
	}
	channel_changed(pit, idx, now);
}

static uint8_t data_read(struct vs_pit *pit, int idx, uint64_t now)
{
	struct vs_pit_channel *ch = &pit->ch[idx];
	uint16_t v;
	bool msb;

	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->status;
	}
	if (ch->count_latched) {
		v = ch->latch;
		if (ch->access == 3 && !ch->latch_msb_next) {
			ch->latch_msb_next = true;
			return (uint8_t)v;
		}
		ch->count_latched = false;
		return (uint8_t)(ch->access == 1 ? v : v >> 8);
	}
	v = read_count(ch, now);
	switch (ch->access) {
	case 1:
		return (uint8_t)v;
	case 2:
		return (uint8_t)(v >> 8);
	default:
		msb = ch->read_msb_next;
		ch->read_msb_next = !msb;
		return (uint8_t)(msb ? v >> 8 : v);
	}
}

void vs_pit_init(struct vs_pit *pit, struct vs_irqchip *chip)
{
	memset(pit, 0, sizeof(*pit));
	pit->chip = chip;
	for (int i = 0; i < 3; i++) {
		pit->ch[i].gate = i != 2; /* channel 2's gate is port 0x61 bit 0 */
		pit->ch[i].count = 0x10000;
		pit->ch[i].access = 3;
		pit->ch[i].null_count = true;
	}
}

static void pit_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_pit *pit = opaque;
	uint64_t now = vs_now_ns();
	pthread_mutex_lock(&pit->chip->lock);
	for (uint32_t i = 0; i < size; i++) {
		uint64_t port = offset + i;
		/* The control port is write-only and reads float. */
		data[i] = port < 3 ? data_read(pit, (int)port, now) : 0xff;
	}
	pthread_mutex_unlock(&pit->chip->lock);
}

static void pit_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_pit *pit = opaque;
	uint64_t now = vs_now_ns();
	pthread_mutex_lock(&pit->chip->lock);
	for (uint32_t i = 0; i < size; i++) {
		uint64_t port = offset + i;
		if (port < 3)
			data_write(pit, (int)port, data[i], now);
		else if (port == 3)
			control_word(pit, data[i], now);
	}
	pthread_mutex_unlock(&pit->chip->lock);
}

/* DRAM refresh request: toggles every 15.085 us on a PC/AT. */
#define REFRESH_NS 15085ull

static void port61_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_pit *pit = opaque;
	uint64_t now = vs_now_ns();
	uint8_t v;
	pthread_mutex_lock(&pit->chip->lock);
	v = (uint8_t)(pit->port61 & 0x0f);
	if ((now / REFRESH_NS) & 1)
		v |= 0x10;
	if (out_level(&pit->ch[2], now))
		v |= 0x20;
	pthread_mutex_unlock(&pit->chip->lock);
	for (uint32_t i = 0; i < size; i++)
		data[i] = offset + i == 0 ? v : 0xff;
}

static void port61_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_pit *pit = opaque;
	uint64_t now = vs_now_ns();
	if (offset != 0 || size < 1)
		return;
	pthread_mutex_lock(&pit->chip->lock);
	pit->port61 = data[0] & 0x0f;
	set_gate(&pit->ch[2], data[0] & 1, now);
	pthread_mutex_unlock(&pit->chip->lock);
}

const struct vs_bus_ops vs_pit_ops = { .read = pit_read, .write = pit_write };
const struct vs_bus_ops vs_port61_ops = { .read = port61_read, .write = port61_write };
