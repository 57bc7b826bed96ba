/* ps, update, features, spec. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/oci/oci.h"
#include "container/caps.h"
#include "container/cgroup.h"
#include "container/lsm.h"
#include "container/container.h"
#include "container/state.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/json.h"

static bool pid_in(pid_t pid, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Table format: the host's `ps` output (with the caller's options), the
 * header and the lines whose PID column belongs to the container. */
static int ps_table(const pid_t *pids, size_t n, int argc, char **argv)
{
	char cmd[4096] = "ps";
	size_t len = 2;
	char line[4096];
	int pid_col = -1;
	FILE *p;
	if (argc == 0) {
		strcpy(cmd, "ps -ef");
	} else {
		for (int i = 0; i < argc; i++) {
			/* only plain option words: no shell metacharacters */
			if (strspn(argv[i],
				   "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,=:") !=
			    strlen(argv[i]))
				return -1;
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %s", argv[i]);
		}
	}
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char copy[4096], *tok, *save;
		int col = 0;
		long pid = -1;
		strcpy(copy, line);
		if (pid_col < 0) {
			for (tok = strtok_r(copy, " \t\n", &save); tok;
			     tok = strtok_r(NULL, " \t\n", &save), col++)
				if (strcmp(tok, "PID") == 0)
					pid_col = col;
			fputs(line, stdout);
			continue;
		}
		for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++)
			if (col == pid_col)
				pid = strtol(tok, NULL, 10);
		if (pid > 0 && pid_in((pid_t)pid, pids, n))
			fputs(line, stdout);
	}
	return pclose(p) == 0 ? 0 : -1;
}

int oci_ps(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { NULL, 0, NULL, 0 } };
	struct vs_error err = { 0 };
	vs_autofree pid_t *pids = NULL;
	size_t n = 0;
	bool json = false;
	int opt;
	const char *id;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (opt != 'f' || (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)) {
			oci_error(g, "ps: usage: vessel-oci ps [--format table|json] ID [ps options]");
			return 1;
		}
		json = strcmp(optarg, "json") == 0;
	}
	if (optind >= argc) {
		oci_error(g, "ps: missing container id");
		return 1;
	}
	id = argv[optind];
	if (vs_container_pids(g->root, id, &pids, &n, &err) < 0) {
		oci_error(g, "ps %s: %s", id, err.msg);
		return 1;
	}
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		return 0;
	}
	if (ps_table(pids, n, argc - optind - 1, argv + optind + 1) < 0) {
		oci_error(g, "ps %s: running the host's ps failed (check its options)", id);
		return 1;
	}
	return 0;
}

/* `update` reuses the config parser: the resources object is parsed as
 * linux.resources of a minimal config, so validation is the same. */
static int parse_resources(const char *resources_json, struct vs_spec *spec, struct vs_error *err)
{
	vs_autofree char *doc = NULL;
	if (asprintf(&doc,
		     "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"/\"},\"linux\":{\"resources\":%s}}",
		     resources_json) < 0)
		return vs_error_set(err, ENOMEM, "resources");
	return vs_spec_parse(doc, strlen(doc), "/", spec, err);
}

/* A memory size as runc's update takes it (docker's RAMInBytes): a
 * number, maybe with a fraction, an optional space, then an optional unit
 * k/m/g/t/p (either case, powers of 1024), an optional i and an optional
 * b; "-1" means no limit. */
