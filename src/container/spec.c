/* config.json: the document level (version, root, mounts, hooks,
 * annotations), loading from a bundle, and the public entry points. The
 * sections live in spec_process.c, spec_linux.c, spec_resources.c and
 * spec_seccomp.c; the field readers in spec_fields.c. */
#include "container/spec.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/spec_internal.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/json.h"

/* A real config.json is a few KiB; anything near this is not one. */
#define VS_SPEC_MAX_CONFIG (16u << 20)

/* The one table of hook names: config.json keys, and the names in
 * messages. Indexed by enum vs_hook_kind. */
static const char *const hook_names[VS_HOOK_KINDS] = {
	[VS_HOOK_PRESTART] = "prestart",
	[VS_HOOK_CREATE_RUNTIME] = "createRuntime",
	[VS_HOOK_CREATE_CONTAINER] = "createContainer",
	[VS_HOOK_START_CONTAINER] = "startContainer",
	[VS_HOOK_POSTSTART] = "poststart",
	[VS_HOOK_POSTSTOP] = "poststop",
};

const char *vs_hook_kind_name(enum vs_hook_kind kind)
{
	return (unsigned)kind < VS_HOOK_KINDS ? hook_names[kind] : "unknown";
}

/* dir + "/" + rel without doubling the slash; not canonicalised (the
 * runtime opens the result relative to nothing, so ".." stays meaningful). */
static char *join_path(const char *dir, const char *rel)
{
	size_t dl = strlen(dir), rl = strlen(rel);
	char *s;
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	s = malloc(dl + 1 + rl + 1);
	if (!s)
		return NULL;
	memcpy(s, dir, dl);
	if (dl != 1 || dir[0] != '/')
		s[dl++] = '/';
	memcpy(s + dl, rel, rl + 1);
	return s;
}

/* The bundle as an absolute directory, so relative paths in the config
 * resolve the same wherever the runtime later changes directory. */
