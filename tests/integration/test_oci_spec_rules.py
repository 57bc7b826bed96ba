#!/usr/bin/env python3
"""OCI runtime-spec lifecycle rules, one case each: a config without any
namespace (the start handshake must not need /proc in the container), the
LSM fields refused where the host lacks the LSM, resources for a cgroup
controller the host lacks refused naming the field and the controller,
`features` telling what this host can apply, poststart and poststop hook
failures as warnings with the remaining hooks run, `delete` of a container
that is not stopped refused without --force, and `state` at every step.

Run with vessel-oci, then with runc to check the test itself (runc's own
departures from the spec are TAP TODO lines); the fixtures, the clean-up
checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_spec_rules.py [VESSEL_OCI [RUNC]]
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.host import alive, cgroup_mounts  # noqa: E402
from vessel_test.oci import (expect_status, force_cleanup, leftovers, read, state_of, wait_file,  # noqa: E402
                             wait_status)

CASES = []
case = oci.registry(CASES)


def stderr_names(rt, r, words, p, what):
    """vessel's error must name every word (field, controller...)."""
    if rt.is_vessel:
        missing = [w for w in words if w.lower() not in r.err.lower()]
        if missing:
            p.append(f"{what}: stderr does not name {missing}: {r.err.strip()[:300]!r}")


# ---- no namespaces --------------------------------------------------------


@case("spec: no namespaces at all: create, then start runs the process")
def no_namespaces(ctx, rt, step):
    name = "spec: no namespaces at all: create, then start runs the process"
    cid = ctx.new_id(rt, "nons")

    def edit(cfg, b):
        # Without a mount namespace every mount would land on the host, and
        # masked/read-only paths need one (runc refuses them): none at all.
        cfg["linux"]["namespaces"] = []
        cfg["mounts"] = []
        del cfg["linux"]["maskedPaths"]
        del cfg["linux"]["readonlyPaths"]
        del cfg["hostname"]
        cfg["process"]["args"] = ["sh", "-c", "echo ran > /ran-marker"]

    bundle = ctx.bundle(rt, cid, edit=edit)
    cgpath = ctx.cgpath(cid)
    try:
        p = []
        r1 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        results = [r1]
        if expect_status(p, r1, 0, "create"):
            st, _ = state_of(rt, cid, p)
            if st and st.get("status") != "created":
                p.append(f"after create the status is {st.get('status')!r}, want 'created'")
            r2 = rt.run(["start", cid])
            results.append(r2)
            expect_status(p, r2, 0, "start")
            marker = os.path.join(bundle, "rootfs", "ran-marker")
            if not wait_file(marker, 10):
                p.append("the process did not run: no /ran-marker in the rootfs")
            st = wait_status(rt, cid, "stopped")
            if not st or st.get("status") != "stopped":
                p.append(f"the process did not finish: status {st and st.get('status')!r}")
            r3 = rt.run(["delete", cid])
            results.append(r3)
            expect_status(p, r3, 0, "delete")
            p += leftovers(rt, cid, bundle, cgpath)
        step(name, p, results, todo=None if rt.is_vessel else "runc's init needs /proc in the container")
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


# ---- LSM fields -----------------------------------------------------------


def apparmor_enabled():
    return (read("/sys/module/apparmor/parameters/enabled") or "").startswith("Y")


def selinux_enabled():
    return os.path.exists("/sys/fs/selinux/enforce")


def refused_at_create(ctx, rt, step, name, edit, words, todo_runc):
    cid = ctx.new_id(rt, "refuse")
    bundle = ctx.bundle(rt, cid, edit=edit)
    cgpath = ctx.cgpath(cid)
    try:
        p = []
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        if r.status == 0:
            p.append("create succeeded, want an error: the container would run without what it asked for")
        elif r.status is None:
            p.append("create did not finish in time")
        stderr_names(rt, r, words, p, "create")
        p += leftovers(rt, cid, bundle, cgpath)
        step(name, p, [r], todo=None if rt.is_vessel else todo_runc)
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


LSM_CASES = [
    ("process.apparmorProfile", "apparmor", apparmor_enabled, oci.set_key("process.apparmorProfile", "vessel-test"),
     ["apparmorProfile", "apparmor"]),
    ("process.selinuxLabel", "selinux", selinux_enabled,
     oci.set_key("process.selinuxLabel", "system_u:system_r:container_t:s0"), ["selinuxLabel", "selinux"]),
    ("linux.mountLabel", "selinux", selinux_enabled,
     oci.set_key("linux.mountLabel", "system_u:object_r:container_file_t:s0"), ["mountLabel", "selinux"]),
]


