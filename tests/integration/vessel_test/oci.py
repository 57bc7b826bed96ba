"""Fixtures for the OCI runtime tests (test_oci_*.py): vessel-oci driven
directly, the way a container engine drives runc, every case run once with
vessel-oci and once with runc to check the test itself.

Every case builds its own bundle in a temporary directory: a config.json
written here (base_config, changed by the case's `edit`) and a hard-linked
copy of one busybox rootfs (vessel_test.rootfs). Each runtime keeps its
state under --root <tmp>/state-<runtime>, never /run/vessel, and every
container gets a cgroupsPath below /vessel-oci-test-<pid>, so the checks
can look at the cgroup files.

The runc set checks the test itself: a case that fails there too is a
broken test, not a vessel bug. Where runc is known to behave differently
(and the spec allows it) the runc line says so, as a note or as a TAP TODO
(runc's own gaps); for the bad-input cases only runc's exit status is
checked, not its wording.

After every case nothing may be left: no state directory, no cgroup
directory in any hierarchy, no process in the container's cgroup (or whose
working directory is in the bundle, which is where the runtime starts), no
mount mentioning the bundle in this process's mountinfo (leftovers()). The
cleanup after a case is forceful (delete --force, SIGKILL, umount, rmdir:
force_cleanup()), so one broken case does not spoil the next.

A script is a list of cases and a call to main():

    CASES = []
    case = oci.registry(CASES)

    @case("run: foreground returns the exit status")
    def run_foreground(ctx, rt, step):
        ...
        step("run: foreground returns the exit status", problems, [result])

    if __name__ == "__main__":
        sys.exit(oci.main(CASES))

A case may report several TAP lines through step() (a chain of dependent
steps, e.g. the lifecycle); it is selected by its registered name, with the
runtime in front: VESSEL_TEST_FILTER="vessel: run:" runs the run cases with
vessel-oci only; the full name of one step of a chain ("vessel: lifecycle:
exec --cwd") runs the whole chain. Usage of every script: test_oci_X.py [VESSEL_OCI [RUNC]]
(or $VESSEL_OCI and $RUNC; RUNC defaults to /usr/sbin/runc, skipped when
missing). Needs root, a writable /sys/fs/cgroup and busybox-static;
otherwise the script skips.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

from .host import (alive, cgroup_dirs, cgroup_mounts, container_procs, mounts_mentioning, rmdir_tree,
                   unescape)
from .rootfs import build_busybox_rootfs, busybox_missing
from .tap import Tap, describe_command

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")
CMD_TIMEOUT = 30  # any single runtime command
OCI_VERSION = "1.0.2"  # runc 1.1 speaks 1.0.2; vessel accepts 1.0.0 to 1.1.0
CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Abort(Exception):
    """A step failed that the rest of a case depends on (a chain such as the
    lifecycle): the driver reports the rest as not run."""


# ---- running commands ------------------------------------------------------


class Result:
    def __init__(self, argv, status, out, err, elapsed):
        self.argv, self.status, self.out, self.err, self.elapsed = argv, status, out, err, elapsed

    def describe(self):
        return describe_command(self.argv, self.status, self.out, self.err, self.elapsed)


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


# ---- bundles ------------------------------------------------------------------


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


def state_root_entries(root):
    """The names in a state root, without vessel-oci's spare directories
    (`~spareN`, kept empty by delete for the next create): a spare that is
    not an empty directory is reported under its name with what it holds."""
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    out = []
    for n in sorted(names):
        path = os.path.join(root, n)
        if n.startswith("~spare") and os.path.isdir(path) and not os.path.islink(path):
            held = os.listdir(path)
            if not held:
                continue
            n = f"{n} (holding {sorted(held)})"
        out.append(n)
    return out


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


def expect_status(problems, r, want, what):
    if r.status != want:
        problems.append(f"{what}: exit status {r.status}, want {want}"
                        + (f" (stderr: {r.err.strip()[:300]})" if r.err.strip() else ""))
        return False
    return True


def sanitizer_problems(rt, since):
    return [f"{m} in the stderr of `{' '.join(r.argv[3:])}`" for m, r in rt.sanitizer_hits[since:]][:10]


# ---- config edits and helpers for several scripts ---------------------------


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


# ---- the driver ---------------------------------------------------------------


def registry(cases):
    """A decorator that appends (name, function) to `cases`."""
    def case(name):
        def add(fn):
            cases.append((name, fn))
            return fn
        return add
    return case


class Steps:
    """TAP lines of one runtime's set: a case reports each of its steps."""

    def __init__(self, tap, rt):
        self.tap, self.rt = tap, rt

    def __call__(self, name, problems, results=(), skip=None, note=None, todo=None):
        details = [line for r in results if r is not None for line in r.describe()]
        return self.tap.result(f"{self.rt.name}: {name}", problems, details, skip=skip, todo=todo, note=note)


