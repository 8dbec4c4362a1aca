# The disco daemon's state survives it: VMs created, the daemon stopped with
# SIGTERM (which hard-stops running guests and exits 0) and started again:
# the configs are back, every VM stopped but the --autostart one, console
# logs kept. A daemon killed with SIGKILL leaves a stale socket that the next
# one replaces. Run against the plain and the ASan+UBSan builds.
. "$(dirname "$0")/daemon_lib.bash" disco-restart daemon-restart

d() { timeout 60 "$BIN" "$@" --socket "$SOCK"; }

daemon_ready() { d list > /dev/null 2>&1; }

# wait_state NAME STATE: poll (bounded, 20 s) until the VM is in STATE.
wait_state() {
  local i
  for ((i = 0; i < 200; i++)); do
    [ "$(d state "$1" 2> /dev/null)" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

for BIN in "${DAEMON_BINS[@]}"; do
  use_build || continue
  SOCK=$TMP/$tag/disco.sock
  mkdir -p "$TMP/$tag"
  # Stopped VMs need a kernel file only to exist; running ones need a test
  # kernel from tests/guests.
  KERNEL=$TMP/$tag/kernel
  head -c 4096 /dev/zero > "$KERNEL"
  RUNNABLE=
  [ -f "$GUESTS/idle.elf" ] && RUNNABLE=$GUESTS/idle.elf

  if ! start_daemon; then
    fail start "the daemon did not come up on $SOCK"
    continue
  fi
  pass start
  out=$( { d create vm-a --kernel "$KERNEL" --mem 32M &&
    d create vm-b --kernel "$KERNEL" --cpus 2 --mem 64M --weight 100 --cap 30 \
      --append "console=ttyS0 quiet" --disk "$KERNEL"; } 2>&1)
  if [ $? -ne 0 ]; then
    fail create "$out"
    stop_daemon
    continue
  fi
  pass create
  if [ -n "$RUNNABLE" ]; then
    d create vm-run --kernel "$RUNNABLE" --mem 32M 2> "$TMP/err" &&
      d create vm-auto --kernel "$RUNNABLE" --mem 32M --autostart 2>> "$TMP/err" &&
      d start vm-run 2>> "$TMP/err" || fail create-runnable "$(cat "$TMP/err")"
  fi
  cfg_a=$(cat "$STATE/vms/vm-a/config.json" 2> /dev/null)
  cfg_b=$(cat "$STATE/vms/vm-b/config.json" 2> /dev/null)
  [ -n "$cfg_a" ] && [ -n "$cfg_b" ] && pass configs-saved ||
    fail configs-saved "no config.json under $STATE/vms"
  stats_b=$(d stats vm-b --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print(s["cpus"], s["mem"], s["weight"], s["cap"])')
  [ "$stats_b" = "2 67108864 100 30" ] && pass create-options ||
    fail create-options "stats of vm-b: cpus mem weight cap = $stats_b"
  # Something in a console log, to see it kept.
  echo "marker-before-restart" >> "$STATE/vms/vm-a/console.log"

  # A console client attached while the daemon stops must not hold it up.
  if [ -n "$RUNNABLE" ]; then
    timeout 60 "$BIN" console vm-run --read-only --socket "$SOCK" > /dev/null 2>&1 &
    CPID=$!
  fi
  stop_daemon TERM
  [ "$DRC" = 0 ] && pass sigterm-exit-0 || fail sigterm-exit-0 "exit status $DRC"
  [ ! -e "$SOCK" ] && pass sigterm-removes-socket || fail sigterm-removes-socket "$SOCK remains"
  if [ -n "$RUNNABLE" ]; then
    # The console client sees the connection close (bounded by its timeout).
    wait "$CPID"
    crc=$?
    [ $crc -ne 124 ] && pass console-client-released ||
      fail console-client-released "the console client was still attached after 60 s"
  fi

  if ! start_daemon; then
    fail restart "the daemon did not come back"
    continue
  fi
  pass restart
  list=$(d list --json)
  names=$(echo "$list" | python3 -c 'import json,sys; print(" ".join(g["name"]+"="+g["state"] for g in json.load(sys.stdin)["guests"]))')
  want="vm-a=stopped vm-b=stopped"
  [ -n "$RUNNABLE" ] && want="vm-a=stopped vm-auto=running vm-b=stopped vm-run=stopped"
  [ "$names" = "$want" ] && pass configs-back-stopped ||
    fail configs-back-stopped "list after the restart: '$names', expected '$want'"
  [ "$(cat "$STATE/vms/vm-a/config.json")" = "$cfg_a" ] &&
    [ "$(cat "$STATE/vms/vm-b/config.json")" = "$cfg_b" ] && pass configs-unchanged ||
    fail configs-unchanged "config.json differs after the restart"
  stats_b2=$(d stats vm-b --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print(s["cpus"], s["mem"], s["weight"], s["cap"])')
  [ "$stats_b2" = "$stats_b" ] && pass settings-kept || fail settings-kept "vm-b: $stats_b2, was $stats_b"
  grep -q marker-before-restart "$STATE/vms/vm-a/console.log" && pass console-log-kept ||
    fail console-log-kept "console.log of vm-a lost its contents"
  if [ -n "$RUNNABLE" ]; then
    d start vm-run 2> "$TMP/err" && wait_state vm-run running && pass start-after-restart ||
      fail start-after-restart "$(cat "$TMP/err")"
  else
    skip autostart "no test kernels in $GUESTS (tests/guests)"
  fi

  # SIGKILL leaves the socket file behind; the next daemon replaces it.
  stop_daemon KILL
  [ -S "$SOCK" ] || fail stale-socket "SIGKILL did not leave the socket file (test setup)"
  if start_daemon; then
    pass stale-socket-replaced
    d list > /dev/null 2>&1 && pass stale-socket-serves || fail stale-socket-serves "list failed"
  else
    fail stale-socket-replaced "the daemon did not start over a stale socket"
  fi
  # destroy removes the config and the log.
  d destroy vm-a 2> "$TMP/err" && [ ! -e "$STATE/vms/vm-a" ] && pass destroy-removes-state ||
    fail destroy-removes-state "$(cat "$TMP/err"); $(ls "$STATE/vms" 2>&1)"
  stop_daemon TERM
  [ "$DRC" = 0 ] || fail final-sigterm "exit status $DRC"
  check_sanitizers
done
[ $FAILS = 0 ]
