# Weights: two CPU-bound guests (spin.elf) with weights 256 and 512 compete
# for one worker thread (spin.elf runs on hart 0 only, so with 2 workers two
# 1-vCPU guests would not compete); over a 5 s window the second gets twice
# the host CPU time of the first (cpu_ns from `disco stats --json`), +-10%.
T="fleet/fairness: weights 256 and 512 get CPU time 1:2 (+-10%)"
WORKERS=${FAIR_WORKERS:-1}
source "$(dirname "$0")/lib.bash"
require_elf spin
FAIR_CPUS=${FAIR_CPUS:-1}
WINDOW=${FAIR_WINDOW:-5}
need_daemon
ok "create light" create light --cpus "$FAIR_CPUS" --mem 16M --kernel "$ELF" --weight 256
ok "create heavy" create heavy --cpus "$FAIR_CPUS" --mem 16M --kernel "$ELF" --weight 512
ok "start" start light heavy
w=$(vm_stat heavy weight)
[ -z "$w" ] || [ "$w" = 512 ] || die "stats of heavy say weight $w, expected 512"
# Warm-up (the credit accounting settles within a few 30 ms periods).
wait_until 10 eval '[ "$(vm_stat light cpu_ns)" -gt 0 ] && [ "$(vm_stat heavy cpu_ns)" -gt 0 ]' ||
  die "the guests do not run (cpu_ns: light $(vm_stat light cpu_ns), heavy $(vm_stat heavy cpu_ns))"
sleep 1
t0=$(now); l0=$(vm_stat light cpu_ns); h0=$(vm_stat heavy cpu_ns); d0=$(proc_ticks "$DAEMON_PID")
sleep "$WINDOW"
t1=$(now); l1=$(vm_stat light cpu_ns); h1=$(vm_stat heavy cpu_ns); d1=$(proc_ticks "$DAEMON_PID")
dl=$((l1 - l0)); dh=$((h1 - h0)); wall_ns=$(( (t1 - t0) * 1000 ))
[ "$dl" -gt 0 ] || die "light got no CPU in the window (cpu_ns $l0 -> $l1)"
ratio100=$(( dh * 100 / dl ))
ratio=$(printf '%d.%02d' $((ratio100 / 100)) $((ratio100 % 100)))
echo "    light ${dl} ns, heavy ${dh} ns in ${wall_ns} ns wall: ratio $ratio;" \
     "guests used $(( (dl + dh) * 100 / wall_ns ))% of one CPU, daemon $(( (d1 - d0) * 100 * 1000000000 / CLK_TCK / wall_ns ))%" >&2
[ "$ratio100" -ge 180 ] && [ "$ratio100" -le 220 ] ||
  die "heavy (weight 512) / light (weight 256) CPU time is $ratio over ${WINDOW}s, expected 2 +-10% (light $dl ns, heavy $dh ns)"
pass "$T (ratio $ratio)"
