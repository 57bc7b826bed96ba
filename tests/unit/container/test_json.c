/* JSON reader and writer: RFC 8259 conformance, the strictness config.json
 * parsing relies on, error positions, limits, and writer round trips. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/json.h"

/* Parse a NUL-terminated text; NULL on failure with err filled. */
static struct vs_json_doc *parse(const char *text, struct vs_error *err)
{
	struct vs_json_doc *doc = NULL;
	vs_error_clear(err);
	if (vs_json_parse(text, strlen(text), NULL, &doc, err) < 0)
		return NULL;
	return doc;
}

/* True when `text` is rejected with a message containing `want`. */
static bool rejects(const char *text, const char *want)
{
	struct vs_error err;
	struct vs_json_doc *doc = parse(text, &err);
	if (doc) {
		printf("#   accepted: %s\n", text);
		vs_json_doc_free(doc);
		return false;
	}
	if (!strstr(err.msg, want)) {
		printf("#   `%s`: message `%s` lacks `%s`\n", text, err.msg, want);
		return false;
	}
	return true;
}

TEST(parses_all_types_in_order)
{
	struct vs_error err;
	vs_auto_json_doc struct vs_json_doc *doc =
	    parse(" {\"s\": \"x\", \"n\": -12, \"d\": 2.5, \"t\": true, \"f\": false, \"z\": null,"
		  " \"a\": [1, \"two\", []], \"o\": {}}\n",
		  &err);
	const struct vs_json *root = vs_json_root(doc);
	int64_t i = 0;
	double d = 0;
	bool b = false;

	CHECK(doc != NULL);
	if (!doc)
		return;
	CHECK(vs_json_is(root, VS_JSON_OBJECT));
	CHECK_EQ_U64(vs_json_count(root), 8);
	CHECK_STREQ(root->obj.members[0].key, "s");
	CHECK_STREQ(root->obj.members[7].key, "o");
	CHECK_STREQ(vs_json_str(vs_json_get(root, "s")), "x");
	CHECK(vs_json_get_int64(vs_json_get(root, "n"), &i) && i == -12);
	CHECK(vs_json_get_double(vs_json_get(root, "d"), &d) && d == 2.5);
	CHECK(!vs_json_get_int64(vs_json_get(root, "d"), &i));
	CHECK(vs_json_get_bool(vs_json_get(root, "t"), &b) && b);
	CHECK(vs_json_get_bool(vs_json_get(root, "f"), &b) && !b);
	CHECK(vs_json_is(vs_json_get(root, "z"), VS_JSON_NULL));
	CHECK_EQ_U64(vs_json_count(vs_json_get(root, "a")), 3);
	CHECK_STREQ(vs_json_str(vs_json_at(vs_json_get(root, "a"), 1)), "two");
	CHECK(vs_json_is(vs_json_at(vs_json_get(root, "a"), 2), VS_JSON_ARRAY));
	CHECK(vs_json_at(vs_json_get(root, "a"), 3) == NULL);
	CHECK(vs_json_is(vs_json_get(root, "o"), VS_JSON_OBJECT));
	CHECK(vs_json_get(root, "missing") == NULL);
	/* Accessors read wrong types and NULL as absent. */
	CHECK(vs_json_get(NULL, "s") == NULL);
	CHECK(vs_json_get(vs_json_get(root, "a"), "s") == NULL);
	CHECK(vs_json_str(vs_json_get(root, "n")) == NULL);
	CHECK(!vs_json_get_bool(vs_json_get(root, "s"), &b));
	CHECK_STREQ(vs_json_type_name(VS_JSON_OBJECT), "object");
}

TEST(scalar_top_level_values)
{
	struct vs_error err;
	struct vs_json_doc *doc = parse("\"just a string\"", &err);
	CHECK(doc && strcmp(vs_json_str(vs_json_root(doc)), "just a string") == 0);
	vs_json_doc_free(doc);
	doc = parse(" 42 ", &err);
	CHECK(doc && vs_json_root(doc)->num.i == 42);
	vs_json_doc_free(doc);
	doc = parse("null", &err);
	CHECK(doc && vs_json_is(vs_json_root(doc), VS_JSON_NULL));
	vs_json_doc_free(doc);
}

