#!/usr/bin/env python3
"""vessel-oci driven directly, the way a container engine drives runc.
Prints TAP.

Usage: test_oci.py [VESSEL_OCI [RUNC]]   (or $VESSEL_OCI and $RUNC)

Every case builds its own bundle in a temporary directory: a config.json
written here and a rootfs made of /bin/busybox (busybox-static) with one
symlink per applet, an /etc/passwd and /etc/group with root and user 1000.
Each runtime keeps its state under --root <tmp>/state-<runtime>, never
/run/vessel, and every container gets a cgroupsPath below
/vessel-oci-test-<pid>, so the checks can look at the cgroup files.

The same cases run a second time against runc (/usr/sbin/runc, or $RUNC)
to check the test itself: a case that fails there too is a broken test, not
a vessel bug. Where runc is known to behave differently (and the spec allows
it) the runc line says so; for the bad-input cases only runc's exit status
is checked, not its wording.

After every case nothing may be left: no state directory, no cgroup
directory in any hierarchy, no process in the container's cgroup (or whose
working directory is in the bundle, which is where the runtime starts), no
mount mentioning the bundle in this process's mountinfo. The cleanup after a
case is forceful (delete --force, SIGKILL, umount, rmdir), so one broken
case does not spoil the next.

Needs root and a writable /sys/fs/cgroup; otherwise every case is skipped.
"""
import json
import threading
import os
import random
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")
CMD_TIMEOUT = 30  # any single runtime command
OCI_VERSION = "1.0.2"  # runc 1.1 speaks 1.0.2; vessel accepts 1.0.0 to 1.1.0
CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Abort(Exception):
    """A step failed that the rest of a scenario depends on."""


# ---- running commands ------------------------------------------------------


class Result:
    def __init__(self, argv, status, out, err, elapsed):
        self.argv, self.status, self.out, self.err, self.elapsed = argv, status, out, err, elapsed

    def describe(self):
        shown = " ".join(shlex.quote(a if len(a) < 200 else a[:60] + "...") for a in self.argv)
        lines = [f"command: {shown}", f"exit status: {self.status} after {self.elapsed:.2f} s"]
        for label, text in (("stdout", self.out), ("stderr", self.err)):
            tail = text.splitlines()[-8:]
            if tail:
                lines.append(f"{label}:")
                lines += ["  " + t for t in tail]
        return lines


def read_tmp(f):
    f.seek(0)
    return f.read().decode(errors="replace")


class Runtime:
    def __init__(self, name, path, tmp):
        self.name = name
        self.path = path
        self.is_vessel = name == "vessel"
        self.root = os.path.join(tmp, "state-" + name)
        self.sanitizer_hits = []

    def argv(self, args, global_args=()):
        return [self.path, "--root", self.root] + list(global_args) + list(args)

    def popen(self, args, cwd=None, stdin=subprocess.DEVNULL, global_args=()):
        """Start a command with stdout/stderr going to unlinked files: a
        container inherits the runtime's stdio, and a pipe held open by it
        would make reading the output hang."""
        argv = self.argv(args, global_args)
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        p = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, cwd=cwd)
        p.oci = (argv, out, err, time.monotonic())
        return p

    def finish(self, p, timeout=CMD_TIMEOUT):
        argv, out, err, t0 = p.oci
        try:
            status = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            status = None
        r = Result(argv, status, read_tmp(out), read_tmp(err), time.monotonic() - t0)
        out.close()
        err.close()
        for m in SANITIZER_MARKERS:
            if m in r.err:
                self.sanitizer_hits.append((m, r))
        return r

    def run(self, args, timeout=CMD_TIMEOUT, cwd=None, input=None, global_args=()):
        p = self.popen(args, cwd=cwd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                       global_args=global_args)
        if input is not None:
            try:
                p.stdin.write(input)
                p.stdin.close()
            except BrokenPipeError:
                pass
        return self.finish(p, timeout)


# ---- the machine ------------------------------------------------------------


def cgroup_mounts():
    """Mount points of every cgroup and cgroup2 filesystem."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype = right.split(" ", 1)[0]
            if fstype in ("cgroup", "cgroup2"):
                out.append(unescape(left.split(" ")[4]))
    return out


def unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts_mentioning(path):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if path in unescape(line):
                found.append(line.rstrip("\n"))
    return found


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid):
    s = proc_state(pid)
    return s is not None and s not in ("Z", "X")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def container_procs(cgpath, bundle):
    """Live processes in the container's cgroup (any hierarchy) or whose
    working directory is in the bundle (runtimes and their children are
    started there, so an init that never reached its cgroup shows up too)."""
    found = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        pid = int(d)
        if not alive(pid):
            continue
        why = None
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                for line in f:
                    parts = line.rstrip("\n").split(":", 2)
                    if len(parts) == 3 and (parts[2] == cgpath or parts[2].startswith(cgpath + "/")):
                        why = f"in cgroup {parts[1] or 'unified'}:{parts[2]}"
                        break
        except OSError:
            continue
        if not why:
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
                if cwd == bundle or cwd.startswith(bundle + "/"):
                    why = f"working directory {cwd}"
            except OSError:
                pass
        if why and alive(pid):
            found.append((pid, f"pid {pid} `{cmdline(pid)}` {why}"))
    return found


def cgroup_dirs(cgpath):
    return [m + cgpath for m in cgroup_mounts() if os.path.isdir(m + cgpath)]


def rmdir_tree(path):
    """rmdir a cgroup directory and its sub-cgroups, deepest first."""
    for dirpath, dirnames, _ in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


# ---- bundles ----------------------------------------------------------------


def build_rootfs(path):
    os.makedirs(path)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "etc", "tmp", "root", "home/user"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    shutil.copy2("/bin/busybox", os.path.join(path, "bin/busybox"))
    applets = subprocess.run(["/bin/busybox", "--list"], stdout=subprocess.PIPE, check=True,
                             timeout=30).stdout.decode().split()
    for a in applets:
        link = os.path.join(path, "bin", a)
        if a != "busybox" and not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(path, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
    with open(os.path.join(path, "etc/group"), "w") as f:
        f.write("root:x:0:\nuser:x:1000:\n")
    os.chown(os.path.join(path, "home/user"), 1000, 1000)


class Ctx:
    def __init__(self, tmp, cg_base):
        self.tmp = tmp
        self.cg_base = cg_base
        self.master = os.path.join(tmp, "rootfs-master")
        self.serial = 0
        self.used = []  # (runtime, id, bundle, cgpath) for the final sweep

    def new_id(self, rt, name):
        self.serial += 1
        return f"{rt.name[0]}{self.serial}-{name}"

    def cgpath(self, cid):
        return f"{self.cg_base}/{cid}"

    def bundle(self, rt, cid, args=("/bin/true",), edit=None, rootfs=True):
        """A bundle directory for container `cid`; `edit` may change the
        config dict in place (or return a string to write verbatim)."""
        b = os.path.join(self.tmp, "b-" + cid)
        os.makedirs(b)
        if rootfs:
            shutil.copytree(self.master, os.path.join(b, "rootfs"), symlinks=True, copy_function=os.link)
        cfg = base_config(list(args), self.cgpath(cid))
        text = None
        if edit:
            text = edit(cfg, b)
        if text is None:
            text = json.dumps(cfg, indent=1)
        with open(os.path.join(b, "config.json"), "w") as f:
            f.write(text)
        self.used.append((rt, cid, b, self.cgpath(cid)))
        return b


def base_config(args, cgpath):
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": [PATH_ENV, "HOME=/root", "TERM=dumb"],
            "cwd": "/",
            "capabilities": {k: list(CAPS) for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "oci-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "cgroupsPath": cgpath,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


# ---- checks shared by the cases --------------------------------------------


def leftovers(rt, cid, bundle, cgpath):
    """What a container left behind once it should be gone."""
    problems = []
    sd = os.path.join(rt.root, cid)
    if os.path.lexists(sd):
        try:
            content = sorted(os.listdir(sd))
        except OSError:
            content = ["?"]
        problems.append(f"state directory {sd} is still there (holding {content})")
    dirs = cgroup_dirs(cgpath)
    if dirs:
        problems.append(f"cgroup directory {cgpath} is still there in {len(dirs)} hierarchies: "
                        + ", ".join(d[:-len(cgpath)] for d in dirs))
    for _, text in container_procs(cgpath, bundle):
        problems.append(f"process left: {text}")
    for line in mounts_mentioning(bundle):
        problems.append(f"mount left: {line}")
    return problems


def force_cleanup(rt, cid, bundle, cgpath):
    """Remove whatever a container left, by any means."""
    rt.run(["delete", "--force", cid], timeout=15, cwd="/")
    for _ in range(3):
        procs = container_procs(cgpath, bundle)
        if not procs:
            break
        for d in cgroup_dirs(cgpath):
            try:
                with open(os.path.join(d, "freezer.state"), "w") as f:
                    f.write("THAWED")
            except OSError:
                pass
        for pid, _ in procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)
    for line in reversed(mounts_mentioning(bundle)):
        mp = unescape(line.split(" ")[4])
        subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for d in cgroup_dirs(cgpath):
        for _ in range(20):
            rmdir_tree(d)
            if not os.path.isdir(d):
                break
            time.sleep(0.1)
    shutil.rmtree(os.path.join(rt.root, cid), ignore_errors=True)


def state_of(rt, cid, problems=None, timeout=CMD_TIMEOUT):
    r = rt.run(["state", cid], timeout=timeout)
    if r.status != 0:
        if problems is not None:
            problems.append(f"`state {cid}` exited {r.status}: {r.err.strip()[:300]}")
        return None, r
    try:
        return json.loads(r.out), r
    except ValueError as e:
        if problems is not None:
            problems.append(f"`state {cid}` printed no JSON ({e}): {r.out[:200]!r}")
        return None, r


def wait_status(rt, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st, _ = state_of(rt, cid, timeout=10)
        if st and st.get("status") == want:
            return st
        time.sleep(0.05)
    return st


def wait_file(path, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


class Steps:
    """TAP lines of one runtime's set; a scenario reports each step."""

    def __init__(self, tap, rt):
        self.tap, self.rt = tap, rt

    def __call__(self, name, problems, results=(), skip=None, note=None, todo=None):
        self.tap.line(f"{self.rt.name}: {name}", problems, results, skip, note, todo)
        return not problems


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def line(self, name, problems, results=(), skip=None, note=None, todo=None):
        """todo: only for runc's own known failures (a TAP TODO: reported,
        not counted as a failure of vessel)."""
        self.n += 1
        if skip:
            print(f"ok {self.n} - {name} # SKIP {skip}", flush=True)
            return
        if not problems:
            print(f"ok {self.n} - {name}")
            if note:  # a diagnostic line: a `#` on the ok line would be a directive
                print(f"#   {note}")
            sys.stdout.flush()
            return
        if todo:
            print(f"not ok {self.n} - {name} # TODO {todo}")
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}")
        if note:
            print(f"#   {note}")
        for p in problems:
            for i, pl in enumerate(str(p).splitlines() or [""]):
                print(f"#   {'' if i == 0 else '  '}{pl}")
        for r in results:
            if r is None:
                continue
            for line in r.describe():
                print(f"#     {line}")
        sys.stdout.flush()


