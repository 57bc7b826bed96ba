#!/usr/bin/env python3
"""`vessel vm run --cpu-weight/--cpu-max`: the VMM's own cgroup. Prints TAP.

Usage: test_vm_limits.py [VESSEL [GUEST_DIR]]   (or $VESSEL and $VESSEL_GUESTS)

Runs the test guest's CPU-bound loop (`test=bench=int:N`) under the
emulator, so no /dev/kvm is needed; needs root and a cgroup filesystem
(otherwise every case is skipped). Checks, whatever the layout (v1, v2 or
hybrid): every thread of the VMM sits in /vessel-vm/<pid>-<start> with the
limits written, the cgroup is gone after a normal exit and after SIGTERM,
the one a vessel killed with SIGKILL left is removed by the next
`vessel vm run`, and --cpu-max 0.05 makes the same loop take more than
twice as long (the cap allows a twentieth of a CPU, so the factor is about
twenty on an idle host, and still above 2 while the unlimited run gets only
a tenth of a CPU on a busy one).
"""
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap, describe_command  # noqa: E402

PARENT = "/vessel-vm"
TIMEOUT_S = 120
GUEST_OK = 1  # the guest's debug-exit 0: (0 << 1) | 1


def cgroup_mounts():
    """[(mountpoint, kind, controllers)] from mountinfo; kind 1 or 2."""
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fields, rfields = left.split(), right.split()
            if rfields[0] == "cgroup":
                opts = set(rfields[2].split(","))
                mounts.append((fields[4], 1, opts))
            elif rfields[0] == "cgroup2":
                ctl_file = os.path.join(fields[4], "cgroup.controllers")
                try:
                    ctls = set(open(ctl_file).read().split())
                except OSError:
                    ctls = set()
                mounts.append((fields[4], 2, ctls))
    return mounts


def cpu_dir(cgpath):
    """The directory of cgroup `cgpath` in the hierarchy with the cpu
    controller, and that hierarchy's version."""
    for mp, kind, ctls in cgroup_mounts():
        if "cpu" in ctls:
            return os.path.join(mp, cgpath.lstrip("/")), kind
    return None, None


def all_dirs(cgpath):
    return [os.path.join(mp, cgpath.lstrip("/")) for mp, _, _ in cgroup_mounts()]


def proc_cgroups(pid, tid=None):
    """{controller-set or '': path} of a process or thread."""
    path = f"/proc/{pid}/task/{tid}/cgroup" if tid else f"/proc/{pid}/cgroup"
    out = {}
    with open(path) as f:
        for line in f:
            _, ctls, p = line.rstrip("\n").split(":", 2)
            out[ctls] = p
    return out


def shares_for(weight):
    # The inverse of the OCI shares -> weight mapping vessel's cgroup code applies.
    return 2 + ((weight - 1) * 262142 + 9998) // 9999


class Ctx:
    def __init__(self, vessel, guests):
        self.vessel = vessel
        self.pvh = os.path.join(guests, "test-pvh.elf")

    def argv(self, iterations, *extra):
        return [self.vessel, "vm", "run", "--kernel", self.pvh, "--accel", "emu", "--console", "stdio",
                "--cmdline", f"test=bench=int:{iterations}", *extra]

    def run(self, iterations, *extra):
        argv = self.argv(iterations, *extra)
        t0 = time.monotonic()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S)
        return p, time.monotonic() - t0, argv

    def start(self, iterations, *extra):
        argv = self.argv(iterations, *extra)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        return p, argv


