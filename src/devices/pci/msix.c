/* MSI-X (PCI Local Bus 3.0 section 6.8.2): a capability whose control word
 * enables the function's messages and masks them all, a table of vectors
 * (address, data, per-vector mask) and a pending-bit array, both in one BAR
 * the function gives over to them: table at offset 0, PBA at PBA_OFF. */
#include "devices/pci/pci.h"
#include "devices/pci/pci_internal.h"

#include <errno.h>
#include <string.h>

#define PBA_OFF 0x800
#define MSIX_BAR_SIZE 0x1000

_Static_assert(VS_MSIX_MAX_VECTORS *VS_MSIX_ENTRY_SIZE <= PBA_OFF, "the table ends before the PBA");
_Static_assert(VS_MSIX_MAX_VECTORS <= 64, "pending bits are one uint64_t");

static uint16_t ctrl(const struct vs_pci_func *f)
{
	return (uint16_t)(f->cfg[f->msix.cap + VS_MSIX_CTRL] | f->cfg[f->msix.cap + VS_MSIX_CTRL + 1] << 8);
}

bool vs_pci_msix_on_locked(const struct vs_pci_func *f)
{
	return f->msix.cap && (ctrl(f) & VS_MSIX_CTRL_ENABLE);
}

bool vs_pci_msix_enabled(struct vs_pci_func *f)
{
	bool on;
	pthread_mutex_lock(&f->host->irq_lock);
	on = vs_pci_msix_on_locked(f);
	pthread_mutex_unlock(&f->host->irq_lock);
	return on;
}

static uint32_t entry_word(const struct vs_pci_func *f, uint16_t vec, int word)
{
	const uint8_t *p = &f->msix.table[vec * VS_MSIX_ENTRY_SIZE + word * 4];
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool vector_masked(const struct vs_pci_func *f, uint16_t vec)
{
	return (ctrl(f) & VS_MSIX_CTRL_MASKALL) || (entry_word(f, vec, 3) & VS_MSIX_ENTRY_CTRL_MASKED);
}

static uint64_t message_addr(const struct vs_pci_func *f, uint16_t vec)
{
	return entry_word(f, vec, 0) | (uint64_t)entry_word(f, vec, 1) << 32;
}

/* Through the sink's route when it has one for this vector's message
 * (programmed on first use and after every change of the message), else
 * as a plain message. */
static void send(struct vs_pci_func *f, uint16_t vec)
{
	const struct vs_msi_sink *sink = &f->host->cfg.msi;
	uint32_t id = (uint32_t)f->slot * VS_MSIX_MAX_VECTORS + vec;
	uint8_t *route = &f->msix.route[vec];
	if (sink->route_set && *route == VS_MSIX_ROUTE_STALE) {
		int rc = sink->route_set(sink->opaque, id, message_addr(f, vec), entry_word(f, vec, 2));
		if (rc == 0)
			*route = VS_MSIX_ROUTE_READY;
		else if (rc != -EAGAIN)
			*route = VS_MSIX_ROUTE_NONE;
	}
	if (*route == VS_MSIX_ROUTE_READY && sink->route_fire(sink->opaque, id) == 0)
		return;
	if (sink->send)
		sink->send(sink->opaque, message_addr(f, vec), entry_word(f, vec, 2));
}

void vs_pci_msix_notify(struct vs_pci_func *f, uint16_t vec)
{
	pthread_mutex_lock(&f->host->irq_lock);
	if (vec < f->msix.nvec && vs_pci_msix_on_locked(f)) {
		if (vector_masked(f, vec))
			f->msix.pending |= 1ull << vec;
		else
			send(f, vec);
	}
	pthread_mutex_unlock(&f->host->irq_lock);
}

void vs_pci_msix_flush_locked(struct vs_pci_func *f)
{
	if (!vs_pci_msix_on_locked(f))
		return;
	for (uint16_t v = 0; v < f->msix.nvec; v++) {
		if ((f->msix.pending & (1ull << v)) && !vector_masked(f, v)) {
			f->msix.pending &= ~(1ull << v);
			send(f, v);
		}
	}
}

/* The table takes dword and qword accesses (aligned); anything else reads
 * as all-ones and is dropped, which the specification leaves undefined. */
static void msix_bar_read(void *opaque, uint64_t off, uint8_t *data, uint32_t size)
{
	struct vs_pci_func *f = opaque;
	memset(data, 0xff, size);
	if ((size != 4 && size != 8) || (off & (size - 1)))
		return;
	pthread_mutex_lock(&f->host->irq_lock);
	if (off + size <= (uint64_t)f->msix.nvec * VS_MSIX_ENTRY_SIZE) {
		memcpy(data, &f->msix.table[off], size);
	} else if (off >= PBA_OFF && off + size <= PBA_OFF + 8) {
		uint64_t p = f->msix.pending;
		memcpy(data, (uint8_t *)&p + (off - PBA_OFF), size);
	} else if (off >= PBA_OFF) {
		memset(data, 0, size);
	}
	pthread_mutex_unlock(&f->host->irq_lock);
}

static void msix_bar_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t size)
{
	struct vs_pci_func *f = opaque;
	if ((size != 4 && size != 8) || (off & (size - 1)))
		return;
	pthread_mutex_lock(&f->host->irq_lock);
	if (off + size <= (uint64_t)f->msix.nvec * VS_MSIX_ENTRY_SIZE) {
		/* A changed address or data needs its route reprogrammed. */
		for (uint64_t b = off; b < off + size; b++)
			if (b % VS_MSIX_ENTRY_SIZE < 12 && f->msix.table[b] != data[b - off])
				f->msix.route[b / VS_MSIX_ENTRY_SIZE] = VS_MSIX_ROUTE_STALE;
		memcpy(&f->msix.table[off], data, size);
		/* Only bit 0 of vector control is defined. */
		for (uint64_t b = off; b < off + size; b++)
			if (b % VS_MSIX_ENTRY_SIZE >= 12)
				f->msix.table[b] &=
				    b % VS_MSIX_ENTRY_SIZE == 12 ? VS_MSIX_ENTRY_CTRL_MASKED : 0;
		vs_pci_msix_flush_locked(f);
	}
	pthread_mutex_unlock(&f->host->irq_lock);
}

