/* `vessel img amend` for qcow2 (qemu-img amend's qcow2 options): the
 * compatibility level (compat=0.10 / 1.1), lazy refcounts, and the key
 * slots of LUKS-encrypted images. */
#ifndef VESSEL_BLOCK_QCOW2_AMEND_H
#define VESSEL_BLOCK_QCOW2_AMEND_H

#include <stdbool.h>
#include <stddef.h>

#include "block/block.h"
#include "block/luks.h"

struct vs_qcow2_amend {
	int compat;	    /* 0: unchanged; 2 ("0.10") or 3 ("1.1") */
	int lazy_refcounts; /* -1: unchanged; 0 off; 1 on */
	struct vs_luks_amend luks;
	/* The image's passphrase (encrypt.state=active unlocks the master
	 * key with it). */
	const void *key;
	size_t key_len;
};

/* Amend an image opened read-write. Everything that can be refused is
 * checked before the first write; the changes are then made in an order
 * that leaves a usable image after a crash at any point:
 * - upgrade: the header rewritten in one write, then a sync;
 * - lazy_refcounts=off: refcounts written back and synced, the dirty bit
 *   cleared and synced, then the compatible bit;
 * - downgrade: clean as above, zero clusters expanded (data, sync, then
 *   the L2 entry), everything synced, then the v2 header;
 * - key slots: see vs_luks_add_key() / vs_luks_erase_keys(). */
int vs_qcow2_amend(struct vs_block *bs, const struct vs_qcow2_amend *a, struct vs_error *err);

#endif
