/* Shared by the config.json parser files (spec*.c): the parse context that
 * tracks the JSON path of the field being read, and typed field readers
 * that report errors against that path.
 *
 * Conventions of every reader: an absent member and a JSON null both mean
 * "not set" and leave the output untouched (Go's encoding/json, which
 * writes most configs, treats null the same way); a present member of the
 * wrong type or out of range is an error naming the path. Readers return 0
 * or -1. Strings are copied into malloc'd memory owned by the output, and
 * a string holding a NUL character is refused since C cannot carry it.
 */
#ifndef VESSEL_CONTAINER_SPEC_INTERNAL_H
#define VESSEL_CONTAINER_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/spec.h"
#include "util/error.h"
#include "util/json.h"

#define VS_SPEC_PATH_MAX 256

struct vs_spec_ctx {
	struct vs_error *err;
	const char *bundle; /* absolute bundle directory; NULL in vs_spec_parse_process */
	size_t len;
	char path[VS_SPEC_PATH_MAX]; /* "linux.namespaces[2].type" */
};

/* Path bookkeeping: push returns a mark for the matching pop. */
size_t vs_sp_push(struct vs_spec_ctx *c, const char *key);	   /* .key */
size_t vs_sp_push_index(struct vs_spec_ctx *c, size_t index);	   /* [3] */
size_t vs_sp_push_map_key(struct vs_spec_ctx *c, const char *key); /* ["net.ipv4.ip_forward"] */
void vs_sp_pop(struct vs_spec_ctx *c, size_t mark);

/* "<path>: <message>"; always -1. */
int vs_sp_fail(struct vs_spec_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vs_sp_fail_oom(struct vs_spec_ctx *c);

/* The member `key` of `obj`, NULL when absent or null. */
const struct vs_json *vs_sp_member(const struct vs_json *obj, const char *key);

/* Value readers: `v` is non-NULL and the path already names it. */
int vs_sp_val_object(struct vs_spec_ctx *c, const struct vs_json *v);
int vs_sp_val_string(struct vs_spec_ctx *c, const struct vs_json *v, char **out);
int vs_sp_val_u64(struct vs_spec_ctx *c, const struct vs_json *v, uint64_t max, uint64_t *out);
int vs_sp_val_i64(struct vs_spec_ctx *c, const struct vs_json *v, int64_t min, int64_t max, int64_t *out);

/* Member readers. */
int vs_sp_object(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key,
		 const struct vs_json **out);
int vs_sp_array(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key,
		const struct vs_json **out);
int vs_sp_string(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required,
		 char **out);
/* A string that must be an absolute path. */
int vs_sp_abs_path(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required,
		   char **out);
int vs_sp_bool(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool *out);
/* Integer readers; `has` (may be NULL) is set when a value was read. */
int vs_sp_u64(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required, uint64_t *out,
	      bool *has);
int vs_sp_u32(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required, uint32_t *out,
	      bool *has);
int vs_sp_i64(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, bool required, int64_t min,
	      int64_t max, int64_t *out, bool *has);
int vs_sp_strv(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, struct vs_strv *out);
/* An object of string values (annotations, sysctl, unified), in document
 * order, into parallel key/value vectors. */
int vs_sp_map(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, struct vs_strv *keys,
	      struct vs_strv *values);
/* uidMappings/gidMappings: [{containerID, hostID, size}] */
int vs_sp_idmaps(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key,
		 struct vs_spec_idmap **out, size_t *count);

/* Reads one element of an array into `elem` (zeroed); the path already
 * names it ("mounts[3]"). `opaque` is the caller's. */
typedef int (*vs_sp_elem_fn)(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque);

/* The array obj.key, element by element: absent, null or empty leaves
 * *items and *count untouched and returns 0. Otherwise *items (a T **
 * passed as void **) gets a zeroed array of `size`-byte elements, one more
 * when `terminated` (a NULL-terminated vector), and *count its length,
 * set before any element is read so that a failure half-way leaves an
 * object its free function releases; `fn` reads each element. */
int vs_sp_array_each(struct vs_spec_ctx *c, const struct vs_json *obj, const char *key, size_t size,
		     bool terminated, vs_sp_elem_fn fn, void *opaque, void **items, size_t *count);

/* calloc() an array of `n` elements for a list field; reports ENOMEM. */
void *vs_sp_alloc_array(struct vs_spec_ctx *c, size_t n, size_t elem);

/* Index of `name` in a table of `count` names (NULL entries are gaps), or -1. */
int vs_sp_lookup(const char *const *names, size_t count, const char *name);

/* Sections, one file each. */
int vs_sp_process(struct vs_spec_ctx *c, const struct vs_json *obj, struct vs_spec_process *out);
int vs_sp_linux(struct vs_spec_ctx *c, const struct vs_json *obj, struct vs_spec_linux *out);
void vs_sp_linux_free(struct vs_spec_linux *l);
int vs_sp_resources(struct vs_spec_ctx *c, const struct vs_json *obj, struct vs_spec_resources *out);
void vs_sp_resources_free(struct vs_spec_resources *r);
int vs_sp_seccomp(struct vs_spec_ctx *c, const struct vs_json *obj, struct vs_spec_seccomp *out);
void vs_sp_seccomp_free(struct vs_spec_seccomp *s);

#endif