def prerequisites():
    if os.geteuid() != 0:
        return "not root"
    why = busybox_missing()
    if why:
        return why
    if not os.access("/sys/fs/cgroup", os.W_OK) or not cgroup_mounts():
        return "/sys/fs/cgroup is not writable"
    return None


def wants_case(tap, rt, name):
    """Whether the filter selects case `name` for runtime `rt`: by the
    case's name ("vessel: hooks"), or by the name of one of its steps
    ("lifecycle: exec --cwd" selects the lifecycle chain it belongs to)."""
    if tap.wants(f"{rt.name}: {name}"):
        return True
    for pattern in tap.patterns:
        runtime, sep, rest = pattern.partition(": ")
        if sep and runtime in ("vessel", "runc"):
            if runtime != rt.name:
                continue
            pattern = rest
        if pattern.startswith(name + ": "):
            return True
    return False


def run_set(tap, ctx, rt, cases):
    step = Steps(tap, rt)
    ran = 0
    for name, fn in cases:
        if not wants_case(tap, rt, name):
            continue
        ran += 1
        try:
            fn(ctx, rt, step)
        except Abort:
            step(f"{name}: (the rest of this case was not run)", ["an earlier step failed"])
        except Exception as e:  # a broken test must still print TAP
            step(f"{name}: driver error", [f"{type(e).__name__}: {e}"] + traceback.format_exc().splitlines()[-6:])
    if rt.is_vessel and ran:
        step("no sanitizer report in any run", sanitizer_problems(rt, 0))


def main(cases, argv=None):
    """Run `cases` with vessel-oci, then with runc; the exit status."""
    argv = sys.argv if argv is None else argv
    script = os.path.basename(argv[0])
    vessel = argv[1] if len(argv) > 1 else os.environ.get("VESSEL_OCI")
    runc = argv[2] if len(argv) > 2 else os.environ.get("RUNC", "/usr/sbin/runc")
    tap = Tap()
    if not vessel:
        print(f"usage: {script} VESSEL_OCI [RUNC] (or set VESSEL_OCI)", file=sys.stderr)
        return 2
    vessel = os.path.abspath(vessel)
    if not os.access(vessel, os.X_OK):
        return tap.bail_out(f"{vessel} is not an executable")
    why = prerequisites()
    if why:
        return tap.skip_all(why)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="vessel-oci-"))
    cg_base = f"/vessel-oci-test-{os.getpid()}"
    ctx = Ctx(tmp, cg_base)
    try:
        build_busybox_rootfs(ctx.master)
        run_set(tap, ctx, Runtime("vessel", vessel, tmp), cases)
        if runc and os.access(runc, os.X_OK):
            run_set(tap, ctx, Runtime("runc", runc, tmp), cases)
        elif tap.wants("runc: "):
            tap.skip("runc: every case", f"{runc} is not installed")
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
        tap.result("cleanup: no mount left under the test's directory", [f"mount left: {m}" for m in left])
        if not left:
            shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()
