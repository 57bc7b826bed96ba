/* --net for `vessel vm run`:
 *   user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 *   tap=IFNAME | switch=NAME
 * each followed by [,mac=XX:XX:XX:XX:XX:XX][,rx-bps=N][,tx-bps=N]. An empty
 * HOSTADDR means 127.0.0.1 (QEMU listens on every address; vessel keeps a
 * forwarded guest port private to the host unless told otherwise). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "machine/vm.h"
#include "util/parse.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
	    strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1)
		return -1; /* a multicast address cannot be a NIC's */
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT; only 10.0.2.15 or nothing as
 * the guest address (the one slirp's DHCP hands out). */
static int parse_hostfwd(char *s, struct vs_net_hostfwd *f)
{
	char *host, *hport, *gaddr, *gport;
	*f = (struct vs_net_hostfwd){ 0 };
	if (!strncmp(s, "tcp:", 4))
		s += 4;
	else if (!strncmp(s, "udp:", 4)) {
		f->udp = true;
		s += 4;
	} else
		return -1;
	host = s;
	if (!(hport = strchr(host, ':')))
		return -1;
	*hport++ = '\0';
	if (!(gaddr = strchr(hport, '-')))
		return -1;
	*gaddr++ = '\0';
	if (!(gport = strchr(gaddr, ':')))
		return -1;
	*gport++ = '\0';
	if (inet_pton(AF_INET, *host ? host : "127.0.0.1", &f->host_addr) != 1)
		return -1;
	if (*gaddr && strcmp(gaddr, "10.0.2.15") != 0)
		return -1;
	return parse_port(hport, &f->host_port) < 0 || parse_port(gport, &f->guest_port) < 0 ? -1 : 0;
}

static int parse_bps(const char *opt, const char *v, uint64_t *out)
{
	if (vs_parse_size(v, out) < 0 || *out == 0) {
		vs_cli_error("--net %s `%s` is not a rate in bytes per second (e.g. 1000000 or 10M)", opt, v);
		return -1;
	}
	return 0;
}

int vs_cli_parse_net(char *spec, struct vs_net_config *nc)
{
	char *opt = spec, *next;
	*nc = (struct vs_net_config){ 0 };
	next = strchr(opt, ',');
	if (next)
		*next++ = '\0';
	if (!strcmp(opt, "user"))
		nc->kind = VS_NET_USER;
	else if (!strncmp(opt, "tap=", 4) && opt[4]) {
		nc->kind = VS_NET_TAP;
		nc->name = opt + 4;
	} else if (!strncmp(opt, "switch=", 7) && opt[7]) {
		nc->kind = VS_NET_SWITCH;
		nc->name = opt + 7;
	} else {
		vs_cli_error("--net `%s`: start with user, tap=IFNAME or switch=NAME", opt);
		return -1;
	}
	for (opt = next; opt; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		if (!strncmp(opt, "hostfwd=", 8) && nc->kind == VS_NET_USER) {
			if (nc->nfwd == VS_NET_MAX_HOSTFWD) {
				vs_cli_error("--net: at most %d hostfwd rules", VS_NET_MAX_HOSTFWD);
				return -1;
			}
			if (parse_hostfwd(opt + 8, &nc->fwd[nc->nfwd]) < 0) {
				vs_cli_error("--net hostfwd: `%s` is not "
					     "tcp|udp:[HOSTADDR]:HOSTPORT-[10.0.2.15]:GUESTPORT",
					     opt + 8);
				return -1;
			}
			nc->nfwd++;
		} else if (!strncmp(opt, "mac=", 4)) {
			if (parse_mac(opt + 4, nc->mac) < 0) {
				vs_cli_error("--net mac: `%s` is not a unicast MAC (XX:XX:XX:XX:XX:XX)",
					     opt + 4);
				return -1;
			}
			nc->has_mac = true;
		} else if (!strncmp(opt, "rx-bps=", 7)) {
			if (parse_bps("rx-bps", opt + 7, &nc->rx_bps) < 0)
				return -1;
		} else if (!strncmp(opt, "tx-bps=", 7)) {
			if (parse_bps("tx-bps", opt + 7, &nc->tx_bps) < 0)
				return -1;
		} else {
			vs_cli_error("--net: unknown option `%s` (%smac=, rx-bps=, tx-bps=)", opt,
				     nc->kind == VS_NET_USER ? "hostfwd=, " : "");
			return -1;
		}
	}
	return 0;
}
