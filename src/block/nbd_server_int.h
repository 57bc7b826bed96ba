/* Shared between the NBD connection's parts: the handshake and options
 * (nbd_server.c), the transmission phase (nbd_server_cmd.c) and the reply
 * buffer (nbd_server_buf.c). */
#ifndef VESSEL_BLOCK_NBD_SERVER_INT_H
#define VESSEL_BLOCK_NBD_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/nbd_proto.h"
#include "block/nbd_server.h"

/* Queued reply bytes: [start, end) of p. */
struct nbd_buf {
	uint8_t *p;
	size_t start, end, cap;
	bool failed; /* an allocation failed: the connection must end */
};

/* Make room for n more bytes; NULL (and `failed`) when out of memory. */
uint8_t *nbd_buf_reserve(struct nbd_buf *b, size_t n);
void nbd_buf_put(struct nbd_buf *b, const void *data, size_t n);
void nbd_buf_u16(struct nbd_buf *b, uint16_t v);
void nbd_buf_u32(struct nbd_buf *b, uint32_t v);
void nbd_buf_u64(struct nbd_buf *b, uint64_t v);
static inline size_t nbd_buf_len(const struct nbd_buf *b)
{
	return b->end - b->start;
}

uint16_t nbd_get16(const uint8_t *p);
uint32_t nbd_get32(const uint8_t *p);
uint64_t nbd_get64(const uint8_t *p);
void nbd_set16(uint8_t *p, uint16_t v);

enum nbd_state {
	NBD_ST_CLIENT_FLAGS, /* 4 bytes */
	NBD_ST_OPT_HEADER,   /* 16 bytes */
	NBD_ST_OPT_DATA,     /* the option's data into `payload` */
	NBD_ST_OPT_SKIP,     /* an oversized option's data, dropped */
	NBD_ST_REQUEST,	     /* 28 bytes */
	NBD_ST_WRITE_DATA,   /* a WRITE's payload into `payload` */
	NBD_ST_WRITE_SKIP,   /* a refused WRITE's payload, dropped */
	NBD_ST_CLOSED,
};

struct vs_nbd_conn {
	const struct vs_nbd_export *exp;
	enum nbd_state st;
	uint8_t hdr[NBD_REQUEST_SIZE]; /* the largest fixed-size message */
	size_t have;		       /* bytes of hdr or payload received */
	uint8_t *payload;
	size_t payload_len;
	uint64_t skip; /* bytes still to drop */
	/* The option or request being received. */
	uint32_t opt;
	uint16_t cmd_flags, cmd_type;
	uint64_t cookie, offset;
	uint32_t length;
	int skip_error; /* NBD error and message for a dropped WRITE */
	const char *skip_msg;
	/* Negotiated. */
	bool no_zeroes, structured, meta_allocation;
	struct nbd_buf out;
	const char *why;
};

/* Stop reading and close once the queued replies went out. */
void nbd_conn_close(struct vs_nbd_conn *c, const char *why);
/* A complete option (header fields in c, data in payload). */
void nbd_handle_option(struct vs_nbd_conn *c);
/* A complete request header / WRITE payload. */
void nbd_handle_request(struct vs_nbd_conn *c);
void nbd_handle_write(struct vs_nbd_conn *c);
/* Answer a request the server cannot carry out with an error. */
void nbd_reply_error(struct vs_nbd_conn *c, uint32_t nbd_err, const char *msg);
/* Transmission flags for the export. */
uint16_t nbd_tx_flags(const struct vs_nbd_conn *c);

#endif
