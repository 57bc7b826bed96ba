/* cgroups: layout detection and path logic on fake inputs, and the
 * managers on fake trees of regular files; runs everywhere. The life cycle
 * on the host's real cgroupfs is in test_cgroup_host.c. */
#include "container/cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "util/cleanup.h"

/* ---- helpers ---- */

static int put(const char *dir, const char *file, const char *content)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(content, f);
	return fclose(f);
}

/* Contents of dir/file without the trailing newline; "" when missing. */
static const char *get(const char *dir, const char *file)
{
	static char buf[4096];
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return "<missing>";
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/vessel-cgtest-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

/* The mountinfo of this CI machine: hybrid, cpu and cpuacct apart. */
static const char hybrid_mountinfo[] =
    "23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "42 31 0:39 / /sys/fs/cgroup/other rw,relatime - cgroup cgroup rw,name=other\n"
    "43 1 0:40 / /mnt/cg rw,relatime shared:5 - cgroup cgroup rw,hugetlb\n";

/* ---- layout detection ---- */

TEST(layout_hybrid)
{
	struct vs_cgroup_layout l;
	struct vs_error err = { 0 };
	CHECK(vs_cgroup_layout_parse(hybrid_mountinfo, "/sys/fs/cgroup", &l, &err) == 0);
	CHECK_EQ(l.kind, VS_CGROUP_HYBRID);
	CHECK_EQ_U64(l.count, 10); /* 9 v1 (not name=other, not /mnt) + unified */
	if (l.count == 10) {
		CHECK_STREQ(l.mounts[0].name, "cpu");
		CHECK_EQ(l.mounts[0].controllers, VS_CG_CPU);
		CHECK_STREQ(l.mounts[3].mountpoint, "/sys/fs/cgroup/memory");
		CHECK_EQ(l.mounts[3].controllers, VS_CG_MEMORY);
		CHECK_STREQ(l.mounts[8].name, "name=systemd");
		CHECK_EQ(l.mounts[8].controllers, VS_CG_SYSTEMD);
		CHECK_STREQ(l.mounts[9].name, "");
		CHECK_EQ(l.mounts[9].controllers, VS_CG_UNIFIED);
		CHECK_STREQ(l.mounts[9].mountpoint, "/sys/fs/cgroup/unified");
	}
	vs_cgroup_layout_free(&l);
}

TEST(layout_v1_comounted)
{
	static const char mi[] =
	    "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	    "31 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw shared:9 - cgroup cgroup rw,net_cls,net_prio\n"
	    "32 25 0:28 /sub /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n"
	    "33 25 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
	    "34 25 0:30 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n"
	    "garbage line\n";
	struct vs_cgroup_layout l;
	struct vs_error err = { 0 };
	CHECK(vs_cgroup_layout_parse(mi, "/sys/fs/cgroup/", &l, &err) == 0);
	CHECK_EQ(l.kind, VS_CGROUP_V1);
	CHECK_EQ_U64(l.count, 4); /* the second cpu,cpuacct mount is the same hierarchy */
	if (l.count == 4) {
		CHECK_STREQ(l.mounts[0].name, "cpu,cpuacct");
		CHECK(l.mounts[0].controllers == (VS_CG_CPU | VS_CG_CPUACCT));
		CHECK(l.mounts[1].controllers == (VS_CG_NET_CLS | VS_CG_NET_PRIO));
		CHECK_STREQ(l.mounts[2].mountpoint, "/sys/fs/cgroup/my memory");
		CHECK_STREQ(l.mounts[2].root, "/sub");
	}
	vs_cgroup_layout_free(&l);
}

TEST(layout_v2_and_none)
{
	static const char v2[] = "31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
				 "32 31 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
	static const char none[] = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n";
	struct vs_cgroup_layout l;
	struct vs_error err = { 0 };
	CHECK(vs_cgroup_layout_parse(v2, "/sys/fs/cgroup", &l, &err) == 0);
	CHECK_EQ(l.kind, VS_CGROUP_V2);
	CHECK_EQ_U64(l.count, 1);
	CHECK(l.count == 1 && l.mounts[0].controllers == VS_CG_UNIFIED);
	vs_cgroup_layout_free(&l);
	CHECK(vs_cgroup_layout_parse(none, "/sys/fs/cgroup", &l, &err) == 0);
	CHECK(l.kind == VS_CGROUP_NONE && l.count == 0);
	vs_cgroup_layout_free(&l);
	CHECK_STREQ(vs_cgroup_kind_name(VS_CGROUP_HYBRID), "hybrid");
}

TEST(layout_covered_mounts)
{
	/* bench/ct hides the v2 tree with a tmpfs over it: what is left is a
	 * v1 layout. A tmpfs over a v1 hierarchy hides that one; one over the
	 * root hides all that came before it. */
	static const char tail_unified[] = "50 41 0:50 / /sys/fs/cgroup/unified rw - tmpfs none rw\n";
	static const char tail_memory[] = "51 35 0:51 / /sys/fs/cgroup/memory rw - tmpfs none rw\n";
	static const char tail_root[] = "52 31 0:52 / /sys/fs/cgroup rw - tmpfs none rw\n";
	char mi[sizeof(hybrid_mountinfo) + 256];
	struct vs_cgroup_layout l;
	struct vs_error err = { 0 };

	snprintf(mi, sizeof(mi), "%s%s", hybrid_mountinfo, tail_unified);
	CHECK(vs_cgroup_layout_parse(mi, "/sys/fs/cgroup", &l, &err) == 0);
	CHECK_EQ(l.kind, VS_CGROUP_V1);
	CHECK_EQ_U64(l.count, 9);
	for (size_t i = 0; i < l.count; i++)
		CHECK(l.mounts[i].controllers != VS_CG_UNIFIED);
	vs_cgroup_layout_free(&l);

	snprintf(mi, sizeof(mi), "%s%s", hybrid_mountinfo, tail_memory);
	CHECK(vs_cgroup_layout_parse(mi, "/sys/fs/cgroup", &l, &err) == 0);
	CHECK_EQ(l.kind, VS_CGROUP_HYBRID);
	CHECK_EQ_U64(l.count, 9);
	if (l.count == 9) {
		CHECK_STREQ(l.mounts[2].name, "cpuset"); /* order kept */
		CHECK_STREQ(l.mounts[3].name, "devices");
	}
	for (size_t i = 0; i < l.count; i++)
		CHECK(l.mounts[i].controllers != VS_CG_MEMORY);
	vs_cgroup_layout_free(&l);

	snprintf(mi, sizeof(mi), "%s%s", hybrid_mountinfo, tail_root);
	CHECK(vs_cgroup_layout_parse(mi, "/sys/fs/cgroup", &l, &err) == 0);
	CHECK(l.kind == VS_CGROUP_NONE && l.count == 0);
	vs_cgroup_layout_free(&l);
}

TEST(layout_name_of_host)
{
	/* An oracle independent of mountinfo: the files each layout has. */
	const char *expect = exists("/sys/fs/cgroup/cgroup.controllers")	   ? "v2"
			     : exists("/sys/fs/cgroup/unified/cgroup.controllers") ? "hybrid"
			     : exists("/sys/fs/cgroup/memory/tasks")		   ? "v1"
										   : NULL;
	if (!expect)
		SKIP("unusual cgroup layout on this host");
	CHECK_STREQ(vs_cgroup_layout_name(), expect);
}

/* ---- paths ---- */

TEST(own_path_per_hierarchy)
{
	static const char self[] = "12:cpu,cpuacct:/user.slice/a\n"
				   "9:name=systemd:/sys/b\n"
				   "4:memory:/m\n"
				   "0::/u/v\n";
	struct vs_cgroup_mount cpu = { "cpu,cpuacct", "/x", "/", VS_CG_CPU | VS_CG_CPUACCT };
	struct vs_cgroup_mount sd = { "name=systemd", "/x", "/", VS_CG_SYSTEMD };
	struct vs_cgroup_mount un = { "", "/x", "/", VS_CG_UNIFIED };
	struct vs_cgroup_mount pids = { "pids", "/x", "/", VS_CG_PIDS };
	struct vs_error err = { 0 };
	char *p = NULL;
	CHECK(vs_cgroup_own_path(self, &cpu, &p, &err) == 0 && p && strcmp(p, "/user.slice/a") == 0);
	free(p);
	p = NULL;
	CHECK(vs_cgroup_own_path(self, &sd, &p, &err) == 0 && p && strcmp(p, "/sys/b") == 0);
	free(p);
	p = NULL;
	CHECK(vs_cgroup_own_path(self, &un, &p, &err) == 0 && p && strcmp(p, "/u/v") == 0);
	free(p);
	p = NULL;
	CHECK(vs_cgroup_own_path(self, &pids, &p, &err) == -1);
	CHECK(strstr(err.msg, "pids") != NULL);
}

static bool resolves(const char *path, const char *id, const char *own, const char *want)
{
	struct vs_error err = { 0 };
	char *out = NULL;
	if (vs_cgroup_resolve_path(path, id, own, &out, &err) < 0) {
		printf("#   %s: %s\n", path ? path : "(null)", err.msg);
		return false;
	}
	bool ok = strcmp(out, want) == 0;
	if (!ok)
		printf("#   %s -> %s, want %s\n", path ? path : "(null)", out, want);
	free(out);
	return ok;
}

static const char *refusal(const char *path, const char *id)
{
	static struct vs_error err;
	char *out = NULL;
	memset(&err, 0, sizeof(err));
	if (vs_cgroup_resolve_path(path, id, "/own", &out, &err) == 0) {
		free(out);
		return "";
	}
	return err.msg;
}

TEST(resolve_paths)
{
	CHECK(resolves(NULL, "c1", "/own", "/vessel/c1"));
	CHECK(resolves("", "c1", "/own", "/vessel/c1"));
	CHECK(resolves("/machine/c1", "c1", "/own", "/machine/c1"));
	CHECK(resolves("/a//b/./c/../d/", "c1", "/own", "/a/b/d"));
	CHECK(resolves("/../../x", "c1", "/own", "/x"));
	CHECK(resolves("pod/c1", "c1", "/user.slice/s", "/user.slice/s/pod/c1"));
	CHECK(resolves("../c1", "c1", "/a/b", "/a/c1"));
	CHECK(resolves("c1", "c1", "/", "/c1"));
	CHECK(strstr(refusal("system.slice:libpod:abc", "abc"), "systemd") != NULL);
	CHECK(strstr(refusal("system.slice:libpod:abc", "abc"), "not supported") != NULL);
	CHECK(strstr(refusal("/", "c1"), "root cgroup") != NULL);
	CHECK(strstr(refusal("/a/..", "c1"), "root cgroup") != NULL);
	CHECK(strstr(refusal(NULL, "a/b"), "cannot name a cgroup") != NULL);
	CHECK(strstr(refusal(NULL, ".."), "cannot name a cgroup") != NULL);
	CHECK(strstr(refusal("/a\nb", "c1"), "control characters") != NULL);
}

TEST(mount_dirs)
{
	struct vs_cgroup_mount plain = { "memory", "/sys/fs/cgroup/memory", "/", VS_CG_MEMORY };
	struct vs_cgroup_mount sub = { "memory", "/sys/fs/cgroup/memory/", "/ns", VS_CG_MEMORY };
	char *d = vs_cgroup_mount_dir(&plain, "/a/b");
	CHECK(d && strcmp(d, "/sys/fs/cgroup/memory/a/b") == 0);
	free(d);
	d = vs_cgroup_mount_dir(&sub, "/ns/a");
	CHECK(d && strcmp(d, "/sys/fs/cgroup/memory/a") == 0);
	free(d);
	d = vs_cgroup_mount_dir(&sub, "/nsx/a");
	CHECK(d && strcmp(d, "/sys/fs/cgroup/memory/nsx/a") == 0);
	free(d);
}

/* ---- fake trees ---- */

struct fake {
	char *tmp;
	char root[512], mountinfo[512], self[512];
	struct vs_cgroup_env env;
};

/* mounts: "name:controllers-option[:nodir]" entries, "" name for cgroup2
 * below the root, "=" for cgroup2 at the root. */
static int fake_init(struct fake *f, const char *const *mounts, size_t count)
{
	memset(f, 0, sizeof(*f));
	f->tmp = make_tmpdir();
	if (!f->tmp)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/cg", f->tmp);
	snprintf(f->mountinfo, sizeof(f->mountinfo), "%s/mountinfo", f->tmp);
	snprintf(f->self, sizeof(f->self), "%s/self", f->tmp);
	mkdir(f->root, 0755);
	FILE *mi = fopen(f->mountinfo, "w");
	if (!mi)
		return -1;
	for (size_t i = 0; i < count; i++) {
		char dir[600];
		const char *m = mounts[i];
		bool nodir = strstr(m, ":nodir") != NULL;
		if (strcmp(m, "=") == 0) {
			fprintf(mi, "%zu 1 0:1 / %s rw - cgroup2 cgroup2 rw\n", 100 + i, f->root);
			continue;
		}
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(m, ":"), m);
		snprintf(dir, sizeof(dir), "%s/%s", f->root, name[0] ? name : "unified");
		if (!nodir)
			mkdir(dir, 0755);
		if (name[0])
			fprintf(mi, "%zu 1 0:1 / %s rw - cgroup cgroup rw,%s\n", 100 + i, dir, name);
		else
			fprintf(mi, "%zu 1 0:1 / %s rw - cgroup2 cgroup2 rw\n", 100 + i, dir);
	}
	fclose(mi);
	put(f->tmp, "self", "3:memory:/\n2:pids:/\n1:freezer:/\n0::/\n");
	f->env.root = f->root;
	f->env.mountinfo = f->mountinfo;
	f->env.self_cgroup = f->self;
	return 0;
}