TEST(string_escapes_decode)
{
	struct vs_error err;
	vs_auto_json_doc struct vs_json_doc *doc =
	    parse("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\", \"a\\u0000b\","
		  " \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\", \"\"]",
		  &err);
	const struct vs_json *a = vs_json_root(doc);
	CHECK(doc != NULL);
	if (!doc) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK_STREQ(vs_json_str(vs_json_at(a, 0)), "\"\\/\b\f\n\r\t");
	CHECK_STREQ(vs_json_str(vs_json_at(a, 1)), "\xc3\xa9\xe2\x82\xac");
	/* U+1F600 from a surrogate pair is one 4-byte UTF-8 sequence. */
	CHECK_STREQ(vs_json_str(vs_json_at(a, 2)), "\xf0\x9f\x98\x80");
	CHECK_EQ_U64(vs_json_at(a, 2)->str.len, 4);
	/* \u0000 survives, visible through len. */
	CHECK_EQ_U64(vs_json_at(a, 3)->str.len, 3);
	CHECK(memcmp(vs_json_at(a, 3)->str.s, "a\0b", 4) == 0);
	CHECK_STREQ(vs_json_str(vs_json_at(a, 4)), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	CHECK_STREQ(vs_json_str(vs_json_at(a, 5)), "");
}

TEST(bad_strings_rejected)
{
	CHECK(rejects("\"\\ud83d\"", "high surrogate"));
	CHECK(rejects("\"\\ud83dx\"", "high surrogate"));
	CHECK(rejects("\"\\ud83d\\u0041\"", "high surrogate"));
	CHECK(rejects("\"\\ude00\"", "lone low surrogate"));
	CHECK(rejects("\"\\x\"", "invalid escape"));
	CHECK(rejects("\"\\u12\"", "four hex digits"));
	CHECK(rejects("\"\\u12G4\"", "four hex digits"));
	CHECK(rejects("\"a\x01z\"", "control character 0x01"));
	CHECK(rejects("\"line\nbreak\"", "control character 0x0a"));
	CHECK(rejects("\"tab\there\"", "control character 0x09"));
	CHECK(rejects("\"\xff\"", "invalid UTF-8"));
	CHECK(rejects("\"\xc0\x80\"", "invalid UTF-8"));	 /* overlong NUL */
	CHECK(rejects("\"\xe0\x80\x80\"", "invalid UTF-8"));	 /* overlong */
	CHECK(rejects("\"\xed\xa0\x80\"", "invalid UTF-8"));	 /* encoded surrogate */
	CHECK(rejects("\"\xf4\x90\x80\x80\"", "invalid UTF-8")); /* above U+10FFFF */
	CHECK(rejects("\"\xe2\x82\"", "invalid UTF-8"));	 /* truncated */
	CHECK(rejects("\"\x80\"", "invalid UTF-8"));		 /* stray continuation */
	CHECK(rejects("\"never closed", "unterminated string"));
	CHECK(rejects("\"ends in backslash\\", "unterminated string"));
	CHECK(rejects("{\"k\xff\": 1}", "invalid UTF-8"));
}

TEST(numbers_integer_and_double)
{
	struct vs_error err;
	vs_auto_json_doc struct vs_json_doc *doc =
	    parse("[0, -0, 123, -9223372036854775808, 9223372036854775807, 9223372036854775808,"
		  " 18446744073709551615, 18446744073709551616, 1.5, 1e3, -1, 1E-2, 1e-400, -12.5e+1]",
		  &err);
	const struct vs_json *a = vs_json_root(doc);
	int64_t i = 7;
	uint64_t u = 7;
	double d = 0;

	CHECK(doc != NULL);
	if (!doc) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(vs_json_get_int64(vs_json_at(a, 0), &i) && i == 0);
	CHECK(vs_json_get_uint64(vs_json_at(a, 0), &u) && u == 0);
	CHECK(vs_json_get_int64(vs_json_at(a, 1), &i) && i == 0);
	CHECK(vs_json_get_int64(vs_json_at(a, 2), &i) && i == 123);
	CHECK(vs_json_get_int64(vs_json_at(a, 3), &i) && i == INT64_MIN);
	CHECK(!vs_json_get_uint64(vs_json_at(a, 3), &u));
	CHECK(vs_json_get_int64(vs_json_at(a, 4), &i) && i == INT64_MAX);
	CHECK(vs_json_get_uint64(vs_json_at(a, 4), &u) && u == (uint64_t)INT64_MAX);
	/* 2^63 fits uint64 only. */
	CHECK(!vs_json_get_int64(vs_json_at(a, 5), &i));
	CHECK(vs_json_get_uint64(vs_json_at(a, 5), &u) && u == 9223372036854775808ull);
	CHECK(vs_json_get_uint64(vs_json_at(a, 6), &u) && u == UINT64_MAX);
	/* One past: still a valid number, as a double, but not an integer. */
	CHECK(!vs_json_get_uint64(vs_json_at(a, 7), &u) && !vs_json_get_int64(vs_json_at(a, 7), &i));
	CHECK(vs_json_get_double(vs_json_at(a, 7), &d) && d == 18446744073709551616.0);
	CHECK(vs_json_at(a, 7)->num.flags & VS_JSON_NUM_INTEGRAL);
	CHECK(vs_json_get_double(vs_json_at(a, 8), &d) && d == 1.5);
	CHECK(!vs_json_get_int64(vs_json_at(a, 8), &i));
	/* An exponent makes it a non-integer even when the value is whole. */
	CHECK(vs_json_get_double(vs_json_at(a, 9), &d) && d == 1000.0);
	CHECK(!vs_json_get_int64(vs_json_at(a, 9), &i));
	CHECK(!(vs_json_at(a, 9)->num.flags & VS_JSON_NUM_INTEGRAL));
	CHECK(vs_json_get_int64(vs_json_at(a, 10), &i) && i == -1);
	CHECK(!vs_json_get_uint64(vs_json_at(a, 10), &u));
	CHECK(vs_json_get_double(vs_json_at(a, 11), &d) && d == 0.01);
	CHECK(vs_json_get_double(vs_json_at(a, 12), &d) && d == 0.0);
	CHECK(vs_json_get_double(vs_json_at(a, 13), &d) && d == -125.0);
}

TEST(bad_numbers_rejected)
{
	CHECK(rejects("1e400", "number out of range"));
	CHECK(rejects("[-1e400]", "number out of range"));
	CHECK(rejects("01", "leading zeros"));
	CHECK(rejects("-01", "leading zeros"));
	CHECK(rejects("-", "expected a digit after '-'"));
	CHECK(rejects("1.", "expected a digit after '.'"));
	CHECK(rejects("1.e5", "expected a digit after '.'"));
	CHECK(rejects("1e", "exponent"));
	CHECK(rejects("1e+", "exponent"));
	CHECK(rejects(".5", "expected a value"));
	CHECK(rejects("+1", "expected a value"));
	CHECK(rejects("0x10", "expected end of input"));
	CHECK(rejects("NaN", "expected a value"));
	CHECK(rejects("Infinity", "expected a value"));
	CHECK(rejects("-Infinity", "expected a digit"));
}

TEST(structure_errors_have_positions)
{
	CHECK(rejects("{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3, column 7: expected ':' after the object key"));
	CHECK(rejects("{\"a\": 1 \"b\": 2}", "line 1, column 9: expected ',' or '}', found character '\"'"));
	CHECK(rejects("[1 2]", "line 1, column 4: expected ',' or ']'"));
	CHECK(rejects("{} x", "line 1, column 4: expected end of input after the JSON value"));
	CHECK(rejects("[1]]", "line 1, column 4: expected end of input"));
	CHECK(rejects("[1,]", "line 1, column 4: expected a value, found character ']'"));
	CHECK(rejects("{\"a\":1,}", "line 1, column 8: expected a string key"));
	CHECK(rejects("{1:2}", "expected a string key"));
	CHECK(rejects("", "line 1, column 1: expected a value, found end of input"));
	CHECK(rejects(" \n\t ", "line 2, column 3: expected a value"));
	CHECK(rejects("[1,\n2,\n", "line 3, column 1: expected a value, found end of input"));
	CHECK(rejects("{\"a\"", "expected ':'"));
	CHECK(rejects("tru", "invalid literal"));
	CHECK(rejects("nul", "invalid literal"));
	CHECK(rejects("[truex]", "expected ',' or ']'"));
	CHECK(rejects("\xef\xbb\xbf{}", "byte 0xef")); /* no BOM */
	CHECK(rejects("// c\n{}", "character '/'"));
	CHECK(rejects("{'a': 1}", "expected a string key"));
}

TEST(embedded_nul_in_input_rejected)
{
	static const char text[] = "[1,\0 2]";
	struct vs_json_doc *doc = NULL;
	struct vs_error err = { 0 };
	CHECK(vs_json_parse(text, sizeof(text) - 1, NULL, &doc, &err) == -1);
	CHECK(doc == NULL);
	CHECK(strstr(err.msg, "byte 0x00") != NULL);
	/* The length bounds parsing: a prefix of a valid text is not read past. */
	CHECK(vs_json_parse("[1, 2]", 4, NULL, &doc, &err) == -1);
	CHECK(strstr(err.msg, "end of input") != NULL);
}

static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 1);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

