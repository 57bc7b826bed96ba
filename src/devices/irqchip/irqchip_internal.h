/* What the parts of the userspace irqchip share: their state and the calls
 * they make into each other. Everything here runs with chip->lock held;
 * only irqchip.c and the bus ops take it. */
#ifndef VESSEL_DEVICES_IRQCHIP_INTERNAL_H
#define VESSEL_DEVICES_IRQCHIP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/irqchip/irqchip.h"

#define VS_IOAPIC_NPINS 24
#define VS_PIT_HZ 1193182ull

/* Periodic timers (PIT, LAPIC) never fire more often than this in real
 * time: a guest asking for a 1-tick period would otherwise keep the timer
 * thread spinning. KVM clamps the same way. */
#define VS_IRQCHIP_MIN_PERIOD_NS 50000ull

/* ---- 8259A pair ---- */

struct vs_pic8259 {
	uint8_t irr, imr, isr;
	uint8_t lines; /* input pin levels, for edge detection */
	uint8_t elcr, elcr_mask;
	uint8_t base;	   /* ICW2: vector of IR0 */
	uint8_t prio_add;  /* the IR with the highest priority (rotation) */
	uint8_t init_step; /* 0: operational; 2, 3, 4: next ICW expected */
	bool icw4_needed, single;
	bool auto_eoi, rotate_aeoi, sfnm;
	bool special_mask, poll, read_isr;
};

struct vs_pic {
	struct vs_irqchip *chip;
	struct vs_pic8259 c[2]; /* master, slave */
	bool intr;		/* the master's INT output */
};

void vs_pic_init(struct vs_pic *pic, struct vs_irqchip *chip);
void vs_pic_set_irq(struct vs_pic *pic, unsigned int irq, int level);
/* The vector an INTA cycle would return now, or -1 when INT is low. */
int vs_pic_peek(const struct vs_pic *pic);
/* The INTA cycle: a vector (IR7's for a spurious interrupt). */
int vs_pic_inta(struct vs_pic *pic);
extern const struct vs_bus_ops vs_pic_master_ops, vs_pic_slave_ops, vs_pic_elcr_ops;

/* ---- 8254 PIT ---- */

struct vs_pit_channel {
	uint8_t mode;	/* 0..5 */
	uint8_t access; /* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	bool gate;
	bool loaded;   /* a count was written since the control word */
	bool counting; /* counting from load_ns (modes 1/5: after a gate trigger) */
	bool frozen;   /* gate low stopped the count at frozen_ticks */
	bool null_count;
	uint32_t count; /* reload value in ticks: 1..0x10000 */
	uint64_t load_ns;
	uint64_t frozen_ticks;
	bool write_msb_next;
	uint8_t write_lsb;
	bool read_msb_next;
	bool count_latched, latch_msb_next;
	uint16_t latch;
	bool status_latched;
	uint8_t status;
	uint64_t edges; /* output rising edges already signalled (channel 0) */
};

struct vs_pit {
	struct vs_irqchip *chip;
	struct vs_pit_channel ch[3];
	uint8_t port61; /* bits 0-3 as written */
	/* Channel 0's missed ticks (see pit.c): edges due but not yet sent,
	 * whether the last one sent still waits for the CPU to take it, and
	 * when it was sent (host ns). */
	uint32_t backlog;
	bool unacked;
	uint64_t sent_ns;
};

void vs_pit_init(struct vs_pit *pit, struct vs_irqchip *chip);
/* Signal the channel 0 edges due by `now`; returns the next deadline
 * (host ns) or UINT64_MAX. */
uint64_t vs_pit_poll(struct vs_pit *pit, uint64_t now);
/* A CPU took IRQ 0's interrupt: send the next missed tick, if any. */
void vs_pit_acked(struct vs_pit *pit, uint64_t now);
extern const struct vs_bus_ops vs_pit_ops, vs_port61_ops;

/* ---- I/O APIC ---- */

struct vs_ioapic {
	struct vs_irqchip *chip;
	uint32_t sel;
	uint8_t id;
	uint32_t lines; /* pin levels */
	uint64_t redir[VS_IOAPIC_NPINS];
};

void vs_ioapic_init(struct vs_ioapic *io, struct vs_irqchip *chip, uint8_t id);
void vs_ioapic_set_irq(struct vs_ioapic *io, unsigned int pin, int level);
/* A LAPIC EOI of a level-triggered vector. */
void vs_ioapic_eoi(struct vs_ioapic *io, uint8_t vector);
extern const struct vs_bus_ops vs_ioapic_ops;

/* ---- local APIC ---- */

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define VS_LAPIC_EVENTS 4