def vm_cgroup_of(pid, timeout=20):
    """The VM cgroup path of `pid` once it has moved there, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for p in proc_cgroups(pid).values():
                if p.startswith(PARENT + f"/{pid}-"):
                    return p
        except OSError:
            return None
        time.sleep(0.05)
    return None


def check_running(ctx, p, weight, quota, period):
    """Problems with the cgroup of running vessel `p`."""
    cg = vm_cgroup_of(p.pid)
    if not cg:
        return None, [f"vessel (pid {p.pid}) never moved into {PARENT}/{p.pid}-*"]
    problems = []
    for tid in os.listdir(f"/proc/{p.pid}/task"):
        try:
            paths = set(proc_cgroups(p.pid, tid).values())
        except OSError:
            continue  # a thread that just ended
        if paths != {cg}:
            problems.append(f"thread {tid} is in {sorted(paths)}, not only {cg}")
    d, kind = cpu_dir(cg)
    if not d:
        return cg, problems + ["no hierarchy has the cpu controller"]
    try:
        if kind == 1:
            got = {"quota": open(f"{d}/cpu.cfs_quota_us").read().strip(),
                   "period": open(f"{d}/cpu.cfs_period_us").read().strip(),
                   "weight": open(f"{d}/cpu.shares").read().strip()}
            want = {"quota": str(quota), "period": str(period), "weight": str(shares_for(weight))}
        else:
            q, per = open(f"{d}/cpu.max").read().split()
            got = {"quota": q, "period": per, "weight": open(f"{d}/cpu.weight").read().strip()}
            want = {"quota": str(quota), "period": str(period), "weight": str(weight)}
    except OSError as e:
        return cg, problems + [f"reading {d}: {e}"]
    if got != want:
        problems.append(f"{d}: limits {got}, want {want}")
    return cg, problems


def leftovers(cg):
    return [d for d in all_dirs(cg) if os.path.isdir(d)]


def case_limits_then_sigterm(ctx):
    p, argv = ctx.start(10**10, "--cpu-weight", "200", "--cpu-max", "50000/100000")
    cg, problems = check_running(ctx, p, 200, 50000, 100000)
    p.send_signal(signal.SIGTERM)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        problems.append("vessel did not stop on SIGTERM")
    if cg and leftovers(cg):
        problems.append(f"left after SIGTERM: {leftovers(cg)}")
    return problems, describe_command(argv, p.returncode, out, err)


# Long enough for the VM to be seen in its cgroup before it exits: with the
# JIT, 2M iterations (24M instructions) ended before the first look.
FRACTION_ITERATIONS = 200000000


def case_fraction_then_exit(ctx):
    p, argv = ctx.start(FRACTION_ITERATIONS, "--cpu-max", "0.5")
    problems = []
    cg = vm_cgroup_of(p.pid)
    if not cg:
        problems.append("vessel never moved into its cgroup")
    else:
        d, kind = cpu_dir(cg)
        try:
            v = (open(f"{d}/cpu.cfs_quota_us").read().strip() + " " +
                 open(f"{d}/cpu.cfs_period_us").read().strip()) if kind == 1 else open(f"{d}/cpu.max").read().strip()
            if v != "50000 100000":
                problems.append(f"--cpu-max 0.5 wrote `{v}`, want `50000 100000`")
        except OSError:
            pass  # the guest may already be done: the exit checks below still hold
    out, err = p.communicate(timeout=TIMEOUT_S)
    if p.returncode != GUEST_OK or f"bench int: {FRACTION_ITERATIONS} iterations" not in out:
        problems.append(f"the guest did not finish its loop (status {p.returncode})")
    if cg and leftovers(cg):
        problems.append(f"left after a normal exit: {leftovers(cg)}")
    return problems, describe_command(argv, p.returncode, out, err)


def case_sigkill_reaped(ctx):
    p, argv = ctx.start(10**10, "--cpu-max", "0.5")
    cg = vm_cgroup_of(p.pid)
    p.kill()
    out, err = p.communicate(timeout=30)
    if not cg:
        return ["vessel never moved into its cgroup"], describe_command(argv, p.returncode, out, err)
    problems = []
    # The kernel removes the process, not the directories.
    time.sleep(0.2)
    if not leftovers(cg):
        problems.append("the cgroup vanished by itself: this case tests nothing")
    q, _, argv2 = ctx.run(0)  # no limits: any vm run reaps
    if q.returncode != GUEST_OK:
        problems.append(f"the next vessel vm run failed (status {q.returncode})")
    if leftovers(cg):
        problems.append(f"the next vessel vm run did not remove {leftovers(cg)}")
    return problems, describe_command(argv2, q.returncode, q.stdout, q.stderr)


def start_time(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[19]


def case_reaper_judges_owners(ctx):
    """Leftovers named for a process that is gone are removed; one named
    for a live process (this script) and one of another form stay."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    names = {"dead": f"{PARENT}/{gone.pid}-12345",
             "live": f"{PARENT}/{os.getpid()}-{start_time(os.getpid())}",
             "other": f"{PARENT}/not-a-vm"}
    for cg in names.values():
        for d in all_dirs(cg):
            os.makedirs(d, exist_ok=True)
    q, _, argv = ctx.run(0)
    problems = []
    if q.returncode != GUEST_OK:
        problems.append(f"vessel vm run failed (status {q.returncode})")
    if leftovers(names["dead"]):
        problems.append(f"not reaped: {leftovers(names['dead'])}")
    for k in ("live", "other"):
        if len(leftovers(names[k])) != len(all_dirs(names[k])):
            problems.append(f"removed although not a dead vessel's: {names[k]}")
        for d in leftovers(names[k]):
            os.rmdir(d)
    return problems, describe_command(argv, q.returncode, q.stdout, q.stderr)


def case_cpu_max_slows(ctx):
    n = 2500000
    free, t_free, argv = ctx.run(n)
    capped, t_capped, argv2 = ctx.run(n, "--cpu-max", "0.05")
    details = [f"unlimited: {t_free:.2f} s, --cpu-max 0.05: {t_capped:.2f} s"]
    problems = []
    for p, a in ((free, argv), (capped, argv2)):
        if p.returncode != GUEST_OK or f"bench int: {n} iterations" not in p.stdout:
            problems.append(f"a run failed (status {p.returncode})")
            details += describe_command(a, p.returncode, p.stdout, p.stderr)
    if not problems and not t_capped > 2 * t_free:
        problems.append(f"--cpu-max 0.05 took {t_capped:.2f} s, not more than twice {t_free:.2f} s")
    return problems, details


CASES = [
    ("limits written for every thread, removed on SIGTERM", case_limits_then_sigterm),
    ("--cpu-max 0.5 as a fraction, removed on a normal exit", case_fraction_then_exit),
    ("cgroup of a vessel killed with SIGKILL reaped by the next vm run", case_sigkill_reaped),
    ("the reaper removes only dead vessels' cgroups", case_reaper_judges_owners),
    ("--cpu-max 0.05 slows a CPU-bound guest more than 2x", case_cpu_max_slows),
]


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL", "build/vessel")
    guests = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VESSEL_GUESTS", "build/tests/guests")
    tap = Tap()
    ctx = Ctx(vessel, guests)
    why = None
    if os.geteuid() != 0:
        why = "needs root (cgroups)"
    elif not cgroup_mounts():
        why = "no cgroup filesystem mounted"
    elif not cpu_dir("/")[0]:
        why = "no hierarchy has the cpu controller"
    for name, fn in CASES:
        if not tap.wants(name):
            continue
        if why:
            tap.skip(name, why)
            continue
        problems, details = fn(ctx)
        tap.result(name, problems, details=details if problems else ())
        if not problems and name.startswith("--cpu-max 0.05"):
            tap.diag(details[0])
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
