#!/usr/bin/env python3
"""virtio-blk on the block layer seen by Linux: the default guest (Debian's
kernel, scripts/default-guest.sh) booted once under the emulator with four
disks. Prints TAP.

Usage: test_linux_disks.py [VESSEL]   (or $VESSEL; the guest from $VESSEL_CACHE/guest,
default /var/cache/vessel/guest; skipped when absent, or without qemu-img)

  vda  a qcow2 overlay (qemu-img create -b) over a qcow2 image qemu-img
       converted from 2 MiB of known random bytes: the guest's md5sum of
       /dev/vda is the host's md5 of those bytes (qcow2, backing chain)
  vdb  a raw disk: the guest writes a marker with `dd conv=fsync` (an
       fsync of the block device: a FLUSH to the disk)
  vdc  a raw disk with bps=1M: the guest reads 4 MiB of it, which cannot
       take less than 3 s (1 MiB of burst, then 1 MiB/s); only a lower
       bound is checked (2.5 s, for the host's polling), the host may be slow
  vdd  a qcow2 image qemu-img made empty: the guest writes a marker the
       same way (clusters allocated, metadata written at the flush)
Linux's sync(2) alone sends no FLUSH to a disk without a file system on
it, and vessel's qcow2 keeps new L2 entries until a flush (as qemu does),
so the marker is written with fsync. vessel is SIGKILLed as soon as the
guest prints that the writes returned: the
markers must be in the raw file and in the qcow2 image (read back with
qemu-img, whose `check` must find no corruption), so a guest's flush meant
the data reached the host's storage through the block layer, metadata
included.
"""
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap, describe_command  # noqa: E402

BOOT_TIMEOUT_S = 600
MiB = 1 << 20
MARK_RAW = "vessel-raw-marker-4711"
MARK_QCOW2 = "vessel-qcow2-marker-0815"
SCRIPT = ("echo md5 $(md5sum /dev/vda);"
          "echo bps-start; dd if=/dev/vdc of=/dev/null bs=64k count=64 2>/dev/null; echo bps-end;"
          f"echo {MARK_RAW} >/tmp/r; dd if=/tmp/r of=/dev/vdb bs=512 seek=8 conv=sync,notrunc,fsync 2>/dev/null;"
          f"echo {MARK_QCOW2} >/tmp/q; dd if=/tmp/q of=/dev/vdd bs=512 seek=2048 conv=sync,notrunc,fsync 2>/dev/null;"
          "sync; echo synced; sleep 600")
NAMES = [
    "linux reads a qemu-img qcow2 (over a qcow2 backing file) with the right content (md5sum)",
    "linux: 4 MiB read from a bps=1M disk takes at least 2.5 s (3 s in theory)",
    "linux: a raw disk's synced write is in the file after vessel is SIGKILLed",
    "linux: a qcow2 disk's synced write survives SIGKILL (qemu-img reads it, check finds no corruption)",
]


def qemu_img(*args):
    return subprocess.run(["qemu-img", *args], capture_output=True, text=True, timeout=60)


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL", "build/vessel")
    cache = os.environ.get("VESSEL_CACHE") or "/var/cache/vessel"
    tap = Tap()
    if not any(tap.wants(n) for n in NAMES):
        return tap.finish()
    why = None
    if not (os.path.exists(f"{cache}/guest/vmlinuz") and os.path.exists(f"{cache}/guest/initramfs.cpio.gz")):
        why = f"no default guest in {cache}/guest (scripts/default-guest.sh)"
    elif not shutil.which("qemu-img"):
        why = "no qemu-img (qemu-utils) to make and read the qcow2 images"
    if why:
        for n in NAMES:
            tap.skip(n, why)
        return tap.finish()
    tmp = tempfile.mkdtemp(prefix="vessel-linux-disks-")
    try:
        run(vessel, tmp, tap)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()


