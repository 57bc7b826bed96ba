/* The PCI host: configuration mechanisms, functions' configuration
 * headers, BAR decoding and INTx. MSI-X is in msix.c, the ACPI
 * description in pci_aml.c. */
#include "devices/pci/pci.h"
#include "devices/pci/pci_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The host bridge's identity: Red Hat's ID for a generic PCIe host bridge,
 * which no guest applies chipset quirks to. */
#define HOST_VENDOR 0x1b36
#define HOST_DEVICE 0x0008
#define HOST_CLASS 0x060000 /* bridge, host */

#define CFG_ADDR_ENABLE 0x80000000u

static uint32_t le_get(const uint8_t *p, uint32_t size)
{
	uint32_t v = 0;
	for (uint32_t i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void le_put(uint8_t *p, uint32_t v, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- BAR windows ---- */

static void window_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct pci_window *w = opaque;
	pthread_rwlock_rdlock(&w->host->win_lock);
	vs_bus_read(&w->bus, w->base + offset, data, size);
	pthread_rwlock_unlock(&w->host->win_lock);
}

static void window_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct pci_window *w = opaque;
	pthread_rwlock_rdlock(&w->host->win_lock);
	vs_bus_write(&w->bus, w->base + offset, data, size);
	pthread_rwlock_unlock(&w->host->win_lock);
}

static const struct vs_bus_ops window_ops = { window_read, window_write };

static struct pci_window *window_for(struct vs_pci_host *h, const struct vs_pci_bar *b, uint64_t addr)
{
	if (b->def.flags & VS_PCI_BAR_IO)
		return &h->win[PCI_WIN_IO];
	for (int i = PCI_WIN_MEM32; i <= PCI_WIN_MEM64; i++) {
		struct pci_window *w = &h->win[i];
		if (w->size && addr >= w->base && addr - w->base < w->size &&
		    b->def.size <= w->size - (addr - w->base))
			return w;
	}
	return NULL;
}

static uint64_t bar_addr_from_cfg(const struct vs_pci_func *f, int i)
{
	const struct vs_pci_bar *b = &f->bars[i];
	uint64_t v = le_get(&f->cfg[VS_PCI_BAR0 + 4 * i], 4);
	if (b->def.flags & VS_PCI_BAR_IO)
		return v & ~3ull;
	v &= ~0xfull;
	if (b->def.flags & VS_PCI_BAR_MEM64)
		v |= (uint64_t)le_get(&f->cfg[VS_PCI_BAR0 + 4 * (i + 1)], 4) << 32;
	return v;
}

/* Whether BAR `i` of `f` should decode now, and where. */
static bool bar_wanted(const struct vs_pci_func *f, int i, uint64_t *addr)
{
	const struct vs_pci_bar *b = &f->bars[i];
	uint16_t cmd = (uint16_t)le_get(&f->cfg[VS_PCI_COMMAND], 2);
	bool io = b->def.flags & VS_PCI_BAR_IO;
	*addr = b->def.size ? bar_addr_from_cfg(f, i) : 0;
	return b->def.size && (cmd & (io ? VS_PCI_CMD_IO : VS_PCI_CMD_MEMORY));
}

/* A mapping change a device hears of once the windows are consistent. */
struct bar_event {
	struct vs_pci_func *f;
	int bar;
	uint64_t addr;
	bool mapped;
};

/* Make the window buses match the function's command register and BARs.
 * A BAR outside every window, or overlapping another, does not decode
 * (what a guest programming nonsense gets) until a later change lets it:
 * after anything was unmapped, every function's waiting BARs are tried
 * again, so a BAR that overlapped another one's old place comes back once
 * that one moved. Called with the config lock held. */
static void pci_update_bars(struct vs_pci_func *f)
{
	struct vs_pci_host *h = f->host;
	struct bar_event events[(VS_PCI_SLOTS + 1) * VS_PCI_NUM_BARS];
	int nevents = 0;
	bool freed = false;
	pthread_rwlock_wrlock(&h->win_lock);
	for (int i = 0; i < VS_PCI_NUM_BARS; i++) {
		struct vs_pci_bar *b = &f->bars[i];
		uint64_t addr;
		bool on = bar_wanted(f, i, &addr);
		struct pci_window *w;
		b->addr = addr;
		if (b->mapped && (!on || b->mapped_addr != addr)) {
			w = window_for(h, b, b->mapped_addr);
			if (w)
				vs_bus_unregister(&w->bus, b->mapped_addr);
			b->mapped = false;
			freed = true;
			events[nevents++] = (struct bar_event){ f, i, b->mapped_addr, false };
		}
	}
	for (int s = 0; s < VS_PCI_SLOTS; s++) {
		struct vs_pci_func *g = h->slots[s] == f || freed ? h->slots[s] : NULL;
		for (int i = 0; g && i < VS_PCI_NUM_BARS; i++) {
			struct vs_pci_bar *b = &g->bars[i];
			uint64_t addr;
			struct pci_window *w;
			struct vs_error err = { 0 };
			if (b->mapped || !bar_wanted(g, i, &addr) || !(w = window_for(h, b, addr)))
				continue;
			if (vs_bus_register(&w->bus, addr, b->def.size, b->def.ops, b->def.opaque,
					    b->def.name, &err) == 0) {
				b->mapped = true;
				b->mapped_addr = addr;
				events[nevents++] = (struct bar_event){ g, i, addr, true };
			}
		}
	}
	pthread_rwlock_unlock(&h->win_lock);
	for (int i = 0; i < nevents; i++) {
		struct vs_pci_func *g = events[i].f;
		if (g->ops && g->ops->bar_mapped)
			g->ops->bar_mapped(g->opaque, events[i].bar, events[i].addr, events[i].mapped);
	}
}

/* ---- INTx ---- */

/* Called with the irq lock held. */
void vs_pci_update_intx_locked(struct vs_pci_func *f)
{
	struct vs_pci_host *h = f->host;
	uint8_t pin = f->cfg[VS_PCI_INTERRUPT_PIN];
	uint16_t cmd = (uint16_t)le_get(&f->cfg[VS_PCI_COMMAND], 2);
	bool want = f->intx_level && pin && !(cmd & VS_PCI_CMD_INTX_DISABLE) && !vs_pci_msix_on_locked(f);
	uint16_t status = (uint16_t)le_get(&f->cfg[VS_PCI_STATUS], 2);
	int line;
	status = f->intx_level ? status | VS_PCI_STATUS_INTX : status & ~VS_PCI_STATUS_INTX;
	le_put(&f->cfg[VS_PCI_STATUS], status, 2);
	if (want == f->intx_asserted || !pin)
		return;
	f->intx_asserted = want;
	line = (f->slot + pin - 1) % VS_PCI_INTX_LINES;
	if (want ? h->intx_count[line]++ == 0 : --h->intx_count[line] == 0)
		vs_irq_set(&h->cfg.intx[line], want);
}

void vs_pci_func_set_intx(struct vs_pci_func *f, bool level)
{
	pthread_mutex_lock(&f->host->irq_lock);
	f->intx_level = level;
	vs_pci_update_intx_locked(f);
	pthread_mutex_unlock(&f->host->irq_lock);
}

/* ---- Configuration space ---- */

static struct vs_pci_func *func_at(struct vs_pci_host *h, uint32_t bus, uint32_t devfn)
{
	/* Only function 0 of each slot exists: a multi-function device would
	 * set bit 7 of its header type. */
	if (bus != 0 || (devfn & 7) != 0)
		return NULL;
	return h->slots[devfn >> 3];
}

void vs_pci_config_read(struct vs_pci_host *h, uint32_t bus, uint32_t devfn, uint32_t off, uint8_t *data,
			uint32_t size)
{
	struct vs_pci_func *f;
	pthread_mutex_lock(&h->lock);
	f = func_at(h, bus, devfn);
	if (!f) {
		memset(data, 0xff, size);
	} else {
		pthread_mutex_lock(&h->irq_lock); /* status and MSI-X control change under it */
		for (uint32_t i = 0; i < size; i++)
			data[i] = off + i < VS_PCI_CFG_SIZE ? f->cfg[off + i] : 0;
		pthread_mutex_unlock(&h->irq_lock);
		if (f->ops && f->ops->config_read)
			f->ops->config_read(f->opaque, off, data, size);
	}
	pthread_mutex_unlock(&h->lock);
}

void vs_pci_config_write(struct vs_pci_host *h, uint32_t bus, uint32_t devfn, uint32_t off,
			 const uint8_t *data, uint32_t size)
{
	struct vs_pci_func *f;
	bool bars = false, cmd = false, msix = false;
	pthread_mutex_lock(&h->lock);
	f = func_at(h, bus, devfn);
	if (!f || off >= VS_PCI_CFG_SIZE) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	if (size > VS_PCI_CFG_SIZE - off)
		size = VS_PCI_CFG_SIZE - off;
	pthread_mutex_lock(&h->irq_lock);
	for (uint32_t i = 0; i < size; i++) {
		uint32_t o = off + i;
		uint8_t m = f->wmask[o];
		f->cfg[o] = (uint8_t)((f->cfg[o] & ~m) | (data[i] & m));
		if (o >= VS_PCI_BAR0 && o < VS_PCI_BAR0 + 4 * VS_PCI_NUM_BARS)
			bars = true;
		else if (o == VS_PCI_COMMAND || o == VS_PCI_COMMAND + 1)
			cmd = true;
		else if (f->msix.cap && o == f->msix.cap + VS_MSIX_CTRL + 1u)
			msix = true;
	}
	if (cmd || msix)
		vs_pci_update_intx_locked(f);
	if (msix)
		vs_pci_msix_flush_locked(f);
	pthread_mutex_unlock(&h->irq_lock);
	if (bars || cmd)
		pci_update_bars(f);
	if (f->ops && f->ops->config_write)
		f->ops->config_write(f->opaque, off, size);
	pthread_mutex_unlock(&h->lock);
}

/* Type 1: CONFIG_ADDRESS is one dword at 0xCF8 (0xCF9 is the reset
 * register, claimed by another device: only dword accesses reach here). */
static void cf8_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_pci_host *h = opaque;
	(void)offset;
	if (size != 4) {
		memset(data, 0xff, size);
		return;
	}
	le_put(data, atomic_load(&h->config_address), 4);
}

