# One guest's trouble stays its own. Of five guests on 2 workers, one
# panics its kernel (sysrq c: Linux then spins in panic()), one spins with
# interrupts masked (spin_irqoff.elf, never yields by itself), one storms
# device registers and doorbells (mmio_storm.elf), one exhausts its memory
# (a process eating more than the guest's RAM: the guest's OOM killer
# deals with it, and the host backs no more than the configured RAM); the
# fifth keeps answering exec promptly and the daemon keeps answering list.
T="fleet/isolation: panic, irq-off spin, MMIO storm and OOM guests do not starve a fifth"
source "$(dirname "$0")/lib.bash"
require_agent
require_elf mmio_storm
STORM_ELF=$ELF
require_elf spin_irqoff
need_daemon
PROMPT_MS=${PROMPT_MS:-3000}
ok "create panic" create panic --mem 128M
ok "create good" create good --mem 128M
ok "create spinner" create spinner --mem 64M --kernel "$ELF"
ok "create storm" create storm --mem 16M --kernel "$STORM_ELF"
ok "create hog" create hog --mem 64M
ok "start panic good hog" start panic good hog --wait --timeout 90
ok "start spinner storm" start spinner storm
# Eat more than the guest has: a shell string doubling until the OOM killer.
dc exec hog --timeout 60 -- sh -c 'x=0123456789; while :; do x=$x$x; done'
hog_rc=$rc
wait_until 30 console_has hog 'Out of memory|oom-kill|Killed process' ||
  die "the memory hog did not meet the guest's OOM killer (exec exit $hog_rc; console: $(tail -n 3 "$(console_log hog)" | tr '\n' '|'))"
touched=$(vm_stat hog mem_touched)
[ -n "$touched" ] && [ "$touched" -le $((64 << 20)) ] ||
  die "the host backs $touched bytes of a 64 MiB guest"
ok "exec in the hog after its OOM" exec hog --timeout 30 -- echo alive
# Crash the kernel; the exec itself cannot answer.
dc exec panic --timeout 5 -- sh -c 'echo c > /proc/sysrq-trigger'
wait_until 30 console_has panic 'Kernel panic|sysrq: Trigger a crash' ||
  die "the guest did not panic (console.log: $(tail -n 3 "$(console_log panic)" | tr '\n' '|'))"
# Both troublemakers use CPU now.
c0=$(vm_stat spinner cpu_ns)
sleep 1
c1=$(vm_stat spinner cpu_ns)
[ -n "$c0" ] && [ -n "$c1" ] && [ "$c1" -gt "$c0" ] || die "the irq-off spinner is not running (cpu_ns $c0 -> $c1)"
worst=0
for i in $(seq 1 10); do
  t0=$(now)
  dc exec good --timeout 30 -- sh -c "echo \$(( $i * 7 ))"
  ms=$(( ($(now) - t0) / 1000 ))
  [ "$rc" = 0 ] && [ "$out" = $((i * 7)) ] || die "exec $i in the healthy guest: exit $rc, output '$out' ($err)"
  [ "$ms" -gt "$worst" ] && worst=$ms
  t0=$(now)
  ok "list during the trouble" list
  lms=$(( ($(now) - t0) / 1000 ))
  [ "$lms" -lt "$PROMPT_MS" ] || die "list took $lms ms"
done
[ "$worst" -lt "$PROMPT_MS" ] || die "the slowest of 10 execs in the healthy guest took $worst ms (limit $PROMPT_MS ms)"
for n in panic spinner storm hog good; do
  state_is "$n" running || die "$n is '$(vm_state "$n")', expected running (a guest's panic is not the host's)"
done
# The panicked and the spinning guest still obey the host.
ok "stop panic" stop panic
ok "stop spinner" stop spinner
ok "stop storm" stop storm
ok "exec after stops" exec good --timeout 30 -- true
echo "    slowest exec in the healthy guest: $worst ms" >&2
pass "$T (slowest exec $worst ms)"
