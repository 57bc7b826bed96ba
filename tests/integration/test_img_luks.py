#!/usr/bin/env python3
"""qcow2 with LUKS encryption (encrypt.format=luks) between vessel and
qemu-img/qemu-io, both ways. Prints TAP.

Usage: test_img_luks.py VESSEL IMG_WRITER

- encrypted images made and written by qemu-img/qemu-io (cluster sizes,
  ciphers, v2, extended L2) read by vessel with the content qemu-img reads;
- encrypted images made and written by vessel (unaligned writes, zeroing,
  discard through the block layer) pass `qemu-img check` and read back
  through qemu-img like the same writes done by qemu-io;
- convert plain <-> encrypted both ways, info/map/compare/snapshot/commit/
  rebase/bench on encrypted images, the ways to give a passphrase;
- a wrong passphrase and a missing one are refused with qemu-img's exit
  status and a message saying what to do; hostile LUKS headers are refused
  naming the field.

Skips everything when qemu-img is missing.
"""
import json
import os
import shutil
import struct
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_img  # noqa: E402 - its scattered-data source images
from vessel_test.img_cases import Cases  # noqa: E402

VESSEL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL", "build/vessel")
WRITER = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("IMG_WRITER", "build/tests/integration/img-writer")
PASS = b"vessel luks test \x01 passphrase"
# qemu-img times its PBKDF2 to encrypt.iter-time; short keeps the tests fast.
QFAST = "encrypt.iter-time=10"

CASES = Cases()
case = CASES.case


run = test_img.run
# The documented environment variable, set for one command.
WITH_PASS = ["env", "VESSEL_IMG_PASSPHRASE=" + PASS.decode()]


class Keys:
    def __init__(self, tmp):
        self.file = os.path.join(tmp, "key")
        with open(self.file, "wb") as f:
            f.write(PASS)
        self.obj = ["--object", "secret,id=sec0,file=" + self.file]

    def spec(self, img, driver="qcow2"):
        return "driver=%s,file.filename=%s,encrypt.key-secret=sec0" % (driver, img)


def vessel(*args, **kw):
    return run([VESSEL, "img"] + list(args), **kw)


def qimg(*args, check=False, **kw):
    # qemu-img times PBKDF2 by thread CPU time, which reads 0 now and then
    # on a loaded machine ("Unable to get accurate CPU usage"): retried.
    for _ in range(8):
        rc, out, err = run(["qemu-img"] + list(args), **kw)
        if "accurate CPU usage" not in err:
            break
    if check and rc != 0:
        raise AssertionError("qemu-img %s -> %d\n%s%s" % (" ".join(args), rc, out, err))
    return rc, out, err


def qio(keys, img, *cmds):
    argv = ["qemu-io"] + keys.obj + ["--image-opts"]
    for c in cmds:
        argv += ["-c", c]
    run(argv + [keys.spec(img)], check=True)


MADE = tempfile.mkdtemp(prefix="vessel-luks-made-")


def q_create(keys, img, size="1M", opts=""):
    """A new qemu-img encrypted image (one passphrase in every test): a copy
    of one made earlier with the same options when there is one."""
    made = os.path.join(MADE, "%s-%d.qcow2" % (size, abs(hash(opts))))
    if not os.path.exists(made):
        qimg("create", "-q", *keys.obj, "-f", "qcow2", "-o",
             "encrypt.format=luks,encrypt.key-secret=sec0,%s%s" % (QFAST, "," + opts if opts else ""), made, size,
             check=True)
    shutil.copyfile(made, img)


def q_raw(keys, img, out):
    """qemu-img's plain-text reading of an encrypted image."""
    qimg("convert", *keys.obj, "--image-opts", keys.spec(img), "-O", "raw", out, check=True)
    return read(out)


