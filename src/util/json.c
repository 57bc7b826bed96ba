/* JSON reader: a recursive-descent parser into an arena-backed DOM. See
 * json.h for the accepted language and the duplicate-key rule. */
#include "util/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

/* Big enough that a typical config.json fits in one block. */
#define ARENA_CHUNK (64u * 1024u)

/* Objects up to this size are checked for duplicate keys pairwise; larger
 * ones through a hash table, so a hostile input cannot go quadratic. */
#define DUP_PAIRWISE_MAX 16

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	unsigned char *data;
};

struct vs_json_doc {
	struct vs_json root;
	struct arena_block *blocks; /* newest first */
};

/* An object member while its object is still open: where its key began,
 * for error messages, and whether a later duplicate replaces it. */
struct pending_member {
	struct vs_json_member m;
	size_t key_off;
	bool dropped;
};

struct parser {
	const char *text;
	size_t len, pos;
	size_t depth, max_depth;
	bool reject_dups;
	struct vs_json_doc *doc;
	struct vs_error *err;
	/* Scratch stacks shared by all open containers: each container's
	 * children sit on top until it closes and moves them to the arena. */
	struct vs_json *items;
	size_t nitems, items_cap;
	struct pending_member *members;
	size_t nmembers, members_cap;
	size_t *table; /* duplicate detection for large objects */
	size_t table_cap;
};

static void *arena_alloc(struct vs_json_doc *doc, size_t size, size_t align)
{
	struct arena_block *b = doc->blocks;
	if (b) {
		size_t off = VS_ALIGN_UP(b->used, align);
		if (off <= b->cap && size <= b->cap - off) {
			b->used = off + size;
			return b->data + off;
		}
	}
	/* Blocks come from malloc, which aligns for any type, so a fresh
	 * block serves any request from offset 0. */
	size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
	if (cap > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + cap);
	if (!b)
		return NULL;
	b->data = (unsigned char *)(b + 1);
	b->cap = cap;
	b->used = size;
	b->next = doc->blocks;
	doc->blocks = b;
	return b->data;
}

void vs_json_doc_free(struct vs_json_doc *doc)
{
	if (!doc)
		return;
	while (doc->blocks) {
		struct arena_block *next = doc->blocks->next;
		free(doc->blocks);
		doc->blocks = next;
	}
	free(doc);
}

