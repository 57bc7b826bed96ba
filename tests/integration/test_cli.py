#!/usr/bin/env python3
"""Bad input to `vessel vm run` (and the help and doctor commands). Prints
TAP.

Usage: test_cli.py [VESSEL [GUEST_DIR]]   (or $VESSEL and $VESSEL_GUESTS)
$VESSEL_TEST_FILTER picks cases by name (vessel_test/tap.py).

Every bad invocation must exit with status 2 without starting a guest,
within a few seconds, with at least one line on stderr naming the problem
(one of a few keywords, matched case-insensitively) and no sanitizer
report. These never need /dev/kvm: the input is rejected before a VM is
created (a vessel that opens /dev/kvm first still has to report the input
error, not the missing device, for the keyword checks to pass).
"""
import fcntl
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap, describe_command  # noqa: E402


SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")
QUICK_S = 10
TIMEOUT_S = 30


class Ctx:
    def __init__(self, vessel, guests, tmp):
        self.vessel = vessel
        self.guests = guests
        self.tmp = tmp
        self.pvh = os.path.join(guests, "test-pvh.elf") if guests else None
        self.bz = os.path.join(guests, "test-bzimage.bin") if guests else None

    @property
    def busy_port(self):
        """A loopback TCP port something listens on (for hostfwd errors)."""
        if not hasattr(self, "_busy"):
            self._busy = socket.socket()
            self._busy.bind(("127.0.0.1", 0))
            self._busy.listen(1)
        return self._busy.getsockname()[1]

    def file(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def cut(self, src, name, length):
        with open(src, "rb") as f:
            data = f.read()
        if callable(length):
            length = length(len(data))
        return self.file(name, data[:length])


def run(ctx, args, stdin=subprocess.DEVNULL):
    argv = [ctx.vessel] + args
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT_S)
        status, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        status, out, err = None, e.stdout or b"", e.stderr or b""
    return argv, status, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - t0


def check_common(problems, status, err, elapsed):
    if status is None:
        problems.append(f"did not finish within {TIMEOUT_S} s")
    elif status < 0:
        problems.append(f"killed by signal {-status}")
    if elapsed > QUICK_S:
        problems.append(f"took {elapsed:.1f} s")
    for m in SANITIZER_MARKERS:
        if m in err:
            problems.append(f"stderr mentions {m}")


def bad(args_fn, keywords, needs_guests=False, skip_if=None):
    """A case expecting status 2 and one of `keywords` on stderr. args_fn
    builds the argument list (after `vessel`) and may return a keyword
    list too, for keywords that depend on generated paths."""
    def case(ctx):
        if needs_guests and not (ctx.pvh and os.path.exists(ctx.pvh)):
            return "skip", ["guest images not built"], None
        if skip_if:
            why = skip_if()
            if why:
                return "skip", [why], None
        args = args_fn(ctx)
        kws = list(keywords)
        if isinstance(args, tuple):
            args, extra = args
            kws += extra
        argv, status, out, err, elapsed = run(ctx, args)
        problems = []
        if status != 2:
            problems.append(f"exit status {status}, want 2")
        check_common(problems, status, err, elapsed)
        if not err.strip():
            problems.append("nothing on stderr")
        elif not any(k.lower() in err.lower() for k in kws):
            problems.append("stderr names none of: " + ", ".join(repr(k) for k in kws))
        return ("fail" if problems else "ok"), problems, (argv, status, out, err)
    return case


def good(args, want_in_output, status_want=0):
    def case(ctx):
        argv, status, out, err, elapsed = run(ctx, args)
        problems = []
        if status != status_want:
            problems.append(f"exit status {status}, want {status_want}")
        check_common(problems, status, err, elapsed)
        text = (out + err).lower()
        for w in want_in_output:
            if w.lower() not in text:
                problems.append(f"output does not mention {w!r}")
        return ("fail" if problems else "ok"), problems, (argv, status, out, err)
    return case


def vm_run(ctx, *extra, kernel=None):
    return ["vm", "run", "--kernel", kernel or ctx.pvh, "--console", "none"] + list(extra)


