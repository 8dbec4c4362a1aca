# The console is interactive: a command typed at the busybox shell runs and
# `poweroff` ends disco run with status 0.
source "$(dirname "$0")/lib.bash"
name="boot/console: shell runs typed commands, poweroff ends disco"
out=$TMP/console.out
coproc GUEST { timeout --kill-after=10 "$BOOT_TIMEOUT" "$DISCO" run --cpus 1 2>&1; }
# bash forgets GUEST_PID once the coprocess ends: keep it.
guest_pid=$GUEST_PID
exec {from_guest}<&"${GUEST[0]}" {to_guest}>&"${GUEST[1]}"
sent=0
while IFS= read -r -t "$BOOT_TIMEOUT" line <&"$from_guest"; do
  printf '%s\n' "$line" >> "$out"
  if [ $sent = 0 ] && [[ $line == *"disco-guest: init reached"* ]]; then
    # The kernel has opened the console for init: input is buffered from now.
    printf 'echo answer-$((6*7))\npoweroff\n' >&"$to_guest"
    sent=1
  fi
done
wait "$guest_pid"; rc=$?
check "$name" "$out" 0 'answer-42'
