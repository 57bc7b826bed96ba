#include "net/switch_fdb.h"

#include <string.h>

void vs_fdb_learn(struct vs_fdb *f, const uint8_t *mac, void *port)
{
	int free_slot = -1;
	if (!vs_mac_is_unicast(mac))
		return; /* a group address is never a source */
	for (int i = 0; i < VS_FDB_SIZE; i++) {
		if (f->e[i].port && !memcmp(f->e[i].mac, mac, 6)) {
			f->e[i].port = port; /* the station moved, or stayed */
			return;
		}
		if (!f->e[i].port && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0) {
		free_slot = (int)f->next;
		f->next = (f->next + 1) % VS_FDB_SIZE;
	}
	memcpy(f->e[free_slot].mac, mac, 6);
	f->e[free_slot].port = port;
}

void *vs_fdb_lookup(const struct vs_fdb *f, const uint8_t *mac)
{
	for (int i = 0; i < VS_FDB_SIZE; i++)
		if (f->e[i].port && !memcmp(f->e[i].mac, mac, 6))
			return f->e[i].port;
	return NULL;
}

void vs_fdb_forget(struct vs_fdb *f, const void *port)
{
	for (int i = 0; i < VS_FDB_SIZE; i++)
		if (f->e[i].port == port)
			f->e[i].port = NULL;
}
