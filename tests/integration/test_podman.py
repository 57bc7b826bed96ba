#!/usr/bin/env python3
"""podman driving an OCI runtime: the user-visible container lifecycle
through `podman --runtime RUNTIME`. Prints TAP.

Usage: test_podman.py RUNTIME [STATE_ROOT]

RUNTIME is vessel-oci (the lead case) or /usr/sbin/runc, which checks the
cases themselves: every case here passes with runc. STATE_ROOT is the
runtime's own state directory, where it keeps one entry per container;
podman passes no --root to the runtime, so it is the runtime's default:
/run/runc for runc, /run/vessel for vessel-oci (the default when RUNTIME's
name does not contain "runc"). A runtime that does not exist makes every
case skip (runc is optional).

The script keeps its podman state away from the host's: storage, run root,
tmp dir (exit files, events, locks) and network config live in a fresh
temporary directory, removed at the end after checking that nothing is
still mounted there. The image is a busybox-static root filesystem built
by vessel_test/rootfs.py and `podman import`ed. Every case names its containers and removes
them in a `finally`, so a failing case does not leak into the next one.

podman strips the environment of the runtime it starts, so the runtime is
reached through a two-line wrapper script that sets ASAN_OPTIONS and
UBSAN_OPTIONS log_path into the temporary directory: a sanitizer report from
an instrumented vessel-oci (the test build) fails the case that caused it
instead of vanishing into conmon's syslog. The wrapper only exec()s the
runtime; for runc the variables are unused.

Skips (TAP SKIP) only for a missing prerequisite: not root, podman missing,
the runtime missing, no writable cgroup hierarchy, or no busybox-static.
$VESSEL_TEST_FILTER picks cases by name (vessel_test/tap.py).
"""
import fcntl
import os
import pty
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.rootfs import build_busybox_rootfs, busybox_missing  # noqa: E402
from vessel_test.tap import Tap, describe_command  # noqa: E402

# A sanitizer report on podman's stderr (a runtime's stderr reaches it when
# the runtime fails). UBSan's "FILE:LINE:COL: runtime error:" is told apart
# from podman's own "OCI runtime error:".
SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|:\d+:\d+: runtime error:")
PODMAN_TIMEOUT_S = 60
IMAGE = "localhost/vessel-podman-test:latest"

# podman's default ulimits (containers.conf: nofile=1048576) are above the
# hard limits here and raising them needs CAP_SYS_RESOURCE, which this
# machine's (and CI's) capability bounding set lacks: every runtime, runc
# too, fails setrlimit() with them. The test's own containers.conf lowers
# them to values any root process may set.
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
"""


class Fail(Exception):
    pass


class Res:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.out, self.err, self.elapsed = argv, rc, out, err, elapsed


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Ctx:
    def __init__(self, runtime, state_root, tmp):
        self.runtime = runtime
        self.state_root = state_root
        self.tmp = tmp
        self.wrapper = os.path.join(tmp, "runtime")
        self.san_dir = os.path.join(tmp, "sanitizer")
        self.storage = os.path.join(tmp, "storage")
        self.runroot = os.path.join(tmp, "run")
        self.tmpdir = os.path.join(tmp, "libpod-tmp")
        self.netdir = os.path.join(tmp, "networks")
        self.driver = "overlay"
        self.env = dict(os.environ, CONTAINERS_CONF=os.path.join(tmp, "containers.conf"))
        self.history = []
        self.names = []
        self.serial = 0

    def base(self):
        return ["podman", "--root", self.storage, "--runroot", self.runroot, "--tmpdir", self.tmpdir,
                "--network-config-dir", self.netdir, "--storage-driver", self.driver,
                "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", self.wrapper]

    def name(self):
        self.serial += 1
        n = f"vt{os.getpid()}-{self.serial}"
        self.names.append(n)
        return n

    def podman(self, *args, timeout=PODMAN_TIMEOUT_S, input=None, record=True):
        argv = self.base() + list(args)
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                             start_new_session=True)
        try:
            out, err = p.communicate(input.encode() if input is not None else None, timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            kill_group(p)
            out, err = p.communicate()
            rc = None
            err = (err or b"") + f"\n[test: no exit within {timeout} s, killed]".encode()
        r = Res(argv, rc, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - t0)
        if record:
            self.history.append(r)
        return r

    def run(self, *args, **kw):
        """podman run --pull never ...; the name is the caller's."""
        return self.podman("run", "--pull", "never", *args, **kw)

    def cleanup(self):
        if self.names:
            self.podman("rm", "-f", "-i", "-t", "0", *self.names, record=False, timeout=120)
        self.names = []


def show(res):
    base_len = 0
    # Drop the long common prefix (storage options) from the shown command.
    if "--runtime" in res.argv:
        base_len = res.argv.index("--runtime") + 2
    return describe_command(["podman", "..."] + list(res.argv[base_len:]), res.rc, res.out, res.err, res.elapsed)


