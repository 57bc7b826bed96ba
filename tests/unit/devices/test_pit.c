/* The 8254 as Linux programs it (i8253 clockevents, PIT calibration
 * through port 0x61) and the IRQ 0 it raises. No timing assertions: timers
 * are awaited with a generous bound, counters compared, not measured. */
#include "../tap.h"
#include "irqchip_rig.h"

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT61 0x61

static uint16_t read16(struct rig *r, uint16_t port)
{
	uint8_t lo = inb(r, port);
	return (uint16_t)(lo | inb(r, port) << 8);
}

static uint16_t latch_ch2(struct rig *r)
{
	outb(r, PIT_CMD, 0x80);
	return read16(r, PIT_CH2);
}

/* Poll port 0x61 until bit 5 equals `want`. */
static bool wait_out2(struct rig *r, bool want)
{
	uint64_t end = vs_now_ns() + RIG_WAIT_NS;
	while (vs_now_ns() < end) {
		if (((inb(r, PORT61) & 0x20) != 0) == want)
			return true;
		rig_sleep_us(50);
	}
	return false;
}

TEST(gate_low_freezes_the_count)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	outb(&r, PORT61, 0x00);
	outb(&r, PIT_CMD, 0xb0); /* channel 2, LSB+MSB, mode 0 */
	outb(&r, PIT_CH2, 0x34);
	outb(&r, PIT_CH2, 0x12);
	CHECK_EQ_U64(latch_ch2(&r), 0x1234);
	rig_sleep_us(2000);
	CHECK_EQ_U64(latch_ch2(&r), 0x1234);
	CHECK_EQ_U64(read16(&r, PIT_CH2), 0x1234); /* live read, same */
	CHECK((inb(&r, PORT61) & 0x20) == 0);	   /* mode 0: out low while counting */
	rig_fini(&r);
}

TEST(counter_runs_down_with_the_gate)
{
	struct rig r;
	uint64_t end;
	uint16_t v = 0xffff;
	CHECK(rig_init(&r, 1) == 0);
	/* quick_pit_calibrate: gate on, speaker off, mode 0, count 0xffff */
	outb(&r, PORT61, (inb(&r, PORT61) & ~0x02) | 0x01);
	CHECK((inb(&r, PORT61) & 0x0f) == 0x01);
	outb(&r, PIT_CMD, 0xb0);
	outb(&r, PIT_CH2, 0xff);
	outb(&r, PIT_CH2, 0xff);
	end = vs_now_ns() + RIG_WAIT_NS;
	while (vs_now_ns() < end && (v = latch_ch2(&r)) == 0xffff)
		rig_sleep_us(50);
	CHECK(v < 0xffff);
	rig_fini(&r);
}

TEST(out2_rises_at_terminal_count)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	outb(&r, PORT61, 0x00);
	outb(&r, PIT_CMD, 0xb0);
	outb(&r, PIT_CH2, 0xa9); /* 1193 ticks: 1 ms */
	outb(&r, PIT_CH2, 0x04);
	CHECK((inb(&r, PORT61) & 0x20) == 0);
	outb(&r, PORT61, 0x01);
	CHECK(wait_out2(&r, true));
	rig_sleep_us(1000);
	CHECK((inb(&r, PORT61) & 0x20) != 0); /* mode 0 stays high */
	rig_fini(&r);
}

TEST(square_wave_toggles)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	outb(&r, PORT61, 0x01);
	outb(&r, PIT_CMD, 0xb6); /* channel 2, mode 3: the speaker tone */
	outb(&r, PIT_CH2, 0x00);
	outb(&r, PIT_CH2, 0x10); /* 4096 ticks: ~3.4 ms */
	CHECK(wait_out2(&r, false));
	CHECK(wait_out2(&r, true));
	CHECK(wait_out2(&r, false));
	/* Gate low holds the output high. */
	outb(&r, PORT61, 0x00);
	CHECK((inb(&r, PORT61) & 0x20) != 0);
	rig_fini(&r);
}

