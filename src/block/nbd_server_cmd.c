/* The NBD transmission phase: one request at a time, carried out through
 * the block layer's synchronous API, answered with simple replies or, once
 * negotiated, structured ones (holes as NBD_REPLY_TYPE_OFFSET_HOLE, block
 * status for base:allocation, errors with a message). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/nbd_server_int.h"

#define META_ID_BASE_ALLOCATION 1u
/* A BLOCK_STATUS reply lists at most this many extents (the client asks
 * again from where it stopped). */
#define MAX_EXTENTS 8192
#define CHUNK_HEADER_SIZE 20
#define KNOWN_CMD_FLAGS (NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_DF | NBD_CMD_FLAG_REQ_ONE)

uint16_t nbd_tx_flags(const struct vs_nbd_conn *c)
{
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_CAN_MULTI_CONN;
	if (c->structured)
		f |= NBD_FLAG_SEND_DF;
	if (c->exp->read_only)
		f |= NBD_FLAG_READ_ONLY;
	else
		f |= NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
	return f;
}

static uint32_t nbd_errno(int neg_errno)
{
	switch (-neg_errno) {
	case EPERM:
	case EROFS:
		return NBD_EPERM;
	case ENOMEM:
		return NBD_ENOMEM;
	case EINVAL:
		return NBD_EINVAL;
	case ENOSPC:
	case EFBIG:
	case EDQUOT:
		return NBD_ENOSPC;
	case EOVERFLOW:
		return NBD_EOVERFLOW;
	case ENOTSUP:
		return NBD_ENOTSUP;
	default:
		return NBD_EIO;
	}
}

static void simple_reply(struct vs_nbd_conn *c, uint32_t err)
{
	nbd_buf_u32(&c->out, NBD_SIMPLE_REPLY_MAGIC);
	nbd_buf_u32(&c->out, err);
	nbd_buf_u64(&c->out, c->cookie);
}

static void chunk_header(struct vs_nbd_conn *c, uint16_t flags, uint16_t type, uint32_t len)
{
	nbd_buf_u32(&c->out, NBD_STRUCTURED_REPLY_MAGIC);
	nbd_buf_u16(&c->out, flags);
	nbd_buf_u16(&c->out, type);
	nbd_buf_u64(&c->out, c->cookie);
	nbd_buf_u32(&c->out, len);
}

void nbd_reply_error(struct vs_nbd_conn *c, uint32_t nbd_err, const char *msg)
{
	if (!c->structured) {
		simple_reply(c, nbd_err);
		return;
	}
	size_t n = msg ? strlen(msg) : 0;
	n = n < NBD_MAX_STRING ? n : NBD_MAX_STRING;
	chunk_header(c, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, (uint32_t)(6 + n));
	nbd_buf_u32(&c->out, nbd_err);
	nbd_buf_u16(&c->out, (uint16_t)n);
	nbd_buf_put(&c->out, msg, n);
}

/* A failed block-layer call: the driver's reason when it has one. */
static void reply_io_error(struct vs_nbd_conn *c, int r)
{
	struct vs_block *bs = c->exp->bs;
	nbd_reply_error(c, nbd_errno(r), bs->last_error[0] ? bs->last_error : strerror(-r));
}

static void reply_done(struct vs_nbd_conn *c, int r)
{
	if (r < 0)
		reply_io_error(c, r);
	else
		simple_reply(c, 0);
}

static bool in_range(const struct vs_nbd_conn *c)
{
	uint64_t size = c->exp->bs->size;
	return c->offset <= size && c->length <= size - c->offset;
}

/* Flush after a write the client flagged FUA. */
static int fua(struct vs_nbd_conn *c, int r)
{
	if (r == 0 && (c->cmd_flags & NBD_CMD_FLAG_FUA))
		r = vs_block_flush(c->exp->bs);
	return r;
}

/* ---- READ ---- */

/* Append `len` bytes read at `off`; false (nothing appended) on failure,
 * with *r set. */
static bool append_data(struct vs_nbd_conn *c, uint64_t off, uint32_t len, int *r)
{
	uint8_t *p = nbd_buf_reserve(&c->out, len);
	if (!p) {
		*r = -ENOMEM;
		return false;
	}
	*r = vs_block_pread(c->exp->bs, off, p, len);
	if (*r < 0)
		return false;
	c->out.end += len;
	return true;
}

/* Whether reads of the extent at `off` return zeros without data behind
 * them (a hole for OFFSET_HOLE), and over how many bytes that holds. */
