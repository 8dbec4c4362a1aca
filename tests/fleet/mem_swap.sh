# Hypervisor swap through the daemon (docs/MEMORY.md): the swapfill test
# guest in a 256 MiB VM limited to 64 MiB (--mem-limit) writes a pattern
# over 200 MiB (each word a hash of its address: nothing to share, nothing
# zero), then reads every word back and checks it. It must pass; disco
# stats must show pages going out to swap and coming back, the host's pool
# must show swap in use; and what the guest holds (mem_private +
# mem_shared), sampled while it runs, must stay near the limit.
T="fleet/mem_swap: a guest writes 200 MiB under a 64 MiB limit and reads it back"
source "$(dirname "$0")/lib.bash"
require_elf swapfill
need_daemon
MiB=1048576
LIMIT=$((64 * MiB))
SLACK=$((16 * MiB))   # the controller reclaims on a timer; a fast writer runs ahead of it

mib() { echo "$(( $1 / MiB )) MiB"; }
ok "create" create sw --mem 256M --mem-limit 64M --kernel "$ELF" --append "mib=200"
[ "$(vm_stat sw mem_limit)" = "$LIMIT" ] || [ -z "$(vm_stat sw mem_limit)" ] ||
  die "mem_limit reads $(vm_stat sw mem_limit) before the start"
t0=$(now)
ok "start" start sw
wait_until 10 state_is sw running || console_has sw 'swapfill: (pass|FAIL)' ||
  die "sw is '$(vm_state sw)' after start, expected running"

# Sample until it is done (one `disco stats --json` per sample).
held_max=0 samples=0 over=0 swap_outs=0 swap_ins=0 swapped_max=0 host_swapped_max=0
deadline=$(( $(now) + 150 * 1000000 ))
while :; do
  js=$("$DISCO" stats sw --json 2> /dev/null)
  st=$(jq -r '.stats | "\(.state) \(.mem_private // 0) \(.mem_shared // 0) \(.swap_outs // 0) \(.swap_ins // 0) \(.mem_swapped // 0) \(.mem_limit // 0)"' <<< "$js" 2> /dev/null)
  read -r state priv shared outs ins swapped lim <<< "$st"
  [ "$state" = running ] || break
  held=$(( priv + shared ))
  [ "$held" -gt "$held_max" ] && held_max=$held
  [ "$held" -gt "$LIMIT" ] && over=$((over + 1))
  [ "$outs" -ge "$swap_outs" ] && swap_outs=$outs swap_ins=$ins
  [ "$swapped" -gt "$swapped_max" ] && swapped_max=$swapped
  [ "$lim" = "$LIMIT" ] || die "mem_limit reads $lim while running, expected $LIMIT"
  hs=$("$DISCO" stats --host --json 2> /dev/null | jq -r '.host.swapped // 0' 2> /dev/null)
  [ "${hs:-0}" -gt "$host_swapped_max" ] && host_swapped_max=$hs
  samples=$((samples + 1))
  [ "$(now)" -ge "$deadline" ] && die "swapfill still runs after 150 s ($(tail -c 200 "$(console_log sw)"))"
  sleep 0.02
done
wait_until 10 state_is sw stopped || die "sw is '$(vm_state sw)' after its run, expected stopped"
ms=$(( ($(now) - t0) / 1000 ))
echo "    swapfill: $ms ms, $samples samples; held at most $(mib "$held_max") (over the limit in $over);" \
  "swap_outs $swap_outs, swap_ins $swap_ins, swapped at most $(mib "$swapped_max"), host swapped at most $(mib "$host_swapped_max")" >&2

console_has sw 'swapfill: pass' ||
  die "the guest did not pass: $(grep -a 'swapfill' "$(console_log sw)" | tail -n 3 | tr '\n' ' ')"
[ "$samples" -ge 3 ] || die "only $samples stats samples while it ran (it finished too fast to watch)"
# 200 MiB through 64 MiB: at least 136 MiB went out; reading back brings it in
[ "$swap_outs" -ge $(( 136 * MiB / 4096 )) ] || die "swap_outs is $swap_outs, want >= $(( 136 * MiB / 4096 )) (136 MiB)"
[ "$swap_ins" -gt 0 ] || die "swap_ins is 0: nothing came back from swap"
[ "$host_swapped_max" -gt 0 ] || die "the host's pool never showed swapped memory"
[ "$held_max" -le $(( LIMIT + SLACK )) ] ||
  die "the guest held up to $(mib "$held_max"), more than the limit $(mib "$LIMIT") + $(mib "$SLACK")"
ok "destroy" destroy sw
pass "$T"
