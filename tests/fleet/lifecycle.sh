# Every lifecycle operation of docs/FLEET.md on the default guest, in every
# state, right and wrong. Right ones exit 0 and move the guest to the
# expected state; wrong ones exit 1 with a "disco: error: ..." message and
# leave the state as it was.
T="fleet/lifecycle: every operation in every state, right and wrong"
source "$(dirname "$0")/lib.bash"
require_agent
need_daemon
V=lc

# wrong STATE DESC ARGS...: refused, and the guest is still in STATE.
wrong() {
  local st=$1 desc=$2; shift 2
  refused "$desc (in state $st)" "$@"
  local now_st
  now_st=$(vm_state "$V")
  [ "$now_st" = "$st" ] || die "$desc: refused 'disco $*' changed the state from $st to '$now_st'"
}
expect_state() { local s; s=$(vm_state "$V"); [ "$s" = "$1" ] || die "$2: state is '$s', expected $1"; }
inits() { grep -c 'disco-guest: init reached' "$(console_log "$V")" 2> /dev/null || echo 0; }
exec_answers() { "$DISCO" exec "$V" --timeout 5 -- sh -c 'echo $((6*7))' 2> /dev/null | grep -qx 42; }

# --- usage and unknown names
dc start
[ "$rc" = 2 ] || die "'disco start' without a name exited $rc, expected 2 (usage)"
refused "unknown guest" start nosuch
refused "unknown guest" state nosuch
refused "bad config" create badcfg --kernel /nonexistent/Image
dc state badcfg; [ "$rc" != 0 ] || die "a refused create left a guest 'badcfg' behind"

# --- STOPPED
ok "create" create "$V" --mem 128M
expect_state stopped "after create"
refused "create of a taken name" create "$V" --mem 128M
[ -f "$DISCO_STATE_DIR/vms/$V/config.json" ] || die "create wrote no $DISCO_STATE_DIR/vms/$V/config.json"
wrong stopped "stop of a stopped guest" stop "$V"
wrong stopped "pause of a stopped guest" pause "$V"
wrong stopped "resume of a stopped guest" resume "$V"
wrong stopped "shutdown of a stopped guest" shutdown "$V" --timeout 5
wrong stopped "reboot of a stopped guest" reboot "$V"
wrong stopped "exec on a stopped guest" exec "$V" --timeout 5 -- true

# --- RUNNING
ok "start" start "$V" --wait --timeout 60
expect_state running "after start --wait"
[ -f "$(console_log "$V")" ] || die "no console log $(console_log "$V") after start"
console_has "$V" 'disco-guest: init reached' || die "console.log lacks 'disco-guest: init reached' after start --wait"
ok "exec" exec "$V" --timeout 30 -- sh -c 'echo $((6*7))'
[ "$out" = 42 ] || die "exec printed '$out', expected 42"
wrong running "start of a running guest" start "$V"
wrong running "resume of a running guest" resume "$V"
wrong running "destroy of a running guest" destroy "$V"

# A read-only console client, attached from here on.
timeout --kill-after=5 120 "$DISCO" console "$V" --read-only < /dev/null > "$TMP/console.out" 2> "$TMP/console.err" &
CONSOLE_PID=$!

# --- PAUSED
ok "pause" pause "$V"
expect_state paused "after pause"
i0=$(vm_stat "$V" instret); sleep 0.5; i1=$(vm_stat "$V" instret)
[ -n "$i0" ] && [ "$i0" = "$i1" ] || die "a paused guest still runs: instret $i0 -> $i1 in 0.5 s"
wrong paused "pause of a paused guest" pause "$V"
wrong paused "start of a paused guest" start "$V"
wrong paused "exec on a paused guest" exec "$V" --timeout 5 -- true
wrong paused "destroy of a paused guest" destroy "$V"
ok "resume" resume "$V"
expect_state running "after resume"
ok "exec after resume" exec "$V" --timeout 30 -- true

