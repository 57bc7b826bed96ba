/* Device access control on cgroup v2: the OCI device rules compiled to a
 * BPF_PROG_TYPE_CGROUP_DEVICE program and attached to the container's
 * cgroup, replacing any device program attached there before.
 *
 * Semantics match applying the rules in order to a fresh v1 devices
 * cgroup: the program walks the rules from the last one back; an allow
 * rule that matches the device grants its access bits, a deny rule that
 * matches refuses if it covers any access bit not granted yet, and what no
 * rule decides is allowed (so lists normally start with "deny all").
 */
#include "container/cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

#define MAX_RULES 4096
#define MAX_OLD_PROGS 64

/* Registers: r1 context, r2 device type, r3 access bits still to grant,
 * r4 major, r5 minor, r0 scratch/result. */
static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
	return i;
}

#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define MOV_X(dst, src) insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV_K(dst, imm) insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define AND_K(dst, imm) insn(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm)
#define RSH_K(dst, imm) insn(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm)
#define JNE_K(dst, imm, off) insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JEQ_K(dst, imm, off) insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int access_bits(const char *access)
{
	int bits = 0;
	if (!access[0])
		access = "rwm";
	for (const char *p = access; *p; p++)
		bits |= *p == 'r'   ? BPF_DEVCG_ACC_READ
			: *p == 'w' ? BPF_DEVCG_ACC_WRITE
			: *p == 'm' ? BPF_DEVCG_ACC_MKNOD
				    : 0;
	return bits;
}

/* Instructions for rules[], at most 3 checks + 5 per rule + 8 around. */
static int compile(const struct vs_spec_device_rule *rules, size_t count, struct bpf_insn *out, size_t *n,
		   struct vs_error *err)
{
	size_t k = 0;
	out[k++] = LDX_W(2, 1, 0); /* access_type = access << 16 | type */
	out[k++] = MOV_X(3, 2);
	out[k++] = RSH_K(3, 16);
	out[k++] = AND_K(2, 0xffff);
	out[k++] = LDX_W(4, 1, 4);
	out[k++] = LDX_W(5, 1, 8);
	for (size_t i = count; i-- > 0;) {
		const struct vs_spec_device_rule *r = &rules[i];
		int32_t checks[3][2];
		size_t h = 0;
		if (r->type == 'c' || r->type == 'b') {
			checks[h][0] = 2;
			checks[h++][1] = r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
		} else if (r->type != 'a') {
			return vs_error_msg(err, "devices[%zu]: unknown type `%c`", i, r->type);
		}
		if (r->type != 'a' && r->major > INT32_MAX)
			return vs_error_msg(err, "devices[%zu]: major %lld out of range", i,
					    (long long)r->major);
		if (r->type != 'a' && r->minor > INT32_MAX)
			return vs_error_msg(err, "devices[%zu]: minor %lld out of range", i,
					    (long long)r->minor);
		if (r->type != 'a' && r->major >= 0) {
			checks[h][0] = 4;
			checks[h++][1] = (int32_t)r->major;
		}
		if (r->type != 'a' && r->minor >= 0) {
			checks[h][0] = 5;
			checks[h++][1] = (int32_t)r->minor;
		}
		int acc = access_bits(r->access);
		int16_t body = r->allow ? 4 : 5;
		for (size_t j = 0; j < h; j++)
			out[k++] = JNE_K(checks[j][0], checks[j][1], (int16_t)(h - j - 1 + (size_t)body));
		if (r->allow) {
			out[k++] = AND_K(3, ~acc);
			out[k++] = JNE_K(3, 0, 2);
			out[k++] = MOV_K(0, 1);
			out[k++] = EXIT();
		} else {
			out[k++] = MOV_X(0, 3);
			out[k++] = AND_K(0, acc);
			out[k++] = JEQ_K(0, 0, 2);
			out[k++] = MOV_K(0, 0);
			out[k++] = EXIT();
		}
	}
	out[k++] = MOV_K(0, 1);
	out[k++] = EXIT();
	*n = k;
	return 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int load(const struct bpf_insn *prog, size_t n, struct vs_error *err)
{
	static const char license[] = "Apache-2.0";
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t)license;
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	int e = errno;
	/* Ask again with the verifier log to explain the refusal. */
	char log[1024] = "";
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	log[sizeof(log) - 1] = '\0';
	return vs_error_set(err, e, "loading the device-control BPF program%s%.300s", log[0] ? ": " : "",
			    log);
}

int vs_cgroup_bpf_devices(const char *dir, const struct vs_spec_device_rule *rules, size_t count,
			  struct vs_error *err)
{
	vs_autofree struct bpf_insn *prog = NULL;
	vs_autoclose int prog_fd = -1;
	vs_autoclose int cg_fd = -1;
	uint32_t old_ids[MAX_OLD_PROGS];
	union bpf_attr attr;
	size_t n = 0;
	if (count > MAX_RULES)
		return vs_error_msg(err, "devices: %zu rules, more than the %d supported", count, MAX_RULES);
	prog = calloc(count * 8 + 8, sizeof(*prog));
	if (!prog)
		return vs_error_set(err, ENOMEM, "building the device program");
	if (compile(rules, count, prog, &n, err) < 0)
		return -1;
	prog_fd = load(prog, n, err);
	if (prog_fd < 0)
		return -1;
	cg_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return vs_error_set(err, errno, "opening cgroup `%s`", dir);

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cg_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
	attr.query.prog_cnt = MAX_OLD_PROGS;
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return vs_error_set(err, errno, "%s: querying device programs", dir);
	uint32_t old_count = attr.query.prog_cnt;
	/* A single program attached without BPF_F_ALLOW_MULTI is replaced
	 * by attaching in the same mode; otherwise add ours, then detach
	 * the old ones, so no moment is left without control. */
	uint32_t flags = old_count && !(attr.query.attach_flags & BPF_F_ALLOW_MULTI) ? attr.query.attach_flags
										     : BPF_F_ALLOW_MULTI;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cg_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = flags;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return vs_error_set(err, errno, "%s: attaching the device program", dir);
	if (!(flags & BPF_F_ALLOW_MULTI))
		return 0;
	for (uint32_t i = 0; i < old_count && i < MAX_OLD_PROGS; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.prog_id = old_ids[i];
		vs_autoclose int old_fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
		if (old_fd < 0 && errno == ENOENT)
			continue; /* gone meanwhile */
		if (old_fd < 0)
			return vs_error_set(err, errno, "%s: replacing device program %u", dir, old_ids[i]);
		memset(&attr, 0, sizeof(attr));
		attr.target_fd = (uint32_t)cg_fd;
		attr.attach_bpf_fd = (uint32_t)old_fd;
		attr.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
			return vs_error_set(err, errno, "%s: detaching device program %u", dir, old_ids[i]);
	}
	return 0;
}
