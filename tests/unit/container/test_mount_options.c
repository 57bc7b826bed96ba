/* Mount option parsing, rootfsPropagation values and container path
 * comparison: pure functions, no privileges needed. */
#include "container/rootfs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "util/cleanup.h"
#include "../tap.h"

#define STRV(...)                                                               \
	((struct vs_strv){ .v = (char **)(const char *[]){ __VA_ARGS__, NULL }, \
			   .count = sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *) })

static int parse1(const char *opt, struct vs_mount_opts *o, struct vs_error *err)
{
	char *v[] = { (char *)opt, NULL };
	struct vs_strv sv = { v, 1 };
	return vs_mount_opts_parse(&sv, o, err);
}

TEST(every_flag_option)
{
	static const struct {
		const char *opt;
		unsigned long flags, cleared;
	} cases[] = {
		{ "ro", MS_RDONLY, 0 },
		{ "rw", 0, MS_RDONLY },
		{ "nosuid", MS_NOSUID, 0 },
		{ "suid", 0, MS_NOSUID },
		{ "nodev", MS_NODEV, 0 },
		{ "dev", 0, MS_NODEV },
		{ "noexec", MS_NOEXEC, 0 },
		{ "exec", 0, MS_NOEXEC },
		{ "sync", MS_SYNCHRONOUS, 0 },
		{ "async", 0, MS_SYNCHRONOUS },
		{ "dirsync", MS_DIRSYNC, 0 },
		{ "remount", MS_REMOUNT, 0 },
		{ "mand", MS_MANDLOCK, 0 },
		{ "nomand", 0, MS_MANDLOCK },
		{ "atime", 0, MS_NOATIME },
		{ "noatime", MS_NOATIME, MS_RELATIME | MS_STRICTATIME },
		{ "diratime", 0, MS_NODIRATIME },
		{ "nodiratime", MS_NODIRATIME, 0 },
		{ "relatime", MS_RELATIME, MS_NOATIME | MS_STRICTATIME },
		{ "norelatime", 0, MS_RELATIME },
		{ "strictatime", MS_STRICTATIME, MS_NOATIME | MS_RELATIME },
		{ "nostrictatime", 0, MS_STRICTATIME },
		{ "lazytime", MS_LAZYTIME, 0 },
		{ "nolazytime", 0, MS_LAZYTIME },
		{ "iversion", MS_I_VERSION, 0 },
		{ "noiversion", 0, MS_I_VERSION },
		{ "silent", MS_SILENT, 0 },
		{ "loud", 0, MS_SILENT },
		{ "nosymfollow", MS_NOSYMFOLLOW, 0 },
		{ "symfollow", 0, MS_NOSYMFOLLOW },
		{ "bind", MS_BIND, 0 },
		{ "rbind", MS_BIND | MS_REC, 0 },
		{ "defaults", 0, 0 },
	};
	for (size_t i = 0; i < VS_ARRAY_SIZE(cases); i++) {
		struct vs_mount_opts o;
		struct vs_error err = { 0 };
		CHECK(parse1(cases[i].opt, &o, &err) == 0);
		if (o.flags != cases[i].flags || o.cleared != cases[i].cleared)
			printf("#   option %s: flags %#lx cleared %#lx\n", cases[i].opt, o.flags, o.cleared);
		CHECK_EQ_U64(o.flags, cases[i].flags);
		CHECK_EQ_U64(o.cleared, cases[i].cleared);
		CHECK(o.data == NULL && o.propagation == 0 && o.attr_set == 0 && o.attr_clr == 0);
		CHECK(o.recursive == (strcmp(cases[i].opt, "rbind") == 0));
		vs_mount_opts_free(&o);
	}
}

