#!/usr/bin/env python3
"""vessel-oci's command line as runc's: per-command help, `spec` then
`run` on a terminal (a pty of its own) and without one (fails, as runc),
`list` (paused, the OWNER column, alignment of long bundle paths),
`update --memory` with units, a missing process.cwd created at start, a
missing binary failing at create.

Run with vessel-oci, then with runc: runc is the reference here. The
fixtures, the clean-up checks after every case and the selection of cases
by name ($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_cli.py [VESSEL_OCI [RUNC]]
"""
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (CMD_TIMEOUT, Result, expect_status, force_cleanup, leftovers,  # noqa: E402
                             set_key)
from vessel_test.host import cgroup_dirs  # noqa: E402

CASES = []
case = oci.registry(CASES)

# What each runtime's help must mention (runc's wording differs; the
# option names do not).
HELP_WORDS = {
    "run": ["--bundle", "--detach", "--console-socket", "--pid-file"],
    "exec": ["--cwd", "--env", "--tty", "--user", "--process"],
    "update": ["--memory", "--pids-limit", "--cpu-quota"],
    "list": ["--format", "--quiet"],
}


@case("cli: COMMAND --help and help COMMAND show the command's options")
def per_command_help(ctx, rt, step):
    p, results = [], []
    for cmd, words in HELP_WORDS.items():
        for args in ([cmd, "--help"], ["help", cmd]):
            r = rt.run(args)
            results.append(r)
            if not expect_status(p, r, 0, " ".join(args)):
                continue
            for w in words:
                if w not in r.out:
                    p.append(f"`{' '.join(args)}` does not mention {w} on stdout")
    step("cli: COMMAND --help and help COMMAND show the command's options", p, results[:2])


def spec_bundle(ctx, rt, cid, script):
    """A bundle whose config.json is the runtime's own `spec`, with the
    test's rootfs, a command and the test's cgroup path."""
    b = ctx.bundle(rt, cid)
    os.unlink(os.path.join(b, "config.json"))
    r = rt.run(["spec"], cwd=b)
    with open(os.path.join(b, "config.json")) as f:
        cfg = json.load(f)
    cfg["process"]["args"] = ["sh", "-c", script]
    cfg["linux"]["cgroupsPath"] = ctx.cgpath(cid)
    cfg["root"]["readonly"] = False
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f)
    return b, r, cfg["process"].get("terminal")


@case("cli: spec then run on a terminal gives the process a pty")
def spec_run_terminal(ctx, rt, step):
    name = "cli: spec then run on a terminal gives the process a pty"
    # runc (the reference here) sets the pty's window size only after it
    # receives the console from its init, so on a loaded host the process
    # can run first and see 0x0: busybox's `stty size` then fails, with a
    # stale errno ("No child processes"). Seen in 2 of 22 runs at load 14,
    # never with vessel-oci, which sizes the pty before the exec. runc gets
    # three tries so that its race does not fail vessel's suite.
    tries = 1 if rt.is_vessel else 3
    for attempt in range(1, tries + 1):
        p, results = run_on_terminal(ctx, rt)
        runc_race = any("stty:" in line for line in p)
        if not p or not runc_race or attempt == tries:
            break
    step(name, p, results)