def with_kernel(name, data_fn):
    """Boot a generated kernel file; the error must name it (or say
    "kernel")."""
    def args(ctx):
        path = data_fn(ctx, name)
        return vm_run(ctx, kernel=path), [os.path.basename(path)]
    return args


def linux_lookalike(ctx, name):
    """The test bzImage with a kernel_version string, which is how vessel
    tells a Linux kernel: the setup header's kernel_version (0x20e) is an
    offset from 0x200 to a NUL-terminated string inside the setup area."""
    with open(ctx.bz, "rb") as f:
        data = bytearray(f.read())
    text = b"6.1.0-vessel-test (lookalike) #1 SMP\0"
    data[0x300:0x300 + len(text)] = text
    data[0x20e:0x210] = (0x300 - 0x200).to_bytes(2, "little")
    return ctx.file(name, bytes(data))


def kvm_usable():
    """Whether /dev/kvm opens and speaks the stable API (KVM_GET_API_VERSION == 12)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, 0xAE00) == 12
    except OSError:
        return False
    finally:
        os.close(fd)


def pvm_skip():
    if not os.path.exists("/sys/module/kvm_pvm"):
        return "host KVM is not the PVM flavour"
    return None if kvm_usable() else "/dev/kvm is not usable here"


def pvm_linux_with_accel_kvm(ctx):
    """--accel kvm on PVM runs the (lookalike) Linux kernel anyway, with
    the note about what PVM cannot do."""
    why = pvm_skip() or (None if ctx.bz and os.path.exists(ctx.bz) else "guest images not built")
    if why:
        return "skip", [why], None
    path = linux_lookalike(ctx, "linux-lookalike-kvm.bin")
    argv, status, out, err, elapsed = run(ctx, vm_run(ctx, "--accel", "kvm", "--cmdline", "test=exit=0",
                                                      kernel=path))
    problems = []
    if status != 1:
        problems.append(f"exit status {status}, want 1 (the guest's debug-exit)")
    check_common(problems, status, err, elapsed)
    if "pvm" not in err.lower():
        problems.append("no note about the PVM flavour on stderr")
    return ("fail" if problems else "ok"), problems, (argv, status, out, err)


def pvm_linux_auto_picks_emu(ctx):
    """--accel auto on PVM runs a Linux kernel under the emulator, and -v
    says so and why (KVM's PVM flavour cannot run Linux)."""
    why = pvm_skip() or (None if ctx.bz and os.path.exists(ctx.bz) else "guest images not built")
    if why:
        return "skip", [why], None
    path = linux_lookalike(ctx, "linux-lookalike-auto.bin")
    argv, status, out, err, elapsed = run(ctx, vm_run(ctx, "-v", "--cmdline", "test=exit=0", kernel=path))
    problems = []
    if status != 1:
        problems.append(f"exit status {status}, want 1 (the guest's debug-exit)")
    low = err.lower()
    if "accelerator: emu" not in low:
        problems.append("-v does not say the emulator was chosen")
    if "pvm" not in low:
        problems.append("-v does not say why KVM was passed over (PVM)")
    return ("fail" if problems else "ok"), problems, (argv, status, out, err)


def doctor_json(ctx):
    """--json is one JSON object listing every backend, each available or
    with a reason (and a remedy when it is KVM that is missing)."""
    argv, status, out, err, elapsed = run(ctx, ["doctor", "--json"])
    problems = []
    if status != 0:
        problems.append(f"exit status {status}, want 0")
    try:
        doc = json.loads(out)
    except ValueError as e:
        return "fail", [f"not JSON: {e}"], (argv, status, out, err)
    names = [a.get("name") for a in doc.get("accelerators", [])]
    if names[:2] != ["kvm", "emu"]:
        problems.append(f"accelerators {names}, want kvm then emu")
    for a in doc.get("accelerators", []):
        if not a.get("available") and not a.get("reason"):
            problems.append(f"{a.get('name')} unavailable without a reason")
        if a.get("name") == "kvm" and not a.get("available") and not a.get("remedy"):
            problems.append("KVM unavailable without a remedy")
    if doc.get("cgroups") not in ("v1", "v2", "hybrid", "none"):
        problems.append(f"cgroups {doc.get('cgroups')!r}")
    if set(doc.get("namespaces", {})) != {"mnt", "pid", "uts", "ipc", "net", "user", "cgroup", "time"}:
        problems.append("namespaces incomplete")
    return ("fail" if problems else "ok"), problems, (argv, status, out, err)


def root_skip():
    return "running as root: permissions do not stop reads" if os.geteuid() == 0 else None


SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MAN_PAGES = ("docs/man/vessel.1", "docs/man/vessel-oci.8")
COMPLETIONS = ("scripts/completion/vessel.bash", "scripts/completion/vessel-oci.bash")


def roff_problems(text):
    """Without groff: the structure a man page needs, and no line a roff
    parser would choke on (a request must be a known macro)."""
    known = {"TH", "SH", "SS", "TP", "PP", "LP", "P", "IP", "B", "I", "BI", "BR", "IB", "IR", "RB", "RI",
             "nf", "fi", "br", "sp", "RS", "RE", "\\\""}
    problems = []
    if not text.startswith(".TH "):
        problems.append("does not start with .TH")
    for want in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "EXAMPLES"):
        if f".SH {want}" not in text:
            problems.append(f"no .SH {want} section")
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(".") and line[1:].split(" ")[0] not in known:
            problems.append(f"line {n}: unknown request {line.split(' ')[0]!r}")
    return problems


