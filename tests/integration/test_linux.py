#!/usr/bin/env python3
"""Real Linux under vessel's emulator (issue 8): Debian's cloud kernel and
the busybox initramfs of scripts/default-guest.sh, booted with
`--accel emu`. Prints TAP.

Usage: test_linux.py [VESSEL]   (or $VESSEL)
Environment:
  VESSEL_CACHE         where default-guest.sh keeps the guest (its default:
                       /var/cache/vessel)
  VESSEL_TEST_TIMEOUT  seconds per VM run (default 400)
  VESSEL_TEST_JOBS     VMs run at the same time (default 2)
  VESSEL_TEST_FILTER   only the cases whose name contains one of these
                       comma-separated strings (vessel_test/tap.py); a VM
                       boots when any of its cases is selected

The script runs scripts/default-guest.sh itself and skips everything when
the guest cannot be prepared (no busybox-static, no network to Debian's
archive and nothing cached). Each VM is one `vessel vm run` of about 30-45 s
under the interpreter; seven VMs, two at a time.

The test's own commands reach the guest as an extra initramfs: a newc cpio
archive appended to the default one (Linux unpacks concatenated archives)
holding /t, a shell script that /init runs through vessel.run=/t and that
brackets its results between "@@begin NAME" and "@@end" lines. The data
for gzip and md5sum is generated in the guest (`seq`, `cat`) and on the
host (Python) the same way; the guest's busybox gzip output must equal the
host's /bin/busybox gzip of the same bytes (the same binary runs natively
there), and a gzip file made by the host is decompressed in the guest.
"""
import concurrent.futures
import gzip
import hashlib
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap, describe_command  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GUEST_SH = os.path.join(HERE, "..", "..", "scripts", "default-guest.sh")
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "ThreadSanitizer",
                     "runtime error:")
TIMEOUT_S = float(os.environ.get("VESSEL_TEST_TIMEOUT", "400"))
JOBS = int(os.environ.get("VESSEL_TEST_JOBS", "2"))
MEM = "512M"
# The default guest's command line (src/cli/vm_run.c). No no_timer_check:
# the PIT re-delivers missed ticks, so Linux's IO-APIC timer check passes on
# a loaded host too. cryptomgr.notests: see src/cli/vm_run.c.
CMDLINE = "console=ttyS0 quiet cryptomgr.notests"

# The data: `seq 1 30000` 16 times over, 3.0 MB. Generating it costs more
# than compressing it under the interpreter (busybox seq, awk and gzip run
# 100-500x slower than natively on this shared host), so it is a short sequence
# repeated; deflate's 32 KiB window never sees the 189 KB repeats.
SEQ_N = 30000
SEQ_COPIES = 16
AWK_N = 20000
# What the emulator's CPUID advertises (src/accel/emu/sys.c) as Linux names
# it in /proc/cpuinfo, and what it must not advertise (docs/emu.md, Missing).
FLAGS_EXPECTED = ("fpu pse tsc msr pae cx8 apic pge cmov pat clflush mmx fxsr sse sse2 syscall nx pdpe1gb "
                  "rdtscp lm lahf_lm constant_tsc nonstop_tsc tsc_adjust erms").split()
FLAGS_ABSENT = ("pni ssse3 sse4_1 sse4_2 popcnt avx avx2 xsave x2apic smep smap fsgsbase rdrand rdpid "
                "pcid cx16 bmi1").split()
MODEL_NAME = "vessel emulated x86-64 CPU"
# dmesg lines that mean the emulator failed the guest somewhere.
DMESG_BAD = ("soft lockup", "rcu_sched self-detected stall", "rcu: INFO", "TSC unstable",
             "Marking TSC unstable", "traps:", "invalid opcode", "Call Trace")

