#!/usr/bin/env python3
"""`vessel img amend` against qemu-img, both ways. Prints TAP.

Usage: test_img_amend.py VESSEL

- compat=0.10 / compat=1.1 round trips of images qemu made (zero clusters,
  preallocated zero clusters, over a backing file or not): `qemu-img check`
  clean, `qemu-img info` showing the new level, `qemu-img compare` equal to
  the original, and no zero flag left in a version 2 L2 table;
- what version 2 cannot express (extended L2, refcount_bits=8, zstd) refused
  naming it, the file unchanged;
- lazy_refcounts on and off, a dirty image (qemu-io abort) cleaned first;
- LUKS key slots: a passphrase vessel adds opens with qemu-img and one
  qemu-img adds opens with vessel; erasing by passphrase or slot makes that
  passphrase fail in both while the other works; the last slot is kept;
- bad options refused with exit status 1, naming the option, the file
  byte for byte as it was.

Skips everything when qemu-img is missing.
"""
import hashlib
import json
import os
import re
import shutil
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vessel_test.img_cases import Cases, Skip  # noqa: E402
import test_img  # noqa: E402 - run() with the sanitizer check

VESSEL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL", "build/vessel")
run = test_img.run
CASES = Cases()
case = CASES.case

OLD, NEW = "old passphrase", "new passphrase"
SECRETS = ["--object", "secret,id=sec0,data=" + OLD, "--object", "secret,id=sec1,data=" + NEW]


def vessel(*args, **kw):
    return run([VESSEL, "img"] + list(args), **kw)


def qimg(*args, check=False):
    # qemu-img times PBKDF2 by thread CPU time, which reads 0 now and then
    # on a loaded machine: retried.
    for _ in range(8):
        rc, out, err = run(["qemu-img"] + list(args))
        if "accurate CPU usage" not in err:
            break
    if check and rc != 0:
        raise AssertionError("qemu-img %s -> %d\n%s%s" % (" ".join(args), rc, out, err))
    return rc, out, err


def qio(path, *cmds):
    argv = ["qemu-io", "-f", "qcow2"]
    for c in cmds:
        argv += ["-c", c]
    run(argv + [path], check=True)


def spec(img, sec):
    return "driver=qcow2,file.filename=%s,encrypt.key-secret=%s" % (img, sec)


def info(img, *extra):
    return json.loads(qimg("info", "--output", "json", *extra, img, check=True)[1])


def compat(img):
    return info(img)["format-specific"]["data"]["compat"]


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def qcheck(img, *extra):
    rc, out, err = qimg("check", *extra, img)
    assert rc == 0 and "No errors" in out, (rc, out, err)


def same(a, b, *extra):
    rc, out, err = qimg("compare", *extra, a, b)
    assert rc == 0, ("qemu-img compare", a, b, rc, out, err)


