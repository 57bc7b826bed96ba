#!/usr/bin/env python3
"""The stdio console on a real terminal: `vessel vm run` runs on the slave
side of a pseudo-terminal, as it would in an interactive shell.

Checks: raw mode while the guest runs, keystrokes reach the guest, the
terminal settings are restored on every exit path (guest exit, Ctrl-A x,
SIGTERM), and Ctrl-A x quits with status 0. Prints TAP.

usage: test_console.py VESSEL GUEST_DIR
$VESSEL_TEST_FILTER picks cases by name (vessel_test/tap.py).
"""
import os
import pty
import select
import signal
import sys
import termios
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test.tap import Tap  # noqa: E402

TIMEOUT_S = 30


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


class Session:
    """vessel on a fresh pty; the test holds the master side."""

    def __init__(self, vessel, guest, cmdline):
        self.master, slave = pty.openpty()
        self.before = termios.tcgetattr(slave)
        pid = os.fork()
        if pid == 0:
            os.setsid()
            os.close(self.master)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.execv(vessel, [vessel, "vm", "run", "--kernel", guest, "--cmdline", cmdline,
                              "--console", "stdio"])
        self.slave = slave
        self.pid = pid
        self.out = b""

    def read_until(self, needle, timeout=TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    return False
                if not chunk:
                    return False
                self.out += chunk
        return True

    def attrs(self):
        return termios.tcgetattr(self.slave)

    def send(self, data):
        os.write(self.master, data)

    def wait(self, timeout=TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read_until(b"\0", timeout=0.05)  # drain what is left
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.02)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return None

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def is_raw(attrs):
    lflag = attrs[3]
    return not (lflag & (termios.ICANON | termios.ECHO | termios.ISIG))


def case_keystrokes(vessel, guests):
    s = Session(vessel, os.path.join(guests, "test-pvh.elf"), "test=serial")
    problems = []
    try:
        if not s.read_until(b"ready"):
            return ["guest never printed ready: " + repr(s.out[-200:])]
        if not is_raw(s.attrs()):
            problems.append("terminal not in raw mode while the guest runs")
        s.send(b"hello vessel\n")
        if not s.read_until(b"got: hello vessel"):
            problems.append("guest did not echo the line: " + repr(s.out[-200:]))
        status = s.wait()
        if status != 1:
            problems.append(f"exit status {status}, want 1")
        if s.attrs() != s.before:
            problems.append("terminal settings not restored after the guest exited")
    finally:
        s.close()
    return problems


def case_ctrl_a_x(vessel, guests):
    s = Session(vessel, os.path.join(guests, "test-pvh.elf"), "test=serial")
    problems = []
    try:
        if not s.read_until(b"ready"):
            return ["guest never printed ready"]
        s.send(b"\x01x")
        status = s.wait(timeout=10)
        if status != 0:
            problems.append(f"Ctrl-A x: exit status {status}, want 0")
        if s.attrs() != s.before:
            problems.append("terminal settings not restored after Ctrl-A x")
    finally:
        s.close()
    return problems


def case_ctrl_a_ctrl_a(vessel, guests):
    """Ctrl-A Ctrl-A sends one Ctrl-A to the guest, and Ctrl-C is just a byte."""
    s = Session(vessel, os.path.join(guests, "test-pvh.elf"), "test=serial")
    problems = []
    try:
        if not s.read_until(b"ready"):
            return ["guest never printed ready"]
        s.send(b"a\x01\x01b\x03c\n")
        if not s.read_until(b"got: a\x01b\x03c"):
            problems.append("guest did not get 'a ^A b ^C c': " + repr(s.out[-200:]))
        status = s.wait()
        if status != 1:
            problems.append(f"exit status {status}, want 1")
    finally:
        s.close()
    return problems


def case_sigterm(vessel, guests):
    s = Session(vessel, os.path.join(guests, "test-pvh.elf"), "test=serial")
    problems = []
    try:
        if not s.read_until(b"ready"):
            return ["guest never printed ready"]
        os.kill(s.pid, signal.SIGTERM)
        status = s.wait(timeout=10)
        if status is None:
            problems.append("vessel did not stop on SIGTERM")
        elif status != 0:
            problems.append(f"SIGTERM: exit status {status}, want 0 (clean stop)")
        if s.attrs() != s.before:
            problems.append("terminal settings not restored after SIGTERM")
    finally:
        s.close()
    return problems


def main():
    vessel, guests = sys.argv[1], sys.argv[2]
    if not kvm_usable():
        return Tap().skip_all("/dev/kvm not available")
    cases = [
        ("keystrokes reach the guest; raw mode set and restored", case_keystrokes),
        ("Ctrl-A x quits with status 0 and restores the terminal", case_ctrl_a_x),
        ("Ctrl-A Ctrl-A sends Ctrl-A; Ctrl-C is passed through", case_ctrl_a_ctrl_a),
        ("SIGTERM stops cleanly and restores the terminal", case_sigterm),
    ]
    tap = Tap()
    for name, fn in cases:
        if tap.wants(name):
            tap.result(name, fn(vessel, guests))
    return tap.finish()

if __name__ == "__main__":
    sys.exit(main())
