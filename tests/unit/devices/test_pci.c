/* The PCI host as a guest sees it: through ports 0xCF8/0xCFC and ECAM on
 * the board's buses, BAR sizing and decoding, INTx routing and MSI-X. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "tap.h"

#define ECAM 0xe0000000ull
#define M32 0xc0000000ull
#define M64 0x100000000ull
#define IOW 0xc000ull

struct board {
	struct vs_bus pio, mmio;
	struct vs_pci_host *host;
	int level[24];
	int msi_count;
	uint64_t msi_addr;
	uint32_t msi_data;
	/* The route fast path, when the board offers one. */
	int route_rc; /* what route_set answers */
	int route_sets, route_fires;
	uint32_t route_id;
	uint64_t route_addr;
	uint32_t route_data;
};

static void set_level(void *opaque, uint32_t gsi, int level)
{
	struct board *b = opaque;
	b->level[gsi] = level;
}

static void msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	struct board *b = opaque;
	b->msi_count++;
	b->msi_addr = addr;
	b->msi_data = data;
}

static int route_set(void *opaque, uint32_t id, uint64_t addr, uint32_t data)
{
	struct board *b = opaque;
	b->route_sets++;
	if (b->route_rc)
		return b->route_rc;
	b->route_id = id;
	b->route_addr = addr;
	b->route_data = data;
	return 0;
}

/* Fires what route_set last programmed (as KVM's irqfd would): counted
 * as a delivered message, so both paths show up in msi_count. */
static int route_fire(void *opaque, uint32_t id)
{
	struct board *b = opaque;
	if (id != b->route_id)
		return -ENOENT; /* never programmed: the test sees no fire */
	b->route_fires++;
	msi_send(b, b->route_addr, b->route_data);
	return 0;
}

struct fake {
	struct vs_pci_func f;
	uint64_t last_off;
	uint32_t last_val;
	int reads, writes;
};

static void fake_read(void *opaque, uint64_t off, uint8_t *data, uint32_t size)
{
	struct fake *d = opaque;
	d->reads++;
	d->last_off = off;
	memset(data, 0x5a, size);
}

static void fake_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t size)
{
	struct fake *d = opaque;
	d->writes++;
	d->last_off = off;
	d->last_val = 0;
	memcpy(&d->last_val, data, size < 4 ? size : 4);
}

static const struct vs_bus_ops fake_ops = { fake_read, fake_write };

static int board_init(struct board *b, bool msi)
{
	struct vs_pci_host_config cfg = {
		.ecam_base = ECAM,
		.ecam_buses = 256,
		.mmio32_base = M32,
		.mmio32_size = 0x20000000,
		.mmio64_base = M64,
		.mmio64_size = 1ull << 32,
		.io_base = IOW,
		.io_size = 0x4000,
	};
	struct vs_error err = { 0 };
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < 4; i++)
		cfg.intx[i] = (struct vs_irq_line){ set_level, b, 16 + (uint32_t)i };
	if (msi)
		cfg.msi = (struct vs_msi_sink){ msi_send, b };
	vs_bus_init(&b->pio, "pio");
	vs_bus_init(&b->mmio, "mmio");
	if (vs_pci_host_create(&cfg, &b->host, &err) < 0)
		return -1;
	return vs_pci_host_register(b->host, &b->pio, &b->mmio, &err);
}

/* A board whose MSI sink also offers routes. */
static int board_init_routes(struct board *b)
{
	struct vs_pci_host_config cfg = {
		.ecam_base = ECAM,
		.ecam_buses = 256,
		.mmio32_base = M32,
		.mmio32_size = 0x20000000,
		.mmio64_base = M64,
		.mmio64_size = 1ull << 32,
		.io_base = IOW,
		.io_size = 0x4000,
	};
	struct vs_error err = { 0 };
	memset(b, 0, sizeof(*b));
	cfg.msi = (struct vs_msi_sink){ msi_send, b, route_set, route_fire };
	vs_bus_init(&b->pio, "pio");
	vs_bus_init(&b->mmio, "mmio");
	if (vs_pci_host_create(&cfg, &b->host, &err) < 0)
		return -1;
	return vs_pci_host_register(b->host, &b->pio, &b->mmio, &err);
}