class Check:
    """Collects problems of one case."""
    def __init__(self):
        self.problems = []

    def that(self, cond, msg):
        if not cond:
            self.problems.append(msg)
        return cond

    def status(self, res, want, what):
        return self.that(res.rc == want, f"{what}: exit status {res.rc}, expected {want}")

    def done(self):
        if self.problems:
            raise Fail("; ".join(self.problems))


def must(res, what, want=0):
    if res.rc != want:
        raise Fail(f"{what}: exit status {res.rc}, expected {want}")
    return res


def poll(fn, seconds, step=0.1):
    end = time.monotonic() + seconds
    while True:
        v = fn()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def host_cap(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
    return None


def caps_of(text):
    caps = {}
    for line in text.splitlines():
        m = re.match(r"(Cap\w+):\s*([0-9a-fA-F]+)", line)
        if m:
            caps[m.group(1)] = int(m.group(2), 16)
    return caps


def mounts_containing(s):
    with open("/proc/self/mountinfo") as f:
        return [ln.strip() for ln in f if s in ln]


def cgroup_dirs(pattern):
    """Directories under /sys/fs/cgroup whose path matches `pattern` (a
    compiled regex searched in the path)."""
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        for d in dirs:
            p = os.path.join(top, d)
            if pattern.search(p):
                found.append(p)
    return found


def container_id(ctx, name):
    r = ctx.podman("inspect", "--format", "{{.Id}}", name)
    return r.out.strip() if r.rc == 0 else None


def inspect_state(ctx, name, record=True):
    r = ctx.podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name, record=record)
    parts = r.out.split()
    return (parts[0], int(parts[1])) if r.rc == 0 and len(parts) == 2 else (None, None)


def wait_running(ctx, name, marker=None, seconds=10):
    """Waits until the container is running (and its log shows `marker`)."""
    def ready():
        st, _ = inspect_state(ctx, name, record=False)
        if st != "running":
            return False
        return marker is None or marker in ctx.podman("logs", name, record=False).out
    if not poll(ready, seconds, 0.2):
        raise Fail(f"container {name} not running{' with ' + repr(marker) + ' in its log' if marker else ''}"
                   f" after {seconds} s")


def leftovers(ctx, cid):
    """What a removed container `cid` left behind."""
    left = []
    if ctx.podman("ps", "-a", "-q", "--no-trunc", "--filter", f"id={cid}").out.strip():
        left.append("podman ps -a still lists it")
    state = os.path.join(ctx.state_root, cid)
    if os.path.lexists(state):
        left.append(f"runtime state {state} still exists")
    pat = re.compile(r"libpod.*" + re.escape(cid))
    cg = cgroup_dirs(pat)
    if cg:
        left.append(f"cgroup directories left: {', '.join(cg[:4])}{' …' if len(cg) > 4 else ''}")
    m = mounts_containing(cid)
    if m:
        left.append(f"{len(m)} mounts mention the id, e.g. {m[0][:160]}")
    return left


# ---- the cases --------------------------------------------------------------

def case_run_rm(ctx):
    c = Check()
    cidfile = os.path.join(ctx.tmp, "cid-run-rm")
    r = ctx.run("--rm", "--name", ctx.name(), "--cidfile", cidfile, IMAGE, "echo", "hello from the container")
    c.status(r, 0, "podman run --rm")
    c.that(r.out == "hello from the container\n", f"stdout {r.out!r}")
    try:
        cid = open(cidfile).read().strip()
    except OSError as e:
        raise Fail(f"no container id in --cidfile: {e}")
    c.that(re.fullmatch(r"[0-9a-f]{64}", cid), f"--cidfile holds {cid!r}")
    # The runtime's delete is synchronous under run --rm; allow podman a
    # moment for its own bookkeeping all the same.
    left = poll(lambda: not leftovers(ctx, cid), 5) or leftovers(ctx, cid)
    if left is not True:
        c.that(False, "after run --rm: " + "; ".join(left))
    c.done()


def case_exit_status(ctx):
    c = Check()
    r = ctx.run("--rm", "--name", ctx.name(), IMAGE, "sh", "-c", "exit 42")
    c.status(r, 42, "run sh -c 'exit 42'")
    r = ctx.run("--rm", "--name", ctx.name(), IMAGE, "sh", "-c", "echo to-stderr >&2; exit 1")
    c.status(r, 1, "run sh -c 'exit 1'")
    c.that("to-stderr" in r.err, f"container stderr not passed to podman's stderr: {r.err!r}")
    c.done()


def case_create_start(ctx):
    c = Check()
    n = ctx.name()
    must(ctx.podman("create", "--pull", "never", "--name", n, IMAGE, "sh", "-c",
                    "echo created-then-started; exit 4"), "podman create")
    st, _ = inspect_state(ctx, n)
    c.that(st == "created", f"state after create: {st}")
    r = ctx.podman("start", "-a", n)
    c.status(r, 4, "podman start -a")
    c.that("created-then-started" in r.out, f"start -a stdout {r.out!r}")
    c.that(inspect_state(ctx, n) == ("exited", 4), f"inspect after exit: {inspect_state(ctx, n)}")
    c.status(ctx.podman("rm", n), 0, "podman rm")
    c.done()


