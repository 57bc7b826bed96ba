/* test=virtio-rng[=irq] and test=virtio-blk[=irq]: a minimal virtio 1.2
 * PCI driver. It finds the device on bus 0, reads its vendor capabilities,
 * negotiates VERSION_1, sets up queue 0 and submits requests; without
 * "irq" it polls the used ring with plain descriptors, with "irq" it
 * negotiates EVENT_IDX and INDIRECT_DESC, puts each request in an indirect
 * table and waits in hlt for the INTx interrupt (the GSI the interrupt line
 * register names, through the I/O APIC, level-triggered and active-low as
 * the _PRT implies), acknowledged by reading the ISR.
 *
 * virtio-blk prints the capacity, the serial, an FNV-1a hash of sectors
 * 0-7, writes a pattern to sector 8 and flushes, and reads it back; with
 * test=virtio-blk=ro the disk must be read-only instead (VIRTIO_BLK_F_RO
 * offered, the write refused with IOERR, sector 8 unchanged).
 *
 * "packed" (virtio-blk=packed) negotiates VIRTIO_F_RING_PACKED with
 * EVENT_IDX and INDIRECT_DESC over MSI-X: requests go into the packed
 * descriptor ring (wrapping it, so both wrap counters flip), every third
 * one through an indirect table, each with its own buffer id, and the
 * driver event suppression structure asks for an interrupt at the next
 * used descriptor. */
#include "acpi.h"
#include "apic.h"
#include "idt.h"
#include "io.h"
#include "libc.h"
#include "pci.h"
#include "rtc.h"
#include "system.h"
#include "tests.h"

#define QN 16
#define PQN 8 /* the packed ring: small, so six requests wrap it */
#define VIRTIO_VECTOR 0x60
#define WATCHDOG_VECTOR 0x61 /* LAPIC timer: wakes hlt so deadlines are checked */
#define TIMEOUT_S 20

#define F_INDIRECT (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)
#define F_RING_PACKED (1ull << 34)
#define P_AVAIL (1u << 7)
#define P_USED (1u << 15)
#define EVENT_DESC 2
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct desc ring_desc[QN] __attribute__((aligned(16)));
static struct {
	uint16_t flags, idx, ring[QN], used_event;
} avail __attribute__((aligned(4)));
static struct {
	uint16_t flags;
	volatile uint16_t idx;
	struct {
		uint32_t id, len;
	} ring[QN];
	uint16_t avail_event;
} used __attribute__((aligned(4)));
static struct desc indirect_table[4] __attribute__((aligned(16)));

/* The packed layout (section 2.8): one ring and two event structures. */
struct pdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	volatile uint16_t flags;
};
static struct pdesc packed_ring[PQN] __attribute__((aligned(16)));
static struct pdesc packed_indirect[4] __attribute__((aligned(16)));
static struct {
	uint16_t off_wrap, flags;
} driver_event __attribute__((aligned(4)));
static struct {
	volatile uint16_t off_wrap, flags;
} device_event __attribute__((aligned(4)));
static uint8_t buf[8 * 512] __attribute__((aligned(512)));
static uint8_t hdr[16], status;

static struct {
	uint64_t features; /* offered by the device */
	int slot;
	uint64_t common, notify, isr, device;
	uint32_t notify_mult;
	bool irq, indirect, msix, packed;
	uint16_t used_seen;
	/* Packed ring positions and wrap counters. */
	uint16_t avail_pos, used_pos, requests;
	bool avail_wrap, used_wrap;
	volatile unsigned interrupts;
} dev;

static uint64_t cap_addr(unsigned slot, unsigned cap)
{
	uint64_t addr;
	bool is64, io;
	unsigned bar = pci_read(slot, cap + 4, 1);
	pci_bar_size(slot, bar, &addr, &is64, &io);
	return addr + pci_read(slot, cap + 8, 4);
}