static const struct vs_bus_ops msix_bar_ops = { msix_bar_read, msix_bar_write };

int vs_pci_func_add_msix(struct vs_pci_func *f, uint16_t nvec, int bar)
{
	uint8_t cap[VS_MSIX_CAP_LEN] = { 0 };
	struct vs_pci_bar_def def = {
		.size = MSIX_BAR_SIZE, .flags = 0, .ops = &msix_bar_ops, .opaque = f, .name = "msix"
	};
	uint8_t off;
	if (!vs_pci_host_has_msi(f->host) || nvec == 0 || nvec > VS_MSIX_MAX_VECTORS)
		return 0;
	cap[VS_MSIX_CTRL] = (uint8_t)(nvec - 1);
	cap[VS_MSIX_CTRL + 1] = (uint8_t)((nvec - 1) >> 8);
	cap[VS_MSIX_TABLE] = (uint8_t)bar; /* offset 0, BIR in bits 2:0 */
	cap[VS_MSIX_PBA] = (uint8_t)(PBA_OFF | bar);
	cap[VS_MSIX_PBA + 1] = PBA_OFF >> 8;
	off = vs_pci_func_add_cap(f, VS_PCI_CAP_ID_MSIX, cap, sizeof(cap));
	if (!off)
		return -1;
	f->wmask[off + VS_MSIX_CTRL + 1] = (VS_MSIX_CTRL_ENABLE | VS_MSIX_CTRL_MASKALL) >> 8;
	f->msix.cap = off;
	f->msix.nvec = nvec;
	f->msix.bar = bar;
	f->msix.table_off = 0;
	f->msix.pba_off = PBA_OFF;
	/* Every vector starts masked (section 6.8.2.9). */
	for (uint16_t v = 0; v < nvec; v++)
		f->msix.table[v * VS_MSIX_ENTRY_SIZE + 12] = VS_MSIX_ENTRY_CTRL_MASKED;
	vs_pci_func_set_bar(f, bar, &def);
	return 0;
}
