#!/bin/sh
# Install the Debian packages vessel needs to build and test, only those
# missing, so a warm machine pays nothing. Usage: install-deps.sh [extra...]
set -eu
need="meson ninja-build gcc clang libclang-rt-14-dev python3 pkg-config binutils libseccomp-dev busybox-static podman runc netavark iptables $*"
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "vessel: missing Debian packages:$missing; run as root or install them" >&2
	exit 1
fi
echo "vessel: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
