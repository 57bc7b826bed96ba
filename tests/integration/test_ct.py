#!/usr/bin/env python3
"""`vessel ct run` end to end on a busybox root filesystem. Prints TAP.

Usage: test_ct.py [VESSEL]   (or $VESSEL)

Builds a throwaway rootfs (the tests' busybox rootfs, vessel_test/rootfs.py)
and runs containers on it: exit status and
output pass-through, cgroup limits as seen from inside, hostname, --ro,
--net none/host, the pid namespace, the default capability set, masked and
read-only paths, the default seccomp profile, stdin, signal forwarding, and
bad input (status 125 with one line on stderr naming the problem).

After every case the test checks that nothing was left behind: no new
entry under /run/vessel/ct, no new cgroup directory
/sys/fs/cgroup/*/vessel/ct-*, no process whose root directory is the test
rootfs. Anything left is reported in that case and then removed so that
the next case starts clean.

Needs root, cgroupfs and a static busybox (/bin/busybox or $BUSYBOX);
skips without them. $VESSEL_TEST_FILTER picks cases by name
(vessel_test/tap.py).
"""
import fcntl
import glob
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.oci import state_root_entries  # noqa: E402
from vessel_test.rootfs import build_busybox_rootfs, busybox_missing  # noqa: E402
from vessel_test.tap import Tap, describe_command  # noqa: E402

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")
TIMEOUT_S = 30          # one container run
QUICK_S = 10            # bad input must be rejected faster than this
STATE_ROOT = "/run/vessel/ct"
CGROUP_GLOB = "/sys/fs/cgroup/*/vessel/ct-*"
CGROUP_GLOB_V2 = "/sys/fs/cgroup/vessel/ct-*"
# podman's default capability set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL
# NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT.
DEFAULT_CAPS = "00000000800405fb"
EXIT_SETUP = 125


class Ctx:
    def __init__(self, vessel, tmp, rootfs):
        self.vessel = vessel
        self.tmp = tmp
        self.rootfs = rootfs
        self.root_id = None
        if rootfs:
            st = os.stat(rootfs)
            self.root_id = (st.st_dev, st.st_ino)
        self.base_state = set(state_entries())
        self.base_cgroups = set(cgroup_dirs())


# ---------------------------------------------------------------- leftovers

def state_entries():
    return state_root_entries(STATE_ROOT)


def cgroup_dirs():
    return sorted(set(glob.glob(CGROUP_GLOB) + glob.glob(CGROUP_GLOB_V2)))


def container_pids(ctx):
    """Host pids of processes whose root directory is the test rootfs."""
    pids = []
    if not ctx.root_id:
        return pids
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{name}/root")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == ctx.root_id:
            pids.append(int(name))
    return pids


def ns_pid(pid):
    """The innermost pid of a host pid (the NSpid line of its status)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except OSError:
        pass
    return None


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def leftovers(ctx):
    new_state = [e for e in state_entries() if e not in ctx.base_state]
    new_cg = [d for d in cgroup_dirs() if d not in ctx.base_cgroups]
    procs = container_pids(ctx)
    return new_state, new_cg, procs


def check_leftovers(ctx, problems):
    """Report what a run left behind (after a short grace period), then
    remove it."""
    deadline = time.monotonic() + 2
    while True:
        new_state, new_cg, procs = leftovers(ctx)
        if not (new_state or new_cg or procs) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for e in new_state:
        problems.append(f"left behind: {STATE_ROOT}/{e}")
    for d in new_cg:
        problems.append(f"left behind: cgroup {d}")
    for p in procs:
        problems.append(f"left behind: process {p} ({comm(p)}) in the container rootfs")
    if new_state or new_cg or procs:
        clean_up(ctx)


def rmdir_tree(path):
    for dirpath, dirnames, _ in sorted(os.walk(path), key=lambda t: -len(t[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def clean_up(ctx):
    for _ in range(20):
        procs = container_pids(ctx)
        if not procs:
            break
        for p in procs:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    for e in state_entries():
        if e not in ctx.base_state:
            shutil.rmtree(os.path.join(STATE_ROOT, e), ignore_errors=True)
    for d in cgroup_dirs():
        if d not in ctx.base_cgroups:
            for _ in range(20):
                rmdir_tree(d)
                if not os.path.exists(d):
                    break
                time.sleep(0.05)


# ---------------------------------------------------------------- running

class Result:
    def __init__(self, argv, status, out, err, elapsed):
        self.argv, self.status, self.elapsed = argv, status, elapsed
        self.out_bytes, self.err_bytes = out, err
        self.out = out.decode(errors="replace")
        self.err = err.decode(errors="replace")

    def detail(self):
        return (self.argv, self.status, self.out, self.err)


def run(ctx, args, stdin_data=None, timeout=TIMEOUT_S):
    argv = [ctx.vessel] + args
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(stdin_data, timeout=timeout)
        status = p.returncode
    except subprocess.TimeoutExpired:
        kill_group(p)
        out, err = p.communicate()
        status = None
    return Result(argv, status, out, err, time.monotonic() - t0)


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def ct(ctx, opts, cmd, **kw):
    return run(ctx, ["ct", "run", "--rootfs", ctx.rootfs] + list(opts) + ["--"] + list(cmd), **kw)


def sh(ctx, script, opts=(), **kw):
    return ct(ctx, opts, ["sh", "-c", script], **kw)


def check_common(problems, r, want_status=None):
    if r.status is None:
        problems.append(f"did not finish within the time limit")
    elif r.status < 0:
        problems.append(f"vessel was killed by signal {-r.status}")
    elif want_status is not None and r.status != want_status:
        problems.append(f"exit status {r.status}, want {want_status}")
    for m in SANITIZER_MARKERS:
        if m in r.err:
            problems.append(f"stderr mentions {m}")


def outcome(problems, r=None):
    return ("fail" if problems else "ok"), problems, (r.detail() if r else None)


def lines_of(text):
    return [l for l in text.splitlines() if l.strip()]


def kv_lines(text, sep=":"):
    d = {}
    for line in text.splitlines():
        if sep in line:
            k, v = line.split(sep, 1)
            d[k.strip()] = v.strip()
    return d


def read_until(p, marker, timeout):
    """Read p's stdout until `marker` appears; returns what was read."""
    buf = b""
    deadline = time.monotonic() + timeout
    fd = p.stdout.fileno()
    while marker not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        rl, _, _ = select.select([fd], [], [], left)
        if not rl:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    return buf