static void board_release(struct board *b)
{
	vs_pci_host_destroy(b->host);
	vs_bus_release(&b->pio);
	vs_bus_release(&b->mmio);
}

static uint32_t cf8_read(struct board *b, int slot, uint32_t reg, uint32_t size)
{
	uint32_t addr = 0x80000000u | (uint32_t)slot << 11 | (reg & 0xfc), v = 0;
	vs_bus_write(&b->pio, 0xcf8, (uint8_t *)&addr, 4);
	vs_bus_read(&b->pio, 0xcfc + (reg & 3), (uint8_t *)&v, size);
	return v;
}

static void cf8_write(struct board *b, int slot, uint32_t reg, uint32_t v, uint32_t size)
{
	uint32_t addr = 0x80000000u | (uint32_t)slot << 11 | (reg & 0xfc);
	vs_bus_write(&b->pio, 0xcf8, (uint8_t *)&addr, 4);
	vs_bus_write(&b->pio, 0xcfc + (reg & 3), (uint8_t *)&v, size);
}

static uint32_t ecam_read(struct board *b, int slot, uint32_t reg)
{
	uint32_t v = 0;
	vs_bus_read(&b->mmio, ECAM + ((uint64_t)slot << 15) + reg, (uint8_t *)&v, 4);
	return v;
}

static void ecam_write(struct board *b, int slot, uint32_t reg, uint32_t v)
{
	vs_bus_write(&b->mmio, ECAM + ((uint64_t)slot << 15) + reg, (uint8_t *)&v, 4);
}

static void fake_plug(struct board *b, struct fake *d, int slot)
{
	struct vs_error err = { 0 };
	struct vs_pci_bar_def bar0 = { 0x4000, VS_PCI_BAR_MEM64, &fake_ops, d, "fake-mem" };
	struct vs_pci_bar_def bar2 = { 0x20, VS_PCI_BAR_IO, &fake_ops, d, "fake-io" };
	uint8_t vendor_cap[8] = { 0, 0, 8, 1, 2, 3, 4, 5 };
	memset(d, 0, sizeof(*d));
	vs_pci_func_init(&d->f, b->host, 0x1af4, 0x1044, 0x00ff00, 1);
	vs_pci_func_set_bar(&d->f, 0, &bar0);
	vs_pci_func_set_bar(&d->f, 2, &bar2);
	vs_pci_func_add_cap(&d->f, VS_PCI_CAP_ID_VENDOR, vendor_cap, sizeof(vendor_cap));
	vs_pci_func_add_msix(&d->f, 4, 4);
	if (vs_pci_host_plug(b->host, &d->f, slot, &err) < 0)
		printf("# plug: %s\n", err.msg);
}

TEST(host_bridge_through_both_mechanisms)
{
	struct board b;
	CHECK(board_init(&b, false) == 0);
	CHECK_EQ_U64(cf8_read(&b, 0, 0, 4), 0x00081b36);
	CHECK_EQ_U64(ecam_read(&b, 0, 0), 0x00081b36);
	CHECK_EQ_U64(cf8_read(&b, 0, 0x0a, 2), 0x0600); /* class: host bridge */
	CHECK_EQ_U64(cf8_read(&b, 0, 0x0b, 1), 0x06);
	CHECK_EQ_U64(cf8_read(&b, 3, 0, 4), 0xffffffff); /* empty slot */
	/* Other buses and functions do not exist. */
	CHECK_EQ_U64(ecam_read(&b, 0, 0) & ecam_read(&b, 1, 0), 0x00081b36);
	{
		uint32_t v = 0;
		vs_bus_read(&b.mmio, ECAM + (1ull << 20), (uint8_t *)&v, 4);
		CHECK_EQ_U64(v, 0xffffffff);
	}
	/* CONFIG_ADDRESS reads back; without the enable bit data is all-ones. */
	{
		uint32_t a = 0x80001234, r = 0, v = 0;
		vs_bus_write(&b.pio, 0xcf8, (uint8_t *)&a, 4);
		vs_bus_read(&b.pio, 0xcf8, (uint8_t *)&r, 4);
		CHECK_EQ_U64(r, 0x80001234);
		a = 0;
		vs_bus_write(&b.pio, 0xcf8, (uint8_t *)&a, 4);
		vs_bus_read(&b.pio, 0xcfc, (uint8_t *)&v, 4);
		CHECK_EQ_U64(v, 0xffffffff);
	}
	board_release(&b);
}