# The guest side. /init runs this with sh, then prints "vessel-guest: exit
# status N" and calls poweroff -f. No '+' (init turns it into a space on the
# command line, not here, but keep the script usable either way).
INFO_SCRIPT = """
section() { echo "@@begin $1"; shift; "$@"; echo "@@end"; }
section uname uname -a
section cpuinfo cat /proc/cpuinfo
section dmesg dmesg
"""
WORK_SCRIPT = f"""
seq 1 {SEQ_N} >/tmp/s
for i in $(seq {SEQ_COPIES}); do cat /tmp/s; done >/tmp/d
section md5 md5sum /tmp/d
gzip -c </tmp/d >/tmp/d.gz
section gzip md5sum /tmp/d.gz
section roundtrip sh -c 'gzip -dc </tmp/d.gz | md5sum'
section gunzip-host sh -c 'gzip -dc </data.gz | md5sum'
section awk awk 'BEGIN {{ s = 0; for (i = 1; i <= {AWK_N}; i = i - (-1)) s = (s * 31 - (-i)) % 1000003; print s }}'
"""
# `sleep 0` the same way first: what starting a process and reading the
# clock cost (seconds under the interpreter on a loaded host) is not part
# of the 5 s.
TIME_SCRIPT = """
echo "@@date $(date +%s)"
read u0 rest </proc/uptime
echo "@@sleep0-begin $u0"
sleep 0
read u1 rest </proc/uptime
echo "@@sleep0-end $u1"
echo "@@sleep-begin $u1"
sleep 5
read u2 rest </proc/uptime
echo "@@sleep-end $u2"
"""


# ---------------------------------------------------------------- host side

def newc(entries):
    """A newc cpio archive of (name, mode, data) entries, with its trailer."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], 1):
        bname = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(bname), 0]
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + bname
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def seq_data():
    return "".join(f"{i}\n" for i in range(1, SEQ_N + 1)).encode() * SEQ_COPIES


def awk_expected():
    s = 0
    for i in range(1, AWK_N + 1):
        s = (s * 31 + i) % 1000003
    return str(s)


class Expect:
    """What the workload must print, computed on the host."""

    def __init__(self, tmp):
        data = seq_data()
        self.data_gz = gzip.compress(data, mtime=0)
        self.md5 = hashlib.md5(data).hexdigest()
        self.awk = awk_expected()
        p = subprocess.run(["/bin/busybox", "gzip", "-c"], input=data, stdout=subprocess.PIPE, check=True)
        self.busybox_gzip_md5 = hashlib.md5(p.stdout).hexdigest()


class Guest:
    """The prepared default guest: its files and the kernel it holds."""

    def __init__(self, directory):
        self.dir = directory
        self.vmlinuz = os.path.join(directory, "vmlinuz")
        self.vmlinux = os.path.join(directory, "vmlinux")
        self.initrd = os.path.join(directory, "initramfs.cpio.gz")
        with open(os.path.join(directory, "stamp")) as f:
            stamp = f.read().split()
        # "linux-image-6.1.0-N-cloud-amd64 6.1.X-Y md5": release and version
        self.release = stamp[0][len("linux-image-"):]
        self.version = stamp[1]


def prepare_guest():
    """(Guest, None), or (None, why) when default-guest.sh fails."""
    try:
        p = subprocess.run(["sh", DEFAULT_GUEST_SH], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=900)
    except subprocess.TimeoutExpired:
        return None, "scripts/default-guest.sh took more than 900 s"
    if p.returncode != 0:
        last = (p.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        return None, f"default guest cannot be prepared: {last}"
    directory = p.stdout.decode().strip().splitlines()[-1]
    try:
        return Guest(directory), None
    except (OSError, IndexError) as e:
        return None, f"default guest in {directory} is incomplete: {e}"


class Run:
    """One VM run: its arguments, status, and every output line with the
    host's monotonic and wall-clock time of arrival."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.env = env
        self.status = None
        self.lines = []  # (monotonic, wall, text)
        self.stderr = ""
        self.elapsed = 0.0

    @property
    def stdout(self):
        return "\n".join(t for _, _, t in self.lines)

    def go(self):
        t0 = time.monotonic()
        p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env)
        err = []
        th = threading.Thread(target=lambda: err.append(p.stderr.read()))
        th.start()
        timer = threading.Timer(TIMEOUT_S, p.kill)
        timer.start()
        for raw in p.stdout:
            self.lines.append((time.monotonic(), time.time(), raw.decode(errors="replace").rstrip("\r\n")))
        self.status = p.wait()
        timer.cancel()
        th.join()
        self.stderr = (err[0] if err else b"").decode(errors="replace")
        self.elapsed = time.monotonic() - t0
        if time.monotonic() - t0 >= TIMEOUT_S:
            self.status = None
        return self

    def sections(self, times=False):
        """{name: lines} of the guest's sections, or with times=True
        {name: seconds of host time from its begin to its end line}."""
        out, took, name, buf, t0 = {}, {}, None, [], 0.0
        for mono, _, t in self.lines:
            if name is None and t.startswith("@@begin "):
                name, buf, t0 = t[len("@@begin "):].strip(), [], mono
            elif name is not None and t == "@@end":
                out[name] = buf
                took[name] = mono - t0
                name = None
            elif name is not None:
                buf.append(t)
        return took if times else out

    def marker(self, word):
        """(monotonic, wall, value) of the first "@@word value" line."""
        for mono, wall, t in self.lines:
            if t.startswith(f"@@{word} "):
                return mono, wall, t.split(None, 1)[1].strip()
        return None

    def details(self):
        return describe_command(self.argv, self.status, self.stdout, self.stderr, self.elapsed, tail=15)


