#!/usr/bin/env python3
"""--disk on the block layer with the test guest (tests/guests,
`test=virtio-blk`: hashes sectors 0-7, writes and flushes sector 8, reads
past the end). Prints TAP.

Usage: test_disks.py [VESSEL [GUEST_DIR]]   (or $VESSEL and $VESSEL_GUESTS)

Every disk case runs under the emulator, and again under KVM where
/dev/kvm opens (skipped with the reason otherwise):
  raw           the format probed; the guest's hash matches, sector 8 is in the file
  qcow2         made by qemu-img (else `vessel img convert`) from the same bytes;
                sector 8 reads back through `vessel img convert`, check is clean
  qcow2 chain   an overlay over a raw backing file: the base is untouched
  raw cache=none,iops=,bps=,queues=2   the same through O_DIRECT and the throttle
  qcow2 cache=none   a qcow2 image through O_DIRECT (skipped where the
                file system of the temporary directory refuses it)
Then the CLI's refusals, each exiting 2 with a message naming the --disk
option and what to do, and leaving no file behind: an unknown format, a
missing image, a qcow2 with the corrupt bit opened writable, a bad iops
value.
"""
import fcntl
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.host import direct_refused  # noqa: E402
from vessel_test.tap import Tap, describe_command  # noqa: E402

TIMEOUT_S = 120
GUEST_OK = 1  # the guest's debug-exit 0
WROTE = b"vessel guest wrote this sector"
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


def fnv1a(data):
    h = 0x811c9dc5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h