static int parse_ram(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	char *end;
	double v;
	int shift = 0;
	if (strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	if (!(*s >= '0' && *s <= '9'))
		return -1;
	v = strtod(s, &end);
	if (*end == ' ')
		end++;
	if (*end) {
		const char *u = strchr(units, tolower((unsigned char)*end));
		if (u && *u) {
			shift = 10 * (int)(u - units + 1);
			end++;
		}
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || !(v >= 0) || strpbrk(s, "xXnNeE") || v * (double)(1ull << shift) >= 9.2e18)
		return -1;
	*out = (int64_t)(v * (double)(1ull << shift));
	return 0;
}

int oci_update(const struct oci_globals *g, int argc, char **argv)
{
	static const struct {
		const char *flag, *path; /* JSON path inside resources: "memory.limit" */
		bool string, ram;	 /* ram: a size with runc's units (64M) */
	} flags[] = {
		{ "memory", "memory.limit", false, true },
		{ "memory-reservation", "memory.reservation", false, true },
		{ "memory-swap", "memory.swap", false, true },
		{ "kernel-memory", "memory.kernel", false, true },
		{ "cpu-shares", "cpu.shares", false },
		{ "cpu-quota", "cpu.quota", false },
		{ "cpu-period", "cpu.period", false },
		{ "cpu-rt-runtime", "cpu.realtimeRuntime", false },
		{ "cpu-rt-period", "cpu.realtimePeriod", false },
		{ "cpuset-cpus", "cpu.cpus", true },
		{ "cpuset-mems", "cpu.mems", true },
		{ "pids-limit", "pids.limit", false },
		{ "blkio-weight", "blockIO.weight", false },
	};
	enum { NFLAGS = sizeof(flags) / sizeof(flags[0]) };
	struct option opts[NFLAGS + 2];
	const char *values[NFLAGS] = { 0 };
	const char *resources_file = NULL, *id;
	vs_autofree uint8_t *file_json = NULL;
	struct vs_spec spec;
	struct vs_error err = { 0 };
	size_t len;
	int opt, idx, rc;
	char json[4096];
	char ram_values[NFLAGS][24];
	size_t jl = 0;

	for (int i = 0; i < NFLAGS; i++)
		opts[i] = (struct option){ flags[i].flag, required_argument, NULL, 1000 + i };
	opts[NFLAGS] = (struct option){ "resources", required_argument, NULL, 'r' };
	opts[NFLAGS + 1] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":r:", opts, &idx)) != -1) {
		if (opt == 'r')
			resources_file = optarg;
		else if (opt >= 1000 && opt < 1000 + NFLAGS)
			values[opt - 1000] = optarg;
		else {
			oci_error(g, "update: bad option `%s`", argv[optind - 1]);
			return 1;
		}
	}
	if (!(id = oci_one_id(g, "update", argc, argv, optind)))
		return 1;
	if (resources_file) {
		const char *path = strcmp(resources_file, "-") == 0 ? "/dev/stdin" : resources_file;
		if (vs_read_file(path, "resources", 1u << 20, &file_json, &len, &err) < 0) {
			oci_error(g, "update %s: %s", id, err.msg);
			return 1;
		}
	} else {
		/* Build {"memory":{"limit":N},...} from the flags. */
		const char *last_group = NULL;
		jl += (size_t)snprintf(json + jl, sizeof(json) - jl, "{");
		for (int i = 0; i < NFLAGS; i++) {
			const char *dot = strchr(flags[i].path, '.');
			size_t glen = (size_t)(dot - flags[i].path);
			char *end;
			if (!values[i])
				continue;
			if (flags[i].ram) {
				int64_t bytes;
				if (parse_ram(values[i], &bytes) < 0) {
					oci_error(g,
						  "update: --%s `%s` is not a size (bytes, or with a unit: "
						  "64M, 1g, 512KiB; -1 for no limit)",
						  flags[i].flag, values[i]);
					return 1;
				}
				snprintf(ram_values[i], sizeof(ram_values[i]), "%lld", (long long)bytes);
				values[i] = ram_values[i];
			}
			if (!flags[i].string) {
				strtoll(values[i], &end, 10);
				if (*end || end == values[i]) {
					oci_error(g, "update: --%s `%s` is not a number", flags[i].flag,
						  values[i]);
					return 1;
				}
			}
			if (!last_group || strncmp(last_group, flags[i].path, glen) != 0 ||
			    last_group[glen] != '.')
				jl += (size_t)snprintf(json + jl, sizeof(json) - jl, "%s\"%.*s\":{",
						       last_group ? "}," : "", (int)glen, flags[i].path);
			else
				jl += (size_t)snprintf(json + jl, sizeof(json) - jl, ",");
			jl += (size_t)snprintf(json + jl, sizeof(json) - jl,
					       flags[i].string ? "\"%s\":\"%s\"" : "\"%s\":%s", dot + 1,
					       values[i]);
			last_group = flags[i].path;
		}
		snprintf(json + jl, sizeof(json) - jl, "%s}", last_group ? "}" : "");
	}
	if (parse_resources(file_json ? (const char *)file_json : json, &spec, &err) < 0) {
		oci_error(g, "update %s: %s", id, err.msg);
		return 1;
	}
	rc = vs_container_update(g->root, id, &spec.linux.resources, &err);
	vs_spec_free(&spec);
	if (rc < 0) {
		oci_error(g, "update %s: %s", id, err.msg);
		return 1;
	}
	return 0;
}