def common_problems(run, status=0):
    problems = []
    if run.status is None:
        problems.append(f"no exit within {TIMEOUT_S:.0f} s")
    elif run.status != status:
        problems.append(f"exit status {run.status}, expected {status}")
    for m in SANITIZER_MARKERS:
        if m in run.stderr:
            problems.append(f"stderr mentions {m}")
    return problems


# ------------------------------------------------------------- the VM runs

class Boot:
    """A VM booted through a script; its cases judge the finished Run."""

    def __init__(self, name, kernel_kind, cpus, script, cases, expect_status=0):
        self.name = name
        self.kernel_kind = kernel_kind
        self.cpus = cpus
        self.script = script
        self.cases = cases  # [(case name, fn(run) -> problems)]
        self.expect_status = expect_status

    def run(self, ctx):
        kernel = ctx.guest.vmlinuz if self.kernel_kind == "bzImage" else ctx.guest.vmlinux
        entries = [("t", 0o100755, ("#!/bin/sh\n" + self.script).encode())]
        if WORK_SCRIPT in self.script:
            entries.append(("data.gz", 0o100644, ctx.expect.data_gz))
        initrd = os.path.join(ctx.tmp, self.name.replace(" ", "-").replace("/", "") + ".cpio")
        with open(ctx.guest.initrd, "rb") as f:
            base = f.read()
        with open(initrd, "wb") as f:
            f.write(base + b"\0" * (-len(base) % 4) + newc(entries))
        argv = [ctx.vessel, "vm", "run", "--accel", "emu", "--kernel", kernel, "--initrd", initrd,
                "--mem", MEM, "--cpus", str(self.cpus), "--console", "stdio",
                "--cmdline", CMDLINE + " vessel.run=/t"]
        return Run(argv).go()


def boots_out(run, expect_status=0):
    problems = common_problems(run, expect_status)
    if not any(t.startswith("vessel-guest: exit status 0") for _, _, t in run.lines):
        problems.append("the guest's script did not finish (no 'vessel-guest: exit status 0')")
    return problems


def check_uname(ctx):
    def fn(run):
        text = " ".join(run.sections().get("uname", []))
        problems = []
        if not re.match(r"^Linux \S+ \S+ .* x86_64( GNU/Linux)?$", text):
            problems.append(f"uname -a: {text!r}")
        if ctx.guest.release not in text:
            problems.append(f"uname -a does not name the kernel release {ctx.guest.release}")
        if f"Debian {ctx.guest.version}" not in text:
            problems.append(f"uname -a does not name the Debian version {ctx.guest.version}")
        return problems
    return fn