def start(ctx, opts, cmd):
    argv = [ctx.vessel, "ct", "run", "--rootfs", ctx.rootfs] + list(opts) + ["--"] + list(cmd)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    return argv, p


def finish(argv, p, early_out, t0, timeout=TIMEOUT_S):
    try:
        out, err = p.communicate(timeout=timeout)
        status = p.returncode
    except subprocess.TimeoutExpired:
        kill_group(p)
        out, err = p.communicate()
        status = None
    return Result(argv, status, early_out + out, err, time.monotonic() - t0)


def container_init(ctx, timeout=5):
    """Host pid of the container's pid 1."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in container_pids(ctx):
            if ns_pid(p) == 1:
                return p
        time.sleep(0.05)
    return None


# ---------------------------------------------------------------- cases

def exit_status(script, want, want_out=None, want_err=None, opts=()):
    def case(ctx):
        r = sh(ctx, script, opts)
        problems = []
        check_common(problems, r, want)
        if want_out is not None and r.out != want_out:
            problems.append(f"stdout {r.out!r}, want {want_out!r}")
        if want_err is not None and r.err.strip() != want_err:
            problems.append(f"stderr {r.err.strip()!r}, want {want_err!r}")
        return outcome(problems, r)
    return case


def command_without_dashes(ctx):
    """Everything from the first non-option on is the command, its own
    options included."""
    r = run(ctx, ["ct", "run", "--rootfs", ctx.rootfs, "echo", "-n", "--memory", "x"])
    problems = []
    check_common(problems, r, 0)
    if r.out != "--memory x":
        problems.append(f"stdout {r.out!r}, want '--memory x' (echo -n and its arguments)")
    return outcome(problems, r)


def large_output(ctx):
    size = 4 << 20
    r = ct(ctx, [], ["head", "-c", str(size), "/dev/urandom"])
    problems = []
    check_common(problems, r, 0)
    if len(r.out_bytes) != size:
        problems.append(f"{len(r.out_bytes)} bytes on stdout, want {size}")
    return outcome(problems, r)


def killed_by_signal(ctx):
    """The container's init killed with SIGKILL from the host: vessel must
    exit 128+9, the number a shell reports for a child killed by SIGKILL
    (checked with the rootfs's own shell first)."""
    problems = []
    r = sh(ctx, 'sleep 100 & kill -9 $!; wait $!; echo $?')
    check_common(problems, r, 0)
    shell_says = r.out.strip()
    if shell_says != "137":
        problems.append(f"the container's shell reports {shell_says!r} for a SIGKILLed child, want 137")
    t0 = time.monotonic()
    argv, p = start(ctx, [], ["sh", "-c", "echo ready; exec sleep 100"])
    early = read_until(p, b"ready", 10)
    init = container_init(ctx) if b"ready" in early else None
    if init is None:
        problems.append("container did not start (no 'ready' line or no pid 1 found)")
        kill_group(p)
    else:
        os.kill(init, signal.SIGKILL)
    r = finish(argv, p, early, t0)
    check_common(problems, r, 128 + signal.SIGKILL)
    return outcome(problems, r)


def cgroup_file(v1, v2):
    """Shell snippet reading the v1 file, or the v2 one on a unified host."""
    return f"if [ -e {v1} ]; then cat {v1}; else cat {v2}; fi"


def cgroup_limit(opts, script, want_lines):
    def case(ctx):
        r = sh(ctx, script, opts)
        problems = []
        check_common(problems, r, 0)
        got = r.out.split()
        if not any(got == w for w in want_lines):
            problems.append(f"inside: {got}, want " + " or ".join(str(w) for w in want_lines))
        return outcome(problems, r)
    return case


def cgroup_readonly(ctx):
    r = sh(ctx, 'echo 5 > /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo 5 > /sys/fs/cgroup/pids.max;'
                'echo status=$?; cat /proc/self/cgroup', ["--pids", "50"])
    problems = []
    check_common(problems, r, 0)
    if "status=0" in r.out:
        problems.append("writing pids.max inside the container succeeded")
    if "read-only" not in r.err.lower():
        problems.append("the write did not fail with EROFS (no 'Read-only file system' on stderr)")
    cg = [l for l in r.out.splitlines() if l.count(":") >= 2]
    if not cg:
        problems.append("no /proc/self/cgroup lines")
    not_root = [l for l in cg if l.rsplit(":", 1)[1] != "/"]
    if not_root:
        problems.append(f"/proc/self/cgroup shows host paths (no cgroup namespace?): {not_root[:3]}")
    return outcome(problems, r)


def hostname_case(opts, want):
    def case(ctx):
        before = os.uname().nodename
        r = sh(ctx, "hostname; cat /proc/sys/kernel/hostname", opts)
        problems = []
        check_common(problems, r, 0)
        if r.out.split() != [want, want]:
            problems.append(f"hostname / kernel.hostname {r.out.split()}, want {want!r} twice")
        if os.uname().nodename != before:
            problems.append(f"the host's hostname changed to {os.uname().nodename!r}")
        return outcome(problems, r)
    return case


def read_only_root(ctx):
    r = sh(ctx, "touch /ro-probe; echo status=$?", ["--ro"])
    problems = []
    check_common(problems, r, 0)
    if "status=0" in r.out:
        problems.append("creating /ro-probe succeeded with --ro")
    if "read-only file system" not in r.err.lower():
        problems.append("the write did not fail with EROFS (no 'Read-only file system' on stderr)")
    if os.path.exists(os.path.join(ctx.rootfs, "ro-probe")):
        problems.append("/ro-probe appeared in the rootfs")
        os.unlink(os.path.join(ctx.rootfs, "ro-probe"))
    return outcome(problems, r)


def writable_root(ctx):
    probe = os.path.join(ctx.rootfs, "rw-probe")
    r = sh(ctx, "echo written > /rw-probe; echo status=$?")
    problems = []
    check_common(problems, r, 0)
    if "status=0" not in r.out:
        problems.append("writing /rw-probe failed without --ro")
    try:
        with open(probe) as f:
            if f.read() != "written\n":
                problems.append("/rw-probe in the rootfs does not hold what the container wrote")
        os.unlink(probe)
    except FileNotFoundError:
        problems.append("/rw-probe did not appear in the rootfs directory")
    return outcome(problems, r)


def netdev_names(text):
    names = []
    for line in text.splitlines():
        if ":" in line and "|" not in line:
            names.append(line.split(":", 1)[0].strip())
    return sorted(names)


def net_none(opts):
    def case(ctx):
        r = sh(ctx, "cat /proc/net/dev; echo ===; ip -o link", opts)
        problems = []
        check_common(problems, r, 0)
        dev, _, links = r.out.partition("===")
        names = netdev_names(dev)
        if names != ["lo"]:
            problems.append(f"/proc/net/dev lists {names}, want only lo")
        link_names = sorted(l.split(":")[1].strip() for l in lines_of(links) if l.count(":") >= 2)
        if link_names != ["lo"]:
            problems.append(f"ip link lists {link_names}, want only lo")
        return outcome(problems, r)
    return case


def net_host(ctx):
    with open("/proc/net/dev") as f:
        host = netdev_names(f.read())
    r = sh(ctx, "cat /proc/net/dev", ["--net", "host"])
    problems = []
    check_common(problems, r, 0)
    names = netdev_names(r.out)
    if names != host:
        problems.append(f"container sees {names}, the host has {host}")
    return outcome(problems, r)


NS_TYPES = ("pid", "mnt", "ipc", "uts", "cgroup", "net")


def namespaces(opts, shared):
    def case(ctx):
        script = "for n in " + " ".join(NS_TYPES) + "; do echo $n=$(readlink /proc/self/ns/$n); done"
        r = sh(ctx, script, opts)
        problems = []
        check_common(problems, r, 0)
        inside = kv_lines(r.out, "=")
        for n in NS_TYPES:
            host = os.readlink(f"/proc/self/ns/{n}")
            got = inside.get(n)
            if not got:
                problems.append(f"no {n} namespace link read inside")
            elif n in shared and got != host:
                problems.append(f"{n} namespace {got} is not the host's {host}")
            elif n not in shared and got == host:
                problems.append(f"{n} namespace is the host's ({host})")
        return outcome(problems, r)
    return case


def pid_namespace(ctx):
    # busybox may start an applet through /proc/self/exe and name itself
    # afterwards: wait (boundedly) until the child is called sleep, so a
    # loaded host does not catch it as "exe".
    script = ("echo self=$$; sleep 30 & s=$!; i=0;"
              " while [ \"$(cat /proc/$s/comm 2>/dev/null)\" != sleep ] && [ $i -lt 500 ]; do i=$((i+1)); done;"
              " for p in /proc/[0-9]*; do echo proc ${p#/proc/} $(cat $p/comm 2>/dev/null); done;"
              " kill $s")
    r = sh(ctx, script)
    problems = []
    check_common(problems, r, 0)
    if "self=1" not in r.out.split():
        problems.append(f"$$ inside is {kv_lines(r.out, '=').get('self')!r}, want 1")
    procs = [l.split()[1:] for l in r.out.splitlines() if l.startswith("proc ")]
    comms = sorted(p[1] if len(p) > 1 else "?" for p in procs)
    pids = [int(p[0]) for p in procs]
    # sh (pid 1), sleep, and the forks running cat (one may still be there).
    if not procs or 1 not in pids:
        problems.append(f"/proc has no pid 1: {procs}")
    if len(procs) > 5 or any(c not in ("sh", "sleep", "cat") for c in comms):
        problems.append(f"/proc shows processes that are not the container's: {procs}")
    if "sleep" not in comms:
        problems.append(f"the container's own sleep is not in /proc: {procs}")
    return outcome(problems, r)


def capabilities(ctx):
    """podman's default set in bounding, permitted and effective; nothing
    inheritable or ambient; NoNewPrivs 0, as podman leaves it unless
    --security-opt no-new-privileges is given (containers.conf default
    no_new_privileges = false)."""
    r = sh(ctx, "grep -E '^(Cap|NoNewPrivs)' /proc/self/status")
    problems = []
    check_common(problems, r, 0)
    st = kv_lines(r.out)
    want = {"CapEff": DEFAULT_CAPS, "CapPrm": DEFAULT_CAPS, "CapBnd": DEFAULT_CAPS,
            "CapInh": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "0"}
    for k, v in want.items():
        if st.get(k) != v:
            problems.append(f"{k} {st.get(k)!r}, want {v}")
    return outcome(problems, r)


def masked_paths(ctx):
    masked = [p for p in ("/proc/kcore", "/proc/timer_list", "/proc/keys", "/proc/interrupts")
              if os.path.exists(p)]
    script = "; ".join(f"echo {p}=$(cat {p} 2>/dev/null | wc -c)" for p in masked)
    script += ("; echo fw=$(ls -A /sys/firmware | wc -l)"
               "; echo acpi=$(ls -A /proc/acpi 2>/dev/null | wc -l)"
               "; echo intruder > /proc/sys/kernel/hostname; echo sysw=$?"
               "; echo c > /proc/sysrq-trigger; echo sysrq=$?")
    before = os.uname().nodename
    r = sh(ctx, script)
    problems = []
    check_common(problems, r, 0)
    got = kv_lines(r.out, "=")
    for p in masked:
        if got.get(p) != "0":
            problems.append(f"{p}: {got.get(p)} bytes readable inside, want none")
    if got.get("fw") != "0":
        problems.append(f"/sys/firmware has {got.get('fw')} entries inside, want none")
    if got.get("acpi") not in ("0", None):
        problems.append(f"/proc/acpi has {got.get('acpi')} entries inside, want none")
    if got.get("sysw") == "0":
        problems.append("writing /proc/sys/kernel/hostname succeeded")
    if got.get("sysrq") == "0":
        problems.append("writing /proc/sysrq-trigger succeeded")
    if "read-only file system" not in r.err.lower():
        problems.append("no EROFS ('Read-only file system') for the /proc/sys write")
    if os.uname().nodename != before:
        problems.append(f"the host's hostname changed to {os.uname().nodename!r}")
    return outcome(problems, r)


def seccomp(ctx):
    r = sh(ctx, "grep -E '^Seccomp' /proc/self/status; unshare -m true; echo unshare=$?;"
                " mount -t tmpfs none /mnt; echo mount=$?")
    problems = []
    check_common(problems, r, 0)
    st = kv_lines(r.out)
    got = kv_lines(r.out, "=")
    if st.get("Seccomp") != "2":
        problems.append(f"Seccomp: {st.get('Seccomp')!r}, want 2 (filter mode)")
    if got.get("unshare") == "0":
        problems.append("unshare -m succeeded")
    if got.get("mount") == "0":
        problems.append("mount -t tmpfs succeeded")
    if "unshare(0x20000): operation not permitted" not in r.err.lower():
        problems.append("unshare(CLONE_NEWNS) did not fail with EPERM")
    # busybox mount words EPERM as "permission denied (are you root?)"
    if "permission denied" not in r.err.lower():
        problems.append("mount did not fail with EPERM")
    return outcome(problems, r)


def stdin_passthrough(ctx):
    data = b"line one\nline two\n" + os.urandom(256 << 10)
    r = ct(ctx, [], ["cat"], stdin_data=data)
    problems = []
    check_common(problems, r, 0)
    if r.out_bytes != data:
        problems.append(f"cat echoed {len(r.out_bytes)} bytes (first {r.out_bytes[:20]!r}), "
                        f"want the {len(data)} fed")
    return outcome(problems, r)


def stdin_closed(ctx):
    r = ct(ctx, [], ["cat"], timeout=15)
    problems = []
    check_common(problems, r, 0)
    if r.out:
        problems.append(f"cat printed {r.out!r} with stdin at /dev/null")
    return outcome(problems, r)


def forwarded(sig, code):
    def case(ctx):
        problems = []
        name = signal.Signals(sig).name[3:]
        script = f'trap "exit {code}" {name}; echo ready; sleep 100 & wait'
        t0 = time.monotonic()
        argv, p = start(ctx, [], ["sh", "-c", script])
        early = read_until(p, b"ready", 10)
        if b"ready" not in early:
            problems.append("container did not print 'ready'")
        else:
            time.sleep(0.2)     # let sh reach `wait`
            p.send_signal(sig)
        r = finish(argv, p, early, t0, timeout=15)
        check_common(problems, r, code)
        return outcome(problems, r)
    return case


def bad(opts_fn, keywords, status_want=(EXIT_SETUP,)):
    """Bad input: vessel's own failure, status 125, one line on stderr
    naming the problem (any of `keywords`, case-insensitively), nothing on
    stdout, quickly."""
    def case(ctx):
        args = opts_fn(ctx)
        r = run(ctx, args)
        problems = []
        check_common(problems, r)
        if r.status is not None and r.status not in status_want:
            problems.append(f"exit status {r.status}, want " + " or ".join(map(str, status_want)))
        if r.elapsed > QUICK_S:
            problems.append(f"took {r.elapsed:.1f} s")
        err_lines = lines_of(r.err)
        if not err_lines:
            problems.append("nothing on stderr")
        elif len(err_lines) != 1:
            problems.append(f"{len(err_lines)} lines on stderr, want one")
        if err_lines and not any(k.lower() in r.err.lower() for k in keywords):
            problems.append("stderr names none of: " + ", ".join(repr(k) for k in keywords))
        if r.out:
            problems.append("output on stdout")
        return outcome(problems, r)
    return case


def run_opts(*opts, cmd=("true",)):
    return lambda ctx: ["ct", "run", "--rootfs", ctx.rootfs] + list(opts) + ["--"] + list(cmd)


def not_executable(ctx):
    path = os.path.join(ctx.rootfs, "not-executable")
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho should not run\n")
    os.chmod(path, 0o644)
    try:
        return bad(run_opts(cmd=("/not-executable",)), ["not-executable"], (EXIT_SETUP, 126))(ctx)
    finally:
        os.unlink(path)


def env_options(ctx):
    """-e NAME=VALUE, -e NAME (the caller's value), and a -e PATH that
    replaces the default instead of adding a second PATH."""
    problems = []
    os.environ["VESSEL_TEST_FROM_HOST"] = "host value"
    try:
        r = ct(ctx, ["-e", "A=1", "-e", "VESSEL_TEST_FROM_HOST", "-e", "PATH=/bin:/sbin",
                     "-e", "VESSEL_TEST_UNSET_XYZ"], ["env"])
    finally:
        del os.environ["VESSEL_TEST_FROM_HOST"]
    check_common(problems, r, 0)
    env = lines_of(r.out)
    for want in ("A=1", "VESSEL_TEST_FROM_HOST=host value", "PATH=/bin:/sbin", "HOME=/root"):
        if want not in env:
            problems.append(f"{want!r} not in the container's environment")
    if sum(1 for e in env if e.startswith("PATH=")) != 1:
        problems.append(f"PATH set {sum(1 for e in env if e.startswith('PATH='))} times, want once")
    if any(e.startswith("VESSEL_TEST_UNSET_XYZ") for e in env):
        problems.append("-e NAME of a variable the caller does not have set it anyway")
    return outcome(problems, r)


def volume(ctx, readonly):
    """-v HOST:CTR[:ro]: the host directory's file is seen inside; a write
    reaches the host, or with :ro fails."""
    problems = []
    host = tempfile.mkdtemp(dir=ctx.tmp, prefix="vol-")
    with open(os.path.join(host, "from-host"), "w") as f:
        f.write("host data\n")
    spec = host + ":/mnt/vol" + (":ro" if readonly else "")
    r = sh(ctx, "cat /mnt/vol/from-host; echo written > /mnt/vol/from-ct && echo write-ok", ["-v", spec])
    check_common(problems, r, 0 if not readonly else 1)
    if "host data" not in r.out:
        problems.append("the host file is not visible at /mnt/vol/from-host")
    wrote = os.path.exists(os.path.join(host, "from-ct"))
    if readonly and (wrote or "write-ok" in r.out):
        problems.append("a write to a :ro volume succeeded")
    if readonly and "read-only" not in r.err.lower():
        problems.append("the failed write does not say read-only")
    if not readonly and not wrote:
        problems.append("the container's write did not reach the host directory")
    return outcome(problems, r)


def workdir(path, want_created):
    def case(ctx):
        problems = []
        r = ct(ctx, ["-w", path], ["pwd"])
        check_common(problems, r, 0)
        if r.out.strip() != path:
            problems.append(f"pwd says {r.out.strip()!r}, want {path!r}")
        made = os.path.join(ctx.rootfs, path.lstrip("/"))
        if want_created:
            if not os.path.isdir(made):
                problems.append(f"{path} was not created in the rootfs")
            else:
                top = os.path.join(ctx.rootfs, path.lstrip("/").split("/")[0])
                shutil.rmtree(top, ignore_errors=True)
        return outcome(problems, r)
    return case


def user(spec, want_uid, want_gid):
    def case(ctx):
        problems = []
        r = sh(ctx, "id -u; id -g", ["-u", spec])
        check_common(problems, r, 0)
        got = lines_of(r.out)
        if got != [str(want_uid), str(want_gid)]:
            problems.append(f"id -u, id -g give {got}, want {[str(want_uid), str(want_gid)]}")
        return outcome(problems, r)
    return case


def tty_case(ctx):
    """-t on a terminal: the command's stdin is a pty of the size of ours
    (in cooked mode, as a fresh pty is), the exit status passes through,
    and our terminal's settings are back as they were once vessel exits."""
    problems = []
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 77, 0, 0))
    before = termios.tcgetattr(slave)
    argv = [ctx.vessel, "ct", "run", "--rootfs", ctx.rootfs, "-t", "--",
            "sh", "-c", "tty; stty size; stty -a | grep -o -- '-*icanon' | head -1; exit 5"]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    out = b""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            out += os.read(master, 4096)
        elif p.poll() is not None:
            break
    try:
        status = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        kill_group(p)
        status = p.wait()
    after = termios.tcgetattr(slave)
    os.close(slave)
    os.close(master)
    lines = [line.strip() for line in out.decode(errors="replace").replace("\r", "").splitlines()]
    if status != 5:
        problems.append(f"exit status {status}, want 5 (the command's)")
    if not any(line.startswith("/dev/pts/") for line in lines):
        problems.append(f"`tty` inside does not name a pty: {lines}")
    if "33 77" not in lines:
        problems.append(f"`stty size` inside does not give our window size 33 77: {lines}")
    if "icanon" not in lines:
        problems.append(f"the container's pty is not in canonical mode: {lines}")
    if after != before:
        problems.append(f"our terminal's settings were not restored: {before} before, {after} after")
    return outcome(problems, Result(argv, status, out, b"", time.monotonic() - t0))


