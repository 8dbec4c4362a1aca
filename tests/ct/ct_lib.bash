# Shared helpers of the container security tests (security.sh, limits.sh,
# isolation.sh, rootless.sh); sourced, not run. See docs/CONTAINER-SECURITY.md.
#
# The runtime under test is an OCI runtime with runc's command line:
#   RT=disco (default): build/disco oci     RT=runc: runc (for comparison)
# Each test gets its own temp dir, bundles (a copy of $DISCO_ROOTFS plus the
# attack programs of build/ct-progs in /bin) and container ids, and cleans
# them all up (containers, cgroups /sys/fs/cgroup/*/disco-test-*, mounts)
# on exit. Every container command is bounded by a timeout.
set -uo pipefail

CT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RT=${RT:-disco}
CT_DISCO=${CT_DISCO:-$CT_ROOT/build/disco}
CT_PROGS=${CT_PROGS:-$CT_ROOT/build/ct-progs}
CT_GROUP=${CT_GROUP:-ct/$(basename "$0" .sh)}
CT_FAILED=0
CT_IDS=()
CT_T=

ct_pass() { echo "PASS: $CT_GROUP: $1"; }
ct_fail() { echo "FAIL: $CT_GROUP: $1"; CT_FAILED=1; }
ct_skip() { echo "SKIP: $CT_GROUP: $1"; }
ct_log() { echo "    $*" >&2; }
# The whole group cannot run: one SKIP (or FAIL) line and exit.
ct_skip_all() { ct_skip "$1"; exit 0; }
ct_fail_all() { ct_fail "$1"; exit 1; }

# rt ARGS...: the runtime under test, with its state in the test's temp dir.
# RT_BIN overrides the binary (the CVE-2019-5736 test runs a copy).
rt_argv() {
	if [ "$RT" = runc ]; then
		RTA=("${RT_BIN:-runc}" --root "$CT_T/rt-state")
	else
		RTA=("${RT_BIN:-$CT_DISCO}" oci --root "$CT_T/rt-state")
	fi
}
rt() { rt_argv; "${RTA[@]}" "$@"; }
# rtt SECONDS ARGS...: rt bounded by a timeout.
rtt() { local s=$1; shift; rt_argv; timeout --kill-after=5 "$s" "${RTA[@]}" "$@"; }
rt_name() { [ "$RT" = runc ] && echo runc || echo "disco oci"; }

# One snippet of a file for a FAIL line.
ct_snip() { tr '\n' ' ' < "$1" 2> /dev/null | cut -c1-"${2:-300}"; }