TEST(bar_sizing_and_decoding)
{
	struct board b;
	struct fake d;
	uint32_t lo, hi, v = 0x11223344, r = 0;
	uint64_t addr;
	CHECK(board_init(&b, false) == 0);
	fake_plug(&b, &d, 3);
	CHECK_EQ_U64(ecam_read(&b, 3, 0), 0x10441af4);
	lo = ecam_read(&b, 3, 0x10);
	hi = ecam_read(&b, 3, 0x14);
	addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
	CHECK_EQ_U64(lo & 0xf, VS_PCI_BAR_MEM64);
	CHECK(addr >= M32 && addr < M32 + 0x20000000);
	CHECK_EQ_U64(addr & 0x3fff, 0);
	CHECK_EQ_U64(ecam_read(&b, 3, 4) & 3, 3); /* decoding on, as firmware leaves it */
	/* Accesses reach the device at BAR offsets. */
	CHECK(vs_bus_write(&b.mmio, addr + 0x124, (uint8_t *)&v, 4));
	CHECK_EQ_U64(d.writes, 1);
	CHECK_EQ_U64(d.last_off, 0x124);
	CHECK_EQ_U64(d.last_val, 0x11223344);
	/* Sizing: all-ones reads back the size mask and the flags. */
	ecam_write(&b, 3, 4, 0);
	ecam_write(&b, 3, 0x10, 0xffffffff);
	ecam_write(&b, 3, 0x14, 0xffffffff);
	CHECK_EQ_U64(ecam_read(&b, 3, 0x10), 0xffffc004);
	CHECK_EQ_U64(ecam_read(&b, 3, 0x14), 0xffffffff);
	cf8_write(&b, 3, 0x18, 0xffffffff, 4);
	CHECK_EQ_U64(cf8_read(&b, 3, 0x18, 4), 0xffffffe1); /* 32-byte I/O BAR */
	CHECK_EQ_U64(cf8_read(&b, 3, 0x1c, 4), 0);	    /* unimplemented */
	/* Decoding off: the device is not reached. */
	ecam_write(&b, 3, 0x10, (uint32_t)addr);
	ecam_write(&b, 3, 0x14, (uint32_t)(addr >> 32));
	vs_bus_read(&b.mmio, addr, (uint8_t *)&r, 4);
	CHECK_EQ_U64(r, 0xffffffff);
	CHECK_EQ_U64(d.reads, 0);
	/* Moved and turned on again: reached at the new address only. */
	ecam_write(&b, 3, 0x10, (uint32_t)(M32 + 0x100000));
	ecam_write(&b, 3, 0x14, 0);
	cf8_write(&b, 3, 0x18, 0xc100, 4);
	cf8_write(&b, 3, 4, VS_PCI_CMD_MEMORY | VS_PCI_CMD_IO, 2);
	vs_bus_read(&b.mmio, M32 + 0x100008, (uint8_t *)&r, 4);
	CHECK_EQ_U64(r, 0x5a5a5a5a);
	CHECK_EQ_U64(d.last_off, 8);
	r = 0;
	vs_bus_read(&b.mmio, addr, (uint8_t *)&r, 4);
	CHECK(addr == M32 + 0x100000 || r == 0xffffffff);
	vs_bus_read(&b.pio, 0xc104, (uint8_t *)&r, 2);
	CHECK_EQ_U64(d.last_off, 4);
	/* Into the 64-bit window. */
	ecam_write(&b, 3, 0x14, 1);
	ecam_write(&b, 3, 0x10, 0);
	d.reads = 0;
	vs_bus_read(&b.mmio, M64 + 0x10, (uint8_t *)&r, 4);
	CHECK_EQ_U64(d.reads, 1);
	board_release(&b);
}

