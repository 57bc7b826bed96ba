"""One TAP printer for every Python test, and the one way to pick cases.

    tap = Tap()
    for name, fn in cases:
        if not tap.wants(name):
            continue
        problems = fn()
        tap.result(name, problems, details=[...])
    return tap.finish()          # prints the plan, gives the exit status

A line is `ok N - name`, `ok N - name # SKIP reason`, `not ok N - name`
or `not ok N - name # TODO reason` (a known failure that is reported but
not counted, e.g. runc's own gaps). The problems of a failed case follow as
`#   ` diagnostics, then any details (command lines, output) indented one
step more; a note on a passing case is a diagnostic line too (a `#` on
the ok line itself would be read as a directive). The plan `1..N` comes
last, so a filtered or aborted run stays well-formed.
"""
import os
import shlex
import sys

FILTER_ENV = "VESSEL_TEST_FILTER"


def selected(name, patterns=None):
    """Whether case `name` runs: $VESSEL_TEST_FILTER holds comma-separated
    substrings; a case runs when its name contains any of them (empty or
    unset: every case)."""
    if patterns is None:
        patterns = filter_patterns()
    return not patterns or any(p in name for p in patterns)


def filter_patterns():
    return [p.strip() for p in os.environ.get(FILTER_ENV, "").split(",") if p.strip()]


def describe_command(argv, status, out, err, elapsed=None, tail=8):
    """Diagnostic lines for one command: what ran, how it ended, the last
    lines of its output."""
    shown = " ".join(shlex.quote(a if len(a) < 200 else a[:60] + "...") for a in argv)
    lines = [f"command: {shown}",
             f"exit status: {status}" + (f" after {elapsed:.2f} s" if elapsed is not None else "")]
    for label, text in (("stdout", out), ("stderr", err)):
        last = (text or "").splitlines()[-tail:]
        if last:
            lines.append(f"{label}:")
            lines += ["  " + t[:300] for t in last]
    return lines


class Tap:
    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.n = 0
        self.failed = 0
        self.patterns = filter_patterns()

    def wants(self, name):
        return selected(name, self.patterns)

    def _print(self, text):
        print(text, file=self.out)

    def diag(self, text, indent="#   "):
        for line in str(text).splitlines() or [""]:
            self._print(f"{indent}{line}")
        self.out.flush()

    def ok(self, name, note=None):
        return self.result(name, [], note=note)

    def not_ok(self, name, problems, details=(), todo=None):
        return self.result(name, problems or ["failed"], details=details, todo=todo)

    def skip(self, name, reason):
        return self.result(name, [], skip=reason)

    def result(self, name, problems, details=(), skip=None, todo=None, note=None):
        """Print one case. problems: what went wrong (empty: ok); details:
        lines that explain it (shown only on failure); skip: the reason the
        case did not run; todo: the reason a failure is expected. Returns
        whether the case passed (a skip counts as passing)."""
        self.n += 1
        if skip:
            self._print(f"ok {self.n} - {name} # SKIP {skip}")
            self.out.flush()
            return True
        if not problems:
            self._print(f"ok {self.n} - {name}")
            if note:
                self.diag(note)
            self.out.flush()
            return True
        if todo:
            self._print(f"not ok {self.n} - {name} # TODO {todo}")
        else:
            self.failed += 1
            self._print(f"not ok {self.n} - {name}")
        if note:
            self.diag(note)
        for p in problems:
            lines = str(p).splitlines() or [""]
            self._print(f"#   {lines[0]}")
            for more in lines[1:]:
                self._print(f"#     {more}")
        for line in details:
            self._print(f"#     {line}")
        self.out.flush()
        return False

    def skip_all(self, reason):
        """The whole script cannot run here: an empty plan with a reason."""
        self._print(f"1..0 # SKIP {reason}")
        self.out.flush()
        return 0

    def bail_out(self, reason):
        self._print(f"Bail out! {reason}")
        self.out.flush()
        return 1

    def finish(self):
        """Print the plan; the script's exit status (1 if a case failed)."""
        self._print(f"1..{self.n}")
        self.out.flush()
        return 1 if self.failed else 0
