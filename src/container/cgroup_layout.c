/* Which cgroup hierarchies are mounted, where the calling process sits in
 * them, and how linux.cgroupsPath maps to a directory in each. Pure text
 * processing over mountinfo and /proc/self/cgroup so the tests can feed
 * fake layouts. */
#include "container/cgroup_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

/* In kernel subsystem order, which is the order mountinfo and
 * /proc/self/cgroup list them in. */
static const struct {
	const char *name;
	unsigned bit;
} controller_names[] = {
	{ "cpuset", VS_CG_CPUSET },	{ "cpu", VS_CG_CPU },	      { "cpuacct", VS_CG_CPUACCT },
	{ "blkio", VS_CG_BLKIO },	{ "memory", VS_CG_MEMORY },   { "devices", VS_CG_DEVICES },
	{ "freezer", VS_CG_FREEZER },	{ "net_cls", VS_CG_NET_CLS }, { "perf_event", VS_CG_PERF_EVENT },
	{ "net_prio", VS_CG_NET_PRIO }, { "hugetlb", VS_CG_HUGETLB }, { "pids", VS_CG_PIDS },
	{ "rdma", VS_CG_RDMA },		{ "misc", VS_CG_MISC },	      { "name=systemd", VS_CG_SYSTEMD },
};

const char *vs_cgroup_kind_name(enum vs_cgroup_kind kind)
{
	switch (kind) {
	case VS_CGROUP_V1:
		return "v1";
	case VS_CGROUP_V2:
		return "v2";
	case VS_CGROUP_HYBRID:
		return "hybrid";
	case VS_CGROUP_NONE:
		break;
	}
	return "none";
}

static unsigned controller_bit(const char *tok, size_t len)
{
	for (size_t i = 0; i < VS_ARRAY_SIZE(controller_names); i++)
		if (strlen(controller_names[i].name) == len &&
		    memcmp(controller_names[i].name, tok, len) == 0)
			return controller_names[i].bit;
	return 0;
}

unsigned vs_cgroup_parse_controllers(const char *opts, bool *known)
{
	unsigned bits = 0;
	bool other_name = false;
	const char *p = opts;
	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned bit = controller_bit(p, len);
		if (!bit && len > 5 && memcmp(p, "name=", 5) == 0)
			other_name = true;
		bits |= bit;
		p += len;
		if (*p == ',')
			p++;
	}
	/* A hierarchy named by someone else (name=foo) is not ours to use. */
	if (known)
		*known = bits != 0 && !(other_name && !(bits & ~VS_CG_SYSTEMD));
	return bits;
}

