# Containers through `disco daemon` and the CLI (docs/CONTAINERS.md): every
# lifecycle verb in every state, right and wrong, console, stats, list,
# limits, snapshot, devices, interfaces, checkpoint, a VM-only verb on a
# container and bad options. Right commands exit 0 and move the container
# to the expected state; wrong ones exit 1 with "disco: error: ..." and
# change nothing; bad options exit 2 naming the option.
T="ct/lifecycle: containers through the daemon and the CLI"
source "$(dirname "$0")/../fleet/lib.bash"
[ "$(id -u)" = 0 ] || { skip "$T" "needs root (namespaces, cgroups)"; exit 0; }
ROOTFS=${DISCO_ROOTFS:-}
if [ -z "$ROOTFS" ] || [ ! -x "$ROOTFS/bin/busybox" ]; then
  ROOTFS=$TMP/rootfs
  mkdir -p "$ROOTFS"/{bin,proc,dev,sys,tmp,etc,root}
  cp /bin/busybox "$ROOTFS/bin/" || { skip "$T" "no /bin/busybox (busybox-static)"; exit 0; }
  for c in sh true echo cat ls sleep id hostname ip touch grep seq stat head wc; do
    ln -sf busybox "$ROOTFS/bin/$c"
  done
fi
need_daemon
P=ctl$$
C=$P-a
# Cleanup on top of lib.bash's: a daemon killed hard would leave cgroups.
ct_cleanup() {
  fleet_cleanup
  for d in /sys/fs/cgroup/*/disco/$P-* /sys/fs/cgroup/disco/$P-*; do
    [ -d "$d" ] && rmdir "$d" 2> /dev/null
  done
  ip link del "$P-br" 2> /dev/null
  return 0
}
trap ct_cleanup EXIT

# wrong STATE DESC ARGS...: refused, and the container is still in STATE.
wrong() {
  local st=$1 desc=$2; shift 2
  refused "$desc (in state $st)" "$@"
  local now_st
  now_st=$(vm_state "$C")
  [ "$now_st" = "$st" ] || die "$desc: refused 'disco $*' changed the state from $st to '$now_st'"
}
expect_state() { local s; s=$(vm_state "$C"); [ "$s" = "$1" ] || die "$2: state is '$s', expected $1"; }
# usage DESC NEEDLE ARGS...: exit 2 and a message naming NEEDLE.
usage() {
  local desc=$1 needle=$2; shift 2
  dc "$@"
  [ "$rc" = 2 ] || die "$desc: 'disco $*' exited $rc, expected 2 (stderr: $(echo "$err" | head -c 300))"
  grep -qF -- "$needle" <<< "$err" || die "$desc: 'disco $*': message does not name '$needle': $err"
}

# --- bad options: exit 2, naming the option; nothing created
usage "no rootfs value" "--rootfs" create "$P-x" --rootfs
usage "bad cpu weight" "--cpu-weight" create "$P-x" --rootfs "$ROOTFS" --cpu-weight 0
usage "bad pids max" "--pids-max" create "$P-x" --rootfs "$ROOTFS" --pids-max lots
usage "bad io weight" "--io-weight" create "$P-x" --rootfs "$ROOTFS" --io-weight 5000
usage "bad mem limit" "--mem-limit" create "$P-x" --rootfs "$ROOTFS" --mem-limit 12Q
usage "bad env" "--env" create "$P-x" --rootfs "$ROOTFS" --env NOVALUE
usage "address without bridge" "--address" create "$P-x" --rootfs "$ROOTFS" --address 10.1.2.3/24
usage "bad address" "--address" create "$P-x" --rootfs "$ROOTFS" --bridge br0 --address 10.1.2.3
usage "bad cwd" "--cwd" create "$P-x" --rootfs "$ROOTFS" --cwd relative
usage "VM option on a container" "--kernel" create "$P-x" --rootfs "$ROOTFS" --kernel /x
usage "container option on a VM" "--tty" create "$P-x" --tty
usage "empty command" "--" create "$P-x" --rootfs "$ROOTFS" --
usage "unknown option" "--frobnicate" create "$P-x" --rootfs "$ROOTFS" --frobnicate
usage "add-device: bad type" "'x'" add-device "$C" /dev/foo x 1 3
usage "add-device: bad mode" "--mode" add-device "$C" /dev/foo c 1 3 --mode 9999
usage "add-device: missing minor" "minor" add-device "$C" /dev/foo c 1
usage "attach-interface: bad name" "interface name" attach-interface "$C" "a/b"
usage "snapshot: missing new name" "new container" snapshot "$C"
usage "checkpoint: unknown option" "--frob" checkpoint "$C" /tmp/x --frob
dc create "$P-x" --rootfs /nonexistent/root
[ "$rc" = 1 ] || die "create with a missing rootfs exited $rc, expected 1"
dc state "$P-x"; [ "$rc" != 0 ] || die "a refused create left a guest '$P-x' behind"
pass "ct/lifecycle: bad options (exit 2 naming the option)"

# --- STOPPED
ok "create" create "$C" --rootfs "$ROOTFS" --hostname box --env GREETING=hi --pids-max 50 \
  --mem-limit 64M --cap 50 -- /bin/sh -c 'trap "echo bye; exit 0" PWR; echo hello-$GREETING; while :; do sleep 1; done'
expect_state stopped "after create"
grep -q '"kind": "container"' "$DISCO_STATE_DIR/vms/$C/config.json" ||
  die "the saved config has no \"kind\": \"container\""
refused "create of a taken name" create "$C" --rootfs "$ROOTFS"
refused "a VM under a container's name" create "$C" --kernel /nonexistent/Image
wrong stopped "stop of a stopped container" stop "$C"
wrong stopped "pause of a stopped container" pause "$C"
wrong stopped "resume of a stopped container" resume "$C"
wrong stopped "shutdown of a stopped container" shutdown "$C" --timeout 5
wrong stopped "reboot of a stopped container" reboot "$C"
wrong stopped "exec on a stopped container" exec "$C" --timeout 5 -- true
wrong stopped "console of a stopped container" console "$C" --read-only
wrong stopped "add-device on a stopped container" add-device "$C" /dev/foo c 1 3
pass "ct/lifecycle: stopped"

# --- RUNNING
ok "start --wait" start "$C" --wait --timeout 10
expect_state running "after start"
ok "exec hostname" exec "$C" --timeout 10 -- hostname
[ "$out" = box ] || die "hostname printed '$out', expected box"
dc exec "$C" --timeout 10 -- sh -c 'echo out; echo err >&2; exit 7'
[ "$rc" = 7 ] && [ "$out" = out ] && [ "$err" = err ] ||
  die "exec exit 7: rc $rc, stdout '$out', stderr '$err'"
ok "exec env" exec "$C" -- sh -c 'echo $GREETING'
[ "$out" = hi ] || die "--env did not reach the container: '$out'"
ok "state" state "$C"
ok "list" list
grep -E "^$C +container +running +- +[0-9]+" <<< "$out" > /dev/null ||
  die "list does not show $C as a running container with a pid: $out"
grep -q KIND <<< "$out" || die "list has no KIND column: $out"
ok "list --json" list --json
[ "$(jq -r --arg n "$C" '.guests[] | select(.name == $n) | .kind' <<< "$out")" = container ] ||
  die "list --json: kind is not container: $out"
ok "stats" stats "$C"
grep -qE '^ct_pids +[1-9]' <<< "$out" || die "stats has no ct_pids >= 1: $out"
grep -qE '^ct_pids_max +50$' <<< "$out" || die "stats: ct_pids_max is not 50: $out"
grep -qE '^ct_mem_max +64.0 MiB$' <<< "$out" || die "stats: ct_mem_max is not 64 MiB: $out"
grep -qE '^kind +container$' <<< "$out" || die "stats: no 'kind container': $out"
[ "$(vm_stat "$C" ct_pids_max)" = 50 ] || die "stats --json: ct_pids_max is not 50"
console_has "$C" 'hello-hi' || die "console.log lacks the init's output"
timeout --kill-after=5 60 "$DISCO" console "$C" --read-only < /dev/null > "$TMP/console.out" 2> "$TMP/console.err" &
CONSOLE_PID=$!
wait_until 10 grep -q hello-hi "$TMP/console.out" || die "console did not replay the init's output"
wrong running "start of a running container" start "$C"
wrong running "resume of a running container" resume "$C"
wrong running "destroy of a running container" destroy "$C"
wrong running "snapshot of a running container" snapshot "$C" "$P-snap"
refused "balloon (VM-only) on a container" balloon "$C" 64M
grep -q container <<< "$err" || die "balloon on a container: the message does not say why: $err"
expect_state running "after balloon"
ok "add-device" add-device "$C" /dev/mynull c 1 3 --mode 0600
ok "use the device" exec "$C" -- sh -c 'echo x > /dev/mynull && stat -c %a /dev/mynull'
[ "$out" = 600 ] || die "the added device has mode '$out', expected 600"
pass "ct/lifecycle: running"

# --- PAUSED
ok "pause" pause "$C"
expect_state paused "after pause"
wrong paused "exec on a paused container" exec "$C" --timeout 5 -- true
wrong paused "pause of a paused container" pause "$C"
wrong paused "start of a paused container" start "$C"
wrong paused "shutdown of a paused container" shutdown "$C" --timeout 5
ok "snapshot of a paused container" snapshot "$C" "$P-snap"
ok "resume" resume "$C"
expect_state running "after resume"
ok "exec after resume" exec "$C" -- true
pass "ct/lifecycle: paused"

# --- shutdown (init traps SIGPWR), reboot, stop
ok "shutdown" shutdown "$C" --timeout 10
expect_state stopped "after shutdown"
grep -q 'did not shut down' <<< "$err" && die "shutdown of a PWR-trapping init was forced"
wait_until 10 proc_gone "$CONSOLE_PID" || die "the console client did not end when the container stopped"
grep -q bye "$TMP/console.out" || die "console did not show the init's goodbye"
ok "start again" start "$C"
ok "reboot" reboot "$C"
expect_state running "after reboot"
ok "reboot --force" reboot "$C" --force
expect_state running "after reboot --force"
ok "stop" stop "$C"
expect_state stopped "after stop"
[ ! -d "/sys/fs/cgroup/memory/disco/$C" ] || die "the cgroup of $C is left after stop"
pass "ct/lifecycle: shutdown, reboot, stop"

# --- an init that ignores SIGPWR: shutdown is forced after the timeout
ok "create deaf" create "$P-deaf" --rootfs "$ROOTFS" -- /bin/sh -c 'while :; do sleep 1; done'
ok "start deaf" start "$P-deaf"
ok "shutdown deaf" shutdown "$P-deaf" --timeout 1
grep -q 'did not shut down in time' <<< "$err" || die "a forced shutdown did not say so: $err"
[ "$(vm_state "$P-deaf")" = stopped ] || die "deaf container not stopped after a forced shutdown"
pass "ct/lifecycle: forced shutdown"

# --- the snapshot runs on its own copy
ok "start snapshot" start "$P-snap"
ok "exec in snapshot" exec "$P-snap" -- sh -c 'touch /snap-mark && hostname'
[ "$out" = box ] || die "snapshot's hostname is '$out' (kept from the source: box)"
[ -e "$DISCO_STATE_DIR/vms/$P-snap/rootfs/snap-mark" ] || die "the snapshot writes outside its copy"
[ ! -e "$ROOTFS/snap-mark" ] || die "the snapshot wrote into the source's root"
ok "stop snapshot" stop "$P-snap"
ok "overlay snapshot" snapshot "$C" "$P-ovl" --overlay
ok "start overlay" start "$P-ovl"
ok "write in overlay" exec "$P-ovl" -- touch /ovl-mark
[ -e "$DISCO_STATE_DIR/vms/$P-ovl/upper/ovl-mark" ] || die "the overlay's write is not in its upper layer"
ok "destroy --force overlay" destroy "$P-ovl" --force
[ ! -e "$DISCO_STATE_DIR/vms/$P-ovl" ] || die "destroy left $DISCO_STATE_DIR/vms/$P-ovl"
ok "destroy snapshot" destroy "$P-snap"
[ ! -e "$DISCO_STATE_DIR/vms/$P-snap" ] || die "destroy left the snapshot's copy"
pass "ct/lifecycle: snapshots"

# --- network: a bridge, an address, an interface moved in
ok "create net" create "$P-n" --rootfs "$ROOTFS" --bridge "$P-br" --address 10.231.7.2/24 \
  --gateway 10.231.7.1 -- /bin/sh -c 'while :; do sleep 1; done'
ok "start net" start "$P-n"
ok "ip addr" exec "$P-n" -- ip -o addr
grep -q '10.231.7.2/24' <<< "$out" || die "the container has no 10.231.7.2/24: $out"
ip link add "$P-v0" type veth peer name "$P-v1" 2> /dev/null || die "cannot make a veth pair"
ok "attach-interface" attach-interface "$P-n" "$P-v0" --as eth5
ok "ip link" exec "$P-n" -- ip link
grep -q eth5 <<< "$out" || die "the moved interface is not inside: $out"
refused "attach a missing interface" attach-interface "$P-n" "$P-nope"
ok "stop net" stop "$P-n"
ip link del "$P-v1" 2> /dev/null
pass "ct/lifecycle: network"

# --- checkpoint: CRIU cannot run on every kernel; then a clear refusal
ok "start for checkpoint" start "$C"
dc checkpoint "$C" "$TMP/ckpt"
if [ "$rc" = 0 ]; then
  expect_state running "after checkpoint (left running)"
  ok "stop after checkpoint" stop "$C"
  # --stop, then restore: running again, and exec works in it.
  ok "start for checkpoint --stop" start "$C"
  ok "mark" exec "$C" -- sh -c 'echo before-ckpt > /tmp/mark'
  ok "checkpoint --stop" checkpoint "$C" "$TMP/ckpt2" --stop
  expect_state stopped "after checkpoint --stop"
  refused "restore from nothing" restore "$C" "$TMP/no-such-ckpt"
  ok "restore" restore "$C" "$TMP/ckpt2"
  expect_state running "after restore"
  refused "restore while running" restore "$C" "$TMP/ckpt2"
  ok "exec after restore" exec "$C" -- cat /tmp/mark
  [ "$out" = before-ckpt ] || die "after restore /tmp/mark is '$out'"
  ok "stop after restore" stop "$C"
  pass "ct/lifecycle: checkpoint"
else
  [ "$rc" = 1 ] && grep -q 'disco: error: .*criu' <<< "$err" || die "checkpoint: exit $rc, '$err'"
  expect_state running "after a refused checkpoint"
  skip "ct/lifecycle: checkpoint round trip" "$(head -c 200 <<< "$err")"
  ok "stop" stop "$C"
fi

# --- a restart of the daemon keeps containers (stopped) and their kind
stop_daemon
need_daemon
ok "list after restart" list --json
[ "$(jq -r --arg n "$C" '.guests[] | select(.name == $n) | .kind' <<< "$out")" = container ] ||
  die "after a daemon restart $C is not a container: $out"
ok "start after restart" start "$C"
ok "exec after restart" exec "$C" -- hostname
[ "$out" = box ] || die "after restart hostname is '$out'"
ok "destroy --force" destroy "$C" --force
ok "destroy deaf" destroy "$P-deaf"
ok "destroy net" destroy "$P-n"
dc state "$C"; [ "$rc" = 1 ] || die "state of a destroyed container exited $rc"
for d in /sys/fs/cgroup/*/disco/$P-*; do
  [ -d "$d" ] && die "a cgroup is left behind: $d"
done
pass "ct/lifecycle: restart and destroy"
