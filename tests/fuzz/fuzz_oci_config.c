/* libFuzzer target: any byte string given as config.json or as an exec
 * process.json is either parsed into a consistent struct or refused with a
 * message, never crashing or leaking. Valid JSON must also survive a trip
 * through the writer unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/spec.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strv(const struct vs_strv *v)
{
	if (v->count && v->v[v->count] != NULL)
		abort();
	for (size_t i = 0; i < v->count; i++)
		if (!v->v[i])
			abort();
}

static void check_process(const struct vs_spec_process *p)
{
	if (p->args.count == 0 || !p->cwd || p->cwd[0] != '/')
		abort();
	check_strv(&p->args);
	check_strv(&p->env);
	if (p->has_oom_score_adj && (p->oom_score_adj < -1000 || p->oom_score_adj > 1000))
		abort();
}

/* What validation promised the rest of the runtime. */
static void check_spec(const struct vs_spec *s)
{
	if (!s->oci_version || !s->root_path || s->root_path[0] != '/')
		abort();
	if (s->has_process)
		check_process(&s->process);
	for (size_t i = 0; i < s->mounts_count; i++) {
		if (!s->mounts[i].destination || s->mounts[i].destination[0] != '/')
			abort();
		check_strv(&s->mounts[i].options);
	}
	for (size_t i = 0; i < s->linux.namespaces_count; i++) {
		const struct vs_spec_namespace *ns = &s->linux.namespaces[i];
		if ((unsigned)ns->type >= VS_NS_COUNT || vs_spec_namespace_find(s, ns->type) != ns)
			abort();
	}
	for (int k = 0; k < VS_HOOK_KINDS; k++)
		for (size_t i = 0; i < s->hooks.count[k]; i++)
			if (s->hooks.list[k][i].path[0] != '/' ||
			    (s->hooks.list[k][i].has_timeout && s->hooks.list[k][i].timeout <= 0))
				abort();
	if (s->annotation_keys.count != s->annotation_values.count ||
	    s->linux.sysctl_keys.count != s->linux.sysctl_values.count)
		abort();
	check_strv(&s->annotation_keys);
	check_strv(&s->linux.masked_paths);
}

static void round_trip(const uint8_t *data, size_t size)
{
	struct vs_json_doc *doc = NULL, *again = NULL;
	struct vs_json_writer w;
	struct vs_error err;
	char *text = NULL;
	size_t len = 0;

	if (vs_json_parse((const char *)data, size, NULL, &doc, &err) < 0) {
		if (!err.msg[0])
			abort();
		return;
	}
	vs_jw_init(&w, size & 1 ? 2 : 0);
	vs_jw_value(&w, vs_json_root(doc));
	if (vs_jw_finish(&w, &text, &len, &err) < 0)
		abort();
	/* Same nesting the parser already accepted, and valid UTF-8 in,
	 * valid JSON out: the reparse must succeed. */
	if (vs_json_parse(text, len, NULL, &again, &err) < 0)
		abort();
	if (!vs_json_equal(vs_json_root(doc), vs_json_root(again)))
		abort();
	vs_json_doc_free(again);
	vs_json_doc_free(doc);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_spec spec;
	struct vs_spec_process proc;
	struct vs_error err;

	vs_error_clear(&err);
	if (vs_spec_parse((const char *)data, size, "/bundle", &spec, &err) == 0) {
		check_spec(&spec);
		vs_spec_free(&spec);
	} else if (!err.msg[0]) {
		abort();
	}

	vs_error_clear(&err);
	if (vs_spec_parse_process((const char *)data, size, &proc, &err) == 0) {
		check_process(&proc);
		vs_spec_process_free(&proc);
	} else if (!err.msg[0]) {
		abort();
	}

	round_trip(data, size);
	return 0;
}
