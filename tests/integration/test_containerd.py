#!/usr/bin/env python3
"""containerd as a client of vessel-oci: Debian's containerd started on a
private socket, root and state directory (a temporary config; stopped and
removed at the end), a busybox image built here as a docker archive and
imported with `ctr image import` (no network), then `ctr run` through the
io.containerd.runc.v2 shim with vessel-oci as its runc binary
(--runc-binary, the shim's BinaryName option): run --rm, exit status,
run -d then task exec / ps / pause / resume / metrics / kill, --memory-limit
in the container's cgroup, a tty session, and nothing left after task
delete and container rm. The same cases run with runc as the control.

Usage: test_containerd.py [VESSEL_OCI [RUNC]] (or $VESSEL_OCI, $RUNC).
Needs root, containerd (Debian package `containerd`), busybox-static;
otherwise skips.
"""
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.containerd import NS, TIMEOUT, Containerd, Result, docker_archive, shims  # noqa: E402
from vessel_test.rootfs import build_busybox_rootfs, busybox_missing  # noqa: E402
from vessel_test.tap import Tap  # noqa: E402

IMAGE = "localhost/vessel-busybox:test"
# Where the shim keeps the runtime's state (its --root) when the runtime
# options name no Root: per namespace.
SHIM_RUNTIME_ROOT = "/run/containerd/runc/" + NS


# ---- checks -----------------------------------------------------------------


def cgroup_of(pid, controller):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                if controller in ctrls.split(","):
                    return path
    except OSError:
        return None
    return None


def leftovers(cd, rt_root, cid):
    p = []
    if os.path.exists(os.path.join(rt_root, cid)):
        p.append(f"runtime state {rt_root}/{cid} is still there")
    for base, _, _ in os.walk("/sys/fs/cgroup"):
        if base.endswith(f"/{NS}/{cid}"):
            p.append(f"cgroup {base} is still there")
    for pid, cmd in shims(cd.sock):
        if f" {cid} " in f" {cmd} " or cmd.endswith(cid):
            p.append(f"shim left: {pid} {cmd}")
    r = cd.ctr(["container", "ls", "-q"], timeout=10)
    if cid in r.out.split():
        p.append("the container is still listed by containerd")
    return p


def task_status(cd, cid):
    r = cd.ctr(["task", "ls"], timeout=10)
    for line in r.out.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return f[-1]
    return None


def wait_task(cd, cid, want, timeout=15):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = task_status(cd, cid)
        if st == want:
            break
        time.sleep(0.1)
    return st


# ---- the cases ----------------------------------------------------------------


class Runner:
    def __init__(self, tap, cd, name, binary):
        self.tap, self.cd, self.name, self.binary = tap, cd, name, binary
        self.root = SHIM_RUNTIME_ROOT
        self.n = 0

    def new_id(self, what):
        self.n += 1
        return f"{self.name[0]}{self.n}-{what}"

    def run_args(self, *extra):
        # The shim's runc options: BinaryName (--runc-binary) and Root.
        return ["run", "--runc-binary", self.binary, "--runtime", "io.containerd.runc.v2",
                "--label", f"vessel-test={self.name}"] + list(extra)

    def step(self, name, problems, results=(), todo=None):
        details = [line for r in results if r is not None for line in r.describe()]
        return self.tap.result(f"{self.name}: {name}", problems, details, todo=todo)

    def cleanup(self, cid):
        self.cd.ctr(["task", "kill", "-s", "SIGKILL", cid], timeout=10)
        self.cd.ctr(["task", "delete", "--force", cid], timeout=20)
        self.cd.ctr(["container", "rm", cid], timeout=20)


def case_run_rm(r):
    cid = r.new_id("rm")
    try:
        p = []
        res = r.cd.ctr(r.run_args("--rm", IMAGE, cid, "sh", "-c", "echo hello-$((6*7))"))
        if res.status != 0:
            p.append(f"ctr run --rm exited {res.status}")
        if "hello-42" not in res.out:
            p.append(f"no output from the container: {res.out[:200]!r}")
        p += leftovers(r.cd, r.root, cid)
        r.step("run --rm: output, status 0, nothing left", p, [res])
    finally:
        r.cleanup(cid)


