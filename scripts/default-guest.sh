#!/bin/sh
# Prepare vessel's default guest from Debian packages: the stock cloud
# kernel (linux-image-cloud-amd64) and a busybox-static initramfs with the
# kernel's virtio modules. Cached outside the build tree and reused while
# the kernel package and the guest files are unchanged.
#
# Usage: default-guest.sh        prints the cache directory, holding
#                                 vmlinuz (bzImage), vmlinux (its ELF kernel)
#                                 and initramfs.cpio.gz
# Environment: VESSEL_CACHE (default /var/cache/vessel)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache="${VESSEL_CACHE:-/var/cache/vessel}/guest"
mkdir -p "$cache"

fail() {
	echo "vessel: default guest: $*" >&2
	exit 1
}

command -v busybox >/dev/null 2>&1 || fail "busybox-static is not installed (scripts/install-deps.sh installs it)"
[ -e /bin/busybox ] || fail "/bin/busybox is missing (install busybox-static)"
for tool in cpio lz4 xz zstd; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (scripts/install-deps.sh installs it)"
done

# The versioned kernel package the meta package points at.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
	apt-get update -q >/dev/null || fail "apt-get update failed"
fi
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || fail "cannot find the kernel package behind linux-image-cloud-amd64"
ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
stamp="$pkg $ver $(cat "$here/default-guest.sh" "$here/guest/init" "$here/guest/demo" /bin/busybox | md5sum | cut -d' ' -f1)"
if [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp" ] &&
	[ -s "$cache/vmlinuz" ] && [ -s "$cache/vmlinux" ] && [ -s "$cache/initramfs.cpio.gz" ]; then
	echo "$cache"
	exit 0
fi

work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
(cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null) ||
	fail "downloading $pkg failed"
dpkg-deb -x "$work"/*.deb "$work/pkg"
kernel=$(ls "$work"/pkg/boot/vmlinuz-* | head -n 1)
[ -f "$kernel" ] || fail "$pkg holds no /boot/vmlinuz-*"
kver=${kernel##*/vmlinuz-}

# The ELF kernel inside the bzImage: the setup header gives the payload's
# place (payload_offset at 0x248, payload_length at 0x24c, counted from the
# protected-mode code after setup_sects+1 sectors); its magic names the
# compressor.
python3 - "$kernel" "$work/payload" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
setup_sects = d[0x1f1] or 4
off, length = struct.unpack_from("<II", d, 0x248)
start = (setup_sects + 1) * 512 + off
open(sys.argv[2], "wb").write(d[start:start + length])
PY
magic=$(head -c 6 "$work/payload" | od -An -tx1 | tr -d ' \n')
case "$magic" in
1f8b*) dec="gzip -dc" ;;
fd377a585a00) dec="xz -dc" ;;
28b52ffd*) dec="zstd -dc" ;;
02214c18*) dec="lz4 -dc" ;;
5d0000*) dec="xz --format=lzma -dc" ;;
*) fail "unknown compression of the kernel payload (magic $magic)" ;;
esac
# The kernel's build appends the decompressed size, which some tools call
# trailing garbage: judge by the result, not the exit status.
$dec <"$work/payload" >"$work/vmlinux" 2>/dev/null || true
[ "$(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ] ||
	fail "decompressing the kernel payload ($dec) gave no ELF file"

# The initramfs: busybox, /init, the demo, the virtio modules.
root="$work/root"
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/lib/modules" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cp "$here/guest/init" "$root/init"
cp "$here/guest/demo" "$root/bin/demo"
chmod 755 "$root/init" "$root/bin/demo"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk failover \
	net_failover virtio_net virtio-rng virtio_console virtio_balloon; do
	f=$(find "$work/pkg/lib/modules/$kver" -name "$m.ko" | head -n 1)
	[ -n "$f" ] && cp "$f" "$root/lib/modules/"
done
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9) >"$work/initramfs.cpio.gz"

# Renames, so a VM starting meanwhile reads either the old files or the new.
cp "$kernel" "$work/vmlinuz"
for f in vmlinuz vmlinux initramfs.cpio.gz; do
	mv "$work/$f" "$cache/$f"
done
echo "$stamp" >"$cache/stamp"
echo "$cache"
