#!/usr/bin/env python3
"""OCI hooks: the six kinds in order with the state on stdin, args and env;
a failing createRuntime hook, a hook past its timeout, a failing poststop
hook.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_hooks.py [VESSEL_OCI [RUNC]]
"""
import json
import os
import time
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import PATH_ENV, expect_status, force_cleanup, leftovers, read  # noqa: E402

CASES = []
case = oci.registry(CASES)

HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")

# Runs on the host (prestart, createRuntime, poststart, poststop), in the
# container's mount namespace before pivot_root (createContainer) and inside
# the container (startContainer, with the container's busybox): the hook
# directory is bind-mounted at the same path, so one script and one log
# serve every kind.
HOOK_SCRIPT = """#!/bin/sh
kind="$1"
cat > "$HOOK_DIR/state-$kind.json"
echo "$kind args=$* env=$HOOK_MARK" >> "$HOOK_DIR/log"
# What the container's pid runs right now: for poststart it must be the
# user's process already ("after the user-specified process is executed").
pid=$(sed -n 's/.*"pid": *\\([0-9]*\\).*/\\1/p' "$HOOK_DIR/state-$kind.json")
if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; then
    tr '\\0' ' ' < "/proc/$pid/cmdline" > "$HOOK_DIR/cmdline-$kind"
fi
"""


def hook_dir(ctx, cid):
    d = os.path.join(ctx.tmp, "hooks-" + cid)
    os.makedirs(d)
    script = os.path.join(d, "hook.sh")
    with open(script, "w") as f:
        f.write(HOOK_SCRIPT)
    os.chmod(script, 0o755)
    return d, script


def log_kinds(d):
    return [line.split(" ", 1)[0] for line in (read(os.path.join(d, "log")) or "").splitlines()]


@case("hooks")
def hooks_all_kinds(ctx, rt, step):
    cid = ctx.new_id(rt, "hooks")
    hd, script = hook_dir(ctx, cid)

    def edit(cfg, b):
        cfg["hooks"] = {
            k: [{"path": script, "args": ["hook.sh", k, f"extra-{k}"],
                 "env": [PATH_ENV, f"HOOK_DIR={hd}", f"HOOK_MARK=mark-{k}"], "timeout": 20}]
            for k in HOOK_KINDS
        }
        cfg["mounts"].append({"destination": hd, "type": "bind", "source": hd, "options": ["rbind", "rw"]})
        cfg["process"]["args"] = ["sh", "-c", f"echo process >> {hd}/log; exec sleep 1000"]

    bundle = ctx.bundle(rt, cid, edit=edit)
    cgpath = ctx.cgpath(cid)
    try:
        p = []
        deviations = []
        pidfile = os.path.join(ctx.tmp, cid + ".pid")
        r1 = rt.run(["create", "--bundle", bundle, "--pid-file", pidfile, cid], cwd=bundle)
        expect_status(p, r1, 0, "create")
        pid = int((read(pidfile) or "0").strip() or 0)
        kinds = log_kinds(hd)
        early_poststart = False
        if not rt.is_vessel and kinds[3:] == ["poststart"]:
            # runc 1.1 runs poststart at the end of create, with status
            # "created" (moved to start in runc 1.2).
            early_poststart = True
            deviations.append("runc 1.1 runs poststart during create")
            kinds = kinds[:3]
        if kinds != ["prestart", "createRuntime", "createContainer"]:
            p.append(f"hooks run by create: {kinds}, want prestart, createRuntime, createContainer")
        r2 = rt.run(["start", cid])
        expect_status(p, r2, 0, "start")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not {"process", "poststart", "startContainer"} <= set(log_kinds(hd)):
            time.sleep(0.05)
        kinds = log_kinds(hd)
        for k in ("startContainer", "poststart", "process"):
            if kinds.count(k) != 1:
                p.append(f"{k} appears {kinds.count(k)} times in the log {kinds}")
        if "startContainer" in kinds and "process" in kinds and \
                kinds.index("startContainer") > kinds.index("process"):
            p.append(f"startContainer ran after the user's process started: {kinds}")
        if not early_poststart:
            # poststart: "after the user-specified process is executed but
            # before the start operation returns"
            if "poststart" in kinds and "startContainer" in kinds and \
                    kinds.index("poststart") < kinds.index("startContainer"):
                p.append(f"poststart ran before startContainer: {kinds}")
            seen = (read(os.path.join(hd, "cmdline-poststart")) or "").strip()
            if not (seen.startswith("sh ") or seen.startswith("sleep ")):
                p.append(f"when poststart ran, the container's pid {pid} was still running `{seen}`, "
                         "not the user's process: poststart came before the process was executed")
        r3 = rt.run(["delete", "--force", cid])
        expect_status(p, r3, 0, "delete --force")
        kinds = log_kinds(hd)
        if kinds[-1:] != ["poststop"] or kinds.count("poststop") != 1:
            p.append(f"after delete the log is {kinds}, want poststop last, once")
        step("hooks: all six kinds run, in order", p, [r1, r2, r3],
             note=("known deviation: " + "; ".join(deviations)) if deviations else None)

        p = []
        in_container = ("createContainer", "startContainer")
        for k in HOOK_KINDS:
            text = read(os.path.join(hd, f"state-{k}.json"))
            if text is None:
                p.append(f"{k}: no state on stdin recorded")
                continue
            try:
                st = json.loads(text)
            except ValueError as ex:
                p.append(f"{k}: stdin is not JSON ({ex}): {text[:120]!r}")
                continue
            want_status = {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
                           "startContainer": "created", "poststart": "running", "poststop": "stopped"}[k]
            if st.get("id") != cid:
                p.append(f"{k}: state id {st.get('id')!r}")
            if k == "poststart" and early_poststart and st.get("status") == "created":
                pass  # runc 1.1, see above
            elif st.get("status") != want_status:
                p.append(f"{k}: state status {st.get('status')!r}, want {want_status!r}")
            if st.get("bundle") != os.path.realpath(bundle):
                p.append(f"{k}: state bundle {st.get('bundle')!r}")
            if not st.get("ociVersion"):
                p.append(f"{k}: state has no ociVersion")
            if k != "poststop":
                # runc gives the pid as the container sees it (1) to the
                # hooks that run inside; the spec says "as seen by the host".
                ok_pids = (pid, 1) if (not rt.is_vessel and k in in_container) else (pid,)
                if st.get("pid") not in ok_pids:
                    p.append(f"{k}: state pid {st.get('pid')!r}, want init's host pid {pid}")
        step("hooks: state on stdin has the right id, status, pid, bundle", p)

        p = []
        lines = (read(os.path.join(hd, "log")) or "").splitlines()
        for k in HOOK_KINDS:
            mine = [line for line in lines if line.startswith(k + " ")]
            want = f"{k} args={k} extra-{k} env=mark-{k}"
            if mine != [want]:
                p.append(f"{k}: logged {mine}, want [{want!r}]")
        step("hooks: args and env are passed", p)
        p = leftovers(rt, cid, bundle, cgpath)
        step("hooks: nothing left after delete", p)
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