/* Poll the latched count of channel 2 until it differs from `from`. */
static bool wait_count_moves(struct rig *r, uint16_t from)
{
	uint64_t end = vs_now_ns() + RIG_WAIT_NS;
	while (vs_now_ns() < end) {
		if (latch_ch2(r) != from)
			return true;
		rig_sleep_us(50);
	}
	return false;
}

TEST(mode1_waits_for_a_gate_trigger)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	outb(&r, PORT61, 0x00);
	outb(&r, PIT_CMD, 0xb2); /* mode 1 */
	outb(&r, PIT_CH2, 0xa9);
	outb(&r, PIT_CH2, 0x04);
	CHECK((inb(&r, PORT61) & 0x20) != 0); /* not triggered: high */
	rig_sleep_us(2000);
	CHECK_EQ_U64(latch_ch2(&r), 0x04a9); /* and not counting */
	outb(&r, PORT61, 0x01);
	CHECK(wait_count_moves(&r, 0x04a9));
	CHECK(wait_out2(&r, true));
	rig_fini(&r);
}

TEST(latch_holds_until_read)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	outb(&r, PORT61, 0x00);
	outb(&r, PIT_CMD, 0xb0);
	outb(&r, PIT_CH2, 0x00);
	outb(&r, PIT_CH2, 0x04);
	outb(&r, PIT_CMD, 0x80); /* latched while frozen: 0x0400 */
	outb(&r, PORT61, 0x01);
	CHECK(wait_out2(&r, true)); /* the count has run out meanwhile */
	outb(&r, PIT_CMD, 0x80);    /* ignored: a latch is pending */
	CHECK_EQ_U64(read16(&r, PIT_CH2), 0x0400);
	/* Latch consumed: the next latch sees the wrapped count. */
	CHECK(wait_count_moves(&r, 0x0400));
	rig_fini(&r);
}

TEST(lsb_only_msb_only_and_bcd)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	outb(&r, PORT61, 0x00);
	outb(&r, PIT_CMD, 0x90); /* LSB only */
	outb(&r, PIT_CH2, 0x34);
	CHECK(inb(&r, PIT_CH2) == 0x34);
	CHECK(inb(&r, PIT_CH2) == 0x34);
	outb(&r, PIT_CMD, 0xa0); /* MSB only */
	outb(&r, PIT_CH2, 0x12);
	CHECK(inb(&r, PIT_CH2) == 0x12);
	outb(&r, PIT_CMD, 0x80);
	CHECK(inb(&r, PIT_CH2) == 0x12);
	outb(&r, PIT_CMD, 0xb1); /* BCD */
	outb(&r, PIT_CH2, 0x99);
	outb(&r, PIT_CH2, 0x99);
	CHECK_EQ_U64(latch_ch2(&r), 0x9999);
	outb(&r, PIT_CH2, 0x00);
	outb(&r, PIT_CH2, 0x00); /* 0 is 10000 in BCD: reads 0000 */
	CHECK_EQ_U64(latch_ch2(&r), 0x0000);
	rig_fini(&r);
}

TEST(read_back_status)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	outb(&r, PORT61, 0x00);
	outb(&r, PIT_CMD, 0xb0);
	outb(&r, PIT_CMD, 0xe8);	      /* read-back, status only, channel 2 */
	CHECK_EQ_U64(inb(&r, PIT_CH2), 0x70); /* null count, LSB+MSB, mode 0, out low */
	outb(&r, PIT_CH2, 0x10);
	outb(&r, PIT_CH2, 0x00);
	outb(&r, PIT_CMD, 0xc8); /* status and count */
	CHECK_EQ_U64(inb(&r, PIT_CH2), 0x30);
	CHECK_EQ_U64(read16(&r, PIT_CH2), 0x0010);
	outb(&r, PIT_CMD, 0xb4); /* mode 2: out high */
	outb(&r, PIT_CMD, 0xe8);
	CHECK_EQ_U64(inb(&r, PIT_CH2), 0xf4);
	rig_fini(&r);
}