def v_raw(keys, img, out):
    rc, _, err = vessel("convert", "--key-file", keys.file, "-O", "raw", img, out)
    assert rc == 0, "vessel convert %s: %s" % (img, err)
    return read(out)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def qcheck_clean(keys, img):
    rc, out, err = qimg("check", *keys.obj, "--image-opts", keys.spec(img))
    assert rc == 0 and "No errors" in out, "qemu-img check %s -> %d\n%s%s" % (img, rc, out, err)


def make_source(tmp, seed=1):
    return test_img.make_source(tmp, size=8 << 20, seed=seed)


QEMU_IO_OPS = ["write -P 0x11 0 4k", "write -P 0x22 70000 9000", "write -P 0x33 3M 1M", "write -z 3200k 100k",
               "write -P 0x44 12345 999", "discard 5M 1M", "write -P 0x55 7M 3k"]


# ---- qemu-img makes and writes, vessel reads ----

@case("qemu-img encrypted images (cluster sizes, ciphers, v2, extended L2) read identically")
def t_read_qemu(tmp):
    keys = Keys(tmp)
    src = make_source(tmp)
    # qemu-img spends seconds timing PBKDF2 for each new image: few variants
    # (t_convert reads a cbc-plain64 one).
    # (qemu 7.2 cannot make aes-192-cbc images: its key material is not
    # whole sectors; vessel's unit tests cover that cipher.)
    variants = ["cluster_size=512,compat=0.10", "cluster_size=2M,extended_l2=on",
                "encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,"
                "encrypt.ivgen-hash-alg=sha256,encrypt.hash-alg=sha1,cluster_size=4096",
                "encrypt.cipher-mode=cbc,encrypt.ivgen-alg=plain,encrypt.cipher-alg=aes-128"]
    for opts in variants:
        img = os.path.join(tmp, "q.qcow2")
        qimg("convert", *keys.obj, "-O", "qcow2", "-o",
             "encrypt.format=luks,encrypt.key-secret=sec0,%s,%s" % (QFAST, opts), src, img, check=True)
        qio(keys, img, *QEMU_IO_OPS)
        want = q_raw(keys, img, os.path.join(tmp, "q.raw"))
        assert v_raw(keys, img, os.path.join(tmp, "v.raw")) == want, "%s: vessel reads other content" % opts
        rc, out, err = vessel("check", "--key-file", keys.file, img)
        assert rc == 0, "%s: vessel check: %s%s" % (opts, out, err)
        os.unlink(img)


# ---- vessel makes and writes, qemu-img reads ----

WRITES = [("write", 0, 4096, 0x11), ("write", 65536 + 100, 70000, 0x22), ("write", 3 << 20, 1 << 20, 0x33),
          ("zero", (3 << 20) + 4096, 200000), ("discard", 0, 65536), ("write", 12345, 999, 0x44),
          ("zero", 5 << 20, 1 << 20), ("write", (5 << 20) + 512, 512, 0x55), ("write", (8 << 20) - 700, 700, 0x66),
          ("write", 7 << 20, 300, 0x77)]


@case("vessel encrypted images pass qemu-img check and read back like qemu-io's writes")
def t_vessel_writes(tmp):
    keys = Keys(tmp)
    for opts in ["cluster_size=65536", "cluster_size=512", "cluster_size=4096", "cluster_size=2M",
                 "compat=0.10", "extended_l2=on", "preallocation=metadata,cluster_size=16k",
                 "encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.cipher-alg=aes-128",
                 "encrypt.cipher-mode=cbc,encrypt.ivgen-alg=plain,encrypt.hash-alg=sha512"]:
        img, ref = os.path.join(tmp, "v.qcow2"), os.path.join(tmp, "ref.qcow2")
        rc, out, err = vessel("create", *keys.obj, "-f", "qcow2", "-o",
                              "encrypt.format=luks,encrypt.key-secret=sec0," + opts, img, "8M")
        assert rc == 0, "%s: %s" % (opts, err)
        qcheck_clean(keys, img)
        shutil.copyfile(img, ref)
        run(WITH_PASS + [WRITER, img] + test_img.writer_ops(WRITES), check=True)
        qio(keys, ref, *test_img.qio_ops(WRITES))
        qcheck_clean(keys, img)
        a = q_raw(keys, img, os.path.join(tmp, "a.raw"))
        assert a == q_raw(keys, ref, os.path.join(tmp, "b.raw")), "%s: writes read back differently" % opts
        assert v_raw(keys, img, os.path.join(tmp, "c.raw")) == a, "%s: vessel reads its writes differently" % opts
        os.unlink(img)
        os.unlink(ref)