def kvm_usable():
    """None when /dev/kvm is a KVM device that answers, else why not."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    try:
        fcntl.ioctl(fd, 0xAE00)  # KVM_GET_API_VERSION
        return None
    except OSError as e:
        return f"/dev/kvm is not a KVM device ({e.strerror})"
    finally:
        os.close(fd)


class Case:
    def __init__(self, vessel, guests, tmp):
        self.vessel, self.guests, self.tmp = vessel, guests, tmp

    def path(self, name):
        return os.path.join(self.tmp, name)

    def vm(self, accel, disks, test="virtio-blk"):
        argv = [self.vessel, "vm", "run", "--accel", accel, "--kernel", os.path.join(self.guests, "test-pvh.elf"),
                "--console", "stdio", "--cmdline", f"test={test}"]
        for d in disks:
            argv += ["--disk", d]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S)
            return argv, r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired as e:
            return argv, None, e.stdout or "", e.stderr or ""

    def img(self, *args):
        return subprocess.run([self.vessel, "img", *args], capture_output=True, text=True, timeout=60)


def guest_problems(status, out, data):
    problems = []
    if status != GUEST_OK:
        problems.append(f"exit status {status}, not {GUEST_OK}")
    want = f"virtio-blk: sectors 0-7 fnv1a 0x{fnv1a(data[:4096]):08x}"
    if want not in out.splitlines():
        problems.append(f"no '{want}'")
    if "virtio-blk: capacity 2048 sectors" not in out.splitlines():
        problems.append("capacity is not 2048 sectors")
    return problems


def make_qcow2(c, raw, out):
    if shutil.which("qemu-img"):
        r = subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, out], capture_output=True,
                           text=True, timeout=60)
    else:
        r = c.img("convert", "-f", "raw", "-O", "qcow2", raw, out)
    return None if r.returncode == 0 else f"making {out}: {r.stderr.strip()}"


def read_back(c, image, at, n, key=None):
    """Bytes of `image` at `at` through `vessel img convert` (any format)."""
    out = image + ".back"
    r = c.img("convert", *(["--key-file", key] if key else []), "-O", "raw", image, out)
    if r.returncode != 0:
        return None
    with open(out, "rb") as f:
        f.seek(at)
        data = f.read(n)
    os.unlink(out)
    return data


def disk_case(c, accel, kind, data):
    tag = f"{kind.split()[0]}-{accel}"
    raw = c.path(f"{tag}.raw")
    with open(raw, "wb") as f:
        f.write(data)
    problems = []
    key = None
    if kind == "raw":
        image, spec = raw, raw
    elif kind == "qcow2":
        image = c.path(f"{tag}.qcow2")
        why = make_qcow2(c, raw, image)
        if why:
            return [why], ()
        spec = image
    elif kind == "qcow2 chain":
        image = c.path(f"{tag}.qcow2")
        r = c.img("create", "-f", "qcow2", "-b", raw, "-F", "raw", image)
        if r.returncode != 0:
            return [f"img create -b: {r.stderr.strip()}"], ()
        spec = image + ",format=qcow2"
    elif kind == "qcow2 encrypted":
        image, key = c.path(f"{tag}.qcow2"), c.path(f"{tag}.key")
        with open(key, "w") as f:
            f.write(f"passphrase of {tag}")
        r = c.img("convert", "-f", "raw", "-O", "qcow2", "-o", "encrypt.format=luks", "--key-file", key, raw,
                  image)
        if r.returncode != 0:
            return [f"img convert -o encrypt.format=luks: {r.stderr.strip()}"], ()
        spec = image + ",key-file=" + key
    elif kind == "qcow2 cache=none":
        image = c.path(f"{tag}.qcow2")
        why = make_qcow2(c, raw, image)
        if why:
            return [why], ()
        spec = image + ",format=qcow2,cache=none"
    else:
        image, spec = raw, raw + ",cache=none,iops=200,bps=8M,queues=2"
    argv, status, out, err = c.vm(accel, [spec])
    details = describe_command(argv, status, out, err, tail=15)
    problems += guest_problems(status, out, data)
    problems += [f"stderr reports {m}" for m in SANITIZER_MARKERS if m in err]
    got = read_back(c, image, 8 * 512, len(WROTE), key)
    if got != WROTE:
        problems.append(f"sector 8 of {os.path.basename(image)} holds {got!r}, not the guest's write")
    if kind.startswith("qcow2"):
        r = c.img("check", *(["--key-file", key] if key else []), image)
        if r.returncode != 0:
            problems.append(f"vessel img check: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
    if key and shutil.which("qemu-img"):
        # The image the guest wrote to is consistent for qemu too.
        r = subprocess.run(["qemu-img", "check", "--object", f"secret,id=s0,file={key}", "--image-opts",
                            f"driver=qcow2,file.filename={image},encrypt.key-secret=s0"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            problems.append(f"qemu-img check: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
    if kind == "qcow2 chain":
        with open(raw, "rb") as f:
            if f.read() != data:
                problems.append("the backing file changed")
    return problems, details


def refusals(c, data):
    """(name, disk spec, words the message must hold)"""
    raw = c.path("ok.raw")
    with open(raw, "wb") as f:
        f.write(data)
    corrupt = c.path("corrupt.qcow2")
    if make_qcow2(c, raw, corrupt) is None:
        with open(corrupt, "r+b") as f:
            f.seek(72)
            incompat = int.from_bytes(f.read(8), "big") | 2
            f.seek(72)
            f.write(incompat.to_bytes(8, "big"))
    encrypted, key, wrong = c.path("enc.qcow2"), c.path("enc.key"), c.path("wrong.key")
    with open(key, "w") as f:
        f.write("right")
    with open(wrong, "w") as f:
        f.write("wrong")
    c.img("create", "-f", "qcow2", "-o", "encrypt.format=luks", "--key-file", key, encrypted, "16M")
    return [
        ("an encrypted qcow2 without key-file=", encrypted, ["--disk", "passphrase", "key-file="]),
        ("an encrypted qcow2 with the wrong key", encrypted + ",key-file=" + wrong, ["--disk", "wrong passphrase"]),
        ("a key-file= that does not exist", encrypted + ",key-file=" + c.path("nokey"), ["nokey"]),
        ("an unknown format", raw + ",format=vmdk", ["--disk", raw, "vmdk", "format=raw"]),
        ("a missing image", c.path("missing.img"), ["--disk", "missing.img", "vessel img create"]),
        ("a qcow2 marked corrupt, writable", corrupt, ["--disk", corrupt, "corrupt", "readonly=on"]),
        ("iops=abc", raw + ",iops=abc", ["--disk", raw, "iops", "abc"]),
        ("iops=0", raw + ",iops=0", ["--disk", raw, "iops"]),
    ]


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL")
    guests = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VESSEL_GUESTS")
    if not vessel or not guests:
        print("usage: test_disks.py VESSEL GUEST_DIR (or set VESSEL and VESSEL_GUESTS)", file=sys.stderr)
        return 2
    tap = Tap()
    data = random.Random(5).randbytes(1 << 20)
    no_kvm = kvm_usable()
    with tempfile.TemporaryDirectory(prefix="vessel-disks-") as tmp:
        c = Case(os.path.abspath(vessel), os.path.abspath(guests), tmp)
        for accel in ("emu", "kvm"):
            for kind in ("raw", "qcow2", "qcow2 chain", "qcow2 encrypted", "raw cache=none,iops=,bps=,queues=2",
                         "qcow2 cache=none"):
                name = f"{accel}: test guest on a {kind} disk"
                if not tap.wants(name):
                    continue
                if accel == "kvm" and no_kvm:
                    tap.skip(name, no_kvm)
                    continue
                if kind == "qcow2 cache=none" and direct_refused(tmp):
                    tap.skip(name, direct_refused(tmp))
                    continue
                problems, details = disk_case(c, accel, kind, data)
                tap.result(name, problems, details=details if problems else ())
        for what, spec, words in refusals(c, data):
            name = f"--disk refuses {what}"
            if not tap.wants(name):
                continue
            before = sorted(os.listdir(tmp))
            argv, status, out, err = c.vm("emu", [spec])
            problems = []
            if status != 2:
                problems.append(f"exit status {status}, not 2")
            problems += [f"the message lacks `{w}`" for w in words if w not in err]
            problems += [f"stderr reports {m}" for m in SANITIZER_MARKERS if m in err]
            after = sorted(os.listdir(tmp))
            if after != before:
                problems.append(f"files appeared: {sorted(set(after) - set(before))}")
            tap.result(name, problems, details=describe_command(argv, status, out, err) if problems else ())
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
