#!/usr/bin/env python3
"""Boot the test guests (tests/guests) under vessel and check what they
report. Prints TAP.

Usage: test_guests.py [VESSEL [GUEST_DIR]]
  VESSEL     the vessel binary (default: $VESSEL)
  GUEST_DIR  directory holding test-pvh.elf, test-bzimage.bin,
             test-vmlinux.elf and demo-pvh.elf (default: $VESSEL_GUESTS)
Environment:
  VESSEL_TEST_TIMEOUT  seconds per VM run (default 60)
  VESSEL_TEST_JOBS     VMs run at the same time (default: min(4, CPUs))
  VESSEL_TEST_ARGS     extra arguments for `vessel vm run` (e.g. --accel kvm)
  VESSEL_TEST_FILTER   only run cases whose name contains one of these
                       comma-separated strings (vessel_test/tap.py)

Each case is one `vessel vm run`; the guest picks its test from
`test=NAME` on the command line and ends the VM itself. isa-debug-exit with
value v gives exit status (v << 1) | 1, so a guest reporting success with
v = 0 makes vessel exit with 1.
"""
import concurrent.futures
import datetime
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap  # noqa: E402

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "ThreadSanitizer",
                     "runtime error:")
KERNELS = {"pvh": "test-pvh.elf", "bzimage": "test-bzimage.bin", "vmlinux": "test-vmlinux.elf"}
MiB = 1 << 20
GiB = 1 << 30
STATUS_OK = 1  # debug-exit with v = 0


class Run:
    """The outcome of one VM run."""

    def __init__(self, args):
        self.args = args
        self.status = None
        self.stdout = ""
        self.stderr = ""
        self.elapsed = 0.0
        self.timed_out = False
        self.started = 0.0
        self.ended = 0.0

    def lines(self):
        return self.stdout.splitlines()

    def value(self, key):
        """The rest of the first line starting with `key: `, or None."""
        prefix = key + ": "
        for line in self.lines():
            if line.startswith(prefix):
                return line[len(prefix):]
        return None

    def describe(self):
        out = ["command: " + " ".join(shlex.quote(a) for a in self.args),
               f"exit status: {self.status}" + (" (timed out)" if self.timed_out else ""),
               f"elapsed: {self.elapsed:.1f} s"]
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            tail = text.splitlines()[-25:]
            out.append(f"{name} ({len(text)} bytes){':' if tail else ''}")
            out.extend("  " + line for line in tail)
        return out


class Env:
    def __init__(self, vessel, guests, timeout, extra, tmp):
        self.vessel = vessel
        self.guests = guests
        self.timeout = timeout
        self.extra = extra
        self.tmp = tmp

    def kernel(self, fmt):
        return os.path.join(self.guests, KERNELS.get(fmt, fmt))

    def run(self, kernel, cmdline, mem="256M", cpus=1, initrd=None, console="stdio", send_line=None,
            stdin="pipe", timeout=None, disks=(), nets=(), env=None, options=()):
        """Run one VM. send_line: written to the console once the guest
        prints "ready". stdin "pipe" keeps an open, silent pipe (a terminal
        nobody types on); "null" gives /dev/null (immediate EOF)."""
        args = [self.vessel, "vm", "run", "--kernel", kernel, "--mem", mem, "--cpus", str(cpus),
                "--console", console, "--cmdline", cmdline]
        if initrd:
            args += ["--initrd", initrd]
        for d in disks:
            args += ["--disk", d]
        for n in nets:
            args += ["--net", n]
        args += list(options)
        args += self.extra
        r = Run(args)
        timeout = timeout or self.timeout
        r.started = time.time()
        p = subprocess.Popen(args, stdin=subprocess.PIPE if stdin == "pipe" else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, **env) if env else None)
        out, err = bytearray(), bytearray()
        ready = threading.Event()

        def pump(stream, buf, watch):
            while True:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(4096)
                if not chunk:
                    break
                buf.extend(chunk)
                if watch and b"ready\n" in buf.replace(b"\r", b""):
                    ready.set()

        threads = [threading.Thread(target=pump, args=(p.stdout, out, True), daemon=True),
                   threading.Thread(target=pump, args=(p.stderr, err, False), daemon=True)]
        for t in threads:
            t.start()
        deadline = r.started + timeout
        if send_line is not None:
            if ready.wait(timeout):
                try:
                    p.stdin.write(send_line.encode())
                    p.stdin.flush()
                except OSError:
                    pass
        try:
            r.status = p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            r.timed_out = True
            p.kill()
            r.status = p.wait()
        r.ended = time.time()
        for t in threads:
            t.join(5)
        if p.stdin:
            try:
                p.stdin.close()
            except OSError:
                pass
        r.elapsed = r.ended - r.started
        r.stdout = out.decode(errors="replace").replace("\r", "")
        r.stderr = err.decode(errors="replace")
        return r


