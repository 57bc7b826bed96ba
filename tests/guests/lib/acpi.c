#include "acpi.h"
#include "bootinfo.h"
#include "libc.h"

#define EBDA_SEG_PTR 0x40e
#define BIOS_ROM_START 0xe0000
#define BIOS_ROM_END 0x100000

/* FADT field offsets (ACPI 6.x, 5.2.9). */
#define FADT_DSDT 40
#define FADT_PM1A_CNT_BLK 64
#define FADT_CENTURY 108
#define FADT_FLAGS 112
#define FADT_RESET_REG 116 /* generic address structure, 12 bytes */
#define FADT_RESET_VALUE 128
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT_BLK 172 /* generic address structure, 12 bytes */

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_OVERRIDE 5

struct rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length; /* revision >= 2 from here on */
	uint64_t xsdt;
	uint8_t ext_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

/* A pointer to physical memory (identity-mapped). The empty asm hides the
 * constant from gcc, which otherwise warns about dereferencing small
 * addresses such as the BDA's 0x40e. */
static const void *phys(uint64_t addr)
{
	__asm__("" : "+r"(addr));
	return (const void *)(uintptr_t)addr;
}

static uint8_t sum_bytes(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

static bool rsdp_valid(uint64_t addr)
{
	const struct rsdp *r = phys(addr);

	if (memcmp(r->signature, "RSD PTR ", 8) || sum_bytes(r, 20))
		return false;
	return r->revision < 2 || sum_bytes(r, r->length < 36 ? 36 : r->length) == 0;
}

static uint64_t scan_rsdp(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a + 20 <= end; a += 16) {
		/* Compare the first word before calling anything: this loop
		 * touches 8192 candidates and every instruction is costly. */
		if (*(const uint32_t *)phys(a) == 0x20445352 /* "RSD " */ && rsdp_valid(a))
			return a;
	}
	return 0;
}

uint64_t acpi_rsdp(const char **how)
{
	static uint64_t cached;
	static const char *cached_how;

	if (!cached) {
		if (boot.rsdp_addr && rsdp_valid(boot.rsdp_addr)) {
			cached = boot.rsdp_addr;
			cached_how = "loader";
		} else {
			uint64_t ebda = (uint64_t) * (const uint16_t *)phys(EBDA_SEG_PTR) << 4;
			if (ebda >= 0x80000 && ebda < 0xa0000)
				cached = scan_rsdp(ebda, ebda + 1024);
			if (!cached)
				cached = scan_rsdp(BIOS_ROM_START, BIOS_ROM_END);
			cached_how = boot.rsdp_addr ? "scan (loader's pointer invalid)" : "scan";
		}
	}
	if (how)
		*how = cached_how;
	return cached;
}

static const struct acpi_header *checked(uint64_t addr, const char *sig)
{
	const struct acpi_header *h = phys(addr);

	if (!addr || memcmp(h->signature, sig, 4))
		return NULL;
	if (sum_bytes(h, h->length))
		printf("acpi: bad checksum in %.4s at 0x%lx\n", h->signature, addr);
	return h;
}

const struct acpi_header *acpi_find_table(const char *sig)
{
	uint64_t ra = acpi_rsdp(NULL);
	const struct rsdp *r = phys(ra);
	const struct acpi_header *root;
	bool xsdt;

	if (!ra)
		return NULL;
	xsdt = r->revision >= 2 && r->xsdt;
	root = xsdt ? checked(r->xsdt, "XSDT") : checked(r->rsdt, "RSDT");
	if (!root)
		return NULL;

	const uint8_t *entries = (const uint8_t *)root + sizeof(*root);
	uint32_t size = xsdt ? 8 : 4;
	uint32_t n = (root->length - (uint32_t)sizeof(*root)) / size;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = 0;
		memcpy(&a, entries + i * size, size); /* XSDT entries are unaligned */
		const struct acpi_header *h = phys(a);
		if (a && !memcmp(h->signature, sig, 4))
			return checked(a, sig);
	}
	return NULL;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

bool acpi_parse_madt(struct madt_info *m)
{
	const struct acpi_header *h = acpi_find_table("APIC");

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < 16; i++)
		m->isa_gsi[i] = (uint32_t)i;
	if (!h)
		return false;

	const uint8_t *t = (const uint8_t *)h;
	m->lapic_addr = get32(t + 36);
	for (uint32_t off = 44; off + 2 <= h->length;) {
		uint8_t type = t[off], len = t[off + 1];
		const uint8_t *e = t + off;

		if (len < 2 || off + len > h->length) {
			printf("acpi: malformed MADT entry at offset %u\n", off);
			break;
		}
		if (type == MADT_LAPIC && len >= 8 && (get32(e + 4) & 1)) {
			if (m->ncpus < MAX_CPUS)
				m->apic_ids[m->ncpus] = e[3];
			m->ncpus++;
		} else if (type == MADT_IOAPIC && len >= 12 && m->nioapics < MAX_IOAPICS) {
			m->ioapic_id[m->nioapics] = e[2];
			m->ioapic_addr[m->nioapics] = get32(e + 4);
			m->ioapic_gsi_base[m->nioapics] = get32(e + 8);
			m->nioapics++;
		} else if (type == MADT_ISO && len >= 10 && e[3] < 16) {
			m->isa_gsi[e[3]] = get32(e + 4);
			m->isa_flags[e[3]] = (uint16_t)(e[8] | e[9] << 8);
		} else if (type == MADT_LAPIC_OVERRIDE && len >= 12) {
			m->lapic_addr = get64(e + 4);
		}
		off += len;
	}
	return true;
}

