/* JSON (RFC 8259) reader and writer.
 *
 * The reader builds a read-only DOM in one arena owned by a struct
 * vs_json_doc: every value, key and string lives until vs_json_doc_free().
 * Strict by design, because config.json is untrusted input: no comments,
 * no trailing commas, no byte-order mark, no leading zeros, no NaN; strings
 * must be valid UTF-8 without raw control characters; \uXXXX escapes
 * (including surrogate pairs) are decoded to UTF-8 and a lone surrogate is
 * an error. Nesting depth and input size are bounded.
 *
 * Duplicate object keys: the last occurrence wins (as with Go's
 * encoding/json, which produced most config.json files in the wild). The
 * DOM keeps only that last member, at the position where it appeared, so
 * every object in the DOM has unique keys in document order. Setting
 * vs_json_opts.reject_duplicate_keys turns duplicates into an error.
 *
 * Numbers keep their double value; a literal without fraction or exponent
 * ("integral") that fits also has exact int64 and/or uint64 values, which is
 * what the integer accessors return. 1.0 and 1e3 are therefore not integers.
 * A number whose magnitude overflows a double (1e400) is an error.
 *
 * The writer appends to a growable buffer, inserts commas itself, escapes
 * strings, and records the first failure (out of memory, misuse) so callers
 * check once in vs_jw_finish().
 */
#ifndef VESSEL_UTIL_JSON_H
#define VESSEL_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum vs_json_type {
	VS_JSON_NULL,
	VS_JSON_BOOL,
	VS_JSON_NUMBER,
	VS_JSON_STRING,
	VS_JSON_ARRAY,
	VS_JSON_OBJECT,
};

/* Bits of vs_json.num.flags. */
#define VS_JSON_NUM_INT64 0x1u	  /* integral and within int64: num.i is exact */
#define VS_JSON_NUM_UINT64 0x2u	  /* integral, >= 0 and within uint64: num.u is exact */
#define VS_JSON_NUM_INTEGRAL 0x4u /* written without fraction or exponent (possibly out of range) */

struct vs_json_member;

struct vs_json {
	enum vs_json_type type;
	union {
		bool boolean;
		struct {
			const char *s; /* NUL-terminated; may hold \u0000 bytes: see len */
			size_t len;
		} str;
		struct {
			double d;
			int64_t i;
			uint64_t u;
			unsigned flags;
		} num;
		struct {
			const struct vs_json *items;
			size_t count;
		} arr;
		struct {
			const struct vs_json_member *members;
			size_t count;
		} obj;
	};
};

struct vs_json_member {
	const char *key; /* NUL-terminated; see key_len for embedded NULs */
	size_t key_len;
	struct vs_json value;
};

struct vs_json_opts {
	size_t max_depth; /* 0: VS_JSON_DEFAULT_MAX_DEPTH; the limit itself is at most 1024 */
	size_t max_size;  /* bytes of input; 0: VS_JSON_DEFAULT_MAX_SIZE */
	bool reject_duplicate_keys;
};

#define VS_JSON_DEFAULT_MAX_DEPTH 200
#define VS_JSON_HARD_MAX_DEPTH 1024
#define VS_JSON_DEFAULT_MAX_SIZE (64u << 20)

struct vs_json_doc;

/* Parse exactly one JSON text occupying text[0..len) (whitespace around it
 * allowed; it need not be NUL-terminated). On failure the message carries
 * the position: "line 3, column 17: expected ',' or '}'" (columns count
 * bytes from 1). `opts` may be NULL for the defaults. */
int vs_json_parse(const char *text, size_t len, const struct vs_json_opts *opts, struct vs_json_doc **out,
		  struct vs_error *err);
void vs_json_doc_free(struct vs_json_doc *doc);
const struct vs_json *vs_json_root(const struct vs_json_doc *doc);

static inline void vs_json_doc_freep_(struct vs_json_doc **doc)
{
	vs_json_doc_free(*doc);
}
#define vs_auto_json_doc __attribute__((cleanup(vs_json_doc_freep_)))

