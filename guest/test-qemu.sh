#!/usr/bin/env bash
# Boot the default guest under QEMU (reference machine, not disco) and check
# every disco.run script plus the interactive shell.
#
#   guest/test-qemu.sh [CACHE_DIR]     # default: $(guest/build.sh | tail -1)
#
# Needs qemu-system-riscv64 (qemu-system-misc), e2fsprogs, tmux.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${1:-$("$here/build.sh" | tail -1)}
smp=${SMP:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

say() { echo "test-qemu: $*" >&2; }
secs_since() { LC_ALL=C awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
qemu() { # qemu ARGS... (appended)
	timeout 300 qemu-system-riscv64 -M virt -smp "$smp" -m 256M -nographic \
		-kernel "$dir/Image" -initrd "$dir/initramfs.cpio.gz" "$@"
}

# boot NAME EXPECT [QEMU ARGS...]: run disco.run=NAME, expect a line
# matching EXPECT and QEMU exiting by itself (guest powered off).
boot() {
	local name=$1 expect=$2 t0 rc=0
	shift 2
	t0=$EPOCHREALTIME
	qemu -append "console=ttyS0 disco.run=$name" "$@" < /dev/null > "$work/$name.log" 2>&1 || rc=$?
	local secs
	secs=$(secs_since "$t0")
	if [ $rc = 0 ] && grep -q '^disco-guest: init reached' "$work/$name.log" &&
		grep -q "$expect" "$work/$name.log"; then
		say "PASS $name (${secs}s): $(grep "$expect" "$work/$name.log" | head -1 | tr -d '\r')"
	else
		say "FAIL $name (qemu rc=$rc); log tail:"
		tail -n 20 "$work/$name.log" >&2
		fails=$((fails + 1))
	fi
}

# Boot-to-init: wall time from QEMU start to the marker line, and the
# kernel's own timestamp of "Run /init".
init_time() {
	local t0 line kt=? wall=?
	t0=$EPOCHREALTIME
	while IFS= read -r line; do
		case "$line" in
		"disco-guest: init reached"*)
			wall=$(secs_since "$t0") ;;
		"["*"] Run /init as init process"*)
			kt=${line#[}; kt=${kt%%]*}; kt=${kt// /} ;;
		esac
	done < <(qemu -append "console=ttyS0 disco.run=poweroff" < /dev/null 2>&1)
	echo "wall ${wall}s, kernel printk ${kt}s"
}

for i in 1 2 3; do
	say "boot-to-init (QEMU start -> marker): $(init_time)"
done

boot poweroff 'disco-guest: powering off'
boot smp "disco-guest: cpus=$smp"
boot sha256 'disco-guest: sha256 42ef3a50fe506ced865473b082c8b28f6ce254e6e2b01266b6a563531a6267bc'
grep 'elapsed_ms' "$work/sha256.log" >&2 || true
boot nonexistent 'unknown disco.run=nonexistent'

img=$work/disk.img
mkfs.ext4 -q -F "$img" 16M >/dev/null
boot disk-write 'disco-guest: disk-write ok' \
	-drive file="$img",format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0
got=$(debugfs -R 'cat /hello.txt' "$img" 2>/dev/null)
if [ "$got" = "hello from disco guest" ]; then
	say "PASS disk-write content: $got"
else
	say "FAIL disk-write content: '$got'"
	fails=$((fails + 1))
fi
mkfs.ext4 -q -F "$img" 16M >/dev/null
debugfs -w -R 'mkdir /hello.txt' "$img" >/dev/null 2>&1 # make the write fail
boot disk-write 'disco-guest: disk-write FAILED' \
	-drive file="$img",format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0

# Interactive shell under tmux: job control, Ctrl-C, poweroff.
sess=disco-guest-test-$$
tmux new-session -d -s "$sess" -x 120 -y 40 \
	"timeout --foreground 300 qemu-system-riscv64 -M virt -smp $smp -m 256M -nographic -kernel '$dir/Image' -initrd '$dir/initramfs.cpio.gz' -append console=ttyS0; echo QEMU-EXITED; sleep 30"
pane() { tmux capture-pane -p -t "$sess" -S -500 2>/dev/null | grep -v '^$' || true; }
waitfor() { # waitfor PATTERN SECONDS
	local i screen
	for ((i = 0; i < $2 * 10; i++)); do
		screen=$(pane)
		grep -q -- "$1" <<< "$screen" && return 0
		sleep 0.1
	done
	return 1
}
ishell=1
waitfor 'starting shell' 60 || ishell=0
sleep 1
tmux send-keys -t "$sess" 'echo hi-$((40+2))' Enter
waitfor 'hi-42' 10 || ishell=0
tmux send-keys -t "$sess" 'sleep 100' Enter
sleep 1
tmux send-keys -t "$sess" C-c
sleep 0.5
tmux send-keys -t "$sess" 'echo after-ctrl-c-$((1+1)) $(hostname)' Enter
waitfor 'after-ctrl-c-2 disco' 5 || ishell=0
tmux send-keys -t "$sess" 'sleep 30 & jobs; kill %1; wait; echo jobs-$((2+1))' Enter
waitfor 'jobs-3' 10 || ishell=0
tmux send-keys -t "$sess" 'poweroff' Enter
waitfor 'QEMU-EXITED' 30 || ishell=0
if [ $ishell = 1 ]; then
	say "PASS interactive shell (echo, Ctrl-C, poweroff)"
else
	say "FAIL interactive shell; screen:"
	pane | tail -n 25 >&2
	fails=$((fails + 1))
fi
tmux kill-session -t "$sess" 2>/dev/null || true

[ $fails = 0 ] && say "all passed" || say "$fails failure(s)"
exit $((fails > 0))