static int absolute_bundle(const char *bundle, char **out, struct vs_error *err)
{
	char cwd[PATH_MAX];
	if (bundle && bundle[0] == '/') {
		*out = strdup(bundle);
		return *out ? 0 : vs_error_set(err, ENOMEM, "bundle path");
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return vs_error_set(err, errno, "resolving the bundle directory");
	if (!bundle || !bundle[0] || strcmp(bundle, ".") == 0)
		*out = strdup(cwd);
	else
		*out = join_path(cwd, bundle);
	return *out ? 0 : vs_error_set(err, ENOMEM, "bundle path");
}

static int read_version(struct vs_spec_ctx *c, const struct vs_json *doc, struct vs_spec *s)
{
	size_t mark;
	if (vs_sp_string(c, doc, "ociVersion", true, &s->oci_version) < 0)
		return -1;
	/* Compatibility holds within a major version only. */
	if (strncmp(s->oci_version, "1.", 2) != 0) {
		mark = vs_sp_push(c, "ociVersion");
		vs_sp_fail(c, "unsupported version `%.32s` (vessel implements 1.x)", s->oci_version);
		vs_sp_pop(c, mark);
		return -1;
	}
	return 0;
}

static int read_root(struct vs_spec_ctx *c, const struct vs_json *doc, struct vs_spec *s)
{
	const struct vs_json *root;
	vs_autofree char *path = NULL;
	size_t mark;
	int ret = -1;

	if (vs_sp_object(c, doc, "root", &root) < 0)
		return -1;
	mark = vs_sp_push(c, "root");
	if (!root) {
		vs_sp_push(c, "path");
		vs_sp_fail(c, "required on Linux, but `root` is missing");
		goto out;
	}
	if (vs_sp_string(c, root, "path", true, &path) < 0 ||
	    vs_sp_bool(c, root, "readonly", &s->root_readonly) < 0)
		goto out;
	if (!path[0]) {
		vs_sp_push(c, "path");
		vs_sp_fail(c, "must not be empty");
		goto out;
	}
	if (path[0] == '/') {
		s->root_path = vs_steal_ptr(&path);
	} else if (!(s->root_path = join_path(c->bundle, path))) {
		vs_sp_fail_oom(c);
		goto out;
	}
	ret = 0;
out:
	vs_sp_pop(c, mark);
	return ret;
}

static bool has_option(const struct vs_strv *opts, const char *name)
{
	for (size_t i = 0; i < opts->count; i++)
		if (strcmp(opts->v[i], name) == 0)
			return true;
	return false;
}

static int read_mount(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_spec_mount *m = elem;
	bool bind;
	char *abs;
	(void)opaque;

	if (vs_sp_val_object(c, v) < 0 || vs_sp_string(c, v, "destination", true, &m->destination) < 0)
		return -1;
	/* 1.1 tolerates relative destinations as deprecated; like runc,
	 * vessel requires them absolute rather than guess a base. */
	if (m->destination[0] != '/') {
		vs_sp_push(c, "destination");
		return vs_sp_fail(c,
				  "`%.128s` is not an absolute path (vessel requires absolute destinations)",
				  m->destination);
	}
	if (vs_sp_string(c, v, "type", false, &m->type) < 0 ||
	    vs_sp_string(c, v, "source", false, &m->source) < 0 ||
	    vs_sp_strv(c, v, "options", &m->options) < 0 ||
	    vs_sp_idmaps(c, v, "uidMappings", &m->uid_mappings, &m->uid_mappings_count) < 0 ||
	    vs_sp_idmaps(c, v, "gidMappings", &m->gid_mappings, &m->gid_mappings_count) < 0)
		return -1;
	bind = has_option(&m->options, "bind") || has_option(&m->options, "rbind") ||
	       (m->type && strcmp(m->type, "bind") == 0);
	if (!bind)
		return 0;
	if (!m->source || !m->source[0]) {
		vs_sp_push(c, "source");
		return vs_sp_fail(c, "required for a bind mount");
	}
	/* The spec makes relative bind sources relative to the bundle. */
	if (m->source[0] != '/') {
		abs = join_path(c->bundle, m->source);
		if (!abs)
			return vs_sp_fail_oom(c);
		free(m->source);
		m->source = abs;
	}
	return 0;
}

static int read_mounts(struct vs_spec_ctx *c, const struct vs_json *doc, struct vs_spec *s)
{
	return vs_sp_array_each(c, doc, "mounts", sizeof(*s->mounts), false, read_mount, NULL,
				(void **)&s->mounts, &s->mounts_count);
}

static int read_hook(struct vs_spec_ctx *c, const struct vs_json *v, void *elem, void *opaque)
{
	struct vs_spec_hook *h = elem;
	int64_t timeout = 0;
	(void)opaque;
	if (vs_sp_val_object(c, v) < 0 || vs_sp_abs_path(c, v, "path", true, &h->path) < 0 ||
	    vs_sp_strv(c, v, "args", &h->args) < 0 || vs_sp_strv(c, v, "env", &h->env) < 0 ||
	    vs_sp_i64(c, v, "timeout", false, INT64_MIN, INT64_MAX, &timeout, &h->has_timeout) < 0)
		return -1;
	if (h->has_timeout && (timeout <= 0 || timeout > INT_MAX)) {
		vs_sp_push(c, "timeout");
		return vs_sp_fail(
		    c, timeout <= 0 ? "must be greater than 0 seconds, got %lld" : "%lld seconds is too long",
		    (long long)timeout);
	}
	h->timeout = (int)timeout;
	return 0;
}

static int read_hooks(struct vs_spec_ctx *c, const struct vs_json *doc, struct vs_spec *s)
{
	const struct vs_json *hooks;
	size_t mark;
	int ret = 0;

	if (vs_sp_object(c, doc, "hooks", &hooks) < 0)
		return -1;
	if (!hooks)
		return 0;
	mark = vs_sp_push(c, "hooks");
	for (int k = 0; k < VS_HOOK_KINDS && ret == 0; k++)
		ret = vs_sp_array_each(c, hooks, hook_names[k], sizeof(*s->hooks.list[k]), false, read_hook,
				       NULL, (void **)&s->hooks.list[k], &s->hooks.count[k]);
	vs_sp_pop(c, mark);
	return ret;
}

/* hostname and domainname are set in the container's UTS namespace; with
 * the host's they would rename the host. */
static int check_uts(struct vs_spec_ctx *c, const struct vs_spec *s)
{
	const char *key = NULL;
	size_t mark;
	if (s->hostname && s->hostname[0])
		key = "hostname";
	else if (s->domainname && s->domainname[0])
		key = "domainname";
	if (!key || vs_spec_namespace_find(s, VS_NS_UTS))
		return 0;
	mark = vs_sp_push(c, key);
	vs_sp_fail(c, "needs a UTS namespace in linux.namespaces");
	vs_sp_pop(c, mark);
	return -1;
}

static int read_config(struct vs_spec_ctx *c, const struct vs_json *doc, struct vs_spec *s)
{
	const struct vs_json *proc, *lnx;
	size_t mark;
	int ret;

	if (vs_sp_val_object(c, doc) < 0 || read_version(c, doc, s) < 0 || read_root(c, doc, s) < 0 ||
	    vs_sp_object(c, doc, "process", &proc) < 0)
		return -1;
	if (proc) {
		s->has_process = true;
		mark = vs_sp_push(c, "process");
		ret = vs_sp_process(c, proc, &s->process);
		vs_sp_pop(c, mark);
		if (ret < 0)
			return -1;
	}
	if (vs_sp_string(c, doc, "hostname", false, &s->hostname) < 0 ||
	    vs_sp_string(c, doc, "domainname", false, &s->domainname) < 0 || read_mounts(c, doc, s) < 0 ||
	    read_hooks(c, doc, s) < 0 ||
	    vs_sp_map(c, doc, "annotations", &s->annotation_keys, &s->annotation_values) < 0 ||
	    vs_sp_object(c, doc, "linux", &lnx) < 0)
		return -1;
	if (lnx) {
		mark = vs_sp_push(c, "linux");
		ret = vs_sp_linux(c, lnx, &s->linux);
		vs_sp_pop(c, mark);
		if (ret < 0)
			return -1;
	}
	return check_uts(c, s);
}

int vs_spec_parse(const char *json, size_t len, const char *bundle, struct vs_spec *out, struct vs_error *err)
{
	const struct vs_json_opts opts = { .max_size = VS_SPEC_MAX_CONFIG };
	vs_auto_json_doc struct vs_json_doc *doc = NULL;
	vs_autofree char *bundle_abs = NULL;
	struct vs_spec_ctx c = { .err = err };

	memset(out, 0, sizeof(*out));
	if (vs_json_parse(json, len, &opts, &doc, err) < 0)
		return -1;
	if (absolute_bundle(bundle, &bundle_abs, err) < 0)
		return -1;
	c.bundle = bundle_abs;
	if (read_config(&c, vs_json_root(doc), out) < 0) {
		vs_spec_free(out);
		return -1;
	}
	return 0;
}

int vs_spec_load(const char *bundle, struct vs_spec *out, struct vs_error *err)
{
	vs_autofree char *path = join_path(bundle && bundle[0] ? bundle : ".", "config.json");
	vs_autofree uint8_t *buf = NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if (!path)
		return vs_error_set(err, ENOMEM, "config.json");
	if (vs_read_file(path, "file", VS_SPEC_MAX_CONFIG, &buf, &len, err) < 0 ||
	    vs_spec_parse((const char *)buf, len, bundle, out, err) < 0)
		return vs_error_prefix(err, "config.json: ");
	return 0;
}

void vs_spec_free(struct vs_spec *spec)
{
	if (!spec)
		return;
	free(spec->oci_version);
	free(spec->root_path);
	vs_spec_process_free(&spec->process);
	free(spec->hostname);
	free(spec->domainname);
	for (size_t i = 0; i < spec->mounts_count; i++) {
		struct vs_spec_mount *m = &spec->mounts[i];
		free(m->destination);
		free(m->type);
		free(m->source);
		vs_strv_free(&m->options);
		free(m->uid_mappings);
		free(m->gid_mappings);
	}
	free(spec->mounts);
	for (int k = 0; k < VS_HOOK_KINDS; k++) {
		for (size_t i = 0; i < spec->hooks.count[k]; i++) {
			struct vs_spec_hook *h = &spec->hooks.list[k][i];
			free(h->path);
			vs_strv_free(&h->args);
			vs_strv_free(&h->env);
		}
		free(spec->hooks.list[k]);
	}
	vs_strv_free(&spec->annotation_keys);
	vs_strv_free(&spec->annotation_values);
	vs_sp_linux_free(&spec->linux);
	memset(spec, 0, sizeof(*spec));
}

const struct vs_spec_namespace *vs_spec_namespace_find(const struct vs_spec *spec, enum vs_ns_type type)
{
	for (size_t i = 0; i < spec->linux.namespaces_count; i++)
		if (spec->linux.namespaces[i].type == type)
			return &spec->linux.namespaces[i];
	return NULL;
}

int vs_spec_parse_process(const char *json, size_t len, struct vs_spec_process *out, struct vs_error *err)
{
	const struct vs_json_opts opts = { .max_size = VS_SPEC_MAX_CONFIG };
	vs_auto_json_doc struct vs_json_doc *doc = NULL;
	struct vs_spec_ctx c = { .err = err };

	memset(out, 0, sizeof(*out));
	if (vs_json_parse(json, len, &opts, &doc, err) < 0)
		return -1;
	if (vs_sp_process(&c, vs_json_root(doc), out) < 0) {
		vs_spec_process_free(out);
		return -1;
	}
	return 0;
}
