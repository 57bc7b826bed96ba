/* Security labels: the SELinux context= data each container mount gets
 * from linux.mountLabel, and the bytes written to /proc/thread-self/attr
 * for process.apparmorProfile and process.selinuxLabel, seen through a
 * scratch attr directory. This host has neither LSM, so applying a label
 * for real is not tested here; the refusal at create is. */
#include "container/lsm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tap.h"
#include "container/rootfs.h"
#include "util/cleanup.h"

#define LABEL "system_u:object_r:container_file_t:s0:c1,c2"

/* runc's default mounts, a tmpfs of the config's own and binds. */
static const char config[] =
    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
    "\"process\":{\"args\":[\"/bin/true\"],\"cwd\":\"/\"},"
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
    "\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]},"
    "{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    "\"options\":[\"context=\\\"system_u:object_r:var_run_t:s0\\\"\"]},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv\",\"options\":[\"rbind\"]},"
    "{\"destination\":\"/etc/hosts\",\"source\":\"/etc/hosts\",\"options\":[\"bind\",\"ro\"]}"
    "],\"linux\":{\"mountLabel\":\"" LABEL "\"}}";

/* What mount(2) would get as data for each mount above, in order; NULL
 * where the label must not be added. */
static const char *const expected[] = {
	NULL, /* proc: labelled by policy, refuses context= */
	"mode=755,size=65536k,context=\"" LABEL "\"",
	"newinstance,ptmxmode=0666,mode=0620,gid=5,context=\"" LABEL "\"",
	"mode=1777,size=65536k,context=\"" LABEL "\"",
	"context=\"" LABEL "\"", /* mqueue: no options of its own */
	NULL,			 /* sysfs */
	NULL,			 /* cgroup */
	NULL,			 /* the config chose a context itself */
	NULL,			 /* bind mounts ignore data */
	NULL,
};

TEST(mount_label_on_each_mount)
{
	struct vs_spec spec;
	struct vs_error err = { 0 };
	CHECK(vs_spec_parse(config, strlen(config), "/nonexistent-bundle", &spec, &err) == 0);
	CHECK_EQ_U64(spec.mounts_count, VS_ARRAY_SIZE(expected));
	if (spec.mounts_count != VS_ARRAY_SIZE(expected)) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK_STREQ(spec.linux.mount_label, LABEL);
	for (size_t i = 0; i < spec.mounts_count; i++) {
		const struct vs_spec_mount *m = &spec.mounts[i];
		struct vs_mount_opts o;
		char *data = (char *)"unset";
		CHECK(vs_mount_opts_parse(&m->options, &o, &err) == 0);
		if (m->type && strcmp(m->type, "bind") == 0)
			o.flags |= MS_BIND; /* as mount_dispatch does */
		CHECK(vs_mount_label_data(m->type, o.flags, o.data, spec.linux.mount_label, &data, &err) ==
		      0);
		if (expected[i])
			CHECK_STREQ(data ? data : "(none)", expected[i]);
		else
			CHECK(data == NULL);
		free(data);
		vs_mount_opts_free(&o);
	}
	vs_spec_free(&spec);
}

TEST(mount_label_edges)
{
	struct vs_error err = { 0 };
	char *data = (char *)"unset";
	/* No label: nothing added, whatever the type. */
	CHECK(vs_mount_label_data("tmpfs", 0, "mode=755", NULL, &data, &err) == 0 && !data);
	CHECK(vs_mount_label_data("tmpfs", 0, "mode=755", "", &data, &err) == 0 && !data);
	/* A remount keeps the context it has: changing it is refused. */
	CHECK(vs_mount_label_data("tmpfs", MS_REMOUNT, NULL, LABEL, &data, &err) == 0 && !data);
	CHECK(vs_mount_label_data("cgroup2", 0, NULL, LABEL, &data, &err) == 0 && !data);
	/* "fscontext=" is another option, not a context of the mount. */
	CHECK(vs_mount_label_data("tmpfs", 0, "fscontext=x", "l", &data, &err) == 0);
	CHECK_STREQ(data ? data : "(none)", "fscontext=x,context=\"l\"");
	free(data);
	CHECK(vs_mount_label_data("tmpfs", 0, "", "l", &data, &err) == 0);
	CHECK_STREQ(data ? data : "(none)", "context=\"l\"");
	free(data);
	/* A quote cannot be carried inside the quoted value. */
	CHECK(vs_mount_label_data("tmpfs", 0, NULL, "a\"b", &data, &err) < 0);
	CHECK(strstr(err.msg, "linux.mountLabel") != NULL);
}