/* The options of a v1 mount that select its hierarchy, in order. */
static char *hierarchy_name(const char *opts)
{
	char *name = malloc(strlen(opts) + 1);
	char *o = name;
	const char *p = opts;
	if (!name)
		return NULL;
	while (*p) {
		size_t len = strcspn(p, ",");
		if (controller_bit(p, len) || (len > 5 && memcmp(p, "name=", 5) == 0)) {
			if (o != name)
				*o++ = ',';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	*o = '\0';
	return name;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;
	for (char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
}

static void mount_clear(struct vs_cgroup_mount *m)
{
	free(m->name);
	free(m->mountpoint);
	free(m->root);
	memset(m, 0, sizeof(*m));
}

void vs_cgroup_layout_free(struct vs_cgroup_layout *layout)
{
	if (!layout)
		return;
	for (size_t i = 0; i < layout->count; i++)
		mount_clear(&layout->mounts[i]);
	free(layout->mounts);
	memset(layout, 0, sizeof(*layout));
}

static bool is_direct_child(const char *path, const char *root)
{
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (strncmp(path, root, n) != 0 || path[n] != '/')
		return false;
	return path[n + 1] != '\0' && !strchr(path + n + 1, '/');
}

static bool same_dir(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && memcmp(a, b, la) == 0;
}

/* Record one mount; a later mount on the same mount point hides the
 * earlier one, and a hierarchy mounted twice is used once. */
static int layout_add(struct vs_cgroup_layout *l, const char *mountpoint, const char *root, const char *name,
		      unsigned controllers)
{
	struct vs_cgroup_mount m = { 0 };
	size_t i;
	for (i = 0; i < l->count; i++)
		if (strcmp(l->mounts[i].mountpoint, mountpoint) == 0)
			break;
	if (i == l->count) {
		for (size_t j = 0; j < l->count; j++)
			if (l->mounts[j].controllers == controllers)
				return 0;
	}
	m.mountpoint = strdup(mountpoint);
	m.root = strdup(root);
	m.name = strdup(name);
	m.controllers = controllers;
	if (!m.mountpoint || !m.root || !m.name) {
		mount_clear(&m);
		return -1;
	}
	if (i < l->count) {
		mount_clear(&l->mounts[i]);
		l->mounts[i] = m;
		return 0;
	}
	struct vs_cgroup_mount *grown = realloc(l->mounts, (l->count + 1) * sizeof(*grown));
	if (!grown) {
		mount_clear(&m);
		return -1;
	}
	l->mounts = grown;
	l->mounts[l->count++] = m;
	return 0;
}

/* Fields of one mountinfo line, split in place. */
struct mi_line {
	char *root, *mountpoint, *fstype, *super_opts;
};

static bool split_mountinfo_line(char *line, struct mi_line *f)
{
	char *tok[64];
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t && n < VS_ARRAY_SIZE(tok);
	     t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	if (n < 10)
		return false;
	size_t sep = 6;
	while (sep < n && strcmp(tok[sep], "-") != 0)
		sep++;
	if (sep + 3 >= n)
		return false;
	f->root = tok[3];
	f->mountpoint = tok[4];
	f->fstype = tok[sep + 1];
	f->super_opts = tok[sep + 3];
	unescape_octal(f->root);
	unescape_octal(f->mountpoint);
	return true;
}

/* A cgroup2 mount seen in mountinfo. */
struct v2_mount {
	char *mountpoint, *root;
};

static int v2_set(struct v2_mount *v, const struct mi_line *f)
{
	free(v->mountpoint);
	free(v->root);
	v->mountpoint = strdup(f->mountpoint);
	v->root = strdup(f->root);
	return v->mountpoint && v->root ? 0 : -1;
}

static void v2_clear(struct v2_mount *v)
{
	free(v->mountpoint);
	free(v->root);
	v->mountpoint = v->root = NULL;
}

/* A mount of another file system on `mountpoint` covers what was mounted
 * there before (mountinfo lists mounts in the order they were made): a
 * tmpfs over /sys/fs/cgroup/unified hides that v2 tree, one over the root
 * hides every hierarchy. */
static void hide_covered(struct vs_cgroup_layout *l, struct v2_mount *top, struct v2_mount *below,
			 const char *mountpoint, const char *root)
{
	if (same_dir(mountpoint, root)) {
		vs_cgroup_layout_free(l);
		v2_clear(top);
		v2_clear(below);
		return;
	}
	if (!is_direct_child(mountpoint, root))
		return;
	if (below->mountpoint && strcmp(below->mountpoint, mountpoint) == 0)
		v2_clear(below);
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->mounts[i].mountpoint, mountpoint) != 0)
			continue;
		mount_clear(&l->mounts[i]);
		memmove(&l->mounts[i], &l->mounts[i + 1], (l->count - i - 1) * sizeof(l->mounts[0]));
		l->count--;
		return;
	}
}

int vs_cgroup_layout_parse(const char *mountinfo, const char *root, struct vs_cgroup_layout *out,
			   struct vs_error *err)
{
	struct vs_cgroup_layout l = { 0 };
	struct v2_mount top = { 0 }, below = { 0 };
	char *copy = strdup(mountinfo);
	char *save = NULL;
	int ret = -1;
	if (!copy)
		goto nomem;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mi_line f;
		if (!split_mountinfo_line(line, &f))
			continue;
		if (strcmp(f.fstype, "cgroup2") == 0) {
			struct v2_mount *v = same_dir(f.mountpoint, root)	   ? &top
					     : is_direct_child(f.mountpoint, root) ? &below
										   : NULL;
			if (v && v2_set(v, &f) < 0)
				goto nomem;
			continue;
		}
		if (strcmp(f.fstype, "cgroup") != 0) {
			hide_covered(&l, &top, &below, f.mountpoint, root);
			continue;
		}
		if (!is_direct_child(f.mountpoint, root))
			continue;
		bool known;
		unsigned bits = vs_cgroup_parse_controllers(f.super_opts, &known);
		if (!known)
			continue;
		char *name = hierarchy_name(f.super_opts);
		int r = name ? layout_add(&l, f.mountpoint, f.root, name, bits) : -1;
		free(name);
		if (r < 0)
			goto nomem;
	}
	if (top.mountpoint) {
		/* A v2 tree at the root hides whatever is mounted below it. */
		vs_cgroup_layout_free(&l);
		if (layout_add(&l, top.mountpoint, top.root, "", VS_CG_UNIFIED) < 0)
			goto nomem;
		l.kind = VS_CGROUP_V2;
	} else if (below.mountpoint) {
		if (layout_add(&l, below.mountpoint, below.root, "", VS_CG_UNIFIED) < 0)
			goto nomem;
		l.kind = l.count > 1 ? VS_CGROUP_HYBRID : VS_CGROUP_V2;
	} else if (l.count > 0) {
		l.kind = VS_CGROUP_V1;
	}
	*out = l;
	l = (struct vs_cgroup_layout){ 0 };
	ret = 0;
	goto out;
nomem:
	vs_error_set(err, ENOMEM, "parsing mountinfo");