static void cf8_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_pci_host *h = opaque;
	(void)offset;
	if (size == 4)
		atomic_store(&h->config_address, le_get(data, 4) & 0x80fffffcu);
}

static void cfc_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_pci_host *h = opaque;
	uint32_t a = atomic_load(&h->config_address);
	if (!(a & CFG_ADDR_ENABLE) || offset + size > 4) {
		memset(data, 0xff, size);
		return;
	}
	vs_pci_config_read(h, (a >> 16) & 0xff, (a >> 8) & 0xff, (a & 0xfc) + (uint32_t)offset, data, size);
}

static void cfc_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_pci_host *h = opaque;
	uint32_t a = atomic_load(&h->config_address);
	if (!(a & CFG_ADDR_ENABLE) || offset + size > 4)
		return;
	vs_pci_config_write(h, (a >> 16) & 0xff, (a >> 8) & 0xff, (a & 0xfc) + (uint32_t)offset, data, size);
}

static const struct vs_bus_ops cf8_ops = { cf8_read, cf8_write };
static const struct vs_bus_ops cfc_ops = { cfc_read, cfc_write };

/* ECAM: bus in bits 27-20, device/function in 19-12, register in 11-0.
 * An access must stay inside one register dword (or qword, split). */
static void ecam_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_pci_host *h = opaque;
	uint32_t reg = offset & 0xfff;
	if (size == 8) {
		ecam_read(opaque, offset, data, 4);
		ecam_read(opaque, offset + 4, data + 4, 4);
		return;
	}
	if ((reg & 3) + size > 4) {
		memset(data, 0xff, size);
		return;
	}
	vs_pci_config_read(h, (uint32_t)(offset >> 20), (offset >> 12) & 0xff, reg, data, size);
}

