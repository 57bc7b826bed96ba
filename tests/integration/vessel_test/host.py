"""What the tests see of the host: mounts, processes, cgroup directories.
Read from /proc and the cgroup filesystems; nothing here changes them
except rmdir_tree."""
import os


def cgroup_mounts():
    """Mount points of every cgroup and cgroup2 filesystem."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype = right.split(" ", 1)[0]
            if fstype in ("cgroup", "cgroup2"):
                out.append(unescape(left.split(" ")[4]))
    return out


def unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts_mentioning(path):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if path in unescape(line):
                found.append(line.rstrip("\n"))
    return found


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid):
    s = proc_state(pid)
    return s is not None and s not in ("Z", "X")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def container_procs(cgpath, bundle):
    """Live processes in the container's cgroup (any hierarchy) or whose
    working directory is in the bundle (runtimes and their children are
    started there, so an init that never reached its cgroup shows up too)."""
    found = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        pid = int(d)
        if not alive(pid):
            continue
        why = None
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                for line in f:
                    parts = line.rstrip("\n").split(":", 2)
                    if len(parts) == 3 and (parts[2] == cgpath or parts[2].startswith(cgpath + "/")):
                        why = f"in cgroup {parts[1] or 'unified'}:{parts[2]}"
                        break
        except OSError:
            continue
        if not why:
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
                if cwd == bundle or cwd.startswith(bundle + "/"):
                    why = f"working directory {cwd}"
            except OSError:
                pass
        if why and alive(pid):
            found.append((pid, f"pid {pid} `{cmdline(pid)}` {why}"))
    return found


def cgroup_dirs(cgpath):
    return [m + cgpath for m in cgroup_mounts() if os.path.isdir(m + cgpath)]


def rmdir_tree(path):
    """rmdir a cgroup directory and its sub-cgroups, deepest first."""
    for dirpath, dirnames, _ in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def direct_refused(directory):
    """Why O_DIRECT cannot be had in `directory` (tmpfs), or None."""
    probe = os.path.join(directory, "direct-probe")
    with open(probe, "wb") as f:
        f.write(bytes(4096))
    try:
        os.close(os.open(probe, os.O_RDONLY | os.O_DIRECT))
        return None
    except OSError as e:
        return f"the file system of {directory} refuses O_DIRECT ({e.strerror})"
    finally:
        os.unlink(probe)