def lsm_case(field, lsm, enabled, edit, words):
    name = f"spec: {field} on a host without {lsm} is refused at create, naming the field"

    @case(name)
    def fn(ctx, rt, step):
        if enabled():
            step(name, [], skip=f"this host has {lsm}")
            return
        refused_at_create(ctx, rt, step, name, edit, words, f"runc ignores {field} when {lsm} is off")


for _c in LSM_CASES:
    lsm_case(*_c)


# ---- resources for controllers the host lacks --------------------------------


def host_has(controller):
    """The same question vessel answers: a v1 hierarchy or the v2 tree."""
    for m in cgroup_mounts():
        if os.path.exists(os.path.join(m, "cgroup.controllers")):
            if controller in (read(os.path.join(m, "cgroup.controllers")) or "").split():
                return True
        elif controller in os.path.basename(m).split(","):
            return True
    return False


def blkio_weight_available():
    """The weight files exist in child cgroups only (BFQ leaves the root
    without them): look in a scratch child."""
    for m in cgroup_mounts():
        if "blkio" in os.path.basename(m).split(","):
            d = os.path.join(m, f"vessel-weight-probe-{os.getpid()}")
            os.makedirs(d, exist_ok=True)
            try:
                return any(os.path.exists(os.path.join(d, f)) for f in ("blkio.weight", "blkio.bfq.weight"))
            finally:
                os.rmdir(d)
    return True  # no v1 blkio: a v2 host applies io.weight, nothing to refuse here


RESOURCE_CASES = [
    ("network.classID", "net_cls", lambda: host_has("net_cls"),
     oci.set_key("linux.resources.network", {"classID": 0x100001}), ["classID", "net_cls"]),
    ("network.priorities", "net_prio", lambda: host_has("net_prio"),
     oci.set_key("linux.resources.network", {"priorities": [{"name": "lo", "priority": 5}]}),
     ["priorities", "net_prio"]),
    ("rdma", "rdma", lambda: host_has("rdma"),
     oci.set_key("linux.resources.rdma", {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 100}}), ["rdma"]),
    ("blockIO.weight", "blkio (proportional weights)", blkio_weight_available,
     oci.set_key("linux.resources.blockIO", {"weight": 500}), ["blockIO.weight", "blkio"]),
]


def resource_case(field, controller, available, edit, words):
    name = f"spec: linux.resources.{field} without the {controller} controller is refused, naming both"

    @case(name)
    def fn(ctx, rt, step):
        if available():
            step(name, [], skip=f"this host has {controller}")
            return
        refused_at_create(ctx, rt, step, name, edit, words,
                          f"runc skips {field} when the host has no {controller} controller")


for _c in RESOURCE_CASES:
    resource_case(*_c)


@case("spec: features reports what this host can apply")
def features_host(ctx, rt, step):
    name = "spec: features reports what this host can apply"
    p = []
    r = rt.run(["features"])
    if expect_status(p, r, 0, "features"):
        try:
            f = json.loads(r.out)
        except ValueError as e:
            f = {}
            p.append(f"features printed no JSON: {e}")
        lx = f.get("linux", {})
        for key, want in (("apparmor", apparmor_enabled()), ("selinux", selinux_enabled())):
            got = lx.get(key, {}).get("enabled")
            if got is not want:
                p.append(f"linux.{key}.enabled is {got!r}, this host: {want}")
        got = lx.get("cgroup", {}).get("rdma")
        if got is not host_has("rdma"):
            p.append(f"linux.cgroup.rdma is {got!r}, this host: {host_has('rdma')}")
        if rt.is_vessel:
            listed = (f.get("annotations", {}).get("org.vessel.cgroup.controllers") or "").split(",")
            for c in ("memory", "pids", "net_cls", "net_prio", "hugetlb", "rdma"):
                if (c in listed) != host_has(c):
                    p.append(f"org.vessel.cgroup.controllers {listed} says {c} is "
                             f"{'' if c in listed else 'not '}there; this host: {host_has(c)}")
    step(name, p, [r], todo=None if rt.is_vessel else "runc 1.1's features reports what it was built with, not the host")


# ---- hooks that fail after the fact -------------------------------------------