def case_stdin(ctx):
    c = Check()
    data = "line one\nline two\n" * 200
    r = ctx.run("--rm", "-i", "--name", ctx.name(), IMAGE, "sh", "-c", "cat; echo eof", input=data)
    c.status(r, 0, "run -i")
    c.that(r.out == data + "eof\n", f"stdin came back as {len(r.out)} bytes, expected {len(data) + 4}")
    c.done()


LOOP = "echo started; trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done"


def case_exec(ctx):
    c = Check()
    n = ctx.name()
    must(ctx.run("-d", "--name", n, IMAGE, "sh", "-c", LOOP), "run -d")
    wait_running(ctx, n, "started")
    r = ctx.podman("exec", n, "sh", "-c", "echo in-exec; exit 3")
    c.status(r, 3, "exec sh -c 'echo in-exec; exit 3'")
    c.that(r.out == "in-exec\n", f"exec stdout {r.out!r}")
    r = ctx.podman("exec", "--user", "1000:1000", "-e", "EXECVAR=from-exec", "-w", "/tmp", n,
                   "sh", "-c", 'id -u; id -g; echo "$EXECVAR"; pwd')
    c.status(r, 0, "exec --user 1000:1000 -e -w")
    c.that(r.out.split() == ["1000", "1000", "from-exec", "/tmp"], f"exec --user/-e/-w printed {r.out!r}")
    r = ctx.podman("exec", "-i", n, "cat", input="through exec stdin\n")
    c.status(r, 0, "exec -i cat")
    c.that(r.out == "through exec stdin\n", f"exec -i stdout {r.out!r}")
    # exec runs in the container's namespaces and cgroup.
    r = ctx.podman("exec", n, "sh", "-c", "for ns in mnt pid net uts ipc; do "
                   "[ $(readlink /proc/self/ns/$ns) = $(readlink /proc/1/ns/$ns) ] || echo differs:$ns; done;"
                   " cat /proc/self/cgroup")
    c.status(r, 0, "exec namespace check")
    c.that("differs" not in r.out, f"exec process not in the container's namespaces: {r.out.split()}")
    c.that("libpod" in r.out, f"exec process not in the container's cgroup: {r.out.splitlines()[:2]}")
    r = ctx.podman("exec", n, "sh", "-c", "kill -9 $$")
    c.status(r, 137, "exec of a process killed by SIGKILL")
    st, _ = inspect_state(ctx, n)
    c.that(st == "running", f"container state after the execs: {st}")
    c.done()


def case_logs(ctx):
    c = Check()
    n = ctx.name()
    must(ctx.run("-d", "--name", n, IMAGE, "sh", "-c", "echo first line; echo second line >&2; sleep 100"),
         "run -d")
    ok = poll(lambda: "second line" in (lambda r: r.out + r.err)(ctx.podman("logs", n, record=False)), 10, 0.2)
    r = ctx.podman("logs", n)
    c.status(r, 0, "podman logs")
    c.that(ok and "first line" in r.out and "second line" in r.out + r.err,
           f"logs: stdout {r.out!r} stderr {r.err!r}")
    c.done()


def case_stop_trap(ctx):
    c = Check()
    n = ctx.name()
    must(ctx.run("-d", "--name", n, IMAGE, "sh", "-c", LOOP), "run -d")
    wait_running(ctx, n, "started")
    r = ctx.podman("stop", "-t", "1", n)
    c.status(r, 0, "stop -t 1")
    c.that(inspect_state(ctx, n) == ("exited", 7), f"state after stop (trap exits 7): {inspect_state(ctx, n)}")
    c.that("got-term" in ctx.podman("logs", n).out, "the container's TERM trap did not run")
    r = ctx.podman("wait", n)
    c.that(r.rc == 0 and r.out.strip() == "7", f"podman wait: status {r.rc}, stdout {r.out!r}")
    c.status(ctx.podman("rm", n), 0, "podman rm")
    c.done()


def case_stop_ignored(ctx):
    c = Check()
    n = ctx.name()
    must(ctx.run("-d", "--name", n, IMAGE, "sh", "-c",
                 "trap '' TERM; echo started; while :; do sleep 0.1; done"), "run -d")
    wait_running(ctx, n, "started")
    r = ctx.podman("stop", "-t", "1", n)
    c.status(r, 0, "stop -t 1")
    c.that(r.elapsed < 15, f"stop -t 1 took {r.elapsed:.1f} s")
    c.that(inspect_state(ctx, n) == ("exited", 137),
           f"state after stop of a TERM-ignoring container: {inspect_state(ctx, n)} (expected exited 137)")
    c.status(ctx.podman("rm", n), 0, "podman rm")
    c.done()


