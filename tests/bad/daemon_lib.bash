# Shared by the daemon tests here (daemon_protocol.sh, daemon_restart.sh),
# which source it:
#   . "$(dirname "$0")/daemon_lib.bash" TMP_NAME GROUP
# TMP_NAME names the temp dir (/tmp/TMP_NAME.XXXXXX), GROUP the middle of
# the result lines ("PASS: bad/<build>/GROUP/<name>"). The sourcing script
# defines daemon_ready (does the daemon on $SOCK answer yet?) and sets SOCK
# for each build. Named .bash, not .sh: scripts/test.sh runs every
# tests/bad/*.sh, and this file is no test of its own.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$(mktemp -d "/tmp/$1.XXXXXX")
DAEMON_GROUP=$2
DPID=
FAILS=0

# stop_daemon [SIGNAL]: SIGTERM by default; bounded wait (a daemon that
# ignores the signal is killed after 20 s); sets $DRC.
stop_daemon() {
  [ -n "$DPID" ] || return 0
  kill -"${1:-TERM}" "$DPID" 2> /dev/null
  local i
  for ((i = 0; i < 200; i++)); do kill -0 "$DPID" 2> /dev/null || break; sleep 0.1; done
  kill -KILL "$DPID" 2> /dev/null
  wait "$DPID" 2> /dev/null
  DRC=$?
  DPID=
}
trap 'stop_daemon; rm -rf "$TMP"' EXIT

pass() { echo "PASS: bad/$tag/$DAEMON_GROUP/$1"; }
fail() {
  echo "FAIL: bad/$tag/$DAEMON_GROUP/$1: $2"
  FAILS=$((FAILS + 1))
  [ -f "$TMP/daemon.err" ] && tail -n 5 "$TMP/daemon.err" | sed 's/^/    | /' >&2
}
skip() { echo "SKIP: bad/$tag/$DAEMON_GROUP/$1: $2"; }

# start_daemon [ARGS...]: in the background, with ARGS; waits (bounded,
# 30 s) until daemon_ready.
start_daemon() {
  "$BIN" daemon --socket "$SOCK" --state-dir "$STATE" --workers 2 "$@" 2>> "$TMP/daemon.err" &
  DPID=$!
  local i
  for ((i = 0; i < 300; i++)); do
    daemon_ready && return 0
    kill -0 "$DPID" 2> /dev/null || { DPID=; return 1; }
    sleep 0.1
  done
  return 1
}

# The builds to run against: the plain and the ASan+UBSan one.
DAEMON_BINS=("$ROOT/build/disco" "$ROOT/build-san/disco")

# use_build: for $BIN (false if it is not built) sets tag, GUESTS (the test
# kernels, the plain build's if this one has none) and STATE, and empties
# the daemon's log.
use_build() {
  [ -x "$BIN" ] || return 1
  tag=$(basename "$(dirname "$BIN")")
  GUESTS=$(dirname "$BIN")/guests
  [ -f "$GUESTS/idle.elf" ] || GUESTS=$ROOT/build/guests
  STATE=$TMP/$tag/state
  : > "$TMP/daemon.err"
}

# check_sanitizers: a FAIL if the daemon's log has an ASan/LSan/UBSan report.
check_sanitizers() {
  if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$TMP/daemon.err"; then
    fail sanitizers "$(grep -m1 -E 'Sanitizer|runtime error' "$TMP/daemon.err")"
  fi
}