def marker_hook(path):
    return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {path}"]}


@case("spec: a failing poststart hook warns; the next one runs and start succeeds")
def poststart_fails(ctx, rt, step):
    name = "spec: a failing poststart hook warns; the next one runs and start succeeds"
    cid = ctx.new_id(rt, "pstart")
    marker = os.path.join(ctx.tmp, cid + ".poststart")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"], edit=oci.set_key(
        "hooks", {"poststart": [{"path": "/bin/false", "args": ["false"]}, marker_hook(marker)]}))
    cgpath = ctx.cgpath(cid)
    try:
        p = []
        r1 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        r2 = None
        if expect_status(p, r1, 0, "create"):
            r2 = rt.run(["start", cid])
            expect_status(p, r2, 0, "start with a failing poststart hook")
            stderr_names(rt, r2, ["poststart"], p, "start")
            if not os.path.exists(marker):
                p.append("the second poststart hook did not run")
            else:
                st = json.loads(read(marker) or "{}")
                if st.get("status") != "running" or st.get("id") != cid:
                    p.append(f"the second hook's stdin: {st}, want id {cid} and status running")
            st, _ = state_of(rt, cid, p)
            if st and st.get("status") != "running":
                p.append(f"after start the status is {st.get('status')!r}, want 'running'")
        r3 = rt.run(["delete", "--force", cid])
        expect_status(p, r3, 0, "delete --force")
        p += leftovers(rt, cid, bundle, cgpath)
        step(name, p, [r1, r2, r3], todo=None if rt.is_vessel else "runc stops the container and fails start")
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


@case("spec: a failing poststop hook warns; the next one runs and delete completes")
def poststop_fails(ctx, rt, step):
    name = "spec: a failing poststop hook warns; the next one runs and delete completes"
    cid = ctx.new_id(rt, "pstop")
    marker = os.path.join(ctx.tmp, cid + ".poststop")
    bundle = ctx.bundle(rt, cid, edit=oci.set_key(
        "hooks", {"poststop": [{"path": "/bin/false", "args": ["false"]}, marker_hook(marker)]}))
    cgpath = ctx.cgpath(cid)
    try:
        p = []
        r1 = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle)
        r2 = None
        if expect_status(p, r1, 0, "run --detach"):
            st = wait_status(rt, cid, "stopped")
            if not st or st.get("status") != "stopped":
                p.append(f"/bin/true did not stop: status {st and st.get('status')!r}")
            r2 = rt.run(["delete", cid])
            expect_status(p, r2, 0, "delete with a failing poststop hook")
            stderr_names(rt, r2, ["poststop"], p, "delete")
            if not os.path.exists(marker):
                p.append("the second poststop hook did not run")
            else:
                st = json.loads(read(marker) or "{}")
                if st.get("status") != "stopped" or st.get("id") != cid:
                    p.append(f"the second hook's stdin: {st}, want id {cid} and status stopped")
            p += leftovers(rt, cid, bundle, cgpath)
        step(name, p, [r1, r2], todo=None if rt.is_vessel else "runc stops at the first failing poststop hook")
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


# ---- delete and state at every step -------------------------------------------


@case("spec: delete of a created container without --force fails and leaves it untouched")
def delete_created(ctx, rt, step):
    name = "spec: delete of a created container without --force fails and leaves it untouched"
    cid = ctx.new_id(rt, "delcr")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", "echo started > /started"])
    cgpath = ctx.cgpath(cid)
    try:
        p = []
        r1 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        results = [r1]
        if expect_status(p, r1, 0, "create"):
            st1, _ = state_of(rt, cid, p)
            r2 = rt.run(["delete", cid])
            results.append(r2)
            if r2.status == 0:
                p.append("delete of a created container without --force succeeded")
            stderr_names(rt, r2, ["created", "force"], p, "delete")
            st2, _ = state_of(rt, cid)
            if not st2 or st2.get("status") != "created" or (st1 and st2.get("pid") != st1.get("pid")):
                p.append(f"the container changed: {st1} -> {st2}")
            elif not alive(st2.get("pid")):
                p.append("its init died")
            else:
                r3 = rt.run(["start", cid])
                results.append(r3)
                expect_status(p, r3, 0, "start after the refused delete")
                if not wait_file(os.path.join(bundle, "rootfs", "started"), 10):
                    p.append("the process did not run after the refused delete")
        r4 = rt.run(["delete", "--force", cid])
        results.append(r4)
        expect_status(p, r4, 0, "delete --force")
        p += leftovers(rt, cid, bundle, cgpath)
        step(name, p, results, todo=None if rt.is_vessel else "runc deletes a created container without --force")
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


