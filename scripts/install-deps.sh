#!/bin/sh
# Install the Debian packages vessel needs to build and test, only those
# missing, so a warm machine pays nothing. Usage: install-deps.sh [extra...]
set -eu
need="meson ninja-build gcc clang clang-format libclang-rt-14-dev python3 pkg-config binutils libseccomp-dev libslirp-dev liburing-dev zlib1g-dev libzstd-dev libssl-dev qemu-utils qemu-system-x86 strace busybox-static cpio lz4 xz-utils zstd containerd uidmap $*"
# containerd: test_containerd.py drives vessel-oci through its runc shim;
# uidmap: newuidmap/newgidmap for rootless containers.
# The container tests drive podman; it is installed with its recommended
# packages (aardvark-dns, catatonit, fuse-overlayfs, ...), the set the
# tests were written against.
with_recommends="podman runc netavark iptables"
missing=""
missing_rec=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
for p in $with_recommends; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing_rec="$missing_rec $p"
done
[ -z "$missing$missing_rec" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "vessel: missing Debian packages:$missing$missing_rec; run as root or install them" >&2
	exit 1
fi
echo "vessel: installing$missing$missing_rec" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
[ -z "$missing" ] || apt-get install -y -q --no-install-recommends $missing >/dev/null
[ -z "$missing_rec" ] || apt-get install -y -q $missing_rec >/dev/null
