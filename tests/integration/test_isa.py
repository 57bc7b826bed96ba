#!/usr/bin/env python3
"""The architectural conformance guest (test=isa, tests/guests/tests/isa*.c)
under vessel's emulator, checked three ways. Prints TAP.

Usage: test_isa.py VESSEL GUEST_DIR EXPECTED

- emu vs the SDM: every line that is not a hash (faults with vector, error
  code, faulting RIP and CR2; accessed/dirty bits; INVLPG; segment loads;
  LAR/LSL/VERR/VERW) equals tests/guests/isa-expected.txt.
- emu with every block JIT-compiled, and with the JIT off: the same output.
- emu vs QEMU TCG: the whole output of test=isa=tcg (which skips the few
  cases where TCG departs from the SDM, listed in isa.c) equals QEMU's,
  hashes of every integer/string group included: two independent
  implementations agreeing on ~40,000 results.
- emu vs KVM, and KVM vs the SDM, where KVM runs the guest on the real CPU
  (not under the PVM flavour, whose ring-0 emulation cannot run it).

Known departures of the emulator from the SDM are reported as TODO.
"""
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap, describe_command  # noqa: E402

TIMEOUT = 120
# Where vessel's emulator knowingly departs from the SDM, and why.
EMU_DEPARTURES = {
    "ss-noncanonical-rbp": "a non-canonical stack reference raises #GP, not #SS: "
                           "the software TLB does not know the segment (as QEMU TCG)",
}


def isa_lines(text):
    return [line[len("isa: "):] for line in text.replace("\r", "").splitlines() if line.startswith("isa: ")]


def semantic(lines):
    """The lines that are not group hashes."""
    return [line for line in lines if not line.endswith(" values)")]


def case_name(line):
    return line.split(" ", 1)[0]


def run(argv, env=None):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT, env=dict(os.environ, **env) if env else None)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(errors="replace"), "timed out"


def run_vessel(vessel, kernel, accel, arg, env=None):
    argv = [vessel, "vm", "run", "--accel", accel, "--kernel", kernel, "--mem", "256M", "--cmdline",
            "test=isa" + ("=" + arg if arg else "")]
    status, out, err = run(argv, env)
    return argv, status, out, err


def run_qemu(kernel):
    qemu = shutil.which("qemu-system-x86_64")
    argv = [qemu, "-accel", "tcg", "-M", "pc", "-m", "256", "-kernel", kernel, "-append", "test=isa=tcg",
            "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0x501,iosize=1"]
    status, out, err = run(argv)
    return argv, status, out, err


def compare(got, want, known=None):
    """Problems (unexpected differences) and todos (known ones, by case)."""
    problems, todos = [], {}
    want_by = {case_name(w): w for w in want}
    got_by = {case_name(g): g for g in got}
    for name, w in want_by.items():
        g = got_by.get(name)
        if g == w:
            continue
        msg = f"{name}: got {g!r}, want {w!r}"
        if known and name in known:
            todos[name] = msg
        else:
            problems.append(msg)
    for name in got_by:
        if name not in want_by:
            problems.append(f"unexpected line: {got_by[name]!r}")
    return problems, todos


def kvm_runs_guests(vessel):
    """(True, "") when KVM runs the guest on the CPU itself, else (False, why)."""
    if not os.path.exists("/dev/kvm"):
        return False, "no /dev/kvm"
    try:
        doc = json.loads(subprocess.run([vessel, "doctor", "--json"], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, timeout=30).stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        return False, f"vessel doctor --json failed: {e}"
    for acc in doc.get("accelerators", []):
        if acc.get("name") == "kvm":
            if not acc.get("available"):
                return False, "KVM is not usable here"
            if "PVM" in acc.get("flavour", ""):
                return False, "KVM is the PVM flavour here (it emulates guest ring 0 and cannot run int3 et al.)"
            return True, ""
    return False, "vessel doctor lists no kvm"


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    vessel, guests, expected_path = sys.argv[1:]
    kernel = os.path.join(guests, "test-pvh.elf")
    with open(expected_path) as f:
        expected = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    tap = Tap()

    argv, status, out, err = run_vessel(vessel, kernel, "emu", "")
    emu = isa_lines(out)
    details = describe_command(argv, status, out, err)
    if status != 1 or not emu or emu[-1] != "done":
        tap.not_ok("emu: test=isa runs to the end", [f"exit status {status}, last line {emu[-1:]}"], details)
        return tap.finish()
    tap.ok("emu: test=isa runs to the end")
    problems, todos = compare(semantic(emu), expected, EMU_DEPARTURES)
    tap.result("emu: faults, paging and segment results follow the SDM", problems, details)
    for name, msg in todos.items():
        tap.not_ok(f"emu: {name}", [msg], todo=EMU_DEPARTURES[name])

    # The JIT compiles a block on its 8th run, so most of the test runs
    # through the decoded records: run it again with every block compiled
    # at once, and with the JIT off.
    for label, env in (("every block JIT-compiled", {"VESSEL_EMU_JIT_HOT": "1"}),
                       ("the JIT off", {"VESSEL_EMU_JIT": "0"})):
        jargv, jstatus, jout, jerr = run_vessel(vessel, kernel, "emu", "", env)
        diff = [f"{a!r} vs {b!r}" for a, b in zip(emu, isa_lines(jout)) if a != b]
        if len(emu) != len(isa_lines(jout)):
            diff.insert(0, f"{len(emu)} vs {len(isa_lines(jout))} lines")
        tap.result(f"emu with {label} prints the same results", diff[:20],
                   describe_command(jargv, jstatus, jout, jerr))

    if tap.wants("qemu"):
        if not shutil.which("qemu-system-x86_64"):
            tap.skip("emu and QEMU TCG print the same results", "qemu-system-x86_64 is not installed")
        else:
            argv_t, status_t, out_t, err_t = run_vessel(vessel, kernel, "emu", "tcg")
            qargv, qstatus, qout, qerr = run_qemu(kernel)
            mine, theirs = isa_lines(out_t), isa_lines(qout)
            problems = []
            if not theirs or theirs[-1] != "done":
                problems.append(f"QEMU did not finish the test (status {qstatus})")
            elif mine != theirs:
                diff = [f"{a!r} vs QEMU {b!r}" for a, b in zip(mine, theirs) if a != b]
                problems.append(f"{len(diff)} lines differ" + ("" if len(mine) == len(theirs) else
                                                               f", {len(mine)} vs {len(theirs)} lines"))
                problems += diff[:20]
            tap.result(f"emu and QEMU TCG print the same results ({len(theirs)} lines)", problems,
                       describe_command(argv_t, status_t, out_t, err_t) + describe_command(qargv, qstatus, qout, qerr))

    usable, why = kvm_runs_guests(vessel)
    if not usable:
        tap.skip("KVM (the CPU) follows the SDM file", why)
        tap.skip("emu and KVM print the same results", why)
    else:
        kargv, kstatus, kout, kerr = run_vessel(vessel, kernel, "kvm", "")
        kvm = isa_lines(kout)
        kdetails = describe_command(kargv, kstatus, kout, kerr)
        problems, _ = compare(semantic(kvm), expected)
        tap.result("KVM (the CPU) follows the SDM file", problems, kdetails)
        diff = [f"{a!r} vs KVM {b!r}" for a, b in zip(emu, kvm)
                if a != b and case_name(a) not in EMU_DEPARTURES]
        if len(emu) != len(kvm):
            diff.insert(0, f"{len(emu)} vs {len(kvm)} lines")
        tap.result("emu and KVM print the same results", diff[:20], kdetails)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
