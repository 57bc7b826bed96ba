#!/usr/bin/env python3
"""Bad input: configs the runtime must refuse with one clear line naming the
field (the runc set checks only the exit status), bad ids, a duplicate id,
start of a missing container, delete of a running one, --systemd-cgroup.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_bad_config.py [VESSEL_OCI [RUNC]]
"""
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (add_mount, alive, cgroup_dirs, del_key, expect_status, force_cleanup, leftovers,
                             set_key, state_of)  # noqa: E402

CASES = []
case = oci.registry(CASES)


def user_ns_bad_map(cfg, b):
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 0}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def rootfs_is_file(cfg, b):
    path = os.path.join(b, "rootfs.img")
    with open(path, "w") as f:
        f.write("not a directory\n")
    cfg["root"]["path"] = path


def bad_config_cases():
    """(name, edit, keywords that name the field, runc_note). runc_note
    marks a config runc accepts, which the runc line then only reports."""
    return [
        ("invalid JSON", lambda cfg, b: '{"ociVersion": "1.0.2", "process": {', ["json", "config"], None),
        ("missing ociVersion", del_key("ociVersion"), ["ociVersion"], "runc 1.1 does not check ociVersion"),
        ("missing root.path", del_key("root.path"), ["root.path"], None),
        ("root.path does not exist", set_key("root.path", "no-such-rootfs"), ["no-such-rootfs"], None),
        ("unknown namespace type",
         lambda cfg, b: cfg["linux"]["namespaces"].append({"type": "bogusns"}), ["bogusns"], None),
        ("duplicate namespace",
         lambda cfg, b: cfg["linux"]["namespaces"].append({"type": "pid"}), ["namespace"], None),
        ("relative mount destination",
         add_mount({"destination": "relative/dir", "type": "tmpfs", "source": "tmpfs"}),
         ["destination"], "runc 1.1 accepts a relative destination (deprecated)"),
        ("mount with unknown option",
         add_mount({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["frobnicate"]}),
         ["frobnicate"], None),
        ("relative process.cwd", set_key("process.cwd", "tmp"), ["process.cwd"], None),
        ("empty process.args", set_key("process.args", []), ["process.args"], None),
        ("uid mapping of size 0", user_ns_bad_map, ["uidMappings"], None),
        ("unknown capability", set_key("process.capabilities.bounding", ["CAP_BOGUS"]), ["CAP_BOGUS"],
         "runc 1.1 only warns about an unknown capability"),
        ("unknown rlimit type",
         set_key("process.rlimits", [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]), ["RLIMIT_BOGUS"], None),
        ("seccomp with an unknown action",
         set_key("linux.seccomp", {"defaultAction": "SCMP_ACT_BOGUS", "architectures": ["SCMP_ARCH_X86_64"]}),
         ["SCMP_ACT_BOGUS"], None),
        ("hook with a relative path",
         set_key("hooks", {"prestart": [{"path": "bin/true"}]}), ["hooks.prestart", "bin/true"], None),
        ("cgroupsPath in systemd slice syntax",
         set_key("linux.cgroupsPath", "system.slice:oci:test"), ["cgroupsPath"],
         "runc's cgroupfs driver takes it as a relative path"),
        ("root.path is a file", rootfs_is_file, ["rootfs.img"], None),
        ("terminal without --console-socket", set_key("process.terminal", True), ["console"], None),
    ]


def check_bad(rt, r, keywords, problems):
    if r.status is None:
        problems.append("did not finish in time")
    elif r.status == 0:
        problems.append("exit status 0, want an error")
    elif r.status < 0:
        problems.append(f"killed by signal {-r.status}")
    if not rt.is_vessel:
        return
    lines = [line for line in r.err.splitlines() if line.strip()]
    if not lines:
        problems.append("nothing on stderr")
    elif not any(k.lower() in line.lower() for line in lines for k in keywords):
        problems.append("stderr names none of: " + ", ".join(repr(k) for k in keywords))
    elif len(lines) > 2:
        problems.append(f"{len(lines)} lines on stderr, want one clear line")