def case_kill(ctx):
    c = Check()
    n = ctx.name()
    must(ctx.run("-d", "--name", n, IMAGE, "sleep", "1000"), "run -d")
    wait_running(ctx, n)
    cid = container_id(ctx, n)
    c.status(ctx.podman("kill", "-s", "KILL", n), 0, "kill -s KILL")
    r = ctx.podman("wait", n)
    c.that(r.rc == 0 and r.out.strip() == "137", f"podman wait: status {r.rc}, stdout {r.out!r}")
    c.that(inspect_state(ctx, n) == ("exited", 137), f"inspect after kill: {inspect_state(ctx, n)}")
    c.status(ctx.podman("rm", n), 0, "podman rm")
    if cid:
        left = poll(lambda: not leftovers(ctx, cid), 5) or leftovers(ctx, cid)
        if left is not True:
            c.that(False, "after kill + rm: " + "; ".join(left))
    c.done()


COUNTER = "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done"


def ticks(ctx, n):
    return ctx.podman("logs", n, record=False).out.count("tick")


def case_pause(ctx):
    c = Check()
    n = ctx.name()
    must(ctx.run("-d", "--name", n, IMAGE, "sh", "-c", COUNTER), "run -d")
    wait_running(ctx, n, "tick 3")
    c.status(ctx.podman("pause", n), 0, "podman pause")
    c.that(inspect_state(ctx, n)[0] == "paused", f"state after pause: {inspect_state(ctx, n)}")
    before = ticks(ctx, n)
    time.sleep(1)
    after = ticks(ctx, n)
    c.that(after == before, f"a paused container kept running: {before} ticks, then {after} a second later")
    c.status(ctx.podman("unpause", n), 0, "podman unpause")
    c.that(inspect_state(ctx, n)[0] == "running", f"state after unpause: {inspect_state(ctx, n)}")
    c.that(poll(lambda: ticks(ctx, n) > after + 2, 5), "the container did not resume after unpause")
    c.done()


def case_kill_paused(ctx):
    c = Check()
    n = ctx.name()
    must(ctx.run("-d", "--name", n, IMAGE, "sleep", "1000"), "run -d")
    wait_running(ctx, n)
    must(ctx.podman("pause", n), "podman pause")
    r = ctx.podman("kill", "-s", "KILL", n, timeout=30)
    c.status(r, 0, "kill -s KILL of a paused container")
    poll(lambda: inspect_state(ctx, n, record=False)[0] == "exited", 5)
    c.that(inspect_state(ctx, n) == ("exited", 137), f"state after SIGKILL of a paused container: {inspect_state(ctx, n)}"
           " (expected exited 137: a SIGKILLed container must not stay frozen)")
    c.done()


def cgroup_reader(ctrl, v1_file, v2_file):
    """Shell printing `ctrl=<content>` of the container's own cgroup file:
    cgroup v1 at /sys/fs/cgroup/<ctrl>/<file> (or below it at the path
    /proc/self/cgroup names, without a cgroup namespace), else cgroup v2."""
    return (f'p=$(sed -n "s/^[0-9]*:\\([^:]*,\\)\\?{ctrl}\\(,[^:]*\\)\\?://p" /proc/self/cgroup | head -1); '
            f'for f in /sys/fs/cgroup/{ctrl}/{v1_file} /sys/fs/cgroup/{ctrl}$p/{v1_file} '
            f'/sys/fs/cgroup/{v2_file} /sys/fs/cgroup/unified/{v2_file}; do '
            f'if [ -r "$f" ]; then echo "{ctrl}=$(cat $f | tr "\\n" " ")"; break; fi; done; ')


def case_resources(ctx):
    c = Check()
    script = (cgroup_reader("memory", "memory.limit_in_bytes", "memory.max")
              + cgroup_reader("pids", "pids.max", "pids.max")
              + cgroup_reader("cpu", "cpu.cfs_quota_us", "cpu.max")
              + cgroup_reader("cpu", "cpu.cfs_period_us", "cpu.max"))
    r = ctx.run("--rm", "--name", ctx.name(), "--memory", "64m", "--pids-limit", "33", "--cpus", "1.5",
                IMAGE, "sh", "-c", script)
    c.status(r, 0, "run --memory 64m --pids-limit 33 --cpus 1.5")
    got = [ln.split("=", 1) for ln in r.out.splitlines() if "=" in ln]
    vals = {}
    for k, v in got:
        vals.setdefault(k, []).append(v.strip())
    c.that(vals.get("memory") == ["67108864"], f"memory limit {vals.get('memory')}, expected 67108864")
    c.that(vals.get("pids") == ["33"], f"pids.max {vals.get('pids')}, expected 33")
    cpu = vals.get("cpu", [])
    c.that(cpu in (["150000", "100000"], ["150000 100000", "150000 100000"]),
           f"cpu quota/period {cpu}, expected 150000/100000")
    # And a pids limit holds: under --pids-limit 10 the shell (one task)
    # forks background sleeps until a fork fails, at the 10th at the latest
    # (ash then exits with status 2); it prints each attempt's number first.
    r = ctx.run("--rm", "--name", ctx.name(), "--pids-limit", "10", IMAGE, "sh", "-c",
                "for i in $(seq 20); do echo $i; sleep 5 & done; echo all-forked")
    tries = [int(x) for x in r.out.split() if x.isdigit()]
    c.that("can't fork" in r.err and "all-forked" not in r.out and tries and 2 <= max(tries) <= 10,
           f"--pids-limit 10: forks attempted {max(tries) if tries else 0}, "
           f"expected a failing fork by the 10th (status {r.rc}, stderr {r.err.strip()[-80:]!r})")
    c.done()