def tty_without_terminal(ctx):
    """-t with stdin not a terminal (podman -t without -i): still a pty."""
    problems = []
    r = ct(ctx, ["-t"], ["sh", "-c", "tty; echo done"])
    check_common(problems, r, 0)
    if not r.out.startswith("/dev/pts/") or "done" not in r.out:
        problems.append(f"stdout {r.out!r}, want a /dev/pts/N line then done")
    return outcome(problems, r)


def cpus_above_host(ctx):
    """--cpus above the host's CPU count: refused, naming both numbers."""
    n = os.cpu_count() or 1
    want = str(n + 97)
    problems = []
    r = run(ctx, ["ct", "run", "--rootfs", ctx.rootfs, "--cpus", want, "--", "true"])
    check_common(problems, r, EXIT_SETUP)
    if want not in r.err or str(n) not in r.err.replace(want, ""):
        problems.append(f"stderr {r.err.strip()!r} does not name both {want} and the host's {n} CPUs")
    return outcome(problems, r)


def help_case(args, words):
    def case(ctx):
        r = run(ctx, args)
        problems = []
        check_common(problems, r, 0)
        for w in words:
            if w not in r.out:
                problems.append(f"--help output on stdout does not mention {w!r}")
        return outcome(problems, r)
    return case


def cases():
    opt_words = ["--rootfs", "--memory", "--cpus", "--pids", "--net", "--hostname", "--ro", "--tty", "--env",
                 "--volume", "--workdir", "--user"]
    mem = cgroup_file("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max")
    pids = cgroup_file("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max")
    cpu = ("if [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then"
           " cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us;"
           " else cat /sys/fs/cgroup/cpu.max; fi")
    return [
        ("exit 0, stdout and stderr pass through",
         exit_status("echo out-line; echo err-line >&2", 0, "out-line\n", "err-line")),
        ("exit 42 passes through", exit_status("exit 42", 42, "")),
        ("exit 255 passes through", exit_status("echo bye; exit 255", 255, "bye\n")),
        ("exit 1 from a failing command passes through", exit_status("false", 1, "")),
        ("command without -- keeps its own options", command_without_dashes),
        ("4 MiB of output intact", large_output),
        ("init killed by SIGKILL from the host: 137, as a shell reports it", killed_by_signal),
        ("--memory 64M: memory.limit_in_bytes 67108864 inside",
         cgroup_limit(["--memory", "64M"], mem, [["67108864"]])),
        ("--pids 20: pids.max 20 inside", cgroup_limit(["--pids", "20"], pids, [["20"]])),
        ("--cpus 0.5: cfs quota 50000 of period 100000 inside",
         cgroup_limit(["--cpus", "0.5"], cpu, [["50000", "100000"]])),
        ("--cpus 2: cfs quota 200000 of period 100000 inside",
         cgroup_limit(["--cpus", "2"], cpu, [["200000", "100000"]])),
        ("no limits: memory and pids unlimited inside",
         cgroup_limit([], mem + "; " + pids, [["9223372036854771712", "max"], ["max", "max"]])),
        ("cgroupfs read-only inside, cgroup namespace root", cgroup_readonly),
        ("--hostname h1", hostname_case(["--hostname", "h1"], "h1")),
        ("default hostname is vessel", hostname_case([], "vessel")),
        ("--ro: writing / fails with EROFS", read_only_root),
        ("without --ro: / is writable", writable_root),
        ("default network: only lo", net_none([])),
        ("--net none: only lo", net_none(["--net", "none"])),
        ("--net host: the host's interfaces", net_host),
        ("new pid/mnt/ipc/uts/cgroup/net namespaces", namespaces([], ())),
        ("--net host shares only the network namespace", namespaces(["--net", "host"], ("net",))),
        ("pid namespace: $$ is 1, /proc shows only the container", pid_namespace),
        ("capabilities: podman's default set, NoNewPrivs 0", capabilities),
        ("masked paths empty, /proc/sys read-only", masked_paths),
        ("seccomp filter active, unshare and mount fail with EPERM", seccomp),
        ("stdin passes through to cat", stdin_passthrough),
        ("stdin at /dev/null: cat ends at once", stdin_closed),
        ("SIGTERM to vessel reaches the container (trap exits 7)", forwarded(signal.SIGTERM, 7)),
        ("SIGINT to vessel reaches the container (trap exits 8)", forwarded(signal.SIGINT, 8)),
        ("SIGHUP to vessel reaches the container (trap exits 9)", forwarded(signal.SIGHUP, 9)),
        ("missing --rootfs", bad(lambda c: ["ct", "run", "--", "true"], ["rootfs"])),
        ("`vessel ct` alone fails like every ct error (125)", bad(lambda c: ["ct"], ["ct run"])),
        ("--rootfs that does not exist",
         bad(lambda c: ["ct", "run", "--rootfs", os.path.join(c.tmp, "no-such-rootfs"), "--", "true"],
             ["no-such-rootfs"])),
        ("--rootfs that is a file",
         bad(lambda c: ["ct", "run", "--rootfs", os.path.join(c.rootfs, "bin", "busybox"), "--", "true"],
             ["busybox"])),
        ("--memory abc", bad(run_opts("--memory", "abc"), ["memory"])),
        ("--memory 1K", bad(run_opts("--memory", "1K"), ["memory"])),
        ("--memory -1", bad(run_opts("--memory", "-1"), ["memory"])),
        ("--memory with no value", bad(lambda c: ["ct", "run", "--rootfs", c.rootfs, "--memory"], ["memory"])),
        ("--cpus 0", bad(run_opts("--cpus", "0"), ["cpus"])),
        ("--cpus x", bad(run_opts("--cpus", "x"), ["cpus"])),
        ("--cpus -1", bad(run_opts("--cpus", "-1"), ["cpus"])),
        ("--cpus nan", bad(run_opts("--cpus", "nan"), ["cpus"])),
        ("--pids 0", bad(run_opts("--pids", "0"), ["pids"])),
        ("--pids abc", bad(run_opts("--pids", "abc"), ["pids"])),
        ("--net bogus", bad(run_opts("--net", "bogus"), ["net", "bogus"])),
        ("--hostname longer than 64 characters", bad(run_opts("--hostname", "h" * 65), ["hostname"])),
        ("unknown option", bad(run_opts("--frobnicate"), ["frobnicate"])),
        ("no command", bad(lambda c: ["ct", "run", "--rootfs", c.rootfs], ["command"])),
        ("no command after --", bad(lambda c: ["ct", "run", "--rootfs", c.rootfs, "--"], ["command"])),
        # found missing at create (as runc 1.1); 127 as podman and a shell
        ("command not in the rootfs: 127, one line naming it",
         bad(run_opts(cmd=("no-such-command",)), ["no-such-command"], (127,))),
        ("command that is not executable: 125 or 126, one line naming it", not_executable),
        ("unknown ct subcommand",
         bad(lambda c: ["ct", "frobnicate"], ["frobnicate"])),
        ("-e NAME=VALUE, -e NAME from the caller, -e PATH replaces the default", env_options),
        ("-v HOST:CTR: the host directory, writable", lambda c: volume(c, False)),
        ("-v HOST:CTR:ro: the host directory, read-only", lambda c: volume(c, True)),
        ("-w /tmp: the command starts there", workdir("/tmp", False)),
        ("-w /new/deeper: created, the command starts there", workdir("/vessel-wd/deeper", True)),
        ("-u 1000: uid 1000, gid 1000 from the rootfs's /etc/passwd", user("1000", 1000, 1000)),
        ("-u 1000:5: uid 1000, gid 5", user("1000:5", 1000, 5)),
        ("-u user:tty: names from the rootfs's passwd and group", user("user:tty", 1000, 5)),
        ("-t on a terminal: a pty of our window size, status passes, terminal restored", tty_case),
        ("-t without a terminal: still a pty", tty_without_terminal),
        ("--cpus above the host's CPUs: refused naming both numbers", cpus_above_host),
        ("--rootfs a file: `is not a directory`",
         bad(lambda c: ["ct", "run", "--rootfs", os.path.join(c.rootfs, "bin", "busybox"), "--", "true"],
             ["is not a directory"])),
        ("-v of a host path that does not exist", bad(run_opts("-v", "/no/such/vessel-dir:/mnt"), ["/no/such/vessel-dir"])),
        ("-v without a container path", bad(run_opts("-v", "/tmp"), ["volume"])),
        ("-v with a relative container path", bad(run_opts("-v", "/tmp:mnt"), ["absolute"])),
        ("-v with a bad mode", bad(run_opts("-v", "/tmp:/mnt:rx"), ["rx"])),
        ("-w relative", bad(run_opts("-w", "tmp"), ["workdir"])),
        ("-u of a user not in the rootfs", bad(run_opts("-u", "nosuchuser"), ["nosuchuser"])),
        ("-u of a group not in the rootfs", bad(run_opts("-u", "1000:nosuchgroup"), ["nosuchgroup"])),
        ("-e =VALUE", bad(run_opts("-e", "=x"), ["env"])),
        ("vessel ct --help", help_case(["ct", "--help"], ["ct run"] + opt_words)),
        ("vessel ct run --help", help_case(["ct", "run", "--help"], opt_words)),
    ]