TEST(periodic_irq0_through_the_pic)
{
	struct rig r;
	int kicks;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	outb(&r, 0x21, 0xfa); /* IRQ 0 */
	kicks = rig_kicks(&r, 0);
	outb(&r, PIT_CMD, 0x34); /* Linux's periodic mode: channel 0, mode 2 */
	outb(&r, PIT_CH0, 0xa9);
	outb(&r, PIT_CH0, 0x04);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_U64(rig_wait_pending(&r, 0), 0x30);
		CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x30);
		outb(&r, 0x20, 0x20);
	}
	CHECK(rig_kicks(&r, 0) > kicks);
	/* Linux's shutdown: mode 0 and a zero count, then nothing more. */
	outb(&r, PIT_CMD, 0x30);
	outb(&r, PIT_CH0, 0);
	outb(&r, PIT_CH0, 0);
	rig_fini(&r);
}

TEST(oneshot_irq0_through_the_ioapic_pin2)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	lapic_enable(&r, 0);
	lapic_write(&r, 0, 0x350, 0x10700); /* LINT0 masked */
	ioapic_route(&r, 2, 0x40, 0);
	outb(&r, PIT_CMD, 0x38); /* Linux's one-shot: mode 4 */
	outb(&r, PIT_CH0, 0xa9);
	outb(&r, PIT_CH0, 0x04);
	CHECK_EQ_U64(rig_wait_pending(&r, 0), 0x40);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x40);
	lapic_write(&r, 0, 0xb0, 0);
	/* One shot: no second interrupt (checked after a while, not timed). */
	rig_sleep_us(5000);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	rig_fini(&r);
}

/* Channel 0 in Linux's periodic mode with a period of `count` ticks,
 * routed through the I/O APIC's pin 2 to vector 0x40 (the 8259 masked). */
static void periodic_through_pin2(struct rig *r, uint16_t count)
{
	lapic_enable(r, 0);
	lapic_write(r, 0, 0x350, 0x10700); /* LINT0 masked */
	ioapic_route(r, 2, 0x40, 0);
	outb(r, PIT_CMD, 0x34);
	outb(r, PIT_CH0, (uint8_t)count);
	outb(r, PIT_CH0, (uint8_t)(count >> 8));
}

/* Take the pending interrupt and EOI it, then count how many more are
 * pending at once (no waiting in between): the missed ticks re-delivered
 * as the CPU acknowledges them. `*new_ticks`: how many periods of
 * `period_ns` the loop itself lasted (a loaded host may stop it for a
 * while, and ticks due meanwhile are owed too). */
static int drain_backlog(struct rig *r, uint64_t period_ns, int *new_ticks)
{
	uint64_t t0 = vs_now_ns();
	int n = 0;
	while (n < 100000 && vs_irqchip_pending(r->chip, 0) == 0x40) {
		vs_irqchip_ack(r->chip, 0);
		lapic_write(r, 0, 0xb0, 0);
		n++;
	}
	*new_ticks = (int)((vs_now_ns() - t0) / period_ns) + 1;
	return n;
}

TEST(missed_ticks_come_as_the_cpu_takes_them)
{
	struct rig r;
	int n, more;
	CHECK(rig_init(&r, 1) == 0);
	periodic_through_pin2(&r, 11932); /* 10 ms */
	CHECK_EQ_U64(rig_wait_pending(&r, 0), 0x40);
	/* The CPU does not take it for 300+ ms: 30 ticks or more fall due. */
	rig_sleep_us(300000);
	n = drain_backlog(&r, 10000000, &more);
	/* The first one, and the missed ones right behind it, at once ... */
	CHECK(n >= 8);
	/* ... but never more than 100 ms of them (10), plus that one and
	 * those due while the loop ran. */
	CHECK(n <= 11 + more);
	rig_fini(&r);
}

