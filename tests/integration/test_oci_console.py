#!/usr/bin/env python3
"""--console-socket: create sends the pty master; a command written to it
runs in the container and its output comes back.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_console.py [VESSEL_OCI [RUNC]]
"""
import os
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (CMD_TIMEOUT, expect_status, force_cleanup, leftovers, read_until, set_key,
                             wait_status)  # noqa: E402

CASES = []
case = oci.registry(CASES)


@case('console')
def console(ctx, rt, step):
    cid = ctx.new_id(rt, "tty")
    bundle = ctx.bundle(rt, cid, args=["sh"], edit=set_key("process.terminal", True))
    cgpath = ctx.cgpath(cid)
    sock_path = os.path.join(ctx.tmp, cid + ".sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(CMD_TIMEOUT)
    master = None
    conn = None
    try:
        p = []
        proc = rt.popen(["create", "--bundle", bundle, "--console-socket", sock_path, cid], cwd=bundle)
        fds = []
        try:
            conn, _ = srv.accept()
            conn.settimeout(CMD_TIMEOUT)
            msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
        except (OSError, socket.timeout) as ex:
            p.append(f"no pty master fd received on the console socket: {ex}")
        r1 = rt.finish(proc)
        expect_status(p, r1, 0, "create --console-socket")
        if fds:
            master = fds[0]
            for extra in fds[1:]:
                os.close(extra)
            if not os.isatty(master):
                p.append("the fd received is not a terminal")
        if not step("console: create sends the pty master over --console-socket", p, [r1]) or master is None:
            return
        p = []
        r2 = rt.run(["start", cid])
        expect_status(p, r2, 0, "start")
        os.write(master, b"echo tty-$((6*7)); tty\n")
        out = read_until(master, b"tty-42", 10)
        if b"tty-42" not in out:
            p.append(f"no command output from the pty: {out[-200:]!r}")
        out += read_until(master, b"/dev/", 5)
        os.write(master, b"exit 5\n")
        st = wait_status(rt, cid, "stopped")
        if not st or st.get("status") != "stopped":
            p.append(f"the shell did not exit on `exit` through the pty (status {st and st.get('status')!r})")
        r3 = rt.run(["delete", cid])
        expect_status(p, r3, 0, "delete")
        p += leftovers(rt, cid, bundle, cgpath)
        step("console: a command written to the pty master runs; its output comes back", p, [r2, r3])
    finally:
        if master is not None:
            os.close(master)
        if conn:
            conn.close()
        srv.close()
        force_cleanup(rt, cid, bundle, cgpath)


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