static int extent_is_hole(struct vs_nbd_conn *c, uint64_t off, uint64_t len, uint64_t *n, bool *hole)
{
	struct vs_block_status st;
	int r = vs_block_status(c->exp->bs, off, len, n, &st);
	if (r == -ENOTSUP) {
		*n = len;
		*hole = false;
		return 0;
	}
	if (r < 0)
		return r;
	if (*n == 0 || *n > len)
		return -EIO;
	*hole = (st.flags & VS_BLOCK_ZERO) && !(st.flags & VS_BLOCK_DATA);
	return 0;
}

/* Structured READ: a chunk per run of data or holes; the last one DONE. */
static int structured_read(struct vs_nbd_conn *c)
{
	uint64_t pos = c->offset, end = c->offset + c->length;
	size_t last_chunk = SIZE_MAX; /* relative to out.start */
	int r = 0;
	while (pos < end) {
		uint64_t run = 0, n;
		bool hole, next_hole;
		if (c->cmd_flags & NBD_CMD_FLAG_DF) {
			run = end - pos;
			hole = false;
		} else {
			r = extent_is_hole(c, pos, end - pos, &run, &hole);
			/* Extend the run while the kind stays the same. */
			while (r == 0 && pos + run < end) {
				r = extent_is_hole(c, pos + run, end - pos - run, &n, &next_hole);
				if (r < 0 || next_hole != hole)
					break;
				run += n;
			}
			if (r < 0)
				return r;
		}
		last_chunk = nbd_buf_len(&c->out);
		if (hole) {
			chunk_header(c, 0, NBD_REPLY_TYPE_OFFSET_HOLE, 12);
			nbd_buf_u64(&c->out, pos);
			nbd_buf_u32(&c->out, (uint32_t)run);
		} else {
			chunk_header(c, 0, NBD_REPLY_TYPE_OFFSET_DATA, (uint32_t)(8 + run));
			nbd_buf_u64(&c->out, pos);
			if (!append_data(c, pos, (uint32_t)run, &r))
				return r;
		}
		pos += run;
	}
	if (c->out.failed)
		return -ENOMEM;
	nbd_set16(c->out.p + c->out.start + last_chunk + 4, NBD_REPLY_FLAG_DONE);
	return 0;
}

static void cmd_read(struct vs_nbd_conn *c)
{
	size_t mark = nbd_buf_len(&c->out);
	int r;
	if (c->length == 0 || c->length > VS_NBD_MAX_PAYLOAD || !in_range(c)) {
		nbd_reply_error(c, NBD_EINVAL,
				c->length ? "read past the end of the export or over 32 MiB"
					  : "zero-length read");
		return;
	}
	if (c->structured) {
		r = structured_read(c);
	} else {
		simple_reply(c, 0);
		append_data(c, c->offset, c->length, &r);
	}
	if (r < 0 || c->out.failed) {
		/* Take back the partial reply: the client gets only the error. */
		if (!c->out.failed)
			c->out.end = c->out.start + mark;
		reply_io_error(c, r < 0 ? r : -ENOMEM);
	}
}

/* ---- BLOCK_STATUS ---- */

static uint32_t allocation_flags(const struct vs_block_status *st)
{
	return (st->flags & VS_BLOCK_DATA ? 0 : NBD_STATE_HOLE) |
	       (st->flags & VS_BLOCK_ZERO ? NBD_STATE_ZERO : 0);
}