def expect_status(problems, r, want, what):
    if r.status != want:
        problems.append(f"{what}: exit status {r.status}, want {want}"
                        + (f" (stderr: {r.err.strip()[:300]})" if r.err.strip() else ""))
        return False
    return True


def sanitizer_problems(rt, since):
    return [f"{m} in the stderr of `{' '.join(r.argv[3:])}`" for m, r in rt.sanitizer_hits[since:]][:10]


# ---- 1. lifecycle -----------------------------------------------------------

INIT_SCRIPT = (
    "trap 'echo usr1 >> /tmp/signals' USR1; "
    "trap 'echo term >> /tmp/signals; exit 0' TERM; "
    "echo ready > /tmp/ready; "
    "while :; do sleep 0.1; done"
)


def scenario_lifecycle(ctx, rt, step):
    cid = ctx.new_id(rt, "life")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", INIT_SCRIPT])
    cgpath = ctx.cgpath(cid)
    rootfs = os.path.join(bundle, "rootfs")
    pidfile = os.path.join(ctx.tmp, cid + ".pid")
    mounts_before = mounts_mentioning(bundle)
    try:
        # create
        p = []
        r = rt.run(["create", "--bundle", bundle, "--pid-file", pidfile, cid], cwd=bundle)
        expect_status(p, r, 0, "create")
        pid = None
        text = read(pidfile)
        if text is None:
            p.append(f"--pid-file {pidfile} was not written")
        else:
            try:
                pid = int(text.strip())
                if not alive(pid):
                    p.append(f"pid {pid} from --pid-file is not a live process")
            except ValueError:
                p.append(f"--pid-file holds {text!r}, not a pid")
        if not step("lifecycle: create writes --pid-file with init's pid", p, [r]):
            raise Abort

        # state after create
        p = []
        st, r = state_of(rt, cid, p)
        if st is not None:
            for key, want in (("id", cid), ("status", "created"), ("pid", pid),
                              ("bundle", os.path.realpath(bundle))):
                if st.get(key) != want:
                    p.append(f"state.{key} is {st.get(key)!r}, want {want!r}")
            if not isinstance(st.get("ociVersion"), str) or not st.get("ociVersion"):
                p.append(f"state.ociVersion is {st.get('ociVersion')!r}")
        step("lifecycle: state of a created container (ociVersion, id, status, pid, bundle)", p, [r])

        # list
        p = []
        r1 = rt.run(["list"])
        expect_status(p, r1, 0, "list")
        rows = [line.split() for line in r1.out.splitlines()]
        if not rows or "ID" not in rows[0]:
            p.append("list: no table header with ID")
        mine = [row for row in rows if row and row[0] == cid]
        if len(mine) != 1:
            p.append(f"list: {len(mine)} rows for {cid}")
        elif "created" not in mine[0] or str(pid) not in mine[0]:
            p.append(f"list: row {mine[0]} lacks status created or pid {pid}")
        r2 = rt.run(["list", "--format", "json"])
        expect_status(p, r2, 0, "list --format json")
        try:
            entries = json.loads(r2.out)
            e = [x for x in entries if x.get("id") == cid]
            if len(e) != 1:
                p.append(f"list --format json: {len(e)} entries for {cid}")
            elif e[0].get("status") != "created" or e[0].get("pid") != pid:
                p.append(f"list --format json: entry {e[0]} lacks status created or pid {pid}")
        except (ValueError, AttributeError, TypeError) as ex:
            p.append(f"list --format json printed no JSON array of objects: {ex}")
        step("lifecycle: list (table and --format json)", p, [r1, r2])

        # start
        p = []
        r = rt.run(["start", cid])
        expect_status(p, r, 0, "start")
        if not wait_file(os.path.join(rootfs, "tmp/ready")):
            p.append("the container's process did not run (no /tmp/ready)")
        st, r2 = state_of(rt, cid, p)
        if st and st.get("status") != "running":
            p.append(f"status after start is {st.get('status')!r}, want 'running'")
        if not step("lifecycle: start, status running", p, [r, r2]):
            raise Abort

        # ps
        p = []
        r = rt.run(["ps", "--format", "json", cid])
        expect_status(p, r, 0, "ps --format json")
        try:
            pids = json.loads(r.out)
            if pid not in pids:
                p.append(f"ps --format json: {pids} does not contain init's pid {pid}")
        except ValueError as ex:
            p.append(f"ps --format json printed no JSON: {ex}")
        step("lifecycle: ps --format json lists init", p, [r])

        # exec
        checks = [
            ("output", [cid, "sh", "-c", "echo out-$((2+3))"], [], 0, "out-5"),
            ("exit status", [cid, "sh", "-c", "exit 7"], [], 7, None),
            ("--env", [cid, "sh", "-c", "echo \"[$FOO]\""], ["--env", "FOO=bar baz"], 0, "[bar baz]"),
            ("--cwd", [cid, "pwd"], ["--cwd", "/tmp"], 0, "/tmp"),
            ("--user", [cid, "sh", "-c", "echo $(id -u):$(id -g)"], ["--user", "1000:1000"], 0, "1000:1000"),
        ]
        for what, args, opts, want_status, want_out in checks:
            p = []
            r = rt.run(["exec"] + opts + args)
            expect_status(p, r, want_status, "exec")
            if want_out is not None and r.out.strip() != want_out:
                p.append(f"exec printed {r.out.strip()!r}, want {want_out!r}")
            step(f"lifecycle: exec {what}", p, [r])

        p = []
        r = rt.run(["exec", "--tty", "--detach", cid, "true"], timeout=15)
        if r.status == 0 or r.status is None:
            p.append(f"exec --tty --detach without --console-socket: exit status {r.status}, want an error")
        results = [r]
        if rt.is_vessel:
            r2 = rt.run(["exec", "--tty", cid, "true"], timeout=15)
            results.append(r2)
            if r2.status == 0 or r2.status is None:
                p.append(f"exec --tty without --console-socket: exit status {r2.status}, want an error")
            elif "console" not in r2.err.lower():
                p.append("exec --tty without --console-socket: stderr does not mention the console socket")
        step("lifecycle: exec --tty without --console-socket is refused", p, results)

        # pause / resume
        p = []
        r = rt.run(["pause", cid])
        expect_status(p, r, 0, "pause")
        st, r2 = state_of(rt, cid, p)
        if st and st.get("status") != "paused":
            p.append(f"status after pause is {st.get('status')!r}, want 'paused'")
        frozen = [read(os.path.join(d, "freezer.state")) for d in cgroup_dirs(cgpath)
                  if os.path.exists(os.path.join(d, "freezer.state"))]
        if frozen and "FROZEN" not in frozen[0]:
            p.append(f"freezer.state is {frozen[0]!r} while paused")
        step("lifecycle: pause, status paused", p, [r, r2])
        p = []
        r = rt.run(["resume", cid])
        expect_status(p, r, 0, "resume")
        st, r2 = state_of(rt, cid, p)
        if st and st.get("status") != "running":
            p.append(f"status after resume is {st.get('status')!r}, want 'running'")
        step("lifecycle: resume, status running", p, [r, r2])

        # update
        p = []
        r = rt.run(["update", "--memory", "67108864", "--pids-limit", "77", cid])
        expect_status(p, r, 0, "update")
        mem = read(f"/sys/fs/cgroup/memory{cgpath}/memory.limit_in_bytes")
        pids_max = read(f"/sys/fs/cgroup/pids{cgpath}/pids.max")
        if os.path.isdir("/sys/fs/cgroup/memory") and (mem or "").strip() != "67108864":
            p.append(f"/sys/fs/cgroup/memory{cgpath}/memory.limit_in_bytes is {mem!r}, want 67108864")
        if os.path.isdir("/sys/fs/cgroup/pids") and (pids_max or "").strip() != "77":
            p.append(f"/sys/fs/cgroup/pids{cgpath}/pids.max is {pids_max!r}, want 77")
        step("lifecycle: update --memory --pids-limit reach the cgroup files", p, [r])

        # kill --all: USR1 is trapped by init but ends an exec'd sleep
        p = []
        sleep_pidfile = os.path.join(ctx.tmp, cid + ".sleep.pid")
        r = rt.run(["exec", "--detach", "--pid-file", sleep_pidfile, cid, "sleep", "1000"])
        expect_status(p, r, 0, "exec --detach sleep")
        spid = None
        try:
            spid = int((read(sleep_pidfile) or "").strip())
        except ValueError:
            p.append("exec --detach --pid-file wrote no pid")
        r2 = rt.run(["kill", "--all", cid, "USR1"])
        expect_status(p, r2, 0, "kill --all USR1")
        deadline = time.monotonic() + 5
        while spid and alive(spid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if spid and alive(spid):
            p.append(f"the exec'd sleep (pid {spid}) survived kill --all USR1")
        deadline = time.monotonic() + 5
        while "usr1" not in (read(os.path.join(rootfs, "tmp/signals")) or "") and time.monotonic() < deadline:
            time.sleep(0.05)
        if "usr1" not in (read(os.path.join(rootfs, "tmp/signals")) or ""):
            p.append("init's USR1 trap did not run")
        if not alive(pid):
            p.append("init died from its trapped USR1")
        step("lifecycle: kill --all signals every process", p, [r, r2])

        # kill (SIGTERM by default)
        p = []
        r = rt.run(["kill", cid])
        expect_status(p, r, 0, "kill")
        st = wait_status(rt, cid, "stopped")
        if not st or st.get("status") != "stopped":
            p.append(f"status after kill is {st and st.get('status')!r}, want 'stopped'")
        if "term" not in (read(os.path.join(rootfs, "tmp/signals")) or ""):
            p.append("init's TERM trap did not run: kill did not send SIGTERM")
        step("lifecycle: kill sends SIGTERM, status stopped", p, [r])

        # delete
        p = []
        r = rt.run(["delete", cid])
        expect_status(p, r, 0, "delete")
        time.sleep(0.1)
        p += leftovers(rt, cid, bundle, cgpath)
        try:
            rest = os.listdir(rt.root)
            if rest:
                p.append(f"state root {rt.root} is not empty: {rest}")
        except FileNotFoundError:
            pass
        new_mounts = [m for m in mounts_mentioning(bundle) if m not in mounts_before]
        if new_mounts and not any("mount left" in x for x in p):
            p += [f"new mount: {m}" for m in new_mounts]
        step("lifecycle: delete leaves no state, cgroup, process or mount", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


# ---- 2. run -----------------------------------------------------------------


def scenario_run(ctx, rt, step):
    # foreground: exit status
    cid = ctx.new_id(rt, "run")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", "echo from-run; exit 3"])
    try:
        p = []
        r = rt.run(["run", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r, 3, "run")
        if "from-run" not in r.out:
            p.append(f"run: the process's stdout did not come through ({r.out!r})")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("run: foreground returns the process's exit status and cleans up", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))

    # killed by a signal from outside: 128+n (the shell is the pid
    # namespace's init, which its own signals cannot kill)
    cid = ctx.new_id(rt, "runsig")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", "echo up > /tmp/up; exec sleep 1000"])
    try:
        p = []
        proc = rt.popen(["run", "--bundle", bundle, cid], cwd=bundle)
        if not wait_file(os.path.join(bundle, "rootfs/tmp/up")):
            p.append("the container's process did not start")
        r2 = rt.run(["kill", cid, "KILL"])
        expect_status(p, r2, 0, "kill KILL")
        r = rt.finish(proc)
        expect_status(p, r, 137, "run of a process killed by SIGKILL")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("run: a process killed by SIGKILL gives 137", p, [r, r2])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))

    # --detach
    cid = ctx.new_id(rt, "rund")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle, timeout=20)
        expect_status(p, r, 0, "run --detach")
        if r.elapsed > 10:
            p.append(f"run --detach took {r.elapsed:.1f} s: it did not detach")
        st, r2 = state_of(rt, cid, p)
        if st and st.get("status") != "running":
            p.append(f"status after run --detach is {st.get('status')!r}, want 'running'")
        r3 = rt.run(["delete", "--force", cid])
        expect_status(p, r3, 0, "delete --force")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("run: --detach leaves a running container; delete --force removes it", p, [r, r2, r3])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))

    # stdio passthrough
    cid = ctx.new_id(rt, "runio")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", "cat; echo err-line >&2"])
    data = b"".join(b"line %d of the test's stdin\n" % i for i in range(2000))
    try:
        p = []
        r = rt.run(["run", "--bundle", bundle, cid], cwd=bundle, input=data)
        expect_status(p, r, 0, "run cat")
        if r.out.encode() != data:
            p.append(f"cat echoed {len(r.out)} bytes, want the {len(data)} bytes fed in"
                     f" (starts {r.out[:60]!r})")
        if "err-line" not in r.err:
            p.append("the process's stderr did not come through")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("run: stdin, stdout and stderr pass through (cat)", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


# ---- 3. hooks ---------------------------------------------------------------

HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")

# Runs on the host (prestart, createRuntime, poststart, poststop), in the
# container's mount namespace before pivot_root (createContainer) and inside
# the container (startContainer, with the container's busybox): the hook
# directory is bind-mounted at the same path, so one script and one log
# serve every kind.
HOOK_SCRIPT = """#!/bin/sh
kind="$1"
cat > "$HOOK_DIR/state-$kind.json"
echo "$kind args=$* env=$HOOK_MARK" >> "$HOOK_DIR/log"
# What the container's pid runs right now: for poststart it must be the
# user's process already ("after the user-specified process is executed").
pid=$(sed -n 's/.*"pid": *\\([0-9]*\\).*/\\1/p' "$HOOK_DIR/state-$kind.json")
if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; then
    tr '\\0' ' ' < "/proc/$pid/cmdline" > "$HOOK_DIR/cmdline-$kind"
fi
"""


def hook_dir(ctx, cid):
    d = os.path.join(ctx.tmp, "hooks-" + cid)
    os.makedirs(d)
    script = os.path.join(d, "hook.sh")
    with open(script, "w") as f:
        f.write(HOOK_SCRIPT)
    os.chmod(script, 0o755)
    return d, script


def log_kinds(d):
    return [line.split(" ", 1)[0] for line in (read(os.path.join(d, "log")) or "").splitlines()]


def scenario_hooks(ctx, rt, step):
    cid = ctx.new_id(rt, "hooks")
    hd, script = hook_dir(ctx, cid)

    def edit(cfg, b):
        cfg["hooks"] = {
            k: [{"path": script, "args": ["hook.sh", k, f"extra-{k}"],
                 "env": [PATH_ENV, f"HOOK_DIR={hd}", f"HOOK_MARK=mark-{k}"], "timeout": 20}]
            for k in HOOK_KINDS
        }
        cfg["mounts"].append({"destination": hd, "type": "bind", "source": hd, "options": ["rbind", "rw"]})
        cfg["process"]["args"] = ["sh", "-c", f"echo process >> {hd}/log; exec sleep 1000"]

    bundle = ctx.bundle(rt, cid, edit=edit)
    cgpath = ctx.cgpath(cid)
    try:
        p = []
        deviations = []
        pidfile = os.path.join(ctx.tmp, cid + ".pid")
        r1 = rt.run(["create", "--bundle", bundle, "--pid-file", pidfile, cid], cwd=bundle)
        expect_status(p, r1, 0, "create")
        pid = int((read(pidfile) or "0").strip() or 0)
        kinds = log_kinds(hd)
        early_poststart = False
        if not rt.is_vessel and kinds[3:] == ["poststart"]:
            # runc 1.1 runs poststart at the end of create, with status
            # "created" (moved to start in runc 1.2).
            early_poststart = True
            deviations.append("runc 1.1 runs poststart during create")
            kinds = kinds[:3]
        if kinds != ["prestart", "createRuntime", "createContainer"]:
            p.append(f"hooks run by create: {kinds}, want prestart, createRuntime, createContainer")
        r2 = rt.run(["start", cid])
        expect_status(p, r2, 0, "start")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not {"process", "poststart", "startContainer"} <= set(log_kinds(hd)):
            time.sleep(0.05)
        kinds = log_kinds(hd)
        for k in ("startContainer", "poststart", "process"):
            if kinds.count(k) != 1:
                p.append(f"{k} appears {kinds.count(k)} times in the log {kinds}")
        if "startContainer" in kinds and "process" in kinds and \
                kinds.index("startContainer") > kinds.index("process"):
            p.append(f"startContainer ran after the user's process started: {kinds}")
        if not early_poststart:
            # poststart: "after the user-specified process is executed but
            # before the start operation returns"
            if "poststart" in kinds and "startContainer" in kinds and \
                    kinds.index("poststart") < kinds.index("startContainer"):
                p.append(f"poststart ran before startContainer: {kinds}")
            seen = (read(os.path.join(hd, "cmdline-poststart")) or "").strip()
            if not (seen.startswith("sh ") or seen.startswith("sleep ")):
                p.append(f"when poststart ran, the container's pid {pid} was still running `{seen}`, "
                         "not the user's process: poststart came before the process was executed")
        r3 = rt.run(["delete", "--force", cid])
        expect_status(p, r3, 0, "delete --force")
        kinds = log_kinds(hd)
        if kinds[-1:] != ["poststop"] or kinds.count("poststop") != 1:
            p.append(f"after delete the log is {kinds}, want poststop last, once")
        step("hooks: all six kinds run, in order", p, [r1, r2, r3],
             note=("known deviation: " + "; ".join(deviations)) if deviations else None)

        p = []
        in_container = ("createContainer", "startContainer")
        for k in HOOK_KINDS:
            text = read(os.path.join(hd, f"state-{k}.json"))
            if text is None:
                p.append(f"{k}: no state on stdin recorded")
                continue
            try:
                st = json.loads(text)
            except ValueError as ex:
                p.append(f"{k}: stdin is not JSON ({ex}): {text[:120]!r}")
                continue
            want_status = {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
                           "startContainer": "created", "poststart": "running", "poststop": "stopped"}[k]
            if st.get("id") != cid:
                p.append(f"{k}: state id {st.get('id')!r}")
            if k == "poststart" and early_poststart and st.get("status") == "created":
                pass  # runc 1.1, see above
            elif st.get("status") != want_status:
                p.append(f"{k}: state status {st.get('status')!r}, want {want_status!r}")
            if st.get("bundle") != os.path.realpath(bundle):
                p.append(f"{k}: state bundle {st.get('bundle')!r}")
            if not st.get("ociVersion"):
                p.append(f"{k}: state has no ociVersion")
            if k != "poststop":
                # runc gives the pid as the container sees it (1) to the
                # hooks that run inside; the spec says "as seen by the host".
                ok_pids = (pid, 1) if (not rt.is_vessel and k in in_container) else (pid,)
                if st.get("pid") not in ok_pids:
                    p.append(f"{k}: state pid {st.get('pid')!r}, want init's host pid {pid}")
        step("hooks: state on stdin has the right id, status, pid, bundle", p)

        p = []
        lines = (read(os.path.join(hd, "log")) or "").splitlines()
        for k in HOOK_KINDS:
            mine = [line for line in lines if line.startswith(k + " ")]
            want = f"{k} args={k} extra-{k} env=mark-{k}"
            if mine != [want]:
                p.append(f"{k}: logged {mine}, want [{want!r}]")
        step("hooks: args and env are passed", p)
        p = leftovers(rt, cid, bundle, cgpath)
        step("hooks: nothing left after delete", p)
    finally:
        force_cleanup(rt, cid, bundle, cgpath)

    # a failing createRuntime hook
    cid = ctx.new_id(rt, "hookfail")
    hd, _ = hook_dir(ctx, cid)
    fail = os.path.join(hd, "fail.sh")
    with open(fail, "w") as f:
        f.write("#!/bin/sh\necho 'fail.sh: refusing' >&2\nexit 3\n")
    os.chmod(fail, 0o755)

    def edit_fail(cfg, b):
        cfg["hooks"] = {"createRuntime": [{"path": fail, "args": ["fail.sh"]}]}

    bundle = ctx.bundle(rt, cid, edit=edit_fail)
    try:
        p = []
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        if r.status == 0 or r.status is None:
            p.append(f"create with a failing createRuntime hook: exit status {r.status}, want an error")
        if rt.is_vessel and not ("createruntime" in r.err.lower() and "fail.sh" in r.err):
            p.append("stderr does not name the createRuntime hook (fail.sh)")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("hooks: a failing createRuntime hook fails create and leaves nothing", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))

    # a hook that outlives its timeout
    cid = ctx.new_id(rt, "hooktime")

    def edit_timeout(cfg, b):
        cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}

    bundle = ctx.bundle(rt, cid, edit=edit_timeout)
    try:
        p = []
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle, timeout=40)
        if r.status == 0 or r.status is None:
            p.append(f"create with a hook past its timeout: exit status {r.status}, want an error")
        if r.elapsed > 3.0:
            p.append(f"create took {r.elapsed:.1f} s with a 1 s hook timeout")
        if rt.is_vessel and "time" not in r.err.lower():
            p.append("stderr does not say the hook timed out")
        time.sleep(0.1)
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("hooks: a hook timeout fails create within ~2 s and leaves nothing", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))

    # a failing poststop hook only warns
    cid = ctx.new_id(rt, "poststop")

    def edit_poststop(cfg, b):
        cfg["hooks"] = {"poststop": [{"path": "/bin/false", "args": ["false"]}]}

    bundle = ctx.bundle(rt, cid, edit=edit_poststop)
    try:
        p = []
        r1 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r1, 0, "create")
        r2 = rt.run(["delete", cid])
        expect_status(p, r2, 0, "delete with a failing poststop hook")
        if rt.is_vessel and "poststop" not in r2.err.lower():
            p.append("delete gave no warning naming the poststop hook")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("hooks: a failing poststop hook only warns; delete succeeds", p, [r1, r2])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