def zero_flags(path):
    """L2 entries of the active image with the zero flag (bit 0) set."""
    with open(path, "rb") as f:
        h = f.read(104)
        cbits = struct.unpack(">I", h[20:24])[0]
        l1_size, l1_off = struct.unpack(">IQ", h[36:48])
        f.seek(l1_off)
        l1 = struct.unpack(">%dQ" % l1_size, f.read(8 * l1_size))
        n = 0
        for e in l1:
            off = e & 0x00fffffffffffe00
            if not off:
                continue
            f.seek(off)
            l2 = struct.unpack(">%dQ" % ((1 << cbits) // 8), f.read(1 << cbits))
            n += sum(1 for x in l2 if not (x >> 62) & 1 and x & 1)
        return n


def incompat(path):
    with open(path, "rb") as f:
        return struct.unpack(">Q", f.read(80)[72:80])[0]


def refused(img, args, words):
    """amend with these arguments fails with status 1, a message holding
    every word, and the image byte for byte as it was."""
    before = digest(img)
    rc, out, err = vessel("amend", *args)
    assert rc == 1, (args, rc, out, err)
    for w in words:
        assert w in err, (args, w, err)
    assert digest(img) == before, ("image changed by a refused amend", args)


def with_zeros(tmp, backing):
    """A compat=1.1 image qemu wrote: data, zero clusters (unallocated and
    preallocated), over a backing file or not; and a copy of it."""
    img = os.path.join(tmp, "img.qcow2")
    opts = ["-f", "qcow2", "-o", "compat=1.1"]
    if backing:
        base = os.path.join(tmp, "base.qcow2")
        qimg("create", "-q", "-f", "qcow2", "-o", "compat=0.10", base, "4M", check=True)
        qio(base, "write -P 0x33 0 4M")
        opts += ["-b", base, "-F", "qcow2"]
    qimg("create", "-q", *opts, img, "4M", check=True)
    qio(img, "write -P 0x11 0 64k", "write -z 64k 128k", "write -P 0x22 1M 128k", "write -z 1M 64k",
        "write -P 0x44 3M 4k")
    assert zero_flags(img) >= 3, zero_flags(img)
    orig = os.path.join(tmp, "orig.qcow2")
    shutil.copyfile(img, orig)
    return img, orig


def downgrade_round_trip(tmp, backing):
    img, orig = with_zeros(tmp, backing)
    rc, out, err = vessel("amend", "-o", "compat=0.10", img)
    assert rc == 0, (rc, out, err)
    assert compat(img) == "0.10"
    assert zero_flags(img) == 0, "zero flags left in a version 2 image"
    qcheck(img)
    same(orig, img)
    if backing:
        assert info(img)["backing-filename"].endswith("base.qcow2")
    rc, out, err = vessel("amend", "-o", "compat=1.1", img)
    assert rc == 0, (rc, out, err)
    assert compat(img) == "1.1"
    qcheck(img)
    same(orig, img)
    # And vessel reads what it wrote the way qemu-img does.
    rc, out, err = vessel("compare", orig, img)
    assert rc == 0, (rc, out, err)


@case("compat=0.10 then 1.1: zero clusters expanded, check/info/compare agree (no backing file)")
def _(tmp):
    downgrade_round_trip(tmp, False)


@case("compat=0.10 then 1.1 over a backing file: zero clusters become written zeros")
def _(tmp):
    downgrade_round_trip(tmp, True)


@case("qemu-img amend reads vessel's downgrade, vessel's upgrade reads qemu-img's downgrade")
def _(tmp):
    img, orig = with_zeros(tmp, True)
    qimg("amend", "-o", "compat=0.10", img, check=True)
    rc, out, err = vessel("amend", "-o", "compat=1.1,lazy_refcounts=on", img)
    assert rc == 0, (rc, out, err)
    d = info(img)["format-specific"]["data"]
    assert d["compat"] == "1.1" and d["lazy-refcounts"], d
    qcheck(img)
    same(orig, img)
    # The feature-name table qemu writes for version 3 is back.
    with open(img, "rb") as f:
        assert struct.pack(">I", 0x6803f857) in f.read(4096)
    qimg("amend", "-o", "compat=0.10", img, check=True)
    qcheck(img)
    same(orig, img)


@case("compat=0.10 of an encrypted image over an encrypted backing file: zeros written encrypted")
def _(tmp):
    sec = ["--object", "secret,id=sec0,data=" + OLD]
    both = ",encrypt.key-secret=sec0,backing.encrypt.key-secret=sec0"
    base, img, orig = (os.path.join(tmp, n) for n in ("base.qcow2", "img.qcow2", "orig.qcow2"))
    luks = "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"
    qimg("create", "-q", "-f", "qcow2", *sec, "-o", luks, base, "4M", check=True)
    run(["qemu-io"] + sec + ["--image-opts", "-c", "write -P 0x33 0 4M",
                             "driver=qcow2,file.filename=%s,encrypt.key-secret=sec0" % base], check=True)
    qimg("create", "-q", "-f", "qcow2", *sec, "-b", base, "-F", "qcow2", "-o", luks, img, "4M", check=True)
    run(["qemu-io"] + sec + ["--image-opts", "-c", "write -P 0x44 0 64k", "-c", "write -z 64k 128k", "-c",
                             "write -z 0 64k", "driver=qcow2,file.filename=" + img + both], check=True)
    assert zero_flags(img) == 3
    shutil.copyfile(img, orig)
    rc, out, err = run(["env", "VESSEL_IMG_PASSPHRASE=" + OLD, VESSEL, "img", "amend", "-o", "compat=0.10", img])
    assert rc == 0, (rc, out, err)
    assert compat(img) == "0.10" and zero_flags(img) == 0
    qcheck("driver=qcow2,file.filename=" + img + both, *sec, "--image-opts")
    same("driver=qcow2,file.filename=" + img + both, "driver=qcow2,file.filename=" + orig + both, *sec,
         "--image-opts")


@case("compat=0.10 refuses what version 2 cannot express, naming it; the image unchanged")
def _(tmp):
    for opts, words in (("extended_l2=on", ["extended L2"]), ("refcount_bits=8", ["refcount_bits=16"]),
                        ("compression_type=zstd", ["zstd"])):
        img = os.path.join(tmp, "x.qcow2")
        qimg("create", "-q", "-f", "qcow2", "-o", "compat=1.1," + opts, img, "1M", check=True)
        qio(img, "write -P 7 0 4k")
        refused(img, ["-o", "compat=0.10", img], words)
        assert compat(img) == "1.1"
    refused(img, ["-o", "compat=0.10,lazy_refcounts=on", img], ["Lazy refcounts", "1.1"])
    v2 = os.path.join(tmp, "v2.qcow2")
    qimg("create", "-q", "-f", "qcow2", "-o", "compat=0.10", v2, "1M", check=True)
    refused(v2, ["-o", "lazy_refcounts=on", v2], ["Lazy refcounts", "1.1"])
    # Zero clusters a snapshot holds: vessel does not rewrite snapshot tables.
    img = os.path.join(tmp, "s.qcow2")
    qimg("create", "-q", "-f", "qcow2", img, "1M", check=True)
    qio(img, "write -z 0 64k")
    qimg("snapshot", "-c", "snap", img, check=True)
    refused(img, ["-o", "compat=0.10", img], ["snapshot `snap`", "zero clusters"])


@case("compat=1.1 keeps snapshots qemu-img and vessel made on a version 2 image (-p, -f accepted)")
def _(tmp):
    img = os.path.join(tmp, "s.qcow2")
    qimg("create", "-q", "-f", "qcow2", "-o", "compat=0.10", img, "1M", check=True)
    qio(img, "write -P 1 0 64k")
    qimg("snapshot", "-c", "q", img, check=True)
    rc, out, err = vessel("snapshot", "-c", "v", img)
    assert rc == 0, err
    qio(img, "write -P 2 0 64k")
    rc, out, err = vessel("amend", "-p", "-f", "qcow2", "-o", "compat=1.1", img)
    assert rc == 0, (rc, out, err)
    assert compat(img) == "1.1"
    qcheck(img)
    rc, out, err = vessel("check", img)
    assert rc == 0, (out, err)
    qimg("snapshot", "-a", "v", img, check=True)
    run(["qemu-io", "-f", "qcow2", "-c", "read -P 1 0 64k", img], check=True)


@case("lazy_refcounts on and off; off cleans a dirty image first")
def _(tmp):
    img = os.path.join(tmp, "l.qcow2")
    qimg("create", "-q", "-f", "qcow2", img, "4M", check=True)
    rc, out, err = vessel("amend", "-o", "lazy_refcounts=on", img)
    assert rc == 0, (rc, out, err)
    assert info(img)["format-specific"]["data"]["lazy-refcounts"] is True
    # A writer that stops without closing leaves the dirty bit.
    rc, out, err = run(["qemu-io", "-f", "qcow2", "-c", "write -P 9 0 1M", "-c", "abort", img])
    assert incompat(img) & 1, "qemu-io abort left no dirty bit"
    rc, out, err = vessel("amend", "-o", "lazy_refcounts=off", img)
    assert rc == 0, (rc, out, err)
    assert not incompat(img) & 1, "dirty bit left"
    assert info(img)["format-specific"]["data"]["lazy-refcounts"] is False
    qcheck(img)
    rc, out, err = run(["qemu-io", "-f", "qcow2", "-c", "read -P 9 0 1M", img])
    assert rc == 0 and "Pattern verification failed" not in out, out


def encrypted(tmp):
    img = os.path.join(tmp, "e.qcow2")
    qimg("create", "-q", "-f", "qcow2", *SECRETS, "-o",
         "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", img, "4M", check=True)
    run(["qemu-io"] + SECRETS + ["--image-opts", "-c", "write -P 0x5a 0 192k", spec(img, "sec0")], check=True)
    orig = os.path.join(tmp, "orig.qcow2")
    shutil.copyfile(img, orig)
    return img, orig


def q_opens(img, orig, sec):
    """qemu-img reads the image with this secret (and the same content as
    the original, opened with sec0)."""
    rc, out, err = qimg("compare", *SECRETS, "--image-opts", spec(img, sec), spec(orig, "sec0"))
    return rc == 0


def v_opens(tmp, img, orig, passphrase):
    key = os.path.join(tmp, "key")
    with open(key, "w") as f:
        f.write(passphrase)
    ko = os.path.join(tmp, "orig-key")
    with open(ko, "w") as f:
        f.write(OLD)
    rc, out, err = vessel("compare", "--object", "secret,id=a,file=" + key, "--object",
                          "secret,id=b,file=" + ko, "--image-opts", spec(img, "a"), spec(orig, "b"))
    return rc == 0


def slots(img):
    d = info(img)["format-specific"]["data"]["encrypt"]
    return [s["active"] for s in d["slots"]]


@case("LUKS: a passphrase vessel adds opens with qemu-img, the old one still works")
def _(tmp):
    img, orig = encrypted(tmp)
    rc, out, err = vessel("amend", *SECRETS, "-o", "encrypt.state=active,encrypt.new-secret=sec1,"
                          "encrypt.iter-time=10", "--image-opts", spec(img, "sec0"))
    assert rc == 0, (rc, out, err)
    assert slots(img)[:2] == [True, True], slots(img)
    assert q_opens(img, orig, "sec1") and q_opens(img, orig, "sec0")
    assert v_opens(tmp, img, orig, NEW)
    rc, out, err = qimg("check", *SECRETS, "--image-opts", spec(img, "sec1"))
    assert rc == 0, (out, err)
    # An explicit slot, unlocked with --key-file.
    kf = os.path.join(tmp, "k")
    with open(kf, "w") as f:
        f.write(NEW)
    rc, out, err = vessel("amend", "--key-file", kf, "--object", "secret,id=s5,data=five", "-o",
                          "encrypt.state=active,encrypt.new-secret=s5,encrypt.keyslot=5", img)
    assert rc == 0, (rc, out, err)
    assert slots(img) == [True, True, False, False, False, True, False, False], slots(img)
    rc, out, err = qimg("compare", "--object", "secret,id=s5,data=five", *SECRETS, "--image-opts",
                        spec(img, "s5"), spec(orig, "sec0"))
    assert rc == 0, (out, err)
    # An active slot is not overwritten.
    refused(img, ["--key-file", kf, "--object", "secret,id=s6,data=six", "-o",
                  "encrypt.state=active,encrypt.new-secret=s6,encrypt.keyslot=5", img],
            ["Refusing to overwrite active keyslot 5"])


@case("LUKS: a passphrase qemu-img amend adds opens with vessel")
def _(tmp):
    img, orig = encrypted(tmp)
    qimg("amend", *SECRETS, "-o", "encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=10,"
         "encrypt.keyslot=3", "--image-opts", spec(img, "sec0"), check=True)
    assert v_opens(tmp, img, orig, NEW)
    assert v_opens(tmp, img, orig, OLD)
    assert not v_opens(tmp, img, orig, "neither")


@case("LUKS: erasing by passphrase or slot makes it fail in vessel and qemu-img, the other works")
def _(tmp):
    img, orig = encrypted(tmp)
    qimg("amend", *SECRETS, "-o", "encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=10",
         "--image-opts", spec(img, "sec0"), check=True)
    rc, out, err = vessel("amend", *SECRETS, "-o", "encrypt.state=inactive,encrypt.old-secret=sec0",
                          "--image-opts", spec(img, "sec1"))
    assert rc == 0, (rc, out, err)
    assert slots(img)[:2] == [False, True], slots(img)
    assert not q_opens(img, orig, "sec0") and q_opens(img, orig, "sec1")
    assert not v_opens(tmp, img, orig, OLD) and v_opens(tmp, img, orig, NEW)
    # The erased slot's key material was overwritten.
    with open(img, "rb") as f, open(orig, "rb") as g:
        d = f.read()
        o = g.read()
    at = d.index(b"LUKS\xba\xbe") + info(img)["format-specific"]["data"]["encrypt"]["slots"][0]["key-offset"]
    assert d[at:at + 4096] != o[at:at + 4096], "slot 0's key material is still there"
    # By slot number: the old passphrase back in slot 4, then slot 4 erased.
    rc, out, err = vessel("amend", *SECRETS, "-o", "encrypt.state=active,encrypt.new-secret=sec0,"
                          "encrypt.keyslot=4", "--image-opts", spec(img, "sec1"))
    assert rc == 0, (rc, out, err)
    assert q_opens(img, orig, "sec0")
    rc, out, err = vessel("amend", *SECRETS, "-o", "encrypt.state=inactive,encrypt.keyslot=4",
                          "--image-opts", spec(img, "sec1"))
    assert rc == 0, (rc, out, err)
    assert not q_opens(img, orig, "sec0") and q_opens(img, orig, "sec1")
    assert not v_opens(tmp, img, orig, OLD) and v_opens(tmp, img, orig, NEW)


@case("LUKS: erasing the last active slot is refused (by slot and by passphrase), the image unchanged")
def _(tmp):
    img, orig = encrypted(tmp)
    refused(img, [*SECRETS, "-o", "encrypt.state=inactive,encrypt.keyslot=0", "--image-opts", spec(img, "sec0")],
            ["only active keyslot 0", "refusing"])
    refused(img, [*SECRETS, "-o", "encrypt.state=inactive,encrypt.old-secret=sec0", "--image-opts",
                  spec(img, "sec0")], ["All the active keyslots", "refusing"])
    refused(img, [*SECRETS, "-o", "encrypt.state=inactive,encrypt.old-secret=sec1", "--image-opts",
                  spec(img, "sec0")], ["No keyslots match"])
    refused(img, [*SECRETS, "-o", "encrypt.state=inactive,encrypt.keyslot=2", "--image-opts", spec(img, "sec0")],
            ["already erased"])
    assert q_opens(img, orig, "sec0")


def syscalls(argv):
    """pwrite64 (length, offset) and fdatasync calls of a command, in order."""
    log = argv[0]
    # LeakSanitizer cannot run under ptrace (ASan builds).
    asan = "ASAN_OPTIONS=%s:detect_leaks=0" % os.environ.get("ASAN_OPTIONS", "")
    rc, out, err = run(["env", asan, "strace", "-f", "-s", "0", "-e", "trace=pwrite64,fdatasync,fsync",
                        "-o", log] + argv[1:])
    assert rc == 0, (rc, out, err)
    calls = []
    with open(log) as f:
        for line in f:
            m = re.search(r"pwrite64\(\d+, .*, (\d+), (\d+)\)\s+= \d+", line)
            if m:
                calls.append(("w", int(m.group(1)), int(m.group(2))))
            elif re.search(r"f(data)?sync\(\d+\)\s+= 0", line):
                calls.append(("sync",))
    return calls


def order(calls, first, second):
    """`first` then a sync then `second` then a sync (pwrite indexes)."""
    i, j = calls.index(first), calls.index(second)
    assert i < j and ("sync",) in calls[i:j] and ("sync",) in calls[j:], (first, second, calls)


@case("LUKS slot writes are ordered: material then the active flag; the flag then the erasure (strace)")
def _(tmp):
    if not shutil.which("strace"):
        raise Skip("strace is not installed")
    img, orig = encrypted(tmp)
    with open(img, "rb") as f:
        luks = f.read().index(b"LUKS\xba\xbe")
    log = os.path.join(tmp, "strace.log")
    calls = syscalls([log, VESSEL, "img", "amend", *SECRETS, "-o", "encrypt.state=active,encrypt.new-secret=sec1,"
                      "encrypt.keyslot=2", "--image-opts", spec(img, "sec0")])
    slot = info(img)["format-specific"]["data"]["encrypt"]["slots"][2]
    material = [c for c in calls if c[0] == "w" and c[2] == luks + slot["key-offset"]]
    assert material and material[0][1] >= 4000 * 32, calls
    order(calls, material[0], ("w", 592, luks))
    calls = syscalls([log, VESSEL, "img", "amend", *SECRETS, "-o", "encrypt.state=inactive,encrypt.keyslot=2",
                      "--image-opts", spec(img, "sec0")])
    material = [c for c in calls if c[0] == "w" and c[2] == luks + slot["key-offset"]]
    assert material, calls
    order(calls, ("w", 592, luks), material[0])
    assert q_opens(img, orig, "sec0") and not q_opens(img, orig, "sec1")


@case("bad options are refused naming the option, status 1, the image byte-identical")
def _(tmp):
    img = os.path.join(tmp, "b.qcow2")
    qimg("create", "-q", "-f", "qcow2", img, "1M", check=True)
    qio(img, "write -P 1 0 64k")
    for args, words in (
            (["-o", "size=2M", img], ["size", "vessel img resize"]),
            (["-o", "cluster_size=4096", img], ["cluster_size", "image creation"]),
            (["-o", "refcount_bits=8", img], ["refcount_bits"]),
            (["-o", "backing_file=x", img], ["backing_file"]),
            (["-o", "foo=1", img], ["foo"]),
            (["-o", "compat=0.9", img], ["compat=0.9"]),
            (["-o", "lazy_refcounts=maybe", img], ["lazy_refcounts"]),
            (["-o", "encrypt.keyslot=8", img], ["encrypt.keyslot"]),
            (["-o", "encrypt.state=active", img], ["new-secret"]),
            (["-o", "encrypt.state=active,encrypt.new-secret=nosuch", img], ["nosuch"]),
            (["-o", "compat=1.1", "--nosuch", img], ["--nosuch"]),
            ([img], ["-o"]),
            (SECRETS + ["-o", "encrypt.state=active,encrypt.new-secret=sec1", img], ["encryption not present"]),
            (["-f", "raw", "-o", "compat=1.1", img], ["raw", "amendment"]),
    ):
        refused(img, args, words)
    rc, out, err = vessel("amend", "--help")
    assert rc == 0 and "encrypt.state" in out, (rc, out)
    rc, out, err = vessel("--help")
    assert rc == 0 and "amend" in out, out


if __name__ == "__main__":
    sys.exit(CASES.run("vessel-amend-"))
