#include "container/defaults.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "container/caps.h"
#include "util/cleanup.h"

uint64_t vs_defaults_caps(void)
{
	return VS_CAP_BIT(CAP_CHOWN) | VS_CAP_BIT(CAP_DAC_OVERRIDE) | VS_CAP_BIT(CAP_FOWNER) |
	       VS_CAP_BIT(CAP_FSETID) | VS_CAP_BIT(CAP_KILL) | VS_CAP_BIT(CAP_NET_BIND_SERVICE) |
	       VS_CAP_BIT(CAP_SETFCAP) | VS_CAP_BIT(CAP_SETGID) | VS_CAP_BIT(CAP_SETPCAP) |
	       VS_CAP_BIT(CAP_SETUID) | VS_CAP_BIT(CAP_SYS_CHROOT);
}

static const char *const masked_paths[] = { "/proc/acpi",
					    "/proc/interrupts",
					    "/proc/kcore",
					    "/proc/keys",
					    "/proc/latency_stats",
					    "/proc/sched_debug",
					    "/proc/scsi",
					    "/proc/timer_list",
					    "/proc/timer_stats",
					    "/sys/dev/block",
					    "/sys/devices/virtual/powercap",
					    "/sys/firmware",
					    "/sys/fs/selinux",
					    NULL };

static const char *const readonly_paths[] = { "/proc/asound", "/proc/bus",	     "/proc/fs", "/proc/irq",
					      "/proc/sys",    "/proc/sysrq-trigger", NULL };

const char *const *vs_defaults_masked_paths(void)
{
	return masked_paths;
}

const char *const *vs_defaults_readonly_paths(void)
{
	return readonly_paths;
}

/* ---- seccomp profile tables ----
 * Names are those of libseccomp; a name the host arch (or the library)
 * lacks is skipped when the filter is built, so one table serves every
 * architecture. Each name appears in exactly one table. */

/* Allowed unconditionally. */
static const char *const sys_allow[] = {
	/* files and directories */
	"access", "faccessat", "faccessat2", "chdir", "fchdir", "chmod", "fchmod", "fchmodat", "fchmodat2",
	"chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "close", "close_range",
	"creat", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "fsync", "fdatasync", "sync", "syncfs",
	"sync_file_range", "sync_file_range2", "arm_sync_file_range", "truncate", "truncate64", "ftruncate",
	"ftruncate64", "fallocate", "fadvise64", "fadvise64_64", "arm_fadvise64_64", "readahead", "getcwd",
	"getdents", "getdents64", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "mknod", "mknodat", "open", "openat", "openat2",
	"name_to_handle_at", "readlink", "readlinkat", "stat", "stat64", "lstat", "lstat64", "fstat",
	"fstat64", "newfstatat", "fstatat64", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "umask",
	"utime", "utimes", "futimesat", "utimensat", "utimensat_time64", "getxattr", "lgetxattr", "fgetxattr",
	"setxattr", "lsetxattr", "fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
	"lremovexattr", "fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch", "fanotify_mark", "cachestat",
	/* reading and writing */
	"read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
	"lseek", "_llseek", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range", "ioctl",
	"io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
	"io_pgetevents_time64",
	/* memory */
	"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "pkey_mprotect", "pkey_alloc", "pkey_free",
	"madvise", "mincore", "msync", "mlock", "mlock2", "mlockall", "munlock", "munlockall",
	"remap_file_pages", "memfd_create", "memfd_secret", "membarrier", "get_mempolicy", "set_mempolicy",
	"set_mempolicy_home_node", "mbind", "map_shadow_stack", "mseal", "process_mrelease",
	/* processes and threads */
	"execve", "execveat", "fork", "vfork", "exit", "exit_group", "wait4", "waitid", "waitpid", "getpid",
	"getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid", "set_tid_address",
	"set_robust_list", "get_robust_list", "rseq", "futex", "futex_time64", "futex_waitv", "futex_wake",
	"futex_wait", "futex_requeue", "restart_syscall", "arch_prctl", "modify_ldt", "set_thread_area",
	"get_thread_area", "set_tls", "cacheflush", "breakpoint", "prctl", "capget", "capset", "seccomp",
	"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "pidfd_open",
	"pidfd_send_signal", "getrandom", "uname", "sysinfo", "getcpu",
	/* credentials */
	"getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
	"getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32", "setuid",
	"setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32", "setresuid",
	"setresuid32", "setresgid", "setresgid32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
	"setgroups", "setgroups32",
	/* scheduling and limits */
	"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
	"sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
	"sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
	"sched_rr_get_interval_time64", "getpriority", "setpriority", "nice", "ioprio_get", "ioprio_set",
	"getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times",
	/* signals */
	"kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	"sigaction", "sigprocmask", "sigreturn", "sigpending", "sigsuspend", "signal", "sigaltstack",
	"signalfd", "signalfd4", "pause", "alarm",
	/* time */
	"time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
	"clock_nanosleep", "clock_nanosleep_time64", "clock_adjtime", "clock_adjtime64", "adjtimex",
	"nanosleep", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_gettime",
	"timer_gettime64", "timer_settime", "timer_settime64", "timer_getoverrun", "timerfd_create",
	"timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
	/* waiting for events */
	"select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd",
	"eventfd2",
	/* sockets (socket itself is below) and IPC */
	"socketpair", "socketcall", "bind", "connect", "listen", "accept", "accept4", "getsockname",
	"getpeername", "getsockopt", "setsockopt", "shutdown", "send", "sendto", "sendmsg", "sendmmsg",
	"recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "pipe", "pipe2", "ipc", "msgget",
	"msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semtimedop_time64", "semctl",
	"shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedsend_time64",
	"mq_timedreceive", "mq_timedreceive_time64", "mq_notify", "mq_getsetattr", NULL
};