static void fake_fini(struct fake *f)
{
	if (f->tmp)
		rm_rf(f->tmp);
	free(f->tmp);
}

TEST(fake_hybrid_create_destroy)
{
	static const char *const mounts[] = { "memory", "pids", "" };
	struct fake f;
	struct vs_cgroup *cg = NULL;
	struct vs_error err = { 0 };
	char path[1024];
	if (fake_init(&f, mounts, 3) < 0)
		SKIP("cannot build a fake tree in /tmp");
	snprintf(path, sizeof(path), "%s/unified", f.root);
	put(path, "cgroup.controllers", "hugetlb pids");
	put(path, "cgroup.subtree_control", "pids");
	CHECK(vs_cgroup_create_in(&f.env, "/a/b", "c1", &cg, &err) == 0);
	if (cg) {
		const struct vs_cgroup_hierarchy *h;
		CHECK_EQ_U64(vs_cgroup_hierarchies(cg, &h), 3);
		CHECK_STREQ(vs_cgroup_manager_name(cg), "hybrid");
		snprintf(path, sizeof(path), "%s/memory/a/b", f.root);
		CHECK(strcmp(h[0].dir, path) == 0 && strcmp(h[0].name, "memory") == 0);
		CHECK(exists(path));
		snprintf(path, sizeof(path), "%s/unified/a/b", f.root);
		CHECK(strcmp(h[2].dir, path) == 0 && strcmp(h[2].name, "") == 0);
		CHECK(exists(path));
		/* On a hybrid host the v2 tree is left as it was: enabling a
		 * controller there would change the host for other runtimes. */
		snprintf(path, sizeof(path), "%s/unified", f.root);
		CHECK_STREQ(get(path, "cgroup.subtree_control"), "pids");
		CHECK(vs_cgroup_destroy(cg, &err) == 0);
		for (size_t i = 0; i < 3; i++)
			CHECK(!exists(h[i].dir));
		snprintf(path, sizeof(path), "%s/pids/a", f.root);
		CHECK(exists(path)); /* parents stay: other containers may share them */
		/* Destroying twice is fine. */
		CHECK(vs_cgroup_destroy(cg, &err) == 0);
		vs_cgroup_free(cg);
	}
	/* Relative to our own cgroup in each hierarchy. */
	put(f.tmp, "self", "3:memory:/m/n\n2:pids:/p\n0::/\n");
	cg = NULL;
	CHECK(vs_cgroup_create_in(&f.env, "rel", "c1", &cg, &err) == 0);
	if (cg) {
		snprintf(path, sizeof(path), "%s/memory/m/n/rel", f.root);
		CHECK(strcmp(cg->hier[0].dir, path) == 0 && exists(path));
		snprintf(path, sizeof(path), "%s/pids/p/rel", f.root);
		CHECK_STREQ(cg->hier[1].dir, path);
		vs_cgroup_free(cg);
	}
	fake_fini(&f);
}

