#include "container/caps.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

_Static_assert(CAP_CHECKPOINT_RESTORE == VS_CAP_LAST_KNOWN, "capability table out of date");

/* Indexed by number, spelled by the kernel header's own macro names so a
 * typo cannot pair a name with the wrong number. */
#define VS_CAP_ENTRY(c) [c] = #c
static const char *const cap_names[VS_CAP_LAST_KNOWN + 1] = {
	VS_CAP_ENTRY(CAP_CHOWN),
	VS_CAP_ENTRY(CAP_DAC_OVERRIDE),
	VS_CAP_ENTRY(CAP_DAC_READ_SEARCH),
	VS_CAP_ENTRY(CAP_FOWNER),
	VS_CAP_ENTRY(CAP_FSETID),
	VS_CAP_ENTRY(CAP_KILL),
	VS_CAP_ENTRY(CAP_SETGID),
	VS_CAP_ENTRY(CAP_SETUID),
	VS_CAP_ENTRY(CAP_SETPCAP),
	VS_CAP_ENTRY(CAP_LINUX_IMMUTABLE),
	VS_CAP_ENTRY(CAP_NET_BIND_SERVICE),
	VS_CAP_ENTRY(CAP_NET_BROADCAST),
	VS_CAP_ENTRY(CAP_NET_ADMIN),
	VS_CAP_ENTRY(CAP_NET_RAW),
	VS_CAP_ENTRY(CAP_IPC_LOCK),
	VS_CAP_ENTRY(CAP_IPC_OWNER),
	VS_CAP_ENTRY(CAP_SYS_MODULE),
	VS_CAP_ENTRY(CAP_SYS_RAWIO),
	VS_CAP_ENTRY(CAP_SYS_CHROOT),
	VS_CAP_ENTRY(CAP_SYS_PTRACE),
	VS_CAP_ENTRY(CAP_SYS_PACCT),
	VS_CAP_ENTRY(CAP_SYS_ADMIN),
	VS_CAP_ENTRY(CAP_SYS_BOOT),
	VS_CAP_ENTRY(CAP_SYS_NICE),
	VS_CAP_ENTRY(CAP_SYS_RESOURCE),
	VS_CAP_ENTRY(CAP_SYS_TIME),
	VS_CAP_ENTRY(CAP_SYS_TTY_CONFIG),
	VS_CAP_ENTRY(CAP_MKNOD),
	VS_CAP_ENTRY(CAP_LEASE),
	VS_CAP_ENTRY(CAP_AUDIT_WRITE),
	VS_CAP_ENTRY(CAP_AUDIT_CONTROL),
	VS_CAP_ENTRY(CAP_SETFCAP),
	VS_CAP_ENTRY(CAP_MAC_OVERRIDE),
	VS_CAP_ENTRY(CAP_MAC_ADMIN),
	VS_CAP_ENTRY(CAP_SYSLOG),
	VS_CAP_ENTRY(CAP_WAKE_ALARM),
	VS_CAP_ENTRY(CAP_BLOCK_SUSPEND),
	VS_CAP_ENTRY(CAP_AUDIT_READ),
	VS_CAP_ENTRY(CAP_PERFMON),
	VS_CAP_ENTRY(CAP_BPF),
	VS_CAP_ENTRY(CAP_CHECKPOINT_RESTORE),
};
#undef VS_CAP_ENTRY

int vs_caps_from_name(const char *name)
{
	if (!name || strncmp(name, "CAP_", 4) != 0)
		return -1;
	for (int i = 0; i <= VS_CAP_LAST_KNOWN; i++)
		if (strcmp(cap_names[i], name) == 0)
			return i;
	return -1;
}

const char *vs_caps_name(int cap)
{
	if (cap < 0 || cap > VS_CAP_LAST_KNOWN)
		return NULL;
	return cap_names[cap];
}

static int last_cap_from_proc(void)
{
	char buf[16];
	vs_autoclose int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	errno = 0;
	long v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0') || v < 0 || v > 63)
		return -1;
	return (int)v;
}

int vs_caps_last_supported(void)
{
	int last = last_cap_from_proc();
	if (last >= 0)
		return last;
	/* The kernel answers EINVAL for numbers it does not know. */
	for (int n = 0; n < 64; n++)
		if (prctl(PR_CAPBSET_READ, n, 0, 0, 0) < 0 && errno == EINVAL)
			return n > 0 ? n - 1 : VS_CAP_LAST_KNOWN;
	return VS_CAP_LAST_KNOWN;
}

static uint64_t known_mask(int last)
{
	return last >= 63 ? UINT64_MAX : VS_CAP_BIT(last + 1) - 1;
}

/* "CAP_SYS_ADMIN", or "capability 45" for numbers past the table. */
static const char *cap_label(uint64_t mask, char *buf, size_t len)
{
	int n = __builtin_ctzll(mask);
	const char *name = vs_caps_name(n);
	if (name)
		return name;
	snprintf(buf, len, "capability %d", n);
	return buf;
}

struct cap_triple {
	uint64_t effective, permitted, inheritable;
};

static uint64_t read_bounding(int last)
{
	uint64_t set = 0;
	for (int n = 0; n <= last; n++)
		if (prctl(PR_CAPBSET_READ, n, 0, 0, 0) > 0)
			set |= VS_CAP_BIT(n);
	return set;
}