# ---------------------------------------------------------------- setup

def skip_reason():
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.isdir("/sys/fs/cgroup"):
        return "no cgroupfs"
    return busybox_missing()


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL")
    if not vessel:
        print("usage: test_ct.py VESSEL (or set VESSEL)", file=sys.stderr)
        return 2
    vessel = os.path.abspath(vessel)
    if not os.access(vessel, os.X_OK):
        return Tap().bail_out(f"{vessel} is not an executable")
    tap = Tap()
    why = skip_reason()
    if why:
        return tap.skip_all(why)
    with tempfile.TemporaryDirectory(prefix="vessel-ct-") as tmp:
        os.chmod(tmp, 0o755)
        ctx = Ctx(vessel, tmp, build_busybox_rootfs(os.path.join(tmp, "rootfs")))
        if ctx.base_state or ctx.base_cgroups:
            tap.diag(f"already there before the first case (ignored): {sorted(ctx.base_state | ctx.base_cgroups)}")
        for name, fn in cases():
            if not tap.wants(name):
                continue
            try:
                result, problems, detail = fn(ctx)
            except Exception as e:
                result, problems, detail = "fail", [f"driver error: {type(e).__name__}: {e}"], None
            if result == "skip":
                tap.skip(name, "; ".join(problems))
                continue
            check_leftovers(ctx, problems)
            tap.result(name, problems, describe_command(*detail, tail=10) if detail else ())
        clean_up(ctx)
    return tap.finish()

if __name__ == "__main__":
    sys.exit(main())