int oci_features(const struct oci_globals *g, int argc, char **argv)
{
	static const char *const hooks[] = { "prestart",       "createRuntime", "createContainer",
					     "startContainer", "poststart",	"poststop" };
	static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "user", "uts" };
	static const char *const mount_options[] = {
		"async",      "atime",	       "bind",	  "defaults", "dev",	     "diratime", "dirsync",
		"exec",	      "mand",	       "noatime", "nodev",    "nodiratime",  "noexec",	 "nomand",
		"norelatime", "nostrictatime", "nosuid",  "private",  "rbind",	     "relatime", "remount",
		"ro",	      "rprivate",      "rshared", "rslave",   "runbindable", "rw",	 "shared",
		"slave",      "strictatime",   "suid",	  "sync",     "unbindable",
	};
	static const char *const actions[] = { "SCMP_ACT_ALLOW",       "SCMP_ACT_ERRNO",
					       "SCMP_ACT_KILL",	       "SCMP_ACT_KILL_PROCESS",
					       "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
					       "SCMP_ACT_NOTIFY",      "SCMP_ACT_TRACE",
					       "SCMP_ACT_TRAP" };
	static const char *const ops[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE",	"SCMP_CMP_GT", "SCMP_CMP_LE",
					   "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE" };
	static const char *const archs[] = { "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32" };
	struct vs_json_writer w;
	char *text = NULL;
	size_t len;
	struct vs_error err = { 0 };
	(void)argv;
	if (argc > 1) {
		oci_error(g, "features takes no arguments");
		return 1;
	}