TEST(capability_list)
{
	struct board b;
	struct fake d;
	uint32_t ptr;
	int n = 0, vendor = 0, msix = 0;
	CHECK(board_init(&b, true) == 0);
	fake_plug(&b, &d, 2);
	CHECK(cf8_read(&b, 2, 6, 2) & VS_PCI_STATUS_CAP_LIST);
	ptr = cf8_read(&b, 2, VS_PCI_CAP_PTR, 1);
	while (ptr && n++ < 48) {
		uint32_t id = cf8_read(&b, 2, ptr, 1);
		CHECK((ptr & 3) == 0 && ptr >= 0x40);
		if (id == VS_PCI_CAP_ID_VENDOR) {
			vendor++;
			CHECK_EQ_U64(cf8_read(&b, 2, ptr + 2, 2), 0x0108);
			CHECK_EQ_U64(cf8_read(&b, 2, ptr + 4, 4), 0x05040302);
		}
		if (id == VS_PCI_CAP_ID_MSIX) {
			msix++;
			CHECK_EQ_U64(cf8_read(&b, 2, ptr + 2, 2), 3); /* 4 vectors, off */
			CHECK_EQ_U64(cf8_read(&b, 2, ptr + 4, 4), 4); /* BAR 4, offset 0 */
		}
		ptr = cf8_read(&b, 2, ptr + 1, 1);
	}
	CHECK_EQ_U64(vendor, 1);
	CHECK_EQ_U64(msix, 1);
	/* Read-only header fields stay. */
	cf8_write(&b, 2, 0, 0, 4);
	CHECK_EQ_U64(cf8_read(&b, 2, 0, 2), 0x1af4);
	board_release(&b);
	/* No sink: no MSI-X capability. */
	CHECK(board_init(&b, false) == 0);
	fake_plug(&b, &d, 2);
	ptr = cf8_read(&b, 2, VS_PCI_CAP_PTR, 1);
	CHECK(ptr != 0);
	CHECK_EQ_U64(cf8_read(&b, 2, ptr + 1, 1), 0);
	board_release(&b);
}

TEST(intx_swizzle_and_disable)
{
	struct board b;
	struct fake d1, d2;
	CHECK(board_init(&b, false) == 0);
	fake_plug(&b, &d1, 1); /* INTA of slot 1: line 1 */
	fake_plug(&b, &d2, 5); /* INTA of slot 5: line 1 too */
	CHECK_EQ_U64(cf8_read(&b, 1, VS_PCI_INTERRUPT_LINE, 1), 17);
	CHECK_EQ_U64(cf8_read(&b, 1, VS_PCI_INTERRUPT_PIN, 1), 1);
	vs_pci_func_set_intx(&d1.f, true);
	CHECK_EQ_U64(b.level[17], 1);
	CHECK(cf8_read(&b, 1, 6, 2) & VS_PCI_STATUS_INTX);
	vs_pci_func_set_intx(&d2.f, true);
	vs_pci_func_set_intx(&d1.f, false);
	CHECK_EQ_U64(b.level[17], 1); /* still shared by slot 5 */
	cf8_write(&b, 5, 4, VS_PCI_CMD_MEMORY | VS_PCI_CMD_INTX_DISABLE, 2);
	CHECK_EQ_U64(b.level[17], 0);
	CHECK(cf8_read(&b, 5, 6, 2) & VS_PCI_STATUS_INTX); /* pending, not delivered */
	cf8_write(&b, 5, 4, VS_PCI_CMD_MEMORY, 2);
	CHECK_EQ_U64(b.level[17], 1);
	vs_pci_func_set_intx(&d2.f, false);
	CHECK_EQ_U64(b.level[17], 0);
	board_release(&b);
}

static uint64_t msix_bar(struct board *b, int slot)
{
	return cf8_read(b, slot, VS_PCI_BAR0 + 16, 4) & ~0xfu;
}

