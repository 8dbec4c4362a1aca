# Caps: a CPU-bound guest (spin.elf) capped at 30% of one host CPU stays
# under 30% (+3) over a 5 s window, counted both by the daemon (cpu_ns) and
# by the host kernel (the daemon's own CPU time); `disco set --cap 60`
# takes effect at once on the running guest.
T="fleet/cap: a guest capped at 30% stays under it"
source "$(dirname "$0")/lib.bash"
require_elf spin
WINDOW=${CAP_WINDOW:-5}
need_daemon
ok "create" create capped --mem 16M --kernel "$ELF" --cap 30
ok "start" start capped
# measure_pct: the guest's and the daemon's CPU over WINDOW seconds, in
# percent of one host CPU ($vm_pct, $daemon_pct).
measure_pct() {
  local t0 t1 c0 c1 d0 d1
  t0=$(now); c0=$(vm_stat capped cpu_ns); d0=$(proc_ticks "$DAEMON_PID")
  sleep "$WINDOW"
  t1=$(now); c1=$(vm_stat capped cpu_ns); d1=$(proc_ticks "$DAEMON_PID")
  [ -n "$c0" ] && [ -n "$c1" ] || die "stats capped --json has no cpu_ns"
  vm_pct=$(( (c1 - c0) * 100 / ((t1 - t0) * 1000) ))
  daemon_pct=$(( (d1 - d0) * 100 * 1000000 / CLK_TCK / (t1 - t0) ))
}
wait_until 10 eval '[ "$(vm_stat capped cpu_ns)" -gt 0 ]' || die "the guest does not run"
sleep 0.5
measure_pct
echo "    cap 30: guest ${vm_pct}%, daemon ${daemon_pct}% of one CPU" >&2
[ "$vm_pct" -le 33 ] || die "the guest capped at 30% used ${vm_pct}% of one CPU over ${WINDOW}s (cpu_ns)"
[ "$daemon_pct" -le 35 ] || die "the daemon used ${daemon_pct}% of one CPU over ${WINDOW}s with one guest capped at 30%"
[ "$vm_pct" -ge 15 ] || die "the guest capped at 30% got only ${vm_pct}% (a cap is a limit, not a starvation)"
pass "$T (${vm_pct}%)"
T="fleet/cap: disco set --cap 60 applies to the running guest at once"
ok "set --cap 60" set capped --cap 60
c=$(vm_stat capped cap)
[ -z "$c" ] || [ "$c" = 60 ] || die "stats say cap $c after set --cap 60"
sleep 0.5
measure_pct
echo "    cap 60: guest ${vm_pct}%, daemon ${daemon_pct}% of one CPU" >&2
[ "$vm_pct" -le 63 ] || die "after set --cap 60 the guest used ${vm_pct}%"
[ "$vm_pct" -ge 40 ] || die "after set --cap 60 the guest used only ${vm_pct}% (the new cap did not apply?)"
pass "$T (${vm_pct}%)"