/* Accessors are NULL-tolerant: a NULL or wrongly typed value reads as
 * absent (NULL, false, 0). */
const char *vs_json_type_name(enum vs_json_type type); /* "null", "boolean", "number", ... */
const struct vs_json *vs_json_get(const struct vs_json *obj, const char *key);
const struct vs_json *vs_json_at(const struct vs_json *arr, size_t index);
size_t vs_json_count(const struct vs_json *v); /* items of an array, members of an object */
bool vs_json_is(const struct vs_json *v, enum vs_json_type type);
const char *vs_json_str(const struct vs_json *v);
bool vs_json_get_bool(const struct vs_json *v, bool *out);
bool vs_json_get_int64(const struct vs_json *v, int64_t *out);
bool vs_json_get_uint64(const struct vs_json *v, uint64_t *out);
bool vs_json_get_double(const struct vs_json *v, double *out);
/* Structural equality; object members compare by key, in any order. */
bool vs_json_equal(const struct vs_json *a, const struct vs_json *b);

/* Length of the valid UTF-8 sequence starting at s (1 to 4 bytes, at most
 * `avail`), or 0 when the bytes there are not valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF are invalid). */
size_t vs_utf8_seq_len(const unsigned char *s, size_t avail);

/* Writer. Zero-initialise or use vs_jw_init(); `indent` is the number of
 * spaces per level, 0 for compact output. */
struct vs_json_writer {
	char *buf;
	size_t len, cap;
	unsigned indent;
	unsigned depth;
	bool after_key; /* a key was written and awaits its value */
	bool top_done;	/* the top-level value has been started */
	bool failed;	/* first failure recorded in code/msg; later calls are no-ops */
	int code;
	const char *msg;
	/* Per open level 1..VS_JSON_HARD_MAX_DEPTH: an item was written /
	 * the level is an object. */
	uint8_t nonempty[VS_JSON_HARD_MAX_DEPTH / 8 + 1];
	uint8_t is_object[VS_JSON_HARD_MAX_DEPTH / 8 + 1];
};

void vs_jw_init(struct vs_json_writer *w, unsigned indent);
void vs_jw_object_begin(struct vs_json_writer *w);
void vs_jw_object_end(struct vs_json_writer *w);
void vs_jw_array_begin(struct vs_json_writer *w);
void vs_jw_array_end(struct vs_json_writer *w);
void vs_jw_key(struct vs_json_writer *w, const char *key);
/* Invalid UTF-8 in C strings (file names, say) is written as U+FFFD so the
 * output is always valid JSON. NULL writes null. */
void vs_jw_string(struct vs_json_writer *w, const char *s);
void vs_jw_string_len(struct vs_json_writer *w, const char *s, size_t len);
void vs_jw_int(struct vs_json_writer *w, int64_t v);
void vs_jw_uint(struct vs_json_writer *w, uint64_t v);
void vs_jw_double(struct vs_json_writer *w, double v); /* NaN/inf are a failure */
void vs_jw_bool(struct vs_json_writer *w, bool v);
void vs_jw_null(struct vs_json_writer *w);
void vs_jw_value(struct vs_json_writer *w, const struct vs_json *v); /* copy a DOM value */
/* "key": value in one call. */
void vs_jw_kv_string(struct vs_json_writer *w, const char *key, const char *s);
void vs_jw_kv_int(struct vs_json_writer *w, const char *key, int64_t v);
void vs_jw_kv_uint(struct vs_json_writer *w, const char *key, uint64_t v);
void vs_jw_kv_bool(struct vs_json_writer *w, const char *key, bool v);

/* Check the document is complete and hand over the NUL-terminated text
 * (caller frees). On failure (out of memory, unbalanced or misplaced
 * calls) returns -1 and releases the buffer. Either way the writer is left
 * empty and may be reused after vs_jw_init(). */
int vs_jw_finish(struct vs_json_writer *w, char **out, size_t *out_len, struct vs_error *err);
/* Drop an unfinished document. */
void vs_jw_release(struct vs_json_writer *w);

#endif