def case_read_only(ctx):
    c = Check()
    r = ctx.run("--rm", "--name", ctx.name(), "--read-only", IMAGE, "sh", "-c",
                "touch /rootfile; echo root=$?; touch /tmp/t && echo tmp=0; touch /var/tmp/t 2>/dev/null; "
                "grep ' / ' /proc/self/mountinfo | cut -d' ' -f6")
    c.status(r, 0, "run --read-only")
    c.that("root=1" in r.out and "Read-only file system" in r.err,
           f"writing / did not fail with EROFS: stdout {r.out!r} stderr {r.err!r}")
    c.that("tmp=0" in r.out, "--read-only (read-only-tmpfs defaults to true): /tmp not writable")
    opts = r.out.strip().splitlines()[-1] if r.out.strip() else ""
    c.that(opts.split(",")[0] == "ro", f"/ mounted with {opts!r}, expected ro")
    r = ctx.run("--rm", "--name", ctx.name(), "--read-only", "--read-only-tmpfs=false", IMAGE, "sh", "-c",
                "touch /tmp/t; echo tmp=$?")
    c.that("tmp=1" in r.out and "Read-only file system" in r.err,
           f"--read-only-tmpfs=false: /tmp writable or not EROFS: stdout {r.out!r} stderr {r.err!r}")
    c.done()


def case_user(ctx):
    c = Check()
    r = ctx.run("--rm", "--name", ctx.name(), "--user", "1000:1000", IMAGE, "sh", "-c",
                "id; grep Cap /proc/self/status")
    c.status(r, 0, "run --user 1000:1000")
    c.that(re.search(r"uid=1000\b.*gid=1000\b", r.out), f"id printed {r.out.splitlines()[:1]}")
    caps = caps_of(r.out)
    c.that(caps.get("CapEff") == 0 and caps.get("CapPrm") == 0,
           f"CapEff {caps.get('CapEff', 0):#x} CapPrm {caps.get('CapPrm', 0):#x}, expected 0")
    c.done()


def case_cap_add(ctx):
    c = Check()
    r = ctx.run("--rm", "--name", ctx.name(), "--cap-drop", "all", "--cap-add", "NET_ADMIN", IMAGE,
                "grep", "Cap", "/proc/self/status")
    c.status(r, 0, "run --cap-drop all --cap-add NET_ADMIN")
    caps = caps_of(r.out)
    for k in ("CapEff", "CapPrm", "CapBnd"):
        c.that(caps.get(k) == 0x1000, f"{k} {caps.get(k, 0):#x}, expected 0x1000 (CAP_NET_ADMIN only)")
    c.done()


def case_cap_drop(ctx):
    c = Check()
    base = ctx.run("--rm", "--name", ctx.name(), IMAGE, "grep", "Cap", "/proc/self/status")
    dropped = ctx.run("--rm", "--name", ctx.name(), "--cap-drop", "CHOWN", IMAGE, "grep", "Cap", "/proc/self/status")
    c.status(base, 0, "run (default capabilities)")
    c.status(dropped, 0, "run --cap-drop CHOWN")
    b, d = caps_of(base.out).get("CapEff", 0), caps_of(dropped.out).get("CapEff", 0)
    c.that(b & 1, f"default CapEff {b:#x} lacks CAP_CHOWN")
    c.that(d == b & ~1, f"--cap-drop CHOWN: CapEff {d:#x}, expected {b & ~1:#x} (default {b:#x} less bit 0)")
    c.that(caps_of(dropped.out).get("CapBnd", 0) == b & ~1,
           f"--cap-drop CHOWN: CapBnd {caps_of(dropped.out).get('CapBnd', 0):#x}, expected {b & ~1:#x}")
    c.done()


class Pty:
    """podman on the slave side of a pseudo-terminal (its controlling
    terminal, like a shell's), read and typed on the master side."""
    def __init__(self, ctx, args, rows=30, cols=100):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.argv = ctx.base() + list(args)
        self.p = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave, env=ctx.env,
                                  start_new_session=True,
                                  preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.buf = b""
        self.t0 = time.monotonic()

    def read_until(self, pattern, seconds):
        rx = re.compile(pattern)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            m = rx.search(self.buf)
            if m:
                return m
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if not data:
                    break
                self.buf += data
        return rx.search(self.buf)

    def type(self, text):
        os.write(self.master, text.encode())

    def finish(self, seconds):
        try:
            rc = self.p.wait(seconds)
        except subprocess.TimeoutExpired:
            kill_group(self.p)
            self.p.wait()
            rc = None
        self.read_until(rb"\Z(?!x)", 0.3)  # drain what is left
        os.close(self.master)
        return rc

    def res(self, rc):
        return Res(self.argv, rc, self.buf.decode(errors="replace"), "", time.monotonic() - self.t0)


