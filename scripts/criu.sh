#!/usr/bin/env bash
# Build a criu that works on this kernel from Debian trixie's SOURCE package
# (Debian 12's criu 3.17 fails `criu check` on kernels that split the vvar
# mapping: "vdso: Failed to fill self vdso symtable"; 4.x knows the split).
# trixie's binary package needs trixie's glibc, so the source is built here
# against Debian 12's -dev packages. Nothing comes from outside Debian's
# archive.
#
#   dir=$(scripts/criu.sh | tail -1)    # then "$dir/criu"
#
# Chain of trust: trixie's InRelease (checked with gpgv against the
# debian-archive-keyring keys) -> sha256 of main/source/Sources.xz -> the
# criu stanza's Checksums-Sha256 -> each source file. Then
# `dpkg-source -x --no-check` (the hashes are already checked) and
# `make criu` (the binary only: no docs, no crit, no lib, no plugins).
# Should the archive not serve the .dsc or the Debian tarball (HTTP 404; the
# mirror on the project's machines serves criu's .orig.tar.xz but not those
# two), the verified upstream .orig tarball is built without Debian's
# packaging, and the script says so.
#
# Output goes to ${DISCO_CACHE:-/var/cache/disco}/criu/<key>/criu where <key>
# hashes the pinned .dsc sha256 and this script; $DISCO_CACHE/criu/default
# points at it. A cache hit only re-links and prints (no network). Built in
# a temp dir and renamed into place, so readers never see a half-built
# tree. The last line of stdout is always the absolute directory. Progress
# goes to stderr. Fails (non-zero) if the build fails; does not fail if
# `criu check` finds the kernel lacking (the tests decide what to skip).
set -euo pipefail

# All output but the final directory goes to stderr.
exec 3>&1 1>&2

say() { echo "scripts/criu.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# The version this script was written for, and its .dsc's sha256 as listed
# in trixie's signed Sources. If trixie has moved on, the script builds what
# Sources lists (and says so); update both then.
CRIU_VERSION=4.1.1-1
CRIU_DSC_SHA256=12206f74ab852907156db8fdf1fb2a40ebbc897d28c133a2cbe804fab13f8b62
SUITE=trixie
MIRROR=${DISCO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")
cache_root=$(realpath -m -- "${DISCO_CACHE:-/var/cache/disco}/criu")

key_for() { { echo "$1"; sha256sum < "$self"; } | sha256sum | cut -c1-16; }
publish_default() { ln -sfn "$1" "$cache_root/default.new" && mv -T "$cache_root/default.new" "$cache_root/default"; }
# Done: point default at key $1 and print its directory.
finish() {
	publish_default "$1"
	echo "$cache_root/$1" >&3
	exit 0
}

key=$(key_for "$CRIU_DSC_SHA256")
[ -x "$cache_root/$key/criu" ] && finish "$key"

# ---- Debian 12 packages: the fetch tools, the build's and the binary's.
# From criu's debian/control Build-Depends, less what only the docs
# (asciidoc, xmlto), crit/pycriu (python3-*, protobuf-compiler) and the
# Debian packaging (debhelper, dh-python) need; libprotobuf-dev is kept for
# /usr/include/google/protobuf/descriptor.proto, which images/ compiles.
TOOLS=(curl gpgv xz-utils dpkg-dev debian-archive-keyring)
BUILD=(gcc make libc6-dev pkg-config libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev
	libnl-3-dev libnet1-dev libcap-dev libbsd-dev uuid-dev libgnutls28-dev libnftables-dev)
# What the binary links, plus iptables: criu's default network lock
# (--network-lock iptables) runs iptables-restore when it dumps a netns.
RUNTIME=(libprotobuf-c1 libnl-3-200 libnet1 libcap2 libbsd0 libuuid1 libgnutls30 libnftables1 iptables)

apt_updated=
apt_update_once() {
	[ -n "$apt_updated" ] && return 0
	say "apt-get update"
	apt-get update -qq > /dev/null || die "apt-get update failed"
	apt_updated=1
}
ensure_packages() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root, or apt-get install them)"
	say "installing ${missing[*]}"
	apt_update_once
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null ||
		die "apt-get install ${missing[*]} failed"
}
ensure_packages "${TOOLS[@]}" "${BUILD[@]}" "${RUNTIME[@]}"

mkdir -p "$cache_root"
tmp=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dl=$tmp/dl
mkdir -p "$dl"

