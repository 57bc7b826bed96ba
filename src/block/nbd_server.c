/* The NBD connection state machine: framing of client bytes, the newstyle
 * fixed handshake and option haggling. Everything here is untrusted input
 * (tests/fuzz/fuzz_nbd_server.c drives it): lengths are checked before
 * use, option data is capped, and any violation the protocol leaves no way
 * to answer ends the connection rather than guessing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/nbd_server_int.h"

/* No option we understand needs more (names are at most 4 KiB); longer
 * data is dropped and answered with NBD_REP_ERR_TOO_BIG. */
#define OPT_DATA_MAX (64u << 10)
/* Stop taking requests while this much reply data waits to be sent, so a
 * client that pipelines reads without receiving cannot grow it forever. */
#define OUT_BACKLOG_MAX (8u << 20)
#define META_ID_BASE_ALLOCATION 1u

static const char base_allocation[] = "base:allocation";

struct vs_nbd_conn *vs_nbd_conn_new(const struct vs_nbd_export *exp)
{
	struct vs_nbd_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->exp = exp;
	c->why = "";
	nbd_buf_u64(&c->out, NBD_MAGIC);
	nbd_buf_u64(&c->out, NBD_OPTS_MAGIC);
	nbd_buf_u16(&c->out, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if (c->out.failed) {
		vs_nbd_conn_free(c);
		return NULL;
	}
	return c;
}

void vs_nbd_conn_free(struct vs_nbd_conn *c)
{
	if (!c)
		return;
	free(c->out.p);
	free(c->payload);
	free(c);
}

void nbd_conn_close(struct vs_nbd_conn *c, const char *why)
{
	if (c->st != NBD_ST_CLOSED)
		c->why = why;
	c->st = NBD_ST_CLOSED;
}

bool vs_nbd_conn_closing(const struct vs_nbd_conn *c)
{
	return c->st == NBD_ST_CLOSED || c->out.failed;
}

const char *vs_nbd_conn_why(const struct vs_nbd_conn *c)
{
	if (c->out.failed && c->st != NBD_ST_CLOSED)
		return "out of memory for a reply";
	return c->why;
}

bool vs_nbd_conn_wants_input(const struct vs_nbd_conn *c)
{
	return !vs_nbd_conn_closing(c) && nbd_buf_len(&c->out) < OUT_BACKLOG_MAX;
}

const void *vs_nbd_conn_output(const struct vs_nbd_conn *c, size_t *len)
{
	*len = nbd_buf_len(&c->out);
	return c->out.p ? c->out.p + c->out.start : NULL;
}

void vs_nbd_conn_sent(struct vs_nbd_conn *c, size_t n)
{
	if (n > nbd_buf_len(&c->out))
		n = nbd_buf_len(&c->out);
	c->out.start += n;
	if (c->out.start == c->out.end)
		c->out.start = c->out.end = 0;
}

/* ---- Option replies ---- */

static void send_rep(struct vs_nbd_conn *c, uint32_t type, const void *data, size_t len)
{
	nbd_buf_u64(&c->out, NBD_REP_MAGIC);
	nbd_buf_u32(&c->out, c->opt);
	nbd_buf_u32(&c->out, type);
	nbd_buf_u32(&c->out, (uint32_t)len);
	nbd_buf_put(&c->out, data, len);
}

/* An error reply carries a message for the client's user. */
__attribute__((format(printf, 3, 4))) static void send_rep_err(struct vs_nbd_conn *c, uint32_t type,
							       const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	send_rep(c, type, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* A cursor over option data. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static bool rd_bytes(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return false;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
	const uint8_t *p;
	if (!rd_bytes(r, 2, &p))
		return false;
	*v = nbd_get16(p);
	return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
	const uint8_t *p;
	if (!rd_bytes(r, 4, &p))
		return false;
	*v = nbd_get32(p);
	return true;
}

/* A length-prefixed string of at most NBD_MAX_STRING bytes. */
static bool rd_string(struct rd *r, const uint8_t **s, uint32_t *len)
{
	return rd_u32(r, len) && *len <= NBD_MAX_STRING && rd_bytes(r, *len, s);
}

static bool same_string(const uint8_t *s, uint32_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* The empty name is the default export (the protocol allows that). */
static bool is_our_export(const struct vs_nbd_conn *c, const uint8_t *name, uint32_t len)
{
	return len == 0 || same_string(name, len, c->exp->name);
}

static void send_export_info(struct vs_nbd_conn *c)
{
	uint8_t info[12];
	struct nbd_buf b = { .p = info, .cap = sizeof(info) };
	nbd_buf_u16(&b, NBD_INFO_EXPORT);
	nbd_buf_u64(&b, c->exp->bs->size);
	nbd_buf_u16(&b, nbd_tx_flags(c));
	send_rep(c, NBD_REP_INFO, info, sizeof(info));
}

static void send_info_string(struct vs_nbd_conn *c, uint16_t type, const char *s)
{
	size_t n = strlen(s) < NBD_MAX_STRING ? strlen(s) : NBD_MAX_STRING;
	nbd_buf_u64(&c->out, NBD_REP_MAGIC);
	nbd_buf_u32(&c->out, c->opt);
	nbd_buf_u32(&c->out, NBD_REP_INFO);
	nbd_buf_u32(&c->out, (uint32_t)(2 + n));
	nbd_buf_u16(&c->out, type);
	nbd_buf_put(&c->out, s, n);
}

static void send_block_size(struct vs_nbd_conn *c)
{
	uint8_t info[14];
	struct nbd_buf b = { .p = info, .cap = sizeof(info) };
	nbd_buf_u16(&b, NBD_INFO_BLOCK_SIZE);
	nbd_buf_u32(&b, 1);    /* minimum: any byte range works */
	nbd_buf_u32(&b, 4096); /* preferred: avoids read-modify-write */
	nbd_buf_u32(&b, VS_NBD_MAX_PAYLOAD);
	send_rep(c, NBD_REP_INFO, info, sizeof(info));
}

/* NBD_OPT_INFO and NBD_OPT_GO: name, then the information requests. */
static void opt_info(struct vs_nbd_conn *c, bool go)
{
	struct rd r = { c->payload, c->payload_len };
	const uint8_t *name;
	uint32_t name_len;
	uint16_t nreq;
	bool want_name = false, want_desc = false, want_block_size = false;
	if (!rd_string(&r, &name, &name_len) || !rd_u16(&r, &nreq) || r.left != 2u * nreq) {
		send_rep_err(c, NBD_REP_ERR_INVALID, "malformed %s request",
			     go ? "NBD_OPT_GO" : "NBD_OPT_INFO");
		return;
	}
	if (!is_our_export(c, name, name_len)) {
		send_rep_err(c, NBD_REP_ERR_UNKNOWN, "no such export: this server exports `%s`",
			     c->exp->name);
		return;
	}
	for (uint16_t i = 0; i < nreq; i++) {
		uint16_t type = 0;
		rd_u16(&r, &type);
		want_name |= type == NBD_INFO_NAME;
		want_desc |= type == NBD_INFO_DESCRIPTION;
		want_block_size |= type == NBD_INFO_BLOCK_SIZE;
	}
	send_export_info(c);
	if (want_name)
		send_info_string(c, NBD_INFO_NAME, c->exp->name);
	if (want_desc && c->exp->description)
		send_info_string(c, NBD_INFO_DESCRIPTION, c->exp->description);
	if (want_block_size)
		send_block_size(c);
	send_rep(c, NBD_REP_ACK, NULL, 0);
	if (go)
		c->st = NBD_ST_REQUEST;
}

/* NBD_OPT_EXPORT_NAME: the old way into transmission, with no way to
 * refuse but closing. */
static void opt_export_name(struct vs_nbd_conn *c)
{
	if (c->payload_len > NBD_MAX_STRING || !is_our_export(c, c->payload, (uint32_t)c->payload_len)) {
		nbd_conn_close(c, "the client asked for an export this server does not have");
		return;
	}
	nbd_buf_u64(&c->out, c->exp->bs->size);
	nbd_buf_u16(&c->out, nbd_tx_flags(c));
	if (!c->no_zeroes) {
		uint8_t *z = nbd_buf_reserve(&c->out, 124);
		if (z) {
			memset(z, 0, 124);
			c->out.end += 124;
		}
	}
	c->st = NBD_ST_REQUEST;
}

/* Whether a meta context query selects base:allocation ("base:" lists
 * every context of the namespace). */
static bool query_selects(const uint8_t *q, uint32_t len, bool list)
{
	return same_string(q, len, base_allocation) || (list && same_string(q, len, "base:"));
}

/* NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT: export name, then
 * queries. The data is validated whole before anything is answered. */
static void opt_meta_context(struct vs_nbd_conn *c, bool set)
{
	struct rd r = { c->payload, c->payload_len };
	const uint8_t *name, *q;
	uint32_t name_len, nq, qlen;
	bool selected = false;
	if (!c->structured) {
		send_rep_err(c, NBD_REP_ERR_INVALID, "negotiate structured replies before meta contexts");
		return;
	}
	if (!rd_string(&r, &name, &name_len) || !rd_u32(&r, &nq)) {
		send_rep_err(c, NBD_REP_ERR_INVALID, "malformed meta context request");
		return;
	}
	for (uint32_t i = 0; i < nq; i++) {
		if (!rd_string(&r, &q, &qlen)) {
			send_rep_err(c, NBD_REP_ERR_INVALID, "malformed meta context query %u", i);
			return;
		}
		selected |= query_selects(q, qlen, !set);
	}
	if (r.left) {
		send_rep_err(c, NBD_REP_ERR_INVALID, "trailing bytes after the meta context queries");
		return;
	}
	if (!is_our_export(c, name, name_len)) {
		send_rep_err(c, NBD_REP_ERR_UNKNOWN, "no such export: this server exports `%s`",
			     c->exp->name);
		return;
	}
	if (!set && nq == 0)
		selected = true;
	if (selected) {
		uint8_t rep[4 + sizeof(base_allocation) - 1];
		struct nbd_buf b = { .p = rep, .cap = sizeof(rep) };
		nbd_buf_u32(&b, META_ID_BASE_ALLOCATION);
		nbd_buf_put(&b, base_allocation, sizeof(base_allocation) - 1);
		send_rep(c, NBD_REP_META_CONTEXT, rep, sizeof(rep));
	}
	if (set)
		c->meta_allocation = selected;
	send_rep(c, NBD_REP_ACK, NULL, 0);
}

static bool no_data(struct vs_nbd_conn *c, const char *what)
{
	if (c->payload_len == 0)
		return true;
	send_rep_err(c, NBD_REP_ERR_INVALID, "%s takes no data", what);
	return false;
}

void nbd_handle_option(struct vs_nbd_conn *c)
{
	switch (c->opt) {
	case NBD_OPT_EXPORT_NAME:
		opt_export_name(c);
		break;
	case NBD_OPT_ABORT:
		send_rep(c, NBD_REP_ACK, NULL, 0);
		nbd_conn_close(c, "");
		break;
	case NBD_OPT_LIST:
		if (no_data(c, "NBD_OPT_LIST")) {
			size_t n = strlen(c->exp->name);
			nbd_buf_u64(&c->out, NBD_REP_MAGIC);
			nbd_buf_u32(&c->out, c->opt);
			nbd_buf_u32(&c->out, NBD_REP_SERVER);
			nbd_buf_u32(&c->out, (uint32_t)(4 + n));
			nbd_buf_u32(&c->out, (uint32_t)n);
			nbd_buf_put(&c->out, c->exp->name, n);
			send_rep(c, NBD_REP_ACK, NULL, 0);
		}
		break;
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		opt_info(c, c->opt == NBD_OPT_GO);
		break;
	case NBD_OPT_STRUCTURED_REPLY:
		if (!no_data(c, "NBD_OPT_STRUCTURED_REPLY"))
			break;
		if (c->structured) {
			send_rep_err(c, NBD_REP_ERR_INVALID, "structured replies are already on");
			break;
		}
		c->structured = true;
		send_rep(c, NBD_REP_ACK, NULL, 0);
		break;
	case NBD_OPT_LIST_META_CONTEXT:
	case NBD_OPT_SET_META_CONTEXT:
		opt_meta_context(c, c->opt == NBD_OPT_SET_META_CONTEXT);
		break;
	case NBD_OPT_STARTTLS:
		send_rep_err(c, NBD_REP_ERR_UNSUP,
			     "TLS is not supported: use a unix socket or a loopback port");
		break;
	default:
		send_rep_err(c, NBD_REP_ERR_UNSUP, "option %u is not supported", c->opt);
		break;
	}
}

/* ---- Framing ---- */

static size_t header_size(enum nbd_state st)
{
	switch (st) {
	case NBD_ST_CLIENT_FLAGS:
		return 4;
	case NBD_ST_OPT_HEADER:
		return 16;
	default:
		return NBD_REQUEST_SIZE;
	}
}

/* Room for `len` bytes of option data or WRITE payload. */
static bool payload_room(struct vs_nbd_conn *c, size_t len)
{
	uint8_t *p = realloc(c->payload, len ? len : 1);
	if (!p) {
		nbd_conn_close(c, "out of memory for a request");
		return false;
	}
	c->payload = p;
	c->payload_len = len;
	c->have = 0;
	return true;
}

static void option_header(struct vs_nbd_conn *c)
{
	uint32_t len = nbd_get32(c->hdr + 12);
	if (nbd_get64(c->hdr) != NBD_OPTS_MAGIC) {
		nbd_conn_close(c, "the client sent an option without the IHAVEOPT magic");
		return;
	}
	c->opt = nbd_get32(c->hdr + 8);
	if (len > OPT_DATA_MAX) {
		c->skip = len;
		c->st = NBD_ST_OPT_SKIP;
		return;
	}
	if (!payload_room(c, len))
		return;
	c->st = NBD_ST_OPT_DATA;
	if (len == 0) {
		c->st = NBD_ST_OPT_HEADER;
		nbd_handle_option(c);
	}
}

static void request_header(struct vs_nbd_conn *c)
{
	if (nbd_get32(c->hdr) != NBD_REQUEST_MAGIC) {
		nbd_conn_close(c, "the client sent a request without the request magic");
		return;
	}
	c->cmd_flags = nbd_get16(c->hdr + 4);
	c->cmd_type = nbd_get16(c->hdr + 6);
	c->cookie = nbd_get64(c->hdr + 8);
	c->offset = nbd_get64(c->hdr + 16);
	c->length = nbd_get32(c->hdr + 24);
	nbd_handle_request(c);
	if (c->st == NBD_ST_WRITE_DATA && !payload_room(c, c->length))
		return;
}

static void header_done(struct vs_nbd_conn *c)
{
	uint32_t flags;
	c->have = 0;
	switch (c->st) {
	case NBD_ST_CLIENT_FLAGS:
		flags = nbd_get32(c->hdr);
		if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
			nbd_conn_close(c, "the client sent unknown handshake flags");
			return;
		}
		c->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
		c->st = NBD_ST_OPT_HEADER;
		break;
	case NBD_ST_OPT_HEADER:
		option_header(c);
		break;
	default:
		request_header(c);
		break;
	}
}

static void payload_done(struct vs_nbd_conn *c)
{
	c->have = 0;
	if (c->st == NBD_ST_OPT_DATA) {
		c->st = NBD_ST_OPT_HEADER;
		nbd_handle_option(c);
	} else {
		c->st = NBD_ST_REQUEST;
		nbd_handle_write(c);
	}
}

static void skip_done(struct vs_nbd_conn *c)
{
	if (c->st == NBD_ST_WRITE_SKIP) {
		c->st = NBD_ST_REQUEST;
		nbd_reply_error(c, (uint32_t)c->skip_error, c->skip_msg);
	} else if (c->opt == NBD_OPT_EXPORT_NAME) {
		nbd_conn_close(c, "the client asked for an export name longer than 4 KiB");
	} else {
		c->st = NBD_ST_OPT_HEADER;
		send_rep_err(c, NBD_REP_ERR_TOO_BIG, "option data over %u bytes", OPT_DATA_MAX);
	}
}

size_t vs_nbd_conn_input(struct vs_nbd_conn *c, const void *data, size_t len)
{
	const uint8_t *in = data;
	size_t used = 0;
	while (used < len && vs_nbd_conn_wants_input(c)) {
		size_t n = len - used, want;
		switch (c->st) {
		case NBD_ST_OPT_DATA:
		case NBD_ST_WRITE_DATA:
			want = c->payload_len - c->have;
			n = n < want ? n : want;
			memcpy(c->payload + c->have, in + used, n);
			c->have += n;
			used += n;
			if (c->have == c->payload_len)
				payload_done(c);
			break;
		case NBD_ST_OPT_SKIP:
		case NBD_ST_WRITE_SKIP:
			n = n < c->skip ? n : (size_t)c->skip;
			c->skip -= n;
			used += n;
			if (c->skip == 0)
				skip_done(c);
			break;
		case NBD_ST_CLOSED:
			return used;
		default:
			want = header_size(c->st) - c->have;
			n = n < want ? n : want;
			memcpy(c->hdr + c->have, in + used, n);
			c->have += n;
			used += n;
			if (c->have == header_size(c->st))
				header_done(c);
			break;
		}
	}
	return used;
}