/* Refused with EPERM whatever the capabilities. */
static const char *const sys_deny[] = {
	"kexec_load",	"kexec_file_load",  "swapon",	      "swapoff",	 "keyctl",
	"add_key",	"request_key",	    "userfaultfd",    "uselib",		 "nfsservctl",
	"vm86",		"vm86old",	    "bdflush",	      "create_module",	 "get_kernel_syms",
	"query_module", "pciconfig_iobase", "pciconfig_read", "pciconfig_write", NULL
};

static const char *const sys_admin[] = { "mount",	  "umount",	   "umount2",	     "pivot_root",
					 "fsopen",	  "fsconfig",	   "fsmount",	     "fspick",
					 "move_mount",	  "open_tree",	   "mount_setattr",  "unshare",
					 "setns",	  "quotactl",	   "quotactl_fd",    "sethostname",
					 "setdomainname", "fanotify_init", "lookup_dcookie", NULL };
static const char *const sys_bpf[] = { "bpf", NULL };
static const char *const sys_perf[] = { "perf_event_open", NULL };
static const char *const sys_boot[] = { "reboot", NULL };
static const char *const sys_chroot[] = { "chroot", NULL };
static const char *const sys_module[] = { "init_module", "finit_module", "delete_module", NULL };
static const char *const sys_pacct[] = { "acct", NULL };
static const char *const sys_ptrace[] = { "kcmp", "pidfd_getfd", "process_madvise", NULL };
static const char *const sys_ptrace_old_kernel[] = { "ptrace", "process_vm_readv", "process_vm_writev",
						     NULL };
static const char *const sys_rawio[] = { "iopl", "ioperm", NULL };
static const char *const sys_time[] = { "settimeofday", "stime", "clock_settime", "clock_settime64", NULL };
static const char *const sys_tty[] = { "vhangup", NULL };
static const char *const sys_syslog[] = { "syslog", NULL };
static const char *const sys_dac_read[] = { "open_by_handle_at", NULL };
static const char *const sys_nice[] = { "migrate_pages", "move_pages", NULL };

/* Allowed when the container holds any capability of `caps`, else EPERM. */
static const struct {
	uint64_t caps;
	const char *const *names;
} cap_groups[] = {
	{ VS_CAP_BIT(CAP_SYS_ADMIN), sys_admin },
	{ VS_CAP_BIT(CAP_SYS_ADMIN) | VS_CAP_BIT(CAP_BPF), sys_bpf },
	{ VS_CAP_BIT(CAP_SYS_ADMIN) | VS_CAP_BIT(CAP_PERFMON), sys_perf },
	{ VS_CAP_BIT(CAP_SYS_BOOT), sys_boot },
	{ VS_CAP_BIT(CAP_SYS_CHROOT), sys_chroot },
	{ VS_CAP_BIT(CAP_SYS_MODULE), sys_module },
	{ VS_CAP_BIT(CAP_SYS_PACCT), sys_pacct },
	{ VS_CAP_BIT(CAP_SYS_PTRACE), sys_ptrace },
	{ VS_CAP_BIT(CAP_SYS_RAWIO), sys_rawio },
	{ VS_CAP_BIT(CAP_SYS_TIME), sys_time },
	{ VS_CAP_BIT(CAP_SYS_TTY_CONFIG), sys_tty },
	{ VS_CAP_BIT(CAP_SYSLOG) | VS_CAP_BIT(CAP_SYS_ADMIN), sys_syslog },
	{ VS_CAP_BIT(CAP_DAC_READ_SEARCH), sys_dac_read },
	{ VS_CAP_BIT(CAP_SYS_NICE), sys_nice },
};