# --- reboot through the agent: the guest boots again and answers exec
n0=$(inits)
ok "reboot" reboot "$V"
wait_until 60 eval '[ "$(inits)" -gt "$n0" ]' || die "no second 'disco-guest: init reached' in console.log within 60 s of reboot"
wait_until 60 exec_answers || die "the guest does not answer exec within 60 s of its reboot"
expect_state running "after reboot"
r=$(vm_stat "$V" resets)
[ -z "$r" ] || [ "$r" -ge 1 ] || die "stats say resets=$r after a reboot"
# The console client saw the guest's (second) boot.
wait_until 10 grep -q 'disco-guest: init reached' "$TMP/console.out" ||
  die "'disco console $V --read-only' did not show the boot output (got $(wc -c < "$TMP/console.out") bytes: $(tail -c 200 "$TMP/console.out" | tr '\n' '|'); stderr: $(head -c 200 "$TMP/console.err"))"
grep -q 'Linux version' "$TMP/console.out" || die "the console stream lacks the kernel's boot messages ('Linux version')"

# --- clean shutdown
t0=$(now)
ok "shutdown" shutdown "$V" --timeout 60
grep -qiE 'forced|did not shut down' <<< "$out$err" && die "shutdown reported forced: $out $err"
expect_state stopped "after shutdown"
console_has "$V" 'reboot: Power down' || die "shutdown did not power the guest off itself (no 'reboot: Power down' in console.log)"
[ $(( ($(now) - t0) / 1000000 )) -lt 30 ] || die "clean shutdown took $(( ($(now) - t0) / 1000000 )) s"
wrong stopped "exec on a shut-down guest" exec "$V" --timeout 5 -- true
kill "$CONSOLE_PID" 2> /dev/null; wait "$CONSOLE_PID" 2> /dev/null

# --- start again, hard stop
ok "start again" start "$V" --wait --timeout 60
ok "exec after restart" exec "$V" --timeout 30 -- true
ok "stop" stop "$V"
expect_state stopped "after stop"
wrong stopped "exec on a stopped guest" exec "$V" --timeout 5 -- true

# --- configs survive a daemon restart; its guests come back stopped
ok "start before daemon restart" start "$V"
stop_daemon TERM
[ "$DAEMON_RC" = 0 ] || die "the daemon exited $DAEMON_RC on SIGTERM with a running guest"
start_daemon || die "the daemon did not come back on the same state dir"
expect_state stopped "after a daemon restart"

# --- destroy; destroy --force of a running guest
ok "destroy" destroy "$V"
dc state "$V"; [ "$rc" = 1 ] || die "state of a destroyed guest exited $rc, expected 1"
[ ! -e "$DISCO_STATE_DIR/vms/$V" ] || die "destroy left $DISCO_STATE_DIR/vms/$V behind"
ok "list" list --json
jq -e --arg n "$V" '[.. | objects | select(.name? == $n)] | length == 0' <<< "$out" > /dev/null ||
  die "list still shows $V after destroy: $out"
V=lc2
ok "create lc2" create "$V" --mem 128M
ok "start lc2" start "$V"
wrong running "destroy without --force of a running guest" destroy "$V"
ok "destroy --force" destroy "$V" --force
dc state "$V"; [ "$rc" = 1 ] || die "destroy --force left $V behind"

# --- a guest without an agent: exec is refused, shutdown falls back to a hard stop
if [ -f "$TEST_GUESTS/idle.elf" ]; then
  V=noagent
  ok "create noagent" create "$V" --mem 16M --kernel "$TEST_GUESTS/idle.elf"
  ok "start noagent" start "$V"
  wrong running "exec without an agent" exec "$V" --timeout 2 -- true
  ok "shutdown of an agentless guest" shutdown "$V" --timeout 1
  expect_state stopped "after the shutdown of an agentless guest"
  grep -qiE 'forced|did not shut down|stopped it' <<< "$out$err" ||
    die "the forced shutdown of an agentless guest did not say so (stdout '$out', stderr '$err')"
fi
pass "$T"
