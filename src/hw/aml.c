#include "hw/aml.h"

#include <string.h>

void vs_aml_bytes(struct vs_aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void vs_aml_byte(struct vs_aml *a, uint8_t b)
{
	vs_aml_bytes(a, &b, 1);
}

/* A NameSeg: exactly four characters, '_'-padded by the caller. */
void vs_aml_nameseg(struct vs_aml *a, const char *seg)
{
	vs_aml_bytes(a, seg, 4);
}

/* Integers take the shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/
 * QWordPrefix), as an ASL compiler would. */
void vs_aml_integer(struct vs_aml *a, uint64_t v)
{
	uint8_t le[8];
	size_t n;
	if (v == 0) {
		vs_aml_byte(a, VS_AML_ZERO_OP);
		return;
	}
	if (v == 1) {
		vs_aml_byte(a, VS_AML_ONE_OP);
		return;
	}
	if (v <= UINT8_MAX) {
		vs_aml_byte(a, VS_AML_BYTE_PREFIX);
		n = 1;
	} else if (v <= UINT16_MAX) {
		vs_aml_byte(a, VS_AML_WORD_PREFIX);
		n = 2;
	} else if (v <= UINT32_MAX) {
		vs_aml_byte(a, VS_AML_DWORD_PREFIX);
		n = 4;
	} else {
		vs_aml_byte(a, VS_AML_QWORD_PREFIX);
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	vs_aml_bytes(a, le, n);
}

void vs_aml_string(struct vs_aml *a, const char *s)
{
	vs_aml_byte(a, VS_AML_STRING_PREFIX);
	vs_aml_bytes(a, s, strlen(s) + 1);
}

/* Start the body of an object whose PkgLength is not known yet. */
void vs_aml_open(struct vs_aml *a)
{
	if (a->depth >= VS_AML_MAX_DEPTH) {
		a->overflow = true; /* a bug in this file, not the caller's; fail the build */
		return;
	}
	a->open[a->depth++] = a->len;
}

/* Insert the PkgLength in front of the body opened last. The encoded
 * length includes the PkgLength bytes themselves: one byte holds up to 63,
 * otherwise the lead byte says how many bytes follow (bits 7-6) and keeps
 * the low nibble, the following bytes the rest, least significant first. */
void vs_aml_close(struct vs_aml *a)
{
	size_t start, body, total, n;
	uint8_t enc[4];
	if (a->depth <= 0) {
		a->overflow = true;
		return;
	}
	start = a->open[--a->depth];
	if (a->overflow)
		return;
	body = a->len - start;
	if (body + 1 < (1u << 6))
		n = 1;
	else if (body + 2 < (1u << 12))
		n = 2;
	else if (body + 3 < (1u << 20))
		n = 3;
	else if (body + 4 < (1u << 28))
		n = 4;
	else
		n = 0;
	if (n == 0 || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	total = body + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

/* Name(seg, ...) where the caller emits the data object next. */
void vs_aml_name(struct vs_aml *a, const char *seg)
{
	vs_aml_byte(a, VS_AML_NAME_OP);
	vs_aml_nameseg(a, seg);
}

/* Device(seg) { ... vs_aml_close() } */
void vs_aml_device_open(struct vs_aml *a, const char *seg)
{
	vs_aml_byte(a, VS_AML_EXT_OP_PREFIX);
	vs_aml_byte(a, VS_AML_DEVICE_OP);
	vs_aml_open(a);
	vs_aml_nameseg(a, seg);
}

/* EISAID("PNP0501"): three letters packed 5 bits each into a 16-bit
 * vendor word, then a 16-bit product number, both stored big-endian. */
uint32_t vs_aml_eisa_id(const char *id)
{
	uint16_t vendor = (uint16_t)(((id[0] - 0x40) & 0x1f) << 10 | ((id[1] - 0x40) & 0x1f) << 5 |
				     ((id[2] - 0x40) & 0x1f));
	uint16_t product = 0;
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		product = (uint16_t)(product << 4 | (c <= '9' ? c - '0' : c - 'A' + 10));
	}
	return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 | (uint32_t)(product >> 8) << 16 |
	       (uint32_t)(product & 0xff) << 24;
}

void vs_aml_hid_eisa(struct vs_aml *a, const char *id)
{
	uint32_t hid = vs_aml_eisa_id(id);
	vs_aml_name(a, "_HID");
	vs_aml_byte(a, VS_AML_DWORD_PREFIX);
	vs_aml_bytes(a, &hid, sizeof(hid));
}

void vs_aml_crs(struct vs_aml *a, const uint8_t *res, size_t len)
{
	vs_aml_name(a, "_CRS");
	vs_aml_byte(a, VS_AML_BUFFER_OP);
	vs_aml_open(a);
	vs_aml_integer(a, len);
	vs_aml_bytes(a, res, len);
	vs_aml_close(a);
}
