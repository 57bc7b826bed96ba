#!/usr/bin/env python3
"""virtio-net seen by real Linux (issue 9): the default guest (Debian's
cloud kernel, scripts/default-guest.sh) under `--accel emu`, four VMs run
at the same time. Prints TAP.

Usage: test_linux_net.py [VESSEL]   (or $VESSEL; the environment of
test_linux.py: VESSEL_CACHE, VESSEL_TEST_TIMEOUT, VESSEL_TEST_FILTER)

Every VM checks that Linux negotiated MRG_RXBUF, CSUM, GUEST_CSUM and
HOST_TSO4/6, so the transfers below run through the device's offloads
(checksums completed and TCP frames segmented before any backend).
The NAT VM (`--net user,hostfwd=...,rx-bps=...,tx-bps=...`):
  - udhcpc gets slirp's lease: 10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3;
  - busybox wget fetches a file from an HTTP server this script runs on the
    host's loopback, through 10.0.2.2: its md5 equals the host's, and the
    transfer took at least what rx-bps allows (lower bound only: the host
    is shared and noisy);
  - the host fetches a file from the guest's busybox httpd through hostfwd:
    same bytes, and at least as slow as tx-bps allows.
The switch VMs (`--net switch=NAME`, static 192.168.77.1 and .2, every
address on-link so anything outside the segment is ARPed for on it):
  - each pings the other;
  - .2 fetches a file from .1's httpd (bulk TCP across the switch) with the
    right md5;
  - neither reaches slirp's gateway, the host's own address, a public
    address, or a TCP listener on the host (which must see no connection).
The tap VM (`--net tap=NAME`, a tap vessel creates; root only, skipped
otherwise): the host addresses the tap (10.249.N.1/24), the guest
(10.249.N.2) fetches a file from the host and the host one from the
guest's httpd, md5 equal; the tap is gone once vessel has exited.
Unlimited, the NAT VM moves 1.5-7 MB/s either way on this shared host
under the emulator, so the rate checks (at least 4.7 s for 1 MiB at
200 kB/s) can fail. One run of the four VMs: 80-110 s.
"""
import concurrent.futures
import hashlib
import http.server
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap  # noqa: E402
from test_linux import CMDLINE, MEM, Run, common_problems, newc, prepare_guest  # noqa: E402

RX_BPS = 200000
TX_BPS = 200000
BLOB_LEN = 1 << 20  # host -> guest through NAT
UP_LEN = 1 << 20  # guest -> host through hostfwd
BULK_LEN = 2 << 20  # across the switch
GUEST_HTTP_PORT = 8080
GUEST_DONE_PORT = 8081
SWITCH_DONE_PORT = 7777
PUBLIC_ADDR = "192.0.2.1"  # TEST-NET-1: nobody answers it anywhere

SECTION = 'section() { echo "@@begin $1"; shift; "$@"; echo "@@end"; }\n'
UPTIME = "$(cut -d' ' -f1 /proc/uptime)"

# udhcpc's event script: configure what the lease says and print it.
DHCP_SCRIPT = """#!/bin/sh
case "$1" in
bound|renew)
	ifconfig "$interface" "$ip" netmask "$subnet" up
	for r in $router; do ip route add default via "$r" dev "$interface"; done
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	echo "@@lease $ip $subnet $router $dns"
	;;
esac
"""


# The guest serves /www on GUEST_HTTP_PORT until the host connects to
# GUEST_DONE_PORT (at most 300 s).
SERVE_UNTIL_DONE = f"""
nc -l -p {GUEST_DONE_PORT} </dev/null >/dev/null &
done_pid=$!
httpd -p {GUEST_HTTP_PORT} -h /www
echo "@@httpd-ready {GUEST_HTTP_PORT}"
n=0
while kill -0 $done_pid 2>/dev/null; do
	n=$((n + 1)); [ $n -ge 300 ] && break; sleep 1
done
kill -0 $done_pid 2>/dev/null || echo "@@host-done {GUEST_DONE_PORT}"
"""


def nat_script(host_port):
    return SECTION + f"""
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -s /dhcp.sh -f -q -n -t 10 -T 2
section features cat /sys/class/net/eth0/device/features
section addr ip -4 addr show dev eth0
section route ip route
section dns cat /etc/resolv.conf
echo "@@wget-begin {UPTIME}"
wget -q -O /tmp/blob http://10.0.2.2:{host_port}/blob
echo "@@wget-end {UPTIME} $?"
section blob md5sum /tmp/blob
""" + SERVE_UNTIL_DONE


