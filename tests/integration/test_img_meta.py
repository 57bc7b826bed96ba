#!/usr/bin/env python3
"""qcow2 metadata ordering and lazy refcounts, against qemu-img. Prints TAP.

Usage: test_img_meta.py VESSEL IMG_WRITER

- power cut: the img-writer's file writes are recorded (strace), then
  replayed up to random points the way a power cut leaves a disk: every
  write before the last completed fdatasync, any subset of those after
  it. Each resulting image must pass `qemu-img check` with leaks at most;
- lazy_refcounts=on images written by vessel pass `qemu-img check` after a
  clean close (dirty bit cleared); one SIGKILLed while dirty is repaired
  on open (and by `check -r all`) and keeps every flushed write;
- `info` lists internal snapshots and `--backing-chain` like qemu-img;
  `convert -B` writes only differences, `convert -n` writes onto an
  existing image.

Skips everything when qemu-img is missing (and the power-cut case without
strace).
"""
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.img_cases import Cases, Skip  # noqa: E402

VESSEL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL", "build/vessel")
WRITER = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("IMG_WRITER", "build/tests/integration/img-writer")
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")

CASES = Cases()
case = CASES.case


def run(argv, check=False, timeout=600):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    for m in SANITIZER_MARKERS:
        if m in err:
            raise AssertionError("sanitizer report from %s:\n%s" % (argv[0], err))
    if check and p.returncode != 0:
        raise AssertionError("%s -> %d\n%s%s" % (" ".join(argv), p.returncode, out, err))
    return p.returncode, out, err


def qcheck(img):
    rc, out, err = run(["qemu-img", "check", img])
    return rc, out + err


def dirty_bit(img):
    with open(img, "rb") as f:
        f.seek(72)
        return struct.unpack(">Q", f.read(8))[0] & 1


# ---- power cut ----

CALL = re.compile(r'^(?:\d+ +)?(pwrite64|fdatasync|ftruncate|fallocate)\((\d+)(.*)\) += (-?\d+)')


def parse_trace(path, fd):
    """The image fd's writes, truncates and syncs, in order."""
    ops = []
    with open(path, encoding="latin-1") as f:
        for line in f:
            m = CALL.match(line)
            if not m or int(m.group(2)) != fd or int(m.group(4)) < 0:
                continue
            name, rest = m.group(1), m.group(3)
            if name == "fdatasync":
                ops.append(("sync",))
            elif name == "ftruncate":
                ops.append(("trunc", int(rest.strip(", "))))
            elif name == "pwrite64":
                s = re.match(r', "((?:\\x[0-9a-f]{2})*)", (\d+), (\d+)$', rest)
                if not s:
                    raise AssertionError("cannot parse %r" % line[:200])
                data = bytes.fromhex(s.group(1).replace("\\x", ""))
                if len(data) != int(s.group(2)):
                    raise AssertionError("truncated pwrite data in the trace")
                ops.append(("write", int(s.group(3)), data))
            else:
                raise AssertionError("fallocate on the image: the replay does not model it")
    return ops


def replay(base, ops, cut, rnd, out):
    """The disk after a power cut at op `cut`: ops before the last sync
    all landed, later ones only some (in any order: they are applied in
    order here, but each may be missing)."""
    last_sync = max([i for i in range(cut) if ops[i][0] == "sync"], default=-1)
    shutil.copyfile(base, out)
    with open(out, "r+b") as f:
        for i in range(cut):
            op = ops[i]
            if i > last_sync and rnd.random() < 0.5:
                continue
            if op[0] == "write":
                f.seek(op[1])
                f.write(op[2])
            elif op[0] == "trunc":
                f.truncate(op[1])


def writer_workload(rnd, size):
    """Allocating writes, discards (refcounts lowered) and writes that reuse
    freed clusters, a flush now and then."""
    ops = []
    for i in range(160):
        r = rnd.random()
        off = rnd.randrange(0, size - 200000) & ~511
        if r < 0.6:
            ops.append("write:%d:%d:%d" % (off, rnd.choice([4096, 70000, 140000]), i % 250 + 1))
        elif r < 0.8:
            ops.append("discard:%d:%d" % (off & ~65535, 65536 * rnd.randrange(1, 4)))
        elif r < 0.9:
            ops.append("zero:%d:%d" % (off & ~65535, 131072))
        else:
            ops.append("flush")
    return ops