const struct vs_json *vs_json_root(const struct vs_json_doc *doc)
{
	return doc ? &doc->root : NULL;
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *p, size_t off, const char *fmt, ...)
{
	char msg[VS_ERROR_MSG_MAX];
	size_t line = 1, col = 1;
	va_list ap;

	/* Positions are computed only on failure, keeping the hot path free
	 * of line bookkeeping. */
	for (size_t i = 0; i < off && i < p->len; i++) {
		if (p->text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vs_error_msg(p->err, "line %zu, column %zu: %s", line, col, msg);
}
#ifdef __clang_analyzer__
/* The static analyzer does not inline variadic functions: tell it that
 * fail_at() always fails, or it follows "errors" that return 0. */
#define fail_at(...) (fail_at(__VA_ARGS__), -1)
#endif

static int fail_oom(struct parser *p)
{
	return vs_error_set(p->err, ENOMEM, "parsing JSON");
}

/* Grow a scratch array to hold at least `need` elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *n;
	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -1;
		ncap *= 2;
	}
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -1;
	*arr = n;
	*cap = ncap;
	return 0;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->text[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

/* Describe the byte at `off` for "unexpected ..." messages. */
static void describe(const struct parser *p, size_t off, char *buf, size_t size)
{
	unsigned char c;
	if (off >= p->len) {
		snprintf(buf, size, "end of input");
		return;
	}
	c = (unsigned char)p->text[off];
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, size, "character '%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", c);
}

static int fail_expected(struct parser *p, const char *what)
{
	char got[32];
	describe(p, p->pos, got, sizeof(got));
	return fail_at(p, p->pos, "expected %s, found %s", what, got);
}

size_t vs_utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c, lo = 0x80, hi = 0xbf;
	size_t n;

	if (avail == 0)
		return 0;
	c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode the \u escape at text[i] (pointing at the backslash), which ends
 * before `end`; returns the code point, advancing *i past it (and past the
 * low half of a surrogate pair). */
static int parse_u_escape(struct parser *p, size_t *i, size_t end, unsigned *cp)
{
	size_t at = *i;
	unsigned hi, lo;
	if (end - at < 6 || hex4(p->text + at + 2, &hi) < 0)
		return fail_at(p, at, "invalid \\u escape: expected four hex digits");
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail_at(p, at, "invalid \\u escape: lone low surrogate \\u%04X", hi);
	if (hi < 0xd800 || hi > 0xdbff) {
		*i = at + 6;
		*cp = hi;
		return 0;
	}
	if (end - at < 12 || p->text[at + 6] != '\\' || p->text[at + 7] != 'u' ||
	    hex4(p->text + at + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
		return fail_at(
		    p, at, "invalid \\u escape: high surrogate \\u%04X not followed by a low surrogate", hi);
	*i = at + 12;
	*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

/* At an opening quote: decode the string into the arena. */
static int parse_string(struct parser *p, const char **out, size_t *out_len)
{
	size_t start = p->pos + 1, end = start, i, n = 0;
	char *buf;

	/* First pass only finds the closing quote, so the buffer can be
	 * sized once: decoding never makes a string longer. */
	while (end < p->len && p->text[end] != '"')
		end += p->text[end] == '\\' ? 2 : 1;
	if (end >= p->len)
		return fail_at(p, p->pos, "unterminated string");
	buf = arena_alloc(p->doc, end - start + 1, 1);
	if (!buf)
		return fail_oom(p);

	i = start;
	while (i < end) {
		unsigned char c = (unsigned char)p->text[i];
		if (c == '\\') {
			unsigned cp = 0;
			char e = p->text[i + 1];
			switch (e) {
			case '"':
			case '\\':
			case '/':
				buf[n++] = e;
				break;
			case 'b':
				buf[n++] = '\b';
				break;
			case 'f':
				buf[n++] = '\f';
				break;
			case 'n':
				buf[n++] = '\n';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'u':
				if (parse_u_escape(p, &i, end, &cp) < 0)
					return -1;
				n += put_utf8(buf + n, cp);
				continue;
			default: {
				char what[32];
				describe(p, i + 1, what, sizeof(what));
				return fail_at(p, i, "invalid escape in string: backslash followed by %s",
					       what);
			}
			}
			i += 2;
		} else if (c < 0x20) {
			return fail_at(p, i, "control character 0x%02x in string must be escaped", c);
		} else if (c < 0x80) {
			buf[n++] = (char)c;
			i++;
		} else {
			size_t k = vs_utf8_seq_len((const unsigned char *)p->text + i, end - i);
			if (k == 0)
				return fail_at(p, i, "invalid UTF-8 in string (byte 0x%02x)", c);
			memcpy(buf + n, p->text + i, k);
			n += k;
			i += k;
		}
	}
	buf[n] = '\0';
	p->pos = end + 1;
	*out = buf;
	*out_len = n;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, struct vs_json *v)
{
	const char *t = p->text;
	size_t start = p->pos, i = p->pos;
	bool neg = false, integral = true, overflow = false;
	uint64_t mag = 0;

	if (t[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= p->len || !is_digit(t[i]))
		return fail_at(p, start, "invalid number: expected a digit after '-'");
	if (t[i] == '0' && i + 1 < p->len && is_digit(t[i + 1]))
		return fail_at(p, start, "invalid number: leading zeros are not allowed");
	while (i < p->len && is_digit(t[i])) {
		unsigned d = (unsigned)(t[i] - '0');
		if (mag > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			mag = mag * 10 + d;
		i++;
	}
	if (i < p->len && t[i] == '.') {
		integral = false;
		i++;
		if (i >= p->len || !is_digit(t[i]))
			return fail_at(p, i, "invalid number: expected a digit after '.'");
		while (i < p->len && is_digit(t[i]))
			i++;
	}
	if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
		integral = false;
		i++;
		if (i < p->len && (t[i] == '+' || t[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(t[i]))
			return fail_at(p, i, "invalid number: expected a digit in the exponent");
		while (i < p->len && is_digit(t[i]))
			i++;
	}

	v->type = VS_JSON_NUMBER;
	v->num.flags = integral ? VS_JSON_NUM_INTEGRAL : 0;
	v->num.i = 0;
	v->num.u = 0;
	if (integral && !overflow) {
		/* Exact integer: the conversion to double rounds correctly. */
		if (!neg) {
			v->num.u = mag;
			v->num.flags |= VS_JSON_NUM_UINT64;
			if (mag <= (uint64_t)INT64_MAX) {
				v->num.i = (int64_t)mag;
				v->num.flags |= VS_JSON_NUM_INT64;
			}
			v->num.d = (double)mag;
		} else {
			if (mag <= (uint64_t)INT64_MAX + 1) {
				v->num.i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
				v->num.flags |= VS_JSON_NUM_INT64;
			}
			v->num.d = -(double)mag;
		}
	} else {
		/* strtod needs a terminated copy; the grammar above already
		 * guaranteed a well-formed literal. The C locale is assumed:
		 * vessel never calls setlocale(). */
		char small[64];
		size_t n = i - start;
		vs_autofree char *big = NULL;
		char *s = small;
		if (n >= sizeof(small)) {
			big = malloc(n + 1);
			if (!big)
				return fail_oom(p);
			s = big;
		}
		memcpy(s, t + start, n);
		s[n] = '\0';
		v->num.d = strtod(s, NULL);
		if (isinf(v->num.d))
			return fail_at(p, start, "number out of range");
	}
	p->pos = i;
	return 0;
}

static int parse_literal(struct parser *p, struct vs_json *v)
{
	static const struct {
		const char *word;
		size_t len;
		enum vs_json_type type;
		bool value;
	} lits[] = {
		{ "true", 4, VS_JSON_BOOL, true },
		{ "false", 5, VS_JSON_BOOL, false },
		{ "null", 4, VS_JSON_NULL, false },
	};
	for (size_t k = 0; k < VS_ARRAY_SIZE(lits); k++) {
		if (p->len - p->pos >= lits[k].len &&
		    memcmp(p->text + p->pos, lits[k].word, lits[k].len) == 0) {
			v->type = lits[k].type;
			v->boolean = lits[k].value;
			p->pos += lits[k].len;
			return 0;
		}
	}
	return fail_at(p, p->pos, "invalid literal (expected true, false or null)");
}

static int parse_value(struct parser *p, struct vs_json *v);

static int enter(struct parser *p)
{
	if (++p->depth > p->max_depth)
		return fail_at(p, p->pos, "nesting deeper than %zu levels", p->max_depth);
	p->pos++; /* the opening bracket */
	skip_ws(p);
	return 0;
}

static int parse_array(struct parser *p, struct vs_json *v)
{
	size_t base = p->nitems, count;
	struct vs_json *items = NULL;

	if (enter(p) < 0)
		return -1;
	if (p->pos < p->len && p->text[p->pos] == ']') {
		p->pos++;
	} else {
		for (;;) {
			struct vs_json item;
			if (parse_value(p, &item) < 0)
				return -1;
			if (grow((void **)&p->items, &p->items_cap, p->nitems + 1, sizeof(*p->items)) < 0)
				return fail_oom(p);
			p->items[p->nitems++] = item;
			skip_ws(p);
			if (p->pos < p->len && p->text[p->pos] == ',') {
				p->pos++;
				continue;
			}
			if (p->pos < p->len && p->text[p->pos] == ']') {
				p->pos++;
				break;
			}
			return fail_expected(p, "',' or ']'");
		}
	}
	count = p->nitems - base;
	if (count) {
		items = arena_alloc(p->doc, count * sizeof(*items), _Alignof(struct vs_json));
		if (!items)
			return fail_oom(p);
		memcpy(items, p->items + base, count * sizeof(*items));
	}
	p->nitems = base;
	p->depth--;
	v->type = VS_JSON_ARRAY;
	v->arr.items = items;
	v->arr.count = count;
	return 0;
}

static bool same_key(const struct vs_json_member *a, const struct vs_json_member *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

static uint64_t key_hash(const struct vs_json_member *m)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < m->key_len; i++) {
		h ^= (unsigned char)m->key[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A duplicate pair (earlier, later): keep the later member. */
static int on_duplicate(struct parser *p, struct pending_member *earlier, const struct pending_member *later)
{
	if (p->reject_dups)
		return fail_at(p, later->key_off, "duplicate key \"%.64s\"", later->m.key);
	earlier->dropped = true;
	return 0;
}

static int mark_duplicates(struct parser *p, struct pending_member *mem, size_t n)
{
	if (n <= DUP_PAIRWISE_MAX) {
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (!mem[i].dropped && same_key(&mem[i].m, &mem[j].m) &&
				    on_duplicate(p, &mem[i], &mem[j]) < 0)
					return -1;
		return 0;
	}
	/* Open addressing, slots hold index + 1. Walking backwards means the
	 * first occurrence seen of each key is the one that survives. */
	size_t cap = 32;
	while (cap < 2 * n)
		cap *= 2;
	if (grow((void **)&p->table, &p->table_cap, cap, sizeof(*p->table)) < 0)
		return fail_oom(p);
	memset(p->table, 0, cap * sizeof(*p->table));
	for (size_t i = n; i-- > 0;) {
		size_t slot = (size_t)key_hash(&mem[i].m) & (cap - 1);
		while (p->table[slot]) {
			struct pending_member *later = &mem[p->table[slot] - 1];
			if (same_key(&later->m, &mem[i].m)) {
				if (on_duplicate(p, &mem[i], later) < 0)
					return -1;
				break;
			}
			slot = (slot + 1) & (cap - 1);
		}
		if (!p->table[slot])
			p->table[slot] = i + 1;
	}
	return 0;
}

static int parse_object(struct parser *p, struct vs_json *v)
{
	size_t base = p->nmembers, count = 0, k = 0;
	struct vs_json_member *members = NULL;

	if (enter(p) < 0)
		return -1;
	if (p->pos < p->len && p->text[p->pos] == '}') {
		p->pos++;
	} else {
		for (;;) {
			struct pending_member pm = { .key_off = p->pos };
			if (p->pos >= p->len || p->text[p->pos] != '"')
				return fail_expected(p, "a string key");
			if (parse_string(p, &pm.m.key, &pm.m.key_len) < 0)
				return -1;
			skip_ws(p);
			if (p->pos >= p->len || p->text[p->pos] != ':')
				return fail_expected(p, "':' after the object key");
			p->pos++;
			if (parse_value(p, &pm.m.value) < 0)
				return -1;
			if (grow((void **)&p->members, &p->members_cap, p->nmembers + 1,
				 sizeof(*p->members)) < 0)
				return fail_oom(p);
			p->members[p->nmembers++] = pm;
			skip_ws(p);
			if (p->pos < p->len && p->text[p->pos] == ',') {
				p->pos++;
				skip_ws(p);
				continue;
			}
			if (p->pos < p->len && p->text[p->pos] == '}') {
				p->pos++;
				break;
			}
			return fail_expected(p, "',' or '}'");
		}
	}
	if (p->nmembers - base > 1 && mark_duplicates(p, p->members + base, p->nmembers - base) < 0)
		return -1;
	for (size_t i = base; i < p->nmembers; i++)
		count += !p->members[i].dropped;
	if (count) {
		members = arena_alloc(p->doc, count * sizeof(*members), _Alignof(struct vs_json_member));
		if (!members)
			return fail_oom(p);
		for (size_t i = base; i < p->nmembers; i++)
			if (!p->members[i].dropped)
				members[k++] = p->members[i].m;
	}
	p->nmembers = base;
	p->depth--;
	v->type = VS_JSON_OBJECT;
	v->obj.members = members;
	v->obj.count = count;
	return 0;
}

static int parse_value(struct parser *p, struct vs_json *v)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return fail_expected(p, "a value");
	switch (p->text[p->pos]) {
	case '{':
		return parse_object(p, v);
	case '[':
		return parse_array(p, v);
	case '"':
		v->type = VS_JSON_STRING;
		return parse_string(p, &v->str.s, &v->str.len);
	case 't':
	case 'f':
	case 'n':
		return parse_literal(p, v);
	default:
		if (p->text[p->pos] == '-' || is_digit(p->text[p->pos]))
			return parse_number(p, v);
		return fail_expected(p, "a value");
	}
}

int vs_json_parse(const char *text, size_t len, const struct vs_json_opts *opts, struct vs_json_doc **out,
		  struct vs_error *err)
{
	struct parser p = { .text = text, .len = len, .err = err };
	size_t max_size = opts && opts->max_size ? opts->max_size : VS_JSON_DEFAULT_MAX_SIZE;
	int ret = -1;

	*out = NULL;
	p.max_depth = opts && opts->max_depth ? opts->max_depth : VS_JSON_DEFAULT_MAX_DEPTH;
	if (p.max_depth > VS_JSON_HARD_MAX_DEPTH)
		p.max_depth = VS_JSON_HARD_MAX_DEPTH;
	p.reject_dups = opts && opts->reject_duplicate_keys;
	if (len > max_size)
		return vs_error_msg_code(err, EFBIG, "JSON text of %zu bytes exceeds the %zu-byte limit", len,
					 max_size);
	p.doc = calloc(1, sizeof(*p.doc));
	if (!p.doc)
		return vs_error_set(err, ENOMEM, "parsing JSON");

	if (parse_value(&p, &p.doc->root) < 0)
		goto out;
	skip_ws(&p);
	if (p.pos < p.len) {
		fail_expected(&p, "end of input after the JSON value");
		goto out;
	}
	*out = vs_steal_ptr(&p.doc);
	ret = 0;
out:
	vs_json_doc_free(p.doc);
	free(p.items);
	free(p.members);
	free(p.table);
	return ret;
}
