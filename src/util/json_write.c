/* JSON writer: appends to a growable buffer; see json.h. */
#include "util/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool bit_get(const uint8_t *bits, unsigned i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void bit_set(uint8_t *bits, unsigned i, bool on)
{
	if (on)
		bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		bits[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

/* Record the first failure only: it is the one that explains the rest. */
static void w_fail(struct vs_json_writer *w, int code, const char *msg)
{
	if (w->failed)
		return;
	w->failed = true;
	w->code = code;
	w->msg = msg;
}

static bool reserve(struct vs_json_writer *w, size_t n)
{
	size_t cap;
	char *nb;
	if (w->failed)
		return false;
	if (n < w->cap - w->len)
		return true; /* keeps one byte for the terminating NUL */
	if (n > SIZE_MAX / 2 - w->len) {
		w_fail(w, ENOMEM, "document too large");
		return false;
	}
	cap = w->cap ? w->cap : 256;
	while (cap - w->len <= n)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w_fail(w, ENOMEM, "growing the output buffer");
		return false;
	}
	w->buf = nb;
	w->cap = cap;
	return true;
}

static void put(struct vs_json_writer *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void put_c(struct vs_json_writer *w, char c)
{
	put(w, &c, 1);
}

static void newline_indent(struct vs_json_writer *w, unsigned depth)
{
	size_t n;
	if (!w->indent)
		return;
	n = 1 + (size_t)w->indent * depth;
	if (!reserve(w, n))
		return;
	w->buf[w->len] = '\n';
	memset(w->buf + w->len + 1, ' ', n - 1);
	w->len += n;
}

void vs_jw_init(struct vs_json_writer *w, unsigned indent)
{
	memset(w, 0, sizeof(*w));
	w->indent = indent;
}

/* Called before every value: enforces the one-value-per-slot structure and
 * writes the separator. */
static bool begin_value(struct vs_json_writer *w)
{
	if (w->failed)
		return false;
	if (w->depth == 0) {
		if (w->top_done) {
			w_fail(w, EINVAL, "more than one top-level value");
			return false;
		}
		w->top_done = true;
		return true;
	}
	if (bit_get(w->is_object, w->depth)) {
		if (!w->after_key) {
			w_fail(w, EINVAL, "value inside an object without a key");
			return false;
		}
		w->after_key = false;
		return true;
	}
	if (bit_get(w->nonempty, w->depth))
		put_c(w, ',');
	bit_set(w->nonempty, w->depth, true);
	newline_indent(w, w->depth);
	return !w->failed;
}

static void open_container(struct vs_json_writer *w, bool object)
{
	if (!begin_value(w))
		return;
	if (w->depth >= VS_JSON_HARD_MAX_DEPTH) {
		w_fail(w, EINVAL, "nesting too deep");
		return;
	}
	put_c(w, object ? '{' : '[');
	w->depth++;
	bit_set(w->is_object, w->depth, object);
	bit_set(w->nonempty, w->depth, false);
}

static void close_container(struct vs_json_writer *w, bool object)
{
	if (w->failed)
		return;
	if (w->depth == 0 || bit_get(w->is_object, w->depth) != object || w->after_key) {
		w_fail(w, EINVAL, object ? "unbalanced object end" : "unbalanced array end");
		return;
	}
	if (bit_get(w->nonempty, w->depth))
		newline_indent(w, w->depth - 1);
	put_c(w, object ? '}' : ']');
	w->depth--;
}

void vs_jw_object_begin(struct vs_json_writer *w)
{
	open_container(w, true);
}

void vs_jw_object_end(struct vs_json_writer *w)
{
	close_container(w, true);
}

void vs_jw_array_begin(struct vs_json_writer *w)
{
	open_container(w, false);
}

void vs_jw_array_end(struct vs_json_writer *w)
{
	close_container(w, false);
}

static void put_escaped(struct vs_json_writer *w, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	put_c(w, '"');
	while (i < len) {
		unsigned char c = u[i];
		char esc[8];
		const char *rep = NULL;
		size_t rep_len = 2, k = 1;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			k = vs_utf8_seq_len(u + i, len - i);
			if (k) {
				i += k;
				continue;
			}
			k = 1;
			rep = "\xef\xbf\xbd"; /* U+FFFD for a byte that is not UTF-8 */
			rep_len = 3;
		} else {
			switch (c) {
			case '"':
				rep = "\\\"";
				break;
			case '\\':
				rep = "\\\\";
				break;
			case '\b':
				rep = "\\b";
				break;
			case '\f':
				rep = "\\f";
				break;
			case '\n':
				rep = "\\n";
				break;
			case '\r':
				rep = "\\r";
				break;
			case '\t':
				rep = "\\t";
				break;
			default:
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				rep = esc;
				rep_len = 6;
			}
		}
		/* Flush the plain run before the replacement. */
		put(w, s + run, i - run);
		put(w, rep, rep_len);
		i += k;
		run = i;
	}
	put(w, s + run, i - run);
	put_c(w, '"');
}

static void write_key(struct vs_json_writer *w, const char *key, size_t len)
{
	if (w->failed)
		return;
	if (w->depth == 0 || !bit_get(w->is_object, w->depth) || w->after_key) {
		w_fail(w, EINVAL, "key outside an object or twice in a row");
		return;
	}
	if (bit_get(w->nonempty, w->depth))
		put_c(w, ',');
	bit_set(w->nonempty, w->depth, true);
	newline_indent(w, w->depth);
	put_escaped(w, key, len);
	if (w->indent)
		put(w, ": ", 2);
	else
		put_c(w, ':');
	w->after_key = true;
}

void vs_jw_key(struct vs_json_writer *w, const char *key)
{
	write_key(w, key, strlen(key));
}

void vs_jw_string_len(struct vs_json_writer *w, const char *s, size_t len)
{
	if (begin_value(w))
		put_escaped(w, s, len);
}

void vs_jw_string(struct vs_json_writer *w, const char *s)
{
	if (!s)
		vs_jw_null(w);
	else
		vs_jw_string_len(w, s, strlen(s));
}

void vs_jw_int(struct vs_json_writer *w, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);
	if (begin_value(w))
		put(w, b, (size_t)n);
}