@case("info (human and json) of an encrypted image matches qemu-img's, without a passphrase")
def t_info(tmp):
    keys = Keys(tmp)
    for maker in ("vessel", "qemu"):
        img = os.path.join(tmp, "%s.qcow2" % maker)
        opts = "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv"
        if maker == "vessel":
            rc, _, err = vessel("create", *keys.obj, "-f", "qcow2", "-o", opts, img, "4M")
            assert rc == 0, err
        else:
            q_create(keys, img, "4M", opts.replace("encrypt.format=luks,encrypt.key-secret=sec0,", ""))
        for out in ("human", "json"):
            rc, v, err = vessel("info", "--output", out, img)
            assert rc == 0, err
            _, q, _ = qimg("info", "--output", out, img, check=True)
            if out == "json":
                v, q = json.loads(v), json.loads(q)
                v.pop("actual-size")
                q.pop("actual-size")
            else:
                v = [line for line in v.splitlines() if not line.startswith("disk size")]
                q = [line for line in q.splitlines() if not line.startswith("disk size")]
            assert v == q, "%s info --output %s differs:\nvessel %s\nqemu %s" % (maker, out, v, q)


@case("a wrong passphrase and a missing one are refused (exit 1) with a message saying what to do")
def t_wrong_key(tmp):
    keys = Keys(tmp)
    img = os.path.join(tmp, "e.qcow2")
    q_create(keys, img)
    bad = os.path.join(tmp, "bad")
    with open(bad, "wb") as f:
        f.write(PASS + b"\n")  # a trailing newline is part of the passphrase
    out = os.path.join(tmp, "o.raw")
    for argv in (["convert", "--key-file", bad, "-O", "raw", img, out],
                 ["convert", "--object", "secret,id=s,file=" + bad, "--image-opts",
                  "driver=qcow2,file.filename=%s,encrypt.key-secret=s" % img, "-O", "raw", out],
                 ["check", "--key-file", bad, img]):
        rc, _, err = vessel(*argv)
        assert rc == 1 and "wrong passphrase for `%s`" % img in err, (argv, rc, err)
        assert not os.path.exists(out)
    qrc, _, _ = qimg("convert", "--object", "secret,id=s,file=" + bad, "--image-opts",
                     "driver=qcow2,file.filename=%s,encrypt.key-secret=s" % img, "-O", "raw", out)
    assert qrc == 1
    rc, _, err = vessel("convert", "-O", "raw", img, out)
    assert rc == 1 and "--object secret" in err and "--key-file" in err and "VESSEL_IMG_PASSPHRASE" in err, err
    rc, _, err = vessel("convert", "--image-opts", "driver=qcow2,file.filename=%s,encrypt.key-secret=nope" % img,
                        "-O", "raw", out)
    assert rc == 1 and "nope" in err, err