#define STR_ARRAY(key, list)                                                   \
	do {                                                                   \
		vs_jw_key(&w, key);                                            \
		vs_jw_array_begin(&w);                                         \
		for (size_t i_ = 0; i_ < sizeof(list) / sizeof(list[0]); i_++) \
			vs_jw_string(&w, list[i_]);                            \
		vs_jw_array_end(&w);                                           \
	} while (0)
	vs_jw_init(&w, 4);
	vs_jw_object_begin(&w);
	vs_jw_kv_string(&w, "ociVersionMin", "1.0.0");
	vs_jw_kv_string(&w, "ociVersionMax", VS_OCI_VERSION);
	STR_ARRAY("hooks", hooks);
	STR_ARRAY("mountOptions", mount_options);
	vs_jw_key(&w, "linux");
	vs_jw_object_begin(&w);
	STR_ARRAY("namespaces", namespaces);
	vs_jw_key(&w, "capabilities");
	vs_jw_array_begin(&w);
	for (int c = 0; c <= vs_caps_last_supported(); c++)
		if (vs_caps_name(c))
			vs_jw_string(&w, vs_caps_name(c));
	vs_jw_array_end(&w);
	vs_jw_key(&w, "cgroup");
	vs_jw_object_begin(&w);
	vs_jw_kv_bool(&w, "v1", true);
	vs_jw_kv_bool(&w, "v2", true);
	vs_jw_kv_bool(&w, "systemd", false);
	vs_jw_kv_bool(&w, "systemdUser", false);
	vs_jw_kv_bool(&w, "rdma", vs_cgroup_host_has("rdma"));
	vs_jw_object_end(&w);
	vs_jw_key(&w, "seccomp");
	vs_jw_object_begin(&w);
	vs_jw_kv_bool(&w, "enabled", true);
	STR_ARRAY("actions", actions);
	STR_ARRAY("operators", ops);
	STR_ARRAY("archs", archs);
	vs_jw_object_end(&w);
	vs_jw_key(&w, "apparmor");
	vs_jw_object_begin(&w);
	vs_jw_kv_bool(&w, "enabled", vs_lsm_apparmor_enabled());
	vs_jw_object_end(&w);
	vs_jw_key(&w, "selinux");
	vs_jw_object_begin(&w);
	vs_jw_kv_bool(&w, "enabled", vs_lsm_selinux_enabled());
	vs_jw_object_end(&w);
	vs_jw_object_end(&w);
	/* What the spec's schema has no field for: the cgroup controllers
	 * whose limits this host can apply (a limit for another is refused
	 * at create). */
	vs_jw_key(&w, "annotations");
	vs_jw_object_begin(&w);
	{
		static const char *const ctrls[] = { "cpu",	"cpuset",  "memory",   "pids",
						     "blkio",	"io",	   "devices",  "freezer",
						     "hugetlb", "net_cls", "net_prio", "rdma" };
		char list[256] = "";
		for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++)
			if (vs_cgroup_host_has(ctrls[i])) {
				size_t used = strlen(list);
				snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "", ctrls[i]);
			}
		vs_jw_kv_string(&w, "org.vessel.cgroup.controllers", list);
	}
	vs_jw_object_end(&w);
	vs_jw_object_end(&w);
