# The console is interactive: a command typed at the busybox shell runs and
# `poweroff` ends disco run with status 0.
source "$(dirname "$0")/lib.sh"
name="boot/console: shell runs typed commands, poweroff ends disco"
out=$TMP/console.out
coproc GUEST { timeout --kill-after=10 "$BOOT_TIMEOUT" "$DISCO" run --cpus 1 2>&1; }
# bash forgets GUEST_PID once the coprocess ends: keep it.
guest_pid=$GUEST_PID
sent=0
while IFS= read -r -t "$BOOT_TIMEOUT" line <&"${GUEST[0]}"; do
  printf '%s\n' "$line" >> "$out"
  if [ $sent = 0 ] && [[ $line == *"disco-guest: init reached"* ]]; then
    # The kernel has opened the console for init: input is buffered from now.
    printf 'echo answer-$((6*7))\npoweroff\n' >&"${GUEST[1]}"
    sent=1
  fi
done
wait "$guest_pid"; rc=$?
check "$name" "$out" 0 'answer-42'