def check_cpuinfo(cpus):
    def fn(run):
        lines = run.sections().get("cpuinfo", [])
        problems = []
        procs = [t for t in lines if re.match(r"^processor\s*:", t)]
        if len(procs) != cpus:
            problems.append(f"{len(procs)} processors in /proc/cpuinfo, expected {cpus}")
        flags = [set(t.split(":", 1)[1].split()) for t in lines if re.match(r"^flags\s*:", t)]
        if len(flags) != cpus:
            problems.append(f"{len(flags)} flags lines, expected {cpus}")
        for n, f in enumerate(flags):
            missing = [x for x in FLAGS_EXPECTED if x not in f]
            extra = [x for x in FLAGS_ABSENT if x in f]
            if missing:
                problems.append(f"CPU {n} lacks flags {' '.join(missing)}")
            if extra:
                problems.append(f"CPU {n} shows flags the emulator does not implement: {' '.join(extra)}")
        models = [t.split(":", 1)[1].strip() for t in lines if re.match(r"^model name\s*:", t)]
        if models != [MODEL_NAME] * cpus:
            problems.append(f"model names {models}")
        return problems
    return fn


def check_dmesg(cpus):
    def fn(run):
        lines = run.sections().get("dmesg", [])
        text = "\n".join(lines)
        problems = []
        if not lines:
            return ["no dmesg output"]
        want = f"smp: Brought up 1 node, {cpus} CPU" + ("s" if cpus > 1 else "")
        if not re.search(re.escape(want) + r"\b", text):
            problems.append(f"no '{want}'")
        for pattern, what in ((r"IOAPIC\[0\]: apic_id \d+", "the IOAPIC"),
                              (r"ACPI: Interpreter enabled", "the ACPI interpreter"),
                              (r"ACPI: Using IOAPIC for interrupt routing", "ACPI IOAPIC routing"),
                              (r"ACPI: PM: \(supports S0 S5\)", "ACPI S5")):
            if not re.search(pattern, text):
                problems.append(f"no line about {what} ({pattern})")
        for bad in DMESG_BAD:
            hits = [t for t in lines if bad in t]
            if hits:
                problems.append(f"dmesg has '{bad}': {hits[0].strip()}")
        return problems
    return fn


def check_section(name, want_fn, what):
    def fn(run):
        got = " ".join(run.sections().get(name, [])).split()
        want = want_fn()
        if not got or got[0] != want:
            return [f"{what}: guest {got[0] if got else 'nothing'}, host {want}"]
        return []
    return fn


def check_date(run):
    m = run.marker("date")
    if not m:
        return ["no @@date line"]
    _, wall, value = m
    diff = int(value) - wall
    if abs(diff) > 2:
        return [f"the guest's date +%s is {diff:.1f} s from the host's clock"]
    return []


def check_sleep(run):
    a, b = run.marker("sleep-begin"), run.marker("sleep-end")
    a0, b0 = run.marker("sleep0-begin"), run.marker("sleep0-end")
    if not a or not b or not a0 or not b0:
        return ["no @@sleep0-begin/@@sleep0-end/@@sleep-begin/@@sleep-end lines"]
    host = (b[0] - a[0]) - (b0[0] - a0[0])
    guest = (float(b[2]) - float(a[2])) - (float(b0[2]) - float(a0[2]))
    problems = []
    if not 4.0 <= host <= 6.0:
        problems.append(f"sleep 5 took {host:.2f} s of host time more than sleep 0")
    if not 4.0 <= guest <= 6.0:
        problems.append(f"sleep 5 took {guest:.2f} s more than sleep 0 by the guest's /proc/uptime")
    return problems


def info_cases(ctx, label, cpus):
    return [(f"{label}: boots to userspace, poweroff -f exits 0", boots_out),
            (f"{label}: uname -a", check_uname(ctx)),
            (f"{label}: /proc/cpuinfo shows {cpus} processors with the emulator's flags", check_cpuinfo(cpus)),
            (f"{label}: dmesg shows every CPU, the IOAPIC, ACPI, no stall/trap/TSC lines", check_dmesg(cpus))]


def work_cases(ctx, label):
    e = ctx.expect
    return [(f"{label}: md5sum of 3 MB equals the host's", check_section("md5", lambda: e.md5, "md5")),
            (f"{label}: gzip output equals the host's busybox gzip",
             check_section("gzip", lambda: e.busybox_gzip_md5, "md5 of gzip -c")),
            (f"{label}: gzip -d of the host's gzip file", check_section("gunzip-host", lambda: e.md5, "md5")),
            (f"{label}: gzip -d of the guest's gzip output", check_section("roundtrip", lambda: e.md5, "md5")),
            (f"{label}: awk loop", check_section("awk", lambda: e.awk, "awk result"))]