#undef STR_ARRAY
	if (vs_jw_finish(&w, &text, &len, &err) < 0) {
		oci_error(g, "features: %s", err.msg);
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

/* The default config `spec` writes: what runc spec writes, in spirit: a
 * shell in a rootfs/ directory with the usual mounts and a small
 * capability set. */
static const char default_spec[] =
    "{\n"
    "\t\"ociVersion\": \"" VS_OCI_VERSION "\",\n"
    "\t\"process\": {\n"
    "\t\t\"terminal\": true,\n"
    "\t\t\"user\": { \"uid\": 0, \"gid\": 0 },\n"
    "\t\t\"args\": [ \"sh\" ],\n"
    "\t\t\"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\" "
    "],\n"
    "\t\t\"cwd\": \"/\",\n"
    "\t\t\"capabilities\": {\n"
    "\t\t\t\"bounding\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
    "\t\t\t\"effective\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
    "\t\t\t\"permitted\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ]\n"
    "\t\t},\n"
    "\t\t\"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
    "\t\t\"noNewPrivileges\": true\n"
    "\t},\n"
    "\t\"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
    "\t\"hostname\": \"vessel\",\n"
    "\t\"mounts\": [\n"
    "\t\t{ \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
    "\t\t{ \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
    "\t\t{ \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", "
    "\"gid=5\" ] },\n"
    "\t\t{ \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
    "\t\t{ \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
    "\t\t{ \"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] },\n"
    "\t\t{ \"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\" ] }\n"
    "\t],\n"
    "\t\"linux\": {\n"
    "\t\t\"resources\": { \"devices\": [ { \"allow\": false, \"access\": \"rwm\" } ] },\n"
    "\t\t\"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"network\" }, { \"type\": \"ipc\" },\n"
    "\t\t\t{ \"type\": \"uts\" }, { \"type\": \"mount\" }, { \"type\": \"cgroup\" } ],\n"
    "\t\t\"maskedPaths\": [ \"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\",\n"
    "\t\t\t\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\",\n"
    "\t\t\t\"/sys/firmware\", \"/proc/scsi\" ],\n"
    "\t\t\"readonlyPaths\": [ \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", "
    "\"/proc/sysrq-trigger\" ]\n"
    "\t}\n"
    "}\n";

/* The rootless variant (runc spec --rootless): a user namespace mapping
 * root to the caller's uid and gid (the two hostIDs), the host's network
 * (an unprivileged user cannot set up another), so /sys is a read-only
 * bind of the host's; no cgroup mount nor resources (an unprivileged user
 * may own no cgroup); devpts without gid=5 (not mapped). */
static const char rootless_spec_fmt[] =
    "{\n"
    "\t\"ociVersion\": \"" VS_OCI_VERSION "\",\n"
    "\t\"process\": {\n"
    "\t\t\"terminal\": true,\n"
    "\t\t\"user\": { \"uid\": 0, \"gid\": 0 },\n"
    "\t\t\"args\": [ \"sh\" ],\n"
    "\t\t\"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\" "
    "],\n"
    "\t\t\"cwd\": \"/\",\n"
    "\t\t\"capabilities\": {\n"
    "\t\t\t\"bounding\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
    "\t\t\t\"effective\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
    "\t\t\t\"permitted\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ]\n"
    "\t\t},\n"
    "\t\t\"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
    "\t\t\"noNewPrivileges\": true\n"
    "\t},\n"
    "\t\"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
    "\t\"hostname\": \"vessel\",\n"
    "\t\"mounts\": [\n"
    "\t\t{ \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
    "\t\t{ \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
    "\t\t{ \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\" ] },\n"
    "\t\t{ \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
    "\t\t{ \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
    "\t\t{ \"destination\": \"/sys\", \"type\": \"none\", \"source\": \"/sys\",\n"
    "\t\t  \"options\": [ \"rbind\", \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] }\n"
    "\t],\n"
    "\t\"linux\": {\n"
    "\t\t\"uidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
    "\t\t\"gidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
    "\t\t\"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"ipc\" }, { \"type\": \"uts\" },\n"
    "\t\t\t{ \"type\": \"mount\" }, { \"type\": \"user\" } ],\n"
    "\t\t\"maskedPaths\": [ \"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\",\n"
    "\t\t\t\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\",\n"
    "\t\t\t\"/sys/firmware\", \"/proc/scsi\" ],\n"
    "\t\t\"readonlyPaths\": [ \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", "
    "\"/proc/sysrq-trigger\" ]\n"
    "\t}\n"
    "}\n";

int oci_spec(const struct oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' },
					      { "rootless", no_argument, NULL, 'r' },
					      { NULL, 0, NULL, 0 } };
	const char *bundle = ".";
	char path[4096];
	vs_autofree char *rootless = NULL;
	const char *text = default_spec;
	size_t len = sizeof(default_spec) - 1;
	int opt;
	vs_autoclose int fd = -1;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
		if (opt == 'b')
			bundle = optarg;
		else if (opt == 'r') {
			int n =
			    asprintf(&rootless, rootless_spec_fmt, (unsigned)getuid(), (unsigned)getgid());
			if (n < 0) {
				oci_error(g, "spec: out of memory");
				return 1;
			}
			text = rootless;
			len = (size_t)n;
		} else {
			oci_error(g, "spec: unknown option `%s`", argv[optind - 1]);
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		oci_error(g, "spec: `%s`: %s", path, errno == EEXIST ? "already exists" : strerror(errno));
		return 1;
	}
	if (vs_write_all(fd, text, len) < 0) {
		oci_error(g, "spec: writing `%s`: %s", path, strerror(errno));
		unlink(path);
		return 1;
	}
	return 0;
}