class Check:
    """Collects failed expectations for one case."""

    def __init__(self, run=None):
        self.problems = []
        self.run = run
        self.skip = None

    def expect(self, cond, msg):
        if not cond:
            self.problems.append(msg)
        return cond

    def status(self, want):
        r = self.run
        if r.timed_out:
            self.problems.append(f"timed out after {r.elapsed:.0f} s")
        elif r.status != want:
            self.problems.append(f"exit status {r.status}, want {want}")

    def started(self, name):
        self.expect(f"test {name} start" in self.run.lines(), f"no 'test {name} start' line")

    def no_sanitizer(self):
        for m in SANITIZER_MARKERS:
            self.expect(m not in self.run.stderr, f"stderr mentions {m}")


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def expected_ram(mem):
    """RAM ranges vessel's memory map must list for `mem` bytes."""
    low_end = min(mem, 3 * GiB)
    ram = [(0, 0x9FC00), (0x100000, low_end - 0x100000)]
    if mem > 3 * GiB:
        ram.append((4 * GiB, mem - 3 * GiB))
    return ram


def parse_memmap(run):
    entries = []
    for line in run.lines():
        m = re.fullmatch(r"mem: 0x([0-9a-f]+) 0x([0-9a-f]+) (\d+)", line)
        if m:
            entries.append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))))
    return entries


def check_memmap(c, run, mem):
    entries = parse_memmap(run)
    count = run.value("mem")
    c.expect(count == f"{len(entries)} entries", f"'mem: {count}' but {len(entries)} entries printed")
    ram = sorted((a, s) for a, s, t in entries if t == 1)
    want = expected_ram(mem)
    c.expect(ram == want, "RAM ranges " + ", ".join(f"{a:#x}+{s:#x}" for a, s in ram) +
             "; want " + ", ".join(f"{a:#x}+{s:#x}" for a, s in want))
    for a, s in ((0x9FC00, 0x400), (0xE0000, 0x20000)):
        c.expect((a, s, 2) in entries, f"no reserved entry {a:#x}+{s:#x}")
    for a, s, t in entries:
        if t == 1:
            continue
        for ra, rs in want:
            c.expect(a + s <= ra or a >= ra + rs,
                     f"entry {a:#x}+{s:#x} type {t} overlaps RAM {ra:#x}+{rs:#x}")


# ---------------------------------------------------------------------------
# The cases. Each takes the Env and returns a Check.

