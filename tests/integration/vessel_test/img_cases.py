"""The case registry and runner the image tests share (test_img*.py).

    CASES = Cases()
    case = CASES.case

    @case("what it checks")
    def _(tmp):                 # a fresh temporary directory, removed after
        ...                     # an exception fails the case, Skip skips it

    sys.exit(CASES.run("vessel-img-"))

Results print as TAP through vessel_test.tap (so VESSEL_TEST_FILTER picks
cases); every script needs qemu-img and qemu-io and skips without them.
"""
import shutil
import tempfile

from vessel_test.tap import Tap


class Skip(Exception):
    """Raised by a case that cannot run here; the message says why."""


class Cases:
    def __init__(self):
        self.all = []

    def case(self, name):
        def wrap(fn):
            self.all.append((name, fn))
            return fn
        return wrap

    def run(self, prefix, tap=None):
        """Run every selected case in its own temporary directory named
        with `prefix`; the script's exit status."""
        tap = tap or Tap()
        if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
            return tap.skip_all("qemu-img/qemu-io not installed (qemu-utils)")
        for name, fn in self.all:
            if not tap.wants(name):
                continue
            tmp = tempfile.mkdtemp(prefix=prefix)
            try:
                fn(tmp)
                tap.ok(name)
            except Skip as e:
                tap.skip(name, str(e))
            except Exception as e:  # noqa: BLE001 - every failure is reported in TAP
                tap.not_ok(name, ["%s: %s" % (type(e).__name__, e)])
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return tap.finish()