def case_tty(ctx):
    c = Check()
    n = ctx.name()
    t = Pty(ctx, ["run", "--pull", "never", "-it", "--rm", "--name", n, IMAGE, "sh"])
    rc = "not finished"
    try:
        if not t.read_until(rb"[#$] ", 20):
            raise Fail("no shell prompt within 20 s")
        t.type("echo M$((6*7))X; tty; stty size\r")
        m = t.read_until(rb"M42X\r?\n(\S+)\r?\n(\d+ \d+)\r?\n", 10)
        if c.that(m, "no M42X / tty / stty size answer to the typed command"):
            c.that(re.fullmatch(rb"/dev/pts/\d+", m.group(1)), f"tty printed {m.group(1)!r}")
            c.that(m.group(2) == b"30 100", f"stty size {m.group(2)!r}, expected the terminal's 30 100")
        t.type("exit 5\r")
        rc = t.finish(20)
    finally:
        if rc == "not finished":
            rc = t.finish(0)
        ctx.history.append(t.res(rc))
    c.that(rc == 5, f"podman run -it exit status {rc}, expected 5 (typed `exit 5`)")
    c.done()


def case_tty_user(ctx):
    c = Check()
    probe = "echo to-own-tty > $(tty) && echo tty-writable; ls -ln $(tty)"
    r = ctx.run("--rm", "-t", "--name", ctx.name(), "--user", "1000:1000", IMAGE, "sh", "-c", probe)
    c.that(r.rc == 0 and "tty-writable" in r.out,
           f"run -t --user 1000:1000: the process cannot open its own terminal (status {r.rc}): "
           f"{' | '.join(r.out.strip().splitlines())}")
    n = ctx.name()
    must(ctx.run("-d", "--name", n, IMAGE, "sleep", "1000"), "run -d")
    r = ctx.podman("exec", "-t", "--user", "1000:1000", n, "sh", "-c", probe)
    c.that(r.rc == 0 and "tty-writable" in r.out,
           f"exec -t --user 1000:1000: the process cannot open its own terminal (status {r.rc}): "
           f"{' | '.join(r.out.strip().splitlines())}")
    c.done()


def case_uidmap(ctx):
    c = Check()
    vol = os.path.join(ctx.tmp, "uidmap-vol")
    os.mkdir(vol)
    os.chmod(vol, 0o777)  # writable by whatever uid the container's root is on the host
    r = ctx.run("--rm", "--name", ctx.name(), "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536",
                "-v", f"{vol}:/data", IMAGE, "sh", "-c",
                "cat /proc/self/uid_map /proc/self/gid_map; id; touch /data/made-inside")
    c.status(r, 0, "run --uidmap 0:100000:65536 --gidmap 0:100000:65536")
    lines = [" ".join(ln.split()) for ln in r.out.splitlines()]
    c.that(lines[:2] == ["0 100000 65536"] * 2, f"uid_map/gid_map {lines[:2]}")
    c.that(any(re.match(r"uid=0\b.*gid=0\b", ln) for ln in lines), f"id printed {lines[2:3]}")
    f = os.path.join(vol, "made-inside")
    if c.that(os.path.exists(f), "the file created in the volume is not on the host"):
        st = os.stat(f)
        c.that((st.st_uid, st.st_gid) == (100000, 100000),
               f"file created by the container's root owned by {st.st_uid}:{st.st_gid} on the host, "
               "expected 100000:100000")
    c.done()


def case_hostname_env_workdir(ctx):
    c = Check()
    r = ctx.run("--rm", "--name", ctx.name(), "--hostname", "vessel-host", "-e", "ONE=1",
                "-e", "TWO=two words", "-w", "/etc", IMAGE, "sh", "-c",
                'hostname; echo "$ONE|$TWO"; pwd')
    c.status(r, 0, "run --hostname -e -w")
    c.that(r.out.splitlines() == ["vessel-host", "1|two words", "/etc"], f"stdout {r.out!r}")
    c.done()


def case_volume_ro(ctx):
    c = Check()
    d = os.path.join(ctx.tmp, "ro-vol")
    os.mkdir(d)
    with open(os.path.join(d, "host-file"), "w") as f:
        f.write("from the host\n")
    r = ctx.run("--rm", "--name", ctx.name(), "-v", f"{d}:/mnt:ro", IMAGE, "sh", "-c",
                "cat /mnt/host-file; echo x >> /mnt/host-file; echo append=$?; touch /mnt/new; echo new=$?")
    c.status(r, 0, "run -v DIR:/mnt:ro")
    c.that(r.out.startswith("from the host\n"), f"host file not visible: {r.out!r}")
    c.that("append=1" in r.out and "new=1" in r.out and "Read-only file system" in r.err,
           f"the :ro volume was writable or not EROFS: {r.out!r} {r.err!r}")
    c.that(os.listdir(d) == ["host-file"] and open(os.path.join(d, "host-file")).read() == "from the host\n",
           f"the host directory changed: {os.listdir(d)}")
    c.that(os.path.isdir(d), "run --rm removed the host directory")
    c.done()


