"""A private containerd for the tests and the benchmark: its own socket,
root, state (a temporary config), stopped with every task and shim it
started; and a docker archive of a root filesystem directory for
`ctr image import` (no registry, no network).

    cd = Containerd(tmp)            # started, answering
    docker_archive(rootfs, tar, "localhost/name:tag")
    cd.ctr(["image", "import", tar])
    cd.ctr(["run", "--rm", "--runc-binary", RUNTIME, IMAGE, ID, "true"])
    cd.stop()
"""
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time

from .tap import describe_command

NS = "vessel-test"
RUN_DIR = "/run/containerd"
TIMEOUT = 60


class Result:
    def __init__(self, argv, status, out, err, elapsed):
        self.argv, self.status, self.out, self.err, self.elapsed = argv, status, out, err, elapsed

    def describe(self):
        return describe_command(self.argv, self.status, self.out, self.err, self.elapsed)


class Containerd:
    """One private containerd: its own socket, root, state and shim root."""

    def __init__(self, tmp):
        self.tmp = tmp
        # containerd 1.6 keeps shim sockets (/run/containerd/s), ctr's
        # fifos and the shim's runtime root there whatever the config:
        # stop() removes it when this instance made it.
        self.run_dir_existed = os.path.exists(RUN_DIR)
        self.sock = os.path.join(tmp, "containerd.sock")
        cfg = os.path.join(tmp, "config.toml")
        with open(cfg, "w") as f:
            f.write(f"""version = 2
root = "{tmp}/root"
state = "{tmp}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[debug]
  address = "{tmp}/debug.sock"
[metrics]
  address = ""
""")
        self.log = open(os.path.join(tmp, "containerd.log"), "w")
        self.proc = subprocess.Popen(["containerd", "--config", cfg], stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ctr(["version"], timeout=5).status == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("containerd did not come up: " + open(self.log.name).read()[-500:])

    def ctr(self, args, timeout=TIMEOUT, stdin=None):
        argv = ["ctr", "--address", self.sock, "--namespace", NS] + list(args)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                               capture_output=True, timeout=timeout)
            status, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            status, out, err = None, (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(
                errors="replace")
        return Result(argv, status, out, err, time.monotonic() - t0)

    def stop(self):
        """Every task killed, containerd stopped, its shims gone."""
        tasks = self.ctr(["task", "ls", "-q"], timeout=10).out.split()
        for t in tasks:
            self.ctr(["task", "kill", "-s", "SIGKILL", t], timeout=10)
            self.ctr(["task", "delete", "--force", t], timeout=20)
        for c in self.ctr(["container", "ls", "-q"], timeout=10).out.split():
            self.ctr(["container", "rm", c], timeout=20)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        for pid, _ in shims(self.sock):
            os.kill(pid, signal.SIGKILL)
        for d in ("root", "state"):
            subprocess.run(["umount", "-R", "-l", os.path.join(self.tmp, d)], stderr=subprocess.DEVNULL)
        if not shims(self.sock):
            if not self.run_dir_existed:
                shutil.rmtree(RUN_DIR, ignore_errors=True)
            else:
                try:
                    os.rmdir(os.path.join(RUN_DIR, "runc", NS))
                except OSError:
                    pass


def shims(sock):
    """containerd-shim-runc-v2 processes started for this containerd."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"containerd-shim-runc-v2") and sock.encode() in b" ".join(cmd):
            out.append((int(d), b" ".join(cmd).decode(errors="replace")))
    return out


def docker_archive(rootfs, path, image):
    """A `docker save` archive of one layer holding `rootfs`, tagged `image`."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, name), arcname=name)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [image],
                            "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in (("layer/layer.tar", layer_bytes), (config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
