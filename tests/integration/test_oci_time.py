#!/usr/bin/env python3
"""A time namespace with linux.timeOffsets, and linux.personality LINUX32.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_time.py [VESSEL_OCI [RUNC]]
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (expect_status, force_cleanup, leftovers)  # noqa: E402

CASES = []
case = oci.registry(CASES)


@case("time namespace: timeOffsets move the container's boottime clock")
def time_namespace(ctx, rt, step):
    # A new time namespace with a boottime offset of one year: the
    # container's uptime is a year ahead of the host's.
    year = 365 * 86400
    cid = ctx.new_id(rt, "timens")

    def with_time(cfg, b):
        cfg["linux"]["namespaces"].append({"type": "time"})
        cfg["linux"]["timeOffsets"] = {"boottime": {"secs": year, "nanosecs": 0},
                                       "monotonic": {"secs": 100, "nanosecs": 0}}
    b = ctx.bundle(rt, cid, ("/bin/cat", "/proc/uptime"), edit=with_time)
    try:
        p = []
        with open("/proc/uptime") as f:
            host_up = float(f.read().split()[0])
        r = rt.run(["run", "--bundle", b, cid], cwd=b)
        expect_status(p, r, 0, "run")
        try:
            up = float(r.out.split()[0])
            if not year <= up - host_up <= year + 60:
                p.append(f"container uptime {up} is not the host's {host_up} + one year")
        except (ValueError, IndexError):
            p.append(f"no uptime printed: {r.out!r}")
        p += leftovers(rt, cid, b, ctx.cgpath(cid))
        step("time namespace: timeOffsets move the container's boottime clock", p, [r],
             todo=None if rt.is_vessel else "runc 1.1 has no time namespaces")
    finally:
        force_cleanup(rt, cid, b, ctx.cgpath(cid))


@case('personality LINUX32: uname -m reports i686')
def personality(ctx, rt, step):
    # linux.personality LINUX32: uname reports a 32-bit machine.
    cid = ctx.new_id(rt, "pers")

    def with_personality(cfg, b):
        cfg["linux"]["personality"] = {"domain": "LINUX32"}
    b = ctx.bundle(rt, cid, ("/bin/uname", "-m"), edit=with_personality)
    try:
        p = []
        r = rt.run(["run", "--bundle", b, cid], cwd=b)
        expect_status(p, r, 0, "run")
        if r.out.strip() not in ("i686", "i386"):
            p.append(f"uname -m printed {r.out.strip()!r}, want i686")
        p += leftovers(rt, cid, b, ctx.cgpath(cid))
        step("personality LINUX32: uname -m reports i686", p, [r],
             todo=None if rt.is_vessel else "runc 1.1 ignores linux.personality")
    finally:
        force_cleanup(rt, cid, b, ctx.cgpath(cid))


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
