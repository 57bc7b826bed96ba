#!/usr/bin/env python3
"""vessel-oci --log FILE --log-format json|text: every message the runtime
and its library emit reaches the log file, where conmon and containerd look
for it. Prints TAP.

Usage: test_oci_log.py VESSEL_OCI   (or $VESSEL_OCI)

Cases (each with its own bundle and a private --root):
  - a poststop hook that fails: `delete` succeeds and the warning naming
    the hook is a JSON line {"level": "warning", "msg": ..., "time": ...};
  - the same with --log-format text ("warning: ..." lines);
  - --debug adds debug lines to the log; without it there are none;
  - an error (delete of an unknown container) is a JSON line at level
    "error" and the exit status is non-zero.
Every line of a JSON log must parse as one JSON object with level, msg and
time.

Needs root, cgroupfs and a static busybox (/bin/busybox or $BUSYBOX);
each case prints a TAP skip without them.
"""
# Minimal helpers, meant to move to the shared test module.
import json
import os
import shutil
import subprocess
import sys
import tempfile

CG_PARENT = "/vessel-test-log"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def make_rootfs(root, busybox):
    for d in ("bin", "proc", "sys", "dev", "etc", "tmp"):
        os.makedirs(os.path.join(root, d))
    shutil.copy2(busybox, os.path.join(root, "bin", "busybox"))
    for a in ("sh", "true", "false", "sleep", "echo"):
        os.symlink("busybox", os.path.join(root, "bin", a))


def config(cid, hooks=None):
    cfg = {
        "ociVersion": "1.1.0",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/true"],
            "env": [PATH_ENV],
            "cwd": "/",
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {
            "cgroupsPath": f"{CG_PARENT}/{cid}",
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        },
    }
    if hooks:
        cfg["hooks"] = hooks
    return cfg


def is_static(path):
    try:
        out = subprocess.run(["file", "-L", path], stdout=subprocess.PIPE, text=True).stdout
        return "statically linked" in out or "static-pie" in out
    except FileNotFoundError:
        with open(path, "rb") as f:
            return b"/lib64/ld-linux" not in f.read(4096)


def skip_reason(busybox):
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.isdir("/sys/fs/cgroup"):
        return "no cgroupfs"
    if not busybox or not os.path.exists(busybox):
        return "no busybox (install busybox-static)"
    if not is_static(busybox):
        return f"{busybox} is not statically linked (install busybox-static)"
    return None


class Ctx:
    def __init__(self, oci, tmp, busybox):
        self.oci, self.tmp, self.busybox = oci, tmp, busybox
        self.state = os.path.join(tmp, "state")
        self.n = 0

    def bundle(self, name, hooks=None):
        self.n += 1
        cid = f"log{self.n}-{name}"
        b = os.path.join(self.tmp, cid)
        os.makedirs(b)
        make_rootfs(os.path.join(b, "rootfs"), self.busybox)
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config(cid, hooks), f)
        return cid, b

    def run(self, args, log=None, fmt="json", debug=False, cwd=None):
        argv = [self.oci, "--root", self.state]
        if debug:
            argv.append("--debug")
        if log:
            argv += ["--log", log, "--log-format", fmt]
        argv += args
        # Files, not pipes: a created container's init keeps our stdout and
        # stderr open, and a pipe would not reach EOF until it exits.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=60, cwd=cwd)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, p.returncode, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))

    def force_delete(self, cid):
        self.run(["delete", "--force", cid])


def read_lines(path):
    try:
        with open(path) as f:
            return [l for l in f.read().splitlines() if l.strip()]
    except FileNotFoundError:
        return []


def json_records(path, problems):
    recs = []
    for line in read_lines(path):
        try:
            rec = json.loads(line)
        except ValueError:
            problems.append(f"log line is not JSON: {line!r}")
            continue
        if not isinstance(rec, dict) or not {"level", "msg", "time"} <= set(rec):
            problems.append(f"log line lacks level/msg/time: {line!r}")
            continue
        recs.append(rec)
    return recs


SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


def status(problems, r, want_zero, what):
    if (r.returncode == 0) != want_zero:
        problems.append(f"{what}: exit status {r.returncode}; stderr {r.stderr.strip()!r}")
    for m in SANITIZER_MARKERS:
        if m in r.stderr:
            problems.append(f"{what}: stderr mentions {m}")