@case("hooks: a failing createRuntime hook fails create and leaves nothing")
def hooks_failing_create_runtime(ctx, rt, step):
    # a failing createRuntime hook
    cid = ctx.new_id(rt, "hookfail")
    hd, _ = hook_dir(ctx, cid)
    fail = os.path.join(hd, "fail.sh")
    with open(fail, "w") as f:
        f.write("#!/bin/sh\necho 'fail.sh: refusing' >&2\nexit 3\n")
    os.chmod(fail, 0o755)

    def edit_fail(cfg, b):
        cfg["hooks"] = {"createRuntime": [{"path": fail, "args": ["fail.sh"]}]}

    bundle = ctx.bundle(rt, cid, edit=edit_fail)
    try:
        p = []
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        if r.status == 0 or r.status is None:
            p.append(f"create with a failing createRuntime hook: exit status {r.status}, want an error")
        if rt.is_vessel and not ("createruntime" in r.err.lower() and "fail.sh" in r.err):
            p.append("stderr does not name the createRuntime hook (fail.sh)")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("hooks: a failing createRuntime hook fails create and leaves nothing", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case("hooks: a hook timeout fails create within ~2 s and leaves nothing")
def hooks_timeout(ctx, rt, step):
    # a hook that outlives its timeout
    cid = ctx.new_id(rt, "hooktime")

    def edit_timeout(cfg, b):
        cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}

    bundle = ctx.bundle(rt, cid, edit=edit_timeout)
    try:
        p = []
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle, timeout=40)
        if r.status == 0 or r.status is None:
            p.append(f"create with a hook past its timeout: exit status {r.status}, want an error")
        if r.elapsed > 3.0:
            p.append(f"create took {r.elapsed:.1f} s with a 1 s hook timeout")
        if rt.is_vessel and "time" not in r.err.lower():
            p.append("stderr does not say the hook timed out")
        time.sleep(0.1)
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("hooks: a hook timeout fails create within ~2 s and leaves nothing", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case("hooks: a failing poststop hook only warns; delete succeeds")
def hooks_failing_poststop(ctx, rt, step):
    # a failing poststop hook only warns
    cid = ctx.new_id(rt, "poststop")

    def edit_poststop(cfg, b):
        cfg["hooks"] = {"poststop": [{"path": "/bin/false", "args": ["false"]}]}

    bundle = ctx.bundle(rt, cid, edit=edit_poststop)
    try:
        p = []
        r1 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r1, 0, "create")
        r2 = rt.run(["delete", "--force", cid])  # created, not stopped: --force
        expect_status(p, r2, 0, "delete with a failing poststop hook")
        if rt.is_vessel and "poststop" not in r2.err.lower():
            p.append("delete gave no warning naming the poststop hook")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("hooks: a failing poststop hook only warns; delete succeeds", p, [r1, r2])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