def case_device(ctx):
    c = Check()
    r = ctx.run("--rm", "--name", ctx.name(), "--device", "/dev/zero:/dev/vzero", IMAGE, "sh", "-c",
                "stat -c '%t:%T %F' /dev/vzero; head -c 4 /dev/vzero | od -An -tx1")
    c.status(r, 0, "run --device /dev/zero:/dev/vzero")
    c.that(r.out.split("\n")[0] == "1:5 character special file", f"/dev/vzero: {r.out.splitlines()[:1]}")
    c.that(r.out.split()[-4:] == ["00"] * 4, f"reading /dev/vzero gave {r.out.split()[-4:]}")
    c.done()


def case_privileged(ctx):
    c = Check()
    r = ctx.run("--rm", "--name", ctx.name(), "--privileged", IMAGE, "sh", "-c",
                "grep CapEff /proc/self/status; test -c /dev/zero && echo dev-ok")
    c.status(r, 0, "run --privileged")
    want = host_cap("CapBnd")
    got = caps_of(r.out).get("CapEff")
    c.that(got == want, f"--privileged CapEff {got if got is None else hex(got)}, "
           f"expected the host's bounding set {want:#x}")
    c.done()


CASES = [
    ("run --rm: output, exit 0, no container, runtime state, cgroup or mount left", case_run_rm),
    ("non-zero exit status and stderr passed through", case_exit_status),
    ("create + start -a: output and exit status", case_create_start),
    ("run -i: stdin reaches the container", case_stdin),
    ("run -d + exec: output, exit status, --user/-e/-w, stdin, namespaces", case_exec),
    ("logs: a detached container's stdout and stderr", case_logs),
    ("stop -t 1: the TERM trap runs, its exit code is reported", case_stop_trap),
    ("stop -t 1: TERM ignored, killed, exit code 137", case_stop_ignored),
    ("kill -s KILL: wait and inspect show 137, rm leaves nothing", case_kill),
    ("pause/unpause: frozen, then running again", case_pause),
    ("kill -s KILL of a paused container", case_kill_paused),
    ("--memory 64m --pids-limit 33 --cpus 1.5 in the container's cgroup files", case_resources),
    ("--read-only: / is EROFS, /tmp writable unless --read-only-tmpfs=false", case_read_only),
    ("--user 1000:1000: id and no capabilities", case_user),
    ("--cap-drop all --cap-add NET_ADMIN: only CAP_NET_ADMIN", case_cap_add),
    ("--cap-drop CHOWN: the default set less bit 0", case_cap_drop),
    ("run -it through a pseudo-terminal: prompt, typed command, tty, size, exit 5", case_tty),
    ("-t --user 1000:1000 (run and exec): the terminal is the user's", case_tty_user),
    ("--uidmap/--gidmap 0:100000:65536: maps, id, host ownership of a volume file", case_uidmap),
    ("--hostname, -e, -w", case_hostname_env_workdir),
    ("-v DIR:/mnt:ro is read-only and left intact", case_volume_ro),
    ("--device /dev/zero:/dev/vzero", case_device),
    ("--privileged: the host's capability bounding set", case_privileged),
]


# ---- set-up and tear-down -----------------------------------------------------

def build_rootfs(tmp):
    """The tests' busybox rootfs as a tar for `podman import`."""
    root = build_busybox_rootfs(os.path.join(tmp, "rootfs"))
    tar = os.path.join(tmp, "rootfs.tar")
    subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True, timeout=60)
    shutil.rmtree(root)
    return tar


def setup(ctx):
    """Returns None, or why the set-up failed."""
    with open(os.path.join(ctx.tmp, "containers.conf"), "w") as f:
        f.write(CONTAINERS_CONF)
    os.mkdir(ctx.san_dir)
    os.mkdir(ctx.netdir)
    with open(ctx.wrapper, "w") as f:
        f.write("#!/bin/sh\n"
                f"export ASAN_OPTIONS=log_path={ctx.san_dir}/asan UBSAN_OPTIONS=log_path={ctx.san_dir}/ubsan:"
                "print_stacktrace=1\n"
                f"exec {shlex.quote(ctx.runtime)} \"$@\"\n")
    os.chmod(ctx.wrapper, 0o755)
    tar = build_rootfs(ctx.tmp)
    # overlay when it works here (it needs a filesystem overlayfs can sit
    # on), else vfs: create a container and mount its root without running it.
    for driver in ("overlay", "vfs"):
        ctx.driver = driver
        r = ctx.podman("import", tar, IMAGE, timeout=120)
        if r.rc != 0:
            why = f"podman import ({driver}): {r.err.strip()[-300:]}"
        else:
            n = ctx.name()
            r = ctx.podman("create", "--pull", "never", "--name", n, IMAGE, "true")
            m = ctx.podman("mount", n) if r.rc == 0 else r
            ok = m.rc == 0 and os.path.isfile(os.path.join(m.out.strip(), "bin", "busybox"))
            ctx.podman("umount", n)
            ctx.cleanup()
            if ok:
                return None
            why = f"mounting a container's root with {driver}: {m.err.strip()[-300:]}"
        for d in (ctx.storage, ctx.runroot, ctx.tmpdir):
            unmount_below(d)
            shutil.rmtree(d, ignore_errors=True)
    return why


