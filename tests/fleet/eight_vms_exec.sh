# Eight VMs of the default guest, created and started with one command on a
# daemon with 2 worker threads; each answers `disco exec` with the right
# output (exec reaches the right guest: its kernel command line carries its
# name); then all eight shut down cleanly through their agents, at once.
T="fleet/eight_vms_exec: 8 guests on 2 workers start together, answer exec, shut down cleanly"
source "$(dirname "$0")/lib.bash"
require_agent
need_daemon
N=${FLEET_VMS:-8}
names=()
for i in $(seq 1 "$N"); do
  names+=("vm$i")
  ok "create vm$i" create "vm$i" --mem 128M --append "console=ttyS0 disco.fleet=vm$i"
done
t0=$(now)
ok "start all" start "${names[@]}" --wait --timeout 100
boot_s=$(( ($(now) - t0) / 1000 ))
for n in "${names[@]}"; do
  state_is "$n" running || die "$n is '$(vm_state "$n")' after start --wait, expected running"
  ok "$n: hostname" exec "$n" --timeout 30 -- cat /proc/sys/kernel/hostname
  [ "$out" = disco ] || [ "$out" = "$n" ] || die "$n: hostname is '$out', expected 'disco' (or '$n')"
  ok "$n: arithmetic" exec "$n" --timeout 30 -- sh -c 'echo $((6*7))'
  [ "$out" = 42 ] || die "$n: sh -c 'echo \$((6*7))' printed '$out'"
  ok "$n: cmdline" exec "$n" --timeout 30 -- cat /proc/cmdline
  [[ " $out " == *" disco.fleet=$n "* ]] || die "$n: exec ran in the wrong guest: /proc/cmdline is '$out'"
  dc exec "$n" --timeout 30 -- sh -c 'echo to-stderr >&2; exit 3'
  [ "$rc" = 3 ] || die "$n: exec of 'exit 3' exited $rc, expected the command's status 3 ($err)"
  [ "$err" = to-stderr ] || die "$n: exec's stderr was '$err', expected 'to-stderr'"
done
# Clean shutdown of all eight at once (each client waits for its guest).
t0=$(now)
pids=()
for n in "${names[@]}"; do
  ( timeout --kill-after=5 120 "$DISCO" shutdown "$n" --timeout 60 > "$TMP/sd.$n" 2>&1; echo $? > "$TMP/sd.$n.rc" ) &
  pids+=($!)
done
wait "${pids[@]}"
sd_s=$(( ($(now) - t0) / 1000 ))
for n in "${names[@]}"; do
  r=$(cat "$TMP/sd.$n.rc")
  [ "$r" = 0 ] || die "$n: 'disco shutdown $n' exited $r: $(head -c 300 "$TMP/sd.$n")"
  grep -qiE 'forced|did not shut down' "$TMP/sd.$n" && die "$n: shutdown was forced: $(head -c 300 "$TMP/sd.$n")"
  state_is "$n" stopped || die "$n is '$(vm_state "$n")' after shutdown, expected stopped"
  console_has "$n" 'reboot: Power down' ||
    die "$n: the guest did not power itself off (no 'reboot: Power down' in $(console_log "$n"): $(tail -n 3 "$(console_log "$n")" | tr '\n' '|'))"
done
echo "    $N guests: start --wait ${boot_s} ms, clean shutdown of all ${sd_s} ms" >&2
pass "$T"