ct_cleanup() {
	local id cg m
	for id in "${CT_IDS[@]}"; do
		rtt 10 kill "$id" KILL > /dev/null 2>&1
		rtt 10 delete --force "$id" > /dev/null 2>&1
	done
	# Cgroups the runtime left behind (deepest first).
	for cg in /sys/fs/cgroup/*/disco-test-*-"$$" /sys/fs/cgroup/disco-test-*-"$$"; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -type d -exec rmdir {} + 2> /dev/null
	done
	if [ -n "$CT_T" ] && [ -d "$CT_T" ]; then
		# Mounts under the temp dir (ours, or a runtime's leak), innermost first.
		awk -v t="$CT_T" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
			sort -r | while read -r m; do umount -l "$m" 2> /dev/null; done
		rm -rf "$CT_T"
	fi
}

# ct_init: root check, temp dir, rootfs, programs, runtime.
ct_init() {
	[ "$(id -u)" = 0 ] || ct_skip_all "needs root"
	CT_T=$(mktemp -d /tmp/disco-ct.XXXXXX) || ct_fail_all "mktemp failed"
	chmod 0755 "$CT_T"
	trap ct_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ -z "${DISCO_ROOTFS:-}" ]; then
		DISCO_ROOTFS=$("$CT_ROOT/scripts/rootfs.sh" 2> "$CT_T/rootfs.log" | tail -n 1)
	fi
	[ -x "${DISCO_ROOTFS:-/nonexistent}/bin/busybox" ] ||
		ct_fail_all "no root file system (DISCO_ROOTFS=${DISCO_ROOTFS:-}; scripts/rootfs.sh: $(ct_snip "$CT_T/rootfs.log"))"
	# Every bundle copies it: never the host's / (or anything with a live /proc).
	if [ "$(realpath -- "$DISCO_ROOTFS")" = / ] || [ -e "$DISCO_ROOTFS/proc/self" ]; then
		ct_fail_all "DISCO_ROOTFS=$DISCO_ROOTFS is a live system, not a root file system to copy"
	fi
	if [ ! -x "$CT_PROGS/masked_proc" ]; then
		make -C "$CT_ROOT" -s ct-progs > "$CT_T/make.log" 2>&1 ||
			ct_fail_all "make ct-progs failed: $(ct_snip "$CT_T/make.log")"
	fi
	if [ "$RT" = runc ]; then
		command -v runc > /dev/null || ct_skip_all "RT=runc but runc is not installed"
	else
		[ -x "$CT_DISCO" ] || ct_fail_all "$CT_DISCO is missing (run make)"
	fi
	mkdir -p "$CT_T/rt-state"
	CT_MARKER=$CT_T/host-only-marker
	echo "this file exists only on the host" > "$CT_MARKER"
}

# ct_bundle NAME ARG...: $CT_T/NAME with rootfs/ (a copy of the rootfs plus
# the attack programs in /bin) and config.json from `rt spec`, edited: the
# process runs ARG... without a terminal, a writable root, a hostname and a
# cgroup path the cleanup finds. Sets B (bundle) and ID (container id).
ct_bundle() {
	local name=$1; shift
	B=$CT_T/$name
	ID=disco-test-$name-$$
	mkdir -p "$B"
	mkdir -p "$B/rootfs" && cp -a --one-file-system "$DISCO_ROOTFS/." "$B/rootfs/" || ct_fail_all "copying the rootfs failed"
	cp "$CT_PROGS"/* "$B/rootfs/bin/"
	(cd "$B" && rt spec > "$CT_T/spec.out" 2>&1) ||
		ct_fail_all "$(rt_name) spec failed: $(ct_snip "$CT_T/spec.out")"
	[ -f "$B/config.json" ] || ct_fail_all "$(rt_name) spec wrote no config.json"
	local args
	# One jq per argument: they may hold newlines or look like jq options.
	args=$(for a in "$@"; do jq -n --arg v "$a" '$v'; done | jq -sc .)
	ct_jq --argjson a "$args" --arg cg "/disco-test-$name-$$" --arg h "ct-$name" \
		'.process.terminal = false | .process.args = $a | .root.readonly = false
		 | .hostname = $h | .linux.cgroupsPath = $cg'
	CT_IDS+=("$ID")
}

# ct_jq [jq options] FILTER: edit $B/config.json in place.
ct_jq() {
	jq "$@" "$B/config.json" > "$B/config.json.new" || ct_fail_all "jq $* failed"
	mv "$B/config.json.new" "$B/config.json"
}

# ct_run [SECONDS] [RUN_OPTIONS...]: run the bundle $B as $ID in the
# foreground (stdin /dev/null), stdout in $B/out, stderr in $B/err; sets rc.
ct_run() {
	local secs=${1:-30}
	[ $# -gt 0 ] && shift
	rtt "$secs" run "$@" --bundle "$B" "$ID" < /dev/null > "$B/out" 2> "$B/err"
	rc=$?
	rtt 10 delete --force "$ID" > /dev/null 2>&1
	ct_log "$ID: exit $rc; out: $(ct_snip "$B/out" 2000); err: $(ct_snip "$B/err")"
	return 0
}

# ct_state ID: the container's status ("running", "stopped"...; empty when unknown).
ct_state() { rtt 10 state "$1" 2> /dev/null | jq -r '.status // empty' 2> /dev/null; }

# ct_wait_state ID STATUS SECONDS: poll until the container has STATUS.
ct_wait_state() {
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(ct_state "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# ct_copy_libs BINARY ROOT: the shared libraries BINARY needs, at their
# paths under ROOT (so a dynamically linked runtime can run in the container).
ct_copy_libs() {
	local lib
	for lib in $(ldd "$1" 2> /dev/null | grep -oE '/[^ ]+'); do
		mkdir -p "$2$(dirname "$lib")"
		cp -L "$lib" "$2$lib"
	done
}

# The file's identity for "unchanged": content hash, mode, owner, size, mtime.
ct_fingerprint() { echo "$(sha256sum < "$1" | cut -c1-64) $(stat -c '%a %u:%g %s %Y' "$1")"; }

# ct_is_mountpoint PATH: PATH is a mount point in the host's mount namespace.
ct_is_mountpoint() { awk -v p="$1" '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo; }