def case_exit_status(r):
    cid = r.new_id("exit")
    try:
        p = []
        res = r.cd.ctr(r.run_args("--rm", IMAGE, cid, "sh", "-c", "exit 7"))
        if res.status != 7:
            p.append(f"ctr run exited {res.status}, want the container's 7")
        p += leftovers(r.cd, r.root, cid)
        r.step("run: the exit status is passed through", p, [res])
    finally:
        r.cleanup(cid)


def case_detached(r):
    cid = r.new_id("detach")
    results = []
    try:
        p = []
        res = r.cd.ctr(r.run_args("-d", "--memory-limit", str(64 << 20), IMAGE, cid, "sleep", "1000"))
        results.append(res)
        if res.status != 0:
            p.append(f"ctr run -d exited {res.status}")
            r.step("run -d: task running", p, results)
            return
        st = wait_task(r.cd, cid, "RUNNING")
        if st != "RUNNING":
            p.append(f"task status {st!r}, want RUNNING")
        r.step("run -d: task running", p, results)

        # The shim really drove this runtime: its own `state` (which reads
        # only its own state files) sees the container running.
        p = []
        t0 = time.monotonic()
        sp = subprocess.run([r.binary, "--root", r.root, "state", cid], capture_output=True, timeout=30)
        sres = Result([r.binary, "--root", r.root, "state", cid], sp.returncode, sp.stdout.decode(errors="replace"),
                      sp.stderr.decode(errors="replace"), time.monotonic() - t0)
        try:
            rst = json.loads(sres.out).get("status")
        except ValueError:
            rst = None
        if sres.status != 0 or rst != "running":
            p.append(f"`{r.name} state {cid}` under the shim's root: status {sres.status}, state {rst!r}")
        r.step("the shim runs the container with this runtime (its state under the shim's root)", p, [sres])

        p = []
        ps = r.cd.ctr(["task", "ps", cid])
        pids = [int(line.split()[0]) for line in ps.out.splitlines()[1:] if line.split()]
        if ps.status != 0 or not pids:
            p.append(f"task ps: status {ps.status}, pids {pids}")
        r.step("task ps lists the container's process", p, [ps])

        p = []
        mem = cgroup_of(pids[0], "memory") if pids else None
        limit = None
        if mem is not None:
            for f in ("/sys/fs/cgroup/memory" + mem + "/memory.limit_in_bytes",
                      "/sys/fs/cgroup" + mem + "/memory.max"):
                if os.path.exists(f):
                    limit = open(f).read().strip()
                    break
        if limit != str(64 << 20):
            p.append(f"memory limit in the container's cgroup ({mem}): {limit!r}, want {64 << 20}")
        r.step("--memory-limit is in the container's cgroup", p)

        p = []
        ex = r.cd.ctr(["task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo exec-$((2*21)); exit 3"])
        if "exec-42" not in ex.out:
            p.append(f"no output from task exec: {ex.out[:200]!r}")
        if ex.status != 3:
            p.append(f"task exec exited {ex.status}, want 3")
        r.step("task exec: output and exit status", p, [ex])

        p = []
        pa = r.cd.ctr(["task", "pause", cid])
        st1 = wait_task(r.cd, cid, "PAUSED")
        re = r.cd.ctr(["task", "resume", cid])
        st2 = wait_task(r.cd, cid, "RUNNING")
        if pa.status != 0 or st1 != "PAUSED":
            p.append(f"pause: status {pa.status}, task {st1!r}")
        if re.status != 0 or st2 != "RUNNING":
            p.append(f"resume: status {re.status}, task {st2!r}")
        r.step("task pause / resume", p, [pa, re])

        p = []
        me = r.cd.ctr(["task", "metrics", "--format", "json", cid])
        try:
            m = json.loads(me.out)
        except ValueError:
            m = None
        if me.status != 0 or not m:
            p.append(f"task metrics: status {me.status}, output {me.out[:200]!r}")
        else:
            text = json.dumps(m).lower()
            for want in ("memory", "pids"):
                if want not in text:
                    p.append(f"task metrics has no {want} statistics: {me.out[:300]!r}")
        r.step("task metrics: cgroup statistics", p, [me])

        p = []
        k = r.cd.ctr(["task", "kill", "-s", "SIGKILL", cid])
        st = wait_task(r.cd, cid, "STOPPED")
        if k.status != 0 or st != "STOPPED":
            p.append(f"task kill: status {k.status}, task {st!r}")
        d = r.cd.ctr(["task", "delete", cid])
        c = r.cd.ctr(["container", "rm", cid])
        if d.status != 0:
            p.append(f"task delete exited {d.status}")
        if c.status != 0:
            p.append(f"container rm exited {c.status}")
        p += leftovers(r.cd, r.root, cid)
        r.step("task kill, task delete, container rm: nothing left", p, [k, d, c])
    finally:
        r.cleanup(cid)