TEST(fake_create_failure_leaves_nothing)
{
	/* freezer is mounted per mountinfo but its directory is missing,
	 * so creation fails after memory and pids were made. */
	static const char *const mounts[] = { "memory", "pids", "freezer:nodir" };
	struct fake f;
	struct vs_cgroup *cg = NULL;
	struct vs_error err = { 0 };
	char path[1024];
	if (fake_init(&f, mounts, 3) < 0)
		SKIP("cannot build a fake tree in /tmp");
	snprintf(path, sizeof(path), "%s/memory/kept", f.root);
	mkdir(path, 0755);
	CHECK(vs_cgroup_create_in(&f.env, "/kept/x/y", "c1", &cg, &err) == -1);
	CHECK(cg == NULL);
	CHECK(strstr(err.msg, "freezer/kept") != NULL);
	CHECK(strstr(err.msg, "No such file or directory") != NULL);
	snprintf(path, sizeof(path), "%s/memory/kept/x", f.root);
	CHECK(!exists(path));
	snprintf(path, sizeof(path), "%s/memory/kept", f.root);
	CHECK(exists(path)); /* not ours: left alone */
	snprintf(path, sizeof(path), "%s/pids/kept", f.root);
	CHECK(!exists(path));
	/* A systemd path is refused before anything is touched. */
	CHECK(vs_cgroup_create_in(&f.env, "machine.slice:vessel:c1", "c1", &cg, &err) == -1);
	CHECK(strstr(err.msg, "systemd") != NULL);
	fake_fini(&f);
}

