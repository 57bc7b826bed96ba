#!/usr/bin/env python3
"""seccomp SCMP_ACT_NOTIFY: the listener at listenerPath gets the state and
the notification fd.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_seccomp.py [VESSEL_OCI [RUNC]]
"""
import json
import os
import socket
import threading
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (CMD_TIMEOUT, expect_status, force_cleanup, leftovers)  # noqa: E402

CASES = []
case = oci.registry(CASES)


@case('seccomp notify: listenerPath gets the state and the notification fd')
def seccomp_notify(ctx, rt, step):
    # seccomp SCMP_ACT_NOTIFY: the listener at listenerPath gets the OCI
    # message and the notification fd; once it closes the fd, the notified
    # syscall fails with ENOSYS.
    cid = ctx.new_id(rt, "notify")
    sock_path = os.path.join(ctx.tmp, f"listener-{cid}.sock")

    def with_notify(cfg, b):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "listenerPath": sock_path, "listenerMetadata": "vessel-test",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    b = ctx.bundle(rt, cid, ("/bin/sh", "-c", "mkdir /tmp/n; echo mkdir=$?"), edit=with_notify)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(CMD_TIMEOUT)
    got = {}

    def listen():
        try:
            conn, _ = srv.accept()
            msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
            got["msg"], got["fds"] = msg, fds
            for fd in fds:
                os.close(fd)
            conn.close()
        except OSError as e:
            got["error"] = str(e)
    t = threading.Thread(target=listen)
    t.start()
    try:
        p = []
        r = rt.run(["run", "--bundle", b, cid], cwd=b)
        t.join(CMD_TIMEOUT)
        expect_status(p, r, 0, "run")
        if "mkdir=1" not in r.out:
            p.append(f"the notified mkdir did not fail once the listener closed the fd: {r.out!r}")
        if len(got.get("fds", [])) != 1:
            p.append(f"listener got {len(got.get('fds', []))} fds, want 1 ({got.get('error', '')})")
        try:
            m = json.loads(got.get("msg", b"{}"))
            if m.get("fds") != ["seccompFd"] or m.get("metadata") != "vessel-test":
                p.append(f"listener message fds/metadata: {m.get('fds')!r} {m.get('metadata')!r}")
            if (m.get("state") or {}).get("id") != cid or not isinstance(m.get("pid"), int):
                p.append(f"listener message state/pid wrong: {m!r}")
        except ValueError:
            p.append(f"listener message is not JSON: {got.get('msg')!r}")
        p += leftovers(rt, cid, b, ctx.cgpath(cid))
        step("seccomp notify: listenerPath gets the state and the notification fd", p, [r])
    finally:
        srv.close()
        force_cleanup(rt, cid, b, ctx.cgpath(cid))


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