/* personality(2) values a container may set: plain Linux, the 32-bit
 * personality, their UNAME26 variants, and the 0xffffffff query. */
static const uint64_t personalities[] = { PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32,
					  0xffffffffu };

/* clone(2) flags that create namespaces (CLONE_NEWTIME only exists for
 * clone3 and unshare). */
#define VS_CLONE_NS_FLAGS                                                                             \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
	 CLONE_NEWNET)

/* The flags are clone's first argument, except on s390 where the stack
 * pointer comes first. */
#if defined(__s390__) || defined(__s390x__)
#define VS_CLONE_FLAGS_ARG 1
#else
#define VS_CLONE_FLAGS_ARG 0
#endif

static size_t names_count(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	return n;
}

static int strv_dup(struct vs_strv *out, const char *const *names)
{
	size_t n = names_count(names);
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(names[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return -1;
		}
	}
	out->v = v;
	out->count = n;
	return 0;
}

struct profile_builder {
	struct vs_spec_seccomp *s;
	size_t alloc;
};

/* Append one rule; errno_ret < 0 means "no errnoRet". */
static int add_rule(struct profile_builder *b, const char *const *names, enum vs_seccomp_action action,
		    int errno_ret, const struct vs_seccomp_arg *args, size_t nargs)
{
	struct vs_spec_seccomp *s = b->s;
	if (s->syscalls_count == b->alloc) {
		size_t alloc = b->alloc ? 2 * b->alloc : 32;
		struct vs_seccomp_rule *grown = realloc(s->syscalls, alloc * sizeof(*grown));
		if (!grown)
			return -1;
		s->syscalls = grown;
		b->alloc = alloc;
	}
	struct vs_seccomp_rule *r = &s->syscalls[s->syscalls_count++];
	memset(r, 0, sizeof(*r));
	r->action = action;
	r->has_errno_ret = errno_ret >= 0;
	r->errno_ret = errno_ret >= 0 ? (uint32_t)errno_ret : 0;
	if (nargs) {
		r->args = calloc(nargs, sizeof(*r->args));
		if (!r->args)
			return -1;
		memcpy(r->args, args, nargs * sizeof(*args));
		r->args_count = nargs;
	}
	return strv_dup(&r->names, names);
}

static int add_allow(struct profile_builder *b, const char *const *names)
{
	return add_rule(b, names, VS_SECCOMP_ALLOW, -1, NULL, 0);
}

static int add_eperm(struct profile_builder *b, const char *const *names)
{
	return add_rule(b, names, VS_SECCOMP_ERRNO, EPERM, NULL, 0);
}

/* Before 4.8 a tracer could change a traced syscall after seccomp had
 * checked it, so ptrace defeated the filter. */
static bool ptrace_is_safe(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return true; /* cannot tell: kernels this old are not supported anyway */
	return major > 4 || (major == 4 && minor >= 8);
}

static int add_personality(struct profile_builder *b)
{
	static const char *const name[] = { "personality", NULL };
	for (size_t i = 0; i < VS_ARRAY_SIZE(personalities); i++) {
		struct vs_seccomp_arg a = { .index = 0, .value = personalities[i], .op = VS_SCMP_EQ };
		if (add_rule(b, name, VS_SECCOMP_ALLOW, -1, &a, 1) < 0)
			return -1;
	}
	return 0;
}