static void init_files(const char *dir, const char *const *files)
{
	for (; *files; files += 2)
		put(dir, files[0], files[1]);
}

TEST(fake_v2_apply)
{
	static const char *const mounts[] = { "=" };
	static const char *const files[] = {
		"memory.max",  "max", "memory.low",	 "0",	       "memory.swap.max", "max",
		"cpu.weight",  "100", "cpu.max",	 "max 100000", "cpuset.cpus",	  "",
		"cpuset.mems", "",    "pids.max",	 "max",	       "io.weight",	  "default 100",
		"io.max",      "",    "hugetlb.2MB.max", "max",	       "memory.high",	  "max",
		NULL
	};
	struct fake f;
	struct vs_cgroup *cg = NULL;
	struct vs_error err = { 0 };
	if (fake_init(&f, mounts, 1) < 0)
		SKIP("cannot build a fake tree in /tmp");
	put(f.root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma");
	put(f.root, "cgroup.subtree_control", "");
	CHECK(vs_cgroup_create_in(&f.env, "/ctr", "c1", &cg, &err) == 0);
	CHECK(strcmp(get(f.root, "cgroup.subtree_control"),
		     "+cpuset +cpu +io +memory +hugetlb +pids +rdma") == 0);
	if (!cg) {
		fake_fini(&f);
		return;
	}
	const char *dir = cg->hier[0].dir;
	CHECK_STREQ(vs_cgroup_manager_name(cg), "v2");
	init_files(dir, files);

	struct vs_spec_resources r = { 0 };
	struct vs_spec_hugepage_limit hp = { "2MB", 4194304 };
	struct vs_spec_blkio_device rbps = { 8, 0, 1048576 };
	char *keys[] = { "memory.high", NULL }, *values[] = { "50331648", NULL };
	r.has_memory_limit = r.has_memory_swap = r.has_memory_reservation = true;
	r.memory_limit = 64 << 20;
	r.memory_swap = 96 << 20;
	r.memory_reservation = 32 << 20;
	r.has_cpu_shares = r.has_cpu_quota = r.has_cpu_period = true;
	r.cpu_shares = 1024;
	r.cpu_quota = 50000;
	r.cpu_period = 100000;
	r.cpu_cpus = "0";
	r.cpu_mems = "0";
	r.has_pids_limit = true;
	r.pids_limit = 50;
	r.has_blkio_weight = true;
	r.blkio_weight = 500;
	r.blkio_throttle_read_bps = &rbps;
	r.blkio_throttle_read_bps_count = 1;
	r.hugepage_limits = &hp;
	r.hugepage_limits_count = 1;
	r.unified_keys.v = keys;
	r.unified_keys.count = 1;
	r.unified_values.v = values;
	r.unified_values.count = 1;
	CHECK(vs_cgroup_apply(cg, &r, &err) == 0);
	CHECK_STREQ(get(dir, "memory.max"), "67108864");
	CHECK_STREQ(get(dir, "memory.low"), "33554432");
	CHECK(strcmp(get(dir, "memory.swap.max"), "33554432") == 0); /* 96M - 64M */
	CHECK_STREQ(get(dir, "cpu.weight"), "39");
	CHECK_STREQ(get(dir, "cpu.max"), "50000 100000");
	CHECK_STREQ(get(dir, "cpuset.cpus"), "0");
	CHECK_STREQ(get(dir, "pids.max"), "50");
	CHECK_STREQ(get(dir, "io.weight"), "default 4950");
	CHECK_STREQ(get(dir, "io.max"), "8:0 rbps=1048576");
	CHECK_STREQ(get(dir, "hugetlb.2MB.max"), "4194304");
	CHECK_STREQ(get(dir, "memory.high"), "50331648");

	/* update: a new period keeps the quota; -1 means max */
	struct vs_spec_resources u = { 0 };
	u.has_cpu_period = true;
	u.cpu_period = 200000;
	u.has_memory_limit = u.has_memory_swap = true;
	u.memory_limit = -1;
	u.memory_swap = -1;
	u.has_pids_limit = true;
	u.pids_limit = -1;
	CHECK(vs_cgroup_apply(cg, &u, &err) == 0);
	CHECK_STREQ(get(dir, "cpu.max"), "50000 200000");
	CHECK_STREQ(get(dir, "memory.max"), "max");
	CHECK_STREQ(get(dir, "memory.swap.max"), "max");
	CHECK_STREQ(get(dir, "pids.max"), "max");

	/* refusals name the field */
	struct vs_spec_resources bad = { 0 };
	bad.has_memory_limit = bad.has_memory_swap = true;
	bad.memory_limit = 64 << 20;
	bad.memory_swap = 32 << 20;
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "memory.swap (33554432) must be at least memory.limit (67108864)") != NULL);
	memset(&bad, 0, sizeof(bad));
	bad.has_cpu_rt_runtime = true;
	bad.cpu_rt_runtime = 1000;
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "realtime") != NULL);
	memset(&bad, 0, sizeof(bad));
	keys[0] = "rdma.max";
	bad.unified_keys.v = keys;
	bad.unified_keys.count = 1;
	bad.unified_values.v = values;
	bad.unified_values.count = 1;
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "unified: `rdma.max`: no such file") != NULL);
	keys[0] = "../x.max";
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "not a cgroup v2 file name") != NULL);
	keys[0] = "cgroup.procs";
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "managed by the runtime") != NULL);
	memset(&bad, 0, sizeof(bad));
	bad.has_pids_limit = true;
	bad.pids_limit = 5;
	char gone[1100];
	snprintf(gone, sizeof(gone), "%s/pids.max", dir);
	unlink(gone);
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "pids.max: writing 5: no such file (is the `pids` controller enabled") != NULL);
	vs_cgroup_free(cg);
	fake_fini(&f);
}