# ---- 4. bad input -----------------------------------------------------------


def del_key(path):
    def edit(cfg, b):
        *parents, last = path.split(".")
        obj = cfg
        for k in parents:
            obj = obj[k]
        del obj[last]
    return edit


def set_key(path, value):
    def edit(cfg, b):
        *parents, last = path.split(".")
        obj = cfg
        for k in parents:
            obj = obj.setdefault(k, {})
        obj[last] = value(b) if callable(value) else value
    return edit


def add_mount(m):
    def edit(cfg, b):
        cfg["mounts"].append(m)
    return edit


def user_ns_bad_map(cfg, b):
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 0}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def rootfs_is_file(cfg, b):
    path = os.path.join(b, "rootfs.img")
    with open(path, "w") as f:
        f.write("not a directory\n")
    cfg["root"]["path"] = path


def bad_config_cases():
    """(name, edit, keywords that name the field, runc_note). runc_note
    marks a config runc accepts, which the runc line then only reports."""
    return [
        ("invalid JSON", lambda cfg, b: '{"ociVersion": "1.0.2", "process": {', ["json", "config"], None),
        ("missing ociVersion", del_key("ociVersion"), ["ociVersion"], "runc 1.1 does not check ociVersion"),
        ("missing root.path", del_key("root.path"), ["root.path"], None),
        ("root.path does not exist", set_key("root.path", "no-such-rootfs"), ["no-such-rootfs"], None),
        ("unknown namespace type",
         lambda cfg, b: cfg["linux"]["namespaces"].append({"type": "bogusns"}), ["bogusns"], None),
        ("duplicate namespace",
         lambda cfg, b: cfg["linux"]["namespaces"].append({"type": "pid"}), ["namespace"], None),
        ("relative mount destination",
         add_mount({"destination": "relative/dir", "type": "tmpfs", "source": "tmpfs"}),
         ["destination"], "runc 1.1 accepts a relative destination (deprecated)"),
        ("mount with unknown option",
         add_mount({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["frobnicate"]}),
         ["frobnicate"], None),
        ("relative process.cwd", set_key("process.cwd", "tmp"), ["process.cwd"], None),
        ("empty process.args", set_key("process.args", []), ["process.args"], None),
        ("uid mapping of size 0", user_ns_bad_map, ["uidMappings"], None),
        ("unknown capability", set_key("process.capabilities.bounding", ["CAP_BOGUS"]), ["CAP_BOGUS"],
         "runc 1.1 only warns about an unknown capability"),
        ("unknown rlimit type",
         set_key("process.rlimits", [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]), ["RLIMIT_BOGUS"], None),
        ("seccomp with an unknown action",
         set_key("linux.seccomp", {"defaultAction": "SCMP_ACT_BOGUS", "architectures": ["SCMP_ARCH_X86_64"]}),
         ["SCMP_ACT_BOGUS"], None),
        ("hook with a relative path",
         set_key("hooks", {"prestart": [{"path": "bin/true"}]}), ["hooks.prestart", "bin/true"], None),
        ("cgroupsPath in systemd slice syntax",
         set_key("linux.cgroupsPath", "system.slice:oci:test"), ["cgroupsPath"],
         "runc's cgroupfs driver takes it as a relative path"),
        ("root.path is a file", rootfs_is_file, ["rootfs.img"], None),
        ("terminal without --console-socket", set_key("process.terminal", True), ["console"], None),
    ]


