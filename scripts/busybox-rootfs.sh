#!/bin/sh
# Build a minimal root filesystem from Debian's busybox-static into DIR
# (used by `make run` for the container demo). Idempotent.
set -eu
dir=$1
[ -x "$dir/bin/busybox" ] && exit 0
mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/etc" "$dir/tmp" "$dir/root"
cp /bin/busybox "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
	[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir/etc/passwd"
printf 'root:x:0:\n' >"$dir/etc/group"
