/* A tiny AML (ACPI Machine Language, ACPI 6.5 chapter 20) byte emitter, for
 * the DSDT the firmware builds and the Device() objects devices describe
 * themselves with.
 *
 * Package-like objects (Scope, Device, Package, Buffer) start with a
 * PkgLength that counts itself plus the body, so the body is emitted first
 * and the PkgLength inserted in front of it when the object is closed.
 * Running out of room sets `overflow` and turns every later call into a
 * no-op; the caller checks it once at the end. */
#ifndef VESSEL_HW_AML_H
#define VESSEL_HW_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_AML_NAME_OP 0x08
#define VS_AML_ZERO_OP 0x00
#define VS_AML_ONE_OP 0x01
#define VS_AML_BYTE_PREFIX 0x0a
#define VS_AML_WORD_PREFIX 0x0b
#define VS_AML_DWORD_PREFIX 0x0c
#define VS_AML_STRING_PREFIX 0x0d
#define VS_AML_QWORD_PREFIX 0x0e
#define VS_AML_SCOPE_OP 0x10
#define VS_AML_BUFFER_OP 0x11
#define VS_AML_PACKAGE_OP 0x12
#define VS_AML_EXT_OP_PREFIX 0x5b
#define VS_AML_DEVICE_OP 0x82 /* after VS_AML_EXT_OP_PREFIX */
#define VS_AML_ROOT_CHAR '\\'

#define VS_AML_MAX_DEPTH 8

struct vs_aml {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;
	size_t open[VS_AML_MAX_DEPTH]; /* body start of each open object */
	int depth;
};

void vs_aml_bytes(struct vs_aml *a, const void *p, size_t n);
void vs_aml_byte(struct vs_aml *a, uint8_t b);
/* A NameSeg: exactly four characters, '_'-padded by the caller. */
void vs_aml_nameseg(struct vs_aml *a, const char *seg);
/* The shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix), as an
 * ASL compiler would choose. */
void vs_aml_integer(struct vs_aml *a, uint64_t v);
void vs_aml_string(struct vs_aml *a, const char *s);
/* Start the body of an object whose PkgLength is not known yet; close it. */
void vs_aml_open(struct vs_aml *a);
void vs_aml_close(struct vs_aml *a);
/* Name(seg, ...) where the caller emits the data object next. */
void vs_aml_name(struct vs_aml *a, const char *seg);
/* Device(seg) { ... vs_aml_close() } */
void vs_aml_device_open(struct vs_aml *a, const char *seg);
/* EISAID("PNP0501") as the 32-bit value _HID takes. */
uint32_t vs_aml_eisa_id(const char *id);
/* Name(_HID, EISAID(id)) */
void vs_aml_hid_eisa(struct vs_aml *a, const char *id);
/* Name(_CRS, Buffer() { resource template bytes }) */
void vs_aml_crs(struct vs_aml *a, const uint8_t *res, size_t len);

/* Small resource descriptors (ACPI 6.5 section 6.4.2). */
#define VS_RES_IRQ_NOFLAGS_TAG 0x22 /* type 0x04, 2 bytes */
#define VS_RES_IO_TAG 0x47	    /* type 0x08, 7 bytes */
#define VS_RES_IO_DECODE16 0x01
#define VS_RES_END_TAG 0x79 /* type 0x0f, 1 byte */

#endif