static int caps_get(struct cap_triple *out, struct vs_error *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return vs_error_set(err, errno, "capget");
	out->effective = data[0].effective | (uint64_t)data[1].effective << 32;
	out->permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
	out->inheritable = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
	return 0;
}

static int caps_set(const struct cap_triple *c, struct vs_error *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	data[0].effective = (uint32_t)c->effective;
	data[1].effective = (uint32_t)(c->effective >> 32);
	data[0].permitted = (uint32_t)c->permitted;
	data[1].permitted = (uint32_t)(c->permitted >> 32);
	data[0].inheritable = (uint32_t)c->inheritable;
	data[1].inheritable = (uint32_t)(c->inheritable >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return vs_error_set(err, errno, "capset(effective %#llx, permitted %#llx, inheritable %#llx)",
				    (unsigned long long)c->effective, (unsigned long long)c->permitted,
				    (unsigned long long)c->inheritable);
	return 0;
}

/* Refuse, by name, what capset or PR_CAP_AMBIENT_RAISE would refuse with a
 * bare EPERM, before anything is changed. */
static int check_request(const struct vs_spec_caps *want, const struct cap_triple *cur, uint64_t cur_bounding,
			 struct vs_error *err)
{
	char buf[32];
	uint64_t bad;

	if ((bad = want->effective & ~want->permitted))
		return vs_error_msg(err, "capabilities: effective %s is not in the permitted set",
				    cap_label(bad, buf, sizeof(buf)));
	if ((bad = want->permitted & ~cur->permitted))
		return vs_error_msg(err,
				    "capabilities: %s is requested but the runtime does not hold it "
				    "(not in its permitted or bounding set)",
				    cap_label(bad, buf, sizeof(buf)));
	/* The bounding set can only shrink: what it will hold afterwards. */
	if ((bad = want->inheritable & ~((want->bounding & cur_bounding) | cur->inheritable)))
		return vs_error_msg(err, "capabilities: inheritable %s is not in the bounding set",
				    cap_label(bad, buf, sizeof(buf)));
	return 0;
}

static int drop_bounding(uint64_t keep, int last, struct vs_error *err)
{
	for (int n = 0; n <= last; n++) {
		if (keep & VS_CAP_BIT(n))
			continue;
		int r = prctl(PR_CAPBSET_READ, n, 0, 0, 0);
		if (r < 0 && errno == EINVAL)
			break; /* beyond what this kernel knows */
		if (r <= 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, n, 0, 0, 0) < 0) {
			char buf[32];
			return vs_error_set(err, errno, "capabilities: dropping %s from the bounding set",
					    cap_label(VS_CAP_BIT(n), buf, sizeof(buf)));
		}
	}
	return 0;
}

static int set_ambient(uint64_t ambient, int last, struct vs_error *err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		/* Kernels before 4.3 have no ambient set; nothing to clear. */
		if (errno == EINVAL && ambient == 0)
			return 0;
		return vs_error_set(err, errno, "capabilities: clearing the ambient set");
	}
	for (int n = 0; n <= last; n++) {
		if (!(ambient & VS_CAP_BIT(n)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, 0, 0) < 0) {
			char buf[32];
			return vs_error_set(err, errno, "capabilities: raising ambient %s",
					    cap_label(VS_CAP_BIT(n), buf, sizeof(buf)));
		}
	}
	return 0;
}

int vs_caps_apply(const struct vs_spec_caps *caps, struct vs_error *err)
{
	int last = vs_caps_last_supported();
	uint64_t known = known_mask(last);
	struct vs_spec_caps want = {
		.bounding = caps->bounding & known,
		.effective = caps->effective & known,
		.inheritable = caps->inheritable & known,
		.permitted = caps->permitted & known,
		/* The kernel only raises an ambient capability that is both
		 * permitted and inheritable. runc's own `runc spec` lists ambient
		 * caps without inheritable ones and runc skips them with a
		 * warning; we skip them the same way so such configs run. */
		.ambient = caps->ambient & known & caps->permitted & caps->inheritable,
	};
	struct cap_triple cur = { 0 };

	if (caps_get(&cur, err) < 0)
		return -1;
	if (check_request(&want, &cur, read_bounding(last), err) < 0)
		return -1;

	/* A change of uid to non-root cleared the effective set even though
	 * PR_SET_KEEPCAPS kept the permitted one; CAP_SETPCAP must be
	 * effective again to shrink the bounding set. */
	if (cur.effective != cur.permitted) {
		struct cap_triple raised = { cur.permitted, cur.permitted, cur.inheritable };
		if (caps_set(&raised, err) < 0)
			return vs_error_prefix(err, "capabilities: raising the effective set: ");
	}
	if (drop_bounding(want.bounding, last, err) < 0)
		return -1;

	struct cap_triple final = { want.effective, want.permitted, want.inheritable };
	if (caps_set(&final, err) < 0)
		return vs_error_prefix(err, "capabilities: ");
	return set_ambient(want.ambient, last, err);
}

int vs_caps_apply_no_new_privs(bool enable, struct vs_error *err)
{
	if (enable && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vs_error_set(err, errno, "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}