bool acpi_pm1a_cnt_port(uint16_t *port)
{
	const struct acpi_header *f = acpi_find_table("FACP");
	const uint8_t *t = (const uint8_t *)f;

	if (!f)
		return false;
	/* The extended block wins when present and in system I/O space (0). */
	if (f->length >= FADT_X_PM1A_CNT_BLK + 12 && t[FADT_X_PM1A_CNT_BLK] == 1) {
		uint64_t a = get64(t + FADT_X_PM1A_CNT_BLK + 4);
		if (a && a < 0x10000) {
			*port = (uint16_t)a;
			return true;
		}
	}
	if (f->length >= FADT_PM1A_CNT_BLK + 4) {
		uint32_t p = get32(t + FADT_PM1A_CNT_BLK);
		if (p && p < 0x10000) {
			*port = (uint16_t)p;
			return true;
		}
	}
	return false;
}

bool acpi_reset_reg(uint16_t *port, uint8_t *value)
{
	const struct acpi_header *f = acpi_find_table("FACP");
	const uint8_t *t = (const uint8_t *)f;

	if (!f || f->length <= FADT_RESET_VALUE || !(get32(t + FADT_FLAGS) & FADT_FLAG_RESET_REG_SUP))
		return false;
	uint64_t a = get64(t + FADT_RESET_REG + 4);
	if (t[FADT_RESET_REG] != 1 || !a || a >= 0x10000) /* system I/O space only */
		return false;
	*port = (uint16_t)a;
	*value = t[FADT_RESET_VALUE];
	return true;
}

uint8_t acpi_century_reg(void)
{
	const struct acpi_header *f = acpi_find_table("FACP");

	if (!f || f->length <= FADT_CENTURY)
		return 0;
	return ((const uint8_t *)f)[FADT_CENTURY];
}

/* An AML integer constant: ZeroOp, OneOp or a BytePrefix/WordPrefix... */
static int aml_small_int(const uint8_t *p, const uint8_t *end)
{
	if (p >= end)
		return -1;
	switch (p[0]) {
	case 0x00:
		return 0;
	case 0x01:
		return 1;
	case 0x0a: /* BytePrefix */
		return p + 1 < end ? p[1] : -1;
	case 0x0b: /* WordPrefix */
		return p + 2 < end ? (p[1] | p[2] << 8) : -1;
	default:
		return -1;
	}
}

int acpi_s5_slp_typ(void)
{
	const struct acpi_header *f = acpi_find_table("FACP");
	const uint8_t *ft = (const uint8_t *)f;
	uint64_t dsdt_addr = 0;

	if (!f)
		return -1;
	if (f->length >= FADT_X_DSDT + 8)
		dsdt_addr = get64(ft + FADT_X_DSDT);
	if (!dsdt_addr)
		dsdt_addr = get32(ft + FADT_DSDT);
	const struct acpi_header *d = checked(dsdt_addr, "DSDT");
	if (!d)
		return -1;

	/* Look for NameOp "_S5_" PackageOp: a full AML parser is far more
	 * than a test needs, and every DSDT in practice encodes \_S5 so. */
	const uint8_t *t = (const uint8_t *)d, *end = t + d->length;
	for (const uint8_t *p = t + sizeof(*d); p + 8 < end; p++) {
		if (memcmp(p, "_S5_", 4) || p[4] != 0x12)
			continue;
		if (!(p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08)))
			continue;
		const uint8_t *q = p + 5;
		q += 1 + (*q >> 6); /* PkgLength: bits 7-6 count the extra bytes */
		q += 1;		    /* NumElements */
		return aml_small_int(q, end);
	}
	return -1;
}

/* Intel MultiProcessor Specification 1.4, chapter 4. */
static uint64_t scan_mp(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a + 16 <= end; a += 16) {
		const uint8_t *p = phys(a);
		if (*(const uint32_t *)p == 0x5f504d5f /* "_MP_" */ && p[8] == 1 && sum_bytes(p, 16) == 0)
			return a;
	}
	return 0;
}

int mptable_cpus(uint8_t *ids, int max)
{
	uint64_t ebda = (uint64_t) * (const uint16_t *)phys(EBDA_SEG_PTR) << 4;
	uint64_t fp = 0;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		fp = scan_mp(ebda, ebda + 1024);
	if (!fp)
		fp = scan_mp(0x9fc00, 0xa0000);
	if (!fp)
		fp = scan_mp(0xf0000, 0x100000);
	if (!fp)
		return -1;

	uint64_t ct = get32((const uint8_t *)phys(fp) + 4);
	const uint8_t *c = phys(ct);
	if (!ct || memcmp(c, "PCMP", 4))
		return -1;
	uint16_t len = (uint16_t)(c[4] | c[5] << 8);
	uint16_t count = (uint16_t)(c[34] | c[35] << 8);
	if (sum_bytes(c, len))
		printf("mptable: bad configuration table checksum\n");

	int n = 0;
	uint32_t off = 44;
	for (uint16_t i = 0; i < count && off < len; i++) {
		uint8_t type = c[off];
		if (type == 0) { /* processor: 20 bytes */
			if (c[off + 3] & 1) {
				if (n < max)
					ids[n] = c[off + 1];
				n++;
			}
			off += 20;
		} else if (type <= 4) { /* bus, I/O APIC, I/O and local interrupt: 8 bytes */
			off += 8;
		} else {
			printf("mptable: unknown entry type %u\n", type);
			break;
		}
	}
	return n;
}
