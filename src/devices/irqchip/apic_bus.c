/* The APIC bus: who receives an interrupt message from the I/O APIC or an
 * IPI, and what each delivery mode does there.
 *
 * Destinations: shorthands (self, all, all but self) or an 8-bit
 * destination, physical (an APIC ID; 0xff is a broadcast) or logical,
 * matched against each receiver's LDR in the model its DFR selects (flat: a
 * bitmask; cluster: a 4-bit cluster and a 4-bit mask, cluster 0xf being a
 * broadcast). Lowest priority goes to the matching LAPIC with the lowest
 * processor priority, ties broken round robin (no focus processor).
 * Hardware-disabled LAPICs are off the bus.
 */
#include "devices/irqchip/irqchip_internal.h"

static bool matches(const struct vs_lapic *a, const struct vs_apic_msg *m)
{
	uint8_t ldr, dest = m->dest;
	if (!vs_lapic_hw_enabled(a))
		return false;
	switch (m->shorthand) {
	case APIC_SH_SELF:
		return a->cpu == m->src;
	case APIC_SH_ALL:
		return true;
	case APIC_SH_OTHERS:
		return a->cpu != m->src;
	default:
		break;
	}
	if (!m->logical)
		return dest == 0xff || dest == a->id;
	ldr = (uint8_t)(a->ldr >> 24);
	if ((a->dfr >> 28) == 0xf) /* flat */
		return (ldr & dest) != 0;
	if ((a->dfr >> 28) == 0x0) { /* cluster */
		if ((dest >> 4) != 0xf && (dest >> 4) != (ldr >> 4))
			return false;
		return (dest & ldr & 0x0f) != 0;
	}
	return false; /* reserved model */
}

static int deliver_lowest(struct vs_irqchip *chip, const struct vs_apic_msg *m)
{
	int n = chip->cfg.ncpus, best = -1;
	uint32_t best_ppr = 0x100;
	for (int k = 0; k < n; k++) {
		int i = (int)((chip->lowest_rr + (unsigned int)k) % (unsigned int)n);
		struct vs_lapic *a = &chip->lapic[i];
		uint32_t ppr;
		if (!matches(a, m) || !vs_lapic_sw_enabled(a))
			continue;
		ppr = vs_lapic_ppr(a) & 0xf0;
		if (ppr < best_ppr) {
			best_ppr = ppr;
			best = i;
		}
	}
	if (best < 0)
		return 0;
	chip->lowest_rr = (unsigned int)(best + 1) % (unsigned int)n;
	return vs_lapic_accept(&chip->lapic[best], m->vector, m->level) ? 1 : 0;
}

int vs_apic_deliver(struct vs_irqchip *chip, const struct vs_apic_msg *m)
{
	int accepted = 0;
	if (m->mode == APIC_DM_LOWEST)
		return deliver_lowest(chip, m);
	for (int i = 0; i < chip->cfg.ncpus; i++) {
		struct vs_lapic *a = &chip->lapic[i];
		if (!matches(a, m))
			continue;
		switch (m->mode) {
		case APIC_DM_FIXED:
			accepted += vs_lapic_accept(a, m->vector, m->level);
			break;
		case APIC_DM_NMI:
			vs_lapic_nmi(a);
			accepted++;
			break;
		case APIC_DM_INIT:
			vs_lapic_init_ipi(a);
			accepted++;
			break;
		case APIC_DM_SIPI:
			vs_lapic_sipi(a, m->vector);
			accepted++;
			break;
		default: /* SMI, ExtINT, reserved: no such thing here */
			break;
		}
	}
	return accepted;
}
