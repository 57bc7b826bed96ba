#!/usr/bin/env python3
"""`vessel img serve` (an NBD server) with qemu-img and qemu-io as clients,
plus a small NBD client here for what they cannot do (hold a connection
open, skip the flush, send hostile bytes). Prints TAP.

Usage: test_img_serve.py VESSEL

- qemu-io reads and writes through a unix socket and a TCP port (export
  names included); the image file has the writes afterwards and passes
  `qemu-img check`;
- `qemu-img convert` from and into the export gives identical bytes (md5);
- `qemu-img map` of the export shows the holes (block status);
- two qemu-io clients at once, and writes of one visible to another
  connection that was open all along;
- SIGTERM with unflushed writes: the server exits 0, the data is in the
  file, the socket file is gone;
- read-only exports refuse writes; errors (socket path exists, port in
  use, bad image, missing options) exit 1 with a message;
- hostile client bytes do not crash it (it serves the next client).

Skips everything when qemu-img/qemu-io are missing.
"""
import hashlib
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.img_cases import Cases  # noqa: E402

VESSEL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL", "build/vessel")
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


def qio(uri, *cmds, fmt="raw", check=True):
    argv = ["qemu-io", "-f", fmt]
    for c in cmds:
        argv += ["-c", c]
    rc, out, err = run(argv + [uri], check=check)
    if check and ("verification failed" in out or "failed" in err):
        raise AssertionError("qemu-io %s %s:\n%s%s" % (uri, cmds, out, err))
    return rc, out, err


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


class Server:
    """A `vessel img serve` process; stop() sends SIGTERM and checks it."""

    def __init__(self, tmp, image, *args, sock=True, name=""):
        self.sock = os.path.join(tmp, "nbd.sock") if sock else None
        argv = [VESSEL, "img", "serve"] + list(args)
        if name:
            argv += ["-x", name]
        argv += ["--socket", self.sock] if sock else ["--port", "0"]
        self.p = subprocess.Popen(argv + [image], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        if not line.startswith("serving"):
            self.p.kill()
            raise AssertionError("serve did not start: %r %s" % (line, self.p.stderr.read().decode()))
        self.uri = line.split(" at ", 1)[1].strip()
        if not sock:
            self.port = int(self.uri.split(":")[2].split("/")[0])

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        try:
            _, err = self.p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("serve did not exit on signal %d" % sig)
        err = err.decode(errors="replace")
        for m in SANITIZER_MARKERS:
            if m in err:
                raise AssertionError("sanitizer report from serve:\n%s" % err)
        if self.p.returncode != 0:
            raise AssertionError("serve exited %d on signal %d: %s" % (self.p.returncode, sig, err))
        if self.sock and os.path.exists(self.sock):
            raise AssertionError("socket file %s left behind" % self.sock)
        return err

    def alive(self):
        return self.p.poll() is None


# ---- A minimal NBD client ----

OPTS_MAGIC = b"IHAVEOPT"
REQ_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
STRUCT_MAGIC = 0x668E33EF


class Client:
    def __init__(self, server, name=""):
        if server.sock:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.connect(server.sock)
        else:
            self.s = socket.create_connection(("127.0.0.1", server.port))
        self.s.settimeout(30)
        hello = self.recv(18)
        assert hello[:16] == b"NBDMAGIC" + OPTS_MAGIC, hello
        self.s.sendall(struct.pack(">I", 3))
        self.cookie = 0
        self.opt(8)  # structured replies
        q = b"base:allocation"
        self.opt(10, struct.pack(">I", len(name)) + name.encode() + struct.pack(">II", 1, len(q)) + q)
        reps = self.opt(7, struct.pack(">I", len(name)) + name.encode() + struct.pack(">H", 0))
        info = [d for t, d in reps if t == 3 and d[:2] == b"\0\0"][0]
        self.size, self.flags = struct.unpack(">QH", info[2:12])

    def recv(self, n):
        b = b""
        while len(b) < n:
            x = self.s.recv(n - len(b))
            if not x:
                raise EOFError("server closed the connection")
            b += x
        return b

    def opt(self, o, data=b""):
        self.s.sendall(OPTS_MAGIC + struct.pack(">II", o, len(data)) + data)
        reps = []
        while True:
            magic, ro, typ, ln = struct.unpack(">QIII", self.recv(20))
            assert magic == 0x3E889045565A9 and ro == o, (magic, ro)
            reps.append((typ, self.recv(ln)))
            if typ == 1 or typ & 0x80000000:
                return reps

    def request(self, typ, off, ln, flags=0, data=b""):
        """Returns (error, bytes read, chunk types)."""
        self.cookie += 1
        self.s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, flags, typ, self.cookie, off, ln) + data)
        buf, types = bytearray(ln if typ == 0 else 0), []
        while True:
            magic = struct.unpack(">I", self.recv(4))[0]
            if magic == SIMPLE_MAGIC:
                err, cookie = struct.unpack(">IQ", self.recv(12))
                assert cookie == self.cookie
                return err, bytes(buf), types
            assert magic == STRUCT_MAGIC, hex(magic)
            cflags, ctype, cookie, clen = struct.unpack(">HHQI", self.recv(16))
            assert cookie == self.cookie
            payload = self.recv(clen)
            types.append(ctype)
            if ctype == 1:
                o = struct.unpack(">Q", payload[:8])[0] - off
                buf[o:o + clen - 8] = payload[8:]
            elif ctype == 5:
                types.append(payload)
            elif ctype & 0x8000:
                return struct.unpack(">I", payload[:4])[0], b"", types
            if cflags & 1:
                return 0, bytes(buf), types

    def close(self):
        self.cookie += 1
        self.s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, 0, 2, self.cookie, 0, 0))
        self.s.close()