static int add_clone(struct profile_builder *b, uint64_t caps)
{
	static const char *const clone[] = { "clone", NULL };
	static const char *const clone_all[] = { "clone", "clone3", NULL };
	if (caps & VS_CAP_BIT(CAP_SYS_ADMIN))
		return add_allow(b, clone_all);

	/* Threads and processes, but no new namespaces: allowed when no
	 * namespace flag is set, EPERM when any one is. clone3 keeps its
	 * flags in memory seccomp cannot read, so it is left to the ENOSYS
	 * default, which sends libc back to clone. */
	struct vs_seccomp_arg a = { .index = VS_CLONE_FLAGS_ARG,
				    .value = VS_CLONE_NS_FLAGS,
				    .value_two = 0,
				    .op = VS_SCMP_MASKED_EQ };
	if (add_rule(b, clone, VS_SECCOMP_ALLOW, -1, &a, 1) < 0)
		return -1;
	for (int bit = 0; bit < 64; bit++) {
		uint64_t flag = UINT64_C(1) << bit;
		if (!(VS_CLONE_NS_FLAGS & flag))
			continue;
		a.value = flag;
		a.value_two = flag;
		if (add_rule(b, clone, VS_SECCOMP_ERRNO, EPERM, &a, 1) < 0)
			return -1;
	}
	return 0;
}

static int add_socket(struct profile_builder *b, uint64_t caps)
{
	static const char *const sock[] = { "socket", NULL };
	if (caps & VS_CAP_BIT(CAP_AUDIT_WRITE))
		return add_allow(b, sock);

	/* Three disjoint cases on (domain, protocol). */
	struct vs_seccomp_arg not_netlink = { .index = 0, .value = AF_NETLINK, .op = VS_SCMP_NE };
	struct vs_seccomp_arg other_proto[2] = {
		{ .index = 0, .value = AF_NETLINK, .op = VS_SCMP_EQ },
		{ .index = 2, .value = NETLINK_AUDIT, .op = VS_SCMP_NE },
	};
	struct vs_seccomp_arg audit[2] = {
		{ .index = 0, .value = AF_NETLINK, .op = VS_SCMP_EQ },
		{ .index = 2, .value = NETLINK_AUDIT, .op = VS_SCMP_EQ },
	};
	if (add_rule(b, sock, VS_SECCOMP_ALLOW, -1, &not_netlink, 1) < 0 ||
	    add_rule(b, sock, VS_SECCOMP_ALLOW, -1, other_proto, 2) < 0)
		return -1;
	return add_rule(b, sock, VS_SECCOMP_ERRNO, EINVAL, audit, 2);
}

/* The native ABI and the compat ABIs its kernel can also run. */
static const char *const *native_arches(void)
{
#if defined(__x86_64__)
	static const char *const a[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
#elif defined(__aarch64__)
	static const char *const a[] = { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL };
#elif defined(__s390x__)
	static const char *const a[] = { "SCMP_ARCH_S390X", "SCMP_ARCH_S390", NULL };
#else
	static const char *const a[] = { NULL }; /* native only */
#endif
	return a;
}

static int build_profile(struct profile_builder *b, uint64_t caps)
{
	struct vs_spec_seccomp *s = b->s;
	s->default_action = VS_SECCOMP_ERRNO;
	s->has_default_errno_ret = true;
	s->default_errno_ret = ENOSYS;
	if (strv_dup(&s->architectures, native_arches()) < 0)
		return -1;
	if (add_allow(b, sys_allow) < 0 || add_eperm(b, sys_deny) < 0)
		return -1;
	for (size_t i = 0; i < VS_ARRAY_SIZE(cap_groups); i++) {
		bool held = (caps & cap_groups[i].caps) != 0;
		if ((held ? add_allow : add_eperm)(b, cap_groups[i].names) < 0)
			return -1;
	}
	bool ptrace_ok = ptrace_is_safe() || (caps & VS_CAP_BIT(CAP_SYS_PTRACE));
	if ((ptrace_ok ? add_allow : add_eperm)(b, sys_ptrace_old_kernel) < 0)
		return -1;
	if (add_personality(b) < 0 || add_clone(b, caps) < 0 || add_socket(b, caps) < 0)
		return -1;
	return 0;
}

int vs_defaults_seccomp(uint64_t caps, struct vs_spec_seccomp *out, struct vs_error *err)
{
	struct profile_builder b = { .s = out, .alloc = 0 };
	memset(out, 0, sizeof(*out));
	if (build_profile(&b, caps) < 0) {
		vs_defaults_seccomp_free(out);
		return vs_error_set(err, ENOMEM, "building the default seccomp profile");
	}
	return 0;
}

static void strv_free(struct vs_strv *v)
{
	for (size_t i = 0; i < v->count; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->count = 0;
}

void vs_defaults_seccomp_free(struct vs_spec_seccomp *s)
{
	for (size_t i = 0; i < s->syscalls_count; i++) {
		strv_free(&s->syscalls[i].names);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
	strv_free(&s->architectures);
	strv_free(&s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	memset(s, 0, sizeof(*s));
}