def case_tty(r):
    cid = r.new_id("tty")
    argv = ["ctr", "--address", r.cd.sock, "--namespace", NS] + r.run_args(
        "--rm", "-t", IMAGE, cid, "sh", "-c", "tty; echo tty-$((6*7)); exit 5")
    try:
        p = []
        t0 = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:
            os.execvp(argv[0], argv)
        buf = b""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            rd, _, _ = select.select([fd], [], [], 1)
            if rd:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
        try:
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = None
        os.close(fd)
        out = buf.decode(errors="replace")
        if "tty-42" not in out or "/dev/pts/" not in out:
            p.append(f"the session did not run on a terminal: {out[-200:]!r}")
        if code != 5:
            p.append(f"ctr run -t exited {code}, want 5")
        p += leftovers(r.cd, r.root, cid)
        r.step("run -t: a tty session, its exit status", p,
               [Result(argv, code, out, "", time.monotonic() - t0)])
    finally:
        r.cleanup(cid)


CASES = [case_run_rm, case_exit_status, case_detached, case_tty]


def main(argv):
    vessel = argv[1] if len(argv) > 1 else os.environ.get("VESSEL_OCI")
    runc = argv[2] if len(argv) > 2 else os.environ.get("RUNC", "/usr/sbin/runc")
    tap = Tap()
    if not vessel:
        print("usage: test_containerd.py VESSEL_OCI [RUNC]", file=sys.stderr)
        return 2
    vessel = os.path.abspath(vessel)
    if os.geteuid() != 0:
        return tap.skip_all("not root")
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if not shutil.which(tool):
            return tap.skip_all(f"{tool} is not installed (Debian package containerd)")
    why = busybox_missing()
    if why:
        return tap.skip_all(why)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="vessel-containerd-"))
    cd = None
    try:
        rootfs = os.path.join(tmp, "rootfs")
        build_busybox_rootfs(rootfs)
        archive = os.path.join(tmp, "busybox.tar")
        docker_archive(rootfs, archive, IMAGE)
        cd = Containerd(tmp)
        imp = cd.ctr(["image", "import", archive])
        if imp.status == 0 and IMAGE not in cd.ctr(["image", "ls", "-q"]).out.split():
            imp.status = "imported, but not as " + IMAGE
        if not tap.result("image import of a locally built busybox archive",
                          [] if imp.status == 0 else [f"ctr image import exited {imp.status}"], imp.describe()):
            return tap.finish()
        runners = [Runner(tap, cd, "vessel", vessel)]
        if os.access(runc, os.X_OK):
            runners.append(Runner(tap, cd, "runc", runc))
        for r in runners:
            for fn in CASES:
                if tap.wants(f"{r.name}: {fn.__name__}"):
                    try:
                        fn(r)
                    except Exception as e:  # a broken test must still print TAP
                        r.step(f"{fn.__name__}: driver error", [f"{type(e).__name__}: {e}"])
    finally:
        if cd:
            cd.stop()
            left = shims(cd.sock)
            alive = cd.proc.poll() is None
            tap.result("cleanup: containerd stopped, no shim left",
                       ([f"shim left: {c}" for _, c in left] + (["containerd still runs"] if alive else [])))
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
