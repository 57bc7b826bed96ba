/* i8042 keyboard controller: just enough for a guest to probe it and to
 * reboot the machine by pulsing the reset line (0xfe to port 0x64). Two
 * ranges: data port 0x60 (len 1) and command/status port 0x64 (len 1), both
 * served by the same ops; the offset does not tell them apart, so the
 * machine registers vs_i8042_data_ops and vs_i8042_cmd_ops separately. */
#ifndef VESSEL_DEVICES_I8042_H
#define VESSEL_DEVICES_I8042_H

#include "hw/bus.h"
#include "hw/device.h"
#include "hw/irq.h"

struct vs_i8042;

struct vs_i8042 *vs_i8042_create(const struct vs_stop_sink *stop);
void vs_i8042_destroy(struct vs_i8042 *kbd);

extern const struct vs_bus_ops vs_i8042_data_ops;
extern const struct vs_bus_ops vs_i8042_cmd_ops;

/* The device as the board owns it. */
struct vs_device vs_i8042_device(struct vs_i8042 *kbd);

#endif