def run(vessel, tmp, tap):
    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    content = random.Random(9).randbytes(2 * MiB)
    with open(p("content.raw"), "wb") as f:
        f.write(content)
    for args in (("convert", "-f", "raw", "-O", "qcow2", p("content.raw"), p("base.qcow2")),
                 ("create", "-f", "qcow2", "-F", "qcow2", "-b", p("base.qcow2"), p("overlay.qcow2")),
                 ("create", "-f", "qcow2", p("empty.qcow2"), "4M")):
        r = qemu_img(*args)
        if r.returncode != 0:
            for n in NAMES:
                tap.not_ok(n, [f"qemu-img {' '.join(args)} failed: {r.stderr.strip()}"])
            return
    for name in ("written.raw", "slow.raw"):
        with open(p(name), "wb") as f:
            f.truncate(4 * MiB)
    argv = [vessel, "vm", "run", "--accel", "emu",
            "--disk", p("overlay.qcow2"), "--disk", p("written.raw"),
            "--disk", p("slow.raw") + ",bps=1M", "--disk", p("empty.qcow2") + ",format=qcow2",
            "--cmdline", "console=ttyS0 quiet vessel.run=" + SCRIPT.replace(" ", "+")]
    log = open(p("serial.txt"), "w+")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, text=True)
    seen = {}
    out = ""
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    killed = False
    while proc.poll() is None and time.monotonic() < deadline:
        log.seek(0)
        out = log.read()
        for mark in ("bps-start", "bps-end", "synced"):
            if mark not in seen and f"\n{mark}" in out.replace("\r", ""):
                seen[mark] = time.monotonic()
        if "synced" in seen:
            proc.send_signal(signal.SIGKILL)  # right after the guest's sync returned
            killed = True
            break
        time.sleep(0.05)
    if proc.poll() is None and not killed:
        proc.kill()
    proc.wait()
    log.seek(0)
    out = log.read()
    log.close()
    details = describe_command(argv, proc.returncode, out, "", tail=20)

    want = hashlib.md5(content).hexdigest()
    md5 = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("md5 ") and len(ln.split()) > 1), None)
    tap.result(NAMES[0], [] if md5 == want else [f"guest md5 {md5!r}, host {want}"],
               details=details if md5 != want else ())

    if "bps-start" in seen and "bps-end" in seen:
        took = seen["bps-end"] - seen["bps-start"]
        tap.result(NAMES[1], [] if took >= 2.5 else [f"took {took:.2f} s"], details=details if took < 2.5 else ())
        tap.diag(f"4 MiB at bps=1M: {took:.2f} s")
    else:
        tap.not_ok(NAMES[1], ["the guest did not get through the read"], details)

    if not killed:
        tap.not_ok(NAMES[2], ["the guest never reported that sync returned"], details)
        tap.not_ok(NAMES[3], ["the guest never reported that sync returned"], details)
        return
    with open(p("written.raw"), "rb") as f:
        f.seek(8 * 512)
        got = f.read(len(MARK_RAW))
    tap.result(NAMES[2], [] if got == MARK_RAW.encode() else [f"sector 8 holds {got!r}"],
               details=details if got != MARK_RAW.encode() else ())

    problems = []
    chk = qemu_img("check", p("empty.qcow2"))
    if chk.returncode not in (0, 3):  # 3: leaked clusters only, harmless
        problems.append(f"qemu-img check: exit {chk.returncode}: {chk.stdout.strip()} {chk.stderr.strip()}")
    conv = qemu_img("convert", "-O", "raw", p("empty.qcow2"), p("back.raw"))
    if conv.returncode != 0:
        problems.append(f"qemu-img convert failed: {conv.stderr.strip()}")
    else:
        with open(p("back.raw"), "rb") as f:
            f.seek(2048 * 512)
            got = f.read(len(MARK_QCOW2))
        if got != MARK_QCOW2.encode():
            problems.append(f"sector 2048 of the qcow2 image holds {got!r}")
    tap.result(NAMES[3], problems, details=details if problems else ())


if __name__ == "__main__":
    sys.exit(main())
