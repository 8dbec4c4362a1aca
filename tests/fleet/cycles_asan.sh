# 100 create/start/stop/destroy cycles on a daemon built with ASan+UBSan
# (build-san/disco, `make SAN=1`), with leak detection: the daemon then
# exits 0 on SIGTERM with no sanitizer report, and has as many threads after
# the cycles as after the first one (no thread per VM left behind).
T="fleet/cycles_asan: 100 create/start/stop/destroy cycles, no leaks, no stray threads"
source "$(dirname "$0")/lib.bash"
DAEMON_BIN=${DAEMON_SAN_BIN:-$ROOT/build-san/disco}
[ -x "$DAEMON_BIN" ] || { skip "$T" "$DAEMON_BIN is not built (make SAN=1)"; exit 0; }
require_elf idle
CYCLES=${CYCLES:-100}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
DAEMON_START_TIMEOUT=60 need_daemon
# The client is the plain build (fast); only the daemon is under ASan.
unset ASAN_OPTIONS
cycle() {
  ok "cycle $1: create" create "c$1" --mem 16M --kernel "$ELF"
  ok "cycle $1: start" start "c$1"
  state_is "c$1" running || die "cycle $1: c$1 is '$(vm_state "c$1")' after start"
  ok "cycle $1: stop" stop "c$1"
  ok "cycle $1: destroy" destroy "c$1"
}
# The daemon serves each connection on a thread of its own that ends when
# the client hangs up: count threads once those are gone (the fewest seen
# over half a second), and give the last ones a moment to exit.
min_threads() {
  local n m=100000 i
  for i in 1 2 3 4 5; do n=$(proc_threads "$DAEMON_PID"); [ "$n" -lt "$m" ] && m=$n; sleep 0.1; done
  echo "$m"
}
threads_pre=$(min_threads)
cycle 1
threads0=$(min_threads)
for i in $(seq 2 "$CYCLES"); do cycle "$i"; done
wait_until 10 eval '[ "$(proc_threads "$DAEMON_PID")" -le "$threads0" ]'
threads1=$(min_threads)
# a few more, each with a different end: destroy --force, stop while paused
ok "create f" create f --mem 16M --kernel "$ELF"
ok "start f" start f
ok "destroy --force" destroy f --force
ok "create p" create p --mem 16M --kernel "$ELF"
ok "start p" start p
ok "pause p" pause p
ok "stop p" stop p
ok "destroy p" destroy p
left=$(ls "$DISCO_STATE_DIR/vms" 2> /dev/null | wc -l)
[ "$left" = 0 ] || die "$left guest dirs left in $DISCO_STATE_DIR/vms after destroying every guest"
[ "$threads1" = "$threads0" ] || die "the daemon had $threads0 threads after cycle 1, $threads1 after cycle $CYCLES"
# one guest left running at SIGTERM: the daemon hard-stops it on the way out
ok "create last" create last --mem 16M --kernel "$ELF"
ok "start last" start last
stop_daemon TERM
if grep -qE 'LeakSanitizer|AddressSanitizer|runtime error|ThreadSanitizer' "$TMP/daemon.log"; then
  grep -E -A12 'LeakSanitizer|AddressSanitizer|runtime error' "$TMP/daemon.log" | head -n 40 | sed 's/^/    | /' >&2
  die "sanitizer report from the daemon (exit $DAEMON_RC): $(grep -m1 -E 'LeakSanitizer|AddressSanitizer|runtime error' "$TMP/daemon.log")"
fi
[ "$DAEMON_RC" = 0 ] || die "the ASan daemon exited $DAEMON_RC on SIGTERM"
pass "$T (threads: $threads_pre at start, $threads0 after cycle 1, $threads1 after cycle $CYCLES)"