TEST(depth_limit)
{
	struct vs_error err;
	struct vs_json_doc *doc = NULL;
	char *ok = nested(200), *deep = nested(201), *huge = nested(100000);
	struct vs_json_opts opts = { .max_depth = 3 };

	doc = parse(ok, &err);
	CHECK(doc != NULL);
	vs_json_doc_free(doc);
	CHECK(rejects(deep, "line 1, column 201: nesting deeper than 200 levels"));
	/* Refused at the limit, not by exhausting the stack. */
	CHECK(rejects(huge, "nesting deeper than 200 levels"));
	CHECK(vs_json_parse("[[[1]]]", 7, &opts, &doc, &err) == 0);
	vs_json_doc_free(doc);
	CHECK(vs_json_parse("[[[{}]]]", 8, &opts, &doc, &err) == -1);
	CHECK(strstr(err.msg, "deeper than 3") != NULL);
	free(ok);
	free(deep);
	free(huge);
}

/* The writer nests as deep as the parser's hard limit, and no deeper. */
TEST(writer_depth_matches_parser_limit)
{
	struct vs_json_opts opts = { .max_depth = 5000 };
	struct vs_json_doc *doc = NULL;
	struct vs_json_writer w;
	struct vs_error err;
	char *text = nested(VS_JSON_HARD_MAX_DEPTH), *out = NULL;
	size_t len = 0;

	CHECK(vs_json_parse(text, strlen(text), &opts, &doc, &err) == 0);
	vs_jw_init(&w, 0);
	vs_jw_value(&w, vs_json_root(doc));
	CHECK(vs_jw_finish(&w, &out, &len, &err) == 0);
	CHECK(out && strcmp(out, text) == 0);
	free(out);
	vs_json_doc_free(doc);
	free(text);

	text = nested(VS_JSON_HARD_MAX_DEPTH + 1);
	CHECK(vs_json_parse(text, strlen(text), &opts, &doc, &err) == -1);
	CHECK(strstr(err.msg, "nesting deeper than 1024 levels") != NULL);
	free(text);
	vs_jw_init(&w, 0);
	for (int i = 0; i <= VS_JSON_HARD_MAX_DEPTH; i++)
		vs_jw_array_begin(&w);
	CHECK(vs_jw_finish(&w, &out, &len, &err) == -1);
	CHECK(strstr(err.msg, "nesting too deep") != NULL);
}