@case("spec: delete of a paused container without --force fails and leaves it paused")
def delete_paused(ctx, rt, step):
    name = "spec: delete of a paused container without --force fails and leaves it paused"
    cid = ctx.new_id(rt, "delpa")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    cgpath = ctx.cgpath(cid)
    try:
        p = []
        r1 = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle)
        results = [r1]
        if expect_status(p, r1, 0, "run --detach"):
            r2 = rt.run(["pause", cid])
            results.append(r2)
            if expect_status(p, r2, 0, "pause"):
                r3 = rt.run(["delete", cid])
                results.append(r3)
                if r3.status == 0:
                    p.append("delete of a paused container without --force succeeded")
                st, _ = state_of(rt, cid)
                if not st or st.get("status") != "paused":
                    p.append(f"after the refused delete the status is {st and st.get('status')!r}, want 'paused'")
        r4 = rt.run(["delete", "--force", cid])
        results.append(r4)
        expect_status(p, r4, 0, "delete --force of a paused container")
        p += leftovers(rt, cid, bundle, cgpath)
        step(name, p, results)
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


STATE_KEYS = {"ociVersion", "id", "status", "pid", "bundle"}


@case("spec: state")
def state_every_step(ctx, rt, step):
    cid = ctx.new_id(rt, "state")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"],
                        edit=oci.set_key("annotations", {"org.example.key": "value-1"}))
    cgpath = ctx.cgpath(cid)

    def check(st, status, pid=None):
        p = []
        if st is None:
            return ["no state"]
        missing = STATE_KEYS - set(st) - ({"pid"} if status == "stopped" else set())
        if missing:
            p.append(f"state lacks {sorted(missing)}: {st}")
        if st.get("ociVersion") != oci.OCI_VERSION and not rt.is_vessel:
            pass  # runc reports its own version
        elif rt.is_vessel and st.get("ociVersion") != oci.OCI_VERSION:
            p.append(f"ociVersion {st.get('ociVersion')!r}, want the config's {oci.OCI_VERSION!r}")
        if st.get("id") != cid:
            p.append(f"id {st.get('id')!r}, want {cid!r}")
        if st.get("status") != status:
            p.append(f"status {st.get('status')!r}, want {status!r}")
        if st.get("bundle") != os.path.realpath(bundle):
            p.append(f"bundle {st.get('bundle')!r}, want the absolute {os.path.realpath(bundle)!r}")
        if (st.get("annotations") or {}).get("org.example.key") != "value-1":
            p.append(f"annotations {st.get('annotations')!r}, want the config's")
        if status in ("created", "running"):
            if not isinstance(st.get("pid"), int) or st.get("pid") <= 0 or not alive(st.get("pid")):
                p.append(f"pid {st.get('pid')!r} is not a live process")
            elif pid is not None and st.get("pid") != pid:
                p.append(f"pid changed from {pid} to {st.get('pid')}")
        return p

    try:
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        p = []
        expect_status(p, r, 0, "create")
        st, _ = state_of(rt, cid, p)
        p += check(st, "created")
        pid = st.get("pid") if st else None
        step("spec: state: after create: created, with the init's pid", p, [r])
        if p:
            raise oci.Abort()
        r = rt.run(["start", cid])
        p = []
        expect_status(p, r, 0, "start")
        st, _ = state_of(rt, cid, p)
        p += check(st, "running", pid)
        step("spec: state: after start: running, same pid", p, [r])
        r = rt.run(["kill", cid, "KILL"])
        p = []
        expect_status(p, r, 0, "kill")
        st = wait_status(rt, cid, "stopped")
        p += check(st, "stopped")
        step("spec: state: after the process is killed: stopped", p, [r])
        r = rt.run(["delete", cid])
        p = []
        expect_status(p, r, 0, "delete")
        r2 = rt.run(["state", cid])
        if r2.status == 0:
            p.append(f"state of a deleted container succeeded: {r2.out.strip()[:200]}")
        p += leftovers(rt, cid, bundle, cgpath)
        step("spec: state: after delete: state fails, nothing left", p, [r, r2])
    finally:
        force_cleanup(rt, cid, bundle, cgpath)


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
