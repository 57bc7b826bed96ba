#!/usr/bin/env python3
"""Namespaces joined by path: a second container joins the first one's uts,
ipc and net namespaces.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_namespaces.py [VESSEL_OCI [RUNC]]
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (expect_status, force_cleanup, leftovers, state_of)  # noqa: E402

CASES = []
case = oci.registry(CASES)


@case('namespaces joined by path: uts, ipc and net of another container')
def join_namespaces(ctx, rt, step):
    """A second container joins the first one's uts, ipc and net namespaces
    by path: it sees the first one's hostname and network interfaces."""
    a = ctx.new_id(rt, "ns-owner")
    ba = ctx.bundle(rt, a, ("/bin/sleep", "60"))
    b = ctx.new_id(rt, "ns-joiner")
    try:
        p = []
        r1 = rt.run(["run", "--detach", "--bundle", ba, a], cwd=ba)
        expect_status(p, r1, 0, "run --detach of the namespace owner")
        pid = ((state_of(rt, a, p)[0] or {}) if r1.status == 0 else {}).get("pid")
        results = [r1]
        if pid:
            def join(cfg, bdir):
                cfg["hostname"] = None
                del cfg["hostname"]
                cfg["linux"]["namespaces"] = [
                    {"type": "pid"}, {"type": "mount"},
                    {"type": "uts", "path": f"/proc/{pid}/ns/uts"},
                    {"type": "ipc", "path": f"/proc/{pid}/ns/ipc"},
                    {"type": "network", "path": f"/proc/{pid}/ns/net"}]
            bb = ctx.bundle(rt, b, ("/bin/sh", "-c", "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts"),
                            edit=join)
            r2 = rt.run(["run", "--bundle", bb, b], cwd=bb)
            results.append(r2)
            expect_status(p, r2, 0, "run of the joiner")
            lines = r2.out.split()
            if not lines or lines[0] != "oci-test":
                p.append(f"joiner's hostname is {lines[:1]!r}, want the owner's 'oci-test'")
            want = [os.readlink(f"/proc/{pid}/ns/net"), os.readlink(f"/proc/{pid}/ns/uts")]
            if lines[1:3] != want:
                p.append(f"joiner's namespaces {lines[1:3]!r}, want the owner's {want!r}")
            p += leftovers(rt, b, bb, ctx.cgpath(b))
        step("namespaces joined by path: uts, ipc and net of another container", p, results)
    finally:
        force_cleanup(rt, b, os.path.join(ctx.tmp, "b-" + b), ctx.cgpath(b))
        force_cleanup(rt, a, ba, ctx.cgpath(a))


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