TEST(size_limit)
{
	struct vs_json_opts opts = { .max_size = 10 };
	struct vs_json_doc *doc = NULL;
	struct vs_error err = { 0 };
	CHECK(vs_json_parse("[1,2,3,45]", 10, &opts, &doc, &err) == 0);
	vs_json_doc_free(doc);
	CHECK(vs_json_parse("[1,2,3,456]", 11, &opts, &doc, &err) == -1);
	CHECK(doc == NULL);
	CHECK(strstr(err.msg, "11 bytes exceeds the 10-byte limit") != NULL);
}

TEST(duplicate_keys_last_wins)
{
	struct vs_error err;
	vs_auto_json_doc struct vs_json_doc *doc = parse("{\"a\": 1, \"b\": 2, \"a\": 3}", &err);
	const struct vs_json *o = vs_json_root(doc);
	int64_t i = 0;
	CHECK(doc != NULL);
	CHECK_EQ_U64(vs_json_count(o), 2);
	CHECK(vs_json_get_int64(vs_json_get(o, "a"), &i) && i == 3);
	/* The survivor keeps its own position: after "b". */
	CHECK(o && o->obj.count == 2 && strcmp(o->obj.members[0].key, "b") == 0 &&
	      strcmp(o->obj.members[1].key, "a") == 0);
}