def make_initrd(env, size, name):
    data = random.Random(size).randbytes(size) if hasattr(random.Random, "randbytes") \
        else bytes(random.Random(size).getrandbits(8) for _ in range(size))
    path = os.path.join(env.tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def case_info(fmt, mem="256M", mem_bytes=256 * MiB, initrd_size=12345, stdin="pipe"):
    def run(env):
        cmdline = 'test=info  console=ttyS0 "two  spaces" x=1'
        initrd, data = (None, None)
        if initrd_size:
            initrd, data = make_initrd(env, initrd_size, f"initrd-{fmt}-{mem}-{initrd_size}.bin")
        r = env.run(env.kernel(fmt), cmdline, mem=mem, initrd=initrd, stdin=stdin)
        c = Check(r)
        c.status(STATUS_OK)
        c.started("info")
        c.no_sanitizer()
        c.expect(r.value("boot") == fmt, f"boot: {r.value('boot')!r}, want {fmt!r}")
        c.expect(r.value("cmdline") == cmdline, f"cmdline: {r.value('cmdline')!r}, want {cmdline!r}")
        got = r.value("initrd")
        if data is None:
            c.expect(got == "none", f"initrd: {got!r}, want 'none'")
        else:
            m = re.fullmatch(r"addr=0x([0-9a-f]+) size=(\d+) fnv1a=0x([0-9a-f]{8})", got or "")
            if c.expect(m, f"initrd: {got!r}"):
                c.expect(int(m.group(2)) == len(data), f"initrd size {m.group(2)}, want {len(data)}")
                c.expect(int(m.group(3), 16) == fnv1a(data),
                         f"initrd hash {m.group(3)}, want {fnv1a(data):08x}")
                c.expect(int(m.group(1), 16) % 4096 == 0, "initrd not page aligned")
            c.expect(r.value("initrd-check") == "ok", f"initrd-check: {r.value('initrd-check')}")
        rsdp = r.value("rsdp")
        c.expect(rsdp and rsdp != "none", f"rsdp: {rsdp}")
        check_memmap(c, r, mem_bytes)
        c.expect("info: done" in r.lines(), "no 'info: done'")
        return c
    return run


def case_serial(fmt, test):
    def run(env):
        line = "hello vessel 0123456789 abcdefghij"
        r = env.run(env.kernel(fmt), f"test={test}", send_line=line + "\n")
        c = Check(r)
        c.status(STATUS_OK)
        c.started(test)
        c.no_sanitizer()
        c.expect("ready" in r.lines(), "no 'ready'")
        c.expect(f"got: {line}" in r.lines(), f"no 'got: {line}'")
        return c
    return run


def case_smp(fmt, cpus):
    def run(env):
        r = env.run(env.kernel(fmt), "test=smp", cpus=cpus)
        c = Check(r)
        c.status(STATUS_OK)
        c.started("smp")
        c.no_sanitizer()
        c.expect(r.value("smp") is not None, "no smp: lines")
        lines = r.lines()
        c.expect(f"smp: madt lists {cpus} CPUs" in lines, f"MADT does not list {cpus} CPUs")
        c.expect(f"smp: mptable lists {cpus} CPUs" in lines, f"MP table does not list {cpus} CPUs")
        c.expect(f"smp: {cpus} of {cpus} CPUs online" in lines, f"not '{cpus} of {cpus} CPUs online'")
        ids = next((ln[len("smp: apic ids: "):] for ln in lines if ln.startswith("smp: apic ids: ")), "")
        c.expect(sorted(ids.split(), key=int) == [str(i) for i in range(cpus)] if ids else False,
                 f"APIC IDs '{ids}', want 0..{cpus - 1}")
        c.expect("smp: cpuid apic ids match" in lines, "CPUID APIC IDs differ from the LAPIC IDs")
        return c
    return run


def case_cpuid(cpus):
    """CPUID as vessel filters it: hypervisor bit and the backend's signature
    (KVM's, or the emulator's own), APIC ID 0 on the BSP, and a topology
    leaf that counts --cpus cores."""
    def run(env):
        r = env.run(env.kernel("pvh"), "test=cpuid", cpus=cpus)
        c = Check(r)
        c.status(STATUS_OK)
        c.started("cpuid")
        c.no_sanitizer()
        lines = r.lines()
        c.expect("cpuid: hypervisor bit 1" in lines, "hypervisor bit not set")
        c.expect(any(ln.startswith(("cpuid: hypervisor signature KVMKVMKVM",
                                    "cpuid: hypervisor signature VesselEmuCPU")) for ln in lines),
                 "no KVMKVMKVM or VesselEmuCPU signature at leaf 0x40000000")
        c.expect("cpuid: apic id 0 x2apic id 0" in lines, "BSP APIC ID is not 0 in leaves 1 and 0xb")
        c.expect(f"cpuid: topology smt 1 core {cpus}" in lines, f"leaf 0xb does not count {cpus} cores")
        logical = next((int(ln.split()[3]) for ln in lines if ln.startswith("cpuid: logical processors ")), 0)
        c.expect(logical >= cpus, f"leaf 1 counts {logical} logical processors, fewer than {cpus}")
        c.expect(f"cpuid: madt cpus {cpus}" in lines, f"MADT does not list {cpus} CPUs")
        return c
    return run


def case_simple(fmt, test, want_status, want_line=None, cmdline=None):
    def run(env):
        r = env.run(env.kernel(fmt), cmdline or f"test={test}")
        c = Check(r)
        c.status(want_status)
        c.started(test)
        c.no_sanitizer()
        if want_line:
            c.expect(any(re.fullmatch(want_line, ln) for ln in r.lines()), f"no line matching {want_line!r}")
        return c
    return run


def case_rtc(fmt):
    def run(env):
        r = env.run(env.kernel(fmt), "test=rtc")
        c = Check(r)
        c.status(STATUS_OK)
        c.started("rtc")
        c.no_sanitizer()
        got = r.value("rtc")
        m = None
        for ln in r.lines():
            m = re.fullmatch(r"rtc: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", ln) or m
        if c.expect(m, f"no 'rtc: YYYY-MM-DD HH:MM:SS' line (first rtc line: {got!r})"):
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
            t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
            c.expect(r.started - 5 <= t <= r.ended + 5,
                     f"guest time {m.group(1)} is not within 5 s of the host's UTC time "
                     f"({datetime.datetime.fromtimestamp(r.started, datetime.timezone.utc):%H:%M:%S}"
                     f"..{datetime.datetime.fromtimestamp(r.ended, datetime.timezone.utc):%H:%M:%S})")
        return c
    return run


def case_triple(fmt, variant="", strict_reason=True):
    """strict_reason: stderr must call it a triple fault (or shutdown).
    Otherwise any crash reason will do: under the PVM flavour of KVM an
    int3 through an empty IDT ends in an emulation failure instead."""
    def run(env):
        test = "triple" + (f"={variant}" if variant else "")
        r = env.run(env.kernel(fmt), f"test={test}")
        c = Check(r)
        c.status(3)
        c.started(test)
        c.no_sanitizer()
        reason = r"triple|shutdown" if strict_reason else r"triple|shutdown|internal error|emulation|fail"
        c.expect(re.search(reason, r.stderr, re.I), f"stderr does not name the exit reason ({reason})")
        c.expect(re.search(r"\brip\b", r.stderr, re.I), "stderr has no RIP")
        return c
    return run


def case_console_file(fmt):
    def run(env):
        path = os.path.join(env.tmp, f"console-{fmt}.txt")
        r = env.run(env.kernel(fmt), "test=info", console="file:" + path)
        c = Check(r)
        c.status(STATUS_OK)
        c.no_sanitizer()
        c.expect("test info start" not in r.stdout, "guest output leaked to stdout")
        try:
            with open(path, "rb") as f:
                text = f.read().decode(errors="replace").replace("\r", "")
        except OSError as e:
            text = ""
            c.expect(False, f"console file: {e}")
        c.expect("test info start" in text.splitlines(), "console file lacks 'test info start'")
        c.expect("info: done" in text.splitlines(), "console file lacks 'info: done'")
        return c
    return run


def case_console_none(fmt):
    def run(env):
        r = env.run(env.kernel(fmt), "test=exit=5", console="none")
        c = Check(r)
        c.status(11)
        c.no_sanitizer()
        c.expect("test exit=5 start" not in r.stdout, "guest output reached stdout with --console none")
        return c
    return run


def case_demo():
    def run(env):
        r = env.run(os.path.join(env.guests, "demo-pvh.elf"), "vessel demo", cpus=2)
        c = Check(r)
        c.status(0)
        c.no_sanitizer()
        c.expect(any(ln.startswith("vessel demo guest: booted via PVH, 2 CPUs, 256 MiB RAM, cmdline: vessel demo")
                     for ln in r.lines()), "no demo banner")
        c.expect("powering off via ACPI" in r.lines(), "demo did not power off through ACPI")
        return c
    return run


def case_pci(fmt):
    def run(env):
        r = env.run(env.kernel(fmt), "test=pci")
        c = Check(r)
        c.status(STATUS_OK)
        c.started("pci")
        c.no_sanitizer()
        lines = r.lines()
        c.expect("pci: 00:00.0 1b36:0008 class 060000" in lines, "no host bridge at 00:00.0")
        c.expect("pci: 00:01.0 1af4:1044 class 00ff00" in lines, "no virtio-rng at 00:01.0")
        c.expect("pci: 00:01.0 decode toggles" in lines, "BAR decoding not checked")
        c.expect(any(re.fullmatch(r"pci: 00:01.0 bar0 mem64 addr 0x[0-9a-f]+ size 0x4000", ln) for ln in lines),
                 "virtio-rng BAR 0 is not a 16 KiB 64-bit BAR")
        return c
    return run


def case_pci_console_balloon():
    """--console2 and --balloon add virtio-console (slot 26) and
    virtio-balloon (slot 27) with working BARs; the socket is removed on
    exit."""
    def run(env):
        sock = os.path.join(tempfile.gettempdir(), f"vessel-test-c2-{os.getpid()}.sock")
        r = env.run(env.kernel("pvh"), "test=pci", options=("--console2", f"socket:{sock}", "--balloon"))
        c = Check(r)
        c.status(STATUS_OK)
        c.started("pci")
        c.no_sanitizer()
        lines = r.lines()
        c.expect("pci: 00:1a.0 1af4:1043 class 078000" in lines, "no virtio-console at 00:1a.0")
        c.expect("pci: 00:1b.0 1af4:1045 class 058000" in lines, "no virtio-balloon at 00:1b.0")
        for dev in ("1a", "1b"):
            c.expect(any(re.fullmatch(rf"pci: 00:{dev}.0 bar0 mem64 addr 0x[0-9a-f]+ size 0x4000", ln)
                         for ln in lines), f"00:{dev}.0 BAR 0 is not a 16 KiB 64-bit BAR")
        c.expect(not os.path.exists(sock), f"{sock} left behind")
        return c
    return run


def case_virtio_rng(fmt, irq):
    def run(env):
        test = "virtio-rng" + (f"={irq}" if isinstance(irq, str) else "=irq" if irq else "")
        r = env.run(env.kernel(fmt), f"test={test}")
        c = Check(r)
        c.status(STATUS_OK)
        c.started(test)
        c.no_sanitizer()
        c.expect(any(ln.startswith("virtio-rng: 3 requests of 64 bytes") for ln in r.lines()),
                 "virtio-rng did not answer 3 requests")
        if irq == "msix":
            c.expect("virtio: MSI-X table in BAR 2, vector 0 -> 0x60" in r.lines(), "MSI-X not set up")
            c.expect(not re.search(r", 0 interrupts", r.stdout), "no MSI-X interrupt")
        return c
    return run


def case_virtio_blk(fmt, irq):
    """A raw disk with random content: the guest hashes sectors 0-7 (the
    hash must match the file), writes and flushes sector 8, and the bytes
    are in the file once vessel has exited."""
    def run(env):
        test = "virtio-blk" + (f"={irq}" if isinstance(irq, str) else "=irq" if irq else "")
        path = os.path.join(env.tmp, f"disk-{fmt}-{irq}.img")
        data = random.Random(7).randbytes(1 << 20)
        with open(path, "wb") as f:
            f.write(data)
        # --verbose: the debug log says which MSI routes the backend set up.
        r = env.run(env.kernel(fmt), f"test={test}", disks=[path],
                    options=("--verbose",) if irq in ("msix", "packed") else ())
        c = Check(r)
        c.status(STATUS_OK)
        c.started(test)
        c.no_sanitizer()
        lines = r.lines()
        c.expect("virtio-blk: capacity 2048 sectors" in lines, "capacity is not 2048 sectors")
        if irq in ("msix", "packed"):
            c.expect("virtio: MSI-X table in BAR 2, vector 0 -> 0x60" in lines, "MSI-X not set up")
        if irq in ("msix", "packed"):
            # Slot 2, vector 0: the interrupts went through the backend's
            # route (irqfd under KVM, the direct call under emu).
            c.expect(re.search(r"MSI route 128 on (kvm|emu): 0xfee[0-9a-f]+/0x60", r.stderr),
                     "no MSI route set up for vector 0 of slot 2")
        if irq == "packed":
            c.expect("virtio-blk: packed ring, 6 requests, used position 5 wrap 0" in lines,
                     "the packed ring did not wrap as 6 requests should make it")
        c.expect("virtio-blk: serial vda" in lines, "serial is not vda")
        want = f"virtio-blk: sectors 0-7 fnv1a 0x{fnv1a(data[:4096]):08x}"
        c.expect(want in lines, f"no '{want}'")
        with open(path, "rb") as f:
            f.seek(8 * 512)
            c.expect(f.read(30) == b"vessel guest wrote this sector", "sector 8 of the file lacks the guest's write")
        return c
    return run


def case_virtio_blk_ro(fmt):
    """Two disks, the first read-only: the guest's write is refused and the
    file is unchanged; the second disk is there as vdb (00:03.0)."""
    def run(env):
        test = "virtio-blk=ro"
        paths = [os.path.join(env.tmp, f"ro-{fmt}-{i}.img") for i in range(2)]
        data = random.Random(11).randbytes(1 << 20)
        for p in paths:
            with open(p, "wb") as f:
                f.write(data)
        r = env.run(env.kernel(fmt), f"test={test}", disks=[paths[0] + ",readonly=on", paths[1]])
        c = Check(r)
        c.status(STATUS_OK)
        c.started(test)
        c.no_sanitizer()
        c.expect("virtio-blk: read-only, write refused" in r.lines(), "no 'read-only, write refused'")
        with open(paths[0], "rb") as f:
            c.expect(f.read() == data, "the read-only disk's file changed")
        return c
    return run


def case_virtio_net_user(fmt):
    """libslirp: the gateway answers ARP and ICMP echo, DHCP offers 10.0.2.15."""
    def run(env):
        r = env.run(env.kernel(fmt), "test=virtio-net", nets=["user"])
        c = Check(r)
        c.status(STATUS_OK)
        c.started("virtio-net")
        c.no_sanitizer()
        lines = r.lines()
        c.expect(any(re.fullmatch(r"virtio-net: device at 00:12\.0, mac 52:54:00(:[0-9a-f]{2}){3}", ln)
                     for ln in lines), "no NIC at 00:12.0 with a 52:54:00 MAC")
        c.expect("virtio-net: ARP 10.0.2.2 is at 52:55:0a:00:02:02" in lines, "no ARP reply from 10.0.2.2")
        c.expect("virtio-net: ICMP echo reply from 10.0.2.2" in lines, "no ICMP echo reply")
        c.expect("virtio-net: DHCP offer 10.0.2.15" in lines, "no DHCP offer of 10.0.2.15")
        return c
    return run


def case_virtio_net_switch():
    """Three VMs: two on one switch exchange a marker and its
    acknowledgement (with the MACs given by mac=), a third on another
    switch hears nothing; no socket file is left behind."""
    def run(env):
        xdg = tempfile.mkdtemp(prefix="xdg-", dir=env.tmp)
        name = f"t{random.randrange(1 << 30)}"
        kern = env.kernel("pvh")
        results = {}

        def vm(key, test, net):
            results[key] = env.run(kern, f"test=virtio-net={test}", nets=[net],
                                   env={"XDG_RUNTIME_DIR": xdg})

        threads = [threading.Thread(target=vm, args=("quiet", f"quiet={name}", f"switch={name}-other")),
                   threading.Thread(target=vm, args=("recv", f"recv={name}", f"switch={name},mac=52:54:00:aa:00:02")),
                   threading.Thread(target=vm, args=("send", f"send={name}", f"switch={name},mac=52:54:00:aa:00:01"))]
        for t in threads:
            t.start()
            time.sleep(0.3)  # order only helps; the sender repeats until acknowledged
        for t in threads:
            t.join()
        c = Check(results["send"])
        for key, r in results.items():
            c.expect(r.status == STATUS_OK, f"{key}: exit status {r.status}" + (" (timed out)" if r.timed_out else ""))
            for m in SANITIZER_MARKERS:
                c.expect(m not in r.stderr, f"{key}: stderr mentions {m}")
        c.expect(f"virtio-net: marker {name} acknowledged by 52:54:00:aa:00:02" in results["send"].lines(),
                 "the sender got no acknowledgement from the receiver's MAC")
        c.expect(f"virtio-net: marker {name} received from 52:54:00:aa:00:01" in results["recv"].lines(),
                 "the receiver did not get the marker from the sender's MAC")
        c.expect(f"virtio-net: no marker {name} in 6 s" in results["quiet"].lines(),
                 "the VM on another switch heard the marker")
        base = os.path.join(xdg, "vessel", "switch")
        left = [os.path.join(d, f) for d in (name, name + "-other") for f in os.listdir(os.path.join(base, d))]
        c.expect(not left, f"socket files left behind: {left}")
        return c
    return run


def case_virtio_net_tap():
    """--net tap=NAME for a missing interface: created while the VM runs,
    gone after it exits. The guest only listens (nothing leaves it but
    answers to ARP for 10.0.2.15), and the interface has no address."""
    def run(env):
        if not os.path.exists("/dev/net/tun"):
            c = Check()
            c.skip = "/dev/net/tun is missing"
            return c
        name = f"vstest{random.randrange(1 << 16):x}"
        sysfs = f"/sys/class/net/{name}"
        seen = threading.Event()
        done = threading.Event()

        def watch():
            while not done.is_set():
                if os.path.exists(sysfs):
                    seen.set()
                    return
                time.sleep(0.05)

        w = threading.Thread(target=watch)
        w.start()
        r = env.run(env.kernel("pvh"), "test=virtio-net=quiet=tap", nets=[f"tap={name}"])
        done.set()
        w.join()
        c = Check(r)
        if "Operation not permitted" in r.stderr:
            c.skip = "no CAP_NET_ADMIN for TUNSETIFF"
            return c
        c.status(STATUS_OK)
        c.no_sanitizer()
        c.expect(seen.is_set(), f"{sysfs} never appeared while the VM ran")
        c.expect(not os.path.exists(sysfs), f"{sysfs} still exists after the VM exited")
        return c
    return run


def case_virtio_net_hostfwd_udp():
    """hostfwd=udp: a host datagram to 127.0.0.1:PORT reaches the guest on
    port 5353 and its echo comes back (resent until the guest is up)."""
    def run(env):
        import socket
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        port = None
        for _ in range(20):  # a free port, found by binding it once
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", random.randrange(20000, 60000)))
                    port = probe.getsockname()[1]
                    break
                except OSError:
                    continue
        box = {}

        def vm():
            box["r"] = env.run(env.kernel("pvh"), "test=virtio-net=udp=5353",
                               nets=[f"user,hostfwd=udp:127.0.0.1:{port}-:5353"])

        t = threading.Thread(target=vm)
        t.start()
        got = None
        deadline = time.time() + env.timeout
        while got is None and time.time() < deadline and t.is_alive():
            try:
                sock.sendto(b"vessel udp", ("127.0.0.1", port))
                got = sock.recvfrom(256)[0]
            except OSError:
                pass
        t.join()
        sock.close()
        r = box["r"]
        c = Check(r)
        c.status(STATUS_OK)
        c.no_sanitizer()
        c.expect(got == b"echo: vessel udp", f"got {got!r} back")
        c.expect(any(ln.startswith("virtio-net: udp 5353 echoed 10 bytes to 10.0.2.2:") for ln in r.lines()),
                 "the guest did not echo the datagram")
        return c
    return run


def case_virtio_net_tap_existing():
    """--net tap=NAME for a persistent tap made beforehand: vessel attaches
    to it and leaves it in place."""
    def run(env):
        import shutil
        c = Check()
        if not os.path.exists("/dev/net/tun") or not shutil.which("ip"):
            c.skip = "/dev/net/tun or ip(8) missing"
            return c
        name = f"vstest{random.randrange(1 << 16):x}"
        made = subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap"], capture_output=True, text=True)
        if made.returncode != 0:
            c.skip = f"ip tuntap add failed: {made.stderr.strip()}"
            return c
        try:
            r = env.run(env.kernel("pvh"), "test=virtio-net=quiet=tap", nets=[f"tap={name}"])
            c = Check(r)
            c.status(STATUS_OK)
            c.no_sanitizer()
            c.expect(os.path.exists(f"/sys/class/net/{name}"), "the pre-existing tap was removed")
        finally:
            subprocess.run(["ip", "tuntap", "del", "dev", name, "mode", "tap"], capture_output=True)
        return c
    return run


def case_virtio_net_hostfwd():
    """hostfwd: a host TCP connection to 127.0.0.1:PORT reaches the guest's
    tiny TCP responder on port 8080 and reads its greeting."""
    def run(env):
        import socket
        port = None
        for _ in range(20):  # a free port, found by binding it once
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", random.randrange(20000, 60000)))
                    port = s.getsockname()[1]
                    break
                except OSError:
                    continue
        got = bytearray()
        box = {}

        def vm():
            box["r"] = env.run(env.kernel("pvh"), "test=virtio-net=tcp=8080",
                               nets=[f"user,hostfwd=tcp:127.0.0.1:{port}-:8080"])

        t = threading.Thread(target=vm)
        t.start()
        err = None
        conn = None
        deadline = time.time() + env.timeout
        while time.time() < deadline and t.is_alive():
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError as e:
                err = e
                time.sleep(0.1)
        if conn:
            conn.settimeout(max(1, deadline - time.time()))
            try:
                while True:
                    b = conn.recv(4096)
                    if not b:
                        break
                    got.extend(b)
            except OSError as e:
                err = e
            conn.close()
        t.join()
        r = box["r"]
        c = Check(r)
        c.status(STATUS_OK)
        c.no_sanitizer()
        c.expect(conn is not None, f"could not connect to 127.0.0.1:{port}: {err}")
        c.expect(bytes(got) == b"hello from the vessel guest\n", f"read {bytes(got)!r} from the guest ({err})")
        c.expect(any(ln.startswith("virtio-net: tcp 8080 served from 10.0.2.2:") for ln in r.lines()),
                 "the guest did not serve the connection")
        return c
    return run


def cases():
    out = []
    for fmt in KERNELS:
        out.append((f"info {fmt} 256M with initrd", case_info(fmt)))
    out += [
        ("info pvh 3584M (RAM split around the PCI hole)", case_info("pvh", "3584M", 3584 * MiB)),
        ("info bzimage 3584M", case_info("bzimage", "3584M", 3584 * MiB)),
        ("info vmlinux without initrd, stdin at EOF", case_info("vmlinux", initrd_size=0, stdin="null")),
        ("info pvh 1-byte initrd", case_info("pvh", initrd_size=1)),
        # Hashing costs the guest a few instructions per byte, and ring-0
        # instructions can cost a microsecond each: keep this modest.
        ("info pvh 300 KB initrd", case_info("pvh", initrd_size=300007)),
        ("serial pvh (polled)", case_serial("pvh", "serial")),
        ("serial bzimage (polled)", case_serial("bzimage", "serial")),
        ("serial-irq pvh (UART IRQ 4 through the 8259)", case_serial("pvh", "serial-irq")),
        ("serial-irq vmlinux (UART IRQ 4 through the I/O APIC)", case_serial("vmlinux", "serial-irq=ioapic")),
        ("pci pvh (ports, ECAM, BARs, capabilities)", case_pci("pvh")),
        ("pci pvh with --console2 socket and --balloon", case_pci_console_balloon()),
        ("virtio-rng pvh (polled)", case_virtio_rng("pvh", False)),
        ("virtio-rng vmlinux (INTx, event index, indirect)", case_virtio_rng("vmlinux", True)),
        ("virtio-blk pvh (polled)", case_virtio_blk("pvh", False)),
        ("virtio-blk bzimage (INTx, event index, indirect)", case_virtio_blk("bzimage", True)),
        ("virtio-blk pvh read-only, two disks", case_virtio_blk_ro("pvh")),
        ("virtio-rng vmlinux (MSI-X)", case_virtio_rng("vmlinux", "msix")),
        ("virtio-blk pvh (MSI-X, event index, indirect)", case_virtio_blk("pvh", "msix")),
        ("virtio-blk pvh (packed ring, MSI-X, event index, indirect)", case_virtio_blk("pvh", "packed")),
        ("virtio-net pvh user (ARP, ICMP echo, DHCP through slirp)", case_virtio_net_user("pvh")),
        ("virtio-net vmlinux user", case_virtio_net_user("vmlinux")),
        ("virtio-net switch: two VMs exchange a marker, a third on another switch hears nothing",
         case_virtio_net_switch()),
        ("virtio-net tap: a missing interface is created and removed", case_virtio_net_tap()),
        ("virtio-net tap: an existing persistent tap is used and kept", case_virtio_net_tap_existing()),
        ("virtio-net user hostfwd: host TCP connection to a guest responder", case_virtio_net_hostfwd()),
        ("virtio-net user hostfwd=udp: a host datagram echoed by the guest", case_virtio_net_hostfwd_udp()),
    ]
    for cpus in (1, 2, 4, 8, 64):
        out.append((f"smp pvh --cpus {cpus}", case_smp("pvh", cpus)))
    out += [
        ("smp bzimage --cpus 2", case_smp("bzimage", 2)),
        ("cpuid pvh --cpus 1", case_cpuid(1)),
        ("cpuid pvh --cpus 6", case_cpuid(6)),
        ("smp vmlinux --cpus 3", case_smp("vmlinux", 3)),
        ("timer pvh (PIT through the 8259)", case_simple("pvh", "timer", STATUS_OK, r"timer: [5-9] ticks")),
        ("timer vmlinux", case_simple("vmlinux", "timer", STATUS_OK, r"timer: [5-9] ticks")),
        ("timer-apic pvh (PIT through the I/O APIC)",
         case_simple("pvh", "timer-apic", STATUS_OK, r"timer-apic: [5-9] ticks")),
        ("lapic-timer pvh", case_simple("pvh", "lapic-timer", STATUS_OK, r"lapic-timer: [5-9] ticks")),
        ("rtc pvh", case_rtc("pvh")),
        ("reboot pvh (i8042 reset)", case_simple("pvh", "reboot", 0)),
        ("reboot bzimage", case_simple("bzimage", "reboot", 0)),
        ("reboot pvh through port 0xcf9", case_simple("pvh", "reboot=cf9", 0)),
        ("reboot vmlinux through the FADT reset register", case_simple("vmlinux", "reboot=acpi", 0)),
        ("triple pvh (ud2, empty IDT)", case_triple("pvh")),
        ("triple vmlinux (#GP, empty IDT)", case_triple("vmlinux", "gp")),
        ("triple bzimage (int3, empty IDT)", case_triple("bzimage", "int3", strict_reason=False)),
        ("poweroff pvh (ACPI S5)", case_simple("pvh", "poweroff", 0)),
        ("poweroff bzimage", case_simple("bzimage", "poweroff", 0)),
        ("exit=5 pvh -> status 11", case_simple("pvh", "exit=5", 11)),
        ("exit=0x7e vmlinux -> status 253", case_simple("vmlinux", "exit=0x7e", 253)),
        ("--console file:PATH", case_console_file("pvh")),
        ("--console none", case_console_none("pvh")),
        ("demo-pvh.elf", case_demo()),
    ]
    return out


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return False, str(e)
    os.close(fd)
    return True, ""


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL")
    guests = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VESSEL_GUESTS")
    if not vessel or not guests:
        print("usage: test_guests.py VESSEL GUEST_DIR (or set VESSEL and VESSEL_GUESTS)", file=sys.stderr)
        return 2
    ok, why = kvm_usable()
    if not ok:
        return Tap().skip_all(f"/dev/kvm not available ({why})")
    vessel = os.path.abspath(vessel)
    if not os.access(vessel, os.X_OK):
        return Tap().bail_out(f"{vessel} is not an executable")
    guests = os.path.abspath(guests)
    timeout = float(os.environ.get("VESSEL_TEST_TIMEOUT", "60"))
    jobs = int(os.environ.get("VESSEL_TEST_JOBS", str(min(4, os.cpu_count() or 1))))
    extra = shlex.split(os.environ.get("VESSEL_TEST_ARGS", ""))
    tap = Tap()
    todo = [(n, f) for n, f in cases() if tap.wants(n)]
    with tempfile.TemporaryDirectory(prefix="vessel-guests-") as tmp:
        env = Env(vessel, guests, timeout, extra, tmp)
        missing = [k for k in list(KERNELS.values()) + ["demo-pvh.elf"]
                   if not os.path.exists(os.path.join(guests, k))]

        def one(fn):
            try:
                return fn(env)
            except Exception as e:  # a bug in the driver must not hide the other cases
                c = Check()
                c.problems.append(f"driver error: {type(e).__name__}: {e}")
                return c

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(one, fn) for _, fn in todo]
            # Report in order as results arrive: TAP wants ascending numbers.
            for (name, _), fut in zip(todo, futures):
                c = fut.result()
                if c.problems and missing:
                    c.problems.insert(0, "missing guest images: " + ", ".join(missing))
                if c.skip and not c.problems:
                    tap.skip(name, c.skip)
                elif c.problems:
                    tap.not_ok(name, c.problems, c.run.describe() if c.run else ())
                else:
                    tap.ok(name + (f" ({c.run.elapsed:.1f} s)" if c.run else ""))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
