#!/usr/bin/env python3
"""Rootless containers: an unprivileged user created by this test runs
vessel-oci (and runc, the control): `spec --rootless`, a container in a
user namespace mapping the user to root (exit status, uid 0 inside,
nothing left), a memory limit refused with an error naming the field (no
delegated cgroup), and a mapping of the user's subordinate ids through
newuidmap/newgidmap (Debian's uidmap; /etc/subuid and /etc/subgid lines
added for the test and removed after). Then the same user drives
`podman --runtime RUNTIME` rootless (storage in the test's directory, vfs
driver, no network): run and exit status, --userns keep-id, a volume; its
leftover pause process is killed and the user removed at the end.

Usage: test_oci_rootless.py [VESSEL_OCI [RUNC]] (or $VESSEL_OCI, $RUNC).
Needs root (to create the user), useradd/userdel, runuser, busybox-static.
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.rootfs import build_busybox_rootfs, busybox_missing  # noqa: E402
from vessel_test.tap import Tap, describe_command  # noqa: E402

USER = "vessel-rl-test"
SUB_START, SUB_COUNT = 420000, 65536
TIMEOUT = 30


class Result:
    def __init__(self, argv, status, out, err, elapsed):
        self.argv, self.status, self.out, self.err, self.elapsed = argv, status, out, err, elapsed

    def describe(self):
        return describe_command(self.argv, self.status, self.out, self.err, self.elapsed)


def as_user(argv, cwd):
    full = ["runuser", "-u", USER, "--"] + argv
    t0 = time.monotonic()
    try:
        p = subprocess.run(full, cwd=cwd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/"})
        return Result(full, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
                      time.monotonic() - t0)
    except subprocess.TimeoutExpired:
        return Result(full, None, "", "timed out", time.monotonic() - t0)


class Ctx:
    def __init__(self, tmp, master, uid, gid):
        self.tmp, self.master, self.uid, self.gid = tmp, master, uid, gid
        self.n = 0

    def bundle(self, rt, edit):
        """A bundle owned by the user, its config from the runtime's own
        `spec --rootless`, changed by `edit`."""
        self.n += 1
        cid = f"{rt.name[0]}{self.n}"
        b = os.path.join(self.tmp, "b-" + cid)
        os.makedirs(b)
        shutil.copytree(self.master, os.path.join(b, "rootfs"), symlinks=True)
        subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", b], check=True)
        r = as_user([rt.path, "spec", "--rootless"], cwd=b)
        if r.status != 0:
            return cid, b, r
        path = os.path.join(b, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["root"]["readonly"] = False
        edit(cfg)
        with open(path, "w") as f:
            json.dump(cfg, f)
        return cid, b, r


class Runtime:
    def __init__(self, name, path, tmp, uid, gid):
        self.name, self.path = name, path
        self.root = os.path.join(tmp, "state-" + name)
        os.makedirs(self.root)
        os.chown(self.root, uid, gid)

    def run(self, args, cwd):
        return as_user([self.path, "--root", self.root] + list(args), cwd=cwd)


def set_args(*args):
    def edit(cfg):
        cfg["process"]["args"] = list(args)
    return edit


def case_spec(ctx, rt, step):
    cid, b, r = ctx.bundle(rt, lambda cfg: None)
    p = []
    if r.status != 0:
        p.append(f"spec --rootless exited {r.status}")
    else:
        cfg = json.load(open(os.path.join(b, "config.json")))
        lx = cfg.get("linux", {})
        types = [n.get("type") for n in lx.get("namespaces", [])]
        if "user" not in types:
            p.append(f"no user namespace: {types}")
        if "network" in types:
            p.append("a network namespace (an unprivileged user cannot configure one)")
        for key, want in (("uidMappings", ctx.uid), ("gidMappings", ctx.gid)):
            m = lx.get(key) or []
            if not m or m[0].get("hostID") != want or m[0].get("containerID") != 0:
                p.append(f"{key} {m}: want container 0 mapped to the caller's {want}")
        # runc keeps a read-only cgroup mount; vessel leaves it out, as
        # the user may own no cgroup to show.
        if rt.name == "vessel" and any(m.get("type") == "cgroup" for m in cfg.get("mounts", [])):
            p.append("a cgroup mount (the user owns no cgroup)")
    step("spec --rootless: a user namespace mapping the caller, no network namespace, no cgroup mount", p, [r])


def case_run(ctx, rt, step):
    cid, b, r0 = ctx.bundle(rt, set_args("sh", "-c", "id -u; echo rootless-$((6*7)); exit 9"))
    p = []
    r = rt.run(["run", cid], cwd=b)
    if r.status != 9:
        p.append(f"run exited {r.status}, want the container's 9")
    lines = r.out.split()
    if "rootless-42" not in lines:
        p.append(f"no output from the container: {r.out[:200]!r}")
    elif lines[0] != "0":
        p.append(f"uid inside is {lines[0]!r}, want 0 (the user mapped to root)")
    if os.path.exists(os.path.join(rt.root, cid)):
        p.append("the state directory is still there after run")
    step("run as an unprivileged user: exit status, root inside, nothing left", p, [r0, r])


def case_limit(ctx, rt, step):
    def edit(cfg):
        cfg["process"]["args"] = ["true"]
        cfg.setdefault("linux", {})["resources"] = {"memory": {"limit": 64 << 20}}
    cid, b, r0 = ctx.bundle(rt, edit)
    p = []
    r = rt.run(["run", cid], cwd=b)
    if r.status == 0:
        p.append("a memory limit without a delegated cgroup was accepted: the container ran without it")
    if rt.name == "vessel" and "linux.resources.memory" not in r.err:
        p.append(f"the error does not name linux.resources.memory: {r.err.strip()[:300]!r}")
    if os.path.exists(os.path.join(rt.root, cid)):
        p.append("a state directory is left")
    step("a memory limit without a delegated cgroup is refused, naming the field", p, [r0, r])


def case_subids(ctx, rt, step):
    if not shutil.which("newuidmap") or not shutil.which("newgidmap"):
        step("subordinate ids through newuidmap/newgidmap", [], skip="uidmap (newuidmap) is not installed")
        return

    def edit(cfg):
        cfg["process"]["args"] = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; chown 1000:1000 /tmp"]
        for k in ("bounding", "effective", "permitted"):
            cfg["process"]["capabilities"][k].append("CAP_CHOWN")
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": ctx.uid, "size": 1},
                                       {"containerID": 1, "hostID": SUB_START, "size": SUB_COUNT}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": ctx.gid, "size": 1},
                                       {"containerID": 1, "hostID": SUB_START, "size": SUB_COUNT}]
    cid, b, r0 = ctx.bundle(rt, edit)
    p = []
    r = rt.run(["run", cid], cwd=b)
    if r.status != 0:
        p.append(f"run exited {r.status}")
    rows = [line.split() for line in r.out.splitlines()]
    want = ["1", str(SUB_START), str(SUB_COUNT)]
    if rows.count(want) != 2:
        p.append(f"uid_map/gid_map inside do not map 1.. to the subordinate ids: {rows}")
    st = os.stat(os.path.join(b, "rootfs", "tmp"))
    if (st.st_uid, st.st_gid) != (SUB_START + 999, SUB_START + 999):
        p.append(f"chown 1000:1000 inside gave {st.st_uid}:{st.st_gid} on the host, "
                 f"want {SUB_START + 999}:{SUB_START + 999}")
    step("subordinate ids through newuidmap/newgidmap: mapped, and chown lands on them", p, [r0, r])


# ---- rootless podman --------------------------------------------------------


class Podman:
    """podman run by the test user, its storage, run root and runtime
    directory in the test's temporary directory."""

    def __init__(self, tmp, uid, gid):
        self.tmp = os.path.join(tmp, "podman")  # the user's: podman creates what it needs in it
        os.makedirs(self.tmp, mode=0o700)
        os.chown(self.tmp, uid, gid)
        self.home = os.path.join(self.tmp, "home")
        self.xdg = os.path.join(self.tmp, "run")
        for d in (self.home, self.xdg):
            os.makedirs(d, mode=0o700)
            os.chown(d, uid, gid)
        self.base = ["podman", "--root", os.path.join(self.tmp, "storage"), "--runroot",
                     os.path.join(self.tmp, "runroot"), "--tmpdir", os.path.join(self.tmp, "tmp"),
                     "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def run(self, args, timeout=120):
        full = ["runuser", "-u", USER, "--", "env", f"HOME={self.home}", f"XDG_RUNTIME_DIR={self.xdg}"] + \
            self.base + list(args)
        t0 = time.monotonic()
        try:
            p = subprocess.run(full, cwd=self.tmp, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
            return Result(full, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
                          time.monotonic() - t0)
        except subprocess.TimeoutExpired:
            return Result(full, None, "", "timed out", time.monotonic() - t0)


PODMAN_IMAGE = "localhost/vessel-rootless:latest"


def podman_case(fn):
    fn.podman = True
    return fn


@podman_case
def case_podman_run(ctx, rt, step):
    p = []
    r = ctx.podman.run(["--runtime", rt.path, "run", "--rm", "--network", "none", PODMAN_IMAGE,
                        "sh", "-c", "id -u; echo podman-$((6*7)); exit 4"])
    if r.status != 4:
        p.append(f"podman run exited {r.status}, want the container's 4")
    if "podman-42" not in r.out:
        p.append(f"no output from the container: {r.out[:200]!r}")
    elif r.out.split()[0] != "0":
        p.append(f"uid inside {r.out.split()[0]!r}, want 0")
    step("rootless podman run: output, exit status", p, [r])


@podman_case
def case_podman_keep_id(ctx, rt, step):
    p = []
    r = ctx.podman.run(["--runtime", rt.path, "run", "--rm", "--network", "none", "--userns", "keep-id",
                        PODMAN_IMAGE, "sh", "-c", "id -u; id -g"])
    if r.status != 0:
        p.append(f"podman run --userns keep-id exited {r.status}")
    elif r.out.split()[:2] != [str(ctx.uid), str(ctx.gid)]:
        p.append(f"ids inside {r.out.split()[:2]}, want the user's {ctx.uid} {ctx.gid}")
    step("rootless podman --userns keep-id: the user's own ids inside", p, [r])


@podman_case
def case_podman_volume(ctx, rt, step):
    vol = os.path.join(ctx.tmp, f"vol-{rt.name}")
    os.makedirs(vol)
    os.chown(vol, ctx.uid, ctx.gid)
    p = []
    r = ctx.podman.run(["--runtime", rt.path, "run", "--rm", "--network", "none", "-v", f"{vol}:/data",
                        PODMAN_IMAGE, "sh", "-c", "echo from-container > /data/f; cat /data/f"])
    if r.status != 0 or "from-container" not in r.out:
        p.append(f"podman run -v exited {r.status}, output {r.out[:200]!r}")
    f = os.path.join(vol, "f")
    if not os.path.exists(f):
        p.append("the file written in the volume is not on the host")
    elif os.stat(f).st_uid != ctx.uid:
        p.append(f"the file is owned by {os.stat(f).st_uid} on the host, want the user's {ctx.uid}")
    step("rootless podman -v: a volume written by the container, owned by the user", p, [r])


# No --memory case: on a cgroup v1 host rootless podman drops resource
# limits itself ("not supported and ignored on cgroups V1 rootless
# systems") before the runtime sees them; case_limit covers the runtime.


CASES = [case_spec, case_run, case_limit, case_subids, case_podman_run, case_podman_keep_id, case_podman_volume]


def setup_podman(ctx, tap):
    """The image in the user's storage; None (and a skip) without podman."""
    if not shutil.which("podman"):
        tap.skip("rootless podman: every case", "podman is not installed")
        return None
    pm = Podman(ctx.tmp, ctx.uid, ctx.gid)
    tar = os.path.join(ctx.tmp, "rootfs.tar")
    subprocess.run(["tar", "-C", ctx.master, "-cf", tar, "."], check=True)
    os.chown(tar, ctx.uid, ctx.gid)
    r = pm.run(["import", tar, PODMAN_IMAGE])
    if not tap.result("rootless podman: import the busybox image into the user's storage",
                      [] if r.status == 0 else [f"podman import exited {r.status}"], r.describe()):
        return None
    return pm


def kill_user_processes(uid):
    """podman leaves a rootless pause process (and maybe conmon) behind:
    every process of the test's own user goes, by pid."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    os.kill(int(d), 9)
            except OSError:
                pass


def add_subids():
    """The user's subordinate ids; returns what to undo."""
    added = []
    for f in ("/etc/subuid", "/etc/subgid"):
        line = f"{USER}:{SUB_START}:{SUB_COUNT}\n"
        text = open(f).read() if os.path.exists(f) else ""
        if line not in text:
            with open(f, "a") as fh:
                fh.write(line)
            added.append((f, line))
    return added


def main(argv):
    vessel = argv[1] if len(argv) > 1 else os.environ.get("VESSEL_OCI")
    runc = argv[2] if len(argv) > 2 else os.environ.get("RUNC", "/usr/sbin/runc")
    tap = Tap()
    if not vessel:
        print("usage: test_oci_rootless.py VESSEL_OCI [RUNC]", file=sys.stderr)
        return 2
    vessel = os.path.abspath(vessel)
    if os.geteuid() != 0:
        return tap.skip_all("not root (needed to create the test user)")
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            return tap.skip_all(f"{tool} is not installed")
    why = busybox_missing()
    if why:
        return tap.skip_all(why)
    created = False
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", USER], check=True)
        created = True
        pw = pwd.getpwnam(USER)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="vessel-rootless-"))
    os.chmod(tmp, 0o755)
    undo = add_subids()
    try:
        master = os.path.join(tmp, "rootfs-master")
        build_busybox_rootfs(master)
        ctx = Ctx(tmp, master, pw.pw_uid, pw.pw_gid)
        ctx.podman = setup_podman(ctx, tap)
        runtimes = [("vessel", vessel)] + ([("runc", runc)] if os.access(runc, os.X_OK) else [])
        for name, path in runtimes:
            rt = Runtime(name, path, tmp, pw.pw_uid, pw.pw_gid)

            def step(label, problems, results=(), skip=None, rt=rt):
                details = [line for r in results if r is not None for line in r.describe()]
                return tap.result(f"{rt.name}: {label}", problems, details, skip=skip)
            for fn in CASES:
                if getattr(fn, "podman", False) and ctx.podman is None:
                    continue
                if tap.wants(f"{name}: {fn.__name__}"):
                    try:
                        fn(ctx, rt, step)
                    except Exception as e:  # a broken test must still print TAP
                        step(f"{fn.__name__}: driver error", [f"{type(e).__name__}: {e}"])
    finally:
        kill_user_processes(pw.pw_uid)
        time.sleep(0.2)
        for line in reversed(open("/proc/self/mountinfo").read().splitlines()):
            mp = line.split(" ")[4]
            if mp.startswith(tmp):
                subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
        for f, line in undo:
            text = open(f).read()
            with open(f, "w") as fh:
                fh.write(text.replace(line, "", 1))
        shutil.rmtree(tmp, ignore_errors=True)
        if created:
            subprocess.run(["userdel", USER], stderr=subprocess.DEVNULL)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