def unmount_below(path):
    for m in reversed(mounts_under(path)):
        subprocess.run(["umount", "-l", m], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def mounts_under(path):
    out = []
    with open("/proc/self/mountinfo") as f:
        for ln in f:
            mp = ln.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path.rstrip("/") + "/"):
                out.append(mp)
    return out


def sanitizer_reports(ctx, seen):
    new = []
    for name in sorted(os.listdir(ctx.san_dir)):
        if name not in seen:
            seen.add(name)
            with open(os.path.join(ctx.san_dir, name), errors="replace") as f:
                new.append((name, f.read()))
    return new


def prerequisites(runtime):
    if os.geteuid() != 0:
        return "not root"
    if not shutil.which("podman"):
        return "podman is not installed"
    if not (os.path.isfile(runtime) and os.access(runtime, os.X_OK)):
        return f"runtime {runtime} is not installed"
    if not any(os.path.isdir(d) and os.access(d, os.W_OK)
               for d in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified",
                         "/sys/fs/cgroup")):
        return "/sys/fs/cgroup is not writable"
    return None


def state_entries(d):
    """The runtime's per-container entries named like podman's ids (the
    state root may hold other entries, e.g. /run/vessel/ct)."""
    try:
        return {e for e in os.listdir(d) if re.fullmatch(r"[0-9a-f]{64}", e)}
    except OSError:
        return set()


def main():
    if len(sys.argv) < 2:
        print("usage: test_podman.py RUNTIME [STATE_ROOT]", file=sys.stderr)
        return 2
    runtime = os.path.abspath(sys.argv[1])
    if len(sys.argv) > 2:
        state_root = sys.argv[2]
    else:
        state_root = "/run/runc" if "runc" in os.path.basename(runtime) else "/run/vessel"
    tap = Tap()
    why = prerequisites(runtime) or busybox_missing()
    if why:
        return tap.skip_all(why)

    tmp = tempfile.mkdtemp(prefix="vessel-podman-")
    # The container's root under --uidmap is uid 100000 on the host: it
    # must be able to walk to the volumes (and the storage) below here.
    os.chmod(tmp, 0o755)
    ctx = Ctx(runtime, state_root, tmp)
    state_before = state_entries(state_root)
    cg_before = set(cgroup_dirs(re.compile(r"libpod-[0-9a-f]{64}")))
    seen_reports = set()
    bailed = False
    try:
        why = setup(ctx)
        if why:
            bailed = True
            return tap.bail_out(f"set-up failed: {why}")
        tap.diag(f"storage driver {ctx.driver}, runtime {runtime}, state root {state_root}", indent="# ")
        for name, fn in CASES:
            if not tap.wants(name):
                continue
            ctx.history = []
            problems = []
            try:
                fn(ctx)
            except Fail as e:
                problems.append(str(e))
            except Exception as e:
                problems.append(f"driver error: {type(e).__name__}: {e}")
            finally:
                ctx.cleanup()
            for res in ctx.history:
                m = SANITIZER_RE.search(res.err)
                if m:
                    problems.append(f"podman's stderr has a sanitizer report: {m.group(0)}")
            for rname, text in sanitizer_reports(ctx, seen_reports):
                problems.append(f"sanitizer report {rname}: " + " | ".join(text.strip().splitlines()[:6]))
            tap.result(name, problems, [ln for res in ctx.history[-4:] for ln in show(res)])
    finally:
        ctx.history = []
        problems = []
        r = ctx.podman("rm", "-a", "-f", "-t", "0", timeout=120)
        if r.rc != 0:
            problems.append(f"podman rm -af: status {r.rc}: {r.err.strip()[-200:]}")
        r = ctx.podman("ps", "-a", "-q")
        if r.out.strip():
            problems.append(f"containers left after rm -af: {r.out.split()}")
        new_state = sorted(state_entries(state_root) - state_before)
        if new_state:
            problems.append(f"runtime state left in {state_root}: {new_state[:4]}")
        new_cg = sorted(set(cgroup_dirs(re.compile(r"libpod-[0-9a-f]{64}"))) - cg_before)
        if new_cg:
            problems.append(f"container cgroups left: {new_cg[:4]}")
        left = mounts_under(tmp)
        if left:
            problems.append(f"still mounted under the test directory: {left[:4]}")
            unmount_below(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        if os.path.exists(tmp):
            problems.append(f"could not remove {tmp}")
        if not bailed:
            tap.result("cleanup: nothing left running, mounted or in the runtime's state", problems)
    return 1 if bailed else tap.finish()


if __name__ == "__main__":
    sys.exit(main())