@case("convert plain <-> encrypted both ways, checked by qemu-img")
def t_convert(tmp):
    keys = Keys(tmp)
    src = make_source(tmp, seed=5)
    plain = os.path.join(tmp, "plain.qcow2")
    qimg("convert", "-O", "qcow2", src, plain, check=True)
    enc = os.path.join(tmp, "enc.qcow2")
    vessel("convert", *keys.obj, "-O", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,cluster_size=4k",
           plain, enc, check=True)
    qcheck_clean(keys, enc)
    assert q_raw(keys, enc, os.path.join(tmp, "a.raw")) == read(src)
    # Encrypted to encrypted with another passphrase, via base64 data.
    enc2 = os.path.join(tmp, "enc2.qcow2")
    vessel("convert", "--object", "secret,id=a,file=" + keys.file, "--object", "secret,id=b,data=b3RoZXI=,format=base64",
           "--image-opts", "driver=qcow2,file.filename=%s,encrypt.key-secret=a" % enc, "-O", "qcow2",
           "-o", "encrypt.format=luks,encrypt.key-secret=b", enc2, check=True)
    rc, _, err = vessel("compare", "--object", "secret,id=a,file=" + keys.file, "--object", "secret,id=b,data=other",
                        "--image-opts", "driver=qcow2,file.filename=%s,encrypt.key-secret=a" % enc,
                        "driver=qcow2,file.filename=%s,encrypt.key-secret=b" % enc2)
    assert rc == 0, err
    # Encrypted (made by qemu-img) to plain, by vessel.
    qenc = os.path.join(tmp, "qenc.qcow2")
    qimg("convert", *keys.obj, "-O", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,%s,%s"
         % (QFAST, "encrypt.cipher-mode=cbc,encrypt.ivgen-alg=plain64,encrypt.hash-alg=sha512"), src, qenc, check=True)
    back = os.path.join(tmp, "back.qcow2")
    run(WITH_PASS + [VESSEL, "img", "convert", "-O", "qcow2", qenc, back], check=True)
    qimg("check", back, check=True)
    rc, out, err = qimg("compare", back, src)
    assert rc == 0, out + err
    rc, _, err = vessel("convert", "-c", *keys.obj, "-O", "qcow2", "-o", "encrypt.format=luks", plain,
                        os.path.join(tmp, "c.qcow2"))
    assert rc == 1 and "-c" in err, err


@case("map, compare, bench, snapshot, commit and rebase work on encrypted images")
def t_commands(tmp):
    keys = Keys(tmp)
    k = ["--key-file", keys.file]
    src = make_source(tmp, seed=6)
    base = os.path.join(tmp, "base.qcow2")
    vessel("convert", *k, "-O", "qcow2", "-o", "encrypt.format=luks", src, base, check=True)
    _, vm, _ = vessel("map", *k, "--output", "json", base, check=True)
    _, qm, _ = qimg("map", *keys.obj, "--output", "json", "--image-opts", keys.spec(base), check=True)
    assert json.loads(vm) == json.loads(qm), "map differs:\n%s\n%s" % (vm, qm)
    # Human map cannot show data without a host offset: an error, as in qemu-img.
    rc, _, err = vessel("map", *k, base)
    assert rc == 1 and "encrypted" in err and qimg("map", *keys.obj, "--image-opts", keys.spec(base))[0] == 1, err
    rc, out, err = vessel("compare", *k, base, src)
    assert rc == 0, out + err
    # Writes through the asynchronous path (queue depth 32, workers).
    vessel("bench", *k, "-w", "-d", "32", "--pattern=90", "-c", "200", "-s", "4k", "-S", "12k", base, check=True)
    qio(keys, base, "read -P 90 0 4k", "read -P 90 12k 4k", "read -P 90 %d 4k" % (199 * 12 * 1024))
    vessel("bench", *k, "-c", "200", "-s", "4k", base, check=True)
    qcheck_clean(keys, base)
    # Internal snapshots: taken by vessel, applied by qemu-img and back.
    before = q_raw(keys, base, os.path.join(tmp, "before.raw"))
    vessel("snapshot", *k, "-c", "s1", base, check=True)
    qio(keys, base, "write -P 0x5a 1M 64k")
    _, out, _ = vessel("snapshot", *k, "-l", base, check=True)
    assert "s1" in out
    vessel("snapshot", *k, "-a", "s1", base, check=True)
    qcheck_clean(keys, base)
    assert q_raw(keys, base, os.path.join(tmp, "after.raw")) == before
    # An encrypted overlay on the encrypted base (one passphrase for both),
    # written by qemu-io, committed by vessel.
    top = os.path.join(tmp, "top.qcow2")
    vessel("create", *k, "-f", "qcow2", "-o", "encrypt.format=luks", "-b", "base.qcow2", "-F", "qcow2", top,
           check=True)
    argv = ["qemu-io", "--object", "secret,id=sec0,file=" + keys.file, "--image-opts",
            "driver=qcow2,file.filename=%s,encrypt.key-secret=sec0,backing.encrypt.key-secret=sec0" % top,
            "-c", "write -P 0x6b 2M 100k", "-c", "write -P 0x6c 4097 3000"]
    run(argv, check=True)
    want = v_raw(keys, top, os.path.join(tmp, "top.raw"))
    vessel("commit", *keys.obj, "--image-opts",
           "driver=qcow2,file.filename=%s,encrypt.key-secret=sec0,backing.encrypt.key-secret=sec0" % top, check=True)
    qcheck_clean(keys, base)
    assert q_raw(keys, base, os.path.join(tmp, "base.raw")) == want
    # Rebase the overlay onto a plain copy of the base: content stays.
    plain = os.path.join(tmp, "plain.qcow2")
    vessel("convert", *k, "-O", "qcow2", base, plain, check=True)
    vessel("rebase", *keys.obj, "--image-opts", "-b", "plain.qcow2", "-F", "qcow2", keys.spec(top), check=True)
    assert v_raw(keys, top, os.path.join(tmp, "top2.raw")) == want
    qcheck_clean(keys, top)