TEST(duplicate_keys_in_large_objects)
{
	/* Past the pairwise threshold the hash table does the work. */
	char text[4096];
	size_t n = 0;
	struct vs_error err;
	int64_t i = 0;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "{");
	for (int k = 0; k < 40; k++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "\"k%d\": %d, ", k, k);
	snprintf(text + n, sizeof(text) - n, "\"k5\": 99, \"k39\": 100, \"k5\": 101}");
	vs_auto_json_doc struct vs_json_doc *doc = parse(text, &err);
	const struct vs_json *o = vs_json_root(doc);
	CHECK(doc != NULL);
	CHECK_EQ_U64(vs_json_count(o), 40);
	CHECK(vs_json_get_int64(vs_json_get(o, "k5"), &i) && i == 101);
	CHECK(vs_json_get_int64(vs_json_get(o, "k39"), &i) && i == 100);
	CHECK(vs_json_get_int64(vs_json_get(o, "k6"), &i) && i == 6);
	CHECK(o && strcmp(o->obj.members[0].key, "k0") == 0 && strcmp(o->obj.members[39].key, "k5") == 0);
}

TEST(duplicate_keys_rejected_on_request)
{
	const char *text = "{\"a\": 1,\n \"a\": 2}";
	struct vs_json_opts opts = { .reject_duplicate_keys = true };
	struct vs_json_doc *doc = NULL;
	struct vs_error err = { 0 };
	CHECK(vs_json_parse(text, strlen(text), &opts, &doc, &err) == -1);
	CHECK(strstr(err.msg, "line 2, column 2: duplicate key \"a\"") != NULL);
	/* Nested objects are independent scopes. */
	text = "{\"a\": {\"a\": 1}, \"b\": {\"a\": 2}}";
	CHECK(vs_json_parse(text, strlen(text), &opts, &doc, &err) == 0);
	vs_json_doc_free(doc);
}

/* Finish a writer into a string (NULL on failure). */
static char *finish(struct vs_json_writer *w, struct vs_error *err)
{
	char *out = NULL;
	size_t len = 0;
	if (vs_jw_finish(w, &out, &len, err) < 0)
		return NULL;
	if (strlen(out) != len) {
		free(out);
		return NULL;
	}
	return out;
}

TEST(writer_compact)
{
	struct vs_json_writer w;
	struct vs_error err;
	char *out;

	vs_jw_init(&w, 0);
	vs_jw_object_begin(&w);
	vs_jw_kv_string(&w, "id", "c1");
	vs_jw_kv_int(&w, "pid", -5);
	vs_jw_kv_uint(&w, "big", UINT64_MAX);
	vs_jw_kv_bool(&w, "ok", true);
	vs_jw_key(&w, "none");
	vs_jw_null(&w);
	vs_jw_key(&w, "list");
	vs_jw_array_begin(&w);
	vs_jw_int(&w, 1);
	vs_jw_double(&w, 0.1);
	vs_jw_double(&w, -2.5e300);
	vs_jw_string(&w, NULL);
	vs_jw_array_begin(&w);
	vs_jw_array_end(&w);
	vs_jw_object_begin(&w);
	vs_jw_object_end(&w);
	vs_jw_array_end(&w);
	vs_jw_object_end(&w);
	out = finish(&w, &err);
	CHECK(out != NULL);
	CHECK(out &&
	      strcmp(out, "{\"id\":\"c1\",\"pid\":-5,\"big\":18446744073709551615,\"ok\":true,\"none\":null,"
			  "\"list\":[1,0.1,-2.5e+300,null,[],{}]}") == 0);
	free(out);
}

