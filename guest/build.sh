#!/usr/bin/env bash
# Build the disco default guest (Linux Image + busybox initramfs) from
# Debian's source packages with Debian's riscv64 cross compiler.
#
#   dir=$(guest/build.sh | tail -1)   # -> $dir/Image, $dir/initramfs.cpio.gz
#
# Output goes to ${DISCO_CACHE:-/var/cache/disco}/guest/<key>/, where <key>
# hashes every input (package versions, the files in guest/ that feed the
# build, this script). A cache hit does nothing but print the dir. The last
# line of stdout is always the absolute cache dir; progress goes to stderr,
# build logs to <dir>/build.log. See guest/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=$(realpath -m -- "${DISCO_CACHE:-/var/cache/disco}/guest")
jobs=$(nproc)
cross=riscv64-linux-gnu-
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

say() { echo "guest/build.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Inputs hashed into the key (besides package versions). Order matters.
inputs=(build.sh linux.config busybox.config gen-initramfs-list.sh init agent/agent.c)
while IFS= read -r -d '' f; do inputs+=("${f#"$here"/}"); done < \
	<(find "$here/run" "$here/rootfs" -type f -print0 | LC_ALL=C sort -z)

# --- host packages ---------------------------------------------------------
need_pkgs=(linux-source-6.1 gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
	linux-libc-dev-riscv64-cross binutils-riscv64-linux-gnu gcc libc6-dev make bc bison flex libssl-dev
	libelf-dev cpio xz-utils gzip dpkg-dev perl util-linux findutils)
missing=()
for p in "${need_pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages (need root to install): ${missing[*]}"
	say "installing: ${missing[*]}"
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# --- deb-src for the busybox source package -----------------------------
bb_version() {
	local v best=
	for v in $(apt-cache showsrc busybox 2>/dev/null | awk '/^Version:/ {print $2}'); do
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done
	echo "$best"
}
bbver=$(bb_version)
if [ -z "$bbver" ]; then
	[ "$(id -u)" = 0 ] || die "no deb-src for busybox and not root to enable it"
	src=/etc/apt/sources.list.d/disco-deb-src.sources
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		say "enabling deb-src in $src"
		sed -e 's/^Types:.*/Types: deb-src/' \
			/etc/apt/sources.list.d/debian.sources > "$src.new"
	elif [ -f /etc/apt/sources.list ]; then
		say "enabling deb-src in ${src%.sources}.list"
		src=${src%.sources}.list
		sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list > "$src.new"
	else
		die "cannot find Debian apt sources to derive deb-src from"
	fi
	mv "$src.new" "$src"
	apt-get update -q >&2
	bbver=$(bb_version)
	[ -n "$bbver" ] || die "apt-cache showsrc busybox still empty after enabling deb-src"
fi


# --- helpers -----------------------------------------------------------------
step() { say "[$(($(date +%s) - t0))s] $*"; echo "===== $* =====" >> "$log"; }
run() { "$@" >> "$log" 2>&1; }

# Check that every "CONFIG_X=v" line of a fragment is in .config verbatim and
# every "# CONFIG_X is not set" line has no CONFIG_X= in .config.
verify_fragment() {
	local frag=$1 cfg=$2 line sym bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" "$cfg" && continue
			say "config: wanted '$line', got '$(grep -E "^(# )?${line%%=*}[= ]" "$cfg" || echo unset)'"
			bad=1 ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			grep -q "^$sym=" "$cfg" || continue
			say "config: wanted '$line', got '$(grep "^$sym=" "$cfg")'"
			bad=1 ;;
		esac
	done < "$frag"
	return $bad
}

# publish_part TMPDIR FINALDIR: atomically move a finished part into place.
publish_part() {
	cp "$log" "$1/build.log"
	rm -rf "$2"
	mv -T "$1" "$2"
}

# --- cache keys --------------------------------------------------------------
# The published dir is keyed by everything. The kernel and busybox are also
# cached on their own under parts/, keyed by their own inputs plus the parts
# of this script that build them, so editing init, a run script or the
# initramfs layout only re-packs the initramfs.
kver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
ccver=$(dpkg-query -W -f='${Version}' gcc-riscv64-linux-gnu)
section() { sed -n "/^# --- $1 /,/^# --- /p" "$here/build.sh"; }
hash_of() { # hash_of LINE... -- FILE...: 16 hex digits over lines and files
	{
		while [ "$1" != -- ]; do echo "$1"; shift; done
		shift
		local f
		for f in "$@"; do
			echo "== $f"
			cat "$here/$f"
		done
	} | sha256sum | cut -c1-16
}
key=$(hash_of "linux-source-6.1=$kver" "busybox-src=$bbver" \
	"gcc-riscv64-linux-gnu=$ccver" -- "${inputs[@]}")
kkey=$(hash_of "linux-source-6.1=$kver" "gcc-riscv64-linux-gnu=$ccver" \
	"$cross" "$(section helpers)" "$(section kernel)" -- linux.config)
bkey=$(hash_of "busybox-src=$bbver" "gcc-riscv64-linux-gnu=$ccver" \
	"$cross" "$(section helpers)" "$(section busybox)" -- busybox.config)
out=$cache_root/$key
kpart=$cache_root/parts/linux-$kkey
bpart=$cache_root/parts/busybox-$bkey

have_out() { [ -f "$out/Image" ] && [ -f "$out/initramfs.cpio.gz" ]; }
if have_out; then
	say "cached: $out"
	echo "$out"
	exit 0
fi

mkdir -p "$cache_root/parts"
exec 9>"$cache_root/.lock" # one builder at a time per cache
flock 9
if have_out; then
	say "cached (built concurrently): $out"
	echo "$out"
	exit 0
fi

tmp=$out.tmp
rm -rf "$tmp" "$out"
mkdir -p "$tmp"
log=$tmp/build.log
: > "$log"
t0=$(date +%s)
on_exit() {
	local rc=$?
	[ "$rc" = 0 ] && return
	say "FAILED (exit $rc); last lines of $log:"
	tail -n 40 "$log" >&2 || true
	say "full log: $log"
}
trap on_exit EXIT

# --- kernel ------------------------------------------------------------------
if [ -f "$kpart/Image" ] && [ -x "$kpart/gen_init_cpio" ]; then
	step "linux: cached $kpart"
else
	kt=$kpart.tmp
	rm -rf "$kt"
	mkdir -p "$kt"
	step "linux: extracting /usr/src/linux-source-6.1.tar.xz ($kver)"
	run tar -C "$kt" -xf /usr/src/linux-source-6.1.tar.xz
	ksrc=$kt/linux-source-6.1
	kb=$kt/kbuild
	kmake() { run make -C "$ksrc" O="$kb" ARCH=riscv CROSS_COMPILE=$cross "$@"; }

	step "linux: allnoconfig + guest/linux.config"
	kmake allnoconfig
	run env ARCH=riscv CROSS_COMPILE=$cross KCONFIG_CONFIG="$kb/.config" \
		"$ksrc/scripts/kconfig/merge_config.sh" -m -O "$kb" "$kb/.config" "$here/linux.config"
	kmake olddefconfig
	verify_fragment "$here/linux.config" "$kb/.config" ||
		die "kernel config: options from guest/linux.config were dropped (see above; missing dependency?)"
	cp "$kb/.config" "$kt/linux.config.full"

	step "linux: make -j$jobs Image"
	kmake -j"$jobs" Image
	cp "$kb/arch/riscv/boot/Image" "$kt/Image"
	run cc -O2 -o "$kt/gen_init_cpio" "$ksrc/usr/gen_init_cpio.c"
	rm -rf "$ksrc" "$kb"
	publish_part "$kt" "$kpart"
fi

# --- busybox -----------------------------------------------------------------
if [ -x "$bpart/busybox" ]; then
	step "busybox: cached $bpart"
else
	bt=$bpart.tmp
	rm -rf "$bt"
	mkdir -p "$bt/src"
	step "busybox: apt-get source busybox=$bbver"
	(cd "$bt/src" && run apt-get source -q "busybox=$bbver")
	bsrc=$(find "$bt/src" -mindepth 1 -maxdepth 1 -type d -name 'busybox-*' | head -1)
	[ -n "$bsrc" ] || die "apt-get source busybox produced no source dir"
	bmake() { run make -C "$bsrc" CROSS_COMPILE=$cross "$@"; }

	step "busybox: defconfig + guest/busybox.config"
	bmake defconfig
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		sed -i -e "/^$sym=/d" -e "/^# $sym is not set/d" "$bsrc/.config"
		echo "$line" >> "$bsrc/.config"
	done < "$here/busybox.config"
	{ yes "" || true; } | bmake oldconfig
	verify_fragment "$here/busybox.config" "$bsrc/.config" ||
		die "busybox config: options from guest/busybox.config were dropped"
	cp "$bsrc/.config" "$bt/busybox.config.full"

	step "busybox: make -j$jobs (static)"
	bmake -j"$jobs"
	if ${cross}readelf -l "$bsrc/busybox" | grep -qE 'INTERP|DYNAMIC'; then
		die "busybox is not a static executable"
	fi
	# The applet list, to recreate the symlinks without the source tree.
	bmake busybox.links
	cp "$bsrc/busybox" "$bsrc/busybox.links" "$bt/"
	rm -rf "$bt/src"
	publish_part "$bt" "$bpart"
fi

# --- initramfs ---------------------------------------------------------------
step "initramfs: staging root"
root=$tmp/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mnt,root,run,var,etc/disco/run}
chmod 1777 "$root/tmp"
install -m 0755 "$bpart/busybox" "$root/bin/busybox"
while IFS= read -r link; do # e.g. /usr/bin/seq -> ../../bin/busybox
	[ "$link" = /bin/busybox ] && continue
	[ "$link" = /linuxrc ] && continue # the kernel runs /init from an initramfs
	up=$(dirname "${link#/}" | sed -e 's|[^/]\+|..|g')
	mkdir -p "$root$(dirname "$link")"
	ln -sfn "$up/bin/busybox" "$root$link"
done < "$bpart/busybox.links"
install -m 0755 "$here/init" "$root/init"
# The guest agent (see guest/agent/agent.c, src/vmm/agent.h): static, like busybox.
run ${cross}gcc -static -O2 -s -Wall -Wextra -o "$root/sbin/disco-agent" "$here/agent/agent.c"
if ${cross}readelf -l "$root/sbin/disco-agent" | grep -qE 'INTERP|DYNAMIC'; then
	die "disco-agent is not a static executable"
fi
for f in "$here"/run/*; do install -m 0644 "$f" "$root/etc/disco/run/${f##*/}"; done
# guest/rootfs/ is copied verbatim (modes normalised: 0755 dirs, 0644 files).
(cd "$here/rootfs" && find . -type d -exec mkdir -p "$root/{}" \; &&
	find . -type f -exec install -m 0644 {} "$root/{}" \;)

step "initramfs: gen_init_cpio"
"$here/gen-initramfs-list.sh" "$root" > "$tmp/initramfs.list"
"$kpart/gen_init_cpio" -t 0 "$tmp/initramfs.list" 2>> "$log" | gzip -9 -n > "$tmp/initramfs.cpio.gz.new"

# --- publish -----------------------------------------------------------------
step "publishing"
rm -rf "$root"
cp "$kpart/Image" "$tmp/Image.new"
cp "$kpart/linux.config.full" "$bpart/busybox.config.full" "$tmp/"
{
	echo "linux-source-6.1=$kver"
	echo "busybox-src=$bbver"
	echo "gcc-riscv64-linux-gnu=$ccver"
	echo "key=$key"
	echo "linux-part=$kpart"
	echo "busybox-part=$bpart"
	echo "build_seconds=$(($(date +%s) - t0))"
} > "$tmp/versions"
mv "$tmp/Image.new" "$tmp/Image"
mv "$tmp/initramfs.cpio.gz.new" "$tmp/initramfs.cpio.gz"
trap - EXIT
mv -T "$tmp" "$out"
say "done in $(($(date +%s) - t0))s: $out"
echo "$out"
