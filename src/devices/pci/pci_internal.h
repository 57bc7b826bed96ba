/* The PCI host's state, shared by pci.c, msix.c and pci_aml.c. */
#ifndef VESSEL_DEVICES_PCI_PCI_INTERNAL_H
#define VESSEL_DEVICES_PCI_PCI_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "devices/pci/pci.h"
#include "util/cleanup.h"

enum { PCI_WIN_MEM32, PCI_WIN_MEM64, PCI_WIN_IO, PCI_NUM_WIN };

/* One window claimed on a board bus; BARs inside it are ranges on `bus`,
 * at absolute addresses. */
struct pci_window {
	struct vs_pci_host *host;
	uint64_t base, size;
	uint64_t next; /* BAR placement: first free address */
	struct vs_bus bus;
};

struct vs_pci_host {
	struct vs_pci_host_config cfg;
	/* Lock order: lock, then win_lock or irq_lock; BAR handlers run with
	 * win_lock shared and may take irq_lock. */
	pthread_mutex_t lock;	   /* configuration space, slots */
	pthread_rwlock_t win_lock; /* the window buses */
	pthread_mutex_t irq_lock;  /* INTx counts, MSI-X tables and pending bits */
	struct pci_window win[PCI_NUM_WIN];
	struct vs_pci_func *slots[VS_PCI_SLOTS];
	struct vs_pci_func bridge; /* 00.0 */
	_Atomic uint32_t config_address;
	unsigned int intx_count[VS_PCI_INTX_LINES];
};

void vs_pci_update_intx_locked(struct vs_pci_func *f);
bool vs_pci_msix_on_locked(const struct vs_pci_func *f);
/* Send what became deliverable after an unmask. */
void vs_pci_msix_flush_locked(struct vs_pci_func *f);

#endif
