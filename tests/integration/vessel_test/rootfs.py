"""The one busybox root filesystem of the tests, made by
scripts/busybox-rootfs.sh (the script `make run` uses): a static busybox
with one symlink per applet in /bin, root and user 1000 (home /home/user,
owned by it) in /etc/passwd and /etc/group (with tty, gid 5), sticky /tmp
and /var/tmp, empty /proc, /sys, /dev, /mnt."""
import os
import shutil
import struct
import subprocess

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "scripts",
                      "busybox-rootfs.sh")


def find_busybox():
    """$BUSYBOX, else /bin/busybox (Debian's busybox-static), else the one
    on PATH."""
    for cand in (os.environ.get("BUSYBOX"), "/bin/busybox", shutil.which("busybox")):
        if cand and os.path.isfile(cand):
            return os.path.abspath(cand)
    return None


def is_static(path):
    """True for an ELF with no PT_INTERP (a static or static-pie binary):
    only such a busybox runs in a root with no libc."""
    try:
        with open(path, "rb") as f:
            hdr = f.read(64)
            if len(hdr) < 64 or hdr[:4] != b"\x7fELF" or hdr[4] != 2:
                return False
            phoff, = struct.unpack_from("<Q", hdr, 32)
            phentsize, phnum = struct.unpack_from("<HH", hdr, 54)
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
    except OSError:
        return False
    return all(struct.unpack_from("<I", ph, i * phentsize)[0] != 3 for i in range(phnum))


def busybox_missing():
    """None, or why no busybox rootfs can be built here."""
    bb = find_busybox()
    if not bb:
        return "no busybox (install busybox-static)"
    if not is_static(bb):
        return f"{bb} is not statically linked (install busybox-static)"
    return None


def build_busybox_rootfs(path, busybox=None):
    """Make the test rootfs at `path` (created; its parent must exist) and
    return `path`. Raises CalledProcessError when the script fails."""
    env = dict(os.environ, BUSYBOX=busybox or find_busybox() or "/bin/busybox")
    subprocess.run(["sh", os.path.normpath(SCRIPT), path], env=env, check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    return path
