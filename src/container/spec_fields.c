/* Typed field readers for the config.json parser; see spec_internal.h. */
#include "container/spec_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

/* Append to the path, truncating quietly: the path only decorates
 * messages, and a hostile key must not grow it without bound. */
__attribute__((format(printf, 2, 3))) static size_t push_fmt(struct vs_spec_ctx *c, const char *fmt, ...)
{
	size_t mark = c->len;
	size_t room = sizeof(c->path) - c->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len += (size_t)n < room ? (size_t)n : room - 1;
	return mark;
}

size_t vs_sp_push(struct vs_spec_ctx *c, const char *key)
{
	return c->len ? push_fmt(c, ".%.64s", key) : push_fmt(c, "%.64s", key);
}

size_t vs_sp_push_index(struct vs_spec_ctx *c, size_t index)
{
	return push_fmt(c, "[%zu]", index);
}

size_t vs_sp_push_map_key(struct vs_spec_ctx *c, const char *key)
{
	return push_fmt(c, "[\"%.64s\"]", key);
}

void vs_sp_pop(struct vs_spec_ctx *c, size_t mark)
{
	c->len = mark;
	c->path[mark] = '\0';
}

int vs_sp_fail(struct vs_spec_ctx *c, const char *fmt, ...)
{
	char msg[VS_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->len == 0)
		return vs_error_msg(c->err, "%s", msg);
	return vs_error_msg(c->err, "%s: %s", c->path, msg);
}
#ifdef __clang_analyzer__
/* The static analyzer does not inline variadic functions: tell it that
 * vs_sp_fail() always fails, or it follows "errors" that return 0. */
#define vs_sp_fail(...) (vs_sp_fail(__VA_ARGS__), -1)
#endif

int vs_sp_fail_oom(struct vs_spec_ctx *c)
{
	return vs_error_set(c->err, ENOMEM, "%s", c->len ? c->path : "config");
}

static int fail_type(struct vs_spec_ctx *c, const struct vs_json *v, const char *want)
{
	return vs_sp_fail(c, "expected %s, got %s", want, vs_json_type_name(v->type));
}

const struct vs_json *vs_sp_member(const struct vs_json *obj, const char *key)
{
	const struct vs_json *v = vs_json_get(obj, key);
	return v && v->type != VS_JSON_NULL ? v : NULL;
}

int vs_sp_val_object(struct vs_spec_ctx *c, const struct vs_json *v)
{
	return v->type == VS_JSON_OBJECT ? 0 : fail_type(c, v, "an object");
}

int vs_sp_val_string(struct vs_spec_ctx *c, const struct vs_json *v, char **out)
{
	char *s;
	if (v->type != VS_JSON_STRING)
		return fail_type(c, v, "a string");
	if (memchr(v->str.s, '\0', v->str.len))
		return vs_sp_fail(c, "string contains a NUL character");
	s = malloc(v->str.len + 1);
	if (!s)
		return vs_sp_fail_oom(c);
	memcpy(s, v->str.s, v->str.len + 1);
	*out = s;
	return 0;
}

static int fail_number(struct vs_spec_ctx *c, const struct vs_json *v, const char *range)
{
	if (v->type != VS_JSON_NUMBER)
		return fail_type(c, v, "an integer");
	if (!(v->num.flags & VS_JSON_NUM_INTEGRAL))
		return vs_sp_fail(c, "expected an integer, got %g", v->num.d);
	return vs_sp_fail(c, "value %.0f out of range (%s)", v->num.d, range);
}

int vs_sp_val_u64(struct vs_spec_ctx *c, const struct vs_json *v, uint64_t max, uint64_t *out)
{
	char range[64];
	uint64_t u;
	if (vs_json_get_uint64(v, &u) && u <= max) {
		*out = u;
		return 0;
	}
	snprintf(range, sizeof(range), "0 to %" PRIu64, max);
	if (vs_json_is(v, VS_JSON_NUMBER) && (v->num.flags & VS_JSON_NUM_UINT64))
		return vs_sp_fail(c, "value %" PRIu64 " out of range (%s)", v->num.u, range);
	if (vs_json_is(v, VS_JSON_NUMBER) && (v->num.flags & VS_JSON_NUM_INT64))
		return vs_sp_fail(c, "value %" PRId64 " out of range (%s)", v->num.i, range);
	return fail_number(c, v, range);
}