out:
	vs_cgroup_layout_free(&l);
	free(top.mountpoint);
	free(top.root);
	free(below.mountpoint);
	free(below.root);
	free(copy);
	return ret;
}

int vs_cgroup_layout_detect(const struct vs_cgroup_env *env, struct vs_cgroup_layout *out,
			    struct vs_error *err)
{
	vs_autofree char *text = NULL;
	if (vs_cgroup_read_text(env->mountinfo, &text, err) < 0)
		return -1;
	return vs_cgroup_layout_parse(text, env->root, out, err);
}

int vs_cgroup_own_path(const char *self_cgroup, const struct vs_cgroup_mount *m, char **out,
		       struct vs_error *err)
{
	const char *p = self_cgroup;
	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *c1 = memchr(p, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
		if (c2) {
			char ctl[256];
			size_t clen = (size_t)(c2 - c1 - 1);
			bool match;
			if (clen >= sizeof(ctl))
				clen = 0;
			memcpy(ctl, c1 + 1, clen);
			ctl[clen] = '\0';
			if (m->controllers == VS_CG_UNIFIED)
				match = clen == 0 && c1 - p == 1 && p[0] == '0';
			else
				match = clen > 0 && vs_cgroup_parse_controllers(ctl, NULL) == m->controllers;
			if (match) {
				size_t plen = len - (size_t)(c2 + 1 - p);
				*out = strndup(c2 + 1, plen);
				if (!*out)
					return vs_error_set(err, ENOMEM, "reading own cgroup");
				return 0;
			}
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return vs_error_msg(err, "the calling process is in no cgroup of the `%s` hierarchy",
			    m->name[0] ? m->name : "cgroup2");
}

/* Append `path` to `out` (which holds an absolute normalized path),
 * resolving "." and ".." lexically; ".." stops at the root. */
static void append_normalized(char *out, const char *path)
{
	size_t len = strlen(out);
	while (*path) {
		size_t n = strcspn(path, "/");
		if (n == 0 || (n == 1 && path[0] == '.')) {
			/* nothing */
		} else if (n == 2 && path[0] == '.' && path[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = '\0';
		} else {
			out[len++] = '/';
			memcpy(out + len, path, n);
			len += n;
			out[len] = '\0';
		}
		path += n;
		if (*path == '/')
			path++;
	}
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int vs_cgroup_resolve_path(const char *cgroups_path, const char *container_id, const char *own, char **out,
			   struct vs_error *err)
{
	const char *base = "";
	const char *rel = cgroups_path;
	vs_autofree char *deflt = NULL;
	if (!cgroups_path || !*cgroups_path) {
		if (!container_id || !*container_id || strchr(container_id, '/') ||
		    strcmp(container_id, ".") == 0 || strcmp(container_id, "..") == 0 ||
		    has_control_chars(container_id))
			return vs_error_msg(err, "container id `%s` cannot name a cgroup",
					    container_id ? container_id : "");
		if (asprintf(&deflt, "/vessel/%s", container_id) < 0) {
			deflt = NULL;
			return vs_error_set(err, ENOMEM, "building the cgroup path");
		}
		rel = deflt;
	} else if (has_control_chars(cgroups_path)) {
		return vs_error_msg(err, "cgroupsPath `%s`: control characters are not allowed",
				    cgroups_path);
	} else if (cgroups_path[0] != '/') {
		if (strchr(cgroups_path, ':'))
			return vs_error_msg(
			    err,
			    "cgroupsPath `%s`: the systemd form slice:prefix:name is not supported; "
			    "vessel manages cgroupfs directly and does not drive systemd, so give a "
			    "path such as /machine/%s",
			    cgroups_path, container_id ? container_id : "name");
		base = own ? own : "/";
	}
	char *path = malloc(strlen(base) + strlen(rel) + 2);
	if (!path)
		return vs_error_set(err, ENOMEM, "building the cgroup path");
	path[0] = '\0';
	append_normalized(path, base);
	append_normalized(path, rel);
	if (path[0] == '\0') {
		free(path);
		return vs_error_msg(err,
				    "cgroupsPath `%s` names the root cgroup, which a container cannot use",
				    cgroups_path ? cgroups_path : "");
	}
	*out = path;
	return 0;
}

char *vs_cgroup_mount_dir(const struct vs_cgroup_mount *m, const char *path)
{
	/* A mount of a subtree (cgroup namespace, bind mount) shows `root`
	 * at the mount point: paths below it are taken relative to it. */
	size_t rl = strlen(m->root);
	const char *sub = path;
	char *dir;
	if (rl > 1 && strncmp(path, m->root, rl) == 0 && (path[rl] == '/' || path[rl] == '\0'))
		sub = path + rl;
	size_t ml = strlen(m->mountpoint);
	while (ml > 1 && m->mountpoint[ml - 1] == '/')
		ml--;
	if (asprintf(&dir, "%.*s%s", (int)ml, m->mountpoint, sub) < 0)
		return NULL;
	return dir;
}
