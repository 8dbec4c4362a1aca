#!/usr/bin/env bash
# Build the default container root file system: Debian's static busybox
# (package busybox-static, /bin/busybox) with a symlink per applet and the
# usual directories and /etc files. Nothing is downloaded.
#
#   dir=$(scripts/rootfs.sh | tail -1)
#
# Output goes to ${DISCO_CACHE:-/var/cache/disco}/rootfs/<key>/ where <key>
# hashes the busybox binary and this script; $DISCO_CACHE/rootfs/default
# points at it. A cache hit only re-links and prints. Built in a temp dir
# and renamed into place, so readers never see a half-built tree. The last
# line of stdout is always the absolute directory.
set -euo pipefail

say() { echo "scripts/rootfs.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")
cache_root=$(realpath -m -- "${DISCO_CACHE:-/var/cache/disco}/rootfs")
bb=/bin/busybox

if [ ! -x "$bb" ]; then
	[ "$(id -u)" = 0 ] || die "$bb is missing (install busybox-static, or run scripts/deps.sh as root)"
	say "$bb missing: running scripts/deps.sh"
	"$here/deps.sh" >&2
	[ -x "$bb" ] || die "$bb still missing after scripts/deps.sh"
fi
# A dynamic busybox (package busybox, not busybox-static) would not run in
# a root without a libc.
if command -v readelf > /dev/null && readelf -l "$bb" 2>/dev/null | grep -q INTERP; then
	die "$bb is not static (install busybox-static)"
fi
"$bb" true || die "$bb does not run"

key=$({ sha256sum < "$bb"; sha256sum < "$self"; } | sha256sum | cut -c1-16)
out=$cache_root/$key

publish_default() { ln -sfn "$key" "$cache_root/default.new" && mv -T "$cache_root/default.new" "$cache_root/default"; }

if [ -x "$out/bin/busybox" ] && [ -f "$out/etc/os-release" ]; then
	publish_default
	echo "$out"
	exit 0
fi

mkdir -p "$cache_root"
tmp=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
mkdir -p "$r"
chmod 0755 "$r"

(cd "$r" && mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys tmp root run var/tmp home mnt)
chmod 1777 "$r/tmp" "$r/var/tmp"
chmod 0700 "$r/root"
install -m 0755 "$bb" "$r/bin/busybox"

# One symlink per applet, where busybox says it lives (--list-full gives
# e.g. "usr/bin/env"); relative, so the tree works wherever it is mounted.
n=0
while IFS= read -r path; do
	[ -n "$path" ] || continue
	case "$path" in */*) ;; *) path=bin/$path ;; esac
	[ "$path" = bin/busybox ] && continue
	[ "$path" = linuxrc ] && continue # not a container's concern
	dir=${path%/*}
	up=.. # one ".." per component of dir, without forking
	slashes=${dir//[!\/]/}
	for ((i = 0; i < ${#slashes}; i++)); do up=$up/..; done
	[ -d "$r/$dir" ] || mkdir -p "$r/$dir"
	ln -sfn "$up/bin/busybox" "$r/$path"
	n=$((n + 1))
done < <("$bb" --list-full 2>/dev/null || "$bb" --list)
[ "$n" -gt 50 ] || die "busybox listed only $n applets"
[ -e "$r/bin/sh" ] || ln -s busybox "$r/bin/sh"

cat > "$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$r/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo disco > "$r/etc/hostname"
cat > "$r/etc/os-release" <<EOF
NAME="disco busybox rootfs"
PRETTY_NAME="disco busybox rootfs ($("$bb" 2>&1 | head -n 1 | sed -e 's/ multi-call.*//'))"
ID=disco-busybox
VERSION_ID=$key
EOF
cat > "$r/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost
EOF
: > "$r/etc/resolv.conf"
echo 'PATH=/usr/sbin:/usr/bin:/sbin:/bin' > "$r/etc/profile"
chmod 0644 "$r"/etc/*

# Publish: rename is atomic; a concurrent builder that won the race leaves
# its identical tree in place and ours is dropped.
if ! mv -T "$r" "$out" 2>/dev/null; then
	[ -x "$out/bin/busybox" ] || die "could not move the tree to $out"
fi
publish_default
say "built $out ($n applets)"
echo "$out"
