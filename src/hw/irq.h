/* How a device raises an interrupt or asks the machine to stop, without
 * knowing the accelerator or the VM: small callback records the machine
 * fills in when it builds the device. */
#ifndef VESSEL_HW_IRQ_H
#define VESSEL_HW_IRQ_H

#include <stddef.h>
#include <stdint.h>

struct vs_irq_line {
	void (*set_level)(void *opaque, uint32_t gsi, int level);
	void *opaque;
	uint32_t gsi;
};

static inline void vs_irq_set(const struct vs_irq_line *line, int level)
{
	if (line && line->set_level)
		line->set_level(line->opaque, line->gsi, level);
}

enum vs_stop_reason {
	VS_STOP_POWEROFF,   /* guest powered off: exit status 0 */
	VS_STOP_RESET,	    /* guest asked for a reboot: exit status 0 */
	VS_STOP_DEBUG_EXIT, /* isa-debug-exit: status (v << 1) | 1 */
	VS_STOP_CRASH,	    /* triple fault / accelerator failure: status 3 */
	VS_STOP_USER,	    /* the user quit from the console: status 0 */
	VS_STOP_HOST_ERROR, /* vessel itself failed while running: status 2 */
};

struct vs_stop_sink {
	void (*request)(void *opaque, enum vs_stop_reason reason, int status);
	void *opaque;
};

static inline void vs_stop_request(const struct vs_stop_sink *s, enum vs_stop_reason reason, int status)
{
	if (s && s->request)
		s->request(s->opaque, reason, status);
}

#endif