int vs_sp_val_i64(struct vs_spec_ctx *c, const struct vs_json *v, int64_t min, int64_t max, int64_t *out)
{
	char range[64];
	int64_t i;
	if (vs_json_get_int64(v, &i) && i >= min && i <= max) {
		*out = i;
		return 0;
	}
	snprintf(range, sizeof(range), "%" PRId64 " to %" PRId64, min, max);
	if (vs_json_is(v, VS_JSON_NUMBER) && (v->num.flags & VS_JSON_NUM_INT64))
		return vs_sp_fail(c, "value %" PRId64 " out of range (%s)", v->num.i, range);
	if (vs_json_is(v, VS_JSON_NUMBER) && (v->num.flags & VS_JSON_NUM_UINT64))
		return vs_sp_fail(c, "value %" PRIu64 " out of range (%s)", v->num.u, range);
	return fail_number(c, v, range);
}

/* Shared shape of the member readers: look up, name the member in the
 * path while reading it, then restore the path. */
static const struct vs_json *enter(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key,
				   bool required, size_t *mark, int *ret)
{
	const struct vs_json *v = vs_sp_member(obj, key);
	*mark = vs_sp_push(c, key);
	*ret = 0;
	if (!v && required)
		*ret = vs_sp_fail(c, "required field is missing");
	if (!v)
		vs_sp_pop(c, *mark);
	return v;
}

int vs_sp_object(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key,
		 const struct vs_json **out)
{
	size_t mark;
	int ret;
	const struct vs_json *v = enter(c, obj, key, false, &mark, &ret);
	*out = NULL;
	if (!v)
		return ret;
	ret = vs_sp_val_object(c, v);
	vs_sp_pop(c, mark);
	if (ret == 0)
		*out = v;
	return ret;
}

int vs_sp_array(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, const struct vs_json **out)
{
	size_t mark;
	int ret;
	const struct vs_json *v = enter(c, obj, key, false, &mark, &ret);
	*out = NULL;
	if (!v)
		return ret;
	ret = v->type == VS_JSON_ARRAY ? 0 : fail_type(c, v, "an array");
	vs_sp_pop(c, mark);
	if (ret == 0)
		*out = v;
	return ret;
}

int vs_sp_string(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required, char **out)
{
	size_t mark;
	int ret;
	char *s = NULL;
	const struct vs_json *v = enter(c, obj, key, required, &mark, &ret);
	if (!v)
		return ret;
	ret = vs_sp_val_string(c, v, &s);
	vs_sp_pop(c, mark);
	if (ret == 0) {
		free(*out); /* a default set earlier by the caller */
		*out = s;
	}
	return ret;
}

int vs_sp_abs_path(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required,
		   char **out)
{
	size_t mark;
	int ret;
	vs_autofree char *s = NULL;
	const struct vs_json *v = enter(c, obj, key, required, &mark, &ret);
	if (!v)
		return ret;
	ret = vs_sp_val_string(c, v, &s);
	if (ret == 0 && s[0] != '/')
		ret = vs_sp_fail(c, "`%.128s` is not an absolute path", s);
	vs_sp_pop(c, mark);
	if (ret == 0) {
		free(*out);
		*out = vs_steal_ptr(&s);
	}
	return ret;
}

int vs_sp_bool(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool *out)
{
	size_t mark;
	int ret;
	const struct vs_json *v = enter(c, obj, key, false, &mark, &ret);
	if (!v)
		return ret;
	ret = vs_json_get_bool(v, out) ? 0 : fail_type(c, v, "a boolean");
	vs_sp_pop(c, mark);
	return ret;
}

int vs_sp_u64(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required, uint64_t *out,
	      bool *has)
{
	size_t mark;
	int ret;
	const struct vs_json *v = enter(c, obj, key, required, &mark, &ret);
	if (!v)
		return ret;
	ret = vs_sp_val_u64(c, v, UINT64_MAX, out);
	vs_sp_pop(c, mark);
	if (ret == 0 && has)
		*has = true;
	return ret;
}

int vs_sp_u32(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required, uint32_t *out,
	      bool *has)
{
	size_t mark;
	int ret;
	uint64_t u = 0;
	const struct vs_json *v = enter(c, obj, key, required, &mark, &ret);
	if (!v)
		return ret;
	ret = vs_sp_val_u64(c, v, UINT32_MAX, &u);
	vs_sp_pop(c, mark);
	if (ret == 0) {
		*out = (uint32_t)u;
		if (has)
			*has = true;
	}
	return ret;
}

int vs_sp_i64(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required, int64_t min,
	      int64_t max, int64_t *out, bool *has)
{
	size_t mark;
	int ret;
	const struct vs_json *v = enter(c, obj, key, required, &mark, &ret);
	if (!v)
		return ret;
	ret = vs_sp_val_i64(c, v, min, max, out);
	vs_sp_pop(c, mark);
	if (ret == 0 && has)
		*has = true;
	return ret;
}