TEST(missed_ticks_are_capped)
{
	struct rig r;
	int n, more;
	CHECK(rig_init(&r, 1) == 0);
	periodic_through_pin2(&r, 1193); /* 1 ms */
	CHECK_EQ_U64(rig_wait_pending(&r, 0), 0x40);
	rig_sleep_us(400000); /* 400 ticks due */
	n = drain_backlog(&r, 1000000, &more);
	CHECK(n >= 50);
	CHECK(n <= 101 + more); /* 100 ms of ticks, the one pending, the new */
	rig_fini(&r);
}

TEST(masked_irq0_owes_nothing)
{
	struct rig r;
	int n, more;
	CHECK(rig_init(&r, 1) == 0);
	periodic_through_pin2(&r, 11932);
	CHECK_EQ_U64(rig_wait_pending(&r, 0), 0x40);
	vs_irqchip_ack(r.chip, 0);
	lapic_write(&r, 0, 0xb0, 0);
	ioapic_route(&r, 2, 0x10040, 0); /* masked at the I/O APIC too */
	rig_sleep_us(100000);
	ioapic_route(&r, 2, 0x40, 0);
	CHECK_EQ_U64(rig_wait_pending(&r, 0), 0x40);
	n = drain_backlog(&r, 10000000, &more);
	CHECK(n <= 1 + more); /* no burst of the ticks it had masked */
	rig_fini(&r);
}

TEST(reprogramming_drops_the_backlog)
{
	struct rig r;
	int n, more;
	CHECK(rig_init(&r, 1) == 0);
	periodic_through_pin2(&r, 11932);
	CHECK_EQ_U64(rig_wait_pending(&r, 0), 0x40);
	rig_sleep_us(60000);
	outb(&r, PIT_CMD, 0x34); /* new period: 50 ms */
	outb(&r, PIT_CH0, 0x4a);
	outb(&r, PIT_CH0, 0xe9);
	n = drain_backlog(&r, 50000000, &more);
	CHECK(n <= 1 + more); /* the one already in the LAPIC, and new ones */
	rig_fini(&r);
}

TEST(refresh_bit_toggles)
{
	struct rig r;
	bool seen[2] = { false, false };
	uint64_t end;
	CHECK(rig_init(&r, 1) == 0);
	end = vs_now_ns() + RIG_WAIT_NS;
	while (!(seen[0] && seen[1]) && vs_now_ns() < end) {
		seen[(inb(&r, PORT61) >> 4) & 1] = true;
		rig_sleep_us(7);
	}
	CHECK(seen[0] && seen[1]);
	outb(&r, PORT61, 0xff); /* only bits 0-3 are writable */
	CHECK((inb(&r, PORT61) & 0xcf) == 0x0f);
	rig_fini(&r);
}

VS_TAP_MAIN(TAP_CASE(gate_low_freezes_the_count), TAP_CASE(counter_runs_down_with_the_gate),
	    TAP_CASE(out2_rises_at_terminal_count), TAP_CASE(square_wave_toggles),
	    TAP_CASE(mode1_waits_for_a_gate_trigger), TAP_CASE(latch_holds_until_read),
	    TAP_CASE(lsb_only_msb_only_and_bcd), TAP_CASE(read_back_status),
	    TAP_CASE(periodic_irq0_through_the_pic), TAP_CASE(oneshot_irq0_through_the_ioapic_pin2),
	    TAP_CASE(missed_ticks_come_as_the_cpu_takes_them), TAP_CASE(missed_ticks_are_capped),
	    TAP_CASE(masked_irq0_owes_nothing), TAP_CASE(reprogramming_drops_the_backlog),
	    TAP_CASE(refresh_bit_toggles))
