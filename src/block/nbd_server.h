/* An NBD server for one image (`vessel img serve`): the newstyle fixed
 * handshake, NBD_OPT_GO/INFO/LIST/ABORT/EXPORT_NAME, structured replies,
 * the base:allocation meta context, and READ/WRITE/FLUSH/TRIM/
 * WRITE_ZEROES/BLOCK_STATUS/DISC with FUA.
 *
 * Two layers: a connection is a pure state machine that consumes client
 * bytes and produces reply bytes (no sockets, so the fuzzer drives it
 * directly), and the server puts connections on sockets watched by a
 * vs_loop. Commands run synchronously on the loop's thread through the
 * block layer's synchronous API, so all clients see one another's writes
 * in order, which is why the export advertises NBD_FLAG_CAN_MULTI_CONN. */
#ifndef VESSEL_BLOCK_NBD_SERVER_H
#define VESSEL_BLOCK_NBD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"
#include "util/error.h"
#include "util/loop.h"

/* Largest READ/WRITE payload accepted (the protocol's recommended cap). */
#define VS_NBD_MAX_PAYLOAD (32u << 20)

struct vs_nbd_export {
	struct vs_block *bs; /* not owned */
	const char *name;    /* what clients ask for; "" is accepted too */
	const char *description;
	bool read_only;
};

/* ---- One connection: bytes in, bytes out. ---- */
struct vs_nbd_conn;

/* The greeting is queued as output right away. NULL when out of memory. */
struct vs_nbd_conn *vs_nbd_conn_new(const struct vs_nbd_export *exp);
void vs_nbd_conn_free(struct vs_nbd_conn *c);

/* Consume client bytes; returns how many were taken. Fewer than `len`
 * when the reply backlog is full (call again after sending output) or the
 * connection is closing (the rest is to be dropped). */
size_t vs_nbd_conn_input(struct vs_nbd_conn *c, const void *data, size_t len);

/* The queued reply bytes, and how many of them went out. */
const void *vs_nbd_conn_output(const struct vs_nbd_conn *c, size_t *len);
void vs_nbd_conn_sent(struct vs_nbd_conn *c, size_t n);

/* The connection ended (disconnect, abort, protocol violation): send what
 * is queued, then close. vs_nbd_conn_why() says why ("" for a normal end). */
bool vs_nbd_conn_closing(const struct vs_nbd_conn *c);
const char *vs_nbd_conn_why(const struct vs_nbd_conn *c);
/* Whether it takes more input now (not closing, backlog not full). */
bool vs_nbd_conn_wants_input(const struct vs_nbd_conn *c);

/* ---- The server: a listening socket and its connections on a loop. ---- */
struct vs_nbd_server;

/* Listen on a unix socket at `path` (refused when the path exists) or on
 * TCP `addr`:`port` (port 0 picks one; *bound_port says which). The
 * returned fd is the caller's; a unix socket's file too (unlink it). */
int vs_nbd_listen_unix(const char *path, int *fd, struct vs_error *err);
int vs_nbd_listen_tcp(const char *addr, uint16_t port, int *fd, uint16_t *bound_port, struct vs_error *err);

/* Serve `exp` to clients accepted on `listen_fd` (not owned), at most
 * `max_clients` at once (more are refused on accept). */
int vs_nbd_server_new(struct vs_loop *loop, int listen_fd, const struct vs_nbd_export *exp,
		      unsigned max_clients, struct vs_nbd_server **out, struct vs_error *err);
/* Close every connection (flushing the image when writable) and stop
 * accepting. */
void vs_nbd_server_free(struct vs_nbd_server *s);

#endif