static void find_caps(void)
{
	for (unsigned p = pci_read((unsigned)dev.slot, PCI_CAP_PTR, 1); p;
	     p = pci_read((unsigned)dev.slot, p + 1, 1)) {
		if (pci_read((unsigned)dev.slot, p, 1) != 0x09)
			continue;
		switch (pci_read((unsigned)dev.slot, p + 3, 1)) {
		case 1:
			dev.common = cap_addr((unsigned)dev.slot, p);
			break;
		case 2:
			dev.notify = cap_addr((unsigned)dev.slot, p);
			dev.notify_mult = pci_read((unsigned)dev.slot, p + 16, 4);
			break;
		case 3:
			dev.isr = cap_addr((unsigned)dev.slot, p);
			break;
		case 4:
			dev.device = cap_addr((unsigned)dev.slot, p);
			break;
		}
	}
	if (!dev.common || !dev.notify || !dev.isr)
		fail("virtio: capabilities missing (common 0x%lx notify 0x%lx isr 0x%lx)", dev.common,
		     dev.notify, dev.isr);
}

static void on_interrupt(struct irq_frame *f)
{
	(void)f;
	if (mmio_read8(dev.isr) & 1)
		dev.interrupts++;
	lapic_eoi();
}

static void on_watchdog(struct irq_frame *f)
{
	(void)f;
	lapic_eoi();
}

static void route_intx(void)
{
	struct madt_info m;
	unsigned gsi = pci_read((unsigned)dev.slot, PCI_INT_LINE, 1);
	if (!acpi_parse_madt(&m) || m.nioapics == 0)
		fail("virtio: no I/O APIC");
	lapic_enable();
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	idt_set_handler(VIRTIO_VECTOR, on_interrupt);
	ioapic_set_redir(m.ioapic_addr[0], gsi - m.ioapic_gsi_base[0], VIRTIO_VECTOR,
			 IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_ACTIVE_LOW, lapic_id());
	idt_set_handler(WATCHDOG_VECTOR, on_watchdog);
	lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, WATCHDOG_VECTOR | LAPIC_TIMER_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, 10000000);
	printf("virtio: INTx on GSI %u\n", gsi);
}

static void on_msix(struct irq_frame *f)
{
	(void)f;
	dev.interrupts++; /* no ISR with MSI-X: the vector says it all */
	lapic_eoi();
}

/* MSI-X: table entry 0 aimed at this CPU's LAPIC with VIRTIO_VECTOR, the
 * function's MSI-X enabled, queue 0 on vector 0 and no configuration
 * vector. The LAPIC timer wakes hlt as with INTx. */
static void route_msix(void)
{
	unsigned slot = (unsigned)dev.slot, cap = 0;
	uint32_t table;
	uint64_t base, entry;
	bool is64, io;
	for (unsigned p = pci_read(slot, PCI_CAP_PTR, 1); p; p = pci_read(slot, p + 1, 1))
		if (pci_read(slot, p, 1) == 0x11)
			cap = p;
	if (!cap)
		fail("virtio: no MSI-X capability");
	table = pci_read(slot, cap + 4, 4);
	pci_bar_size(slot, table & 7, &base, &is64, &io);
	entry = base + (table & ~7u);
	lapic_enable();
	idt_set_handler(VIRTIO_VECTOR, on_msix);
	idt_set_handler(WATCHDOG_VECTOR, on_watchdog);
	lapic_write(LAPIC_TIMER_DIV, 0xb);
	lapic_write(LAPIC_LVT_TIMER, WATCHDOG_VECTOR | LAPIC_TIMER_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, 10000000);
	mmio_write32(entry + 0, 0xfee00000u | (uint32_t)lapic_id() << 12);
	mmio_write32(entry + 4, 0);
	mmio_write32(entry + 8, VIRTIO_VECTOR);
	mmio_write32(entry + 12, 0); /* unmasked */
	pci_write(slot, cap + 2, pci_read(slot, cap + 2, 2) | 0x8000, 2);
	mmio_write16(dev.common + 16, 0xffff);
	mmio_write16(dev.common + 22, 0);
	mmio_write16(dev.common + 26, 0);
	if (mmio_read16(dev.common + 26) != 0)
		fail("virtio: queue 0 refused MSI-X vector 0");
	printf("virtio: MSI-X table in BAR %u, vector 0 -> 0x%x\n", table & 7, VIRTIO_VECTOR);
}