static void ecam_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_pci_host *h = opaque;
	uint32_t reg = offset & 0xfff;
	if (size == 8) {
		ecam_write(opaque, offset, data, 4);
		ecam_write(opaque, offset + 4, data + 4, 4);
		return;
	}
	if ((reg & 3) + size > 4)
		return;
	vs_pci_config_write(h, (uint32_t)(offset >> 20), (offset >> 12) & 0xff, reg, data, size);
}

static const struct vs_bus_ops ecam_ops = { ecam_read, ecam_write };

/* ---- Functions ---- */

void vs_pci_func_init(struct vs_pci_func *f, struct vs_pci_host *host, uint16_t vendor, uint16_t device,
		      uint32_t class_code, uint8_t revision)
{
	memset(f, 0, sizeof(*f));
	f->host = host;
	le_put(&f->cfg[VS_PCI_VENDOR_ID], vendor, 2);
	le_put(&f->cfg[VS_PCI_DEVICE_ID], device, 2);
	f->cfg[VS_PCI_REVISION] = revision;
	le_put(&f->cfg[VS_PCI_CLASS_PROG], class_code, 3);
	f->cfg[VS_PCI_HEADER_TYPE] = 0;
	f->cfg[VS_PCI_INTERRUPT_PIN] = 1;
	le_put(&f->wmask[VS_PCI_COMMAND],
	       VS_PCI_CMD_IO | VS_PCI_CMD_MEMORY | VS_PCI_CMD_MASTER | VS_PCI_CMD_INTX_DISABLE, 2);
	f->wmask[VS_PCI_INTERRUPT_LINE] = 0xff;
	f->wmask[0x0c] = 0xff; /* cache line size: kept, meaningless here */
	f->next_cap = 0x40;
	f->msix.bar = -1;
}