/* ---- process labels through a scratch attr directory ---- */

static const char *slurp(const char *dir, const char *file)
{
	static char buf[256];
	char path[512];
	ssize_t n = -1;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return fd < 0 ? "<missing>" : buf;
}

static void touch(const char *dir, const char *file)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

static void remove_file(const char *dir, const char *file)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	unlink(path);
}

TEST(process_labels_written)
{
	char tmpl[] = "/tmp/vessel-lsm-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char sub[512];
	struct vs_error err = { 0 };
	struct vs_spec_process p = { 0 };
	if (!dir)
		SKIP("no scratch directory");
	snprintf(sub, sizeof(sub), "%s/apparmor", dir);

	/* A kernel with attr/apparmor/exec: the profile goes there. */
	mkdir(sub, 0700);
	touch(dir, "apparmor/exec");
	touch(dir, "exec");
	p.apparmor_profile = (char *)"vessel-default";
	CHECK(vs_lsm_set_exec_at(dir, &p, &err) == 0);
	CHECK_STREQ(slurp(dir, "apparmor/exec"), "exec vessel-default");
	CHECK_STREQ(slurp(dir, "exec"), "");

	/* Before Linux 5.8 only attr/exec exists. */
	remove_file(sub, "exec");
	rmdir(sub);
	CHECK(vs_lsm_set_exec_at(dir, &p, &err) == 0);
	CHECK_STREQ(slurp(dir, "exec"), "exec vessel-default");

	/* SELinux: the label as is, into attr/exec. */
	touch(dir, "exec");
	p.apparmor_profile = NULL;
	p.selinux_label = (char *)"system_u:system_r:container_t:s0:c1,c2";
	CHECK(vs_lsm_set_exec_at(dir, &p, &err) == 0);
	CHECK_STREQ(slurp(dir, "exec"), "system_u:system_r:container_t:s0:c1,c2");

	/* Neither file: an error naming the field. */
	remove_file(dir, "exec");
	CHECK(vs_lsm_set_exec_at(dir, &p, &err) < 0);
	CHECK(strstr(err.msg, "process.selinuxLabel") != NULL);
	rmdir(dir);
}

TEST(refused_without_the_lsm)
{
	struct vs_spec_process p = { 0 };
	struct vs_error err = { 0 };
	if (vs_lsm_selinux_enabled() || vs_lsm_apparmor_enabled())
		SKIP("this host has an LSM: the refusal cannot be seen");
	CHECK(vs_lsm_check(&p, NULL, &err) == 0);
	CHECK(vs_lsm_check(&p, LABEL, &err) < 0);
	CHECK(strstr(err.msg, "linux.mountLabel") && strstr(err.msg, "SELinux is not enabled"));
	p.selinux_label = (char *)"system_u:system_r:container_t:s0";
	CHECK(vs_lsm_check(&p, NULL, &err) < 0);
	CHECK(strstr(err.msg, "process.selinuxLabel") != NULL);
	p.selinux_label = NULL;
	p.apparmor_profile = (char *)"vessel-default";
	CHECK(vs_lsm_check(&p, NULL, &err) < 0);
	CHECK(strstr(err.msg, "process.apparmorProfile") && strstr(err.msg, "AppArmor is not enabled"));
}

VS_TAP_MAIN(TAP_CASE(mount_label_on_each_mount), TAP_CASE(mount_label_edges),
	    TAP_CASE(process_labels_written), TAP_CASE(refused_without_the_lsm))