TEST(msix_mask_and_pending)
{
	struct board b;
	struct fake d;
	uint64_t bar;
	uint32_t v, cap;
	CHECK(board_init(&b, true) == 0);
	fake_plug(&b, &d, 2);
	cap = d.f.msix.cap;
	bar = msix_bar(&b, 2);
	CHECK(bar >= M32);
	/* Vector 1: address and data, still masked. */
	v = 0xfee00000;
	vs_bus_write(&b.mmio, bar + 16, (uint8_t *)&v, 4);
	v = 0;
	vs_bus_write(&b.mmio, bar + 20, (uint8_t *)&v, 4);
	v = 0x4041;
	vs_bus_write(&b.mmio, bar + 24, (uint8_t *)&v, 4);
	vs_bus_read(&b.mmio, bar + 28, (uint8_t *)&v, 4);
	CHECK_EQ_U64(v, 1); /* masked at reset */
	/* Disabled: nothing is sent, INTx is used instead. */
	vs_pci_msix_notify(&d.f, 1);
	CHECK_EQ_U64(b.msi_count, 0);
	cf8_write(&b, 2, cap + 2, VS_MSIX_CTRL_ENABLE, 2);
	CHECK(vs_pci_msix_enabled(&d.f));
	vs_pci_func_set_intx(&d.f, true);
	CHECK_EQ_U64(b.level[18], 0); /* INTx is off while MSI-X is on */
	vs_pci_func_set_intx(&d.f, false);
	vs_pci_msix_notify(&d.f, 1);
	CHECK_EQ_U64(b.msi_count, 0);
	vs_bus_read(&b.mmio, bar + 0x800, (uint8_t *)&v, 4);
	CHECK_EQ_U64(v, 2); /* pending bit 1 */
	v = 0;
	vs_bus_write(&b.mmio, bar + 28, (uint8_t *)&v, 4); /* unmask: delivered */
	CHECK_EQ_U64(b.msi_count, 1);
	CHECK_EQ_U64(b.msi_addr, 0xfee00000);
	CHECK_EQ_U64(b.msi_data, 0x4041);
	vs_bus_read(&b.mmio, bar + 0x800, (uint8_t *)&v, 4);
	CHECK_EQ_U64(v, 0);
	/* Function mask holds it back too. */
	cf8_write(&b, 2, cap + 2, VS_MSIX_CTRL_ENABLE | VS_MSIX_CTRL_MASKALL, 2);
	vs_pci_msix_notify(&d.f, 1);
	CHECK_EQ_U64(b.msi_count, 1);
	cf8_write(&b, 2, cap + 2, VS_MSIX_CTRL_ENABLE, 2);
	CHECK_EQ_U64(b.msi_count, 2);
	vs_pci_msix_notify(&d.f, 7); /* beyond the table: ignored */
	CHECK_EQ_U64(b.msi_count, 2);
	board_release(&b);
}

/* A BAR moved onto another device's BAR does not decode there; once the
 * other one moves away, it does. */
TEST(overlapping_bars_resolve)
{
	struct board b;
	struct fake d1, d2;
	uint32_t r;
	uint64_t a1, a2;
	CHECK(board_init(&b, false) == 0);
	fake_plug(&b, &d1, 1);
	fake_plug(&b, &d2, 2);
	a1 = ecam_read(&b, 1, 0x10) & ~0xfu;
	a2 = ecam_read(&b, 2, 0x10) & ~0xfu;
	CHECK(a1 != a2);
	ecam_write(&b, 1, 0x10, (uint32_t)a2); /* onto d2's BAR, decoding on */
	d1.reads = d2.reads = 0;
	vs_bus_read(&b.mmio, a2 + 4, (uint8_t *)&r, 4);
	CHECK_EQ_U64(d2.reads, 1);
	CHECK_EQ_U64(d1.reads, 0);
	ecam_write(&b, 2, 0x10, (uint32_t)(a2 + 0x100000)); /* d2 moves away */
	vs_bus_read(&b.mmio, a2 + 4, (uint8_t *)&r, 4);
	CHECK_EQ_U64(d1.reads, 1);
	vs_bus_read(&b.mmio, a2 + 0x100004, (uint8_t *)&r, 4);
	CHECK_EQ_U64(d2.reads, 2);
	board_release(&b);
}

static void msix_entry(struct board *b, uint64_t bar, int vec, uint32_t addr, uint32_t data, uint32_t ctrl)
{
	uint32_t w[4] = { addr, 0, data, ctrl };
	for (int i = 0; i < 4; i++)
		vs_bus_write(&b->mmio, bar + 16 * (uint64_t)vec + 4 * (uint64_t)i, (uint8_t *)&w[i], 4);
}

/* With routes (irqfd under KVM): a vector's route is programmed on its
 * first interrupt, reused after, reprogrammed when the guest changes the
 * message (never while unchanged), masking still parks the interrupt in
 * the PBA and unmasking delivers it through the route. A sink that
 * refuses routes gets plain messages until the vector is reprogrammed;
 * one that is not ready yet (-EAGAIN) is asked again next time. */