def time_cases(label):
    return [(f"{label}: date +%s within 2 s of the host's", check_date),
            (f"{label}: sleep 5 takes 5 s of host and guest time (less a sleep 0)", check_sleep)]


def make_boots(ctx):
    boots = []
    for kind, cpus in (("bzImage", 1), ("vmlinux", 2), ("bzImage", 2), ("vmlinux", 1)):
        label = f"{kind} {cpus} vCPU" + ("s" if cpus > 1 else "")
        script = INFO_SCRIPT
        cases = info_cases(ctx, label, cpus)
        if (kind, cpus) == ("bzImage", 1):
            script += WORK_SCRIPT
            cases += work_cases(ctx, label)
        if (kind, cpus) in (("bzImage", 1), ("vmlinux", 2)):
            script += TIME_SCRIPT
            cases += time_cases(label)
        boots.append(Boot(label, kind, cpus, script, cases))
    boots.append(Boot("reboot", "bzImage", 1, "echo @@rebooting\nreboot -f\n",
                      [("reboot -f in the guest exits 0", check_reboot)]))
    return boots


def check_reboot(run):
    problems = common_problems(run, 0)
    if not any(t == "@@rebooting" for _, _, t in run.lines):
        problems.append("the guest never ran the script")
    if any(t.startswith("vessel-guest: exit status") for _, _, t in run.lines):
        problems.append("the guest powered off instead of rebooting")
    return problems


# ------------------- the default guest on a terminal, SIGTERM and Ctrl-A x

DEFAULT_CASES = ("default guest (no --kernel, VESSEL_CACHE): a shell on the console runs a command",
                 "default guest: SIGTERM stops vessel with status 0 and the terminal untouched")
CTRL_A_X_CASE = "default guest: Ctrl-A x on the terminal quits with status 0 and the terminal untouched"


def run_default_guest(ctx, ctrl_a_x=False):
    """`vessel vm run --accel emu` without --kernel on a pseudo-terminal,
    the guest found through VESSEL_CACHE (a fresh directory of symbolic links
    to the prepared files, so the default location cannot stand in). Types
    a command once the shell is up, then sends SIGTERM; or, with ctrl_a_x,
    types Ctrl-A x once the shell is up. Returns the problems of the shell
    case and of the stop case, and the details."""
    cache = os.path.join(ctx.tmp, "cache-ctrl-a" if ctrl_a_x else "cache")
    os.makedirs(os.path.join(cache, "guest"))
    for f in ("vmlinuz", "initramfs.cpio.gz"):
        os.symlink(os.path.join(ctx.guest.dir, f), os.path.join(cache, "guest", f))
    env = dict(os.environ, VESSEL_CACHE=cache)
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    argv = [ctx.vessel, "vm", "run", "--accel", "emu", "--mem", MEM]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env)
    err = []
    th = threading.Thread(target=lambda: err.append(p.stderr.read()))
    th.start()
    out = bytearray()
    lock = threading.Lock()

    def reader():
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            with lock:
                out.extend(chunk)

    rt = threading.Thread(target=reader, daemon=True)
    rt.start()

    def wait_for(text, deadline):
        while time.monotonic() < deadline:
            with lock:
                if text in out:
                    return True
            if p.poll() is not None:
                return False
            time.sleep(0.2)
        return False

    shell, status = [], None
    deadline = t0 + TIMEOUT_S
    if not wait_for(b"vessel default guest:", deadline):
        shell.append("no 'vessel default guest:' banner")
    elif ctrl_a_x:
        time.sleep(1)  # the shell's prompt: the keys must reach vessel, not a dead guest
    else:
        time.sleep(1)  # the shell's prompt
        os.write(master, b"echo ab$((6*7))cd; uname -r\r")
        if not wait_for(b"ab42cd", min(deadline, time.monotonic() + 60)):
            shell.append("the shell did not answer 'echo ab$((6*7))cd' with ab42cd")
        elif not wait_for(ctx.guest.release.encode(), min(deadline, time.monotonic() + 30)):
            shell.append(f"uname -r did not print {ctx.guest.release}")
    term = []
    how = "Ctrl-A x" if ctrl_a_x else "SIGTERM"
    if p.poll() is None:
        if ctrl_a_x:
            os.write(master, b"\x01x")
        else:
            p.send_signal(signal.SIGTERM)
        try:
            status = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            status = p.wait()
            term.append(f"vessel did not stop within 30 s of {how}")
    else:
        status = p.returncode
        term.append(f"vessel ended before {how} (status {status})")
    th.join()
    after = termios.tcgetattr(slave)
    os.close(slave)
    rt.join(timeout=5)
    os.close(master)
    stderr = (err[0] if err else b"").decode(errors="replace")
    if shell and ctrl_a_x:
        term += shell
    if status != 0 and not term:
        term.append(f"exit status {status} after {how}, expected 0")
    if after != before:
        term.append("the terminal's settings differ from before the run (not restored)")
    for m in SANITIZER_MARKERS:
        if m in stderr:
            term.append(f"stderr mentions {m}")
    with lock:
        text = out.decode(errors="replace")
    details = describe_command(argv, status, text, stderr, time.monotonic() - t0, tail=12)
    details.insert(0, f"VESSEL_CACHE={cache}")
    return shell, term, details


