#!/usr/bin/env python3
"""vessel-oci's container lifecycle, one chain of dependent steps: create
(--pid-file), state, list, start, ps, exec (output, status, --env, --cwd,
--user, --tty refused), pause/resume, update, kill --all, kill, delete.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_lifecycle.py [VESSEL_OCI [RUNC]]
"""
import json
import os
import time
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (Abort, alive, cgroup_dirs, expect_status, force_cleanup, leftovers,
                             mounts_mentioning, read, state_of, state_root_entries, wait_file,
                             wait_status)  # noqa: E402

CASES = []
case = oci.registry(CASES)

INIT_SCRIPT = (
    "trap 'echo usr1 >> /tmp/signals' USR1; "
    "trap 'echo term >> /tmp/signals; exit 0' TERM; "
    "echo ready > /tmp/ready; "
    "while :; do sleep 0.1; done"
)


@case("lifecycle")
def lifecycle(ctx, rt, step):
    cid = ctx.new_id(rt, "life")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", INIT_SCRIPT])
    cgpath = ctx.cgpath(cid)
    rootfs = os.path.join(bundle, "rootfs")
    pidfile = os.path.join(ctx.tmp, cid + ".pid")
    mounts_before = mounts_mentioning(bundle)
    with open(os.path.join(rootfs, "etc/vessel-marker"), "w") as f:
        f.write(cid + "\n")
    try:
        # create
        p = []
        r = rt.run(["create", "--bundle", bundle, "--pid-file", pidfile, cid], cwd=bundle)
        expect_status(p, r, 0, "create")
        pid = None
        text = read(pidfile)
        if text is None:
            p.append(f"--pid-file {pidfile} was not written")
        else:
            try:
                pid = int(text.strip())
                if not alive(pid):
                    p.append(f"pid {pid} from --pid-file is not a live process")
            except ValueError:
                p.append(f"--pid-file holds {text!r}, not a pid")
        if not step("lifecycle: create writes --pid-file with init's pid", p, [r]):
            raise Abort

        # state after create
        p = []
        st, r = state_of(rt, cid, p)
        if st is not None:
            for key, want in (("id", cid), ("status", "created"), ("pid", pid),
                              ("bundle", os.path.realpath(bundle))):
                if st.get(key) != want:
                    p.append(f"state.{key} is {st.get(key)!r}, want {want!r}")
            if not isinstance(st.get("ociVersion"), str) or not st.get("ociVersion"):
                p.append(f"state.ociVersion is {st.get('ociVersion')!r}")
        step("lifecycle: state of a created container (ociVersion, id, status, pid, bundle)", p, [r])

        # exec before start: in the container's root (vessel-oci's init may
        # still be detaching the host's old root from its namespace then)
        p = []
        r = rt.run(["exec", cid, "cat", "/etc/vessel-marker"])
        expect_status(p, r, 0, "exec in a created container")
        if r.out.strip() != cid:
            p.append(f"exec printed {r.out.strip()!r}, want the container's /etc/vessel-marker {cid!r}")
        step("lifecycle: exec in a created container runs in its root", p, [r])

        # list
        p = []
        r1 = rt.run(["list"])
        expect_status(p, r1, 0, "list")
        rows = [line.split() for line in r1.out.splitlines()]
        if not rows or "ID" not in rows[0]:
            p.append("list: no table header with ID")
        mine = [row for row in rows if row and row[0] == cid]
        if len(mine) != 1:
            p.append(f"list: {len(mine)} rows for {cid}")
        elif "created" not in mine[0] or str(pid) not in mine[0]:
            p.append(f"list: row {mine[0]} lacks status created or pid {pid}")
        r2 = rt.run(["list", "--format", "json"])
        expect_status(p, r2, 0, "list --format json")
        try:
            entries = json.loads(r2.out)
            e = [x for x in entries if x.get("id") == cid]
            if len(e) != 1:
                p.append(f"list --format json: {len(e)} entries for {cid}")
            elif e[0].get("status") != "created" or e[0].get("pid") != pid:
                p.append(f"list --format json: entry {e[0]} lacks status created or pid {pid}")
        except (ValueError, AttributeError, TypeError) as ex:
            p.append(f"list --format json printed no JSON array of objects: {ex}")
        step("lifecycle: list (table and --format json)", p, [r1, r2])

        # start
        p = []
        r = rt.run(["start", cid])
        expect_status(p, r, 0, "start")
        if not wait_file(os.path.join(rootfs, "tmp/ready")):
            p.append("the container's process did not run (no /tmp/ready)")
        st, r2 = state_of(rt, cid, p)
        if st and st.get("status") != "running":
            p.append(f"status after start is {st.get('status')!r}, want 'running'")
        if not step("lifecycle: start, status running", p, [r, r2]):
            raise Abort

        # ps
        p = []
        r = rt.run(["ps", "--format", "json", cid])
        expect_status(p, r, 0, "ps --format json")
        try:
            pids = json.loads(r.out)
            if pid not in pids:
                p.append(f"ps --format json: {pids} does not contain init's pid {pid}")
        except ValueError as ex:
            p.append(f"ps --format json printed no JSON: {ex}")
        step("lifecycle: ps --format json lists init", p, [r])

        # exec
        checks = [
            ("output", [cid, "sh", "-c", "echo out-$((2+3))"], [], 0, "out-5"),
            ("exit status", [cid, "sh", "-c", "exit 7"], [], 7, None),
            ("--env", [cid, "sh", "-c", "echo \"[$FOO]\""], ["--env", "FOO=bar baz"], 0, "[bar baz]"),
            ("--cwd", [cid, "pwd"], ["--cwd", "/tmp"], 0, "/tmp"),
            ("--user", [cid, "sh", "-c", "echo $(id -u):$(id -g)"], ["--user", "1000:1000"], 0, "1000:1000"),
        ]
        for what, args, opts, want_status, want_out in checks:
            p = []
            r = rt.run(["exec"] + opts + args)
            expect_status(p, r, want_status, "exec")
            if want_out is not None and r.out.strip() != want_out:
                p.append(f"exec printed {r.out.strip()!r}, want {want_out!r}")
            step(f"lifecycle: exec {what}", p, [r])

        p = []
        r = rt.run(["exec", "--tty", "--detach", cid, "true"], timeout=15)
        if r.status == 0 or r.status is None:
            p.append(f"exec --tty --detach without --console-socket: exit status {r.status}, want an error")
        results = [r]
        if rt.is_vessel:
            r2 = rt.run(["exec", "--tty", cid, "true"], timeout=15)
            results.append(r2)
            if r2.status == 0 or r2.status is None:
                p.append(f"exec --tty without --console-socket: exit status {r2.status}, want an error")
            elif "console" not in r2.err.lower():
                p.append("exec --tty without --console-socket: stderr does not mention the console socket")
        step("lifecycle: exec --tty without --console-socket is refused", p, results)

        # pause / resume
        p = []
        r = rt.run(["pause", cid])
        expect_status(p, r, 0, "pause")
        st, r2 = state_of(rt, cid, p)
        if st and st.get("status") != "paused":
            p.append(f"status after pause is {st.get('status')!r}, want 'paused'")
        frozen = [read(os.path.join(d, "freezer.state")) for d in cgroup_dirs(cgpath)
                  if os.path.exists(os.path.join(d, "freezer.state"))]
        if frozen and "FROZEN" not in frozen[0]:
            p.append(f"freezer.state is {frozen[0]!r} while paused")
        step("lifecycle: pause, status paused", p, [r, r2])
        p = []
        r = rt.run(["resume", cid])
        expect_status(p, r, 0, "resume")
        st, r2 = state_of(rt, cid, p)
        if st and st.get("status") != "running":
            p.append(f"status after resume is {st.get('status')!r}, want 'running'")
        step("lifecycle: resume, status running", p, [r, r2])

        # update
        p = []
        r = rt.run(["update", "--memory", "67108864", "--pids-limit", "77", cid])
        expect_status(p, r, 0, "update")
        mem = read(f"/sys/fs/cgroup/memory{cgpath}/memory.limit_in_bytes")
        pids_max = read(f"/sys/fs/cgroup/pids{cgpath}/pids.max")
        if os.path.isdir("/sys/fs/cgroup/memory") and (mem or "").strip() != "67108864":
            p.append(f"/sys/fs/cgroup/memory{cgpath}/memory.limit_in_bytes is {mem!r}, want 67108864")
        if os.path.isdir("/sys/fs/cgroup/pids") and (pids_max or "").strip() != "77":
            p.append(f"/sys/fs/cgroup/pids{cgpath}/pids.max is {pids_max!r}, want 77")
        step("lifecycle: update --memory --pids-limit reach the cgroup files", p, [r])

        # kill --all: USR1 is trapped by init but ends an exec'd sleep
        p = []
        sleep_pidfile = os.path.join(ctx.tmp, cid + ".sleep.pid")
        r = rt.run(["exec", "--detach", "--pid-file", sleep_pidfile, cid, "sleep", "1000"])
        expect_status(p, r, 0, "exec --detach sleep")
        spid = None
        try:
            spid = int((read(sleep_pidfile) or "").strip())
        except ValueError:
            p.append("exec --detach --pid-file wrote no pid")
        r2 = rt.run(["kill", "--all", cid, "USR1"])
        expect_status(p, r2, 0, "kill --all USR1")
        deadline = time.monotonic() + 5
        while spid and alive(spid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if spid and alive(spid):
            p.append(f"the exec'd sleep (pid {spid}) survived kill --all USR1")
        deadline = time.monotonic() + 5
        while "usr1" not in (read(os.path.join(rootfs, "tmp/signals")) or "") and time.monotonic() < deadline:
            time.sleep(0.05)
        if "usr1" not in (read(os.path.join(rootfs, "tmp/signals")) or ""):
            p.append("init's USR1 trap did not run")
        if not alive(pid):
            p.append("init died from its trapped USR1")
        step("lifecycle: kill --all signals every process", p, [r, r2])

        # kill (SIGTERM by default)
        p = []
        r = rt.run(["kill", cid])
        expect_status(p, r, 0, "kill")
        st = wait_status(rt, cid, "stopped")
        if not st or st.get("status") != "stopped":
            p.append(f"status after kill is {st and st.get('status')!r}, want 'stopped'")
        if "term" not in (read(os.path.join(rootfs, "tmp/signals")) or ""):
            p.append("init's TERM trap did not run: kill did not send SIGTERM")
        step("lifecycle: kill sends SIGTERM, status stopped", p, [r])

        # delete
        p = []
        r = rt.run(["delete", cid])
        expect_status(p, r, 0, "delete")
        time.sleep(0.1)
        p += leftovers(rt, cid, bundle, cgpath)
        rest = state_root_entries(rt.root)
        if rest:
            p.append(f"state root {rt.root} is not empty: {rest}")
        new_mounts = [m for m in mounts_mentioning(bundle) if m not in mounts_before]
        if new_mounts and not any("mount left" in x for x in p):
            p += [f"new mount: {m}" for m in new_mounts]
        step("lifecycle: delete leaves no state, cgroup, process or mount", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
