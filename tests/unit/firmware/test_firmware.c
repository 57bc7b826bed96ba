/* Firmware tables read back the way a guest reads them: the RSDP and the
 * MP floating pointer are found by scanning 0xe0000-0xfffff on 16-byte
 * boundaries, everything else by following the pointers, and every
 * checksum is verified. The DSDT is decoded by a small AML reader that
 * knows only the opcodes the builder may emit and insists that every
 * PkgLength ends exactly where its contents do. */
#include "machine/firmware/firmware.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../tap.h"
#include "acpi_read.h"
#include "devices/legacy/uart.h"
#include "hw/pc_layout.h"

#define BIOS_END 0x100000ull
#define ACPI_MAX (VS_MPTABLE_ADDR - VS_ACPI_ADDR) /* 64 KiB */
#define MP_MAX (BIOS_END - VS_MPTABLE_ADDR)

static bool setup(struct vs_guest_mem *mem)
{
	struct vs_error err = { 0 };
	if (vs_guest_mem_create(mem, VS_MEM_MIN, &err) < 0) {
		printf("# guest memory: %s\n", err.msg);
		return false;
	}
	return true;
}

/* Scan the BIOS area on 16-byte boundaries for `sig` whose first
 * `sum_len` bytes sum to zero; 0 when absent. */
static uint64_t scan_bios(const struct vs_guest_mem *mem, const char *sig, size_t sig_len, size_t sum_len)
{
	for (uint64_t a = VS_BIOS_START; a + sum_len <= BIOS_END; a += 16) {
		const uint8_t *p = vs_gpa_ptr(mem, a, sum_len);
		if (p && memcmp(p, sig, sig_len) == 0 && acpi_sum8(p, sum_len) == 0)
			return a;
	}
	return 0;
}

/* An ACPI table at `gpa` with signature `sig` and a valid checksum, or
 * NULL (after recording the failure). */
static const uint8_t *acpi_table(int *failed_, const struct vs_guest_mem *mem, uint64_t gpa, const char *sig)
{
	const uint8_t *h = vs_gpa_ptr(mem, gpa, 36);
	uint32_t len;
	CHECK(h != NULL);
	if (!h)
		return NULL;
	CHECK(memcmp(h, sig, 4) == 0);
	len = acpi_rd32(h + 4);
	CHECK(len >= 36);
	h = vs_gpa_ptr(mem, gpa, len);
	CHECK(h != NULL);
	if (!h || memcmp(h, sig, 4) != 0 || len < 36)
		return NULL;
	CHECK_EQ_U64(acpi_sum8(h, len), 0);
	CHECK(memcmp(h + 10, "VESSEL", 6) == 0);
	CHECK(gpa % 8 == 0);
	/* Tables live in the ACPI area, which ends where the MP table starts. */
	CHECK(gpa >= VS_ACPI_ADDR && gpa + len <= VS_MPTABLE_ADDR);
	return h;
}

/* ---- A reader for the AML subset the builder emits ---- */

struct aml_dev {
	char name[5];
	bool has_hid_int, has_hid_str, has_uid, has_crs;
	uint64_t hid_int, uid;
	char hid_str[16];
	uint8_t crs[64];
	size_t crs_len;
};

struct aml_seen {
	bool bad; /* malformed or unexpected encoding */
	int s5_names;
	int s5_count;
	uint64_t s5[8];
	int devices;
	int cpus;
	uint8_t cpu_uid_seen[256];
	int com1;
	struct aml_dev com1_dev;
};