TEST(fake_v1_apply)
{
	static const char *const mounts[] = {
		"memory", "cpu,cpuacct", "pids", "blkio", "devices", "hugetlb"
	};
	struct fake f;
	struct vs_cgroup *cg = NULL;
	struct vs_error err = { 0 };
	char mem[1024], cpu[1024], blk[1024], dev[1024], huge[1024];
	if (fake_init(&f, mounts, VS_ARRAY_SIZE(mounts)) < 0)
		SKIP("cannot build a fake tree in /tmp");
	CHECK(vs_cgroup_create_in(&f.env, "/c", "c1", &cg, &err) == 0);
	if (!cg) {
		fake_fini(&f);
		return;
	}
	CHECK_STREQ(vs_cgroup_manager_name(cg), "v1");
	snprintf(mem, sizeof(mem), "%s/memory/c", f.root);
	snprintf(cpu, sizeof(cpu), "%s/cpu,cpuacct/c", f.root);
	snprintf(blk, sizeof(blk), "%s/blkio/c", f.root);
	snprintf(dev, sizeof(dev), "%s/devices/c", f.root);
	snprintf(huge, sizeof(huge), "%s/hugetlb/c", f.root);
	CHECK_STREQ(vs_cgroup_dir_for(cg, VS_CG_CPUACCT), cpu);
	static const char *const mem_files[] = { "memory.limit_in_bytes",
						 "9223372036854771712",
						 "memory.memsw.limit_in_bytes",
						 "9223372036854771712",
						 "memory.soft_limit_in_bytes",
						 "0",
						 "memory.swappiness",
						 "60",
						 "memory.oom_control",
						 "0",
						 NULL };
	static const char *const cpu_files[] = {
		"cpu.shares", "1024", "cpu.cfs_quota_us", "-1", "cpu.cfs_period_us", "100000", NULL
	};
	init_files(mem, mem_files);
	init_files(cpu, cpu_files);
	put(blk, "blkio.bfq.weight", "100");
	put(dev, "devices.allow", "");
	put(dev, "devices.deny", "");
	put(huge, "hugetlb.2MB.limit_in_bytes", "");
	char pids_dir[1024];
	snprintf(pids_dir, sizeof(pids_dir), "%s/pids/c", f.root);
	put(pids_dir, "pids.max", "max");

	struct vs_spec_resources r = { 0 };
	struct vs_spec_device_rule rules[] = { { false, 'a', -1, -1, "rwm" }, { true, 'c', 1, -1, "rw" } };
	struct vs_spec_hugepage_limit hp = { "2MB", 2097152 };
	r.has_memory_limit = r.has_memory_swap = r.has_memory_reservation = r.has_memory_swappiness = true;
	r.memory_limit = 64 << 20;
	r.memory_swap = 128 << 20;
	r.memory_reservation = 16 << 20;
	r.memory_swappiness = 10;
	r.disable_oom_killer = true;
	r.has_cpu_shares = r.has_cpu_quota = r.has_cpu_period = true;
	r.cpu_shares = 512;
	r.cpu_quota = 25000;
	r.cpu_period = 50000;
	r.has_pids_limit = true;
	r.pids_limit = 50;
	r.has_blkio_weight = true;
	r.blkio_weight = 300;
	r.devices = rules;
	r.devices_count = 2;
	r.hugepage_limits = &hp;
	r.hugepage_limits_count = 1;
	CHECK(vs_cgroup_apply(cg, &r, &err) == 0);
	CHECK_STREQ(get(mem, "memory.limit_in_bytes"), "67108864");
	CHECK_STREQ(get(mem, "memory.memsw.limit_in_bytes"), "134217728");
	CHECK_STREQ(get(mem, "memory.soft_limit_in_bytes"), "16777216");
	CHECK_STREQ(get(mem, "memory.swappiness"), "10");
	CHECK_STREQ(get(mem, "memory.oom_control"), "1");
	CHECK_STREQ(get(cpu, "cpu.shares"), "512");
	CHECK_STREQ(get(cpu, "cpu.cfs_quota_us"), "25000");
	CHECK_STREQ(get(cpu, "cpu.cfs_period_us"), "50000");
	CHECK_STREQ(get(pids_dir, "pids.max"), "50");
	CHECK(strcmp(get(blk, "blkio.bfq.weight"), "300") == 0); /* no CFQ: BFQ takes it */
	CHECK_STREQ(get(dev, "devices.deny"), "a");
	CHECK_STREQ(get(dev, "devices.allow"), "c 1:* rw");
	CHECK_STREQ(get(huge, "hugetlb.2MB.limit_in_bytes"), "2097152");

	struct vs_spec_resources bad = { 0 };
	char *keys[] = { "memory.high", NULL }, *values[] = { "1", NULL };
	bad.unified_keys.v = keys;
	bad.unified_keys.count = 1;
	bad.unified_values.v = values;
	bad.unified_values.count = 1;
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "unified: `memory.high` is a cgroup v2 setting") != NULL);
	memset(&bad, 0, sizeof(bad));
	bad.cpu_cpus = "0";
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "no `cpuset` cgroup hierarchy") != NULL);
	memset(&bad, 0, sizeof(bad));
	struct vs_spec_hugepage_limit evil = { "../x", 1 };
	bad.hugepage_limits = &evil;
	bad.hugepage_limits_count = 1;
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "bad page size") != NULL);
	memset(&bad, 0, sizeof(bad));
	bad.has_blkio_weight = true;
	bad.blkio_weight = 10;
	char gone[1100];
	snprintf(gone, sizeof(gone), "%s/blkio.bfq.weight", blk);
	unlink(gone);
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "linux.resources.blockIO.weight") != NULL);
	CHECK(strstr(err.msg, "no proportional weights") != NULL);
	/* The fake host mounts no net_cls hierarchy: refused, naming both. */
	memset(&bad, 0, sizeof(bad));
	bad.has_net_class_id = true;
	bad.net_class_id = 0x100001;
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "linux.resources.network.classID") != NULL);
	CHECK(strstr(err.msg, "net_cls") != NULL);
	memset(&bad, 0, sizeof(bad));
	bad.has_memory_swappiness = true;
	bad.memory_swappiness = 101;
	CHECK(vs_cgroup_apply(cg, &bad, &err) == -1);
	CHECK(strstr(err.msg, "out of range") != NULL);

	/* linux.devices and the default devices follow the user's rules */
	struct vs_spec_linux lx = { 0 };
	struct vs_spec_device fuse = { .path = "/dev/fuse", .type = 'c', .major = 10, .minor = 229 };
	struct vs_spec_device_rule deny_all = { false, 'a', -1, -1, "rwm" };
	lx.has_resources = true;
	lx.resources.devices = &deny_all;
	lx.resources.devices_count = 1;
	lx.devices = &fuse;
	lx.devices_count = 1;
	CHECK(vs_cgroup_apply_linux(cg, &lx, &err) == 0);
	CHECK(strcmp(get(dev, "devices.allow"), "c 136:* rwm") == 0); /* the last one: pts */
	vs_cgroup_free(cg);
	fake_fini(&f);
}