def tap_script(net, host_port):
    return SECTION + f"""
ip link set lo up
ip link set eth0 up
ip addr add {net}.2/24 dev eth0
n=0
while ! ping -c 1 -W 1 {net}.1 >/dev/null 2>&1; do
	n=$((n + 1)); [ $n -ge 300 ] && break
done
section features cat /sys/class/net/eth0/device/features
wget -q -O /tmp/blob http://{net}.1:{host_port}/blob
section blob md5sum /tmp/blob
""" + SERVE_UNTIL_DONE


def switch_script(me, peer, outside, host_port):
    probes = "".join(f"ping -c 2 -W 2 {a} >/dev/null 2>&1; echo \"@@reach ping {a} $?\"\n" for a in outside)
    probes += "".join(f"nc -w 5 {a} {host_port} </dev/null >/dev/null 2>&1; echo \"@@reach tcp {a} $?\"\n"
                      for a in outside)
    common = SECTION + f"""
ip link set lo up
ip link set eth0 up
ip addr add 192.168.77.{me}/24 dev eth0
ip route add default dev eth0
{"httpd -p %d -h /www" % GUEST_HTTP_PORT if me == 1 else ""}
n=0
while ! ping -c 1 -W 1 192.168.77.{peer} >/dev/null 2>&1; do
	n=$((n + 1)); [ $n -ge 300 ] && break
done
section ping ping -c 5 -W 5 192.168.77.{peer}
{probes}"""
    if me == 1:
        return common + f"""
timeout 300 nc -l -p {SWITCH_DONE_PORT} </dev/null
echo "@@peer-done {SWITCH_DONE_PORT}"
"""
    return common + f"""
n=0
until wget -q -O /tmp/bulk http://192.168.77.{peer}:{GUEST_HTTP_PORT}/bulk; do
	n=$((n + 1)); [ $n -ge 30 ] && break; sleep 2
done
section bulk md5sum /tmp/bulk
n=0
until echo done | nc 192.168.77.{peer} {SWITCH_DONE_PORT}; do
	n=$((n + 1)); [ $n -ge 30 ] && break; sleep 1
done
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_address():
    """The host's address on its default route, or None (no network)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent
            addr = s.getsockname()[0]
            return None if addr.startswith("127.") else addr
    except OSError:
        return None


