#!/usr/bin/env python3
"""`vessel ct run` killed with SIGKILL: the container dies with it and the
next runtime invocation removes what it left. Prints TAP.

Usage: test_ct_kill.py VESSEL [VESSEL_OCI]   (or $VESSEL, $VESSEL_OCI)

Each case starts `vessel ct run` on a throwaway busybox rootfs with a
command that prints a marker and sleeps, waits for the marker, kills the
vessel process with SIGKILL and then checks:
  - the container's processes (those whose root is the test rootfs) are
    gone: the container died with its runner;
  - the killed run's state directory and cgroups are still there (nobody
    could remove them yet) -- reported as a note, not a failure;
  - after the next `vessel -v ct run` (or, in the second case, any
    vessel-oci command), neither its state directory under /run/vessel/ct
    nor its cgroup directories are left, and -v printed the reaper's debug
    line naming the container.

Needs root, cgroupfs and a static busybox (/bin/busybox or $BUSYBOX); the
script skips without them. VESSEL_TEST_FILTER selects cases (vessel_test/tap.py).
"""
import glob
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.host import rmdir_tree  # noqa: E402
from vessel_test.oci import state_root_entries  # noqa: E402
from vessel_test.rootfs import build_busybox_rootfs, busybox_missing  # noqa: E402
from vessel_test.tap import Tap  # noqa: E402

STATE_ROOT = "/run/vessel/ct"
CGROUP_GLOBS = ("/sys/fs/cgroup/*/vessel/ct-*", "/sys/fs/cgroup/vessel/ct-*")
WAIT_S = 10  # generous deadlines, not timing assertions
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "ThreadSanitizer",
                     "runtime error:")


def state_entries():
    return set(state_root_entries(STATE_ROOT))


def cgroup_dirs():
    found = set()
    for g in CGROUP_GLOBS:
        found.update(glob.glob(g))
    return found


def rootfs_pids(root_id):
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{name}/root")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == root_id:
            pids.append(int(name))
    return pids


def wait_for(pred, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def skip_reason():
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.isdir("/sys/fs/cgroup"):
        return "no cgroupfs"
    return busybox_missing()


def read_until(p, marker, timeout=WAIT_S):
    buf = b""
    deadline = time.monotonic() + timeout
    fd = p.stdout.fileno()
    while marker not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    return buf


class Ctx:
    def __init__(self, vessel, vessel_oci, rootfs):
        self.vessel, self.vessel_oci, self.rootfs = vessel, vessel_oci, rootfs
        st = os.stat(rootfs)
        self.root_id = (st.st_dev, st.st_ino)


def kill_runner(ctx, problems, notes):
    """Start `vessel ct run ... sleep`, SIGKILL vessel once the command
    runs; returns the state entries and cgroups the run created."""
    base_state, base_cg = state_entries(), cgroup_dirs()
    argv = [ctx.vessel, "ct", "run", "--rootfs", ctx.rootfs, "--pids", "64", "--",
            "sh", "-c", "echo started; sleep 1000 & wait"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = read_until(p, b"started")
        if b"started" not in out:
            problems.append(f"the container did not start: stdout {out!r}")
            return set(), set()
        new_state = state_entries() - base_state
        new_cg = cgroup_dirs() - base_cg
        if not new_state:
            problems.append("no state directory while the container runs")
        if not rootfs_pids(ctx.root_id):
            problems.append("no process in the container rootfs while it runs")
        p.kill()  # SIGKILL: vessel cannot clean up
        p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    left = wait_for(lambda: not rootfs_pids(ctx.root_id))
    if not left:
        pids = rootfs_pids(ctx.root_id)
        problems.append(f"container processes still alive {WAIT_S} s after vessel was killed: {pids}")
    if not (state_entries() & new_state):
        notes.append("state directory already gone right after the kill")
    return new_state, new_cg


def check_sanitizers(problems, text, what):
    for m in SANITIZER_MARKERS:
        if m in text:
            problems.append(f"{what}: stderr mentions {m}")


def check_reaped(problems, new_state, new_cg, by):
    for e in sorted(state_entries() & new_state):
        problems.append(f"after {by}: state {STATE_ROOT}/{e} is still there")
    for d in sorted(cgroup_dirs() & new_cg):
        problems.append(f"after {by}: cgroup {d} is still there")


def reaped_by_next_run(ctx):
    problems, notes = [], []
    new_state, new_cg = kill_runner(ctx, problems, notes)
    # -v: the reaper says what it removed (and `vessel -v` is checked).
    r = subprocess.run([ctx.vessel, "-v", "ct", "run", "--rootfs", ctx.rootfs, "--", "true"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        problems.append(f"the next `vessel -v ct run ... true` exited {r.returncode}: {r.stderr.strip()}")
    check_sanitizers(problems, r.stderr, "the next vessel ct run")
    check_reaped(problems, new_state, new_cg, "the next vessel ct run")
    if new_state and not any(f"debug: container `{e}`" in r.stderr for e in new_state):
        problems.append(f"`vessel -v` printed no debug line about reaping {sorted(new_state)}: "
                        f"{r.stderr.strip()!r}")
    return problems, notes


def reaped_by_vessel_oci(ctx):
    if not ctx.vessel_oci:
        return None, ["no vessel-oci given"]
    problems, notes = [], []
    new_state, new_cg = kill_runner(ctx, problems, notes)
    r = subprocess.run([ctx.vessel_oci, "list"], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        problems.append(f"`vessel-oci list` exited {r.returncode}: {r.stderr.strip()}")
    check_sanitizers(problems, r.stderr, "vessel-oci list")
    check_reaped(problems, new_state, new_cg, "vessel-oci list")
    return problems, notes


def clean_up(ctx, base_state, base_cg):
    for _ in range(40):
        pids = rootfs_pids(ctx.root_id)
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    for e in state_entries() - base_state:
        shutil.rmtree(os.path.join(STATE_ROOT, e), ignore_errors=True)
    for d in cgroup_dirs() - base_cg:
        rmdir_tree(d)


CASES = [
    ("vessel ct run killed with SIGKILL: the container dies; the next run removes its state and cgroups",
     reaped_by_next_run),
    ("vessel ct run killed with SIGKILL: any vessel-oci command removes its state and cgroups",
     reaped_by_vessel_oci),
]


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL")
    vessel_oci = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VESSEL_OCI")
    if not vessel:
        print("usage: test_ct_kill.py VESSEL [VESSEL_OCI]", file=sys.stderr)
        return 2
    vessel = os.path.abspath(vessel)
    vessel_oci = os.path.abspath(vessel_oci) if vessel_oci else None
    tap = Tap()
    why = skip_reason()
    if why:
        return tap.skip_all(why)
    with tempfile.TemporaryDirectory(prefix="vessel-ctkill-") as tmp:
        os.chmod(tmp, 0o755)
        ctx = Ctx(vessel, vessel_oci, build_busybox_rootfs(os.path.join(tmp, "rootfs")))
        for name, fn in CASES:
            if not tap.wants(name):
                continue
            base_state, base_cg = state_entries(), cgroup_dirs()
            try:
                problems, notes = fn(ctx)
            except Exception as e:
                problems, notes = [f"driver error: {type(e).__name__}: {e}"], []
            clean_up(ctx, base_state, base_cg)
            if problems is None:
                tap.skip(name, "; ".join(notes))
            else:
                tap.result(name, problems, note="\n".join(f"note: {n}" for n in notes) or None)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