static void cmd_block_status(struct vs_nbd_conn *c)
{
	uint64_t pos = c->offset, end = c->offset + c->length;
	unsigned max = c->cmd_flags & NBD_CMD_FLAG_REQ_ONE ? 1 : MAX_EXTENTS, count = 0;
	uint32_t cur_len = 0, cur_flags = 0;
	size_t mark = nbd_buf_len(&c->out);
	if (!c->structured || !c->meta_allocation) {
		nbd_reply_error(c, NBD_EINVAL, "BLOCK_STATUS needs the base:allocation meta context");
		return;
	}
	if (c->length == 0 || !in_range(c)) {
		nbd_reply_error(c, NBD_EINVAL, "block status past the end of the export or of zero length");
		return;
	}
	chunk_header(c, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, 0);
	nbd_buf_u32(&c->out, META_ID_BASE_ALLOCATION);
	while (pos < end) {
		struct vs_block_status st;
		uint64_t n = 0;
		int r = vs_block_status(c->exp->bs, pos, end - pos, &n, &st);
		if (r == 0 && (n == 0 || n > end - pos))
			r = -EIO;
		if (r < 0) {
			c->out.end = c->out.start + mark;
			reply_io_error(c, r);
			return;
		}
		uint32_t f = allocation_flags(&st);
		if (cur_len && f != cur_flags) {
			nbd_buf_u32(&c->out, cur_len);
			nbd_buf_u32(&c->out, cur_flags);
			cur_len = 0;
			if (++count == max)
				break;
		}
		cur_flags = f;
		cur_len += (uint32_t)n; /* the request's length is 32-bit */
		pos += n;
	}
	if (cur_len && count < max) {
		nbd_buf_u32(&c->out, cur_len);
		nbd_buf_u32(&c->out, cur_flags);
	}
	if (c->out.failed)
		return;
	/* Patch the chunk's length now that the extents are known. */
	size_t len = nbd_buf_len(&c->out) - mark - CHUNK_HEADER_SIZE;
	uint8_t *p = c->out.p + c->out.start + mark + 16;
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

/* ---- Writes ---- */

/* Refuse a WRITE: its payload still follows and is dropped first. */
static void refuse_write(struct vs_nbd_conn *c, uint32_t err, const char *msg)
{
	c->skip = c->length;
	c->skip_error = (int)err;
	c->skip_msg = msg;
	c->st = NBD_ST_WRITE_SKIP;
	if (c->skip == 0) {
		c->st = NBD_ST_REQUEST;
		nbd_reply_error(c, err, msg);
	}
}

static void cmd_write(struct vs_nbd_conn *c)
{
	if (c->length > VS_NBD_MAX_PAYLOAD)
		refuse_write(c, NBD_EOVERFLOW, "write over 32 MiB");
	else if (c->exp->read_only)
		refuse_write(c, NBD_EPERM, "the export is read-only");
	else if (!in_range(c))
		refuse_write(c, NBD_ENOSPC, "write past the end of the export");
	else if (c->length == 0)
		refuse_write(c, NBD_EINVAL, "zero-length write");
	else if (c->cmd_flags & ~KNOWN_CMD_FLAGS)
		refuse_write(c, NBD_EINVAL, "unknown command flags");
	else
		c->st = NBD_ST_WRITE_DATA; /* nbd_handle_write() follows */
}

void nbd_handle_write(struct vs_nbd_conn *c)
{
	reply_done(c, fua(c, vs_block_pwrite(c->exp->bs, c->offset, c->payload, c->length)));
}

static int write_zero_bytes(struct vs_block *bs, uint64_t off, uint64_t len)
{
	size_t chunk = len < (1u << 20) ? (size_t)len : (1u << 20);
	uint8_t *z = calloc(1, chunk);
	int r = 0;
	if (!z)
		return -ENOMEM;
	while (len && r == 0) {
		size_t n = len < chunk ? (size_t)len : chunk;
		r = vs_block_pwrite(bs, off, z, n);
		off += n;
		len -= n;
	}
	free(z);
	return r;
}

/* TRIM and WRITE_ZEROES. */
static void cmd_unmap(struct vs_nbd_conn *c)
{
	struct vs_block *bs = c->exp->bs;
	int r;
	if (c->exp->read_only) {
		nbd_reply_error(c, NBD_EPERM, "the export is read-only");
		return;
	}
	if (!in_range(c)) {
		nbd_reply_error(c, NBD_ENOSPC, "request past the end of the export");
		return;
	}
	if (c->length == 0)
		r = 0;
	else if (c->cmd_type == NBD_CMD_TRIM)
		r = vs_block_discard(bs, c->offset, c->length);
	else if (c->cmd_flags & NBD_CMD_FLAG_NO_HOLE)
		r = write_zero_bytes(bs, c->offset, c->length);
	else
		r = vs_block_write_zeroes(bs, c->offset, c->length);
	/* A discard is advisory: a format that cannot drop data keeps it. */
	if (r == -ENOTSUP && c->cmd_type == NBD_CMD_TRIM)
		r = 0;
	reply_done(c, fua(c, r));
}

void nbd_handle_request(struct vs_nbd_conn *c)
{
	if (c->cmd_type == NBD_CMD_WRITE) {
		cmd_write(c);
		return;
	}
	if (c->cmd_flags & ~KNOWN_CMD_FLAGS) {
		nbd_reply_error(c, NBD_EINVAL, "unknown command flags");
		return;
	}
	switch (c->cmd_type) {
	case NBD_CMD_READ:
		cmd_read(c);
		break;
	case NBD_CMD_DISC:
		/* No reply; what the client wrote is made durable first. */
		vs_block_flush(c->exp->bs);
		nbd_conn_close(c, "");
		break;
	case NBD_CMD_FLUSH:
		reply_done(c, vs_block_flush(c->exp->bs));
		break;
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		cmd_unmap(c);
		break;
	case NBD_CMD_BLOCK_STATUS:
		cmd_block_status(c);
		break;
	default:
		nbd_reply_error(c, NBD_EINVAL, "unsupported command");
		break;
	}
}