# --------------------------------------------------------------------- main

class Ctx:
    pass


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL")
    tap = Tap()
    if not vessel or not os.access(vessel, os.X_OK):
        return tap.skip_all("no vessel binary (pass it or set $VESSEL)")
    if not os.path.exists("/bin/busybox"):
        return tap.skip_all("no /bin/busybox (busybox-static): the default guest cannot be built")
    guest, why = prepare_guest()
    if not guest:
        return tap.skip_all(why)
    ctx = Ctx()
    ctx.vessel = os.path.abspath(vessel)
    ctx.guest = guest
    ctx.tmp = tempfile.mkdtemp(prefix="vessel-linux-")
    try:
        ctx.expect = Expect(ctx.tmp)
        boots = [b for b in make_boots(ctx) if any(tap.wants(n) for n, _ in b.cases)]
        want_default = any(tap.wants(n) for n in DEFAULT_CASES)
        want_ctrl_a = tap.wants(CTRL_A_X_CASE)
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, JOBS)) as pool:
            futures = [(b, pool.submit(b.run, ctx)) for b in boots]
            default = pool.submit(run_default_guest, ctx) if want_default else None
            ctrl_a = pool.submit(run_default_guest, ctx, True) if want_ctrl_a else None
            for b, fut in futures:
                run = fut.result()
                for name, fn in b.cases:
                    if not tap.wants(name):
                        continue
                    problems = fn(run)
                    # A case that needs the guest's output says so when the
                    # run itself failed, rather than reporting a confusing
                    # mismatch alone.
                    if problems and fn is not boots_out and fn is not check_reboot:
                        problems += [f"(the run: {p})" for p in common_problems(run, b.expect_status)]
                    note = None
                    if fn in (boots_out, check_reboot):
                        note = f"{b.name}: {run.elapsed:.1f} s"
                        took = run.sections(times=True)
                        if took:
                            note += " (" + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()) + ")"
                    tap.result(name, problems, details=run.details(), note=note)
            if default:
                shell, term, details = default.result()
                if tap.wants(DEFAULT_CASES[0]):
                    tap.result(DEFAULT_CASES[0], shell, details=details)
                if tap.wants(DEFAULT_CASES[1]):
                    tap.result(DEFAULT_CASES[1], term, details=details)
            if ctrl_a:
                _, term, details = ctrl_a.result()
                tap.result(CTRL_A_X_CASE, term, details=details)
        tap.diag(f"all VMs: {time.monotonic() - t0:.1f} s with {JOBS} at a time", indent="# ")
        # The board has no ACPI power button: the FADT sets PWR_BUTTON (no
        # fixed-feature button) and the DSDT has no PNP0C0C device, so
        # there is nothing to press here.
    finally:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