static bool aml_is_nameseg(const uint8_t *p)
{
	for (int i = 0; i < 4; i++) {
		uint8_t c = p[i];
		bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

/* The data object after Name(seg, ...): records what the test checks.
 * Returns bytes consumed or 0. */
static size_t aml_read_named(const uint8_t *p, size_t avail, const char *seg, bool at_root,
			     struct aml_dev *dev, struct aml_seen *s)
{
	size_t pl, nb, used;
	uint64_t v;
	if (avail < 1)
		return 0;
	if (p[0] == 0x12) { /* PackageOp PkgLength NumElements {integers} */
		size_t off;
		int count;
		if (!aml_pkglen(p + 1, avail - 1, &pl, &nb) || pl < nb + 1)
			return 0;
		count = p[1 + nb];
		off = 1 + nb + 1;
		if (at_root && memcmp(seg, "_S5_", 4) == 0) {
			s->s5_names++;
			s->s5_count = count;
		}
		for (int i = 0; i < count; i++) {
			used = aml_read_int(p + off, 1 + pl - off, &v);
			if (!used)
				return 0;
			if (at_root && memcmp(seg, "_S5_", 4) == 0 && i < 8)
				s->s5[i] = v;
			off += used;
		}
		return off == 1 + pl ? off : 0;
	}
	if (p[0] == 0x11) { /* BufferOp PkgLength BufferSize ByteList */
		size_t hdr;
		if (!aml_pkglen(p + 1, avail - 1, &pl, &nb))
			return 0;
		used = aml_read_int(p + 1 + nb, pl - nb, &v);
		if (!used)
			return 0;
		hdr = nb + used;
		if (v != pl - hdr)
			return 0; /* the builder never pads buffers */
		if (dev && memcmp(seg, "_CRS", 4) == 0 && v <= sizeof(dev->crs)) {
			dev->has_crs = true;
			dev->crs_len = (size_t)v;
			memcpy(dev->crs, p + 1 + hdr, (size_t)v);
		}
		return 1 + pl;
	}
	if (p[0] == 0x0d) { /* StringPrefix AsciiChar* NullChar */
		const uint8_t *end = memchr(p + 1, 0, avail - 1);
		size_t len;
		if (!end)
			return 0;
		len = (size_t)(end - (p + 1));
		if (dev && memcmp(seg, "_HID", 4) == 0 && len < sizeof(dev->hid_str)) {
			dev->has_hid_str = true;
			memcpy(dev->hid_str, p + 1, len);
			dev->hid_str[len] = '\0';
		}
		return len + 2;
	}
	used = aml_read_int(p, avail, &v);
	if (used && dev) {
		if (memcmp(seg, "_HID", 4) == 0) {
			dev->has_hid_int = true;
			dev->hid_int = v;
		} else if (memcmp(seg, "_UID", 4) == 0) {
			dev->has_uid = true;
			dev->uid = v;
		}
	}
	return used;
}

static bool aml_read_terms(const uint8_t *p, size_t len, bool at_root, bool in_sb, struct aml_dev *dev,
			   struct aml_seen *s, int depth);

static void aml_classify_device(const struct aml_dev *d, struct aml_seen *s)
{
	s->devices++;
	if (d->has_hid_str && strcmp(d->hid_str, "ACPI0007") == 0) {
		s->cpus++;
		if (!d->has_uid || d->uid > 255 || s->cpu_uid_seen[d->uid]++)
			s->bad = true;
	} else if (strcmp(d->name, "COM1") == 0) {
		s->com1++;
		s->com1_dev = *d;
	}
}

static bool aml_read_terms(const uint8_t *p, size_t len, bool at_root, bool in_sb, struct aml_dev *dev,
			   struct aml_seen *s, int depth)
{
	size_t off = 0, pl, nb, used;
	if (depth > 8)
		return false;
	while (off < len) {
		const uint8_t *q = p + off;
		size_t avail = len - off;
		if (q[0] == 0x08) { /* NameOp NameSeg DataRefObject */
			char seg[5] = { 0 };
			if (avail < 5 || !aml_is_nameseg(q + 1))
				return false;
			memcpy(seg, q + 1, 4);
			used = aml_read_named(q + 5, avail - 5, seg, at_root, dev, s);
			if (!used)
				return false;
			off += 5 + used;
		} else if (q[0] == 0x10) { /* ScopeOp PkgLength NameString TermList */
			if (!aml_pkglen(q + 1, avail - 1, &pl, &nb) || pl < nb + 5)
				return false;
			/* Only Scope(\_SB_) is expected. */
			if (!at_root || memcmp(q + 1 + nb, "\\_SB_", 5) != 0)
				return false;
			if (!aml_read_terms(q + 1 + nb + 5, pl - nb - 5, false, true, NULL, s, depth + 1))
				return false;
			off += 1 + pl;
		} else if (q[0] == 0x5b && avail >= 2 && q[1] == 0x82) { /* Device */
			struct aml_dev d = { 0 };
			if (!aml_pkglen(q + 2, avail - 2, &pl, &nb) || pl < nb + 4)
				return false;
			if (!in_sb || dev || !aml_is_nameseg(q + 2 + nb))
				return false;
			memcpy(d.name, q + 2 + nb, 4);
			if (!aml_read_terms(q + 2 + nb + 4, pl - nb - 4, false, false, &d, s, depth + 1))
				return false;
			aml_classify_device(&d, s);
			off += 2 + pl;
		} else {
			return false;
		}
	}
	return off == len;
}

/* ---- ACPI ---- */

struct acpi_found {
	uint64_t base; /* where the RSDP was built */
	uint64_t rsdp, xsdt, rsdt, fadt, facs, dsdt, madt;
	int ioapic_id;
};

static void check_rsdp(int *failed_, const struct vs_guest_mem *mem, struct acpi_found *f)
{
	const uint8_t *r;
	f->rsdp = scan_bios(mem, "RSD PTR ", 8, 20);
	CHECK_EQ_U64(f->rsdp, f->base);
	r = vs_gpa_ptr(mem, f->rsdp, 36);
	if (!f->rsdp || !r)
		return;
	CHECK_EQ_U64(r[15], 2);		     /* revision */
	CHECK_EQ_U64(acpi_rd32(r + 20), 36); /* length */
	CHECK_EQ_U64(acpi_sum8(r, 36), 0);   /* extended checksum */
	CHECK(memcmp(r + 9, "VESSEL", 6) == 0);
	f->rsdt = acpi_rd32(r + 16);
	f->xsdt = acpi_rd64(r + 24);
	CHECK(f->xsdt != 0);
	CHECK(f->rsdt != 0);
}

/* XSDT and RSDT list the same two tables: FADT and MADT. */
static void check_roots(int *failed_, const struct vs_guest_mem *mem, struct acpi_found *f)
{
	const uint8_t *x = acpi_table(failed_, mem, f->xsdt, "XSDT");
	const uint8_t *r = acpi_table(failed_, mem, f->rsdt, "RSDT");
	uint32_t n;
	if (!x || !r)
		return;
	n = (acpi_rd32(x + 4) - 36) / 8;
	CHECK_EQ_U64(acpi_rd32(x + 4), 36 + 2 * 8);
	CHECK_EQ_U64(acpi_rd32(r + 4), 36 + 2 * 4);
	for (uint32_t i = 0; i < n && i < 2; i++) {
		uint64_t t = acpi_rd64(x + 36 + 8 * i);
		const uint8_t *h = vs_gpa_ptr(mem, t, 4);
		CHECK_EQ_U64(acpi_rd32(r + 36 + 4 * i), t);
		if (h && memcmp(h, "FACP", 4) == 0)
			f->fadt = t;
		else if (h && memcmp(h, "APIC", 4) == 0)
			f->madt = t;
	}
	CHECK(f->fadt != 0);
	CHECK(f->madt != 0);
}

static void check_gas_io(int *failed_, const uint8_t *g, uint64_t port, unsigned int bits)
{
	CHECK_EQ_U64(g[0], 1); /* system I/O */
	CHECK_EQ_U64(g[1], bits);
	CHECK_EQ_U64(g[2], 0);
	CHECK_EQ_U64(acpi_rd64(g + 4), port);
}

static void check_fadt(int *failed_, const struct vs_guest_mem *mem, const struct vs_firmware_config *cfg,
		       struct acpi_found *f)
{
	const uint8_t *t = acpi_table(failed_, mem, f->fadt, "FACP");
	const uint8_t *facs;
	uint32_t flags;
	if (!t)
		return;
	CHECK_EQ_U64(acpi_rd32(t + 4), 276);
	CHECK_EQ_U64(t[8], 6);
	f->facs = acpi_rd64(t + 132);
	f->dsdt = acpi_rd64(t + 140);
	CHECK_EQ_U64(acpi_rd32(t + 36), f->facs);
	CHECK_EQ_U64(acpi_rd32(t + 40), f->dsdt);
	CHECK_EQ_U64(acpi_rd16(t + 46), VS_ACPI_SCI_IRQ);
	CHECK_EQ_U64(acpi_rd32(t + 48), 0); /* SMI_CMD: ACPI always enabled */
	CHECK_EQ_U64(acpi_rd32(t + 56), VS_PORT_ACPI_PM1A_EVT);
	CHECK_EQ_U64(acpi_rd32(t + 60), 0); /* no PM1b */
	CHECK_EQ_U64(acpi_rd32(t + 64), VS_PORT_ACPI_PM1A_CNT);
	CHECK_EQ_U64(acpi_rd32(t + 76), 0); /* no PM timer */
	CHECK_EQ_U64(t[88], 4);		    /* PM1_EVT_LEN */
	CHECK_EQ_U64(t[89], 2);		    /* PM1_CNT_LEN */
	CHECK_EQ_U64(t[91], 0);		    /* PM_TMR_LEN */
	CHECK(acpi_rd16(t + 96) > 100);	    /* no C2 */
	CHECK(acpi_rd16(t + 98) > 1000);    /* no C3 */
	/* IAPC_BOOT_ARCH: legacy devices, 8042, no VGA, no MSI; RTC present. */
	CHECK_EQ_U64(acpi_rd16(t + 109), 0x000f);
	flags = acpi_rd32(t + 112);
	CHECK(flags & (1u << 0));     /* WBINVD */
	CHECK(flags & (1u << 2));     /* PROC_C1 */
	CHECK(flags & (1u << 4));     /* PWR_BUTTON: none */
	CHECK(flags & (1u << 5));     /* SLP_BUTTON: none */
	CHECK(flags & (1u << 10));    /* RESET_REG_SUP */
	CHECK(!(flags & (1u << 20))); /* not HW_REDUCED_ACPI */
	check_gas_io(failed_, t + 116, VS_PORT_RESET, 8);
	CHECK_EQ_U64(t[128], 0x06);
	CHECK_EQ_U64(t[128], cfg->reset_value);
	check_gas_io(failed_, t + 148, VS_PORT_ACPI_PM1A_EVT, 32);
	check_gas_io(failed_, t + 172, VS_PORT_ACPI_PM1A_CNT, 16);
	CHECK_EQ_U64(acpi_rd64(t + 160 + 4), 0); /* X_PM1b_EVT */
	CHECK_EQ_U64(acpi_rd64(t + 208 + 4), 0); /* X_PM_TMR */

	CHECK_EQ_U64(f->facs % 64, 0);
	facs = vs_gpa_ptr(mem, f->facs, 64);
	CHECK(facs != NULL);
	if (facs) {
		CHECK(memcmp(facs, "FACS", 4) == 0);
		CHECK_EQ_U64(acpi_rd32(facs + 4), 64);
		CHECK_EQ_U64(facs[32], 2);	       /* version */
		CHECK_EQ_U64(acpi_rd32(facs + 16), 0); /* global lock free */
	}
}

static void check_madt(int *failed_, const struct vs_guest_mem *mem, const struct vs_firmware_config *cfg,
		       struct acpi_found *f)
{
	const uint8_t *t = acpi_table(failed_, mem, f->madt, "APIC");
	uint8_t apic_seen[256] = { 0 };
	int lapics = 0, ioapics = 0, nmis = 0, iso_timer = 0, iso_sci = 0, others = 0;
	uint32_t len, off;
	if (!t)
		return;
	len = acpi_rd32(t + 4);
	CHECK_EQ_U64(acpi_rd32(t + 36), VS_LAPIC_ADDR);
	CHECK_EQ_U64(acpi_rd32(t + 40) & 1, 1); /* PCAT_COMPAT */
	f->ioapic_id = -1;
	for (off = 44; off + 2 <= len;) {
		const uint8_t *e = t + off;
		if (e[1] < 2 || off + e[1] > len)
			break;
		switch (e[0]) {
		case 0: /* processor local APIC */
			CHECK_EQ_U64(e[1], 8);
			CHECK_EQ_U64(e[2], e[3]); /* UID == APIC ID */
			CHECK(e[3] < cfg->ncpus);
			CHECK_EQ_U64(acpi_rd32(e + 4), 1); /* enabled */
			CHECK_EQ_U64(apic_seen[e[3]]++, 0);
			lapics++;
			break;
		case 1: /* I/O APIC */
			CHECK_EQ_U64(e[1], 12);
			CHECK_EQ_U64(acpi_rd32(e + 4), VS_IOAPIC_ADDR);
			CHECK_EQ_U64(acpi_rd32(e + 8), 0); /* GSI base */
			f->ioapic_id = e[2];
			ioapics++;
			break;
		case 2: /* interrupt source override */
			CHECK_EQ_U64(e[1], 10);
			CHECK_EQ_U64(e[2], 0); /* ISA */
			if (e[3] == 0) {
				CHECK_EQ_U64(acpi_rd32(e + 4), 2);
				CHECK_EQ_U64(acpi_rd16(e + 8), 0); /* conforming */
				iso_timer++;
			} else if (e[3] == VS_ACPI_SCI_IRQ) {
				CHECK_EQ_U64(acpi_rd32(e + 4), VS_ACPI_SCI_IRQ);
				CHECK_EQ_U64(acpi_rd16(e + 8), 0x000f); /* level, active-low */
				iso_sci++;
			} else {
				others++;
			}
			break;
		case 4: /* local APIC NMI */
			CHECK_EQ_U64(e[1], 6);
			CHECK_EQ_U64(e[2], 0xff);
			CHECK_EQ_U64(e[5], 1); /* LINT1 */
			nmis++;
			break;
		default:
			others++;
		}
		off += e[1];
	}
	CHECK_EQ_U64(off, len);
	CHECK_EQ_U64(lapics, cfg->ncpus);
	CHECK_EQ_U64(ioapics, 1);
	CHECK_EQ_U64(iso_timer, 1);
	CHECK_EQ_U64(iso_sci, 1);
	CHECK_EQ_U64(nmis, 1);
	CHECK_EQ_U64(others, 0);
	CHECK(f->ioapic_id >= 0 && !apic_seen[f->ioapic_id & 0xff]);
}

static void check_dsdt(int *failed_, const struct vs_guest_mem *mem, const struct vs_firmware_config *cfg,
		       struct acpi_found *f)
{
	const uint8_t *t = acpi_table(failed_, mem, f->dsdt, "DSDT");
	struct aml_seen s = { 0 };
	bool ok;
	const uint8_t *crs;
	if (!t)
		return;
	CHECK_EQ_U64(t[8], 2); /* 64-bit integers */
	ok = aml_read_terms(t + 36, acpi_rd32(t + 4) - 36, true, false, NULL, &s, 0);
	CHECK(ok);
	CHECK(!s.bad);
	CHECK_EQ_U64(s.s5_names, 1);
	CHECK_EQ_U64(s.s5_count, 4);
	CHECK_EQ_U64(s.s5[0], VS_ACPI_SLP_TYP_S5);
	CHECK_EQ_U64(s.s5[1], VS_ACPI_SLP_TYP_S5);
	CHECK_EQ_U64(s.s5[2], 0);
	CHECK_EQ_U64(s.s5[3], 0);
	CHECK_EQ_U64(s.cpus, cfg->ncpus);
	for (int i = 0; i < cfg->ncpus; i++)
		CHECK_EQ_U64(s.cpu_uid_seen[i], 1); /* each MADT processor UID once */
	CHECK_EQ_U64(s.com1, 1);
	CHECK_EQ_U64(s.devices, cfg->ncpus + 1);
	CHECK(s.com1_dev.has_hid_int);
	CHECK_EQ_U64(s.com1_dev.hid_int, 0x0105d041); /* EISAID("PNP0501") */
	CHECK(s.com1_dev.has_uid);
	CHECK_EQ_U64(s.com1_dev.uid, 1);
	CHECK(s.com1_dev.has_crs);
	CHECK_EQ_U64(s.com1_dev.crs_len, 8 + 3 + 2);
	crs = s.com1_dev.crs;
	CHECK_EQ_U64(crs[0], 0x47); /* IO descriptor */
	CHECK_EQ_U64(crs[1], 1);    /* 16-bit decode */
	CHECK_EQ_U64(acpi_rd16(crs + 2), VS_PORT_COM1);
	CHECK_EQ_U64(acpi_rd16(crs + 4), VS_PORT_COM1);
	CHECK_EQ_U64(crs[7], 8);
	CHECK_EQ_U64(crs[8], 0x22); /* IRQNoFlags */
	CHECK_EQ_U64(acpi_rd16(crs + 9), 1u << VS_IRQ_COM1);
	CHECK_EQ_U64(crs[11], 0x79); /* end tag */
}

/* Build the ACPI tables at `base`, with room up to the MP table. */
static int build_acpi(int *failed_, struct vs_guest_mem *mem, const struct vs_firmware_config *cfg,
		      uint64_t base)
{
	struct vs_error err = { 0 };
	int used = vs_acpi_build(mem, base, VS_MPTABLE_ADDR - base, cfg, &err);
	if (used < 0)
		printf("# vs_acpi_build: %s\n", err.msg);
	CHECK(used > 0);
	CHECK(used <= (int)(VS_MPTABLE_ADDR - base));
	return used;
}

static void check_acpi(int *failed_, int ncpus, uint64_t base)
{
	struct vs_guest_mem mem;
	struct vs_firmware_config cfg;
	struct acpi_found f = { .base = base };
	struct vs_devices devices = { 0 };
	struct vs_uart *uart = vs_uart_create(NULL, NULL);
	struct vs_device com1;
	struct vs_error err = { 0 };
	int used;
	if (!uart || !setup(&mem)) {
		vs_uart_destroy(uart);
		CHECK(0);
		return;
	}
	/* The board's COM1, as pc.c adds it: the DSDT describes it. */
	com1 = vs_uart_device(uart, VS_PORT_COM1, VS_IRQ_COM1, 1);
	CHECK(vs_devices_add(&devices, &com1, &err) == 0);
	vs_firmware_default_config(&cfg, ncpus);
	cfg.devices = &devices;
	used = build_acpi(failed_, &mem, &cfg, base);
	if (used > 0) {
		check_rsdp(failed_, &mem, &f);
		check_roots(failed_, &mem, &f);
		if (f.fadt)
			check_fadt(failed_, &mem, &cfg, &f);
		if (f.madt)
			check_madt(failed_, &mem, &cfg, &f);
		if (f.dsdt)
			check_dsdt(failed_, &mem, &cfg, &f);
		/* Everything the guest follows lies inside the bytes reported used. */
		CHECK(f.madt + 44 <= base + (uint64_t)used);
		CHECK(f.dsdt + 36 <= base + (uint64_t)used);
	}
	vs_devices_release(&devices);
	vs_guest_mem_release(&mem);
}

TEST(acpi_1_cpu)
{
	check_acpi(failed_, 1, VS_ACPI_ADDR);
}

TEST(acpi_2_cpus)
{
	check_acpi(failed_, 2, VS_ACPI_ADDR);
}

TEST(acpi_64_cpus)
{
	check_acpi(failed_, 64, VS_ACPI_ADDR);
}

/* 254 CPUs push the \_SB_ scope past 4 KiB: a 3-byte PkgLength. */
TEST(acpi_254_cpus)
{
	check_acpi(failed_, 254, VS_ACPI_ADDR);
}

/* Any 16-byte aligned RSDP address works, and the FACS still lands on a
 * 64-byte boundary wherever the tables before it end. */
TEST(acpi_at_other_offsets)
{
	for (uint64_t off = 16; off < 128; off += 16)
		check_acpi(failed_, 3, VS_ACPI_ADDR + off);
}

/* True when [gpa, gpa + len) still holds the canary byte. */
static bool untouched(const struct vs_guest_mem *mem, uint64_t gpa, uint64_t len, uint8_t canary)
{
	const uint8_t *p = vs_gpa_ptr(mem, gpa, len);
	for (uint64_t i = 0; p && i < len; i++)
		if (p[i] != canary)
			return false;
	return p != NULL;
}

/* Every length short of what the tables need fails, leaves no RSDP
 * behind and never writes past the length it was given; the exact
 * length succeeds. */
TEST(acpi_too_small)
{
	struct vs_guest_mem mem;
	struct vs_firmware_config cfg;
	struct vs_error err = { 0 };
	int used, bad = 0;
	if (!setup(&mem)) {
		CHECK(0);
		return;
	}
	vs_firmware_default_config(&cfg, 64);
	used = build_acpi(failed_, &mem, &cfg, VS_ACPI_ADDR);
	/* A failed build clears only the area it was given: start clean. */
	memset(vs_gpa_ptr(&mem, VS_ACPI_ADDR, ACPI_MAX), 0, ACPI_MAX);
	for (int len = 0; used > 0 && len < used; len++) {
		vs_error_clear(&err);
		memset(vs_gpa_ptr(&mem, VS_ACPI_ADDR + (uint64_t)len, (uint64_t)used), 0xcc, (size_t)used);
		if (vs_acpi_build(&mem, VS_ACPI_ADDR, (uint64_t)len, &cfg, &err) != -1 || !err.msg[0] ||
		    scan_bios(&mem, "RSD PTR ", 8, 20) != 0 ||
		    !untouched(&mem, VS_ACPI_ADDR + (uint64_t)len, (uint64_t)used, 0xcc))
			bad++;
	}
	CHECK_EQ_U64(bad, 0);
	CHECK_EQ_U64(vs_acpi_build(&mem, VS_ACPI_ADDR, (uint64_t)used, &cfg, &err), used);
	CHECK_EQ_U64(scan_bios(&mem, "RSD PTR ", 8, 20), VS_ACPI_ADDR);
	vs_guest_mem_release(&mem);
}

TEST(acpi_rejects_bad_config)
{
	struct vs_guest_mem mem;
	struct vs_firmware_config cfg;
	struct vs_error err = { 0 };
	if (!setup(&mem)) {
		CHECK(0);
		return;
	}
	vs_firmware_default_config(&cfg, 0);
	CHECK_EQ_U64(vs_acpi_build(&mem, VS_ACPI_ADDR, ACPI_MAX, &cfg, &err), -1);
	CHECK(strstr(err.msg, "CPUs") != NULL);
	vs_firmware_default_config(&cfg, 255);
	CHECK_EQ_U64(vs_acpi_build(&mem, VS_ACPI_ADDR, ACPI_MAX, &cfg, &err), -1);
	vs_firmware_default_config(&cfg, 2);
	cfg.sci_irq = 2;
	CHECK_EQ_U64(vs_acpi_build(&mem, VS_ACPI_ADDR, ACPI_MAX, &cfg, &err), -1);
	vs_firmware_default_config(&cfg, 2);
	cfg.ioapic_pins = 8;
	CHECK_EQ_U64(vs_acpi_build(&mem, VS_ACPI_ADDR, ACPI_MAX, &cfg, &err), -1);
	vs_firmware_default_config(&cfg, 4);
	cfg.ioapic_id = 3; /* clashes with CPU 3 */
	CHECK_EQ_U64(vs_acpi_build(&mem, VS_ACPI_ADDR, ACPI_MAX, &cfg, &err), -1);
	CHECK(strstr(err.msg, "I/O APIC ID") != NULL);
	CHECK_EQ_U64(vs_mptable_build(&mem, VS_MPTABLE_ADDR, 0x10000, &cfg, &err), -1);
	CHECK(strstr(err.msg, "I/O APIC ID") != NULL);
	vs_firmware_default_config(&cfg, 2);
	CHECK_EQ_U64(vs_acpi_build(&mem, VS_ACPI_ADDR + 8, ACPI_MAX, &cfg, &err), -1);
	CHECK(strstr(err.msg, "aligned") != NULL);
	/* Beyond the 16 MiB of RAM. */
	CHECK_EQ_U64(vs_acpi_build(&mem, 0x10000000, ACPI_MAX, &cfg, &err), -1);
	CHECK(strstr(err.msg, "RAM") != NULL);
	CHECK_EQ_U64(scan_bios(&mem, "RSD PTR ", 8, 20), 0);
	vs_guest_mem_release(&mem);
}

/* ---- MP table ---- */

struct mp_found {
	int cpus, bsp, buses, ioapics, ioints, localints;
	int ioapic_id;
	int irq_pin[16]; /* -1: no entry */
	uint16_t irq_flags[16];
	bool extint_lint0, nmi_lint1;
};

static void check_mp_entries(int *failed_, const uint8_t *ct, const struct vs_firmware_config *cfg,
			     struct mp_found *m)
{
	uint16_t base_len = acpi_rd16(ct + 4), count = acpi_rd16(ct + 34);
	uint8_t apic_seen[256] = { 0 };
	uint32_t off = 44;
	int last_type = 0;
	for (int i = 0; i < 16; i++)
		m->irq_pin[i] = -1;
	m->ioapic_id = -1;
	for (uint16_t i = 0; i < count; i++) {
		const uint8_t *e = ct + off;
		uint32_t len = e[0] == 0 ? 20 : 8;
		if (off + len > base_len || e[0] > 4) {
			CHECK(0);
			return;
		}
		CHECK(e[0] >= last_type); /* sorted by type */
		last_type = e[0];
		switch (e[0]) {
		case 0:
			CHECK(e[1] < cfg->ncpus);
			CHECK_EQ_U64(apic_seen[e[1]]++, 0);
			CHECK(e[3] & 1); /* enabled */
			if (e[3] & 2) {
				CHECK_EQ_U64(e[1], 0);
				m->bsp++;
			}
			CHECK_EQ_U64((acpi_rd32(e + 4) >> 8) & 0xf, 6); /* family 6 */
			CHECK(acpi_rd32(e + 8) & (1u << 9));		/* APIC feature */
			m->cpus++;
			break;
		case 1:
			CHECK_EQ_U64(e[1], 0);
			CHECK(memcmp(e + 2, "ISA   ", 6) == 0);
			m->buses++;
			break;
		case 2:
			CHECK(e[3] & 1);
			CHECK_EQ_U64(acpi_rd32(e + 4), VS_IOAPIC_ADDR);
			m->ioapic_id = e[1];
			m->ioapics++;
			break;
		case 3:
			CHECK_EQ_U64(e[1], 0); /* INT */
			CHECK_EQ_U64(e[4], 0); /* ISA bus */
			CHECK(e[5] < 16);
			CHECK_EQ_U64(e[6], m->ioapic_id);
			CHECK_EQ_U64(m->irq_pin[e[5] & 15], (uint64_t)-1); /* one entry per IRQ */
			m->irq_pin[e[5] & 15] = e[7];
			m->irq_flags[e[5] & 15] = acpi_rd16(e + 2);
			m->ioints++;
			break;
		case 4:
			CHECK_EQ_U64(e[6], 0xff); /* all local APICs */
			if (e[1] == 3 && e[7] == 0)
				m->extint_lint0 = true;
			if (e[1] == 1 && e[7] == 1)
				m->nmi_lint1 = true;
			m->localints++;
			break;
		}
		off += len;
	}
	CHECK_EQ_U64(off, base_len);
	CHECK(m->ioapic_id >= 0 && !apic_seen[m->ioapic_id & 0xff]);
}

static void check_mp(int *failed_, int ncpus)
{
	struct vs_guest_mem mem;
	struct vs_firmware_config cfg;
	struct vs_error err = { 0 };
	struct mp_found m = { 0 };
	const uint8_t *fp, *ct;
	uint64_t fp_gpa, ct_gpa;
	int used;
	if (!setup(&mem)) {
		CHECK(0);
		return;
	}
	vs_firmware_default_config(&cfg, ncpus);
	used = vs_mptable_build(&mem, VS_MPTABLE_ADDR, MP_MAX, &cfg, &err);
	if (used < 0)
		printf("# vs_mptable_build: %s\n", err.msg);
	CHECK(used > 0);
	fp_gpa = scan_bios(&mem, "_MP_", 4, 16);
	CHECK_EQ_U64(fp_gpa, VS_MPTABLE_ADDR);
	fp = vs_gpa_ptr(&mem, fp_gpa, 16);
	if (used <= 0 || !fp_gpa || !fp)
		goto out;
	CHECK_EQ_U64(fp[8], 1);	 /* length in paragraphs */
	CHECK_EQ_U64(fp[9], 4);	 /* spec 1.4 */
	CHECK_EQ_U64(fp[11], 0); /* configuration table present */
	ct_gpa = acpi_rd32(fp + 4);
	ct = vs_gpa_ptr(&mem, ct_gpa, 44);
	CHECK(ct != NULL);
	if (!ct)
		goto out;
	CHECK(memcmp(ct, "PCMP", 4) == 0);
	CHECK_EQ_U64(ct[6], 4);
	CHECK(ct_gpa + acpi_rd16(ct + 4) <= VS_MPTABLE_ADDR + (uint64_t)used);
	ct = vs_gpa_ptr(&mem, ct_gpa, acpi_rd16(ct + 4));
	CHECK_EQ_U64(acpi_sum8(ct, acpi_rd16(ct + 4)), 0);
	CHECK(memcmp(ct + 8, "VESSEL  ", 8) == 0);
	CHECK_EQ_U64(acpi_rd32(ct + 36), VS_LAPIC_ADDR);
	CHECK_EQ_U64(acpi_rd16(ct + 40), 0); /* no extended table */
	check_mp_entries(failed_, ct, &cfg, &m);

	CHECK_EQ_U64(m.cpus, ncpus);
	CHECK_EQ_U64(m.bsp, 1);
	CHECK_EQ_U64(m.buses, 1);
	CHECK_EQ_U64(m.ioapics, 1);
	CHECK_EQ_U64(m.ioints, 15);
	CHECK_EQ_U64(m.localints, 2);
	CHECK(m.extint_lint0);
	CHECK(m.nmi_lint1);
	CHECK_EQ_U64(m.irq_pin[0], 2);		  /* PIT on pin 2 */
	CHECK_EQ_U64(m.irq_pin[2], (uint64_t)-1); /* cascade not routed */
	for (int irq = 1; irq < 16; irq++) {
		if (irq == 2)
			continue;
		CHECK_EQ_U64(m.irq_pin[irq], irq);
		CHECK_EQ_U64(m.irq_flags[irq], irq == VS_ACPI_SCI_IRQ ? 0x0f : 0);
	}
	CHECK_EQ_U64(m.irq_flags[0], 0);
out:
	vs_guest_mem_release(&mem);
}

TEST(mp_1_cpu)
{
	check_mp(failed_, 1);
}

TEST(mp_2_cpus)
{
	check_mp(failed_, 2);
}

TEST(mp_64_cpus)
{
	check_mp(failed_, 64);
}

TEST(mp_too_small)
{
	struct vs_guest_mem mem;
	struct vs_firmware_config cfg;
	struct vs_error err = { 0 };
	int used, bad = 0;
	if (!setup(&mem)) {
		CHECK(0);
		return;
	}
	vs_firmware_default_config(&cfg, 64);
	used = vs_mptable_build(&mem, VS_MPTABLE_ADDR, MP_MAX, &cfg, &err);
	CHECK_EQ_U64(used, 16 + 44 + 64 * 20 + 8 + 8 + 15 * 8 + 2 * 8);
	memset(vs_gpa_ptr(&mem, VS_MPTABLE_ADDR, MP_MAX), 0xcc, MP_MAX);
	for (int len = 0; used > 0 && len < used; len++) {
		vs_error_clear(&err);
		if (vs_mptable_build(&mem, VS_MPTABLE_ADDR, (uint64_t)len, &cfg, &err) != -1 || !err.msg[0])
			bad++;
	}
	CHECK(untouched(&mem, VS_MPTABLE_ADDR, MP_MAX, 0xcc)); /* a failed build writes nothing */
	CHECK_EQ_U64(bad, 0);
	CHECK_EQ_U64(scan_bios(&mem, "_MP_", 4, 16), 0);
	vs_firmware_default_config(&cfg, 0);
	CHECK_EQ_U64(vs_mptable_build(&mem, VS_MPTABLE_ADDR, MP_MAX, &cfg, &err), -1);
	vs_firmware_default_config(&cfg, 2);
	CHECK_EQ_U64(vs_mptable_build(&mem, VS_MPTABLE_ADDR + 4, MP_MAX, &cfg, &err), -1);
	vs_guest_mem_release(&mem);
}

/* Both tables in the machine's layout at once, as the guest sees them:
 * each scan finds its own structure and both name the same I/O APIC. */
TEST(acpi_and_mp_together)
{
	struct vs_guest_mem mem;
	struct vs_firmware_config cfg;
	struct vs_error err = { 0 };
	struct acpi_found f = { .base = VS_ACPI_ADDR };
	struct mp_found m = { 0 };
	const uint8_t *fp, *ct;
	if (!setup(&mem)) {
		CHECK(0);
		return;
	}
	vs_firmware_default_config(&cfg, 4);
	CHECK(vs_mptable_build(&mem, VS_MPTABLE_ADDR, MP_MAX, &cfg, &err) > 0);
	CHECK(build_acpi(failed_, &mem, &cfg, VS_ACPI_ADDR) > 0);
	check_rsdp(failed_, &mem, &f);
	check_roots(failed_, &mem, &f);
	if (f.madt)
		check_madt(failed_, &mem, &cfg, &f);
	CHECK_EQ_U64(scan_bios(&mem, "_MP_", 4, 16), VS_MPTABLE_ADDR);
	fp = vs_gpa_ptr(&mem, VS_MPTABLE_ADDR, 16);
	ct = fp ? vs_gpa_ptr(&mem, acpi_rd32(fp + 4), 44) : NULL;
	CHECK(ct != NULL);
	if (ct) {
		check_mp_entries(failed_, ct, &cfg, &m);
		CHECK_EQ_U64(m.ioapic_id, f.ioapic_id);
		CHECK_EQ_U64(m.cpus, 4);
	}
	vs_guest_mem_release(&mem);
}

TEST(default_config)
{
	struct vs_firmware_config cfg;
	memset(&cfg, 0xa5, sizeof(cfg));
	vs_firmware_default_config(&cfg, 3);
	CHECK_EQ_U64(cfg.ncpus, 3);
	CHECK_EQ_U64(cfg.lapic_addr, VS_LAPIC_ADDR);
	CHECK_EQ_U64(cfg.ioapic_addr, VS_IOAPIC_ADDR);
	CHECK_EQ_U64(cfg.ioapic_pins, VS_IOAPIC_PINS);
	CHECK_EQ_U64(cfg.pm1a_evt_port, VS_PORT_ACPI_PM1A_EVT);
	CHECK_EQ_U64(cfg.pm1a_cnt_port, VS_PORT_ACPI_PM1A_CNT);
	CHECK_EQ_U64(cfg.reset_port, VS_PORT_RESET);
	CHECK_EQ_U64(cfg.reset_value, 0x06);
	CHECK_EQ_U64(cfg.sci_irq, VS_ACPI_SCI_IRQ);
	CHECK_EQ_U64(cfg.slp_typ_s5, VS_ACPI_SLP_TYP_S5);
}

VS_TAP_MAIN(TAP_CASE(default_config), TAP_CASE(acpi_1_cpu), TAP_CASE(acpi_2_cpus), TAP_CASE(acpi_64_cpus),
	    TAP_CASE(acpi_254_cpus), TAP_CASE(acpi_at_other_offsets), TAP_CASE(acpi_too_small),
	    TAP_CASE(acpi_rejects_bad_config), TAP_CASE(mp_1_cpu), TAP_CASE(mp_2_cpus), TAP_CASE(mp_64_cpus),
	    TAP_CASE(mp_too_small), TAP_CASE(acpi_and_mp_together))