void vs_pci_func_set_subsystem(struct vs_pci_func *f, uint16_t vendor, uint16_t id)
{
	le_put(&f->cfg[VS_PCI_SUBSYS_VENDOR], vendor, 2);
	le_put(&f->cfg[VS_PCI_SUBSYS_ID], id, 2);
}

void vs_pci_func_set_pin(struct vs_pci_func *f, uint8_t pin)
{
	f->cfg[VS_PCI_INTERRUPT_PIN] = pin;
}

uint8_t vs_pci_func_add_cap(struct vs_pci_func *f, uint8_t id, const void *body, uint8_t len)
{
	uint8_t off = f->next_cap;
	if (len < 2 || off == 0 || (unsigned)off + len > VS_PCI_CFG_SIZE)
		return 0;
	if (body)
		memcpy(&f->cfg[off + 2], (const uint8_t *)body + 2, len - 2u);
	f->cfg[off] = id;
	f->cfg[off + 1] = 0;
	if (f->last_cap_next)
		*f->last_cap_next = off;
	else
		f->cfg[VS_PCI_CAP_PTR] = off;
	f->last_cap_next = &f->cfg[off + 1];
	f->cfg[VS_PCI_STATUS] |= VS_PCI_STATUS_CAP_LIST;
	/* Capabilities start dword-aligned. */
	f->next_cap = (unsigned)off + len + 3 >= VS_PCI_CFG_SIZE ? 0 : (uint8_t)((off + len + 3) & ~3);
	return off;
}

void vs_pci_func_set_bar(struct vs_pci_func *f, int bar, const struct vs_pci_bar_def *def)
{
	struct vs_pci_bar *b = &f->bars[bar];
	uint64_t mask = ~(def->size - 1);
	b->def = *def;
	if (def->flags & VS_PCI_BAR_IO) {
		le_put(&f->cfg[VS_PCI_BAR0 + 4 * bar], VS_PCI_BAR_IO, 4);
		le_put(&f->wmask[VS_PCI_BAR0 + 4 * bar], (uint32_t)mask & 0xfffffffcu, 4);
		return;
	}
	le_put(&f->cfg[VS_PCI_BAR0 + 4 * bar], def->flags & (VS_PCI_BAR_MEM64 | VS_PCI_BAR_PREFETCH), 4);
	le_put(&f->wmask[VS_PCI_BAR0 + 4 * bar], (uint32_t)mask & 0xfffffff0u, 4);
	if (def->flags & VS_PCI_BAR_MEM64)
		le_put(&f->wmask[VS_PCI_BAR0 + 4 * (bar + 1)], (uint32_t)(mask >> 32), 4);
}