def run_on_terminal(ctx, rt):
    """One `spec` + `run` on a pty of the test's own; (problems, results)."""
    cid = ctx.new_id(rt, "specpty")
    bundle, r0, terminal = spec_bundle(ctx, rt, cid, "tty; stty size; exit 3")
    try:
        p = []
        expect_status(p, r0, 0, "spec")
        if terminal is not True:
            p.append(f"spec: process.terminal is {terminal!r}, want true (runc's default)")
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 21, 63, 0, 0))
        before = termios.tcgetattr(slave)
        argv = rt.argv(["run", cid])
        t0 = time.monotonic()

        def own_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=bundle,
                                preexec_fn=own_terminal)
        out = b""
        deadline = time.monotonic() + CMD_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                out += os.read(master, 4096)
            elif proc.poll() is not None:
                break
        try:
            status = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            status = proc.wait()
        after = termios.tcgetattr(slave)
        os.close(slave)
        os.close(master)
        text = out.decode(errors="replace").replace("\r", "")
        r = Result(argv, status, text, "", time.monotonic() - t0)
        expect_status(p, r, 3, "run (the process's own status)")
        lines = [line.strip() for line in text.splitlines()]
        if not any(line.startswith("/dev/pts/") for line in lines):
            p.append(f"`tty` in the container does not name a pty: {lines}")
        if "21 63" not in lines:
            p.append(f"`stty size` does not give the caller's window size 21 63: {lines}")
        if after != before:
            p.append("the caller's terminal settings were not restored")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        return p, [r0, r]
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case("cli: spec then run without a terminal fails, as runc, leaving nothing")
def spec_run_no_terminal(ctx, rt, step):
    name = "cli: spec then run without a terminal fails, as runc, leaving nothing"
    cid = ctx.new_id(rt, "specnotty")
    bundle, r0, _ = spec_bundle(ctx, rt, cid, "echo should-not-run")
    try:
        p = []
        argv = rt.argv(["run", cid])
        t0 = time.monotonic()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              cwd=bundle, start_new_session=True, timeout=CMD_TIMEOUT)
        r = Result(argv, proc.returncode, proc.stdout.decode(errors="replace"),
                   proc.stderr.decode(errors="replace"), time.monotonic() - t0)
        if r.status == 0:
            p.append("run without a terminal succeeded")
        if "should-not-run" in r.out:
            p.append("the process ran")
        if rt.is_vessel and "terminal" not in r.err:
            p.append(f"the error does not say `terminal`: {r.err.strip()!r}")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step(name, p, [r0, r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case("cli: list shows paused, the OWNER column, aligned long bundle paths")
def list_table(ctx, rt, step):
    name = "cli: list shows paused, the OWNER column, aligned long bundle paths"
    cid = ctx.new_id(rt, "list-with-a-rather-long-container-id")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p = []
        r1 = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r1, 0, "run --detach")
        r2 = rt.run(["pause", cid])
        expect_status(p, r2, 0, "pause")
        r3 = rt.run(["list"])
        expect_status(p, r3, 0, "list")
        lines = r3.out.splitlines()
        header = lines[0] if lines else ""
        cols = header.split()
        if cols != ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]:
            p.append(f"list header {cols}, want runc's ID PID STATUS BUNDLE CREATED OWNER")
        rows = [line for line in lines[1:] if line.startswith(cid)]
        if len(rows) != 1:
            p.append(f"{len(rows)} rows for {cid} in list")
        elif len(cols) == 6:
            row = rows[0]
            cells = row.split()
            if len(cells) != 6:
                p.append(f"row has {len(cells)} cells, want 6: {row!r}")
            else:
                if cells[2] != "paused":
                    p.append(f"status {cells[2]!r}, want 'paused'")
                if cells[3] != bundle:
                    p.append(f"bundle {cells[3]!r}, want {bundle!r}")
                if cells[5] != "root":
                    p.append(f"owner {cells[5]!r}, want 'root'")
                # Each column starts where its header does.
                pos = 0
                for col, cell in zip(cols, cells):
                    at = row.index(cell, pos)
                    if at != header.index(col):
                        p.append(f"column {col} starts at {header.index(col)} in the header but its "
                                 f"cell {cell!r} at {at}")
                    pos = at + len(cell)
        r4 = rt.run(["list", "--format", "json"])
        try:
            entry = [e for e in json.loads(r4.out) if e.get("id") == cid]
            if not entry or entry[0].get("status") != "paused":
                p.append(f"list --format json: status {entry[0].get('status') if entry else None!r}, "
                         "want 'paused'")
        except ValueError:
            p.append("list --format json is not JSON")
        r5 = rt.run(["resume", cid])
        expect_status(p, r5, 0, "resume")
        r6 = rt.run(["delete", "--force", cid])
        expect_status(p, r6, 0, "delete --force")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step(name, p, [r3, r4, r1, r2])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


def memory_limit(cgpath):
    for d in cgroup_dirs(cgpath):
        for f in ("memory.max", "memory.limit_in_bytes"):
            try:
                with open(os.path.join(d, f)) as fh:
                    return fh.read().strip()
            except OSError:
                pass
    return None


@case("cli: update --memory takes runc's units")
def update_units(ctx, rt, step):
    name = "cli: update --memory takes runc's units"
    cid = ctx.new_id(rt, "updunits")
    bundle = ctx.bundle(rt, cid, args=["sleep", "1000"])
    try:
        p, results = [], []
        r = rt.run(["run", "--detach", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r, 0, "run --detach")
        for value, want in (("64M", 64 << 20), ("128m", 128 << 20), ("96MiB", 96 << 20), ("1g", 1 << 30),
                            (str(80 << 20), 80 << 20)):
            r = rt.run(["update", "--memory", value, "--memory-swap", "-1", cid])
            results.append(r)
            if expect_status(p, r, 0, f"update --memory {value}"):
                got = memory_limit(ctx.cgpath(cid))
                if got != str(want):
                    p.append(f"update --memory {value}: limit {got}, want {want}")
        r = rt.run(["update", "--memory", "64X", cid])
        results.append(r)
        if r.status == 0:
            p.append("update --memory 64X succeeded")
        rd = rt.run(["delete", "--force", cid])
        expect_status(p, rd, 0, "delete --force")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step(name, p, results)
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case("cli: a missing process.cwd is created at start")
def missing_cwd(ctx, rt, step):
    name = "cli: a missing process.cwd is created at start"
    cid = ctx.new_id(rt, "cwd")
    bundle = ctx.bundle(rt, cid, args=["sh", "-c", "pwd"], edit=set_key("process.cwd", "/nope/deeper"))
    try:
        p = []
        r = rt.run(["run", "--bundle", bundle, cid], cwd=bundle)
        expect_status(p, r, 0, "run")
        if r.out.strip() != "/nope/deeper":
            p.append(f"pwd says {r.out.strip()!r}, want '/nope/deeper'")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step(name, p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


@case("cli: a missing binary fails at create, leaving nothing")
def missing_binary(ctx, rt, step):
    name = "cli: a missing binary fails at create, leaving nothing"
    cid = ctx.new_id(rt, "nobin")
    bundle = ctx.bundle(rt, cid, args=["no-such-binary"])
    try:
        p = []
        r = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
        if r.status == 0:
            p.append("create of a container whose binary is missing succeeded")
        if "no-such-binary" not in r.err:
            p.append(f"the error does not name the binary: {r.err.strip()!r}")
        p += leftovers(rt, cid, bundle, ctx.cgpath(cid))
        step(name, p, [r])
    finally:
        force_cleanup(rt, cid, bundle, ctx.cgpath(cid))


if __name__ == "__main__":
    sys.exit(oci.main(CASES))