@case("power cut at random points: qemu-img check finds leaks at most")
def t_power_cut(tmp):
    if not shutil.which("strace"):
        raise Skip("strace not installed")
    rnd = random.Random(int(os.environ.get("VESSEL_POWERCUT_SEED", "5")))
    size = 32 << 20
    for opts in ("cluster_size=65536", "cluster_size=4096", "extended_l2=on", "cluster_size=512,refcount_bits=4"):
        img = os.path.join(tmp, "pc.qcow2")
        base = os.path.join(tmp, "pc-base.qcow2")
        run([VESSEL, "img", "create", "-q", "-f", "qcow2", "-o", opts, img, str(size)], check=True)
        shutil.copyfile(img, base)
        trace = os.path.join(tmp, "trace")
        ops = writer_workload(rnd, size)
        # LeakSanitizer cannot run under ptrace: the leak check is the
        # other cases' job.
        os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        run(["strace", "-f", "-qq", "-xx", "-s", "4000000", "-e", "trace=openat,pwrite64,fdatasync,ftruncate,fallocate",
             "-o", trace, WRITER, img] + ops, check=True)
        with open(trace, encoding="latin-1") as f:
            opens = re.finditer(r'openat\(AT_FDCWD, "((?:\\x[0-9a-f]{2})*)", O_RDWR[^)]*\) = (\d+)', f.read())
            fds = [int(m.group(2)) for m in opens
                   if bytes.fromhex(m.group(1).replace("\\x", "")).endswith(b"pc.qcow2")]
        if not fds:
            raise AssertionError("the trace shows no open of the image")
        recorded = parse_trace(trace, fds[0])
        writes = sum(1 for o in recorded if o[0] == "write")
        syncs = sum(1 for o in recorded if o[0] == "sync")
        cuts = sorted(rnd.sample(range(1, len(recorded) + 1), min(40, len(recorded))))
        bad = []
        for cut in cuts:
            out = os.path.join(tmp, "cut.qcow2")
            replay(base, recorded, cut, rnd, out)
            rc, text = qcheck(out)
            if rc not in (0, 3):
                bad.append("cut at op %d of %d: qemu-img check %d\n%s" % (cut, len(recorded), rc, text[-600:]))
        print("# %s: %d writes, %d syncs recorded, %d cuts, %d bad" % (opts, writes, syncs, len(cuts), len(bad)))
        if bad:
            raise AssertionError("%s: %s" % (opts, bad[0]))
        os.unlink(img)


@case("lazy_refcounts=on: written by vessel, clean close: dirty bit clear, qemu-img check clean")
def t_lazy_clean(tmp):
    img = os.path.join(tmp, "lazy.qcow2")
    run([VESSEL, "img", "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", img, "64M"], check=True)
    run([WRITER, img, "write:0:1M:1", "write:5M:100k:2", "discard:0:512k", "write:20M:64k:3", "flush",
         "write:40M:4k:4"], check=True)
    if dirty_bit(img):
        raise AssertionError("the dirty bit survived a clean close")
    rc, text = qcheck(img)
    if rc != 0:
        raise AssertionError("qemu-img check -> %d\n%s" % (rc, text))
    _, out, _ = run(["qemu-img", "info", "--output", "json", img], check=True)
    if not json.loads(out)["format-specific"]["data"]["lazy-refcounts"]:
        raise AssertionError("lazy refcounts not recorded: %s" % out)
    _, out, err = run(["qemu-io", "-r", "-c", "read -P 1 512k 512k", "-c", "read -P 0 0 512k", "-c",
                       "read -P 2 5M 100k", "-c", "read -P 3 20M 64k", "-c", "read -P 4 40M 4k", img], check=True)
    if "fail" in (out + err).lower():
        raise AssertionError(out + err)


@case("lazy_refcounts=on, SIGKILLed while dirty: repaired on open and by check -r all, flushed writes kept")
def t_lazy_killed(tmp):
    n = 2000
    for repair in ("open", "check"):
        img = os.path.join(tmp, "lz.qcow2")
        run([VESSEL, "img", "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on,cluster_size=4096", img,
             str(n * 8192)], check=True)
        p = subprocess.Popen([WRITER, img, "crash", str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Kill it once it flushed a few times (the dirty bit is set by then).
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = p.stdout.readline().decode()
            if not line:
                break
            lines.append(line)
            if len(lines) >= 40:
                break
        p.kill()
        out, _ = p.communicate()
        lines += out.decode().splitlines()
        flushed = [int(x.split()[1]) for x in lines if x.startswith("flushed ")]
        last = flushed[-1] if flushed else -1
        if last >= n - 1:
            raise AssertionError("the writer finished before it was killed")
        if not dirty_bit(img):
            raise AssertionError("a killed lazy-refcount writer left no dirty bit")
        if repair == "open":
            run([WRITER, img, "write:0:512:9"], check=True)
        else:
            rc, vout, verr = run([VESSEL, "img", "check", "-r", "all", img])
            if rc != 0:
                raise AssertionError("vessel img check -r all -> %d\n%s%s" % (rc, vout, verr))
        if dirty_bit(img):
            raise AssertionError("repair by %s left the dirty bit" % repair)
        rc, text = qcheck(img)
        if rc != 0:
            raise AssertionError("after repair by %s: qemu-img check -> %d\n%s" % (repair, rc, text))
        raw = os.path.join(tmp, "lz.raw")
        run(["qemu-img", "convert", "-O", "raw", img, raw], check=True)
        with open(raw, "rb") as f:
            data = f.read()
        for i in range(last + 1):
            off = ((i * 7919) % n) * 8192 + (i % 7) * 512
            ln = 2048 + (i % 3) * 1024
            if i and data[off:off + ln] != bytes([i % 251 + 1]) * ln:
                raise AssertionError("repair by %s: flushed write %d (of %d) lost" % (repair, i, last))
        os.unlink(img)
        os.unlink(raw)


# ---- qemu-img parity: info and convert options ----

@case("info lists internal snapshots and --backing-chain like qemu-img (human and json)")
def t_info_snapshots_chain(tmp):
    base = os.path.join(tmp, "base.qcow2")
    top = os.path.join(tmp, "top.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", base, "16M"], check=True)
    run(["qemu-img", "snapshot", "-c", "first", base], check=True)
    run([VESSEL, "img", "snapshot", "-c", "second", base], check=True)
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top], check=True)
    _, q, _ = run(["qemu-img", "info", "--output", "json", "--backing-chain", top], check=True)
    _, v, _ = run([VESSEL, "img", "info", "--output", "json", "--backing-chain", top], check=True)
    q, v = json.loads(q), json.loads(v)
    if len(v) != 2 or [x["filename"] for x in v] != [x["filename"] for x in q]:
        raise AssertionError("backing chain: %s" % [x.get("filename") for x in v])
    keys = ("id", "name", "date-sec", "date-nsec", "vm-state-size", "vm-clock-sec", "vm-clock-nsec")
    qs = [{k: x[k] for k in keys} for x in q[1]["snapshots"]]
    vs = [{k: x[k] for k in keys} for x in v[1].get("snapshots", [])]
    if qs != vs or len(vs) != 2:
        raise AssertionError("snapshots: qemu-img %s, vessel %s" % (qs, vs))
    _, qh, _ = run(["qemu-img", "info", "--backing-chain", top], check=True)
    _, vh, _ = run([VESSEL, "img", "info", "--backing-chain", top], check=True)
    for text in ("Snapshot list:", "first", "second", "image: " + base, "backing file: base.qcow2"):
        if text not in vh:
            raise AssertionError("human info lacks %r:\n%s" % (text, vh))
    if vh.count("\n\nimage: ") != qh.count("\n\nimage: "):
        raise AssertionError("human --backing-chain blocks differ:\n%s" % vh)