def luks_area(img):
    with open(img, "rb") as f:
        h = f.read(4096)
    off = 112
    while True:
        typ, ln = struct.unpack(">II", h[off:off + 8])
        if typ == 0x0537be77:
            return struct.unpack(">Q", h[off + 8:off + 16])[0]
        assert typ != 0
        off += 8 + (ln + 7) // 8 * 8


@case("hostile LUKS headers are refused naming the field")
def t_hostile(tmp):
    keys = Keys(tmp)
    good = os.path.join(tmp, "good.qcow2")
    q_create(keys, good)
    luks = luks_area(good)
    cases = [(108, struct.pack(">I", 4096), "key_bytes"),
             (208 + 4, struct.pack(">I", 0xffffffff), "iterations"),
             (164, struct.pack(">I", 0), "mk_digest_iterations"),
             (208 + 40, struct.pack(">I", 0x7fffffff), "key_offset"),
             (208 + 44, struct.pack(">I", 4001), "stripes"),
             (40, b"xts-bogus\0", "IV generator"),
             (8, b"serpent\0", "cipher_name"),
             (72, b"A" * 32, "hash_spec")]
    for off, data, field in cases:
        bad = os.path.join(tmp, "bad.qcow2")
        shutil.copyfile(good, bad)
        with open(bad, "r+b") as f:
            f.seek(luks + off)
            f.write(data)
        rc, _, err = vessel("info", bad)
        assert rc == 1 and field in err, (field, rc, err)
        rc, _, err = vessel("convert", "--key-file", keys.file, "-O", "raw", bad, os.path.join(tmp, "x.raw"))
        assert rc == 1 and field in err, (field, rc, err)
    # The extension pointing past the end of the file.
    bad = os.path.join(tmp, "bad.qcow2")
    shutil.copyfile(good, bad)
    with open(bad, "r+b") as f:
        h = f.read(4096)
        f.seek(h.index(struct.pack(">I", 0x0537be77)) + 8)
        f.write(struct.pack(">Q", 1 << 40))
    rc, _, err = vessel("info", bad)
    assert rc == 1 and "LUKS header" in err, err


def main():
    try:
        return CASES.run("vessel-luks-")
    finally:
        shutil.rmtree(MADE, ignore_errors=True)

if __name__ == "__main__":
    sys.exit(main())