def man_page(rel, words):
    """The man page renders without a warning (groff -wall), and says
    what it must."""
    def case(ctx):
        path = os.path.join(SRC, rel)
        problems = []
        with open(path) as f:
            text = f.read()
        problems += roff_problems(text)
        argv, status, out, err = ["groff"], None, "", ""
        if shutil.which("groff"):
            argv = ["groff", "-man", "-Tutf8", "-wall", path]
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
            status, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
            if status != 0 or err.strip():
                problems.append(f"groff: exit status {status}, warnings {err.strip()[:300]!r}")
            rendered = out.replace("\u2010", "-").replace("\u2212", "-")
            rendered = "".join(c for i, c in enumerate(rendered) if c != "\b" and
                               (i + 1 >= len(rendered) or rendered[i + 1] != "\b"))
            for w in words:
                if w not in rendered:
                    problems.append(f"the rendered page does not mention {w!r}")
        return ("fail" if problems else "ok"), problems, (argv, status, out[-2000:], err)
    return case


def completion(rel, func, words, want):
    """The script parses (bash -n), and completing `words` offers `want`."""
    def case(ctx):
        path = os.path.join(SRC, rel)
        problems = []
        if not shutil.which("bash"):
            return "skip", ["no bash"], None
        argv = ["bash", "-n", path]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
        if p.returncode != 0:
            problems.append(f"bash -n: {p.stderr.decode(errors='replace').strip()}")
        script = (f"source {shlex.quote(path)}; COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); "
                  f"COMP_CWORD={len(words) - 1}; {func}; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        argv = ["bash", "--norc", "--noprofile", "-c", script]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
        got = p.stdout.decode(errors="replace").split()
        if want not in got:
            problems.append(f"completing {words} offers {got}, not {want!r}")
        return ("fail" if problems else "ok"), problems, (argv, p.returncode, p.stdout.decode(), p.stderr.decode())
    return case


def cases():
    kernel_kw = ["kernel"]
    return [
        ("missing kernel file",
         bad(lambda c: (vm_run(c, kernel=os.path.join(c.tmp, "no-such-kernel.elf")), ["no-such-kernel"]),
             kernel_kw)),
        ("kernel is a directory",
         bad(lambda c: (vm_run(c, kernel=c.tmp), [os.path.basename(c.tmp)]), kernel_kw + ["director"])),
        ("unreadable kernel (mode 000)",
         bad(lambda c: (vm_run(c, kernel=unreadable(c)), ["unreadable.elf"]), kernel_kw, skip_if=root_skip)),
        ("kernel of random bytes",
         bad(with_kernel("random.bin", lambda c, n: c.file(n, os.urandom(8192))), kernel_kw)),
        ("empty kernel file", bad(with_kernel("empty.bin", lambda c, n: c.file(n, b"")), kernel_kw)),
        ("kernel is a text file",
         bad(with_kernel("notes.txt", lambda c, n: c.file(n, b"This is not a kernel.\n" * 100)), kernel_kw)),
        ("ELF header only (40 bytes)",
         bad(with_kernel("cut40.elf", lambda c, n: c.cut(c.pvh, n, 40)), kernel_kw + ["elf", "truncated"],
             needs_guests=True)),
        ("ELF cut after the header (no program headers)",
         bad(with_kernel("cut64.elf", lambda c, n: c.cut(c.pvh, n, 64)), kernel_kw + ["elf", "truncated"],
             needs_guests=True)),
        ("ELF cut in the middle of its segment",
         bad(with_kernel("cuthalf.elf", lambda c, n: c.cut(c.pvh, n, lambda size: size // 2)),
             kernel_kw + ["elf", "truncated", "segment"], needs_guests=True)),
        ("bzImage cut inside the setup header",
         bad(with_kernel("cut-setup.bin", lambda c, n: c.cut(c.bz, n, 0x300)), kernel_kw + ["bzimage", "setup"],
             needs_guests=True)),
        ("bzImage with setup but no payload",
         bad(with_kernel("no-payload.bin", lambda c, n: c.cut(c.bz, n, 0x400)),
             kernel_kw + ["bzimage", "payload", "setup"], needs_guests=True)),
        ("missing initrd file",
         bad(lambda c: vm_run(c, "--initrd", os.path.join(c.tmp, "no-such-initrd.img")),
             ["no-such-initrd", "initrd"], needs_guests=True)),
        ("initrd larger than guest RAM",
         bad(lambda c: vm_run(c, "--mem", "32M", "--initrd", sparse(c, "huge-initrd.img", 64 << 20)),
             ["initrd", "huge-initrd"], needs_guests=True)),
        ("--mem 1K", bad(lambda c: vm_run(c, "--mem", "1K"), ["mem"], needs_guests=True)),
        ("--mem abc", bad(lambda c: vm_run(c, "--mem", "abc"), ["mem", "abc"], needs_guests=True)),
        ("--mem 0", bad(lambda c: vm_run(c, "--mem", "0"), ["mem"], needs_guests=True)),
        ("--mem 12Q", bad(lambda c: vm_run(c, "--mem", "12Q"), ["mem", "12Q"], needs_guests=True)),
        ("--mem -1G", bad(lambda c: vm_run(c, "--mem", "-1G"), ["mem"], needs_guests=True)),
        ("--mem 99999999999999999999G (overflow)",
         bad(lambda c: vm_run(c, "--mem", "99999999999999999999G"), ["mem"], needs_guests=True)),
        ("--cpus 0", bad(lambda c: vm_run(c, "--cpus", "0"), ["cpus"], needs_guests=True)),
        ("--cpus 1000", bad(lambda c: vm_run(c, "--cpus", "1000"), ["cpus"], needs_guests=True)),
        ("--cpus -1", bad(lambda c: vm_run(c, "--cpus", "-1"), ["cpus"], needs_guests=True)),
        ("--cpus two", bad(lambda c: vm_run(c, "--cpus", "two"), ["cpus", "two"], needs_guests=True)),
        ("--cpu-weight 0", bad(lambda c: vm_run(c, "--cpu-weight", "0"), ["cpu-weight"], needs_guests=True)),
        ("--cpu-weight 10001", bad(lambda c: vm_run(c, "--cpu-weight", "10001"), ["cpu-weight"], needs_guests=True)),
        ("--cpu-weight lots", bad(lambda c: vm_run(c, "--cpu-weight", "lots"), ["cpu-weight"], needs_guests=True)),
        ("--cpu-max 0", bad(lambda c: vm_run(c, "--cpu-max", "0"), ["cpu-max"], needs_guests=True)),
        ("--cpu-max -0.5", bad(lambda c: vm_run(c, "--cpu-max", "-0.5"), ["cpu-max"], needs_guests=True)),
        ("--cpu-max 0.001", bad(lambda c: vm_run(c, "--cpu-max", "0.001"), ["cpu-max", "0.01"], needs_guests=True)),
        ("--cpu-max half", bad(lambda c: vm_run(c, "--cpu-max", "half"), ["cpu-max"], needs_guests=True)),
        ("--cpu-max 50000/", bad(lambda c: vm_run(c, "--cpu-max", "50000/"), ["period"], needs_guests=True)),
        ("--cpu-max /100000", bad(lambda c: vm_run(c, "--cpu-max", "/100000"), ["quota"], needs_guests=True)),
        ("--cpu-max 500/100000", bad(lambda c: vm_run(c, "--cpu-max", "500/100000"), ["range"], needs_guests=True)),
        ("--cpu-max 50000/2000000", bad(lambda c: vm_run(c, "--cpu-max", "50000/2000000"), ["range"], needs_guests=True)),
        ("--console2 tty", bad(lambda c: vm_run(c, "--console2", "tty"), ["console2", "socket:"], needs_guests=True)),
        ("--console2 file:", bad(lambda c: vm_run(c, "--console2", "file:"), ["console2"], needs_guests=True)),
        ("--console2 socket: too long", bad(lambda c: vm_run(c, "--console2", "socket:/tmp/" + "s" * 200),
                                            ["too long"], needs_guests=True)),
        ("--console2 socket: on a regular file", bad(lambda c: vm_run(c, "--console2", "socket:" + c.file("plain", b"x")),
                                                     ["not a socket"], needs_guests=True)),
        ("--balloon=foo", bad(lambda c: vm_run(c, "--balloon=foo"), ["balloon", "stats-interval"],
                              needs_guests=True)),
        ("--balloon=stats-interval=x", bad(lambda c: vm_run(c, "--balloon=stats-interval=x"),
                                           ["stats-interval", "not a number"], needs_guests=True)),
        ("--balloon=stats-interval=-1", bad(lambda c: vm_run(c, "--balloon=stats-interval=-1"),
                                            ["stats-interval", "0 to 86400"], needs_guests=True)),
        ("--cpu-max 1x/100000", bad(lambda c: vm_run(c, "--cpu-max", "1x/100000"), ["quota"], needs_guests=True)),
        ("unknown option", bad(lambda c: vm_run(c, "--frobnicate"), ["frobnicate"], needs_guests=True)),
        ("missing argument to --kernel", bad(lambda c: ["vm", "run", "--kernel"], ["kernel"])),
        ("missing argument to --mem", bad(lambda c: vm_run(c, "--mem"), ["mem"], needs_guests=True)),
        ("no --kernel at all and no default guest", bad(lambda c: ["vm", "run", "--mem", "64M"], ["kernel"])),
        ("--accel bogus", bad(lambda c: vm_run(c, "--accel", "bogus"), ["accel", "bogus"], needs_guests=True)),
        ("--console bogus",
         bad(lambda c: vm_run(c, "--console", "bogus"), ["console", "bogus"], needs_guests=True)),
        ("--console file: with no path",
         bad(lambda c: vm_run(c, "--console", "file:"), ["console", "file"], needs_guests=True)),
        ("--console file: in a missing directory",
         bad(lambda c: vm_run(c, "--console", "file:" + os.path.join(c.tmp, "no-dir", "out.txt")),
             ["console", "no-dir", "out.txt"], needs_guests=True)),
        ("command line longer than 64 KiB",
         bad(lambda c: vm_run(c, "--cmdline", "x" * 70000), ["cmdline", "command line"], needs_guests=True)),
        ("--disk missing file",
         bad(lambda c: vm_run(c, "--disk", os.path.join(c.tmp, "no-such-disk.img")), ["no-such-disk.img"],
             needs_guests=True)),
        ("--disk with an unknown option",
         bad(lambda c: vm_run(c, "--disk", os.path.join(c.tmp, "d.img") + ",cache=bogus"), ["cache=bogus"],
             needs_guests=True)),
        ("--disk queues=9", bad(lambda c: vm_run(c, "--disk", "x.img,queues=9"), ["queues"], needs_guests=True)),
        ("--disk is a directory", bad(lambda c: vm_run(c, "--disk", c.tmp), ["disk"], needs_guests=True)),
        ("--net with an unknown backend", bad(lambda c: vm_run(c, "--net", "bridge=br0"), ["net", "bridge"],
                                               needs_guests=True)),
        ("--net with a malformed hostfwd",
         bad(lambda c: vm_run(c, "--net", "user,hostfwd=tcp:1.2.3.4:80"), ["hostfwd"], needs_guests=True)),
        ("--net with a multicast mac",
         bad(lambda c: vm_run(c, "--net", "user,mac=01:00:5e:00:00:01"), ["mac"], needs_guests=True)),
        ("--net with a zero rate", bad(lambda c: vm_run(c, "--net", "user,tx-bps=0"), ["tx-bps"], needs_guests=True)),
        ("--net switch with a path as name",
         bad(lambda c: vm_run(c, "--net", "switch=../etc"), ["switch", "../etc"], needs_guests=True)),
        ("--net tap with a name too long",
         bad(lambda c: vm_run(c, "--net", "tap=" + "x" * 20), ["tap"], needs_guests=True)),
        ("--net hostfwd on a port already taken",
         bad(lambda c: vm_run(c, "--net", f"user,hostfwd=tcp:127.0.0.1:{c.busy_port}-:80"), ["hostfwd"],
             needs_guests=True)),
        ("unknown subcommand", bad(lambda c: ["vm", "frobnicate"], ["frobnicate"])),
        ("unknown command", bad(lambda c: ["frobnicate"], ["frobnicate"])),
        ("Linux kernel with --accel auto on a PVM host runs under the emulator", pvm_linux_auto_picks_emu),
        ("Linux kernel with --accel kvm on a PVM host runs with a note", pvm_linux_with_accel_kvm),
        ("vessel --help", good(["--help"], ["vm run", "ct run", "doctor"])),
        ("vessel -V", good(["-V"], ["vessel", "0."])),
        ("vessel vm --help", good(["vm", "--help"], ["vm run"])),
        ("vessel vm run --help", good(["vm", "run", "--help"], ["--kernel", "--mem", "--cpus"])),
        ("vessel doctor", good(["doctor"], ["kvm", "emu:", "cgroups", "namespaces"])),
        ("vessel doctor --json", doctor_json),
        ("vessel doctor --bogus", bad(lambda c: ["doctor", "--bogus"], ["--bogus"])),
        ("vessel ct run --help lists -t, -e, -v, -w, -u",
         good(["ct", "run", "--help"], ["-t, --tty", "-e, --env", "-v, --volume", "-w, --workdir", "-u, --user"])),
        ("man page vessel.1 renders",
         man_page(MAN_PAGES[0], ["vm run", "ct run", "--volume", "--tty", "125", "doctor"])),
        ("man page vessel-oci.8 renders",
         man_page(MAN_PAGES[1], ["create", "exec", "update", "--root", "--log-format", "help"])),
        ("bash completion vessel.bash: parses, completes ct run options",
         completion(COMPLETIONS[0], "_vessel", ["vessel", "ct", "run", "--vol"], "--volume")),
        ("bash completion vessel-oci.bash: parses, completes commands",
         completion(COMPLETIONS[1], "_vessel_oci", ["vessel-oci", "--root", "/x", "upd"], "update")),
    ]


def unreadable(ctx):
    path = ctx.file("unreadable.elf", open(ctx.pvh, "rb").read() if ctx.pvh and os.path.exists(ctx.pvh)
                    else b"\x7fELF")
    os.chmod(path, 0)
    return path


def sparse(ctx, name, size):
    path = os.path.join(ctx.tmp, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL")
    guests = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VESSEL_GUESTS")
    if not vessel:
        print("usage: test_cli.py VESSEL [GUEST_DIR] (or set VESSEL)", file=sys.stderr)
        return 2
    vessel = os.path.abspath(vessel)
    if not os.access(vessel, os.X_OK):
        return Tap().bail_out(f"{vessel} is not an executable")
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix="vessel-cli-") as tmp:
        ctx = Ctx(vessel, os.path.abspath(guests) if guests else None, tmp)
        # No case here wants the default guest a `make run` may have
        # prepared: "no --kernel" must stay an error.
        os.environ["VESSEL_CACHE"] = os.path.join(tmp, "no-cache")
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
            if result == "ok":
                tap.ok(name)
            else:
                tap.not_ok(name, problems, describe_command(*detail, tail=10) if detail else ())
    return tap.finish()

if __name__ == "__main__":
    sys.exit(main())