static void start(uint16_t device_id, const char *name)
{
	uint64_t features, want = F_VERSION_1;
	dev.slot = pci_find(0x1af4, device_id);
	if (dev.slot < 0)
		fail("%s: no device 1af4:%04x on bus 0", name, device_id);
	pci_write((unsigned)dev.slot, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER, 2);
	find_caps();
	mmio_write8(dev.common + 20, 0);
	mmio_write8(dev.common + 20, S_ACK | S_DRIVER);
	mmio_write32(dev.common + 0, 0);
	features = mmio_read32(dev.common + 4);
	mmio_write32(dev.common + 0, 1);
	features |= (uint64_t)mmio_read32(dev.common + 4) << 32;
	if (!(features & F_VERSION_1))
		fail("%s: no VERSION_1", name);
	dev.features = features;
	if (dev.irq)
		want |= features & (F_EVENT_IDX | F_INDIRECT);
	if (dev.packed) {
		if (!(features & F_RING_PACKED))
			fail("%s: no VIRTIO_F_RING_PACKED offered", name);
		want |= F_RING_PACKED;
		dev.avail_wrap = dev.used_wrap = true;
	}
	dev.indirect = want & F_INDIRECT;
	mmio_write32(dev.common + 8, 0);
	mmio_write32(dev.common + 12, (uint32_t)want);
	mmio_write32(dev.common + 8, 1);
	mmio_write32(dev.common + 12, (uint32_t)(want >> 32));
	mmio_write8(dev.common + 20, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(mmio_read8(dev.common + 20) & S_FEATURES_OK))
		fail("%s: features 0x%lx refused", name, want);
	mmio_write16(dev.common + 22, 0);
	if (mmio_read16(dev.common + 24) < QN)
		fail("%s: queue 0 holds only %u", name, mmio_read16(dev.common + 24));
	mmio_write16(dev.common + 24, dev.packed ? PQN : QN);
	mmio_write32(dev.common + 32,
		     (uint32_t)(uintptr_t)(dev.packed ? (void *)packed_ring : (void *)ring_desc));
	mmio_write32(dev.common + 36, 0);
	mmio_write32(dev.common + 40,
		     (uint32_t)(uintptr_t)(dev.packed ? (void *)&driver_event : (void *)&avail));
	mmio_write32(dev.common + 44, 0);
	mmio_write32(dev.common + 48,
		     (uint32_t)(uintptr_t)(dev.packed ? (void *)&device_event : (void *)&used));
	mmio_write32(dev.common + 52, 0);
	mmio_write16(dev.common + 28, 1);
	if (dev.msix)
		route_msix();
	else if (dev.irq)
		route_intx();
	mmio_write8(dev.common + 20, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	printf("%s: device at 00:%02x.0, features 0x%lx, %s\n", name, dev.slot, want,
	       dev.irq ? "interrupts" : "polling");
}

static uint16_t wrap_bits(bool wrap)
{
	return (uint16_t)(wrap ? P_AVAIL : P_USED);
}

static bool packed_used(void)
{
	uint16_t f = packed_ring[dev.used_pos].flags;
	return !!(f & P_AVAIL) == dev.used_wrap && !!(f & P_USED) == dev.used_wrap;
}

/* Wait (in hlt with interrupts) until `done` says the request is used. */
static void wait_used(bool (*done)(void))
{
	struct deadline d;
	unsigned polls = 0;
	deadline_start(&d, TIMEOUT_S);
	for (;;) {
		if (dev.irq) {
			cli();
			if (done())
				break;
			sti_hlt();
			sti();
		} else if (done()) {
			break;
		} else {
			cpu_relax();
		}
		if (++polls % 64 == 0 && deadline_passed(&d))
			fail("virtio: request not answered within %u s (used idx %u, %u interrupts)",
			     TIMEOUT_S, dev.packed ? dev.used_pos : used.idx, dev.interrupts);
	}
	sti();
	barrier();
}

/* The packed ring: the chain's descriptors in ring order (or one that
 * names an indirect table), the first one's flags written last. */
static uint32_t submit_packed(const struct desc *segs, unsigned n)
{
	uint16_t id = (uint16_t)(dev.requests % PQN), first = dev.avail_pos, slots = 0, first_flags = 0;
	bool indirect = dev.indirect && dev.requests % 3 == 2;
	uint32_t len;
	for (unsigned i = 0; i < (indirect ? 1 : n); i++) {
		struct pdesc *p = &packed_ring[dev.avail_pos];
		uint16_t flags = wrap_bits(dev.avail_wrap);
		if (indirect) {
			for (unsigned j = 0; j < n; j++)
				packed_indirect[j] =
				    (struct pdesc){ segs[j].addr, segs[j].len, 0, segs[j].flags };
			*p = (struct pdesc){ (uint64_t)(uintptr_t)packed_indirect, n * 16, id, 0 };
			flags |= D_INDIRECT;
		} else {
			*p = (struct pdesc){ segs[i].addr, segs[i].len, id, 0 };
			flags |= (uint16_t)(segs[i].flags | (i + 1 < n ? D_NEXT : 0));
		}
		if (i == 0)
			first_flags = flags;
		else
			p->flags = flags;
		slots++;
		if (++dev.avail_pos == PQN) {
			dev.avail_pos = 0;
			dev.avail_wrap = !dev.avail_wrap;
		}
	}
	dev.requests++;
	/* An interrupt when the device writes the used descriptor here. */
	driver_event.off_wrap = (uint16_t)(dev.used_pos | (dev.used_wrap ? 0x8000 : 0));
	driver_event.flags = EVENT_DESC;
	barrier();
	packed_ring[first].flags = first_flags;
	__asm__ volatile("mfence" ::: "memory");
	if (device_event.flags != 1) /* not DISABLE */
		mmio_write16(dev.notify, 0);
	wait_used(packed_used);
	if (packed_ring[dev.used_pos].id != id)
		fail("virtio: used buffer id %u, expected %u", packed_ring[dev.used_pos].id, id);
	len = packed_ring[dev.used_pos].len;
	dev.used_pos = (uint16_t)(dev.used_pos + slots);
	if (dev.used_pos >= PQN) {
		dev.used_pos = (uint16_t)(dev.used_pos - PQN);
		dev.used_wrap = !dev.used_wrap;
	}
	return len;
}

static bool split_used(void)
{
	return used.idx != dev.used_seen;
}

/* Submit the chain in segs[] and wait for it to be used; returns the
 * length the device wrote. */
static uint32_t submit(const struct desc *segs, unsigned n)
{
	uint16_t head = 0;
	if (dev.packed)
		return submit_packed(segs, n);
	if (dev.indirect) {
		for (unsigned i = 0; i < n; i++) {
			indirect_table[i] = segs[i];
			indirect_table[i].flags = (uint16_t)(segs[i].flags | (i + 1 < n ? D_NEXT : 0));
			indirect_table[i].next = (uint16_t)(i + 1);
		}
		ring_desc[0] = (struct desc){ (uint64_t)(uintptr_t)indirect_table, n * 16, D_INDIRECT, 0 };
	} else {
		for (unsigned i = 0; i < n; i++) {
			ring_desc[i] = segs[i];
			ring_desc[i].flags = (uint16_t)(segs[i].flags | (i + 1 < n ? D_NEXT : 0));
			ring_desc[i].next = (uint16_t)(i + 1);
		}
	}
	avail.ring[avail.idx % QN] = head;
	avail.used_event = dev.used_seen; /* interrupt for the next entry */
	barrier();
	avail.idx++;
	__asm__ volatile("mfence" ::: "memory");
	mmio_write16(dev.notify, 0);
	wait_used(split_used);
	return used.ring[dev.used_seen++ % QN].len;
}

void test_virtio_rng(const char *arg)
{
	uint8_t first[64];
	dev.msix = !strcmp(arg, "msix");
	dev.irq = !strcmp(arg, "irq") || dev.msix;
	start(0x1044, "virtio-rng");
	for (int round = 0; round < 3; round++) {
		struct desc seg = { (uint64_t)(uintptr_t)buf, 64, D_WRITE, 0 };
		bool zero = true;
		uint32_t len;
		memset(buf, 0, 64);
		len = submit(&seg, 1);
		for (int i = 0; i < 64; i++)
			zero &= buf[i] == 0;
		if (len != 64 || zero)
			fail("virtio-rng: round %d got %u bytes%s", round, len, zero ? ", all zero" : "");
		if (round == 1 && !memcmp(first, buf, 64))
			fail("virtio-rng: the same bytes twice");
		memcpy(first, buf, 64);
	}
	if (dev.irq && dev.interrupts == 0)
		fail("virtio-rng: no interrupt");
	printf("virtio-rng: 3 requests of 64 bytes, %u interrupts\n", dev.interrupts);
	debug_exit(0);
}

static uint8_t blk_request(uint32_t type, uint64_t sector, uint8_t *data, uint32_t len, bool device_writes,
			   uint32_t *written)
{
	struct desc segs[3];
	unsigned n = 0;
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	status = 0xff;
	segs[n++] = (struct desc){ (uint64_t)(uintptr_t)hdr, 16, 0, 0 };
	if (len)
		segs[n++] = (struct desc){ (uint64_t)(uintptr_t)data, len, device_writes ? D_WRITE : 0, 0 };
	segs[n++] = (struct desc){ (uint64_t)(uintptr_t)&status, 1, D_WRITE, 0 };
	*written = submit(segs, n);
	return status;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x01000193u;
	return h;
}

void test_virtio_blk(const char *arg)
{
	static const char pattern[] = "vessel guest wrote this sector";
	uint64_t capacity;
	uint32_t written;
	char id[21] = { 0 };
	dev.packed = !strcmp(arg, "packed");
	dev.msix = !strcmp(arg, "msix") || dev.packed;
	dev.irq = !strcmp(arg, "irq") || dev.msix;
	start(0x1042, "virtio-blk");
	if (!dev.device)
		fail("virtio-blk: no device configuration");
	capacity = mmio_read32(dev.device) | (uint64_t)mmio_read32(dev.device + 4) << 32;
	printf("virtio-blk: capacity %lu sectors\n", capacity);
	if (blk_request(8, 0, buf, 20, true, &written) != 0)
		fail("virtio-blk: GET_ID failed");
	memcpy(id, buf, 20);
	printf("virtio-blk: serial %s\n", id);
	if (blk_request(0, 0, buf, 8 * 512, true, &written) != 0 || written != 8 * 512 + 1)
		fail("virtio-blk: reading sectors 0-7 failed (%u bytes)", written);
	printf("virtio-blk: sectors 0-7 fnv1a 0x%08x\n", fnv1a(buf, 8 * 512));
	if (!strcmp(arg, "ro")) {
		uint32_t before;
		if (!(dev.features & (1u << 5)))
			fail("virtio-blk: read-only disk without VIRTIO_BLK_F_RO");
		if (blk_request(0, 8, buf, 512, true, &written) != 0)
			fail("virtio-blk: reading sector 8 failed");
		before = fnv1a(buf, 512);
		memset(buf, 0xee, 512);
		if (blk_request(1, 8, buf, 512, false, &written) != 1)
			fail("virtio-blk: a write to a read-only disk did not fail with IOERR");
		if (blk_request(0, 8, buf, 512, true, &written) != 0 || fnv1a(buf, 512) != before)
			fail("virtio-blk: sector 8 of a read-only disk changed");
		printf("virtio-blk: read-only, write refused\n");
		debug_exit(0);
	}
	memset(buf, 0, 512);
	memcpy(buf, pattern, sizeof(pattern));
	if (blk_request(1, 8, buf, 512, false, &written) != 0)
		fail("virtio-blk: writing sector 8 failed");
	if (blk_request(4, 0, buf, 0, false, &written) != 0)
		fail("virtio-blk: flush failed");
	memset(buf, 0, 512);
	if (blk_request(0, 8, buf, 512, true, &written) != 0 || memcmp(buf, pattern, sizeof(pattern)))
		fail("virtio-blk: sector 8 did not read back");
	if (blk_request(0, capacity, buf, 512, true, &written) != 1)
		fail("virtio-blk: a read past the end did not fail with IOERR");
	printf("virtio-blk: wrote and flushed sector 8, %u interrupts\n", dev.interrupts);
	if (dev.packed)
		printf("virtio-blk: packed ring, %u requests, used position %u wrap %u\n", dev.requests,
		       dev.used_pos, dev.used_wrap);
	if (dev.irq && dev.interrupts == 0)
		fail("virtio-blk: no interrupt");
	debug_exit(0);
}
