/* The host-only switch's forwarding table: which connection a MAC address
 * was last heard on, so unicast frames go to one port (with back-pressure)
 * instead of being flooded. A small fixed table; when it is full the
 * entries are replaced in turn (a flood then finds the station again). */
#ifndef VESSEL_NET_SWITCH_FDB_H
#define VESSEL_NET_SWITCH_FDB_H

#include <stdbool.h>
#include <stdint.h>

#define VS_FDB_SIZE 64

struct vs_fdb {
	struct {
		uint8_t mac[6];
		void *port; /* NULL: free */
	} e[VS_FDB_SIZE];
	unsigned next; /* the slot a new entry takes when none is free */
};

static inline bool vs_mac_is_unicast(const uint8_t *mac)
{
	return !(mac[0] & 1);
}

/* `mac` was the source of a frame that arrived on `port`. */
void vs_fdb_learn(struct vs_fdb *f, const uint8_t *mac, void *port);
/* The port `mac` was last heard on, or NULL. */
void *vs_fdb_lookup(const struct vs_fdb *f, const uint8_t *mac);
/* `port` is gone: forget what was learned on it. */
void vs_fdb_forget(struct vs_fdb *f, const void *port);

#endif