TEST(msix_routes_follow_the_table)
{
	struct board b;
	struct fake d;
	uint64_t bar;
	uint32_t v;
	CHECK(board_init_routes(&b) == 0);
	fake_plug(&b, &d, 3);
	bar = msix_bar(&b, 3);
	cf8_write(&b, 3, d.f.msix.cap + 2, VS_MSIX_CTRL_ENABLE, 2);
	msix_entry(&b, bar, 2, 0xfee00000, 0x4051, 0);

	b.route_rc = -EAGAIN; /* no accelerator yet: sent, asked again */
	vs_pci_msix_notify(&d.f, 2);
	CHECK_EQ_U64(b.msi_count, 1);
	CHECK_EQ_U64(b.route_fires, 0);
	b.route_rc = 0;
	vs_pci_msix_notify(&d.f, 2);
	vs_pci_msix_notify(&d.f, 2);
	CHECK_EQ_U64(b.route_sets, 2);
	CHECK_EQ_U64(b.route_fires, 2);
	CHECK_EQ_U64(b.route_id, 3 * VS_MSIX_MAX_VECTORS + 2);
	CHECK_EQ_U64(b.msi_data, 0x4051);

	/* Same message rewritten: the route stays. */
	msix_entry(&b, bar, 2, 0xfee00000, 0x4051, 0);
	vs_pci_msix_notify(&d.f, 2);
	CHECK_EQ_U64(b.route_sets, 2);
	/* New data, then a new address: reprogrammed before the next fire. */
	v = 0x4052;
	vs_bus_write(&b.mmio, bar + 32 + 8, (uint8_t *)&v, 4);
	vs_pci_msix_notify(&d.f, 2);
	CHECK_EQ_U64(b.route_sets, 3);
	CHECK_EQ_U64(b.msi_data, 0x4052);
	msix_entry(&b, bar, 2, 0xfee01000, 0x4052, 0);
	vs_pci_msix_notify(&d.f, 2);
	CHECK_EQ_U64(b.route_sets, 4);
	CHECK_EQ_U64(b.msi_addr, 0xfee01000);
	CHECK_EQ_U64(b.route_fires, 5);

	/* Masked: pending, not fired; unmask fires the route once. */
	msix_entry(&b, bar, 2, 0xfee01000, 0x4052, 1);
	vs_pci_msix_notify(&d.f, 2);
	vs_pci_msix_notify(&d.f, 2);
	CHECK_EQ_U64(b.route_fires, 5);
	vs_bus_read(&b.mmio, bar + 0x800, (uint8_t *)&v, 4);
	CHECK_EQ_U64(v, 1u << 2);
	v = 0;
	vs_bus_write(&b.mmio, bar + 32 + 12, (uint8_t *)&v, 4);
	CHECK_EQ_U64(b.route_fires, 6);
	vs_bus_read(&b.mmio, bar + 0x800, (uint8_t *)&v, 4);
	CHECK_EQ_U64(v, 0);

	/* A refused route: plain messages, until the message changes. */
	b.route_rc = -ENOSPC;
	msix_entry(&b, bar, 1, 0xfee00000, 0x4061, 0);
	vs_pci_msix_notify(&d.f, 1);
	vs_pci_msix_notify(&d.f, 1);
	CHECK_EQ_U64(b.route_sets, 5);
	CHECK_EQ_U64(b.route_fires, 6);
	CHECK_EQ_U64(b.msi_data, 0x4061);
	CHECK_EQ_U64(b.msi_count, 9);
	b.route_rc = 0;
	msix_entry(&b, bar, 1, 0xfee00000, 0x4062, 0);
	vs_pci_msix_notify(&d.f, 1);
	CHECK_EQ_U64(b.route_sets, 6);
	CHECK_EQ_U64(b.route_fires, 7);
	CHECK_EQ_U64(b.msi_data, 0x4062);
	board_release(&b);
}

VS_TAP_MAIN(TAP_CASE(msix_routes_follow_the_table), TAP_CASE(overlapping_bars_resolve),
	    TAP_CASE(host_bridge_through_both_mechanisms), TAP_CASE(bar_sizing_and_decoding),
	    TAP_CASE(capability_list), TAP_CASE(intx_swizzle_and_disable), TAP_CASE(msix_mask_and_pending))