TEST(serialize_round_trip)
{
	static const char *const mounts[] = { "cpu,cpuacct", "name=systemd", "" };
	struct fake f;
	struct vs_cgroup *cg = NULL, *back = NULL;
	struct vs_error err = { 0 };
	if (fake_init(&f, mounts, 3) < 0)
		SKIP("cannot build a fake tree in /tmp");
	CHECK(vs_cgroup_create_in(&f.env, NULL, "ctr-1", &cg, &err) == 0);
	if (!cg) {
		fake_fini(&f);
		return;
	}
	char *s = vs_cgroup_serialize(cg);
	CHECK(s != NULL);
	CHECK(s && strncmp(s, "vessel-cgroup 1 hybrid\ncpu,cpuacct\t", 35) == 0);
	CHECK(s && vs_cgroup_open(s, &back, &err) == 0);
	if (back) {
		const struct vs_cgroup_hierarchy *a, *b;
		CHECK_EQ_U64(vs_cgroup_hierarchies(back, &b), vs_cgroup_hierarchies(cg, &a));
		for (size_t i = 0; i < cg->count && i < back->count; i++) {
			CHECK_STREQ(a[i].name, b[i].name);
			CHECK_STREQ(a[i].dir, b[i].dir);
			CHECK(cg->controllers[i] == back->controllers[i]);
		}
		CHECK(strstr(b[0].dir, "/vessel/ctr-1") != NULL);
		CHECK(back->ops == &vs_cgroup_hybrid_ops);
		vs_cgroup_free(back);
	}
	free(s);
	static const char *const bad[] = {
		"",
		"vessel-cgroup 2 v1\nmemory\t/x\n",
		"vessel-cgroup 1 v3\nmemory\t/x\n",
		"vessel-cgroup 1 v1\n",
		"vessel-cgroup 1 v1\nmemory /x\n",
		"vessel-cgroup 1 v1\nmemory\tx\n",
		"vessel-cgroup 1 v1\nmemory\t/a/../b\n",
		"vessel-cgroup 1 v1\nname=foo\t/a\n",
		"vessel-cgroup 1 v1\n\t/a\n",
		"vessel-cgroup 1 v2\nmemory\t/a\n",
		"vessel-cgroup 1 hybrid\nmemory\t/a\n",
		"vessel-cgroup 1 v1\nmemory\t/a",
	};
	for (size_t i = 0; i < VS_ARRAY_SIZE(bad); i++) {
		back = NULL;
		CHECK(vs_cgroup_open(bad[i], &back, &err) == -1);
		CHECK(back == NULL && strstr(err.msg, "cgroup state") != NULL);
	}
	vs_cgroup_destroy(cg, &err);
	vs_cgroup_free(cg);
	fake_fini(&f);
}

VS_TAP_MAIN(TAP_CASE(layout_hybrid), TAP_CASE(layout_v1_comounted), TAP_CASE(layout_v2_and_none),
	    TAP_CASE(layout_covered_mounts), TAP_CASE(layout_name_of_host), TAP_CASE(own_path_per_hierarchy),
	    TAP_CASE(resolve_paths), TAP_CASE(mount_dirs), TAP_CASE(fake_hybrid_create_destroy),
	    TAP_CASE(fake_create_failure_leaves_nothing), TAP_CASE(fake_v2_apply), TAP_CASE(fake_v1_apply),
	    TAP_CASE(serialize_round_trip))
