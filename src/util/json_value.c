/* Read access to the JSON DOM built by vs_json_parse(). */
#include "util/json.h"

#include <string.h>

const char *vs_json_type_name(enum vs_json_type type)
{
	switch (type) {
	case VS_JSON_NULL:
		return "null";
	case VS_JSON_BOOL:
		return "boolean";
	case VS_JSON_NUMBER:
		return "number";
	case VS_JSON_STRING:
		return "string";
	case VS_JSON_ARRAY:
		return "array";
	case VS_JSON_OBJECT:
		return "object";
	}
	return "?";
}

bool vs_json_is(const struct vs_json *v, enum vs_json_type type)
{
	return v && v->type == type;
}

const struct vs_json *vs_json_get(const struct vs_json *obj, const char *key)
{
	size_t klen;
	if (!vs_json_is(obj, VS_JSON_OBJECT))
		return NULL;
	klen = strlen(key);
	for (size_t i = 0; i < obj->obj.count; i++) {
		const struct vs_json_member *m = &obj->obj.members[i];
		if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
			return &m->value;
	}
	return NULL;
}

const struct vs_json *vs_json_at(const struct vs_json *arr, size_t index)
{
	if (!vs_json_is(arr, VS_JSON_ARRAY) || index >= arr->arr.count)
		return NULL;
	return &arr->arr.items[index];
}

size_t vs_json_count(const struct vs_json *v)
{
	if (vs_json_is(v, VS_JSON_ARRAY))
		return v->arr.count;
	if (vs_json_is(v, VS_JSON_OBJECT))
		return v->obj.count;
	return 0;
}

const char *vs_json_str(const struct vs_json *v)
{
	return vs_json_is(v, VS_JSON_STRING) ? v->str.s : NULL;
}

bool vs_json_get_bool(const struct vs_json *v, bool *out)
{
	if (!vs_json_is(v, VS_JSON_BOOL))
		return false;
	*out = v->boolean;
	return true;
}

bool vs_json_get_int64(const struct vs_json *v, int64_t *out)
{
	if (!vs_json_is(v, VS_JSON_NUMBER) || !(v->num.flags & VS_JSON_NUM_INT64))
		return false;
	*out = v->num.i;
	return true;
}

bool vs_json_get_uint64(const struct vs_json *v, uint64_t *out)
{
	if (!vs_json_is(v, VS_JSON_NUMBER) || !(v->num.flags & VS_JSON_NUM_UINT64))
		return false;
	*out = v->num.u;
	return true;
}

bool vs_json_get_double(const struct vs_json *v, double *out)
{
	if (!vs_json_is(v, VS_JSON_NUMBER))
		return false;
	*out = v->num.d;
	return true;
}

static bool number_equal(const struct vs_json *a, const struct vs_json *b)
{
	unsigned both = a->num.flags & b->num.flags;
	if (both & VS_JSON_NUM_INT64)
		return a->num.i == b->num.i;
	if (both & VS_JSON_NUM_UINT64)
		return a->num.u == b->num.u;
	return a->num.d == b->num.d;
}

bool vs_json_equal(const struct vs_json *a, const struct vs_json *b)
{
	if (!a || !b || a->type != b->type)
		return false;
	switch (a->type) {
	case VS_JSON_NULL:
		return true;
	case VS_JSON_BOOL:
		return a->boolean == b->boolean;
	case VS_JSON_NUMBER:
		return number_equal(a, b);
	case VS_JSON_STRING:
		return a->str.len == b->str.len && memcmp(a->str.s, b->str.s, a->str.len) == 0;
	case VS_JSON_ARRAY:
		if (a->arr.count != b->arr.count)
			return false;
		for (size_t i = 0; i < a->arr.count; i++)
			if (!vs_json_equal(&a->arr.items[i], &b->arr.items[i]))
				return false;
		return true;
	case VS_JSON_OBJECT:
		/* Keys are unique in the DOM, so matching every member of a
		 * in b with equal counts is equality. */
		if (a->obj.count != b->obj.count)
			return false;
		for (size_t i = 0; i < a->obj.count; i++) {
			const struct vs_json_member *m = &a->obj.members[i];
			bool found = false;
			for (size_t j = 0; j < b->obj.count && !found; j++) {
				const struct vs_json_member *o = &b->obj.members[j];
				if (m->key_len == o->key_len && memcmp(m->key, o->key, m->key_len) == 0) {
					if (!vs_json_equal(&m->value, &o->value))
						return false;
					found = true;
				}
			}
			if (!found)
				return false;
		}
		return true;
	}
	return false;
}