TEST(propagation_options)
{
	static const struct {
		const char *opt;
		unsigned long prop;
	} cases[] = {
		{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
		{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
		{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};
	for (size_t i = 0; i < VS_ARRAY_SIZE(cases); i++) {
		struct vs_mount_opts o;
		struct vs_error err = { 0 };
		CHECK(parse1(cases[i].opt, &o, &err) == 0);
		CHECK_EQ_U64(o.propagation, cases[i].prop);
		CHECK_EQ_U64(o.flags, 0); /* propagation never leaks into the mount flags */
		vs_mount_opts_free(&o);
	}
}

TEST(recursive_attributes)
{
	static const struct {
		const char *opt;
		uint64_t set, clr;
	} cases[] = {
		{ "rro", MOUNT_ATTR_RDONLY, 0 },
		{ "rrw", 0, MOUNT_ATTR_RDONLY },
		{ "rnosuid", MOUNT_ATTR_NOSUID, 0 },
		{ "rsuid", 0, MOUNT_ATTR_NOSUID },
		{ "rnodev", MOUNT_ATTR_NODEV, 0 },
		{ "rdev", 0, MOUNT_ATTR_NODEV },
		{ "rnoexec", MOUNT_ATTR_NOEXEC, 0 },
		{ "rexec", 0, MOUNT_ATTR_NOEXEC },
		{ "rnodiratime", MOUNT_ATTR_NODIRATIME, 0 },
		{ "rdiratime", 0, MOUNT_ATTR_NODIRATIME },
		{ "rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0 },
		{ "rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW },
		{ "rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME },
		{ "rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
		{ "rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
		{ "ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
		{ "rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
		{ "rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
	};
	for (size_t i = 0; i < VS_ARRAY_SIZE(cases); i++) {
		struct vs_mount_opts o;
		struct vs_error err = { 0 };
		CHECK(parse1(cases[i].opt, &o, &err) == 0);
		CHECK_EQ_U64(o.attr_set, cases[i].set);
		CHECK_EQ_U64(o.attr_clr, cases[i].clr);
		CHECK_EQ_U64(o.flags, 0);
		vs_mount_opts_free(&o);
	}
}

TEST(combinations_last_one_wins)
{
	struct vs_error err = { 0 };
	struct vs_mount_opts o;
	struct vs_strv a = STRV("ro", "nosuid", "nodev", "noexec", "relatime", "rprivate");
	struct vs_strv b = STRV("ro", "noatime", "strictatime", "rw", "shared", "rslave");
	struct vs_strv c = STRV("rbind", "bind", "rro", "rrw", "rnoatime", "rstrictatime");
	struct vs_strv d = STRV("tmpcopyup", "notmpcopyup", "z", "Z", "U", "copy", "nocopy");

	CHECK(vs_mount_opts_parse(&a, &o, &err) == 0);
	CHECK_EQ_U64(o.flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
	CHECK_EQ_U64(o.propagation, MS_PRIVATE | MS_REC);
	vs_mount_opts_free(&o);

	CHECK(vs_mount_opts_parse(&b, &o, &err) == 0);
	CHECK_EQ_U64(o.flags, MS_STRICTATIME);
	CHECK_EQ_U64(o.cleared, MS_RDONLY | MS_NOATIME | MS_RELATIME);
	CHECK_EQ_U64(o.propagation, MS_SLAVE | MS_REC);
	vs_mount_opts_free(&o);

	CHECK(vs_mount_opts_parse(&c, &o, &err) == 0);
	CHECK_EQ_U64(o.flags, MS_BIND);
	CHECK(!o.recursive);
	CHECK_EQ_U64(o.attr_set, MOUNT_ATTR_STRICTATIME);
	CHECK_EQ_U64(o.attr_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR__ATIME);
	vs_mount_opts_free(&o);

	CHECK(vs_mount_opts_parse(&d, &o, &err) == 0);
	CHECK(!o.tmpcopyup);
	CHECK_EQ_U64(o.flags, 0);
	CHECK(o.data == NULL);
	vs_mount_opts_free(&o);

	CHECK(parse1("tmpcopyup", &o, &err) == 0);
	CHECK(o.tmpcopyup);
	vs_mount_opts_free(&o);
}

TEST(data_passthrough)
{
	struct vs_error err = { 0 };
	struct vs_mount_opts o;
	struct vs_strv devpts =
	    STRV("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5");
	struct vs_strv tmpfs = STRV("mode=755", "nosuid", "size=65536k", "inode64");
	struct vs_strv none = { NULL, 0 };

	CHECK(vs_mount_opts_parse(&devpts, &o, &err) == 0);
	CHECK(o.data && strcmp(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5") == 0);
	CHECK_EQ_U64(o.flags, MS_NOSUID | MS_NOEXEC);
	vs_mount_opts_free(&o);
	CHECK(o.data == NULL);

	CHECK(vs_mount_opts_parse(&tmpfs, &o, &err) == 0);
	CHECK(o.data && strcmp(o.data, "mode=755,size=65536k,inode64") == 0);
	CHECK_EQ_U64(o.flags, MS_NOSUID);
	vs_mount_opts_free(&o);

	CHECK(vs_mount_opts_parse(&none, &o, &err) == 0);
	CHECK(o.data == NULL && o.flags == 0 && o.propagation == 0 && !o.recursive);
	CHECK(vs_mount_opts_parse(NULL, &o, &err) == 0);
	CHECK(o.data == NULL && o.flags == 0);
}

TEST(unknown_option_is_named)
{
	struct vs_error err = { 0 };
	struct vs_mount_opts o;
	struct vs_strv bad = STRV("nosuid", "mode=755", "noexc", "ro");
	struct vs_strv empty = STRV("ro", "");

	CHECK(vs_mount_opts_parse(&bad, &o, &err) < 0);
	CHECK(strstr(err.msg, "`noexc`") != NULL);
	CHECK(o.data == NULL); /* the partial data string was released */

	CHECK(vs_mount_opts_parse(&empty, &o, &err) < 0);
	CHECK(strstr(err.msg, "empty") != NULL);

	CHECK(parse1("idmap", &o, &err) < 0);
	CHECK(strstr(err.msg, "`idmap`") != NULL);
	CHECK(parse1("RO", &o, &err) < 0); /* options are case-sensitive */
	CHECK(strstr(err.msg, "`RO`") != NULL);
}

TEST(short_form)
{
	struct vs_error err = { 0 };
	struct vs_strv a = STRV("rbind", "ro", "rslave", "size=1k");
	struct vs_strv bad = STRV("bogus");
	unsigned long flags = 1, prop = 1;
	char *data = NULL;
	bool rec = false;

	CHECK(vs_mount_options_parse(&a, &flags, &prop, &data, &rec, &err) == 0);
	CHECK_EQ_U64(flags, MS_BIND | MS_REC | MS_RDONLY);
	CHECK_EQ_U64(prop, MS_SLAVE | MS_REC);
	CHECK(rec);
	CHECK(data && strcmp(data, "size=1k") == 0);
	free(data);

	CHECK(vs_mount_options_parse(&bad, &flags, &prop, &data, &rec, &err) < 0);
	CHECK(strstr(err.msg, "`bogus`") != NULL);
}

TEST(rootfs_propagation_values)
{
	static const struct {
		const char *v;
		unsigned long early, late;
	} cases[] = {
		{ NULL, MS_PRIVATE | MS_REC, 0 },
		{ "", MS_PRIVATE | MS_REC, 0 },
		{ "private", MS_PRIVATE, 0 },
		{ "rprivate", MS_PRIVATE | MS_REC, 0 },
		{ "slave", MS_SLAVE, 0 },
		{ "rslave", MS_SLAVE | MS_REC, 0 },
		{ "shared", MS_SHARED, MS_SHARED },
		{ "rshared", MS_SHARED | MS_REC, MS_SHARED | MS_REC },
		{ "unbindable", MS_PRIVATE, MS_UNBINDABLE },
		{ "runbindable", MS_PRIVATE | MS_REC, MS_UNBINDABLE | MS_REC },
	};
	struct vs_error err = { 0 };
	unsigned long early, late;
	for (size_t i = 0; i < VS_ARRAY_SIZE(cases); i++) {
		CHECK(vs_rootfs_propagation(cases[i].v, &early, &late, &err) == 0);
		CHECK_EQ_U64(early, cases[i].early);
		CHECK_EQ_U64(late, cases[i].late);
	}
	CHECK(vs_rootfs_propagation("rsharedd", &early, &late, &err) < 0);
	CHECK(strstr(err.msg, "`rsharedd`") != NULL);
}

TEST(container_path_equality)
{
	CHECK(vs_rootfs_path_eq("/dev", "/dev"));
	CHECK(vs_rootfs_path_eq("/dev/", "/dev"));
	CHECK(vs_rootfs_path_eq("//dev//", "/dev"));
	CHECK(vs_rootfs_path_eq("/dev//pts", "/dev/pts/"));
	CHECK(vs_rootfs_path_eq("/", "//"));
	CHECK(!vs_rootfs_path_eq("/dev", "/devices"));
	CHECK(!vs_rootfs_path_eq("/dev/pts", "/dev"));
	CHECK(!vs_rootfs_path_eq("/proc", "/dev"));
}

VS_TAP_MAIN(TAP_CASE(every_flag_option), TAP_CASE(propagation_options), TAP_CASE(recursive_attributes),
	    TAP_CASE(combinations_last_one_wins), TAP_CASE(data_passthrough),
	    TAP_CASE(unknown_option_is_named), TAP_CASE(short_form), TAP_CASE(rootfs_propagation_values),
	    TAP_CASE(container_path_equality))