class HostHttp:
    """An HTTP server on the host (its loopback by default) serving /blob
    from memory."""

    def __init__(self, blob, addr="127.0.0.1"):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/blob":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(blob)))
                self.end_headers()
                self.wfile.write(blob)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((addr, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Listener:
    """A TCP listener on every host address that records connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            try:
                c, addr = self.sock.accept()
            except OSError:
                continue
            self.peers.append(addr)
            c.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


class Vm:
    def __init__(self, name, ctx, script, files, net, env=None):
        self.name = name
        entries = [("t", 0o100755, ("#!/bin/sh\n" + script).encode())]
        entries += files
        self.initrd = os.path.join(ctx.tmp, name + ".cpio")
        with open(ctx.guest.initrd, "rb") as f:
            base = f.read()
        with open(self.initrd, "wb") as f:
            f.write(base + b"\0" * (-len(base) % 4) + newc(entries))
        self.argv = [ctx.vessel, "vm", "run", "--accel", "emu", "--kernel", ctx.guest.vmlinuz, "--initrd",
                     self.initrd, "--mem", MEM, "--console", "stdio", "--net", net,
                     "--cmdline", CMDLINE + " vessel.run=/t"]
        self.env = env
        self.run = Run(self.argv, env)


def fetch_from_guest(port, done_port, out, timeout=600, addr="127.0.0.1"):
    """Wait for the guest's httpd (the run's "@@httpd-ready"), then GET /up
    from addr:port (hostfwd, or the guest itself over a tap) and time it;
    then tell the guest we are done."""
    run = out["run"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not run.marker("httpd-ready"):
        if run.status is not None:
            out["error"] = "the VM ended before its httpd was ready"
            return
        time.sleep(0.5)
    if not run.marker("httpd-ready"):
        out["error"] = "the guest's httpd never became ready"
        return
    try:
        t0 = time.monotonic()
        with socket.create_connection((addr, port), timeout=120) as s:
            s.sendall(b"GET /up HTTP/1.0\r\nHost: guest\r\n\r\n")
            data = bytearray()
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        out["seconds"] = time.monotonic() - t0
        head, _, body = bytes(data).partition(b"\r\n\r\n")
        out["status"] = head.split(b"\r\n", 1)[0].decode(errors="replace")
        out["body"] = body
    except OSError as e:
        out["error"] = f"GET /up from {addr}:{port}: {e}"
    finally:
        try:
            socket.create_connection((addr, done_port), timeout=30).close()
        except OSError as e:
            out.setdefault("error", f"telling the guest we are done (port {done_port}): {e}")


def tap_host_side(name, net, out):
    """Once the tap vessel creates appears, give it the host's address in
    `net`, then fetch from the guest over it (fetch_from_guest)."""
    run = out["run"]
    deadline = time.monotonic() + 300
    while not os.path.exists(f"/sys/class/net/{name}"):
        if run.status is not None or time.monotonic() > deadline:
            out["error"] = f"the tap {name} never appeared"
            return
        time.sleep(0.2)
    for argv in (["ip", "addr", "add", f"{net}.1/24", "dev", name], ["ip", "link", "set", name, "up"]):
        p = subprocess.run(argv, capture_output=True, text=True)
        if p.returncode != 0:
            out["error"] = f"{' '.join(argv)}: {p.stderr.strip()}"
            return
    fetch_from_guest(GUEST_HTTP_PORT, GUEST_DONE_PORT, out, addr=f"{net}.2")


def tap_unavailable():
    if os.geteuid() != 0:
        return "needs root (CAP_NET_ADMIN) to create a tap and address it"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    if not shutil.which("ip"):
        return "no ip(8) (iproute2) to address the tap"
    return None


def md5(b):
    return hashlib.md5(b).hexdigest()


def section_md5(run, name):
    got = " ".join(run.sections().get(name, [])).split()
    return got[0] if got else None


def check_lease(run):
    problems = []
    m = run.marker("lease")
    if not m:
        return ["udhcpc got no lease (no @@lease line)"]
    if m[2].split() != ["10.0.2.15", "255.255.255.0", "10.0.2.2", "10.0.2.3"]:
        problems.append(f"lease: {m[2]!r}, expected 10.0.2.15 255.255.255.0 10.0.2.2 10.0.2.3")
    s = run.sections()
    if not re.search(r"inet 10\.0\.2\.15/24\b", " ".join(s.get("addr", []))):
        problems.append(f"eth0 addresses: {s.get('addr')}")
    if not any(re.match(r"default via 10\.0\.2\.2 dev eth0", t) for t in s.get("route", [])):
        problems.append(f"routes: {s.get('route')}")
    if "nameserver 10.0.2.3" not in s.get("dns", []):
        problems.append(f"resolv.conf: {s.get('dns')}")
    return problems


def min_seconds(nbytes, rate):
    """The shortest time a token bucket of `rate` bytes/s (1/20 s of burst)
    lets `nbytes` of payload through, with 10% slack for clock granularity;
    frame headers only make it longer."""
    return 0.9 * (nbytes / rate - 0.05)


def check_wget(ctx):
    def fn(run):
        problems = []
        a, b = run.marker("wget-begin"), run.marker("wget-end")
        if not a or not b:
            return ["no @@wget-begin/@@wget-end lines"]
        end = b[2].split()
        if end[1:] != ["0"]:
            problems.append(f"wget exited with {end[1:]}")
        got = section_md5(run, "blob")
        if got != md5(ctx.blob):
            problems.append(f"md5 of the fetched file: guest {got}, host {md5(ctx.blob)}")
        took = float(end[0]) - float(a[2])
        ctx.notes.append(f"NAT rx: {BLOB_LEN} bytes in {took:.2f} s ({BLOB_LEN / max(took, 1e-3):.0f} B/s, "
                         f"rx-bps={RX_BPS})")
        if took < min_seconds(BLOB_LEN, RX_BPS):
            problems.append(f"{BLOB_LEN} bytes arrived in {took:.2f} s, faster than rx-bps={RX_BPS} allows")
        return problems
    return fn


def check_tap(ctx):
    def fn(run):
        out = ctx.tap_fetch
        problems = [out["error"]] if "error" in out else []
        got = section_md5(run, "blob")
        if got != md5(ctx.blob):
            problems.append(f"md5 of the file the guest fetched from the host: {got}, expected {md5(ctx.blob)}")
        if not problems and md5(out.get("body", b"")) != md5(ctx.up):
            problems.append(f"the host got {len(out.get('body', b''))} bytes that differ from the guest's file")
        if not run.marker("host-done"):
            problems.append("the guest never saw the host's done connection")
        problems += check_features(run)
        if os.path.exists(f"/sys/class/net/{ctx.tap_name}"):
            problems.append(f"the tap {ctx.tap_name} is still there after vessel exited")
        return problems
    return fn


def check_hostfwd(ctx):
    def fn(run):
        out = ctx.fetch
        if "error" in out:
            return [out["error"]]
        problems = []
        if not out.get("status", "").endswith("200 OK"):
            problems.append(f"HTTP status line {out.get('status')!r}")
        if md5(out.get("body", b"")) != md5(ctx.up):
            problems.append(f"the host got {len(out.get('body', b''))} bytes that differ from the guest's file")
        took = out.get("seconds", 0.0)
        ctx.notes.append(f"hostfwd tx: {UP_LEN} bytes in {took:.2f} s ({UP_LEN / max(took, 1e-3):.0f} B/s, "
                         f"tx-bps={TX_BPS})")
        if took < min_seconds(UP_LEN, TX_BPS):
            problems.append(f"{UP_LEN} bytes left the guest in {took:.2f} s, faster than tx-bps={TX_BPS} allows")
        if not run.marker("host-done"):
            problems.append("the guest never saw the host's done connection")
        return problems
    return fn


# virtio-net feature bits the driver must have taken (0 CSUM, 1 GUEST_CSUM,
# 11/12 HOST_TSO4/6, 15 MRG_RXBUF): the transfers then run through them.
FEATURE_BITS = {0: "CSUM", 1: "GUEST_CSUM", 11: "HOST_TSO4", 12: "HOST_TSO6", 15: "MRG_RXBUF"}


def check_features(run):
    bits = "".join(run.sections().get("features", [])).strip()
    missing = [name for bit, name in FEATURE_BITS.items() if len(bits) <= bit or bits[bit] != "1"]
    return [f"the driver did not negotiate {' '.join(missing)} (features {bits!r})"] if missing else []


def check_ping(run):
    lines = run.sections().get("ping", [])
    m = re.search(r"(\d+) packets transmitted, (\d+) packets received", " ".join(lines))
    if not m or m.group(2) == "0":
        return [f"ping across the switch: {lines[-2:] if lines else 'no output'}"]
    return []


def check_isolated(ctx):
    def fn(run):
        problems = []
        seen = {}
        for _, _, t in run.lines:
            if t.startswith("@@reach "):
                _, kind, addr, rc = t.split()
                seen[(kind, addr)] = rc
        for addr in ctx.outside:
            for kind in ("ping", "tcp"):
                rc = seen.get((kind, addr))
                if rc is None:
                    problems.append(f"no {kind} probe of {addr} ran")
                elif rc == "0":
                    problems.append(f"{kind} to {addr} succeeded from the switch")
        return problems
    return fn


def check_bulk(ctx):
    def fn(run):
        got = section_md5(run, "bulk")
        if got != md5(ctx.bulk):
            return [f"md5 of the file fetched across the switch: {got}, expected {md5(ctx.bulk)}"]
        return []
    return fn


class Ctx:
    pass


def main():
    vessel = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL")
    tap = Tap()
    nat_cases = ["NAT: DHCP lease from slirp (10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3)",
                 "NAT: wget of a host file through 10.0.2.2, md5 equal, no faster than rx-bps",
                 "NAT: host fetches from the guest's httpd through hostfwd, no faster than tx-bps",
                 "NAT: Linux drives the NIC with MRG_RXBUF, CSUM, GUEST_CSUM and HOST_TSO4/6"]
    tap_case = ("tap: Linux and the host over a tap vessel creates: the guest's wget and the host's GET "
                "of the guest's httpd, md5 equal, the tap gone afterwards")
    sw_cases = ["switch: the two VMs ping each other",
                "switch: 2 MiB over HTTP from one VM to the other, md5 equal",
                "switch: neither VM reaches the host, slirp's gateway or a public address"]
    if not vessel or not os.access(vessel, os.X_OK):
        return tap.skip_all("no vessel binary (pass it or set $VESSEL)")
    if not os.path.exists("/bin/busybox"):
        return tap.skip_all("no /bin/busybox (busybox-static): the default guest cannot be built")
    want_nat = any(tap.wants(n) for n in nat_cases)
    want_sw = any(tap.wants(n) for n in sw_cases)
    want_tap = tap.wants(tap_case)
    if want_tap and tap_unavailable():
        tap.skip(tap_case, tap_unavailable())
        want_tap = False
    if not want_nat and not want_sw and not want_tap:
        return tap.finish()
    guest, why = prepare_guest()
    if not guest:
        return tap.skip_all(why)
    ctx = Ctx()
    ctx.vessel = os.path.abspath(vessel)
    ctx.guest = guest
    ctx.tmp = tempfile.mkdtemp(prefix="vessel-linux-net-")
    ctx.notes = []
    rnd = random.Random(9)
    ctx.blob = rnd.randbytes(BLOB_LEN)
    ctx.up = rnd.randbytes(UP_LEN)
    ctx.bulk = rnd.randbytes(BULK_LEN)
    ctx.outside = ["10.0.2.2", PUBLIC_ADDR] + ([host_address()] if host_address() else [])
    server = HostHttp(ctx.blob)
    tap_server = HostHttp(ctx.blob, "0.0.0.0") if want_tap else None
    listener = Listener()
    vms = []
    try:
        if want_nat:
            fwd, done = free_port(), free_port()
            net = (f"user,hostfwd=tcp:127.0.0.1:{fwd}-:{GUEST_HTTP_PORT},"
                   f"hostfwd=tcp:127.0.0.1:{done}-:{GUEST_DONE_PORT},rx-bps={RX_BPS},tx-bps={TX_BPS}")
            files = [("dhcp.sh", 0o100755, DHCP_SCRIPT.encode()), ("www", 0o040755, b""),
                     ("www/up", 0o100644, ctx.up)]
            nat = Vm("nat", ctx, nat_script(server.port), files, net)
            vms.append(nat)
        if want_sw:
            # A private runtime directory: the segment's sockets live there
            # (src/net/switch.c) and vanish with it.
            env = dict(os.environ, XDG_RUNTIME_DIR=ctx.tmp)
            name = f"t{os.getpid()}"
            sw1 = Vm("sw1", ctx, switch_script(1, 2, ctx.outside, listener.port),
                     [("www", 0o040755, b""), ("www/bulk", 0o100644, ctx.bulk)],
                     f"switch={name},mac=52:54:00:77:00:01", env)
            sw2 = Vm("sw2", ctx, switch_script(2, 1, ctx.outside, listener.port), [],
                     f"switch={name},mac=52:54:00:77:00:02", env)
            vms += [sw1, sw2]
        if want_tap:
            ctx.tap_name = f"vtn{os.getpid() % 100000}"
            tap_net = f"10.249.{os.getpid() % 250}"
            tapvm = Vm("tap", ctx, tap_script(tap_net, tap_server.port),
                       [("www", 0o040755, b""), ("www/up", 0o100644, ctx.up)], f"tap={ctx.tap_name}")
            vms.append(tapvm)
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(vms) + 2) as pool:
            futures = [pool.submit(vm.run.go) for vm in vms]
            if want_nat:
                ctx.fetch = {"run": nat.run}
                fetcher = pool.submit(fetch_from_guest, fwd, done, ctx.fetch)
            if want_tap:
                ctx.tap_fetch = {"run": tapvm.run}
                tap_fetcher = pool.submit(tap_host_side, ctx.tap_name, tap_net, ctx.tap_fetch)
            for f in futures:
                f.result()
            if want_nat:
                fetcher.result()
            if want_tap:
                tap_fetcher.result()
        elapsed = time.monotonic() - t0
        if want_nat:
            checks = [check_lease, check_wget(ctx), check_hostfwd(ctx), check_features]
            for name, fn in zip(nat_cases, checks):
                if tap.wants(name):
                    problems = fn(nat.run)
                    if problems:
                        problems += [f"(the run: {p})" for p in common_problems(nat.run)]
                    tap.result(name, problems, details=nat.run.details())
        if want_sw:
            pairs = [(sw_cases[0], lambda r: check_ping(r), (sw1, sw2)),
                     (sw_cases[1], check_bulk(ctx), (sw2,)),
                     (sw_cases[2], check_isolated(ctx), (sw1, sw2))]
            for name, fn, which in pairs:
                if not tap.wants(name):
                    continue
                problems, details = [], []
                for vm in which:
                    p = fn(vm.run) + common_problems(vm.run)
                    problems += [f"{vm.name}: {x}" for x in p]
                    if p:
                        details += vm.run.details()
                if name == sw_cases[2] and listener.peers:
                    problems.append(f"the host's listener on port {listener.port} got connections "
                                    f"from {listener.peers}")
                tap.result(name, problems, details=details)
        if want_tap:
            problems = check_tap(ctx)(tapvm.run)
            if problems:
                problems += [f"(the run: {p})" for p in common_problems(tapvm.run)]
            tap.result(tap_case, problems, details=tapvm.run.details() if problems else ())
        for n in ctx.notes:
            tap.diag(n, indent="# ")
        tap.diag(f"{len(vms)} VMs at once: {elapsed:.1f} s ("
                 + ", ".join(f"{vm.name} {vm.run.elapsed:.1f} s" for vm in vms) + ")", indent="# ")
    finally:
        server.close()
        if tap_server:
            tap_server.close()
        listener.close()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