static bool bar_def_ok(const struct vs_pci_func *f, int i)
{
	const struct vs_pci_bar_def *d = &f->bars[i].def;
	bool io = d->flags & VS_PCI_BAR_IO;
	if (!d->size)
		return true;
	if ((d->size & (d->size - 1)) || d->size < (io ? 4u : 16u) || (io && d->size > 256) || !d->ops)
		return false;
	return !(d->flags & VS_PCI_BAR_MEM64) || (i + 1 < VS_PCI_NUM_BARS && !f->bars[i + 1].def.size);
}

/* Firmware's job: give each BAR a naturally aligned address in a window
 * (64-bit BARs below 4 GiB while they fit, as firmware does, so guests
 * with 32-bit page tables reach them too). */
static int place_bar(struct vs_pci_host *h, struct vs_pci_func *f, int i, struct vs_error *err)
{
	struct vs_pci_bar *b = &f->bars[i];
	int order[2] = { PCI_WIN_MEM32, PCI_WIN_MEM64 };
	int n = b->def.flags & VS_PCI_BAR_MEM64 ? 2 : 1;
	if (b->def.flags & VS_PCI_BAR_IO) {
		order[0] = PCI_WIN_IO;
		n = 1;
	}
	for (int k = 0; k < n; k++) {
		struct pci_window *w = &h->win[order[k]];
		uint64_t addr = VS_ALIGN_UP(w->next, b->def.size);
		if (!w->size || addr < w->next || addr - w->base > w->size ||
		    b->def.size > w->size - (addr - w->base))
			continue;
		w->next = addr + b->def.size;
		le_put(&f->cfg[VS_PCI_BAR0 + 4 * i], (uint32_t)addr | le_get(&f->cfg[VS_PCI_BAR0 + 4 * i], 4),
		       4);
		if (b->def.flags & VS_PCI_BAR_MEM64)
			le_put(&f->cfg[VS_PCI_BAR0 + 4 * (i + 1)], (uint32_t)(addr >> 32), 4);
		return 0;
	}
	return vs_error_msg(err, "PCI: no room for BAR %d (%llu bytes) of `%s`", i,
			    (unsigned long long)b->def.size, b->def.name ? b->def.name : "?");
}

