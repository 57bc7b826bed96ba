/* Helpers shared by the MP table and ACPI writers. */
#ifndef VESSEL_MACHINE_FIRMWARE_INTERNAL_H
#define VESSEL_MACHINE_FIRMWARE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* The byte that makes [p, p+len) sum to zero, given a checksum field that
 * currently holds 0. Both specifications use this 8-bit checksum. */
uint8_t vs_fw_checksum(const void *p, size_t len);

/* Copy `src` into a fixed-width ID field padded with spaces (OEM and
 * product IDs in both specifications). */
void vs_fw_put_id(char *dst, size_t width, const char *src);

#endif