void vs_jw_uint(struct vs_json_writer *w, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);
	if (begin_value(w))
		put(w, b, (size_t)n);
}

void vs_jw_double(struct vs_json_writer *w, double v)
{
	char b[32];
	int n = 0;
	if (!isfinite(v)) {
		w_fail(w, EINVAL, "NaN or infinity cannot be written as JSON");
		return;
	}
	/* The shortest of these precisions that reads back exactly. */
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(b, sizeof(b), "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			break;
	}
	if (begin_value(w))
		put(w, b, (size_t)n);
}

void vs_jw_bool(struct vs_json_writer *w, bool v)
{
	if (begin_value(w))
		put(w, v ? "true" : "false", v ? 4 : 5);
}

void vs_jw_null(struct vs_json_writer *w)
{
	if (begin_value(w))
		put(w, "null", 4);
}

void vs_jw_value(struct vs_json_writer *w, const struct vs_json *v)
{
	if (!v) {
		vs_jw_null(w);
		return;
	}
	switch (v->type) {
	case VS_JSON_NULL:
		vs_jw_null(w);
		break;
	case VS_JSON_BOOL:
		vs_jw_bool(w, v->boolean);
		break;
	case VS_JSON_NUMBER:
		if (v->num.flags & VS_JSON_NUM_INT64)
			vs_jw_int(w, v->num.i);
		else if (v->num.flags & VS_JSON_NUM_UINT64)
			vs_jw_uint(w, v->num.u);
		else
			vs_jw_double(w, v->num.d);
		break;
	case VS_JSON_STRING:
		vs_jw_string_len(w, v->str.s, v->str.len);
		break;
	case VS_JSON_ARRAY:
		vs_jw_array_begin(w);
		for (size_t i = 0; i < v->arr.count; i++)
			vs_jw_value(w, &v->arr.items[i]);
		vs_jw_array_end(w);
		break;
	case VS_JSON_OBJECT:
		vs_jw_object_begin(w);
		for (size_t i = 0; i < v->obj.count; i++) {
			const struct vs_json_member *m = &v->obj.members[i];
			write_key(w, m->key, m->key_len); /* keys may hold \u0000 */
			vs_jw_value(w, &m->value);
		}
		vs_jw_object_end(w);
		break;
	}
}

void vs_jw_kv_string(struct vs_json_writer *w, const char *key, const char *s)
{
	vs_jw_key(w, key);
	vs_jw_string(w, s);
}

void vs_jw_kv_int(struct vs_json_writer *w, const char *key, int64_t v)
{
	vs_jw_key(w, key);
	vs_jw_int(w, v);
}

void vs_jw_kv_uint(struct vs_json_writer *w, const char *key, uint64_t v)
{
	vs_jw_key(w, key);
	vs_jw_uint(w, v);
}

void vs_jw_kv_bool(struct vs_json_writer *w, const char *key, bool v)
{
	vs_jw_key(w, key);
	vs_jw_bool(w, v);
}

void vs_jw_release(struct vs_json_writer *w)
{
	unsigned indent = w->indent;
	free(w->buf);
	vs_jw_init(w, indent);
}

int vs_jw_finish(struct vs_json_writer *w, char **out, size_t *out_len, struct vs_error *err)
{
	if (!w->failed && (w->depth != 0 || !w->top_done))
		w_fail(w, EINVAL, "document is incomplete");
	if (!w->failed)
		reserve(w, 0); /* room for the NUL even for tiny documents */
	if (w->failed) {
		int code = w->code;
		const char *msg = w->msg;
		vs_jw_release(w);
		if (code == ENOMEM)
			return vs_error_set(err, ENOMEM, "writing JSON: %s", msg);
		return vs_error_msg(err, "writing JSON: %s", msg);
	}
	w->buf[w->len] = '\0';
	*out = w->buf;
	if (out_len)
		*out_len = w->len;
	w->buf = NULL;
	vs_jw_release(w);
	return 0;
}