int vs_pci_host_plug(struct vs_pci_host *h, struct vs_pci_func *f, int slot, struct vs_error *err)
{
	uint16_t cmd = 0;
	if (slot < 0 || slot >= VS_PCI_SLOTS || h->slots[slot])
		return vs_error_msg(err, "PCI: slot %d is taken or invalid", slot);
	for (int i = 0; i < VS_PCI_NUM_BARS; i++) {
		if (!bar_def_ok(f, i))
			return vs_error_msg(err, "internal: PCI BAR %d of slot %d is malformed", i, slot);
		if (!f->bars[i].def.size)
			continue;
		if (place_bar(h, f, i, err) < 0)
			return -1;
		cmd |= f->bars[i].def.flags & VS_PCI_BAR_IO ? VS_PCI_CMD_IO : VS_PCI_CMD_MEMORY;
		if (f->bars[i].def.flags & VS_PCI_BAR_MEM64)
			i++;
	}
	f->slot = (uint8_t)slot;
	/* Routing as the _PRT says, for guests that read it from here. */
	if (f->cfg[VS_PCI_INTERRUPT_PIN])
		f->cfg[VS_PCI_INTERRUPT_LINE] =
		    (uint8_t)h->cfg.intx[(slot + f->cfg[VS_PCI_INTERRUPT_PIN] - 1) % VS_PCI_INTX_LINES].gsi;
	/* Decoding on, as firmware leaves devices it configured. */
	le_put(&f->cfg[VS_PCI_COMMAND], cmd, 2);
	pthread_mutex_lock(&h->lock);
	h->slots[slot] = f;
	pci_update_bars(f);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* ---- Host ---- */

int vs_pci_host_create(const struct vs_pci_host_config *cfg, struct vs_pci_host **out, struct vs_error *err)
{
	struct vs_pci_host *h;
	if (cfg->ecam_buses < 1 || cfg->ecam_buses > 256)
		return vs_error_msg(err, "PCI: %u buses in ECAM is outside 1..256", cfg->ecam_buses);
	if (!cfg->mmio32_size || cfg->mmio32_base + cfg->mmio32_size > (1ull << 32))
		return vs_error_msg(err, "PCI: the 32-bit window must be below 4 GiB");
	h = calloc(1, sizeof(*h));
	if (!h)
		return vs_error_set(err, ENOMEM, "allocating the PCI host");
	h->cfg = *cfg;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->irq_lock, NULL);
	pthread_rwlock_init(&h->win_lock, NULL);
	h->win[PCI_WIN_MEM32] =
	    (struct pci_window){ .host = h, .base = cfg->mmio32_base, .size = cfg->mmio32_size };
	h->win[PCI_WIN_MEM64] =
	    (struct pci_window){ .host = h, .base = cfg->mmio64_base, .size = cfg->mmio64_size };
	h->win[PCI_WIN_IO] = (struct pci_window){ .host = h, .base = cfg->io_base, .size = cfg->io_size };
	vs_bus_init(&h->win[PCI_WIN_MEM32].bus, "PCI 32-bit MMIO window");
	vs_bus_init(&h->win[PCI_WIN_MEM64].bus, "PCI 64-bit MMIO window");
	vs_bus_init(&h->win[PCI_WIN_IO].bus, "PCI I/O window");
	for (int i = 0; i < PCI_NUM_WIN; i++)
		h->win[i].next = h->win[i].base;
	vs_pci_func_init(&h->bridge, h, HOST_VENDOR, HOST_DEVICE, HOST_CLASS, 0);
	vs_pci_func_set_pin(&h->bridge, 0);
	h->slots[0] = &h->bridge;
	*out = h;
	return 0;
}

int vs_pci_host_register(struct vs_pci_host *h, struct vs_bus *pio, struct vs_bus *mmio, struct vs_error *err)
{
	static const char *const names[PCI_NUM_WIN] = { "pci-mmio32", "pci-mmio64", "pci-io" };
	if (vs_bus_register(pio, 0xcf8, 1, &cf8_ops, h, "pci-config-address", err) < 0 ||
	    vs_bus_register(pio, 0xcfc, 4, &cfc_ops, h, "pci-config-data", err) < 0 ||
	    vs_bus_register(mmio, h->cfg.ecam_base, (uint64_t)h->cfg.ecam_buses << 20, &ecam_ops, h,
			    "pci-ecam", err) < 0)
		return -1;
	for (int i = 0; i < PCI_NUM_WIN; i++) {
		struct vs_bus *bus = i == PCI_WIN_IO ? pio : mmio;
		if (h->win[i].size && vs_bus_register(bus, h->win[i].base, h->win[i].size, &window_ops,
						      &h->win[i], names[i], err) < 0)
			return -1;
	}
	return 0;
}

bool vs_pci_host_has_msi(const struct vs_pci_host *h)
{
	return h->cfg.msi.send != NULL;
}

void vs_pci_host_destroy(struct vs_pci_host *h)
{
	if (!h)
		return;
	for (int i = 0; i < PCI_NUM_WIN; i++)
		vs_bus_release(&h->win[i].bus);
	pthread_rwlock_destroy(&h->win_lock);
	pthread_mutex_destroy(&h->irq_lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static void host_destroy(void *opaque)
{
	vs_pci_host_destroy(opaque);
}

static void host_aml(void *opaque, struct vs_aml *a)
{
	vs_pci_host_aml(opaque, a);
}

struct vs_device vs_pci_host_device(struct vs_pci_host *h)
{
	return (
	    struct vs_device){ .name = "pci-host", .opaque = h, .destroy = host_destroy, .aml = host_aml };
}
