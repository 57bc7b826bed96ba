#!/bin/sh
# Build a minimal root filesystem from a static busybox (Debian's
# busybox-static; $BUSYBOX overrides /bin/busybox) into DIR: one symlink per
# applet, root and an unprivileged user 1000 with a home, sticky /tmp and
# /var/tmp. Used by `make run` for the container demo and, through
# tests/integration/vessel_test/rootfs.py, by every Python test that needs a
# container root. Idempotent: a DIR that already has bin/busybox is left alone.
set -eu
dir=$1
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$dir/bin/busybox" ] && exit 0
for d in bin sbin usr/bin usr/sbin proc sys dev etc tmp var/tmp root home/user mnt; do
	mkdir -p "$dir/$d"
done
chmod 1777 "$dir/tmp" "$dir/var/tmp"
cp "$busybox" "$dir/bin/busybox"
chmod 755 "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
	[ -e "$dir/bin/$applet" ] || [ -L "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$dir/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nuser:x:1000:\n' >"$dir/etc/group"
# chown needs root; `make run` as a user still gets a usable tree.
chown 1000:1000 "$dir/home/user" 2>/dev/null || true