def bad_config_case(name, edit, keywords, runc_note):
    def fn(ctx, rt, step):
        cid = ctx.new_id(rt, "bad")
        bundle = ctx.bundle(rt, cid, args=["sleep", "1000"], edit=edit)
        try:
            p = []
            r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle, timeout=20)
            if runc_note and not rt.is_vessel:
                p += leftovers(rt, cid, bundle, ctx.cgpath(cid)) if r.status != 0 else []
                step(f"bad input: {name}", p, [r], note=f"{runc_note}; exit status {r.status}")
                return
            check_bad(rt, r, keywords, p)
            p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
            step(f"bad input: {name}", p, [r])
        finally:
            force_cleanup(rt, cid, bundle, ctx.cgpath(cid))
    return fn


for _name, _edit, _keywords, _runc_note in bad_config_cases():
    case(f"bad input: {_name}")(bad_config_case(_name, _edit, _keywords, _runc_note))


@case("bad input: id with a slash")
def bad_id_slash(ctx, rt, step):
    cid = ctx.new_id(rt, "slash")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        bad_id = "evil/../" + cid
        r = rt.run(["create", "--bundle", bundle, bad_id], cwd=bundle)
        check_bad(rt, r, ["id", bad_id], p)
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        if os.path.exists(os.path.join(rt.root, "evil")):
            p.append(f"{rt.root}/evil was created")
        step("bad input: id with a slash", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))
        shutil.rmtree(os.path.join(rt.root, "evil"), ignore_errors=True)


@case("bad input: id already in use")
def bad_id_in_use(ctx, rt, step):
    cid = ctx.new_id(rt, "dup")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r1 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r1, 0, "first create")
        st1, _ = state_of(rt, cid, p)
        r2 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        check_bad(rt, r2, ["exist", "in use", cid], p)
        st2, _ = state_of(rt, cid, p)
        if st1 and (not st2 or st2.get("status") != "created" or st2.get("pid") != st1.get("pid")):
            p.append(f"the first container changed: {st1} -> {st2}")
        elif st1 and not alive(st1.get("pid")):
            p.append("the first container's init died")
        if not cgroup_dirs(ctx.cgpath(cid)):
            p.append("the first container's cgroup was removed")
        r3 = rt.run(["delete", "--force", cid])  # created, not stopped: --force
        expect_status(p, r3, 0, "delete --force of the first container")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("bad input: id already in use", p, [r1, r2, r3])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case("bad input: start of a container that does not exist")
def bad_start_missing(ctx, rt, step):
    p = []
    r = rt.run(["start", "no-such-container"])
    check_bad(rt, r, ["no-such-container"], p)
    if os.path.exists(os.path.join(rt.root, "no-such-container")):
        p.append("a state directory appeared for it")
    step("bad input: start of a container that does not exist", p, [r])


@case("bad input: delete of a running container without --force is refused")
def bad_delete_running(ctx, rt, step):
    cid = ctx.new_id(rt, "delrun")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r1 = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r1, 0, "run --detach")
        st1, _ = state_of(rt, cid, p)
        r2 = rt.run(["delete", cid])
        check_bad(rt, r2, ["running", "force"], p)
        st2, _ = state_of(rt, cid, p)
        if not st2 or st2.get("status") != "running":
            p.append(f"after the refused delete the status is {st2 and st2.get('status')!r}, want 'running'")
        if st1 and not alive(st1.get("pid")):
            p.append("init died")
        if not cgroup_dirs(ctx.cgpath(cid)):
            p.append("the cgroup was removed")
        r3 = rt.run(["delete", "--force", cid])
        expect_status(p, r3, 0, "delete --force")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("bad input: delete of a running container without --force is refused", p, [r1, r2, r3])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case("bad input: --systemd-cgroup is refused")
def bad_systemd_cgroup(ctx, rt, step):
    cid = ctx.new_id(rt, "systemd")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle, global_args=["--systemd-cgroup"])
        check_bad(rt, r, ["systemd"], p)
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step("bad input: --systemd-cgroup is refused", p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