def poststop_json(ctx):
    problems = []
    cid, b = ctx.bundle("poststop", {"poststop": [{"path": "/bin/false", "args": ["false"]}]})
    log = os.path.join(ctx.tmp, cid + ".log")
    try:
        status(problems, ctx.run(["create", "--bundle", b, cid], log=log, cwd=b), True, "create")
        status(problems, ctx.run(["delete", cid], log=log), True, "delete")
        recs = json_records(log, problems)
        warn = [r for r in recs if r["level"] == "warning" and "poststop" in r["msg"].lower()]
        if not warn:
            problems.append(f"no warning naming the poststop hook in the JSON log: {read_lines(log)}")
    finally:
        ctx.force_delete(cid)
    return problems


def poststop_text(ctx):
    problems = []
    cid, b = ctx.bundle("text", {"poststop": [{"path": "/bin/false", "args": ["false"]}]})
    log = os.path.join(ctx.tmp, cid + ".log")
    try:
        status(problems, ctx.run(["create", "--bundle", b, cid], log=log, fmt="text", cwd=b), True,
               "create")
        status(problems, ctx.run(["delete", cid], log=log, fmt="text"), True, "delete")
        lines = read_lines(log)
        if not any(l.startswith("warning: ") and "poststop" in l.lower() for l in lines):
            problems.append(f"no `warning: ...poststop...` line in the text log: {lines}")
    finally:
        ctx.force_delete(cid)
    return problems


def debug_lines(ctx):
    problems = []
    cid, b = ctx.bundle("debug")
    log_plain = os.path.join(ctx.tmp, cid + "-plain.log")
    log_debug = os.path.join(ctx.tmp, cid + "-debug.log")
    try:
        status(problems, ctx.run(["create", "--bundle", b, cid], log=log_plain, cwd=b), True, "create")
        status(problems, ctx.run(["delete", "--force", cid], log=log_plain), True, "delete")
        if any(r["level"] == "debug" for r in json_records(log_plain, problems)):
            problems.append("debug lines in the log without --debug")
        status(problems, ctx.run(["create", "--bundle", b, cid], log=log_debug, debug=True, cwd=b), True,
               "create --debug")
        if not any(r["level"] == "debug" for r in json_records(log_debug, problems)):
            problems.append(f"no debug line in the log with --debug: {read_lines(log_debug)}")
    finally:
        ctx.force_delete(cid)
    return problems


def error_json(ctx):
    problems = []
    log = os.path.join(ctx.tmp, "error.log")
    r = ctx.run(["delete", "no-such-container"], log=log)
    status(problems, r, False, "delete of an unknown container")
    recs = json_records(log, problems)
    if not any(rec["level"] == "error" and "no-such-container" in rec["msg"] for rec in recs):
        problems.append(f"no error line naming the container in the JSON log: {read_lines(log)}")
    return problems


CASES = [
    ("a failing poststop hook's warning reaches the --log file as JSON", poststop_json),
    ("a failing poststop hook's warning reaches the --log file as text", poststop_text),
    ("--debug adds debug lines to the log; without it there are none", debug_lines),
    ("an error is a JSON line at level error", error_json),
]


def rm_cgroups():
    for m in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified") + tuple(
            os.path.join("/sys/fs/cgroup", d) for d in os.listdir("/sys/fs/cgroup")):
        top = m + CG_PARENT
        if os.path.isdir(top):
            for dirpath, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass


def main():
    oci = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VESSEL_OCI")
    if not oci:
        print("usage: test_oci_log.py VESSEL_OCI", file=sys.stderr)
        return 2
    oci = os.path.abspath(oci)
    busybox = os.environ.get("BUSYBOX") or shutil.which("busybox") or "/bin/busybox"
    print(f"1..{len(CASES)}", flush=True)
    why = skip_reason(busybox)
    if why:
        for i, (name, _) in enumerate(CASES, 1):
            print(f"ok {i} - {name} # SKIP {why}")
        return 0
    failed = 0
    with tempfile.TemporaryDirectory(prefix="vessel-ocilog-") as tmp:
        os.chmod(tmp, 0o755)
        ctx = Ctx(oci, tmp, busybox)
        try:
            for i, (name, fn) in enumerate(CASES, 1):
                try:
                    problems = fn(ctx)
                except Exception as e:
                    problems = [f"driver error: {type(e).__name__}: {e}"]
                if problems:
                    failed += 1
                    print(f"not ok {i} - {name}")
                    for p in problems:
                        print(f"#   {p}")
                else:
                    print(f"ok {i} - {name}")
                sys.stdout.flush()
        finally:
            rm_cgroups()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
