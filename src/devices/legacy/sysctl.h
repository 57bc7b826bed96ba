/* Small system-control devices that end or reset the machine:
 *  - isa-debug-exit (port 0x501, 2 ports): a write of v stops the VM with
 *    exit status (v << 1) | 1, as QEMU's device does;
 *  - ACPI PM1a event (4 ports) and control (2 ports) blocks: writing
 *    SLP_TYP=S5 with SLP_EN powers off; SCI_EN reads back as set;
 *  - reset control register at 0xcf9 (1 port): writing 0x06/0x0e resets;
 *  - the POST/delay port 0x80: a sink so Linux's io_delay is quiet.
 */
#ifndef VESSEL_DEVICES_SYSCTL_H
#define VESSEL_DEVICES_SYSCTL_H

#include "hw/bus.h"
#include "hw/device.h"
#include "hw/irq.h"

struct vs_sysctl;

struct vs_sysctl *vs_sysctl_create(const struct vs_stop_sink *stop);
void vs_sysctl_destroy(struct vs_sysctl *sc);

extern const struct vs_bus_ops vs_debug_exit_ops;
extern const struct vs_bus_ops vs_acpi_pm1a_evt_ops;
extern const struct vs_bus_ops vs_acpi_pm1a_cnt_ops;
extern const struct vs_bus_ops vs_reset_ops;
extern const struct vs_bus_ops vs_post_port_ops;

/* The device as the board owns it. */
struct vs_device vs_sysctl_device(struct vs_sysctl *sc);

#endif