# fetch URL FILE: 0 on HTTP 200; otherwise prints the status, removes FILE
# and returns 2 for a 404 (the archive's "no"), 1 for anything else.
fetch() {
	local code
	code=$(curl -sSL --retry 3 --retry-delay 2 --connect-timeout 30 --max-time 900 \
		-o "$2" -w '%{http_code}' "$1") || code=${code:-000}
	[ "$code" = 200 ] && return 0
	rm -f "$2"
	say "GET $1: HTTP $code"
	[ "$code" = 404 ] && return 2
	return 1
}
# check_file FILE SHA256 SIZE
check_file() {
	local got
	got=$(sha256sum < "$1" | cut -d' ' -f1)
	[ "$got" = "$2" ] || die "$(basename "$1"): sha256 $got, expected $2"
	[ "$(stat -c %s "$1")" = "$3" ] || die "$(basename "$1"): size $(stat -c %s "$1"), expected $3"
}

# ---- InRelease, checked with the archive keys.
say "fetching $MIRROR/dists/$SUITE/InRelease"
fetch "$MIRROR/dists/$SUITE/InRelease" "$dl/InRelease" || die "could not fetch $SUITE's InRelease"
verify_release() { gpgv --output "$dl/Release" "$@" "$dl/InRelease" 2> "$dl/gpgv.log"; }
if ! verify_release --keyring "$KEYRING"; then
	# Older Debian 12 keyrings lack trixie's keys; the same package also
	# ships one file per release.
	say "$SUITE's InRelease does not verify with $KEYRING ($(grep -m1 -E 'Can.t check|BAD' "$dl/gpgv.log" || true))"
	args=()
	for k in /usr/share/keyrings/debian-archive-"$SUITE"-*.gpg; do [ -f "$k" ] && args+=(--keyring "$k"); done
	if [ ${#args[@]} -gt 0 ] && verify_release "${args[@]}"; then
		say "verified with ${args[*]}"
	elif [ "$(id -u)" = 0 ]; then
		say "upgrading debian-archive-keyring"
		apt_update_once
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --only-upgrade debian-archive-keyring > /dev/null || true
		verify_release --keyring "$KEYRING" ||
			{ cat "$dl/gpgv.log" >&2; die "$SUITE's InRelease does not verify with Debian's archive keys"; }
	else
		cat "$dl/gpgv.log" >&2
		die "$SUITE's InRelease does not verify with Debian's archive keys (upgrade debian-archive-keyring)"
	fi
fi
say "InRelease: $(sed -n 's/^gpgv: Good signature from "\(.*\)"$/\1/p' "$dl/gpgv.log" | paste -sd';' | sed 's/;/; /g')"
codename=$(sed -n 's/^Codename: //p' "$dl/Release")
[ "$codename" = "$SUITE" ] || die "InRelease is for '$codename', not $SUITE"

# ---- Sources.xz, by hash (Acquire-By-Hash: yes) or by name.
read -r src_sha src_size < <(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 }
	s && $3 == "main/source/Sources.xz" { print $1, $2; exit }' "$dl/Release") || true
[ -n "${src_sha:-}" ] || die "InRelease lists no main/source/Sources.xz"
say "fetching main/source/Sources.xz ($src_size bytes)"
fetch "$MIRROR/dists/$SUITE/main/source/by-hash/SHA256/$src_sha" "$dl/Sources.xz" ||
	fetch "$MIRROR/dists/$SUITE/main/source/Sources.xz" "$dl/Sources.xz" ||
	die "could not fetch $SUITE's Sources.xz"
check_file "$dl/Sources.xz" "$src_sha" "$src_size"

# (awk reads to the end: an early exit would SIGPIPE xz and, with pipefail,
# fail the script.)
xz -dc "$dl/Sources.xz" | awk -v RS= '/(^|\n)Package: criu\n/ && !n++ { print }' > "$dl/stanza"
[ -s "$dl/stanza" ] || die "$SUITE's Sources has no criu"
version=$(sed -n 's/^Version: //p' "$dl/stanza")
directory=$(sed -n 's/^Directory: //p' "$dl/stanza")
awk '/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && NF == 3 { print $1, $2, $3 }' \
	"$dl/stanza" > "$dl/files"
dsc_sha=$(awk '$3 ~ /\.dsc$/ { print $1 }' "$dl/files")
[ -n "$version" ] && [ -n "$directory" ] && [ -n "$dsc_sha" ] || die "could not parse the criu stanza"
if [ "$version" != "$CRIU_VERSION" ] || [ "$dsc_sha" != "$CRIU_DSC_SHA256" ]; then
	say "note: $SUITE now has criu $version (.dsc sha256 $dsc_sha); this script pins $CRIU_VERSION; using $version (update CRIU_VERSION and CRIU_DSC_SHA256)"
	key=$(key_for "$dsc_sha")
	[ -x "$cache_root/$key/criu" ] && finish "$key"
fi
out=$cache_root/$key

# ---- The source files, each checked against Sources.
missing=()
while read -r sha size name; do
	case "$name" in */* | .*) die "odd file name in Sources: $name" ;; esac
	say "fetching $directory/$name ($size bytes)"
	rc=0
	fetch "$MIRROR/$directory/$name" "$dl/$name" || rc=$?
	case "$rc" in
	0) check_file "$dl/$name" "$sha" "$size" ;;
	2) missing+=("$name") ;;
	*) die "could not fetch $name" ;;
	esac
done < "$dl/files"

src=$tmp/src
if [ ${#missing[@]} -eq 0 ]; then
	dpkg-source -x --no-check "$dl/$(awk '$3 ~ /\.dsc$/ { print $3 }' "$dl/files")" "$src" > "$tmp/dpkg-source.log" 2>&1 ||
		{ cat "$tmp/dpkg-source.log" >&2; die "dpkg-source -x failed"; }
	how="Debian source package criu $version (dpkg-source -x, Debian patches applied)"
else
	orig=$(awk '$3 ~ /\.orig\.tar\.[a-z0-9]+$/ { print $3 }' "$dl/files")
	for m in "${missing[@]}"; do
		case "$m" in *.dsc | *.debian.tar.*) ;; *) die "the archive does not serve $m, which the build needs" ;; esac
	done
	[ -n "$orig" ] && [ -f "$dl/$orig" ] || die "the archive serves no .orig tarball for criu $version"
	if awk '$3 ~ /\.orig-[^.]+\.tar\./ { f = 1 } END { exit !f }' "$dl/files"; then
		die "criu $version has extra orig component tarballs; cannot build it without its .dsc"
	fi
	say "WARNING: the archive did not serve ${missing[*]} (HTTP 404): building the verified upstream $orig WITHOUT Debian's packaging and patches"
	mkdir -p "$src"
	tar -xf "$dl/$orig" -C "$src" --strip-components=1 || die "could not unpack $orig"
	how="upstream $orig from Debian's criu $version source package (sha256-verified; Debian's patches NOT applied: ${missing[*]} not served)"
fi
[ -f "$src/Makefile" ] && [ -d "$src/criu" ] || die "unpacked source has no Makefile or criu/"

# ---- Build the binary only. A clean environment: CFLAGS, ARCH, CC and the
# like from the caller (disco builds for riscv64 too) must not leak in.
jobs=$(nproc 2>/dev/null || echo 2)
say "building criu $version (make -j$jobs criu; log in $tmp/build.log while it runs)"
start=$SECONDS
if ! env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$tmp" LC_ALL=C \
	make -C "$src" -j"$jobs" criu > "$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	die "criu build failed (the last lines of its log are above)"
fi
[ -x "$src/criu/criu" ] || die "make criu left no criu/criu"
say "built in $((SECONDS - start)) s"

stage=$tmp/out
mkdir -p "$stage"
install -m 0755 "$src/criu/criu" "$stage/criu"
if ldd "$stage/criu" | grep -q 'not found'; then
	ldd "$stage/criu" >&2
	die "criu links libraries that are not installed"
fi
"$stage/criu" --version > /dev/null 2>&1 || die "the built criu does not run"
{
	echo "source: $how"
	echo "suite: $SUITE ($MIRROR, InRelease verified with gpgv)"
	awk '{ print "sha256: " $1 "  " $3 }' "$dl/files"
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
} > "$stage/SOURCE"

# Publish: rename is atomic; a concurrent builder that won the race leaves
# its equivalent tree in place and ours is dropped.
if ! mv -T "$stage" "$out" 2>/dev/null; then
	[ -x "$out/criu" ] || die "could not move the build to $out"
fi
say "installed $out/criu: $("$out/criu" --version 2>&1 | tr '\n' ' ')"

# What criu thinks of this kernel: informational only.
if check=$(timeout 120 "$out/criu" check 2>&1); then
	say "criu check:"
	printf '%s\n' "$check" | sed 's/^/  /' >&2
else
	say "criu check FAILED on this kernel (tests that need criu should skip):"
	printf '%s\n' "$check" | sed 's/^/  /' >&2
fi
finish "$key"