TEST(writer_pretty)
{
	struct vs_json_writer w;
	struct vs_error err;
	char *out;

	vs_jw_init(&w, 2);
	vs_jw_object_begin(&w);
	vs_jw_kv_string(&w, "status", "running");
	vs_jw_key(&w, "a");
	vs_jw_array_begin(&w);
	vs_jw_int(&w, 1);
	vs_jw_int(&w, 2);
	vs_jw_array_end(&w);
	vs_jw_key(&w, "e");
	vs_jw_object_begin(&w);
	vs_jw_object_end(&w);
	vs_jw_object_end(&w);
	out = finish(&w, &err);
	CHECK(out &&
	      strcmp(out, "{\n  \"status\": \"running\",\n  \"a\": [\n    1,\n    2\n  ],\n  \"e\": {}\n}") ==
		  0);
	free(out);
}

TEST(writer_escapes_strings)
{
	struct vs_json_writer w;
	struct vs_error err;
	char *out;

	vs_jw_init(&w, 0);
	vs_jw_array_begin(&w);
	vs_jw_string(&w, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f");
	vs_jw_string_len(&w, "a\0b", 3);
	vs_jw_string(&w, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	/* Not UTF-8: each bad byte becomes U+FFFD. */
	vs_jw_string(&w, "x\xff\xc3y\xe2\x82");
	vs_jw_array_end(&w);
	out = finish(&w, &err);
	CHECK(out && strcmp(out, "[\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\",\"a\\u0000b\","
				 "\"caf\xc3\xa9 \xf0\x9f\x98\x80\","
				 "\"x\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd\"]") == 0);
	free(out);
}

/* Every misuse is caught at finish, and the buffer is released. */
TEST(writer_rejects_misuse)
{
	struct vs_json_writer w;
	struct vs_error err;

	vs_jw_init(&w, 0);
	vs_jw_int(&w, 1);
	vs_jw_int(&w, 2);
	CHECK(finish(&w, &err) == NULL && strstr(err.msg, "more than one top-level value"));
	CHECK(w.buf == NULL);

	vs_jw_init(&w, 0);
	vs_jw_object_begin(&w);
	vs_jw_int(&w, 1);
	vs_jw_object_end(&w);
	CHECK(finish(&w, &err) == NULL && strstr(err.msg, "without a key"));

	vs_jw_init(&w, 0);
	vs_jw_array_begin(&w);
	vs_jw_key(&w, "k");
	vs_jw_array_end(&w);
	CHECK(finish(&w, &err) == NULL && strstr(err.msg, "key outside an object"));

	vs_jw_init(&w, 0);
	vs_jw_array_begin(&w);
	vs_jw_object_end(&w);
	CHECK(finish(&w, &err) == NULL && strstr(err.msg, "unbalanced"));

	vs_jw_init(&w, 0);
	vs_jw_object_begin(&w);
	vs_jw_key(&w, "k");
	vs_jw_object_end(&w);
	CHECK(finish(&w, &err) == NULL && strstr(err.msg, "unbalanced"));

	vs_jw_init(&w, 0);
	vs_jw_array_begin(&w);
	CHECK(finish(&w, &err) == NULL && strstr(err.msg, "incomplete"));

	vs_jw_init(&w, 0);
	CHECK(finish(&w, &err) == NULL && strstr(err.msg, "incomplete"));

	vs_jw_init(&w, 0);
	vs_jw_double(&w, NAN);
	CHECK(finish(&w, &err) == NULL && strstr(err.msg, "NaN"));

	vs_jw_init(&w, 0);
	vs_jw_array_begin(&w);
	vs_jw_string(&w, "abandoned");
	vs_jw_release(&w);
	CHECK(w.buf == NULL && w.len == 0);
}

TEST(writer_round_trips_through_parser)
{
	const char *text =
	    "{\"ociVersion\": \"1.1.0\", \"n\": [0, -1, 9223372036854775807, -9223372036854775808,"
	    " 18446744073709551615, 0.5, -1.25e-7, 6.02214076e23], \"s\": \"tab\\t nl\\n \\u0001 \\\"q\\\" "
	    "\\u00e9 \\ud83d\\ude00 \\u0000 end\", \"nested\": {\"a\": [[], {}, [null, true, false]],"
	    " \"\\u0000key\": {\"deep\": [[[\"x\"]]]}}, \"empty\": \"\"}";
	struct vs_error err;
	vs_auto_json_doc struct vs_json_doc *a = parse(text, &err);
	vs_auto_json_doc struct vs_json_doc *b = NULL;
	vs_auto_json_doc struct vs_json_doc *c = NULL;
	struct vs_json_writer w;
	char *out;

	CHECK(a != NULL);
	if (!a)
		return;
	for (unsigned indent = 0; indent <= 4; indent += 4) {
		vs_jw_init(&w, indent);
		vs_jw_value(&w, vs_json_root(a));
		out = finish(&w, &err);
		CHECK(out != NULL);
		if (!out)
			return;
		vs_json_doc_free(b);
		b = parse(out, &err);
		CHECK(b != NULL);
		CHECK(vs_json_equal(vs_json_root(a), vs_json_root(b)));
		free(out);
	}
	/* And equality is not vacuous: one changed leaf breaks it. */
	c = parse("{\"ociVersion\": \"1.1.0\", \"n\": [0, -1, 9223372036854775807, -9223372036854775808,"
		  " 18446744073709551614, 0.5, -1.25e-7, 6.02214076e23]}",
		  &err);
	CHECK(c && !vs_json_equal(vs_json_get(vs_json_root(a), "n"), vs_json_get(vs_json_root(c), "n")));
	CHECK(vs_json_equal(vs_json_get(vs_json_root(a), "ociVersion"),
			    vs_json_get(vs_json_root(c), "ociVersion")));
	CHECK(!vs_json_equal(vs_json_root(a), vs_json_root(c)));
}

TEST(writer_grows_large_documents)
{
	struct vs_json_writer w;
	struct vs_error err;
	char *out;
	char key[16];
	int64_t v = 0;

	vs_jw_init(&w, 0);
	vs_jw_object_begin(&w);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		vs_jw_kv_int(&w, key, i);
	}
	vs_jw_object_end(&w);
	out = finish(&w, &err);
	CHECK(out != NULL);
	if (!out)
		return;
	vs_auto_json_doc struct vs_json_doc *doc = parse(out, &err);
	CHECK(vs_json_count(vs_json_root(doc)) == 5000);
	CHECK(vs_json_get_int64(vs_json_get(vs_json_root(doc), "k4999"), &v) && v == 4999);
	free(out);
}

TEST(utf8_sequence_lengths)
{
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"a", 1), 1);
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"\xef\xbf\xbd", 3), 3);
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"\xf5\x80\x80\x80", 4), 0);
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"\xc1\xbf", 2), 0);
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"\xe2\x28\xa1", 3), 0);
	CHECK_EQ_U64(vs_utf8_seq_len((const unsigned char *)"", 0), 0);
}

VS_TAP_MAIN(TAP_CASE(parses_all_types_in_order), TAP_CASE(scalar_top_level_values),
	    TAP_CASE(string_escapes_decode), TAP_CASE(bad_strings_rejected),
	    TAP_CASE(numbers_integer_and_double), TAP_CASE(bad_numbers_rejected),
	    TAP_CASE(structure_errors_have_positions), TAP_CASE(embedded_nul_in_input_rejected),
	    TAP_CASE(depth_limit), TAP_CASE(writer_depth_matches_parser_limit), TAP_CASE(size_limit),
	    TAP_CASE(duplicate_keys_last_wins), TAP_CASE(duplicate_keys_in_large_objects),
	    TAP_CASE(duplicate_keys_rejected_on_request), TAP_CASE(writer_compact), TAP_CASE(writer_pretty),
	    TAP_CASE(writer_escapes_strings), TAP_CASE(writer_rejects_misuse),
	    TAP_CASE(writer_round_trips_through_parser), TAP_CASE(writer_grows_large_documents),
	    TAP_CASE(utf8_sequence_lengths))