def check_bad(rt, r, keywords, problems):
    if r.status is None:
        problems.append("did not finish in time")
    elif r.status == 0:
        problems.append("exit status 0, want an error")
    elif r.status < 0:
        problems.append(f"killed by signal {-r.status}")
    if not rt.is_vessel:
        return
    lines = [line for line in r.err.splitlines() if line.strip()]
    if not lines:
        problems.append("nothing on stderr")
    elif not any(k.lower() in line.lower() for line in lines for k in keywords):
        problems.append("stderr names none of: " + ", ".join(repr(k) for k in keywords))
    elif len(lines) > 2:
        problems.append(f"{len(lines)} lines on stderr, want one clear line")


def scenario_bad_input(ctx, rt, step):
    for name, edit, keywords, runc_note in bad_config_cases():
        cid = ctx.new_id(rt, "bad")
        bundle = ctx.bundle(rt, cid, args=["sleep", "1000"], edit=edit)
        try:
            p = []
            r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle, timeout=20)
            if runc_note and not rt.is_vessel:
                p += leftovers(rt, cid, bundle, ctx.cgpath(cid)) if r.status != 0 else []
                step(f"bad input: {name}", p, [r], note=f"{runc_note}; exit status {r.status}")
                continue
            check_bad(rt, r, keywords, p)
            p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
            step(f"bad input: {name}", p, [r])
        finally:
            force_cleanup(rt, cid, bundle, ctx.cgpath(cid))

    # an id with a slash
    cid = ctx.new_id(rt, "slash")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        bad_id = "evil/../" + cid
        r = rt.run(["create", "--bundle", bundle, bad_id], cwd=bundle)
        check_bad(rt, r, ["id", bad_id], p)
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        if os.path.exists(os.path.join(rt.root, "evil")):
            p.append(f"{rt.root}/evil was created")
        step("bad input: id with a slash", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))
        shutil.rmtree(os.path.join(rt.root, "evil"), ignore_errors=True)

    # an id already in use: the first container stays intact
    cid = ctx.new_id(rt, "dup")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r1 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r1, 0, "first create")
        st1, _ = state_of(rt, cid, p)
        r2 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        check_bad(rt, r2, ["exist", "in use", cid], p)
        st2, _ = state_of(rt, cid, p)
        if st1 and (not st2 or st2.get("status") != "created" or st2.get("pid") != st1.get("pid")):
            p.append(f"the first container changed: {st1} -> {st2}")
        elif st1 and not alive(st1.get("pid")):
            p.append("the first container's init died")
        if not cgroup_dirs(ctx.cgpath(cid)):
            p.append("the first container's cgroup was removed")
        r3 = rt.run(["delete", cid])
        expect_status(p, r3, 0, "delete of the first container")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("bad input: id already in use", p, [r1, r2, r3])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))

    # start of a container that does not exist
    p = []
    r = rt.run(["start", "no-such-container"])
    check_bad(rt, r, ["no-such-container"], p)
    if os.path.exists(os.path.join(rt.root, "no-such-container")):
        p.append("a state directory appeared for it")
    step("bad input: start of a container that does not exist", p, [r])

    # delete of a running container without --force
    cid = ctx.new_id(rt, "delrun")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r1 = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r1, 0, "run --detach")
        st1, _ = state_of(rt, cid, p)
        r2 = rt.run(["delete", cid])
        check_bad(rt, r2, ["running", "force"], p)
        st2, _ = state_of(rt, cid, p)
        if not st2 or st2.get("status") != "running":
            p.append(f"after the refused delete the status is {st2 and st2.get('status')!r}, want 'running'")
        if st1 and not alive(st1.get("pid")):
            p.append("init died")
        if not cgroup_dirs(ctx.cgpath(cid)):
            p.append("the cgroup was removed")
        r3 = rt.run(["delete", "--force", cid])
        expect_status(p, r3, 0, "delete --force")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("bad input: delete of a running container without --force is refused", p, [r1, r2, r3])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))

    # --systemd-cgroup
    cid = ctx.new_id(rt, "systemd")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle, global_args=["--systemd-cgroup"])
        check_bad(rt, r, ["systemd"], p)
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("bad input: --systemd-cgroup is refused", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


# ---- 5. the runtime killed during create -----------------------------------


def scenario_killed_create(ctx, rt, step, rounds=25):
    # how long a create takes here
    times = []
    for _ in range(3):
        cid = ctx.new_id(rt, "time")
        bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        if r.status == 0:
            times.append(r.elapsed)
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))
    if not times:
        step("killed create: measuring create", ["create never succeeded"], [r])
        return
    typical = sorted(times)[len(times) // 2]
    seed = int(os.environ.get("OCI_TEST_SEED", time.time()))
    rng = random.Random(seed)
    # One random delay in each of `rounds` equal slices of [0, typical), in
    # random order: every stretch of create gets hit, whatever the seed.
    # Then a few kills the moment something appears on disk: the instants
    # where a runtime has made a thing it has not yet recorded.
    delays = [typical * (i + rng.random()) / rounds for i in range(rounds)]
    rng.shuffle(delays)
    milestones = ["state directory", "first cgroup directory", "last cgroup directory"] * 2
    left, hangs, deletes = [], [], []
    for i, when in enumerate(delays + milestones):
        cid = ctx.new_id(rt, "kill")
        bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
        cgpath = ctx.cgpath(cid)
        sd = os.path.join(rt.root, cid)
        try:
            cg_dirs = [m + cgpath for m in cgroup_mounts()]
            proc = rt.popen(["create", "--bundle", bundle, cid], cwd=bundle)
            if isinstance(when, float):
                time.sleep(when)
                tag = f"round {i} (SIGKILL after {when * 1000:.1f} ms)"
            else:
                test = {"state directory": lambda: os.path.exists(sd),
                        "first cgroup directory": lambda: any(os.path.isdir(d) for d in cg_dirs),
                        "last cgroup directory": lambda: all(os.path.isdir(d) for d in cg_dirs)}[when]
                deadline = time.monotonic() + 10
                while not test() and proc.poll() is None and time.monotonic() < deadline:
                    pass
                tag = f"round {i} (SIGKILL as soon as the {when} appeared)"
            proc.kill()
            rt.finish(proc, timeout=10)
            if os.path.exists(sd):
                r = rt.run(["state", cid], timeout=10)
                if r.status is None:
                    hangs.append(f"{tag}: `state` did not return within 10 s")
                elif r.status < 0:
                    hangs.append(f"{tag}: `state` was killed by signal {-r.status}")
                r = rt.run(["delete", "--force", cid], timeout=20)
                if r.status != 0 and os.path.exists(sd):
                    deletes.append(f"{tag}: delete --force exited {r.status}: {r.err.strip()[:200]}")
            time.sleep(0.05)
            found = leftovers(rt, cid, bundle, cgpath)
            if found:
                left.append(f"{tag}: " + "; ".join(found))
        finally:
            force_cleanup(rt, cid, bundle, cgpath)
    note = f"seed {seed}, typical create {typical * 1000:.0f} ms"
    step("killed create: state on a half-created container returns", hangs, note=note)
    step("killed create: delete --force succeeds on a half-created container", deletes, note=note)
    # runc 1.1 records its cgroups only late in create: killed before that,
    # it leaves them (and sometimes a `runc init`) behind.
    todo = "runc 1.1 does not clean up after being killed during create" if left and not rt.is_vessel else None
    step(f"killed create: nothing left after {rounds} random kills and {len(milestones)} at milestones", left,
         note=note, todo=todo)


# ---- 6. features and spec --------------------------------------------------


def scenario_features_spec(ctx, rt, step):
    p = []
    r = rt.run(["features"])
    expect_status(p, r, 0, "features")
    try:
        f = json.loads(r.out)
        for key in ("ociVersionMin", "ociVersionMax"):
            if not isinstance(f.get(key), str) or not f[key].startswith("1."):
                p.append(f"features.{key} is {f.get(key)!r}")
        ns = (f.get("linux") or {}).get("namespaces")
        if not isinstance(ns, list) or not {"pid", "mount", "network", "ipc", "uts"} <= set(ns):
            p.append(f"features.linux.namespaces is {ns!r}")
    except (ValueError, AttributeError) as ex:
        p.append(f"features printed no JSON object: {ex}")
    step("features prints JSON with ociVersionMin/Max and linux.namespaces", p, [r])

    cid = ctx.new_id(rt, "spec")
    bundle = os.path.join(ctx.tmp, "b-" + cid)
    os.makedirs(bundle)
    shutil.copytree(ctx.master, os.path.join(bundle, "rootfs"), symlinks=True, copy_function=os.link)
    ctx.used.append((rt, cid, bundle, ctx.cgpath(cid)))
    try:
        p = []
        r1 = rt.run(["spec", "--bundle", bundle])
        expect_status(p, r1, 0, "spec")
        results = [r1]
        try:
            with open(os.path.join(bundle, "config.json")) as f:
                cfg = json.load(f)
            cfg["process"]["terminal"] = False
            cfg["process"]["args"] = ["/bin/true"]
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(cfg, f)
            r2 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
            expect_status(p, r2, 0, "create with the spec's config")
            r3 = rt.run(["delete", "--force", cid])
            expect_status(p, r3, 0, "delete")
            results += [r2, r3]
            default_cg = cfg.get("linux", {}).get("cgroupsPath") or (f"/vessel/{cid}" if rt.is_vessel
                                                                    else f"/{cid}")
            p += leftovers(rt, cid, bundle, default_cg)
        except (OSError, ValueError, KeyError, TypeError) as ex:
            p.append(f"spec's config.json: {ex}")
        step("spec writes a config.json that parses and that create accepts", p, results)
    finally:
        force_cleanup(rt, cid, bundle, f"/vessel/{cid}" if rt.is_vessel else f"/{cid}")


# ---- 7. console socket ------------------------------------------------------


def read_until(fd, want, timeout):
    buf = b""
    deadline = time.monotonic() + timeout
    while want not in buf and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def scenario_console(ctx, rt, step):
    cid = ctx.new_id(rt, "tty")
    bundle = ctx.bundle(rt, cid, args=["sh"], edit=set_key("process.terminal", True))
    cgpath = ctx.cgpath(cid)
    sock_path = os.path.join(ctx.tmp, cid + ".sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(CMD_TIMEOUT)
    master = None
    conn = None
    try:
        p = []
        proc = rt.popen(["create", "--bundle", bundle, "--console-socket", sock_path, cid], cwd=bundle)
        fds = []
        try:
            conn, _ = srv.accept()
            conn.settimeout(CMD_TIMEOUT)
            msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
        except (OSError, socket.timeout) as ex:
            p.append(f"no pty master fd received on the console socket: {ex}")
        r1 = rt.finish(proc)
        expect_status(p, r1, 0, "create --console-socket")
        if fds:
            master = fds[0]
            for extra in fds[1:]:
                os.close(extra)
            if not os.isatty(master):
                p.append("the fd received is not a terminal")
        if not step("console: create sends the pty master over --console-socket", p, [r1]) or master is None:
            return
        p = []
        r2 = rt.run(["start", cid])
        expect_status(p, r2, 0, "start")
        os.write(master, b"echo tty-$((6*7)); tty\n")
        out = read_until(master, b"tty-42", 10)
        if b"tty-42" not in out:
            p.append(f"no command output from the pty: {out[-200:]!r}")
        out += read_until(master, b"/dev/", 5)
        os.write(master, b"exit 5\n")
        st = wait_status(rt, cid, "stopped")
        if not st or st.get("status") != "stopped":
            p.append(f"the shell did not exit on `exit` through the pty (status {st and st.get('status')!r})")
        r3 = rt.run(["delete", cid])
        expect_status(p, r3, 0, "delete")
        p += leftovers(rt, cid, bundle, cgpath)
        step("console: a command written to the pty master runs; its output comes back", p, [r2, r3])
    finally:
        if master is not None:
            os.close(master)
        if conn:
            conn.close()
        srv.close()
        force_cleanup(rt, cid, bundle, cgpath)


# ---- 8. concurrency ---------------------------------------------------------


def scenario_concurrency(ctx, rt, step, rounds=5):
    p = []
    results = []
    for i in range(rounds):
        cid = ctx.new_id(rt, "race")
        bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
        cgpath = ctx.cgpath(cid)
        try:
            procs = [rt.popen(["create", "--bundle", bundle, cid], cwd=bundle) for _ in range(2)]
            rs = [rt.finish(x) for x in procs]
            oks = [r for r in rs if r.status == 0]
            if len(oks) != 1:
                p.append(f"round {i}: {len(oks)} of 2 concurrent creates of {cid} succeeded "
                         f"(exit statuses {[r.status for r in rs]})")
                results += rs
            if any(r.status is not None and r.status < 0 for r in rs):
                p.append(f"round {i}: a create was killed by a signal: {[r.status for r in rs]}")
            if oks:
                sp = []
                st, r = state_of(rt, cid, sp)
                p += [f"round {i}: {x}" for x in sp]
                if st and (st.get("status") != "created" or not alive(st.get("pid", 0))):
                    p.append(f"round {i}: the surviving container is {st}")
                if not cgroup_dirs(cgpath):
                    p.append(f"round {i}: the surviving container has no cgroup")
            r = rt.run(["delete", "--force", cid])
            if r.status != 0:
                p.append(f"round {i}: delete --force exited {r.status}")
                results.append(r)
            found = leftovers(rt, cid, bundle, cgpath)
            p += [f"round {i}: {x}" for x in found]
        finally:
            force_cleanup(rt, cid, bundle, cgpath)
    # runc 1.1 does not serialise two creates of one id: both may fail, or
    # one may take over the other's half-made state.
    todo = "runc 1.1 races two creates of one id" if p and not rt.is_vessel else None
    step("concurrency: two creates of one id, exactly one succeeds", p, results[:4], todo=todo)

    p = []
    results = []
    for i in range(rounds):
        cid = ctx.new_id(rt, "delstate")
        bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
        cgpath = ctx.cgpath(cid)
        try:
            r = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle)
            if r.status != 0:
                p.append(f"round {i}: run --detach exited {r.status}")
                results.append(r)
                continue
            procs = [rt.popen(["state", cid]) for _ in range(3)]
            procs.insert(1, rt.popen(["delete", "--force", cid]))
            procs += [rt.popen(["state", cid]) for _ in range(3)]
            rs = [rt.finish(x, timeout=20) for x in procs]
            for r in rs:
                if r.status is None:
                    p.append(f"round {i}: `{' '.join(r.argv[3:])}` hung")
                    results.append(r)
                elif r.status < 0:
                    p.append(f"round {i}: `{' '.join(r.argv[3:])}` was killed by signal {-r.status}")
                    results.append(r)
                elif r.argv[3] == "state" and r.status == 0:
                    try:
                        json.loads(r.out)
                    except ValueError:
                        p.append(f"round {i}: `state` exited 0 with no JSON: {r.out[:100]!r}")
            if rs[1].status != 0:
                p.append(f"round {i}: delete --force racing with state exited {rs[1].status}")
                results.append(rs[1])
            found = leftovers(rt, cid, bundle, cgpath)
            p += [f"round {i}: {x}" for x in found]
        finally:
            force_cleanup(rt, cid, bundle, cgpath)
    step("concurrency: delete racing with state never crashes or hangs", p, results[:4])


# ---- main -------------------------------------------------------------------

# ---- 9. time namespace and seccomp notify -----------------------------------


def scenario_time_and_notify(ctx, rt, step):
    # A new time namespace with a boottime offset of one year: the
    # container's uptime is a year ahead of the host's.
    year = 365 * 86400
    cid = ctx.new_id(rt, "timens")

    def with_time(cfg, b):
        cfg["linux"]["namespaces"].append({"type": "time"})
        cfg["linux"]["timeOffsets"] = {"boottime": {"secs": year, "nanosecs": 0},
                                       "monotonic": {"secs": 100, "nanosecs": 0}}
    b = ctx.bundle(rt, cid, ("/bin/cat", "/proc/uptime"), edit=with_time)
    try:
        p = []
        with open("/proc/uptime") as f:
            host_up = float(f.read().split()[0])
        r = rt.run(["run", "--bundle", b, cid], cwd=b)
        expect_status(p, r, 0, "run")
        try:
            up = float(r.out.split()[0])
            if not year <= up - host_up <= year + 60:
                p.append(f"container uptime {up} is not the host's {host_up} + one year")
        except (ValueError, IndexError):
            p.append(f"no uptime printed: {r.out!r}")
        p += leftovers(rt, cid, b, ctx.cgpath(cid))
        step("time namespace: timeOffsets move the container's boottime clock", p, [r],
             todo=None if rt.is_vessel else "runc 1.1 has no time namespaces")
    finally:
        force_cleanup(rt, cid, b, ctx.cgpath(cid))

    # linux.personality LINUX32: uname reports a 32-bit machine.
    cid = ctx.new_id(rt, "pers")

    def with_personality(cfg, b):
        cfg["linux"]["personality"] = {"domain": "LINUX32"}
    b = ctx.bundle(rt, cid, ("/bin/uname", "-m"), edit=with_personality)
    try:
        p = []
        r = rt.run(["run", "--bundle", b, cid], cwd=b)
        expect_status(p, r, 0, "run")
        if r.out.strip() not in ("i686", "i386"):
            p.append(f"uname -m printed {r.out.strip()!r}, want i686")
        p += leftovers(rt, cid, b, ctx.cgpath(cid))
        step("personality LINUX32: uname -m reports i686", p, [r],
             todo=None if rt.is_vessel else "runc 1.1 ignores linux.personality")
    finally:
        force_cleanup(rt, cid, b, ctx.cgpath(cid))

    # seccomp SCMP_ACT_NOTIFY: the listener at listenerPath gets the OCI
    # message and the notification fd; once it closes the fd, the notified
    # syscall fails with ENOSYS.
    cid = ctx.new_id(rt, "notify")
    sock_path = os.path.join(ctx.tmp, f"listener-{cid}.sock")

    def with_notify(cfg, b):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "listenerPath": sock_path, "listenerMetadata": "vessel-test",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    b = ctx.bundle(rt, cid, ("/bin/sh", "-c", "mkdir /tmp/n; echo mkdir=$?"), edit=with_notify)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(CMD_TIMEOUT)
    got = {}

    def listen():
        try:
            conn, _ = srv.accept()
            msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
            got["msg"], got["fds"] = msg, fds
            for fd in fds:
                os.close(fd)
            conn.close()
        except OSError as e:
            got["error"] = str(e)
    t = threading.Thread(target=listen)
    t.start()
    try:
        p = []
        r = rt.run(["run", "--bundle", b, cid], cwd=b)
        t.join(CMD_TIMEOUT)
        expect_status(p, r, 0, "run")
        if "mkdir=1" not in r.out:
            p.append(f"the notified mkdir did not fail once the listener closed the fd: {r.out!r}")
        if len(got.get("fds", [])) != 1:
            p.append(f"listener got {len(got.get('fds', []))} fds, want 1 ({got.get('error', '')})")
        try:
            m = json.loads(got.get("msg", b"{}"))
            if m.get("fds") != ["seccompFd"] or m.get("metadata") != "vessel-test":
                p.append(f"listener message fds/metadata: {m.get('fds')!r} {m.get('metadata')!r}")
            if (m.get("state") or {}).get("id") != cid or not isinstance(m.get("pid"), int):
                p.append(f"listener message state/pid wrong: {m!r}")
        except ValueError:
            p.append(f"listener message is not JSON: {got.get('msg')!r}")
        p += leftovers(rt, cid, b, ctx.cgpath(cid))
        step("seccomp notify: listenerPath gets the state and the notification fd", p, [r])
    finally:
        srv.close()
        force_cleanup(rt, cid, b, ctx.cgpath(cid))


def scenario_join_namespaces(ctx, rt, step):
    """A second container joins the first one's uts, ipc and net namespaces
    by path: it sees the first one's hostname and network interfaces."""
    a = ctx.new_id(rt, "ns-owner")
    ba = ctx.bundle(rt, a, ("/bin/sleep", "60"))
    b = ctx.new_id(rt, "ns-joiner")
    try:
        p = []
        r1 = rt.run(["run", "--detach", "--bundle", ba, a], cwd=ba)
        expect_status(p, r1, 0, "run --detach of the namespace owner")
        pid = ((state_of(rt, a, p)[0] or {}) if r1.status == 0 else {}).get("pid")
        results = [r1]
        if pid:
            def join(cfg, bdir):
                cfg["hostname"] = None
                del cfg["hostname"]
                cfg["linux"]["namespaces"] = [
                    {"type": "pid"}, {"type": "mount"},
                    {"type": "uts", "path": f"/proc/{pid}/ns/uts"},
                    {"type": "ipc", "path": f"/proc/{pid}/ns/ipc"},
                    {"type": "network", "path": f"/proc/{pid}/ns/net"}]
            bb = ctx.bundle(rt, b, ("/bin/sh", "-c", "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts"),
                            edit=join)
            r2 = rt.run(["run", "--bundle", bb, b], cwd=bb)
            results.append(r2)
            expect_status(p, r2, 0, "run of the joiner")
            lines = r2.out.split()
            if not lines or lines[0] != "oci-test":
                p.append(f"joiner's hostname is {lines[:1]!r}, want the owner's 'oci-test'")
            want = [os.readlink(f"/proc/{pid}/ns/net"), os.readlink(f"/proc/{pid}/ns/uts")]
            if lines[1:3] != want:
                p.append(f"joiner's namespaces {lines[1:3]!r}, want the owner's {want!r}")
            p += leftovers(rt, b, bb, ctx.cgpath(b))
        step("namespaces joined by path: uts, ipc and net of another container", p, results)
    finally:
        force_cleanup(rt, b, os.path.join(ctx.tmp, "b-" + b), ctx.cgpath(b))
        force_cleanup(rt, a, ba, ctx.cgpath(a))


SCENARIOS = [
    ("lifecycle", scenario_lifecycle),
    ("run", scenario_run),
    ("hooks", scenario_hooks),
    ("bad input", scenario_bad_input),
    ("killed create", scenario_killed_create),
    ("features and spec", scenario_features_spec),
    ("console", scenario_console),
    ("concurrency", scenario_concurrency),
    ("time and notify", scenario_time_and_notify),
    ("join namespaces", scenario_join_namespaces),
]


def prerequisites():
    if os.geteuid() != 0:
        return "not root"
    if not os.path.exists("/bin/busybox"):
        return "/bin/busybox missing (install busybox-static)"
    if not os.access("/sys/fs/cgroup", os.W_OK) or not cgroup_mounts():
        return "/sys/fs/cgroup is not writable"
    return None


def run_set(tap, ctx, rt, only):
    step = Steps(tap, rt)
    for name, fn in SCENARIOS:
        if only and name not in only:
            continue
        try:
            fn(ctx, rt, step)
        except Abort:
            step(f"{name}: (the rest of this scenario was not run)", ["an earlier step failed"])
        except Exception as e:  # a broken test must still print TAP
            import traceback
            step(f"{name}: driver error", [f"{type(e).__name__}: {e}"] + traceback.format_exc().splitlines()[-6:])
    if rt.is_vessel:
        step("no sanitizer report in any run", sanitizer_problems(rt, 0))


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL_OCI")
    runc = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("RUNC", "/usr/sbin/runc")
    only = [s.strip() for s in os.environ.get("OCI_TEST_ONLY", "").split(",") if s.strip()]
    if not vessel:
        print("usage: test_oci.py VESSEL_OCI [RUNC] (or set VESSEL_OCI)", file=sys.stderr)
        return 2
    vessel = os.path.abspath(vessel)
    if not os.access(vessel, os.X_OK):
        print(f"Bail out! {vessel} is not an executable")
        return 1
    why = prerequisites()
    if why:
        print(f"1..0 # SKIP {why}")
        return 0
    tap = Tap()
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="vessel-oci-"))
    cg_base = f"/vessel-oci-test-{os.getpid()}"
    ctx = Ctx(tmp, cg_base)
    try:
        build_rootfs(ctx.master)
        run_set(tap, ctx, Runtime("vessel", vessel, tmp), only)
        if runc and os.access(runc, os.X_OK):
            run_set(tap, ctx, Runtime("runc", runc, tmp), only)
        else:
            tap.line("runc: every case", [], skip=f"{runc} is not installed")
    finally:
        for rt, cid, bundle, cgpath in ctx.used:
            if os.path.exists(os.path.join(rt.root, cid)) or cgroup_dirs(cgpath) or \
                    mounts_mentioning(bundle) or container_procs(cgpath, bundle):
                force_cleanup(rt, cid, bundle, cgpath)
        for m in cgroup_mounts():
            rmdir_tree(m + cg_base)
        for line in reversed(mounts_mentioning(tmp)):
            subprocess.run(["umount", "-l", unescape(line.split(" ")[4])],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        left = mounts_mentioning(tmp)
        tap.line("cleanup: no mount left under the test's directory", [f"mount left: {m}" for m in left])
        if not left:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"1..{tap.n}", flush=True)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
