/* config.json parsing: every field of a full configuration, the minimal
 * one, tolerance of extensions, and each validation error naming its JSON
 * path. Configs are written with ' for " to keep them readable. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "container/spec.h"
#include "tap.h"

#define CAP(n) (1ull << (n))

/* Single quotes to double quotes (the configs here use no apostrophes). */
static char *dq(const char *sq)
{
	char *s = strdup(sq);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static int parse_sq(const char *sq, const char *bundle, struct vs_spec *spec, struct vs_error *err)
{
	char *json = dq(sq);
	int ret;
	vs_error_clear(err);
	ret = vs_spec_parse(json, strlen(json), bundle, spec, err);
	free(json);
	return ret;
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool strv_is(const struct vs_strv *v, size_t n, const char *const *want)
{
	if (v->count != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!streq(v->v[i], want[i]))
			return false;
	return n == 0 || v->v[n] == NULL;
}

#define STRV_IS(v, ...)                                                              \
	strv_is((v), sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
		(const char *[]){ __VA_ARGS__ })

static const char full_config[] =
    "{'ociVersion': '1.1.0',"
    " 'process': {'terminal': true, 'consoleSize': {'height': 25, 'width': 80},"
    "  'user': {'uid': 1000, 'gid': 1001, 'umask': 18, 'additionalGids': [5, 6, 4294967295], 'username': "
    "'u'},"
    "  'args': ['sh', '-c', 'echo hi'], 'env': ['PATH=/usr/bin:/bin', 'TERM=xterm'], 'cwd': '/home/user',"
    "  'capabilities': {'bounding': ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', "
    "'CAP_CHECKPOINT_RESTORE'],"
    "   'effective': ['CAP_AUDIT_WRITE', 'CAP_KILL'], 'inheritable': [],"
    "   'permitted': ['CAP_CHOWN', 'CAP_KILL'], 'ambient': ['CAP_NET_BIND_SERVICE']},"
    "  'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1024, 'soft': 512},"
    "   {'type': 'RLIMIT_CORE', 'hard': 18446744073709551615, 'soft': 0}],"
    "  'noNewPrivileges': true, 'apparmorProfile': 'container-default',"
    "  'selinuxLabel': 'system_u:system_r:container_t:s0:c1,c2', 'oomScoreAdj': -500,"
    "  'ioPriority': {'class': 'IOPRIO_CLASS_IDLE'}},"
    " 'root': {'path': 'rootfs', 'readonly': true},"
    " 'hostname': 'box', 'domainname': 'example.org',"
    " 'mounts': [{'destination': '/proc', 'type': 'proc', 'source': 'proc'},"
    "  {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',"
    "   'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},"
    "  {'destination': '/data', 'type': 'bind', 'source': 'volumes/data', 'options': ['rbind', 'ro']},"
    "  {'destination': '/srv', 'source': '/host/srv', 'options': ['bind'],"
    "   'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
    "   'gidMappings': [{'containerID': 0, 'hostID': 200000, 'size': 1000}]}],"
    " 'hooks': {'prestart': [{'path': '/usr/bin/prestart', 'args': ['prestart', 'a'], 'env': ['K=V'],"
    "   'timeout': 5}],"
    "  'createRuntime': [{'path': '/bin/cr1'}, {'path': '/bin/cr2', 'timeout': 1}],"
    "  'createContainer': [{'path': '/bin/cc'}], 'startContainer': [{'path': '/bin/sc'}],"
    "  'poststart': [{'path': '/bin/ps'}], 'poststop': [{'path': '/bin/pst', 'args': ['pst']}]},"
    " 'annotations': {'org.example.key': 'value', 'io.podman.annotations.autoremove': 'FALSE'},"
    " 'linux': {"
    "  'namespaces': [{'type': 'pid'}, {'type': 'network', 'path': '/var/run/netns/n1'}, {'type': 'ipc'},"
    "   {'type': 'uts'}, {'type': 'mount'}, {'type': 'user'}, {'type': 'cgroup'}, {'type': 'time'}],"
    "  'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
    "  'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536},"
    "   {'containerID': 65536, 'hostID': 4294901760, 'size': 65536}],"
    "  'timeOffsets': {'monotonic': {'secs': -86400, 'nanosecs': 500},"
    "   'boottime': {'secs': 3600, 'nanosecs': 999999999}},"
    "  'devices': [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229, 'fileMode': 438, 'uid': 0,"
    "    'gid': 5},"
    "   {'path': '/dev/sda', 'type': 'b', 'major': 8, 'minor': 0}, {'path': '/dev/fifo', 'type': 'p'}],"
    "  'cgroupsPath': '/machine/c1',"
    "  'resources': {"
    "   'devices': [{'allow': false, 'access': 'rwm'},"
    "    {'allow': true, 'type': 'c', 'major': 10, 'minor': 229, 'access': 'rw'},"
    "    {'allow': true, 'type': 'b', 'major': -1, 'minor': -1, 'access': 'm'}],"
    "   'memory': {'limit': 536870912, 'reservation': 268435456, 'swap': -1, 'kernel': -1, 'kernelTCP': 0,"
    "    'swappiness': 60, 'disableOOMKiller': true, 'useHierarchy': true},"
    "   'cpu': {'shares': 18446744073709551615, 'quota': -1, 'period': 100000, 'realtimeRuntime': 950000,"
    "    'realtimePeriod': 1000000, 'cpus': '0-1', 'mems': '0', 'idle': 1, 'burst': 10},"
    "   'pids': {'limit': 32771},"
    "   'blockIO': {'weight': 500, 'leafWeight': 300,"
    "    'weightDevice': [{'major': 8, 'minor': 0, 'weight': 700, 'leafWeight': 100}],"
    "    'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 18446744073709551615}],"
    "    'throttleWriteBpsDevice': [{'major': 8, 'minor': 16, 'rate': 1048576}],"
    "    'throttleReadIOPSDevice': [{'major': 8, 'minor': 0, 'rate': 1000}],"
    "    'throttleWriteIOPSDevice': [{'major': 259, 'minor': 3, 'rate': 500}]},"
    "   'hugepageLimits': [{'pageSize': '2MB', 'limit': 18446744073709551615}, {'pageSize': '1GB', 'limit': "
    "0}],"
    "   'network': {'classID': 1048577, 'priorities': [{'name': 'eth0', 'priority': 500}]},"
    "   'unified': {'memory.high': '1G', 'io.weight': 'default 100'}},"
    "  'sysctl': {'net.ipv4.ip_forward': '1', 'kernel.shmmax': '4096'},"
    "  'seccomp': {'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1,"
    "   'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],"
    "   'flags': ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],"
    "   'listenerPath': '/run/seccomp.sock', 'listenerMetadata': 'meta',"
    "   'syscalls': [{'names': ['read', 'write', 'exit_group'], 'action': 'SCMP_ACT_ALLOW'},"
    "    {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW',"
    "     'args': [{'index': 0, 'value': 0, 'op': 'SCMP_CMP_EQ'},"
    "      {'index': 5, 'value': 18446744073709551615, 'valueTwo': 255, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
    "    {'names': ['mkdir'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 38},"
    "    {'names': ['ioctl'], 'action': 'SCMP_ACT_NOTIFY'}]},"
    "  'rootfsPropagation': 'rslave',"
    "  'maskedPaths': ['/proc/kcore', '/sys/firmware'],"
    "  'readonlyPaths': ['/proc/sys', '/proc/sysrq-trigger'],"
    "  'mountLabel': 'system_u:object_r:container_file_t:s0',"
    "  'personality': {'domain': 'LINUX32', 'flags': []},"
    "  'intelRdt': {'closID': 'x'}},"
    " 'vendorExtension': {'anything': [1, 2, {'x': null}]}}";

static void check_full_process(int *failed_, const struct vs_spec_process *p)
{
	CHECK(p->terminal);
	CHECK(p->has_console_size && p->console_size.height == 25 && p->console_size.width == 80);
	CHECK_EQ_U64(p->user.uid, 1000);
	CHECK_EQ_U64(p->user.gid, 1001);
	CHECK(p->user.has_umask && p->user.umask == 022);
	CHECK_EQ_U64(p->user.additional_gids_count, 3);
	if (p->user.additional_gids_count == 3) {
		CHECK_EQ_U64(p->user.additional_gids[0], 5);
		CHECK_EQ_U64(p->user.additional_gids[2], 4294967295u);
	}
	CHECK(STRV_IS(&p->args, "sh", "-c", "echo hi"));
	CHECK(STRV_IS(&p->env, "PATH=/usr/bin:/bin", "TERM=xterm"));
	CHECK_STREQ(p->cwd, "/home/user");
	CHECK(p->has_caps);
	/* CAP_AUDIT_WRITE 29, CAP_KILL 5, CAP_NET_BIND_SERVICE 10, CAP_CHECKPOINT_RESTORE 40, CAP_CHOWN 0 */
	CHECK_EQ_U64(p->caps.bounding, CAP(29) | CAP(5) | CAP(10) | CAP(40));
	CHECK_EQ_U64(p->caps.effective, CAP(29) | CAP(5));
	CHECK_EQ_U64(p->caps.inheritable, 0);
	CHECK_EQ_U64(p->caps.permitted, CAP(0) | CAP(5));
	CHECK_EQ_U64(p->caps.ambient, CAP(10));
	CHECK_EQ_U64(p->rlimits_count, 2);
	if (p->rlimits_count == 2) {
		CHECK_EQ_U64(p->rlimits[0].resource, RLIMIT_NOFILE);
		CHECK_EQ_U64(p->rlimits[0].soft, 512);
		CHECK_EQ_U64(p->rlimits[0].hard, 1024);
		CHECK_EQ_U64(p->rlimits[1].resource, RLIMIT_CORE);
		CHECK_EQ_U64(p->rlimits[1].hard, UINT64_MAX);
	}
	CHECK(p->no_new_privileges);
	CHECK_STREQ(p->apparmor_profile, "container-default");
	CHECK_STREQ(p->selinux_label, "system_u:system_r:container_t:s0:c1,c2");
	CHECK(p->has_oom_score_adj && p->oom_score_adj == -500);
}

static void check_full_top(int *failed_, const struct vs_spec *s)
{
	CHECK_STREQ(s->oci_version, "1.1.0");
	CHECK_STREQ(s->root_path, "/bundles/c1/rootfs");
	CHECK(s->root_readonly);
	CHECK_STREQ(s->hostname, "box");
	CHECK_STREQ(s->domainname, "example.org");
	CHECK_EQ_U64(s->mounts_count, 4);
	if (s->mounts_count == 4) {
		CHECK(streq(s->mounts[0].destination, "/proc") && streq(s->mounts[0].type, "proc") &&
		      streq(s->mounts[0].source, "proc") && s->mounts[0].options.count == 0);
		CHECK(STRV_IS(&s->mounts[1].options, "nosuid", "strictatime", "mode=755", "size=65536k"));
		/* Relative bind sources are relative to the bundle. */
		CHECK_STREQ(s->mounts[2].source, "/bundles/c1/volumes/data");
		CHECK(STRV_IS(&s->mounts[2].options, "rbind", "ro"));
		CHECK(s->mounts[3].type == NULL && streq(s->mounts[3].source, "/host/srv"));
		CHECK(s->mounts[3].uid_mappings_count == 1 &&
		      s->mounts[3].uid_mappings[0].host_id == 100000 &&
		      s->mounts[3].uid_mappings[0].size == 65536);
		CHECK(s->mounts[3].gid_mappings_count == 1 &&
		      s->mounts[3].gid_mappings[0].host_id == 200000 &&
		      s->mounts[3].gid_mappings[0].size == 1000);
	}
	CHECK_EQ_U64(s->hooks.count[VS_HOOK_PRESTART], 1);
	CHECK_EQ_U64(s->hooks.count[VS_HOOK_CREATE_RUNTIME], 2);
	CHECK_EQ_U64(s->hooks.count[VS_HOOK_CREATE_CONTAINER], 1);
	CHECK_EQ_U64(s->hooks.count[VS_HOOK_START_CONTAINER], 1);
	CHECK_EQ_U64(s->hooks.count[VS_HOOK_POSTSTART], 1);
	CHECK_EQ_U64(s->hooks.count[VS_HOOK_POSTSTOP], 1);
	if (s->hooks.count[VS_HOOK_PRESTART] == 1 && s->hooks.count[VS_HOOK_CREATE_RUNTIME] == 2) {
		const struct vs_spec_hook *h = &s->hooks.list[VS_HOOK_PRESTART][0];
		CHECK_STREQ(h->path, "/usr/bin/prestart");
		CHECK(STRV_IS(&h->args, "prestart", "a"));
		CHECK(STRV_IS(&h->env, "K=V"));
		CHECK(h->has_timeout && h->timeout == 5);
		CHECK(!s->hooks.list[VS_HOOK_CREATE_RUNTIME][0].has_timeout);
		CHECK_STREQ(s->hooks.list[VS_HOOK_CREATE_RUNTIME][1].path, "/bin/cr2");
		CHECK(s->hooks.list[VS_HOOK_CREATE_RUNTIME][1].timeout == 1);
		CHECK_STREQ(s->hooks.list[VS_HOOK_POSTSTOP][0].path, "/bin/pst");
	}
	CHECK(STRV_IS(&s->annotation_keys, "org.example.key", "io.podman.annotations.autoremove"));
	CHECK(STRV_IS(&s->annotation_values, "value", "FALSE"));
}

static void check_full_linux(int *failed_, const struct vs_spec *s)
{
	const struct vs_spec_linux *l = &s->linux;
	static const enum vs_ns_type order[] = { VS_NS_PID,   VS_NS_NET,  VS_NS_IPC,	VS_NS_UTS,
						 VS_NS_MOUNT, VS_NS_USER, VS_NS_CGROUP, VS_NS_TIME };

	CHECK_EQ_U64(l->namespaces_count, 8);
	for (size_t i = 0; i < l->namespaces_count && i < 8; i++)
		CHECK_EQ_U64(l->namespaces[i].type, order[i]);
	CHECK(vs_spec_namespace_find(s, VS_NS_NET) &&
	      streq(vs_spec_namespace_find(s, VS_NS_NET)->path, "/var/run/netns/n1"));
	CHECK(vs_spec_namespace_find(s, VS_NS_PID) && !vs_spec_namespace_find(s, VS_NS_PID)->path);
	CHECK(l->uid_mappings_count == 1 && l->uid_mappings[0].container_id == 0 &&
	      l->uid_mappings[0].host_id == 100000 && l->uid_mappings[0].size == 65536);
	CHECK(l->gid_mappings_count == 2 && l->gid_mappings[1].container_id == 65536 &&
	      l->gid_mappings[1].host_id == 4294901760u && l->gid_mappings[1].size == 65536);
	CHECK(l->has_time_offsets);
	CHECK(l->monotonic_secs == -86400 && l->monotonic_nanosecs == 500);
	CHECK(l->boottime_secs == 3600 && l->boottime_nanosecs == 999999999);
	CHECK_EQ_U64(l->devices_count, 3);
	if (l->devices_count == 3) {
		const struct vs_spec_device *d = l->devices;
		CHECK(streq(d[0].path, "/dev/fuse") && d[0].type == 'c' && d[0].major == 10 &&
		      d[0].minor == 229);
		CHECK(d[0].has_file_mode && d[0].file_mode == 0666);
		CHECK(d[0].has_uid && d[0].uid == 0 && d[0].has_gid && d[0].gid == 5);
		CHECK(d[1].type == 'b' && d[1].major == 8 && d[1].minor == 0 && !d[1].has_file_mode &&
		      !d[1].has_uid);
		CHECK(d[2].type == 'p' && streq(d[2].path, "/dev/fifo"));
	}
	CHECK_STREQ(l->cgroups_path, "/machine/c1");
	CHECK(STRV_IS(&l->sysctl_keys, "net.ipv4.ip_forward", "kernel.shmmax"));
	CHECK(STRV_IS(&l->sysctl_values, "1", "4096"));
	CHECK_STREQ(l->rootfs_propagation, "rslave");
	CHECK(STRV_IS(&l->masked_paths, "/proc/kcore", "/sys/firmware"));
	CHECK(STRV_IS(&l->readonly_paths, "/proc/sys", "/proc/sysrq-trigger"));
	CHECK_STREQ(l->mount_label, "system_u:object_r:container_file_t:s0");
	CHECK(l->has_personality && streq(l->personality_domain, "LINUX32"));
}

static void check_full_resources(int *failed_, const struct vs_spec_resources *r)
{
	CHECK_EQ_U64(r->devices_count, 3);
	if (r->devices_count == 3) {
		/* Absent type/major/minor mean "all". */
		CHECK(!r->devices[0].allow && r->devices[0].type == 'a' && r->devices[0].major == -1 &&
		      r->devices[0].minor == -1 && streq(r->devices[0].access, "rwm"));
		CHECK(r->devices[1].allow && r->devices[1].type == 'c' && r->devices[1].major == 10 &&
		      r->devices[1].minor == 229 && streq(r->devices[1].access, "rw"));
		CHECK(r->devices[2].type == 'b' && r->devices[2].major == -1 && r->devices[2].minor == -1 &&
		      streq(r->devices[2].access, "m"));
	}
	CHECK(r->has_memory_limit && r->memory_limit == 536870912);
	CHECK(r->has_memory_reservation && r->memory_reservation == 268435456);
	CHECK(r->has_memory_swap && r->memory_swap == -1);
	CHECK(r->has_memory_kernel && r->memory_kernel == -1);
	CHECK(r->has_memory_swappiness && r->memory_swappiness == 60);
	CHECK(r->disable_oom_killer);
	CHECK(r->has_cpu_shares && r->cpu_shares == UINT64_MAX);
	CHECK(r->has_cpu_quota && r->cpu_quota == -1);
	CHECK(r->has_cpu_period && r->cpu_period == 100000);
	CHECK(r->has_cpu_rt_runtime && r->cpu_rt_runtime == 950000);
	CHECK(r->has_cpu_rt_period && r->cpu_rt_period == 1000000);
	CHECK(streq(r->cpu_cpus, "0-1") && streq(r->cpu_mems, "0"));
	CHECK(r->has_cpu_idle && r->cpu_idle == 1);
	CHECK(r->has_pids_limit && r->pids_limit == 32771);
	CHECK(r->has_blkio_weight && r->blkio_weight == 500);
	CHECK(r->blkio_weight_device_count == 1 && r->blkio_weight_device[0].major == 8 &&
	      r->blkio_weight_device[0].rate == 700);
	CHECK(r->blkio_throttle_read_bps_count == 1 && r->blkio_throttle_read_bps[0].rate == UINT64_MAX);
	CHECK(r->blkio_throttle_write_bps_count == 1 && r->blkio_throttle_write_bps[0].minor == 16 &&
	      r->blkio_throttle_write_bps[0].rate == 1048576);
	CHECK(r->blkio_throttle_read_iops_count == 1 && r->blkio_throttle_read_iops[0].rate == 1000);
	CHECK(r->blkio_throttle_write_iops_count == 1 && r->blkio_throttle_write_iops[0].major == 259 &&
	      r->blkio_throttle_write_iops[0].minor == 3 && r->blkio_throttle_write_iops[0].rate == 500);
	CHECK(r->hugepage_limits_count == 2 && streq(r->hugepage_limits[0].page_size, "2MB") &&
	      r->hugepage_limits[0].limit == UINT64_MAX && streq(r->hugepage_limits[1].page_size, "1GB") &&
	      r->hugepage_limits[1].limit == 0);
	CHECK(STRV_IS(&r->unified_keys, "memory.high", "io.weight"));
	CHECK(STRV_IS(&r->unified_values, "1G", "default 100"));
}

static void check_full_seccomp(int *failed_, const struct vs_spec_seccomp *sc)
{
	CHECK(sc != NULL);
	if (!sc)
		return;
	CHECK_EQ_U64(sc->default_action, VS_SECCOMP_ERRNO);
	CHECK(sc->has_default_errno_ret && sc->default_errno_ret == 1);
	CHECK(STRV_IS(&sc->architectures, "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"));
	CHECK(STRV_IS(&sc->flags, "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
	CHECK(streq(sc->listener_path, "/run/seccomp.sock") && streq(sc->listener_metadata, "meta"));
	CHECK_EQ_U64(sc->syscalls_count, 4);
	if (sc->syscalls_count != 4)
		return;
	CHECK(STRV_IS(&sc->syscalls[0].names, "read", "write", "exit_group"));
	CHECK(sc->syscalls[0].action == VS_SECCOMP_ALLOW && sc->syscalls[0].args_count == 0);
	CHECK(!sc->syscalls[0].has_errno_ret);
	CHECK_EQ_U64(sc->syscalls[1].args_count, 2);
	if (sc->syscalls[1].args_count == 2) {
		const struct vs_seccomp_arg *a = sc->syscalls[1].args;
		CHECK(a[0].index == 0 && a[0].value == 0 && a[0].value_two == 0 && a[0].op == VS_SCMP_EQ);
		CHECK(a[1].index == 5 && a[1].value == UINT64_MAX && a[1].value_two == 255 &&
		      a[1].op == VS_SCMP_MASKED_EQ);
	}
	CHECK(sc->syscalls[2].action == VS_SECCOMP_ERRNO && sc->syscalls[2].has_errno_ret &&
	      sc->syscalls[2].errno_ret == 38);
	CHECK(sc->syscalls[3].action == VS_SECCOMP_NOTIFY);
}

TEST(full_config_every_field)
{
	struct vs_spec s;
	struct vs_error err;
	int ret = parse_sq(full_config, "/bundles/c1", &s, &err);
	CHECK_EQ(ret, 0);
	if (ret) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(s.has_process);
	check_full_process(failed_, &s.process);
	check_full_top(failed_, &s);
	check_full_linux(failed_, &s);
	CHECK(s.linux.has_resources);
	check_full_resources(failed_, &s.linux.resources);
	check_full_seccomp(failed_, s.linux.seccomp);
	vs_spec_free(&s);
	CHECK(s.mounts == NULL && s.linux.seccomp == NULL && s.process.args.count == 0);
}

TEST(minimal_config)
{
	struct vs_spec s;
	struct vs_error err;
	CHECK(parse_sq("{'ociVersion': '1.0.2-dev', 'root': {'path': '/r'}}", "/b", &s, &err) == 0);
	CHECK(streq(s.oci_version, "1.0.2-dev") && streq(s.root_path, "/r") && !s.root_readonly);
	CHECK(!s.has_process && s.process.args.count == 0 && s.process.cwd == NULL);
	CHECK(s.mounts_count == 0 && s.mounts == NULL && s.hostname == NULL);
	CHECK(s.annotation_keys.count == 0 && s.linux.namespaces_count == 0 && !s.linux.has_resources);
	CHECK(s.linux.seccomp == NULL && !s.linux.has_personality && !s.linux.has_time_offsets);
	for (int k = 0; k < VS_HOOK_KINDS; k++)
		CHECK_EQ(s.hooks.count[k], 0);
	CHECK(vs_spec_namespace_find(&s, VS_NS_PID) == NULL);
	vs_spec_free(&s);
	vs_spec_free(NULL);
}

/* The `runc spec` default, as podman-era tools emit it. */
TEST(runc_spec_default)
{
	static const char cfg[] =
	    "{'ociVersion': '1.0.2-dev', 'process': {'terminal': true, 'user': {'uid': 0, 'gid': 0},"
	    " 'args': ['sh'], 'env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',"
	    " 'TERM=xterm'], 'cwd': '/', 'capabilities': {'bounding': ['CAP_AUDIT_WRITE', 'CAP_KILL',"
	    " 'CAP_NET_BIND_SERVICE'], 'effective': ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],"
	    " 'permitted': ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'], 'ambient':"
	    " ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']}, 'rlimits': [{'type': 'RLIMIT_NOFILE',"
	    " 'hard': 1024, 'soft': 1024}], 'noNewPrivileges': true}, 'root': {'path': 'rootfs', 'readonly':"
	    " true}, 'hostname': 'runc', 'mounts': [{'destination': '/proc', 'type': 'proc', 'source': "
	    "'proc'},"
	    " {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid', "
	    "'strictatime',"
	    " 'mode=755', 'size=65536k']}, {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts',"
	    " 'options': ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},"
	    " {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs', 'options': ['nosuid', 'noexec',"
	    " 'nodev', 'ro']}, {'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup',"
	    " 'options': ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']}], 'linux': {'resources': "
	    "{'devices':"
	    " [{'allow': false, 'access': 'rwm'}]}, 'namespaces': [{'type': 'pid'}, {'type': 'network'},"
	    " {'type': 'ipc'}, {'type': 'uts'}, {'type': 'mount'}, {'type': 'cgroup'}], 'maskedPaths':"
	    " ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats',"
	    " '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],"
	    " 'readonlyPaths': ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']}}";
	struct vs_spec s;
	struct vs_error err;
	CHECK(parse_sq(cfg, "/tmp/bundle/", &s, &err) == 0);
	CHECK_STREQ(s.root_path, "/tmp/bundle/rootfs");
	CHECK(s.process.caps.ambient == (CAP(29) | CAP(5) | CAP(10)));
	CHECK(s.mounts_count == 5 && s.linux.namespaces_count == 6 && s.linux.masked_paths.count == 10);
	CHECK(s.linux.resources.devices_count == 1 && !s.linux.resources.devices[0].allow);
	vs_spec_free(&s);
}

TEST(root_path_resolution)
{
	struct vs_spec s;
	struct vs_error err;
	char cwd[4096], want[4200];

	CHECK(parse_sq("{'ociVersion': '1.1.0', 'root': {'path': 'a/../rootfs'}}", "/", &s, &err) == 0);
	CHECK(streq(s.root_path, "/a/../rootfs")); /* absolute, not canonicalised */
	vs_spec_free(&s);
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(parse_sq("{'ociVersion': '1.1.0', 'root': {'path': 'rootfs'}}", "bundles/x", &s, &err) == 0);
	snprintf(want, sizeof(want), "%s/bundles/x/rootfs", cwd);
	CHECK_STREQ(s.root_path, want);
	vs_spec_free(&s);
	CHECK(parse_sq("{'ociVersion': '1.1.0', 'root': {'path': 'rootfs'}}", NULL, &s, &err) == 0);
	snprintf(want, sizeof(want), "%s/rootfs", cwd);
	CHECK_STREQ(s.root_path, want);
	vs_spec_free(&s);
}

TEST(tolerates_extensions_nulls_and_duplicates)
{
	struct vs_spec s;
	struct vs_error err;
	int ret = parse_sq(
	    "{'ociVersion': '1.1.0', 'root': {'path': '/r', 'future': 1}, 'hostname': null,"
	    " 'process': {'args': ['a'], 'cwd': '/', 'env': null, 'scheduler': {'policy': 'SCHED_OTHER'},"
	    "  'capabilities': {'bounding': null}, 'user': {'uid': 1, 'uid': 7}},"
	    " 'linux': {'namespaces': [{'type': 'mount', 'x': []}], 'resources': {'rdma': {}},"
	    "  'seccomp': null, 'futureThing': {'a': [1]}}, 'mounts': null, 'zzz': true}",
	    "/b", &s, &err);
	CHECK_EQ(ret, 0);
	if (ret) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(s.hostname == NULL && s.process.env.count == 0 && s.linux.seccomp == NULL);
	CHECK(s.process.has_caps && s.process.caps.bounding == 0);
	CHECK_EQ_U64(s.process.user.uid, 7); /* the last duplicate wins */
	CHECK(s.linux.has_resources && s.linux.namespaces_count == 1);
	vs_spec_free(&s);
}

TEST(user_namespace_joined_without_mappings)
{
	struct vs_spec s;
	struct vs_error err;
	CHECK(parse_sq("{'ociVersion': '1.1.0', 'root': {'path': '/r'}, 'linux': {'namespaces':"
		       " [{'type': 'user', 'path': '/proc/1/ns/user'}]}}",
		       "/b", &s, &err) == 0);
	CHECK_STREQ(vs_spec_namespace_find(&s, VS_NS_USER)->path, "/proc/1/ns/user");
	vs_spec_free(&s);
	/* Empty strings read as unset where the spec gives them no meaning. */
	CHECK(parse_sq("{'ociVersion': '1.1.0', 'root': {'path': '/r'}, 'linux': {'namespaces':"
		       " [{'type': 'pid', 'path': ''}], 'rootfsPropagation': ''}}",
		       "/b", &s, &err) == 0);
	CHECK(s.linux.namespaces_count == 1 && s.linux.namespaces[0].path == NULL);
	CHECK(s.linux.rootfs_propagation == NULL);
	vs_spec_free(&s);
	/* ID range ending exactly at 2^32 is fine. */
	CHECK(
	    parse_sq(
		"{'ociVersion': '1.1.0', 'root': {'path': '/r'}, 'linux': {'namespaces': [{'type': 'user'}],"
		" 'uidMappings': [{'containerID': 4294967295, 'hostID': 0, 'size': 1}],"
		" 'gidMappings': [{'containerID': 0, 'hostID': 4294967040, 'size': 256}]}}",
		"/b", &s, &err) == 0);
	vs_spec_free(&s);
}

struct bad_case {
	const char *frag; /* members after ociVersion and root; a whole document if it starts with '{' */
	const char *want;
};

#define P "'process': {'args': ['a'], 'cwd': '/', "
#define L "'linux': {"
#define RES L "'resources': {"
#define SEC L "'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', "
#define USERNS "'namespaces': [{'type': 'user'}], "

static const struct bad_case bad_cases[] = {
	{ "{'root': {'path': 'r'}}", "ociVersion: required field is missing" },
	{ "{'ociVersion': 1, 'root': {'path': 'r'}}", "ociVersion: expected a string, got number" },
	{ "{'ociVersion': '2.0.0', 'root': {'path': 'r'}}", "ociVersion: unsupported version `2.0.0`" },
	{ "{'ociVersion': '1.1.0'}", "root.path: required on Linux" },
	{ "{'ociVersion': '1.1.0', 'root': {}}", "root.path: required field is missing" },
	{ "{'ociVersion': '1.1.0', 'root': {'path': ''}}", "root.path: must not be empty" },
	{ "{'ociVersion': '1.1.0', 'root': {'path': 5}}", "root.path: expected a string, got number" },
	{ "{'ociVersion': '1.1.0', 'root': []}", "root: expected an object, got array" },
	{ "[]", "expected an object, got array" },
	{ "{'ociVersion': '1.1.0', 'root': {'path': 'r'},}",
	  "line 1, column 47: expected a string key, found character '}'" },
	{ "'process': {'cwd': '/'}", "process.args: required field is missing" },
	{ "'process': {'cwd': '/', 'args': []}", "process.args: must contain at least one entry" },
	{ "'process': {'cwd': '/', 'args': ['a', 1]}", "process.args[1]: expected a string, got number" },
	{ "'process': {'cwd': '/', 'args': 'sh'}", "process.args: expected an array, got string" },
	{ "'process': {'args': ['a'], 'cwd': 'home'}", "process.cwd: `home` is not an absolute path" },
	{ "'process': {'args': ['a']}", "process.cwd: required field is missing" },
	{ P "'terminal': 'yes'}", "process.terminal: expected a boolean, got string" },
	{ P "'consoleSize': {'height': 1}}", "process.consoleSize.width: required field is missing" },
	{ P "'user': {'uid': -1}}", "process.user.uid: value -1 out of range (0 to 4294967295)" },
	{ P "'user': {'gid': 4294967296}}", "process.user.gid: value 4294967296 out of range" },
	{ P "'user': {'umask': 4096}}", "process.user.umask: umask 010000 has bits outside 0777" },
	{ P "'user': {'additionalGids': [1, -1]}}", "process.user.additionalGids[1]: value -1 out of range" },
	{ P "'capabilities': {'bounding': ['CAP_KILL', 'CAP_FOO']}}",
	  "process.capabilities.bounding[1]: unknown capability `CAP_FOO`" },
	{ P "'capabilities': {'ambient': ['cap_kill']}}",
	  "process.capabilities.ambient[0]: unknown capability" },
	{ P "'capabilities': {'effective': ['CAP_41']}}",
	  "process.capabilities.effective[0]: unknown capability" },
	{ P "'capabilities': ['CAP_KILL']}", "process.capabilities: expected an object, got array" },
	{ P "'rlimits': [{'type': 'RLIMIT_FOO', 'soft': 1, 'hard': 1}]}",
	  "process.rlimits[0].type: unknown rlimit type `RLIMIT_FOO`" },
	{ P
	  "'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1, 'hard': 1}, {'type': 'RLIMIT_NOFILE', 'soft': 1,"
	  " 'hard': 1}]}",
	  "process.rlimits[1].type: RLIMIT_NOFILE is set twice" },
	{ P "'rlimits': [{'type': 'RLIMIT_CPU', 'soft': 10, 'hard': 5}]}",
	  "process.rlimits[0].soft: soft limit 10 exceeds hard limit 5" },
	{ P "'rlimits': [{'type': 'RLIMIT_CPU', 'soft': 10}]}",
	  "process.rlimits[0].hard: required field is missing" },
	{ P "'rlimits': [{'soft': 1, 'hard': 1}]}", "process.rlimits[0].type: required field is missing" },
	{ P "'oomScoreAdj': 1001}", "process.oomScoreAdj: value 1001 out of range (-1000 to 1000)" },
	{ P "'noNewPrivileges': 1}", "process.noNewPrivileges: expected a boolean, got number" },
	{ "'hostname': 'a\\u0000b'", "hostname: string contains a NUL character" },
	{ "'hostname': 'h'", "hostname: needs a UTS namespace in linux.namespaces" },
	{ "'domainname': 'd', 'linux': {'namespaces': [{'type': 'pid'}]}",
	  "domainname: needs a UTS namespace" },
	{ "'mounts': [{'destination': '/a'}, {'destination': 'data'}]",
	  "mounts[1].destination: `data` is not an absolute path (vessel requires absolute destinations)" },
	{ "'mounts': [{'type': 'tmpfs'}]", "mounts[0].destination: required field is missing" },
	{ "'mounts': [{'destination': '/a', 'options': ['rbind']}]",
	  "mounts[0].source: required for a bind mount" },
	{ "'mounts': [{'destination': '/a', 'options': ['ro', 7]}]",
	  "mounts[0].options[1]: expected a string" },
	{ "'mounts': [{'destination': '/a', 'uidMappings': [{'containerID': 0, 'hostID': 0, 'size': 0}]}]",
	  "mounts[0].uidMappings[0]: size must be greater than 0" },
	{ "'mounts': {}", "mounts: expected an array, got object" },
	{ L "'namespaces': [{'type': 'pid'}, {'type': 'mount'}, {'type': 'pidd'}]}",
	  "linux.namespaces[2].type: unknown namespace type `pidd`" },
	{ L "'namespaces': [{'type': 'pid'}, {'type': 'pid', 'path': '/proc/1/ns/pid'}]}",
	  "linux.namespaces[1].type: namespace type `pid` is listed twice" },
	{ L "'namespaces': [{'type': 'network', 'path': 'netns'}]}",
	  "linux.namespaces[0].path: `netns` is not an absolute path" },
	{ L "'namespaces': [{'path': '/x'}]}", "linux.namespaces[0].type: required field is missing" },
	{ L "'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}]}",
	  "linux.uidMappings: ID mappings given but linux.namespaces has no user namespace" },
	{ L "'gidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}]}",
	  "linux.gidMappings: ID mappings given but linux.namespaces has no user namespace" },
	{ L USERNS "'cgroupsPath': '/x'}",
	  "linux.uidMappings: a new user namespace needs both uidMappings and gidMappings" },
	{ L USERNS "'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}]}",
	  "linux.gidMappings: a new user namespace needs both" },
	{ L USERNS "'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 0}]}",
	  "linux.uidMappings[0]: size must be greater than 0" },
	{ L USERNS "'uidMappings': [{'containerID': 4294967295, 'hostID': 0, 'size': 2}]}",
	  "linux.uidMappings[0]: containerID 4294967295 + size 2 exceeds 2^32" },
	{ L USERNS "'gidMappings': [{'containerID': 0, 'hostID': 4294967040, 'size': 257}]}",
	  "linux.gidMappings[0]: hostID 4294967040 + size 257 exceeds 2^32" },
	{ L USERNS "'uidMappings': [{'containerID': 0, 'hostID': -1, 'size': 1}]}",
	  "linux.uidMappings[0].hostID: value -1 out of range" },
	{ L USERNS "'uidMappings': [{'containerID': 0, 'size': 1}]}",
	  "linux.uidMappings[0].hostID: required field is missing" },
	{ L "'timeOffsets': {'monotonic': {'secs': 1}}}",
	  "linux.timeOffsets: time offsets need a new time namespace in linux.namespaces" },
	{ L "'namespaces': [{'type': 'time', 'path': '/proc/1/ns/time'}], 'timeOffsets': {'boottime': "
	    "{'secs': 1}}}",
	  "linux.timeOffsets: time offsets need a new time namespace" },
	{ L "'namespaces': [{'type': 'time'}], 'timeOffsets': {'monotonic': {'nanosecs': 1000000000}}}",
	  "linux.timeOffsets.monotonic.nanosecs: must be below 1000000000" },
	{ L "'devices': [{'path': '/dev/x', 'type': 'x', 'major': 1, 'minor': 1}]}",
	  "linux.devices[0].type: unknown device type `x` (expected c, b, u or p)" },
	{ L "'devices': [{'path': '/dev/x', 'type': 'cc', 'major': 1, 'minor': 1}]}",
	  "linux.devices[0].type: unknown device type `cc`" },
	{ L "'devices': [{'path': '/dev/x', 'type': 'c', 'minor': 1}]}",
	  "linux.devices[0].major: required field is missing" },
	{ L "'devices': [{'path': 'dev/x', 'type': 'c', 'major': 1, 'minor': 1}]}",
	  "linux.devices[0].path: `dev/x` is not an absolute path" },
	{ L "'devices': [{'path': '/dev/x', 'type': 'b', 'major': -1, 'minor': 1}]}",
	  "linux.devices[0].major: value -1 out of range" },
	{ L "'devices': [{'path': '/dev/x', 'type': 'c', 'major': 1, 'minor': 1, 'fileMode': 16777216}]}",
	  "linux.devices[0].fileMode: mode 0100000000 has bits outside a file type and 07777" },
	{ RES "'devices': [{'allow': true, 'type': 'u'}]}}",
	  "linux.resources.devices[0].type: unknown device type `u` (expected a, c or b)" },
	{ RES "'devices': [{'allow': true, 'access': 'rwx'}]}}",
	  "linux.resources.devices[0].access: invalid access `rwx`" },
	{ RES "'devices': [{'allow': true, 'access': 'rr'}]}}",
	  "linux.resources.devices[0].access: invalid access" },
	{ RES "'devices': [{'allow': true, 'major': -2}]}}",
	  "linux.resources.devices[0].major: value -2 out of range" },
	{ RES "'devices': [{'access': 'r'}]}}",
	  "linux.resources.devices[0].allow: required field is missing" },
	{ RES "'memory': {'limit': 18446744073709551615}}}",
	  "linux.resources.memory.limit: value 18446744073709551615 out of range (-1 to "
	  "9223372036854775807)" },
	{ RES "'memory': {'limit': 18446744073709551616}}}", "linux.resources.memory.limit: value" },
	{ RES "'memory': {'swap': -2}}}", "linux.resources.memory.swap: value -2 out of range" },
	{ RES "'memory': {'limit': '1G'}}}",
	  "linux.resources.memory.limit: expected an integer, got string" },
	{ RES "'memory': {'limit': 1.5}}}", "linux.resources.memory.limit: expected an integer, got 1.5" },
	{ RES "'memory': {'reservation': 1e9}}}", "linux.resources.memory.reservation: expected an integer" },
	{ RES "'memory': {'swappiness': 101}}}",
	  "linux.resources.memory.swappiness: value 101 out of range (0 to 100)" },
	{ RES "'memory': {'swappiness': -1}}}", "linux.resources.memory.swappiness: value -1 out of range" },
	{ RES "'cpu': {'shares': -1}}}",
	  "linux.resources.cpu.shares: value -1 out of range (0 to 18446744073709551615)" },
	{ RES "'cpu': {'idle': 2}}}", "linux.resources.cpu.idle: value 2 out of range (0 to 1)" },
	{ RES "'cpu': {'cpus': 3}}}", "linux.resources.cpu.cpus: expected a string, got number" },
	{ RES "'pids': {'limit': -5}}}", "linux.resources.pids.limit: value -5 out of range" },
	{ RES "'blockIO': {'weight': 70000}}}", "linux.resources.blockIO.weight: value 70000 out of range" },
	{ RES "'blockIO': {'throttleReadBpsDevice': [{'major': 8, 'minor': 0}]}}}",
	  "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field is missing" },
	{ RES "'blockIO': {'weightDevice': [{'major': 8, 'minor': 0, 'weight': 65536}]}}}",
	  "linux.resources.blockIO.weightDevice[0].weight: value 65536 out of range" },
	{ RES "'hugepageLimits': [{'limit': 1}]}}",
	  "linux.resources.hugepageLimits[0].pageSize: required field is missing" },
	{ RES "'network': {'priorities': [{'name': 'eth 0', 'priority': 1}]}}}",
	  "linux.resources.network.priorities[0]: interface name `eth 0` contains a blank or control "
	  "character" },
	{ RES "'rdma': {'mlx5_0': {'hcaObjects': -1}}}}",
	  "linux.resources.rdma[\"mlx5_0\"].hcaObjects: value -1" },
	{ RES "'unified': {'memory.max': 5}}}",
	  "linux.resources.unified[\"memory.max\"]: expected a string, got number" },
	{ SEC "'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_FOO'}]}}",
	  "linux.seccomp.syscalls[0].action: unknown seccomp action `SCMP_ACT_FOO`" },
	{ L "'seccomp': {'defaultAction': 'SCMP_ACT_NOPE'}}",
	  "linux.seccomp.defaultAction: unknown seccomp action" },
	{ L "'seccomp': {'architectures': []}}", "linux.seccomp.defaultAction: required field is missing" },
	{ SEC
	  "'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 1, "
	  "'op': 'SCMP_CMP_FOO'}]}]}}",
	  "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator `SCMP_CMP_FOO`" },
	{ SEC
	  "'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 6, 'value': 1, "
	  "'op': 'SCMP_CMP_EQ'}]}]}}",
	  "linux.seccomp.syscalls[0].args[0].index: argument index 6 out of range (0 to 5)" },
	{ SEC
	  "'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': -1, "
	  "'op': 'SCMP_CMP_EQ'}]}]}}",
	  "linux.seccomp.syscalls[0].args[0].value: value -1 out of range" },
	{ SEC "'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'op': "
	      "'SCMP_CMP_EQ'}]}]}}",
	  "linux.seccomp.syscalls[0].args[0].value: required field is missing" },
	{ SEC "'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_Z80']}}",
	  "linux.seccomp.architectures[1]: unknown seccomp architecture `SCMP_ARCH_Z80`" },
	{ SEC "'flags': ['SECCOMP_FILTER_FLAG_NOPE']}}", "linux.seccomp.flags[0]: unknown seccomp flag" },
	{ SEC "'syscalls': [{'names': [], 'action': 'SCMP_ACT_ALLOW'}]}}",
	  "linux.seccomp.syscalls[0].names: must list at least one syscall" },
	{ SEC "'syscalls': [{'action': 'SCMP_ACT_ALLOW'}]}}", "linux.seccomp.syscalls[0].names: must list" },
	{ SEC "'syscalls': [{'names': ['ioctl'], 'action': 'SCMP_ACT_NOTIFY'}]}}",
	  "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY" },
	{ "'hooks': {'poststop': [{'path': 'bin/x'}]}",
	  "hooks.poststop[0].path: `bin/x` is not an absolute path" },
	{ "'hooks': {'prestart': [{'path': '/x', 'timeout': 0}]}",
	  "hooks.prestart[0].timeout: must be greater than 0 seconds, got 0" },
	{ "'hooks': {'startContainer': [{'path': '/x'}, {'path': '/y', 'timeout': -3}]}",
	  "hooks.startContainer[1].timeout: must be greater than 0 seconds, got -3" },
	{ "'hooks': {'createRuntime': [{'args': ['x']}]}",
	  "hooks.createRuntime[0].path: required field is missing" },
	{ "'hooks': {'createContainer': {}}", "hooks.createContainer: expected an array, got object" },
	{ L "'personality': {'domain': 'LINUX64'}}",
	  "linux.personality.domain: unknown personality domain `LINUX64` (expected LINUX or LINUX32)" },
	{ L "'personality': {'flags': []}}", "linux.personality.domain: required field is missing" },
	{ L "'rootfsPropagation': 'sideways'}", "linux.rootfsPropagation: unknown propagation `sideways`" },
	{ L "'maskedPaths': ['/proc/acpi', 'proc/kcore']}",
	  "linux.maskedPaths[1]: `proc/kcore` is not an absolute path" },
	{ L "'readonlyPaths': ['sys']}", "linux.readonlyPaths[0]: `sys` is not an absolute path" },
	{ L "'sysctl': {'net.x': true}}", "linux.sysctl[\"net.x\"]: expected a string, got boolean" },
	{ "'annotations': {'a.b': 1}", "annotations[\"a.b\"]: expected a string, got number" },
	{ "'annotations': ['a']", "annotations: expected an object, got array" },
	{ "'linux': []", "linux: expected an object, got array" },
};

TEST(validation_errors_name_the_field)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		char doc[2048];
		struct vs_spec s;
		struct vs_error err;
		int ret;

		if (bc->frag[0] == '{' || bc->frag[0] == '[')
			snprintf(doc, sizeof(doc), "%s", bc->frag);
		else
			snprintf(doc, sizeof(doc), "{'ociVersion': '1.1.0', 'root': {'path': 'r'}, %s}",
				 bc->frag);
		memset(&s, 0x5a, sizeof(s));
		ret = parse_sq(doc, "/b", &s, &err);
		if (ret == 0) {
			printf("#   case %zu accepted: %s\n", i, doc);
			vs_spec_free(&s);
			*failed_ = 1;
			continue;
		}
		if (ret != -1 || !strstr(err.msg, bc->want)) {
			printf("#   case %zu: got `%s`, want `%s`\n", i, err.msg, bc->want);
			*failed_ = 1;
		}
		/* Nothing is left behind: the output is empty again. */
		if (s.oci_version || s.root_path || s.mounts || s.linux.namespaces || s.process.args.v) {
			printf("#   case %zu: output not cleared\n", i);
			*failed_ = 1;
		}
	}
}

TEST(process_json_for_exec)
{
	struct vs_spec_process p;
	struct vs_error err = { 0 };
	char *json =
	    dq("{'args': ['ls', '-l'], 'cwd': '/tmp', 'env': ['A=1'], 'user': {'uid': 5, 'gid': 6},"
	       " 'capabilities': {'bounding': ['CAP_SYS_ADMIN']}, 'terminal': false, 'oomScoreAdj': 0}");
	CHECK(vs_spec_parse_process(json, strlen(json), &p, &err) == 0);
	CHECK(STRV_IS(&p.args, "ls", "-l") && streq(p.cwd, "/tmp") && STRV_IS(&p.env, "A=1"));
	CHECK(p.user.uid == 5 && p.user.gid == 6 && p.caps.bounding == CAP(21) && !p.terminal);
	CHECK(p.has_oom_score_adj && p.oom_score_adj == 0);
	vs_spec_process_free(&p);
	CHECK(p.args.v == NULL && p.cwd == NULL);
	free(json);

	json = dq("{'args': ['ls'], 'cwd': 'tmp'}");
	CHECK(vs_spec_parse_process(json, strlen(json), &p, &err) == -1);
	CHECK(strstr(err.msg, "cwd: `tmp` is not an absolute path") == err.msg);
	CHECK(p.args.v == NULL);
	free(json);

	json = dq("{'cwd': '/', 'args': ['x'], 'rlimits': [{'type': 'RLIMIT_NPROC', 'soft': 1, 'hard': 2},"
		  " {'type': 'RLIMIT_BOGUS', 'soft': 1, 'hard': 2}]}");
	CHECK(vs_spec_parse_process(json, strlen(json), &p, &err) == -1);
	CHECK(strstr(err.msg, "rlimits[1].type: unknown rlimit type `RLIMIT_BOGUS`") == err.msg);
	free(json);

	CHECK(vs_spec_parse_process("[1]", 3, &p, &err) == -1);
	CHECK(strstr(err.msg, "expected an object, got array") != NULL);
	CHECK(vs_spec_parse_process("{", 1, &p, &err) == -1);
	CHECK(strstr(err.msg, "line 1, column 2:") != NULL);
}

TEST(namespace_names)
{
	static const char *const want[VS_NS_COUNT] = { "mount",	  "pid",  "uts",    "ipc",
						       "network", "user", "cgroup", "time" };
	for (int t = 0; t < VS_NS_COUNT; t++)
		CHECK_STREQ(vs_ns_type_name((enum vs_ns_type)t), want[t]);
	CHECK_STREQ(vs_ns_type_name(VS_NS_COUNT), "unknown");
}

static void diag_lines(const struct vs_spec_resources *r)
{
	for (size_t i = 0; i < r->rdma_limits.count; i++)
		printf("# [%s]\n", r->rdma_limits.v[i]);
}

/* network and rdma become the lines their cgroup files take. */
TEST(network_and_rdma_resources)
{
	struct vs_spec s;
	struct vs_error err;
	CHECK(
	    parse_sq("{'ociVersion': '1.1.0', 'root': {'path': '/r'}, 'linux': {'resources': {"
		     "'network': {'classID': 1048577, 'priorities': [{'name': 'eth0', 'priority': 5},"
		     " {'name': 'lo', 'priority': 2}]},"
		     "'rdma': {'mlx5_1': {'hcaHandles': 3}, 'mlx4_0': {'hcaHandles': 2, 'hcaObjects': 9}}}}}",
		     "/b", &s, &err) == 0);
	const struct vs_spec_resources *r = &s.linux.resources;
	CHECK(r->has_net_class_id && r->net_class_id == 1048577);
	CHECK_EQ(r->net_priorities.count, 2);
	CHECK(streq(r->net_priorities.v[0], "eth0 5") && streq(r->net_priorities.v[1], "lo 2"));
	CHECK_EQ(r->rdma_limits.count, 2);
	diag_lines(r);
	CHECK(streq(r->rdma_limits.v[0], "mlx5_1 hca_handle=3 hca_object=max"));
	CHECK(streq(r->rdma_limits.v[1], "mlx4_0 hca_handle=2 hca_object=9"));
	vs_spec_free(&s);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

TEST(load_from_bundle)
{
	char dir[] = "/tmp/vs-spec-test-XXXXXX", path[256];
	struct vs_spec s;
	struct vs_error err = { 0 };
	char *json;
	int fd;

	if (!mkdtemp(dir))
		SKIP("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/config.json", dir);

	/* Missing file: prefixed, with errno. */
	CHECK(vs_spec_load(dir, &s, &err) == -1);
	CHECK(strncmp(err.msg, "config.json: ", 13) == 0 && err.code == ENOENT);

	json = dq(
	    "{'ociVersion': '1.1.0', 'root': {'path': 'rootfs'}, 'process': {'args': ['sh'], 'cwd': '/'}}");
	CHECK_EQ(write_file(path, json), 0);
	free(json);
	CHECK(vs_spec_load(dir, &s, &err) == 0);
	{
		char want[300];
		snprintf(want, sizeof(want), "%s/rootfs", dir);
		CHECK_STREQ(s.root_path, want);
		CHECK(STRV_IS(&s.process.args, "sh"));
	}
	vs_spec_free(&s);

	CHECK(write_file(path,
			 "{\n  \"ociVersion\": \"1.1.0\",\n  \"root\": {\"path\": \"r\"},\n  \"linux\": "
			 "{\"namespaces\": [{\"type\": \"pidd\"}]}\n}\n") == 0);
	CHECK(vs_spec_load(dir, &s, &err) == -1);
	CHECK_STREQ(err.msg, "config.json: linux.namespaces[0].type: unknown namespace type `pidd`");

	CHECK_EQ(write_file(path, "{\n  \"ociVersion\": \"1.1.0\",\n  \"root\" {}\n}\n"), 0);
	CHECK(vs_spec_load(dir, &s, &err) == -1);
	CHECK(strcmp(err.msg,
		     "config.json: line 3, column 10: expected ':' after the object key, found character "
		     "'{'") == 0);

	/* Oversized: refused before reading (sparse file, no real I/O). */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && ftruncate(fd, (16 << 20) + 1) == 0);
	if (fd >= 0)
		close(fd);
	CHECK(vs_spec_load(dir, &s, &err) == -1);
	CHECK(strncmp(err.msg, "config.json: ", 13) == 0 && err.code == EFBIG);

	unlink(path);
	rmdir(dir);
}

VS_TAP_MAIN(TAP_CASE(full_config_every_field), TAP_CASE(minimal_config), TAP_CASE(runc_spec_default),
	    TAP_CASE(root_path_resolution), TAP_CASE(tolerates_extensions_nulls_and_duplicates),
	    TAP_CASE(user_namespace_joined_without_mappings), TAP_CASE(validation_errors_name_the_field),
	    TAP_CASE(process_json_for_exec), TAP_CASE(namespace_names), TAP_CASE(load_from_bundle),
	    TAP_CASE(network_and_rdma_resources))
