"""Shared helpers of the Python integration tests (tests/integration/*.py).

Modules:
  tap     the one TAP printer (Tap: ok / not ok / SKIP / TODO, diagnostics,
          the plan), case selection, describe_command for failure details
  rootfs  the one busybox root filesystem (scripts/busybox-rootfs.sh)
  host    mounts, processes and cgroup directories as /proc shows them
  oci     the OCI runtime fixtures and driver of test_oci_*.py
  containerd  a private containerd and a docker archive to import
              (test_containerd.py, bench/ct)

Conventions for every script:
  - Output is TAP on stdout, plan last; the exit status is 1 when a case
    failed (a TODO line does not count), 0 otherwise; a missing
    prerequisite (root, /dev/kvm, busybox-static, podman...) skips.
  - Binaries come as positional arguments (what meson passes), or from
    the environment when run by hand ($VESSEL, $VESSEL_OCI, ...).
  - VESSEL_TEST_FILTER=sub1,sub2 runs only the cases whose name contains
    one of the comma-separated substrings; the name is the text after
    "ok N - " (for the OCI scripts it starts with the runtime: "vessel: "
    or "runc: "). For example:
        VESSEL_TEST_FILTER='vessel: bad input' python3 tests/integration/test_oci_bad_config.py build/vessel-oci
        VESSEL_TEST_FILTER='run: --detach,SIGKILL' meson test -C build oci-run
    The selected cases keep their names; their numbers restart at 1.

The scripts import this package from their own directory; they set
sys.dont_write_bytecode first so no __pycache__ lands in the source tree.
"""
