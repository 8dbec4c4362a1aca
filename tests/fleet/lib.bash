# Helpers for fleet tests (sourced): each test starts its own `disco daemon`
# on a private socket and state directory, drives it with the `disco` client
# (docs/FLEET.md) and prints "PASS: name", "FAIL: name: why" or
# "SKIP: name: reason" lines, which scripts/test.sh counts.
#
# Every wait is bounded and polls with a deadline (wait_until); the fixed
# sleeps that remain are measurement windows, never synchronisation. The EXIT
# trap kills the daemon and every background job and removes the temp dir.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DISCO=${DISCO:-$ROOT/build/disco}              # the client
DAEMON_BIN=${DAEMON_BIN:-$DISCO}               # the daemon (cycles_asan: build-san)
WORKERS=${WORKERS:-2}
GUEST_DIR=${DISCO_GUEST_DIR:-${DISCO_CACHE:-/var/cache/disco}/guest/default}
TEST_GUESTS=${TEST_GUESTS:-$ROOT/build/guests}
TMP=$(mktemp -d /tmp/disco-fleet.XXXXXX)
export DISCO_SOCKET=$TMP/disco.sock
export DISCO_STATE_DIR=$TMP/state
DAEMON_PID=
DAEMON_RC=
T=${T:-fleet/$(basename "$0" .sh)}

pass() { echo "PASS: $1"; }
skip() { echo "SKIP: $1: $2"; }
# fail NAME WHY: also shows the tail of the daemon's log on stderr.
fail() {
  echo "FAIL: $1: $2"
  if [ -s "$TMP/daemon.log" ]; then
    echo "    daemon log (last 15 lines):" >&2
    tail -n 15 "$TMP/daemon.log" | sed 's/^/    | /' >&2
  fi
}
# die WHY: fail the test and end it (the EXIT trap cleans up).
die() { fail "$T" "$1"; exit 0; }

fleet_cleanup() {
  local j
  for j in $(jobs -p); do [ "$j" = "$DAEMON_PID" ] || kill -KILL "$j" 2>/dev/null; done
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null
    wait_until 10 proc_gone "$DAEMON_PID" || kill -KILL "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap fleet_cleanup EXIT
trap 'exit 130' INT TERM HUP

now() { echo "${EPOCHREALTIME/./}"; }     # microseconds
# wait_until SECS CMD [ARG]...: poll CMD every 50 ms until it succeeds (0) or
# SECS pass (1). Gives up early if the daemon died.
wait_until() {
  local deadline=$(( $(now) + ${1%.*} * 1000000 ))
  shift
  while :; do
    "$@" && return 0
    [ "$(now)" -ge "$deadline" ] && return 1
    if [ -n "$DAEMON_PID" ] && [ "$1" != proc_gone ] && proc_gone "$DAEMON_PID"; then return 1; fi
    sleep 0.05
  done
}
# A process that is gone or a zombie (our child that exited, not yet reaped).
proc_gone() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
  [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}
# utime+stime of a process in clock ticks (threads that exited included).
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)
proc_threads() { ls "/proc/$1/task" | wc -l; }

# dc ARGS...: run the client (bounded); sets $rc, $out (stdout), $err (stderr).
dc() {
  out=$(timeout --kill-after=5 "${DC_TIMEOUT:-150}" "$DISCO" "$@" 2> "$TMP/dc.err")
  rc=$?
  err=$(cat "$TMP/dc.err")
}
# ok DESC ARGS...: dc, and end the test with FAIL unless it exits 0.
ok() {
  local desc=$1; shift
  dc "$@"
  [ "$rc" = 0 ] || die "$desc: 'disco $*' exited $rc: $(echo "$err $out" | head -c 400)"
}
# refused DESC ARGS...: dc, and end the test with FAIL unless the daemon
# refused: exit status 1 and a "disco: error: ..." message.
refused() {
  local desc=$1; shift
  dc "$@"
  [ "$rc" = 1 ] || die "$desc: 'disco $*' exited $rc, expected 1 (stdout: $(echo "$out" | head -c 200); stderr: $(echo "$err" | head -c 200))"
  grep -q 'disco: error: ..' <<< "$err" ||
    die "$desc: 'disco $*' gave no 'disco: error: ...' message (stderr: $(echo "$err" | head -c 300))"
}

# start_daemon [ARGS]...: start `disco daemon` in the background and wait
# until it answers `list`. Sets DAEMON_PID. Returns 1 if it does not come up.
start_daemon() {
  mkdir -p "$DISCO_STATE_DIR"
  "$DAEMON_BIN" daemon --socket "$DISCO_SOCKET" --state-dir "$DISCO_STATE_DIR" \
    --workers "$WORKERS" "$@" >> "$TMP/daemon.log" 2>&1 < /dev/null &
  DAEMON_PID=$!
  wait_until "${DAEMON_START_TIMEOUT:-30}" daemon_answers
}
daemon_answers() { "$DISCO" list > /dev/null 2>&1; }
# stop_daemon [SIGNAL]: signal it (TERM) and reap it; sets DAEMON_RC
# (124 if it had not exited after 30 s, then it is killed).
stop_daemon() {
  kill "-${1:-TERM}" "$DAEMON_PID" 2>/dev/null
  if wait_until 30 proc_gone "$DAEMON_PID"; then
    wait "$DAEMON_PID"; DAEMON_RC=$?
  else
    kill -KILL "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; DAEMON_RC=124
  fi
  DAEMON_PID=
}
# The state of a guest as `disco state` prints it.
vm_state() { "$DISCO" state "$1" 2> /dev/null | grep -oE 'stopped|running|paused|stopping' | head -n 1; }
state_is() { [ "$(vm_state "$1")" = "$2" ]; }
# vm_stat NAME FIELD: one field of `disco stats NAME --json`.
vm_stat() {
  "$DISCO" stats "$1" --json 2> /dev/null |
    jq -r --arg f "$2" 'first(.. | objects | select(has($f)) | .[$f]) // empty' 2> /dev/null
}
console_log() { echo "$DISCO_STATE_DIR/vms/$1/console.log"; }
# Does the guest's console log match an extended regexp?
console_has() { grep -qE "$2" "$(console_log "$1")" 2> /dev/null; }

# require_* end the test with SKIP when something it needs is not built.
require_guest() {
  [ -f "$GUEST_DIR/Image" ] && [ -f "$GUEST_DIR/initramfs.cpio.gz" ] || {
    skip "$T" "the default guest is not built ($GUEST_DIR; run scripts/boot.sh)"; exit 0; }
  GUEST_DIR=$(cd "$GUEST_DIR" && pwd -P)
}
require_agent() {
  require_guest
  zcat "$GUEST_DIR/initramfs.cpio.gz" 2> /dev/null | grep -aq 'sbin/disco-agent' || {
    skip "$T" "the default guest has no agent (/sbin/disco-agent; rebuild it with guest/build.sh)"; exit 0; }
}
# require_elf NAME: sets ELF to build/guests/NAME.elf.
require_elf() {
  ELF=$TEST_GUESTS/$1.elf
  [ -f "$ELF" ] || { skip "$T" "test guest $ELF is not built (make)"; exit 0; }
}
require_disco() {
  [ -x "$DISCO" ] || { skip "$T" "$DISCO is not built (make)"; exit 0; }
  command -v jq > /dev/null || { skip "$T" "jq is not installed"; exit 0; }
}
# start_daemon, or FAIL the test with the daemon's log.
need_daemon() {
  require_disco
  start_daemon "$@" || die "the daemon did not answer on $DISCO_SOCKET within ${DAEMON_START_TIMEOUT:-30}s"
}
