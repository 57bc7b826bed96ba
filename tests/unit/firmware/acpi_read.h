/* Readers the firmware tests share: little-endian fields of guest memory,
 * table checksums, and the two AML encodings every walker needs (PkgLength
 * and integer data objects), strict about what the builder may emit. */
#ifndef VESSEL_TESTS_FIRMWARE_ACPI_READ_H
#define VESSEL_TESTS_FIRMWARE_ACPI_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint16_t acpi_rd16(const uint8_t *p);
uint32_t acpi_rd32(const uint8_t *p);
uint64_t acpi_rd64(const uint8_t *p);
/* Byte sum; a table with a right checksum sums to 0. */
uint8_t acpi_sum8(const uint8_t *p, size_t len);

/* PkgLength at p: sets *value (which counts its own bytes) and *nbytes.
 * False unless it is the shortest encoding and fits in `avail`. */
bool aml_pkglen(const uint8_t *p, size_t avail, size_t *value, size_t *nbytes);
/* An integer data object (Zero, One, Byte/Word/DWord/QWordPrefix);
 * returns the bytes consumed, 0 when p holds none. */
size_t aml_read_int(const uint8_t *p, size_t avail, uint64_t *v);

#endif