def make_qcow2(tmp, size="64M"):
    img = os.path.join(tmp, "disk.qcow2")
    run([VESSEL, "img", "create", "-f", "qcow2", img, size], check=True)
    return img


# ---- Cases ----

@case("qemu-io reads and writes a qcow2 export on a unix socket; the file has the writes")
def t_read_write(tmp):
    img = make_qcow2(tmp)
    run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xab 1M 1M", img], check=True)
    srv = Server(tmp, img, "-f", "qcow2")
    qio(srv.uri, "read -P 0xab 1M 1M", "read -P 0 0 1M", "write -P 0xcd 10M 192k", "write -z 1536k 64k",
        "read -P 0xcd 10M 192k", "read -P 0 1536k 64k", "discard 10M 64k", "read -P 0 10M 64k")
    srv.stop()
    run(["qemu-img", "check", img], check=True)
    qio(img, "read -P 0xcd 10304k 128k", "read -P 0xab 1M 512k", "read -P 0 1536k 64k", fmt="qcow2")


@case("qemu-img convert from and into the export: identical bytes (md5)")
def t_convert(tmp):
    src = os.path.join(tmp, "src.raw")
    rnd = random.Random(7)
    with open(src, "wb") as f:
        f.truncate(32 << 20)
        for _ in range(60):
            f.seek(rnd.randrange(0, (32 << 20) - 300000))
            f.write(rnd.randbytes(rnd.randrange(1, 300000)))
    img = os.path.join(tmp, "src.qcow2")
    run(["qemu-img", "convert", "-O", "qcow2", src, img], check=True)
    srv = Server(tmp, img, "-f", "qcow2", "--read-only", sock=False, name="src")
    out = os.path.join(tmp, "out.raw")
    run(["qemu-img", "convert", "-f", "raw", "-O", "raw", srv.uri, out], check=True)
    srv.stop()
    if md5(out) != md5(src):
        raise AssertionError("convert from the export differs from the source")
    # Into an export: a fresh qcow2 served read-write, written by convert -n.
    dst = os.path.join(tmp, "dst.qcow2")
    run([VESSEL, "img", "create", "-f", "qcow2", dst, "32M"], check=True)
    srv = Server(tmp, dst, "-f", "qcow2")
    run(["qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src, srv.uri], check=True)
    srv.stop()
    back = os.path.join(tmp, "back.raw")
    run(["qemu-img", "convert", "-O", "raw", dst, back], check=True)
    if md5(back) != md5(src):
        raise AssertionError("convert into the export differs from the source")
    run(["qemu-img", "check", dst], check=True)


@case("qemu-img map of the export shows holes where the image has none allocated")
def t_map(tmp):
    img = make_qcow2(tmp)
    run(["qemu-io", "-f", "qcow2", "-c", "write -P 1 2M 1M", "-c", "write -P 2 20M 64k", img], check=True)
    srv = Server(tmp, img)
    _, out, _ = run(["qemu-img", "map", "--output=json", "-f", "raw", srv.uri], check=True)
    srv.stop()
    import json
    data = [(e["start"], e["length"]) for e in json.loads(out) if e["data"]]
    if data != [(2 << 20, 1 << 20), (20 << 20, 64 << 10)]:
        raise AssertionError("map of the export: data extents %s, map:\n%s" % (data, out))


@case("two qemu-io clients at once; writes of one are visible to a connection open all along")
def t_clients(tmp):
    img = make_qcow2(tmp)
    srv = Server(tmp, img, "-f", "qcow2")
    watcher = Client(srv)
    if not watcher.flags & (1 << 8):
        raise AssertionError("the export does not advertise CAN_MULTI_CONN")
    errs = []

    def writer(pattern, base):
        try:
            cmds = ["write -P %d %dM 256k" % (pattern, base + i) for i in range(8)]
            cmds += ["read -P %d %dM 256k" % (pattern, base + i) for i in range(8)]
            qio(srv.uri, *cmds)
        except Exception as e:  # noqa: BLE001
            errs.append(e)
    ts = [threading.Thread(target=writer, args=(0x11, 0)), threading.Thread(target=writer, args=(0x22, 16))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise errs[0]
    err, data, _ = watcher.request(0, 16 << 20, 4096)
    if err or data != b"\x22" * 4096:
        raise AssertionError("the open connection does not see another client's write (err %d)" % err)
    watcher.close()
    srv.stop()
    qio(img, "read -P 0x11 0 256k", "read -P 0x22 23M 256k", fmt="qcow2")


@case("SIGTERM with unflushed writes: exit 0, data in the file, socket removed")
def t_sigterm(tmp):
    img = make_qcow2(tmp)
    srv = Server(tmp, img, "-f", "qcow2")
    c = Client(srv)
    err, _, _ = c.request(1, 5 << 20, 65536, data=b"\x5a" * 65536)
    if err:
        raise AssertionError("write failed: %d" % err)
    srv.stop()  # the client is still connected and never flushed
    c.s.close()
    run(["qemu-img", "check", img], check=True)
    qio(img, "read -P 0x5a 5M 64k", fmt="qcow2")
    # SIGINT ends it the same way.
    srv = Server(tmp, img, "-f", "qcow2")
    srv.stop(signal.SIGINT)


@case("structured replies: holes as OFFSET_HOLE chunks, block status, FUA, errors")
def t_protocol(tmp):
    img = make_qcow2(tmp, "4M")
    run(["qemu-io", "-f", "qcow2", "-c", "write -P 9 1M 64k", img], check=True)
    srv = Server(tmp, img, "-f", "qcow2", name="disk")
    c = Client(srv, "disk")
    err, data, types = c.request(0, 960 << 10, 192 << 10)
    if err or types != [2, 1, 2] or data != bytes(64 << 10) + b"\x09" * (64 << 10) + bytes(64 << 10):
        raise AssertionError("read across a hole: err %d, chunk types %s" % (err, types))
    err, _, types = c.request(7, 0, 4 << 20)
    ext = types[1]
    got = [struct.unpack(">II", ext[i:i + 8]) for i in range(4, len(ext), 8)]
    if err or got != [(1 << 20, 3), (64 << 10, 0), ((3 << 20) - (64 << 10), 3)]:
        raise AssertionError("block status: %s" % got)
    err, _, _ = c.request(1, 0, 512, flags=1, data=b"\x01" * 512)  # FUA
    if err:
        raise AssertionError("FUA write failed")
    err, _, _ = c.request(0, 4 << 20, 512)
    if err != 22:
        raise AssertionError("read past the end: error %d, not EINVAL" % err)
    err, _, _ = c.request(1, (4 << 20) - 256, 512, data=b"\x02" * 512)
    if err != 28:
        raise AssertionError("write past the end: error %d, not ENOSPC" % err)
    err, data, _ = c.request(0, 0, 512)
    if err or data != b"\x01" * 512:
        raise AssertionError("the connection is unusable after refused requests")
    c.close()
    # An unknown export name is refused with NBD_REP_ERR_UNKNOWN.
    try:
        Client(srv, "other")
        raise AssertionError("an unknown export name was accepted")
    except IndexError:
        pass
    srv.stop()


@case("read-only export: reads work, writes fail, the file is untouched")
def t_read_only(tmp):
    img = make_qcow2(tmp)
    before = md5(img)
    srv = Server(tmp, img, "--read-only")
    run(["qemu-io", "-r", "-f", "raw", "-c", "read -P 0 0 64k", srv.uri], check=True)
    rc, out, err = qio(srv.uri, "write -P 1 0 64k", check=False)
    if rc == 0 or "Permission denied" not in err:
        raise AssertionError("qemu-io opened a read-only export for writing: %s%s" % (out, err))
    c = Client(srv)
    if not c.flags & 2:
        raise AssertionError("the export does not advertise READ_ONLY")
    for req in ((1, 0, 512, b"w" * 512), (4, 0, 65536, b""), (6, 0, 65536, b"")):
        err, _, _ = c.request(req[0], req[1], req[2], data=req[3])
        if err != 1:
            raise AssertionError("command %d on a read-only export: error %d, not EPERM" % (req[0], err))
    c.close()
    srv.stop()
    if md5(img) != before:
        raise AssertionError("a read-only export changed the file")


@case("errors: socket path exists, port in use, bad image, missing options (exit 1, a message)")
def t_errors(tmp):
    img = make_qcow2(tmp)
    sock = os.path.join(tmp, "taken.sock")
    open(sock, "w").close()
    rc, _, err = run([VESSEL, "img", "serve", "--socket", sock, img])
    if rc != 1 or "exists" not in err:
        raise AssertionError("existing socket path: rc %d, %s" % (rc, err))
    if not os.path.exists(sock):
        raise AssertionError("the existing path was removed")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    rc, _, err = run([VESSEL, "img", "serve", "--port", str(port), img])
    busy.close()
    if rc != 1 or "in use" not in err:
        raise AssertionError("port in use: rc %d, %s" % (rc, err))
    bad = os.path.join(tmp, "bad.qcow2")
    with open(bad, "wb") as f:
        f.write(b"QFI\xfb" + b"\xff" * 200)
    sock2 = os.path.join(tmp, "s2.sock")
    rc, _, err = run([VESSEL, "img", "serve", "-f", "qcow2", "--socket", sock2, bad])
    if rc != 1 or "bad.qcow2" not in err or os.path.exists(sock2):
        raise AssertionError("bad image: rc %d, %s" % (rc, err))
    rc, _, err = run([VESSEL, "img", "serve", os.path.join(tmp, "missing.qcow2"), "--socket", sock2])
    if rc != 1 or "missing.qcow2" not in err:
        raise AssertionError("missing image: rc %d, %s" % (rc, err))
    for args in ([img], ["--socket", sock2, "--port", "1", img], ["--port", "70000", img],
                 ["--socket", sock2, "--bind", "127.0.0.1", img]):
        rc, _, err = run([VESSEL, "img", "serve"] + args)
        if rc != 1 or not err.strip():
            raise AssertionError("serve %s: rc %d, %s" % (args, rc, err))


@case("hostile client bytes: the server survives and serves the next client")
def t_hostile(tmp):
    img = make_qcow2(tmp, "8M")
    srv = Server(tmp, img, "-f", "qcow2")
    rnd = random.Random(3)
    req = lambda t, off, ln, fl=0: struct.pack(">IHHQQI", REQ_MAGIC, fl, t, 1, off, ln)  # noqa: E731
    go = OPTS_MAGIC + struct.pack(">II", 7, 6) + b"\0" * 6
    payloads = [
        rnd.randbytes(4096),
        b"\0\0\0\3" + OPTS_MAGIC + struct.pack(">II", 7, 0xFFFFFFFF) + rnd.randbytes(1000),
        b"\0\0\0\3" + OPTS_MAGIC + struct.pack(">II", 10, 16) + struct.pack(">IIII", 0xFFFF, 0, 0, 0),
        b"\xff\xff\xff\xff",
        b"\0\0\0\3" + go + req(0, 0, 0xFFFFFFFF) + req(1, 1 << 62, 64) + b"x" * 64 + req(7, 0, 1 << 20),
        b"\0\0\0\3" + go + req(0, (1 << 64) - 512, 1024) + req(1, 0, 0xFFFFFFF0) + b"y" * 5000,
        b"\0\0\0\3" + go + req(99, 0, 0) + req(4, 0, 0, 0xFFFF) + rnd.randbytes(500),
        b"\0\0\0\3" + OPTS_MAGIC + struct.pack(">II", 1, 3) + b"bad",
    ]
    for p in payloads:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(srv.sock)
        try:
            s.sendall(p)
            s.settimeout(2)
            while s.recv(65536):
                pass
        except (OSError, socket.timeout):
            pass
        s.close()
        if not srv.alive():
            raise AssertionError("the server died on hostile bytes %r..." % p[:40])
    # A client that pipelines reads and never receives: memory stays bounded
    # (the server stops reading) and the server stays responsive.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(srv.sock)
    s.sendall(b"\0\0\0\3" + go + req(0, 0, 8 << 20) * 64)
    qio(srv.uri, "read -P 0 0 64k")
    s.close()
    srv.stop()
    run(["qemu-img", "check", img], check=True)


def main():
    return CASES.run("vessel-serve-")


if __name__ == "__main__":
    sys.exit(main())
