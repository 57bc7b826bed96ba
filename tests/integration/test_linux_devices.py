#!/usr/bin/env python3
"""virtio-console and virtio-balloon seen by Linux: the default guest
(Debian's kernel, scripts/default-guest.sh) booted under the emulator with
--console2 file:PATH and --balloon=stats-interval=1 (and -v, for the
balloon's statistics at exit). Prints TAP.

Usage: test_linux_devices.py [VESSEL]   (or $VESSEL; the guest from $VESSEL_CACHE/guest,
default /var/cache/vessel/guest; skipped when absent)

One boot (about a minute and a half on a busy host). Checks: the guest
binds virtio_console to device 3 and has /dev/hvc0, and what it writes
there lands in the file; the guest binds virtio_balloon to device 5 and,
after it fills 64 MiB of RAM and frees it again, free page reporting
gives at least half of that back to the host (the VMM's RssAnon drops);
the statistics the guest sent last (vessel -v prints them at exit) give
MemTotal of its /proc/meminfo as total-memory, a free-memory near its
MemFree, and more than one report (the device asked again).
The balloon cases are skipped when the guest has no virtio_balloon module
(a default guest built before it was added to the module list).
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap, describe_command  # noqa: E402

BOOT_TIMEOUT_S = 600
FILL_MIB = 64
SCRIPT = ("for d in /sys/bus/virtio/devices/*; do echo dev $(cat $d/device) $(basename $(readlink $d/driver)); done;"
          "ls /dev/hvc0 && echo to-hvc0 >/dev/hvc0;"
          f"dd if=/dev/zero of=/tmp/fill bs=1M count={FILL_MIB} 2>/dev/null; echo filled; sleep 2;"
          "rm /tmp/fill; echo freed; sleep 20;"
          "grep -E '^(MemTotal|MemFree):' /proc/meminfo; sleep 3; echo done")
STATS_RE = re.compile(r"^virtio-balloon: guest memory statistics \(report (\d+), ([\d.]+) s old\):(.*)$", re.M)


def balloon_stats_problems(out):
    """What is wrong with the last statistics against the guest's own
    /proc/meminfo (both in the output), or []."""
    meminfo = {k: int(v) * 1024 for k, v in re.findall(r"^(MemTotal|MemFree):\s+(\d+) kB", out, re.M)}
    m = STATS_RE.search(out)
    if len(meminfo) != 2:
        return ["the guest printed no MemTotal/MemFree"]
    if not m:
        return ["vessel -v printed no balloon statistics line"]
    reports, age = int(m.group(1)), float(m.group(2))
    stats = {k: int(v) for k, v in re.findall(r"([a-z-]+)=(\d+)", m.group(3))}
    problems = []
    if reports < 2:
        problems.append(f"only {reports} report: the device never got fresh statistics")
    if age > 10:
        problems.append(f"the last statistics are {age} s old with a 1 s interval")
    total, free = stats.get("total-memory"), stats.get("free-memory")
    if total is None or abs(total - meminfo["MemTotal"]) > meminfo["MemTotal"] // 100:
        problems.append(f"total-memory {total} is not the guest's MemTotal {meminfo['MemTotal']}")
    if free is None or not 0 < free <= (total or 0):
        problems.append(f"free-memory {free} is not within (0, total-memory]")
    elif abs(free - meminfo["MemFree"]) > max(16 << 20, meminfo["MemFree"] // 4):
        problems.append(f"free-memory {free} is far from the guest's MemFree {meminfo['MemFree']}")
    return problems


def rss_anon_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"^RssAnon:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL", "build/vessel")
    cache = os.environ.get("VESSEL_CACHE") or "/var/cache/vessel"
    tap = Tap()
    names = ["linux binds virtio-console: /dev/hvc0 output reaches --console2 file",
             "linux binds virtio-balloon: freed guest RAM goes back to the host",
             "linux virtio-balloon statistics: total-memory is MemTotal, free-memory near MemFree"]
    if not any(tap.wants(n) for n in names):
        return tap.finish()
    if not (os.path.exists(f"{cache}/guest/vmlinuz") and os.path.exists(f"{cache}/guest/initramfs.cpio.gz")):
        for n in names:
            tap.skip(n, f"no default guest in {cache}/guest (scripts/default-guest.sh)")
        return tap.finish()
    tmp = tempfile.mkdtemp(prefix="vessel-linux-dev-")
    hvc = os.path.join(tmp, "hvc0.txt")
    argv = [vessel, "vm", "run", "--accel", "emu", "-v", "--console2", f"file:{hvc}", "--balloon=stats-interval=1",
            "--cmdline", "console=ttyS0 quiet vessel.run=" + SCRIPT.replace(" ", "+")]
    # Output to a file the loop below rereads (no pipe to drain or block on).
    log = open(os.path.join(tmp, "serial.txt"), "w+")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, text=True)
    out, filled_rss, low_rss = "", None, None
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while p.poll() is None and time.monotonic() < deadline:
        log.seek(0)
        out = log.read()
        rss = rss_anon_kib(p.pid)
        if rss is not None:
            if "filled" in out and "freed" not in out:
                filled_rss = max(filled_rss or 0, rss)
            if "freed" in out:
                low_rss = rss if low_rss is None else min(low_rss, rss)
        time.sleep(0.2)
    if p.poll() is None:
        p.kill()
    p.wait()
    log.seek(0)
    out = log.read()
    log.close()
    details = describe_command(argv, p.returncode, out, "", tail=20)
    bound = dict(re.findall(r"^dev (0x[0-9a-f]+) (\S+)", out, re.M))

    problems = []
    if bound.get("0x0003") != "virtio_console":
        problems.append(f"device 3 is bound to {bound.get('0x0003')!r}, not virtio_console")
    if "/dev/hvc0" not in out:
        problems.append("no /dev/hvc0 in the guest")
    try:
        text = open(hvc).read()
    except OSError as e:
        text = f"({e})"
    if "to-hvc0" not in text:
        problems.append(f"--console2 file holds {text[:80]!r}, not the guest's line")
    tap.result(names[0], problems, details=details if problems else ())

    for name in names[1:]:
        if not tap.wants(name):
            continue
        if "0x0005" not in bound:
            tap.not_ok(name, ["the guest sees no balloon device"], details)
        elif bound["0x0005"] != "virtio_balloon":
            tap.skip(name, "the guest has no virtio_balloon module (rebuild the default guest)")
        elif name == names[2]:
            problems = balloon_stats_problems(out)
            tap.result(name, problems, details=details if problems else ())
            m = STATS_RE.search(out)
            if m and not problems:
                tap.diag(m.group(0))
        else:
            problems = []
            if filled_rss is None or low_rss is None or "done" not in out:
                problems.append("the guest did not get through fill, free and wait")
            elif filled_rss - low_rss < FILL_MIB * 1024 // 2:
                problems.append(f"RssAnon went from {filled_rss} KiB (filled) only down to {low_rss} KiB")
            tap.result(name, problems, details=details if problems else ())
            if not problems:
                tap.diag(f"VMM RssAnon: {filled_rss} KiB with {FILL_MIB} MiB filled, {low_rss} KiB after freeing")
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
