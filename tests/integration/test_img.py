#!/usr/bin/env python3
"""`vessel img` and the qcow2 driver against qemu-img/qemu-io, both ways.
Prints TAP.

Usage: test_img.py VESSEL IMG_WRITER

- images made and written by qemu-img/qemu-io (cluster sizes, v2, zlib and
  zstd compression, extended L2 entries, backing chains, an internal
  snapshot) read by vessel: `vessel img convert -O raw` must equal
  `qemu-img convert -O raw`;
- images made by vessel and written through vessel's block layer (the
  img-writer helper) pass `qemu-img check` with no errors and no leaks and
  read back through qemu-img like the same writes done by qemu-io;
- info/map/check/compare/resize agree with qemu-img;
- hostile images are refused with a message naming the problem;
- crash test: a writer SIGKILLed at random moments; `qemu-img check` then
  finds leaks at most, and every write whose flush completed is there.

Skips everything when qemu-img is missing.
"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.host import direct_refused  # noqa: E402
from vessel_test.img_cases import Cases, Skip  # noqa: E402

VESSEL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL", "build/vessel")
WRITER = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("IMG_WRITER", "build/tests/integration/img-writer")
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")

CASES = Cases()
case = CASES.case


def run(argv, check=False, timeout=300):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    for m in SANITIZER_MARKERS:
        if m in err:
            raise AssertionError("sanitizer report from %s:\n%s" % (argv[0], err))
    if check and p.returncode != 0:
        raise AssertionError("%s -> %d\n%s%s" % (" ".join(argv), p.returncode, out, err))
    return p.returncode, out, err


def vessel(*args, **kw):
    return run([VESSEL, "img"] + list(args), **kw)


def qimg(*args, **kw):
    return run(["qemu-img"] + list(args), **kw)


def qio(path, *cmds, fmt="qcow2"):
    argv = ["qemu-io", "-f", fmt]
    for c in cmds:
        argv += ["-c", c]
    run(argv + [path], check=True)


def writer(path, *ops, check=True):
    return run([WRITER, path] + list(ops), check=check)


def same_content(tmp, img, fmt=None):
    """vessel's and qemu-img's raw conversions of img are identical."""
    a, b = os.path.join(tmp, "v.raw"), os.path.join(tmp, "q.raw")
    for p in (a, b):
        if os.path.exists(p):
            os.unlink(p)
    fa = ["-f", fmt] if fmt else []
    rc, _, err = vessel("convert", *fa, "-O", "raw", img, a)
    if rc != 0:
        raise AssertionError("vessel convert %s: %s" % (img, err))
    qimg("convert", *fa, "-O", "raw", img, b, check=True)
    with open(a, "rb") as fa_, open(b, "rb") as fb_:
        while True:
            x, y = fa_.read(1 << 20), fb_.read(1 << 20)
            if x != y:
                raise AssertionError("%s: vessel and qemu-img read different content" % img)
            if not x:
                return


def qcheck_clean(img):
    rc, out, err = qimg("check", img)
    if rc != 0:
        raise AssertionError("qemu-img check %s -> %d\n%s%s" % (img, rc, out, err))


def make_source(tmp, size=24 << 20, seed=1):
    """A raw image with scattered data, zeros and holes."""
    path = os.path.join(tmp, "src-%d.raw" % seed)
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        for _ in range(150):
            off = rnd.randrange(0, size - 200000)
            f.seek(off)
            if rnd.random() < 0.7:
                f.write(bytes([rnd.randrange(1, 256)]) * rnd.randrange(1, 150000))
            else:
                f.write(rnd.randbytes(rnd.randrange(1, 20000)))
    return path


# ---- qemu-img made, vessel reads ----

@case("qemu-img images of every cluster size and refcount width read identically")
def t_read_cluster_sizes(tmp):
    src = make_source(tmp)
    for opts in ["cluster_size=512", "cluster_size=4096", "cluster_size=65536", "cluster_size=2M",
                 "cluster_size=4096,refcount_bits=1", "refcount_bits=64", "compat=0.10",
                 "lazy_refcounts=on"]:
        img = os.path.join(tmp, "q.qcow2")
        qimg("convert", "-O", "qcow2", "-o", opts, src, img, check=True)
        same_content(tmp, img)
        os.unlink(img)


@case("compressed images (zlib and zstd) read identically")
def t_read_compressed(tmp):
    src = make_source(tmp, seed=2)
    for opts in ["compression_type=zlib", "compression_type=zstd", "compression_type=zlib,cluster_size=4096"]:
        img = os.path.join(tmp, "c.qcow2")
        qimg("convert", "-c", "-O", "qcow2", "-o", opts, src, img, check=True)
        same_content(tmp, img)
        os.unlink(img)


@case("extended L2 entries (subclusters) over a backing file read identically")
def t_read_subclusters(tmp):
    src = make_source(tmp, seed=3)
    base = os.path.join(tmp, "ext-base.qcow2")
    top = os.path.join(tmp, "ext-top.qcow2")
    qimg("convert", "-O", "qcow2", "-o", "extended_l2=on,cluster_size=128k", src, base, check=True)
    qimg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "-b", base, "-F", "qcow2", top, check=True)
    qio(top, "write -P 7 4k 4k", "write -z 100k 8k", "write -P 9 1M 3k", "discard 2M 128k",
        "write -P 3 3M 300k")
    same_content(tmp, base)
    same_content(tmp, top)


@case("backing chains (raw, qcow2, qcow2) and an internal snapshot read identically")
def t_read_chain(tmp):
    src = make_source(tmp, seed=4)
    mid = os.path.join(tmp, "mid.qcow2")
    top = os.path.join(tmp, "top.qcow2")
    qimg("create", "-q", "-f", "qcow2", "-b", src, "-F", "raw", mid, check=True)
    qio(mid, "write -P 5 6M 100k", "write -z 8M 1M", "discard 1M 1M")
    qimg("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", top, "30M", check=True)
    qio(top, "write -P 6 6M 4k", "write -P 6 25M 4k")
    same_content(tmp, top)
    qimg("snapshot", "-c", "s1", top, check=True)
    qio(top, "write -P 8 6M 64k")
    same_content(tmp, top)
    rc, out, _ = vessel("check", top)
    assert rc == 0, out


# ---- vessel makes and writes, qemu-img checks and reads ----

WRITE_OPS = [("write", 0, 4096, 0x11), ("write", 65536 + 100, 70000, 0x22), ("write", 5 << 20, 1 << 20, 0x33),
             ("zero", (5 << 20) + 4096, 200000), ("discard", 0, 65536), ("write", 12345, 999, 0x44),
             ("zero", 8 << 20, 2 << 20), ("write", (8 << 20) + 512, 512, 0x55), ("write", (16 << 20) - 700, 700, 0x66)]


def writer_ops(ops):
    out = []
    for op in ops:
        if op[0] == "write":
            out.append("write:%d:%d:%d" % (op[1], op[2], op[3]))
        else:
            out.append("%s:%d:%d" % op)
    return out + ["flush"]


def qio_ops(ops):
    out = []
    for op in ops:
        if op[0] == "write":
            out.append("write -P %d %d %d" % (op[3], op[1], op[2]))
        elif op[0] == "zero":
            out.append("write -z %d %d" % (op[1], op[2]))
        else:
            out.append("discard %d %d" % (op[1], op[2]))
    return out


def same_after_writes(tmp, img, fmt="qcow2"):
    """Apply WRITE_OPS with vessel to img and with qemu-io to a copy; both
    must pass qemu-img check and read the same."""
    ref = img + ".ref"
    shutil.copyfile(img, ref)
    writer(img, *writer_ops(WRITE_OPS))
    qio(ref, *qio_ops(WRITE_OPS), fmt=fmt)
    if fmt == "qcow2":
        qcheck_clean(img)
    a, b = os.path.join(tmp, "a.raw"), os.path.join(tmp, "b.raw")
    qimg("convert", "-O", "raw", img, a, check=True)
    qimg("convert", "-O", "raw", ref, b, check=True)
    with open(a, "rb") as x, open(b, "rb") as y:
        assert x.read() == y.read(), "%s: vessel's writes read back differently from qemu-io's" % img
    os.unlink(ref)


@case("images made and written by vessel pass qemu-img check and read back like qemu-io's writes")
def t_vessel_writes(tmp):
    for opts in ["cluster_size=65536", "cluster_size=512", "cluster_size=4096,refcount_bits=1",
                 "cluster_size=2M", "refcount_bits=64", "compat=0.10", "extended_l2=on",
                 "preallocation=metadata", "preallocation=falloc,cluster_size=16k", "lazy_refcounts=on"]:
        img = os.path.join(tmp, "w.qcow2")
        rc, out, err = vessel("create", "-f", "qcow2", "-o", opts, img, "16M")
        assert rc == 0, err
        qcheck_clean(img)
        same_after_writes(tmp, img)
        os.unlink(img)


@case("extended L2: small writes allocate subclusters, not whole clusters, and read back over a backing file")
def t_subcluster_writes(tmp):
    src = make_source(tmp, size=64 << 20, seed=11)
    img = os.path.join(tmp, "sc.qcow2")
    ref = os.path.join(tmp, "sc-ref.qcow2")
    for p in (img, ref):
        qimg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=2M", "-b", src, "-F", "raw", p,
             check=True)
    ops = ["write:%d:%d:%d" % (i * (3 << 20) + 5000, 3000, i + 1) for i in range(20)]
    writer(img, *ops)
    qio(ref, *["write -P %d %d %d" % (i + 1, i * (3 << 20) + 5000, 3000) for i in range(20)])
    qcheck_clean(img)
    rc, out, _ = qimg("compare", img, ref)
    assert rc == 0, out
    # Whole 2 MiB clusters would take 40 MiB; qemu's metadata alone is a few.
    used, qused = os.stat(img).st_blocks * 512, os.stat(ref).st_blocks * 512
    assert used < qused + (4 << 20), "20 small writes took %d bytes (qemu-io: %d)" % (used, qused)


@case("vessel writes into qemu-img images: over a backing file, compressed, with a snapshot")
def t_vessel_writes_qemu_images(tmp):
    src = make_source(tmp, size=16 << 20, seed=5)
    top = os.path.join(tmp, "b.qcow2")
    qimg("create", "-q", "-f", "qcow2", "-b", src, "-F", "raw", top, check=True)
    same_after_writes(tmp, top)
    comp = os.path.join(tmp, "comp.qcow2")
    qimg("convert", "-c", "-O", "qcow2", src, comp, check=True)
    same_after_writes(tmp, comp)
    snap = os.path.join(tmp, "snap.qcow2")
    qimg("convert", "-O", "qcow2", src, snap, check=True)
    qimg("snapshot", "-c", "before", snap, check=True)
    same_after_writes(tmp, snap)
    # The snapshot still holds the old content.
    qimg("snapshot", "-a", "before", snap, check=True)
    rc, out, _ = qimg("compare", src, snap)
    assert rc == 0, out
    ext = os.path.join(tmp, "ext.qcow2")
    qimg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "-b", src, "-F", "raw", ext, check=True)
    qio(ext, "write -P 1 64k 4k", "write -z 256k 8k")
    same_after_writes(tmp, ext)


@case("vessel convert raw -> qcow2 (options) passes qemu-img check with the same content")
def t_convert_to_qcow2(tmp):
    src = make_source(tmp, seed=6)
    for opts in ["cluster_size=65536", "cluster_size=512,refcount_bits=8", "compat=0.10", "extended_l2=on"]:
        img = os.path.join(tmp, "cv.qcow2")
        rc, _, err = vessel("convert", "-O", "qcow2", "-o", opts, src, img)
        assert rc == 0, err
        qcheck_clean(img)
        rc, out, _ = qimg("compare", src, img)
        assert rc == 0, out
        os.unlink(img)


@case("vessel convert -c (zlib, zstd) writes compressed clusters qemu-img reads and checks")
def t_convert_compressed(tmp):
    src = make_source(tmp, seed=8)
    for opts in ["compression_type=zlib", "compression_type=zstd", "cluster_size=4096", "extended_l2=on"]:
        img = os.path.join(tmp, "cc.qcow2")
        rc, _, err = vessel("convert", "-c", "-O", "qcow2", "-o", opts, src, img)
        assert rc == 0, err
        qcheck_clean(img)
        _, out, _ = qimg("check", img)
        assert ", 0.00% compressed" not in out, out
        rc, out, _ = qimg("compare", src, img)
        assert rc == 0, out
        same_content(tmp, img)
        # Overwriting compressed clusters releases them cleanly.
        same_after_writes(tmp, img)
        os.unlink(img)


@case("internal snapshots: made, applied and deleted by either tool, usable by the other")
def t_snapshots(tmp):
    img = os.path.join(tmp, "sn.qcow2")
    ref = os.path.join(tmp, "sn-ref.raw")
    vessel("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", img, "4M", check=True)
    writer(img, "write:0:1M:1", "write:2M:100k:2")
    qimg("convert", "-O", "raw", img, ref, check=True)
    vessel("snapshot", "-c", "one", img, check=True)
    qcheck_clean(img)
    writer(img, "write:0:64k:3", "write:3M:10k:4", "discard:2M:64k")
    qcheck_clean(img)
    vessel("snapshot", "-c", "two", img, check=True)
    writer(img, "write:100k:4k:5")
    qcheck_clean(img)
    _, out, _ = qimg("snapshot", "-l", img, check=True)
    assert " one " in out and " two " in out, out
    _, vout, _ = vessel("snapshot", "-l", img, check=True)
    assert [l.split()[:2] for l in vout.splitlines()] == [l.split()[:2] for l in out.splitlines()], (vout, out)
    copy = img + ".copy"
    shutil.copyfile(img, copy)
    vessel("snapshot", "-a", "one", img, check=True)
    qimg("snapshot", "-a", "one", copy, check=True)
    qcheck_clean(img)
    rc, out, _ = qimg("compare", ref, img)
    assert rc == 0, out
    rc, out, _ = qimg("compare", img, copy)
    assert rc == 0, out
    # Deleting in either order, by either tool, leaves a clean image.
    vessel("snapshot", "-d", "two", img, check=True)
    qcheck_clean(img)
    qimg("snapshot", "-d", "one", img, check=True)
    qcheck_clean(img)
    writer(img, "write:0:8k:6")
    qcheck_clean(img)
    # A snapshot made by qemu-img, applied and deleted by vessel.
    qimg("snapshot", "-c", "q", copy, check=True)
    qio(copy, "write -P 9 0 300k")
    vessel("snapshot", "-a", "q", copy, check=True)
    same_content(tmp, copy)
    vessel("snapshot", "-d", "q", copy, check=True)
    vessel("snapshot", "-d", "one", copy, check=True)
    vessel("snapshot", "-d", "two", copy, check=True)
    qcheck_clean(copy)
    rc, _, err = vessel("snapshot", "-a", "nope", copy)
    assert rc == 1 and "nope" in err, err


def extensions(path):
    with open(path, "rb") as f:
        h = f.read(65536)
    off, exts = struct.unpack(">I", h[100:104])[0], []
    while True:
        t, n = struct.unpack(">II", h[off:off + 8])
        if t == 0:
            return exts, off
        exts.append((t, h[off + 8:off + 8 + n]))
        off += 8 + (n + 7) // 8 * 8


@case("rebase (safe, -u, to none) and commit agree with qemu-img; unknown header extensions survive")
def t_rebase_commit(tmp):
    src = make_source(tmp, size=4 << 20, seed=9)
    a = os.path.join(tmp, "ra.qcow2")
    b = os.path.join(tmp, "rb.qcow2")
    top = os.path.join(tmp, "rt.qcow2")
    before = os.path.join(tmp, "before.raw")
    qimg("convert", "-O", "qcow2", src, a, check=True)
    vessel("create", "-q", "-f", "qcow2", b, "4M", check=True)
    writer(b, "write:0:1M:3")
    qimg("create", "-q", "-f", "qcow2", "-b", "ra.qcow2", "-F", "qcow2", top, check=True)
    qio(top, "write -P 7 100k 10k", "write -z 2M 64k")
    # An extension no tool knows, which must be carried along.
    exts, end = extensions(top)
    with open(top, "r+b") as f:
        h = f.read(65536)
        boff, blen = struct.unpack(">QI", h[8:20])
        name = h[boff:boff + blen]
        new = h[:end] + struct.pack(">II", 0x7e57e57e, 5) + b"hello\0\0\0" + b"\0" * 8
        new = new[:8] + struct.pack(">Q", len(new)) + new[16:] + name
        f.seek(0)
        f.write(new)
    qcheck_clean(top)
    qimg("convert", "-O", "raw", top, before, check=True)
    vessel("rebase", "-b", "rb.qcow2", "-F", "qcow2", top, check=True)
    qcheck_clean(top)
    _, q, _ = qimg("info", "--output", "json", top, check=True)
    assert json.loads(q)["backing-filename"] == "rb.qcow2"
    rc, out, _ = qimg("compare", before, top)
    assert rc == 0, out
    assert (0x7e57e57e, b"hello") in extensions(top)[0], extensions(top)
    vessel("rebase", "-u", "-b", "ra.qcow2", top, check=True)
    _, q, _ = qimg("info", "--output", "json", top, check=True)
    q = json.loads(q)
    assert q["backing-filename"] == "ra.qcow2" and q["backing-filename-format"] == "qcow2", q
    vessel("rebase", "-b", "", top, check=True)
    _, q, _ = qimg("info", "--output", "json", top, check=True)
    assert "backing-filename" not in json.loads(q)
    rc, out, _ = qimg("compare", before, top)
    assert rc == 0, out
    assert (0x7e57e57e, b"hello") in extensions(top)[0]
    # commit: the top's data goes down, the top empties.
    top2 = os.path.join(tmp, "rt2.qcow2")
    qimg("create", "-q", "-f", "qcow2", "-b", "ra.qcow2", "-F", "qcow2", top2, check=True)
    writer(top2, "write:100k:10k:7", "zero:1M:1M", "write:3M:5:9")
    qimg("convert", "-O", "raw", top2, before, check=True)
    _, out, _ = vessel("commit", top2, check=True)
    assert "committed" in out, out
    qcheck_clean(a)
    qcheck_clean(top2)
    for p in (a, top2):
        rc, out, _ = qimg("compare", before, p)
        assert rc == 0, (p, out)
    _, m, _ = qimg("map", "--output", "json", top2, check=True)
    assert all(e["depth"] == 1 for e in json.loads(m)), m


@case("a dirty image (qemu-io with lazy refcounts, killed) is repaired on open and written safely")
def t_dirty(tmp):
    img = os.path.join(tmp, "d.qcow2")
    qimg("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", img, "4M", check=True)
    p = subprocess.Popen(["qemu-io", "-c", "write -P 1 0 1M", "-c", "sleep 100000", img],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(img, "rb") as f:
            f.seek(72)
            if struct.unpack(">Q", f.read(8))[0] & 1 and os.path.getsize(img) > (1 << 20):
                break
        time.sleep(0.05)
    time.sleep(0.2)
    p.kill()
    p.wait()
    _, q, _ = qimg("info", "--output", "json", img, check=True)
    assert json.loads(q)["dirty-flag"], q
    writer(img, "write:2M:4k:5")
    _, q, _ = qimg("info", "--output", "json", img, check=True)
    assert not json.loads(q)["dirty-flag"], q
    qcheck_clean(img)
    _, out, err = run(["qemu-io", "-r", "-c", "read -P 1 0 1M", "-c", "read -P 5 2M 4k", img], check=True)
    assert "fail" not in (out + err).lower(), out + err


@case("bench: qemu-img bench's options, writes land where qemu-io reads them, both engines")
def t_bench(tmp):
    img = os.path.join(tmp, "bench.qcow2")
    vessel("create", "-q", "-f", "qcow2", img, "64M", check=True)
    for engine, pat, depth in (("io_uring", 0x5a, "32"), ("threads", 0x3c, "1")):
        _, out, err = vessel("bench", "-w", "-i", engine, "-d", depth, "-c", "500", "-s", "8k", "-S", "64k",
                             "--pattern=%d" % pat, img, check=True)
        assert "completed" in out, out + err
        qcheck_clean(img)
        _, out, err = run(["qemu-io", "-r", "-c", "read -P %d 0 8k" % pat, "-c", "read -P %d %d 8k" % (pat, 499 * 65536),
                           "-c", "read -P 0 8k 56k", img], check=True)
        assert "fail" not in (out + err).lower(), out + err
        vessel("bench", "-i", engine, "-d", depth, "-c", "2000", img, check=True)


@case("cache=none (O_DIRECT): convert -T none -t none both ways and bench -n/-t none on qcow2, checked by qemu-img")
def t_direct(tmp):
    why = direct_refused(tmp)
    if why:
        raise Skip(why)
    src = make_source(tmp, seed=8)
    with open(src, "r+b") as f:  # a size no O_DIRECT block divides
        f.truncate((24 << 20) - 300)
    for opts in ["cluster_size=65536", "cluster_size=512", "extended_l2=on"]:
        img, back = os.path.join(tmp, "d.qcow2"), os.path.join(tmp, "d.raw")
        vessel("convert", "-T", "none", "-t", "none", "-O", "qcow2", "-o", opts, src, img, check=True)
        qcheck_clean(img)
        rc, out, _ = qimg("compare", src, img)
        assert rc == 0, out
        vessel("convert", "-T", "none", "-t", "none", "-O", "raw", img, back, check=True)
        with open(src, "rb") as a, open(back, "rb") as b:
            assert a.read() == b.read()[: os.path.getsize(src)], "raw output differs"
        # Unaligned sub-sector writes (bounced) and aligned ones (engine).
        vessel("bench", "-n", "-w", "-d", "4", "-c", "300", "-s", "1000", "-o", "333", "-S", "70001",
               "--pattern=90", img, check=True)
        vessel("bench", "-t", "none", "-w", "-d", "8", "-c", "300", "-s", "4k", "-o", "12m", "--pattern=91", img,
               check=True)
        qcheck_clean(img)
        _, out, err = run(["qemu-io", "-r", "-c", "read -P 90 333 1000", "-c", "read -P 90 %d 1000" % (333 + 299 * 70001),
                           "-c", "read -P 91 12m 1200k", img], check=True)
        assert "fail" not in (out + err).lower(), out + err
        os.unlink(img)
        os.unlink(back)


@case("info --output json agrees with qemu-img's")
def t_info(tmp):
    base = os.path.join(tmp, "ib.qcow2")
    vessel("create", "-f", "qcow2", base, "1G", check=True)
    for fmt, opts in [("qcow2", "cluster_size=4096,lazy_refcounts=on,refcount_bits=8"), ("qcow2", "compat=0.10"),
                      ("qcow2", "extended_l2=on"), ("raw", None)]:
        img = os.path.join(tmp, "i.img")
        args = ["create", "-f", fmt] + (["-o", opts] if opts else []) + [img, "100M"]
        vessel(*args, check=True)
        _, v, _ = vessel("info", "--output", "json", img, check=True)
        _, q, _ = qimg("info", "--output", "json", img, check=True)
        v, q = json.loads(v), json.loads(q)
        for k in ("virtual-size", "format", "cluster-size", "format-specific", "dirty-flag", "filename"):
            assert v.get(k) == q.get(k), "%s %s: %r != %r" % (fmt, k, v.get(k), q.get(k))
        os.unlink(img)
    top = os.path.join(tmp, "it.qcow2")
    vessel("create", "-f", "qcow2", "-b", "ib.qcow2", "-F", "qcow2", top, check=True)
    _, v, _ = vessel("info", "--output", "json", top, check=True)
    _, q, _ = qimg("info", "--output", "json", top, check=True)
    v, q = json.loads(v), json.loads(q)
    for k in ("virtual-size", "backing-filename", "backing-filename-format", "full-backing-filename"):
        assert v.get(k) == q.get(k), "%s: %r != %r" % (k, v.get(k), q.get(k))
    _, h, _ = vessel("info", top, check=True)
    assert "backing file: ib.qcow2" in h and "virtual size: 1 GiB (1073741824 bytes)" in h, h


@case("map --output json agrees with qemu-img's")
def t_map(tmp):
    src = make_source(tmp, size=8 << 20, seed=7)
    img = os.path.join(tmp, "m.qcow2")
    top = os.path.join(tmp, "mt.qcow2")
    qimg("convert", "-O", "qcow2", src, img, check=True)
    qimg("create", "-q", "-f", "qcow2", "-b", "m.qcow2", "-F", "qcow2", top, check=True)
    qio(top, "write -P 1 1M 64k", "write -z 3M 128k")
    for p in (img, top):
        _, v, _ = vessel("map", "--output", "json", p, check=True)
        _, q, _ = qimg("map", "--output", "json", p, check=True)
        assert json.loads(v) == json.loads(q), "%s:\nvessel %s\nqemu %s" % (p, v, q)
        _, v, _ = vessel("map", p, check=True)
        _, q, _ = qimg("map", p, check=True)
        assert v == q, "%s:\nvessel %s\nqemu %s" % (p, v, q)


@case("compare: identical 0, different 1 at qemu-img's offset, error 2")
def t_compare(tmp):
    a = os.path.join(tmp, "ca.qcow2")
    b = os.path.join(tmp, "cb.qcow2")
    vessel("create", "-f", "qcow2", a, "4M", check=True)
    vessel("create", "-f", "qcow2", b, "4M", check=True)
    rc, out, _ = vessel("compare", a, b)
    assert rc == 0 and "identical" in out, out
    writer(b, "write:1000000:10:7")
    rc, out, _ = vessel("compare", a, b)
    _, qout, _ = qimg("compare", a, b)
    assert rc == 1 and out.strip() == qout.strip(), (out, qout)
    rc, _, err = vessel("compare", a, os.path.join(tmp, "missing"))
    assert rc == 2 and "missing" in err, err


@case("resize: grow, shrink refused without --shrink, shrink with it")
def t_resize(tmp):
    img = os.path.join(tmp, "r.qcow2")
    vessel("create", "-f", "qcow2", "-o", "cluster_size=512", img, "1M", check=True)
    writer(img, "write:0:1M:9")
    vessel("resize", img, "+300M", check=True)
    qcheck_clean(img)
    _, q, _ = qimg("info", "--output", "json", img, check=True)
    assert json.loads(q)["virtual-size"] == (301 << 20)
    writer(img, "write:300M:4096:5")
    rc, _, err = vessel("resize", img, "1M")
    assert rc == 1 and "--shrink" in err, err
    _, q, _ = qimg("info", "--output", "json", img, check=True)
    assert json.loads(q)["virtual-size"] == (301 << 20)
    vessel("resize", "--shrink", img, "1M", check=True)
    qcheck_clean(img)
    raw = os.path.join(tmp, "r.raw")
    vessel("create", "-f", "raw", raw, "1M", check=True)
    writer(raw, "write:0:1M:9", "flush")
    rc, out, _ = qimg("compare", raw, img)
    assert rc == 0, out


@case("check finds leaks (3) and corruptions (2) like qemu-img, -r repairs them")
def t_check_repair(tmp):
    img = os.path.join(tmp, "k.qcow2")
    vessel("create", "-f", "qcow2", img, "16M", check=True)
    writer(img, "write:0:1M:1", "write:4M:64k:2")
    # A leak: one more cluster at the end of the file, counted but unused
    # (refcount entries are 16 bits in the first refcount block).
    end = os.path.getsize(img) // 65536
    with open(img, "r+b") as f:
        f.truncate((end + 1) * 65536)
        hdr = f.read(104)
        rt_off = struct.unpack(">Q", hdr[48:56])[0]
        f.seek(rt_off)
        rb = struct.unpack(">Q", f.read(8))[0]
        f.seek(rb + 2 * end)
        f.write(struct.pack(">H", 1))
    rcq, _, _ = qimg("check", img)
    rc, out, err = vessel("check", img)
    assert rcq == 3 and rc == 3, (rcq, rc, out, err)
    assert "leaked clusters" in out
    rc, out, _ = vessel("check", "-r", "leaks", img)
    assert rc == 0, out
    qcheck_clean(img)
    # A corruption: drop the refcount of a data cluster to 0.
    _, m, _ = qimg("map", "--output", "json", img, check=True)
    data = [e for e in json.loads(m) if e["data"]][0]["offset"]
    with open(img, "r+b") as f:
        f.seek(rb + 2 * (data // 65536))
        f.write(struct.pack(">H", 0))
    rcq, _, _ = qimg("check", img)
    rc, out, err = vessel("check", img)
    assert rcq == 2 and rc == 2, (rcq, rc, out, err)
    rc, out, _ = vessel("check", "-r", "leaks", img)
    assert rc == 2, out
    rc, out, err = vessel("check", "-r", "all", img)
    assert rc == 0, out + err
    qcheck_clean(img)
    rc, _, err = vessel("check", os.path.join(tmp, "nope.qcow2"))
    assert rc == 1, err
    raw = os.path.join(tmp, "k.raw")
    vessel("create", raw, "1M", check=True)
    rc, _, err = vessel("check", raw)
    assert rc == 63, err


def hostile(tmp, name, patch, words):
    img = os.path.join(tmp, name)
    vessel("create", "-q", "-f", "qcow2", img, "4M", check=True)
    writer(img, "write:0:64k:1")
    with open(img, "r+b") as f:
        patch(f)
    rc, out, err = vessel("convert", "-f", "qcow2", "-O", "raw", img, os.path.join(tmp, "h.raw"))
    assert rc == 1, "%s: accepted (%s)" % (name, out)
    assert any(w in err.lower() for w in words), "%s: message %r names none of %r" % (name, err, words)
    assert not os.path.exists(os.path.join(tmp, "h.raw")), "%s: half-written output left" % name


def put(off, fmt, v):
    def p(f):
        f.seek(off)
        f.write(struct.pack(fmt, v))
    return p


@case("hostile images are refused with the problem named")
def t_hostile(tmp):
    hostile(tmp, "magic.qcow2", put(0, ">I", 0x514649fc), ["magic"])
    hostile(tmp, "cbits.qcow2", put(20, ">I", 31), ["cluster_bits"])
    hostile(tmp, "l1past.qcow2", put(40, ">Q", 1 << 40), ["l1 table"])
    hostile(tmp, "l1size.qcow2", put(36, ">I", 0x7fffffff), ["l1 table"])
    hostile(tmp, "rtover.qcow2", put(48, ">Q", 0), ["refcount table"])
    hostile(tmp, "size.qcow2", put(24, ">Q", 1 << 63), ["size"])
    hostile(tmp, "feat.qcow2", put(72, ">Q", 1 << 9), ["feature"])

    def l2_past_end(f):
        f.seek(40)
        l1 = struct.unpack(">Q", f.read(8))[0]
        f.seek(l1)
        l2 = struct.unpack(">Q", f.read(8))[0] & 0x00fffffffffffe00
        f.seek(l2)
        f.write(struct.pack(">Q", (1 << 63) | (1 << 45)))
    hostile(tmp, "l2past.qcow2", l2_past_end, ["outside the image"])

    def l1_into_header(f):
        f.seek(40)
        l1 = struct.unpack(">Q", f.read(8))[0]
        f.seek(l1)
        f.write(struct.pack(">Q", (1 << 63) | 0))
        f.seek(l1)
        f.write(struct.pack(">Q", (1 << 63) | 65536 * 1))
    hostile(tmp, "l1rt.qcow2", l1_into_header, ["refcount table", "l1"])


@case("refcounts that free live metadata: the write is refused and the image marked corrupt")
def t_overlap(tmp):
    img = os.path.join(tmp, "ov.qcow2")
    vessel("create", "-q", "-f", "qcow2", img, "4M", check=True)
    writer(img, "write:0:4k:1")
    with open(img, "r+b") as f:
        h = f.read(104)
        l1 = struct.unpack(">Q", h[40:48])[0]
        rt = struct.unpack(">Q", h[48:56])[0]
        f.seek(rt)
        rb = struct.unpack(">Q", f.read(8))[0]
        f.seek(rb + 2 * (l1 // 65536))
        f.write(struct.pack(">H", 0))
    rc, _, err = writer(img, "write:1M:4k:2", check=False)
    assert rc == 1 and "L1 table" in err and "corrupt" in err, err
    _, q, _ = qimg("info", "--output", "json", img, check=True)
    assert json.loads(q)["format-specific"]["data"]["corrupt"], q
    rc, out, err = vessel("check", "-r", "all", img)
    assert rc == 0, out + err
    writer(img, "write:1M:4k:2")
    qcheck_clean(img)


@case("a backing chain that loops is refused; a missing backing file is named")
def t_backing_loop(tmp):
    a = os.path.join(tmp, "la.qcow2")
    b = os.path.join(tmp, "lb.qcow2")
    vessel("create", "-q", "-f", "qcow2", a, "1M", check=True)
    vessel("create", "-q", "-f", "qcow2", "-b", "la.qcow2", "-F", "qcow2", b, check=True)
    qimg("rebase", "-u", "-b", "lb.qcow2", "-F", "qcow2", a, check=True)
    rc, _, err = vessel("convert", "-O", "raw", b, os.path.join(tmp, "x.raw"))
    assert rc == 1 and "loop" in err, err
    os.unlink(a)
    rc, _, err = vessel("convert", "-O", "raw", b, os.path.join(tmp, "x.raw"))
    assert rc == 1 and "la.qcow2" in err, err


@case("the corrupt bit: read-only access works, writes are refused with a clear message")
def t_corrupt_bit(tmp):
    img = os.path.join(tmp, "cb.qcow2")
    vessel("create", "-q", "-f", "qcow2", img, "1M", check=True)
    writer(img, "write:0:4k:3")
    with open(img, "r+b") as f:
        f.seek(72)
        f.write(struct.pack(">Q", 2))
    same_content(tmp, img)
    rc, _, err = writer(img, "write:0:4k:4", check=False)
    assert rc == 1 and "corrupt" in err, err
    rc, out, _ = vessel("check", "-r", "all", img)
    assert rc == 0, out
    writer(img, "write:0:4k:4")
    qcheck_clean(img)


@case("bad input: clear errors, non-zero status, no image left behind")
def t_errors(tmp):
    missing = os.path.join(tmp, "no", "such", "dir", "x.qcow2")
    rc, _, err = vessel("create", "-f", "qcow2", missing, "1M")
    assert rc == 1 and err, err
    for args, word in [(["create", "-f", "vmdk", "x", "1M"], "vmdk"),
                       (["create", "-f", "qcow2", "-o", "cluster_size=3000", os.path.join(tmp, "y"), "1M"],
                        "cluster"),
                       (["create", "-f", "qcow2", "-o", "compat=0.10,extended_l2=on", os.path.join(tmp, "y"), "1M"],
                        "compat"),
                       (["create", "-f", "qcow2", os.path.join(tmp, "y"), "12Q"], "size"),
                       (["create", "-f", "qcow2", "-b", os.path.join(tmp, "none"), os.path.join(tmp, "y")], "none"),
                       (["frobnicate"], "frobnicate")]:
        rc, _, err = vessel(*args)
        assert rc == 1 and word in err.lower(), (args, rc, err)
        assert not os.path.exists(os.path.join(tmp, "y")), args
    leftovers = [n for n in os.listdir(tmp) if "vessel-tmp" in n]
    assert not leftovers, leftovers


@case("crash test: SIGKILLed writers leave leaks at most and keep every flushed write")
def t_crash(tmp):
    rnd = random.Random(int(os.environ.get("VESSEL_CRASH_SEED", "10")))
    n = 2000
    # How long a whole run takes here, so kills land inside runs.
    img = os.path.join(tmp, "crash.qcow2")
    vessel("create", "-q", "-f", "qcow2", img, str(n * 8192), check=True)
    t0 = time.monotonic()
    writer(img, "crash", str(n))
    full = time.monotonic() - t0
    os.unlink(img)
    for it in range(12):
        img = os.path.join(tmp, "crash.qcow2")
        opts = ["cluster_size=65536", "cluster_size=512", "cluster_size=4096,refcount_bits=1",
                "extended_l2=on"][it % 4]
        vessel("create", "-q", "-f", "qcow2", "-o", opts, img, str(n * 8192), check=True)
        p = subprocess.Popen([WRITER, img, "crash", str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0.0, 0.9 * full))
        p.kill()
        out, err = p.communicate()
        flushed = [int(l.split()[1]) for l in out.decode().splitlines() if l.startswith("flushed ")]
        last = flushed[-1] if flushed else -1
        rc, qout, _ = qimg("check", img)
        print("# crash iteration %d (%s): %d of %d writes flushed, qemu-img check %d" % (it, opts, last + 1, n, rc))
        assert rc in (0, 3), "iteration %d (%s): qemu-img check -> %d\n%s" % (it, opts, rc, qout)
        raw = os.path.join(tmp, "crash.raw")
        qimg("convert", "-O", "raw", img, raw, check=True)
        with open(raw, "rb") as f:
            data = f.read()
        for i in range(last + 1):
            off = ((i * 7919) % n) * 8192 + (i % 7) * 512
            ln = 2048 + (i % 3) * 1024
            if data[off:off + ln] != bytes([i % 251 + 1]) * ln:
                raise AssertionError("iteration %d (%s): flushed write %d (of %d) lost" % (it, opts, i, last))
        if rc == 3:
            rc, vout, _ = vessel("check", img)
            assert rc == 3, vout
            rc, vout, _ = vessel("check", "-r", "leaks", img)
            assert rc == 0, vout
            qcheck_clean(img)
        os.unlink(img)


def main():
    return CASES.run("vessel-img-")


if __name__ == "__main__":
    sys.exit(main())