def write_raw(path, size, writes):
    with open(path, "wb") as f:
        f.truncate(size)
        for off, data in writes:
            f.seek(off)
            f.write(data)


@case("convert -B writes only the differences from the backing file; convert -n onto an existing image")
def t_convert_backing_existing(tmp):
    base = os.path.join(tmp, "base.qcow2")
    src = os.path.join(tmp, "src.raw")
    run(["qemu-img", "create", "-q", "-f", "qcow2", base, "32M"], check=True)
    run(["qemu-io", "-f", "qcow2", "-c", "write -P 1 0 4M", "-c", "write -P 2 8M 1M", base], check=True)
    run(["qemu-img", "convert", "-O", "raw", base, src], check=True)
    with open(src, "r+b") as f:
        for off, data in ((1 << 20, b"\3" * 65536), (8 << 20, bytes(65536)), (20 << 20, b"\4" * 100000)):
            f.seek(off)
            f.write(data)
    out = os.path.join(tmp, "out.qcow2")
    run([VESSEL, "img", "convert", "-O", "qcow2", "-B", "base.qcow2", src, out], check=True)
    rc, _, err = run(["qemu-img", "compare", src, out])
    if rc != 0:
        raise AssertionError("convert -B output differs from the source: %s" % err)
    if qcheck(out)[0] != 0:
        raise AssertionError("convert -B output fails qemu-img check")
    _, m, _ = run(["qemu-img", "map", "--output", "json", out], check=True)
    own = sum(e["length"] for e in json.loads(m) if e["depth"] == 0 and e["data"])
    if own > (256 << 10):
        raise AssertionError("convert -B wrote %d bytes of data: more than the differences" % own)
    _, info, _ = run(["qemu-img", "info", "--output", "json", out], check=True)
    if json.loads(info).get("backing-filename") != "base.qcow2":
        raise AssertionError("convert -B: backing file not recorded: %s" % info)
    # -n: onto an existing qcow2 holding other data, which must not survive.
    tgt = os.path.join(tmp, "tgt.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", tgt, "32M"], check=True)
    run(["qemu-io", "-f", "qcow2", "-c", "write -P 9 0 32M", tgt], check=True)
    run([VESSEL, "img", "convert", "-n", src, tgt], check=True)
    rc, _, err = run(["qemu-img", "compare", src, tgt])
    if rc != 0 or qcheck(tgt)[0] != 0:
        raise AssertionError("convert -n: target differs from the source or fails check: %s" % err)
    missing = os.path.join(tmp, "missing.qcow2")
    rc, _, err = run([VESSEL, "img", "convert", "-n", src, missing])
    if rc != 1 or "missing.qcow2" not in err or os.path.exists(missing):
        raise AssertionError("convert -n onto a missing target: rc %d, %s" % (rc, err))
    small = os.path.join(tmp, "small.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", small, "1M"], check=True)
    rc, _, err = run([VESSEL, "img", "convert", "-n", src, small])
    if rc != 1 or "smaller" not in err or not os.path.exists(small):
        raise AssertionError("convert -n onto a smaller target: rc %d, %s" % (rc, err))


def main():
    return CASES.run("vessel-img-meta-")


if __name__ == "__main__":
    sys.exit(main())