void *vs_sp_alloc_array(struct vs_spec_ctx *c, size_t n, size_t elem)
{
	void *p = calloc(n ? n : 1, elem);
	if (!p)
		vs_sp_fail_oom(c);
	return p;
}

void vs_sp_strv_free(struct vs_strv *v)
{
	for (size_t i = 0; i < v->count; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->count = 0;
}

int vs_sp_strv(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, struct vs_strv *out)
{
	const struct vs_json *arr;
	size_t n, mark;
	int ret = 0;

	if (vs_sp_array(c, obj, key, &arr) < 0)
		return -1;
	if (!arr)
		return 0;
	n = arr->arr.count;
	vs_sp_strv_free(out);
	if (n == 0)
		return 0;
	mark = vs_sp_push(c, key);
	out->v = vs_sp_alloc_array(c, n + 1, sizeof(*out->v));
	if (!out->v) {
		ret = -1;
		goto out;
	}
	out->count = n; /* entries fill in below; NULLs free cleanly */
	for (size_t i = 0; i < n && ret == 0; i++) {
		size_t m = vs_sp_push_index(c, i);
		ret = vs_sp_val_string(c, &arr->arr.items[i], &out->v[i]);
		vs_sp_pop(c, m);
	}
out:
	vs_sp_pop(c, mark);
	return ret;
}

int vs_sp_map(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, struct vs_strv *keys,
	      struct vs_strv *values)
{
	const struct vs_json *map;
	size_t n, mark;
	int ret = 0;

	if (vs_sp_object(c, obj, key, &map) < 0)
		return -1;
	if (!map || map->obj.count == 0)
		return 0;
	n = map->obj.count;
	mark = vs_sp_push(c, key);
	keys->v = vs_sp_alloc_array(c, n + 1, sizeof(*keys->v));
	values->v = vs_sp_alloc_array(c, n + 1, sizeof(*values->v));
	if (!keys->v || !values->v) {
		ret = -1;
		goto out;
	}
	keys->count = values->count = n;
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct vs_json_member *m = &map->obj.members[i];
		size_t mk = vs_sp_push_map_key(c, m->key);
		if (memchr(m->key, '\0', m->key_len))
			ret = vs_sp_fail(c, "key contains a NUL character");
		else if (!(keys->v[i] = strdup(m->key)))
			ret = vs_sp_fail_oom(c);
		else
			ret = vs_sp_val_string(c, &m->value, &values->v[i]);
		vs_sp_pop(c, mk);
	}
out:
	vs_sp_pop(c, mark);
	return ret;
}

static int read_idmap(struct vs_spec_ctx *c, const struct vs_json *v, struct vs_spec_idmap *m)
{
	if (vs_sp_val_object(c, v) < 0 || vs_sp_u32(c, v, "containerID", true, &m->container_id, NULL) < 0 ||
	    vs_sp_u32(c, v, "hostID", true, &m->host_id, NULL) < 0 ||
	    vs_sp_u32(c, v, "size", true, &m->size, NULL) < 0)
		return -1;
	if (m->size == 0)
		return vs_sp_fail(c, "size must be greater than 0");
	/* IDs are 32-bit: a range may end at 2^32 but not beyond. */
	if ((uint64_t)m->container_id + m->size > (1ull << 32))
		return vs_sp_fail(c, "containerID %" PRIu32 " + size %" PRIu32 " exceeds 2^32",
				  m->container_id, m->size);
	if ((uint64_t)m->host_id + m->size > (1ull << 32))
		return vs_sp_fail(c, "hostID %" PRIu32 " + size %" PRIu32 " exceeds 2^32", m->host_id,
				  m->size);
	return 0;
}

int vs_sp_idmaps(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key,
		 struct vs_spec_idmap **out, size_t *count)
{
	const struct vs_json *arr;
	size_t n, mark;
	int ret = 0;

	if (vs_sp_array(c, obj, key, &arr) < 0)
		return -1;
	if (!arr || arr->arr.count == 0)
		return 0;
	n = arr->arr.count;
	mark = vs_sp_push(c, key);
	*out = vs_sp_alloc_array(c, n, sizeof(**out));
	if (!*out) {
		ret = -1;
		goto out;
	}
	*count = n;
	for (size_t i = 0; i < n && ret == 0; i++) {
		size_t m = vs_sp_push_index(c, i);
		ret = read_idmap(c, &arr->arr.items[i], &(*out)[i]);
		vs_sp_pop(c, m);
	}
out:
	vs_sp_pop(c, mark);
	return ret;
}

int vs_sp_lookup(const char *const *names, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}
