#!/usr/bin/env python3
"""vessel-oci run: the foreground exit status, a process killed by SIGKILL
(137), --detach, stdio pass-through.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_run.py [VESSEL_OCI [RUNC]]
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (expect_status, force_cleanup, leftovers, state_of, wait_file)  # noqa: E402

CASES = []
case = oci.registry(CASES)


@case("run: foreground returns the process's exit status and cleans up")
def run_foreground(ctx, rt, step):
    # foreground: exit status
    cid = ctx.new_id(rt, "run")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", "echo from-run; exit 3"])
    try:
        p = []
        r = rt.run(["run", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r, 3, "run")
        if "from-run" not in r.out:
            p.append(f"run: the process's stdout did not come through ({r.out!r})")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("run: foreground returns the process's exit status and cleans up", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case('run: a process killed by SIGKILL gives 137')
def run_sigkill(ctx, rt, step):
    # killed by a signal from outside: 128+n (the shell is the pid
    # namespace's init, which its own signals cannot kill)
    cid = ctx.new_id(rt, "runsig")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", "echo up > /tmp/up; exec sleep 1000"])
    try:
        p = []
        proc = rt.popen(["run", "--bundle", bundle, cid], cwd=bundle)
        if not wait_file(os.path.join(bundle, "rootfs/tmp/up")):
            p.append("the container's process did not start")
        r2 = rt.run(["kill", cid, "KILL"])
        expect_status(p, r2, 0, "kill KILL")
        r = rt.finish(proc)
        expect_status(p, r, 137, "run of a process killed by SIGKILL")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("run: a process killed by SIGKILL gives 137", p, [r, r2])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case('run: --detach leaves a running container; delete --force removes it')
def run_detach(ctx, rt, step):
    # --detach
    cid = ctx.new_id(rt, "rund")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle, timeout=20)
        expect_status(p, r, 0, "run --detach")
        if r.elapsed > 10:
            p.append(f"run --detach took {r.elapsed:.1f} s: it did not detach")
        st, r2 = state_of(rt, cid, p)
        if st and st.get("status") != "running":
            p.append(f"status after run --detach is {st.get('status')!r}, want 'running'")
        r3 = rt.run(["delete", "--force", cid])
        expect_status(p, r3, 0, "delete --force")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("run: --detach leaves a running container; delete --force removes it", p, [r, r2, r3])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case('run: stdin, stdout and stderr pass through (cat)')
def run_stdio(ctx, rt, step):
    # stdio passthrough
    cid = ctx.new_id(rt, "runio")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", "cat; echo err-line >&2"])
    data = b"".join(b"line %d of the test's stdin\n" % i for i in range(2000))
    try:
        p = []
        r = rt.run(["run", "--bundle", bundle, cid], cwd=bundle, input=data)
        expect_status(p, r, 0, "run cat")
        if r.out.encode() != data:
            p.append(f"cat echoed {len(r.out)} bytes, want the {len(data)} bytes fed in"
                     f" (starts {r.out[:60]!r})")
        if "err-line" not in r.err:
            p.append("the process's stderr did not come through")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("run: stdin, stdout and stderr pass through (cat)", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
