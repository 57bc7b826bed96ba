#include "acpi_read.h"

uint16_t acpi_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t acpi_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t acpi_rd64(const uint8_t *p)
{
	return (uint64_t)acpi_rd32(p) | (uint64_t)acpi_rd32(p + 4) << 32;
}

uint8_t acpi_sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

bool aml_pkglen(const uint8_t *p, size_t avail, size_t *value, size_t *nbytes)
{
	size_t n, v;
	if (avail < 1)
		return false;
	n = (size_t)(p[0] >> 6) + 1;
	if (n > avail)
		return false;
	if (n == 1) {
		v = p[0] & 0x3f;
	} else {
		if (p[0] & 0x30)
			return false; /* bits 5-4 must be zero in multi-byte encodings */
		v = p[0] & 0x0f;
		for (size_t i = 1; i < n; i++)
			v |= (size_t)p[i] << (4 + 8 * (i - 1));
		/* The builder uses the shortest encoding. */
		if (v < (n == 2 ? 64u : n == 3 ? (1u << 12) : (1u << 20)))
			return false;
	}
	*value = v;
	*nbytes = n;
	return v >= n && v <= avail;
}

size_t aml_read_int(const uint8_t *p, size_t avail, uint64_t *v)
{
	size_t n;
	if (avail < 1)
		return 0;
	switch (p[0]) {
	case 0x00:
	case 0x01:
		*v = p[0];
		return 1;
	case 0x0a:
		n = 1;
		break;
	case 0x0b:
		n = 2;
		break;
	case 0x0c:
		n = 4;
		break;
	case 0x0e:
		n = 8;
		break;
	default:
		return 0;
	}
	if (avail < 1 + n)
		return 0;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return 1 + n;
}