struct vs_lapic {
	struct vs_irqchip *chip;
	int cpu;
	uint64_t base_msr;
	uint32_t id; /* 8-bit APIC ID */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LVT_COUNT];
	uint32_t timer_init, dcr;
	uint32_t irr[8], isr[8], tmr[8];
	uint64_t timer_start_ns;
	uint64_t timer_next_ns; /* 0: not armed */
	uint64_t tsc_deadline;
	bool nmi_pending;
	bool wait_sipi;
	bool lint0_level; /* last PIC INT level seen on LINT0 (cpu 0) */
	bool in_error;	  /* delivering the error LVT: no recursion */
	uint8_t nevents, event_head;
	uint8_t events[VS_LAPIC_EVENTS];
	uint8_t sipi_vectors[VS_LAPIC_EVENTS];
};

void vs_lapic_init(struct vs_lapic *a, struct vs_irqchip *chip, int cpu);
bool vs_lapic_hw_enabled(const struct vs_lapic *a);
bool vs_lapic_sw_enabled(const struct vs_lapic *a);
uint32_t vs_lapic_ppr(const struct vs_lapic *a);
uint32_t vs_lapic_read_reg(struct vs_lapic *a, uint32_t offset);
void vs_lapic_write_reg(struct vs_lapic *a, uint32_t offset, uint32_t value);
/* A fixed interrupt arrives; false when it was not accepted. */
bool vs_lapic_accept(struct vs_lapic *a, uint8_t vector, bool level);
void vs_lapic_nmi(struct vs_lapic *a);
void vs_lapic_init_ipi(struct vs_lapic *a);
void vs_lapic_sipi(struct vs_lapic *a, uint8_t vector);
int vs_lapic_pending(const struct vs_lapic *a);
int vs_lapic_ack(struct vs_lapic *a);
/* Whether the PIC's INT reaches this CPU as ExtINT. */
bool vs_lapic_accepts_pic(const struct vs_lapic *a);
/* The PIC's INT changed (cpu 0): LINT0 in NMI/fixed mode acts on edges. */
void vs_lapic_lint0(struct vs_lapic *a, bool level);
int vs_lapic_set_base(struct vs_lapic *a, uint64_t value);
void vs_lapic_set_tsc_deadline(struct vs_lapic *a, uint64_t tsc);
uint64_t vs_lapic_tsc_deadline(const struct vs_lapic *a);
uint64_t vs_lapic_timer_poll(struct vs_lapic *a, uint64_t now);
bool vs_lapic_take_event(struct vs_lapic *a, enum vs_irqchip_event *ev, uint8_t *vector);

/* ---- the APIC bus (apic_bus.c) ---- */

enum {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_SIPI = 6,
	APIC_DM_EXTINT = 7
};
enum { APIC_SH_NONE = 0, APIC_SH_SELF = 1, APIC_SH_ALL = 2, APIC_SH_OTHERS = 3 };

struct vs_apic_msg {
	uint8_t vector;
	uint8_t mode; /* APIC_DM_* */
	uint8_t dest;
	uint8_t shorthand; /* APIC_SH_* */
	bool logical;
	bool level;  /* level-triggered */
	bool assert; /* INIT: level de-assert when false with `level` */
	int src;     /* sending CPU, -1 for the I/O APIC */
};

/* Returns how many LAPICs accepted the message. */
int vs_apic_deliver(struct vs_irqchip *chip, const struct vs_apic_msg *m);

/* ---- the chip (irqchip.c) ---- */

struct vs_irqchip {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started, stop;
	uint64_t wait_until; /* the timer thread's next wake-up (host ns), UINT64_MAX: none */
	struct vs_irqchip_config cfg;
	struct vs_pic pic;
	struct vs_pit pit;
	struct vs_ioapic ioapic;
	unsigned int lowest_rr; /* round-robin start for lowest-priority ties */
	struct vs_lapic *lapic; /* cfg.ncpus of them */
};

void vs_irqchip_kick_locked(struct vs_irqchip *chip, int cpu);
/* A timer now wants to fire at `deadline_ns` (host ns): wake the thread if
 * that is before its current wake-up. */
void vs_irqchip_timer_armed(struct vs_irqchip *chip, uint64_t deadline_ns);
/* Board wiring, called by the devices. */
void vs_irqchip_pic_intr_changed(struct vs_irqchip *chip, bool level);
void vs_irqchip_pit_out(struct vs_irqchip *chip, int level);
/* Whether IRQ 0 can reach a CPU at all (unmasked in the 8259 or at the
 * I/O APIC's pin 2). */
bool vs_irqchip_pit_unmasked(const struct vs_irqchip *chip);

#endif
