# Weights with Linux guests on the default 2 workers: two 2-vCPU guests of
# the default guest, each running two busy loops (one per vCPU), weights 256
# and 512. The host has 2 workers for 4 runnable vCPUs, so the weights
# decide: over a 5 s window the heavy guest gets twice the CPU time of the
# light one (+-10%), and together they use both workers (work-conserving).
T="fleet/fairness_smp: two 2-vCPU Linux guests at weights 256:512 on 2 workers get 1:2 (+-10%)"
source "$(dirname "$0")/lib.bash"
require_agent
WINDOW=${FAIR_WINDOW:-5}
need_daemon
ok "create light" create light --cpus 2 --mem 128M --weight 256
ok "create heavy" create heavy --cpus 2 --mem 128M --weight 512
ok "start" start light heavy --wait --timeout 120
for n in light heavy; do
  # Two loops in the background; exec returns at once (their output is /dev/null).
  ok "busy loops in $n" exec "$n" --timeout 30 -- sh -c \
    'for i in 1 2; do (while :; do :; done) > /dev/null 2>&1 < /dev/null & done'
done
sleep 1
t0=$(now); l0=$(vm_stat light cpu_ns); h0=$(vm_stat heavy cpu_ns)
sleep "$WINDOW"
t1=$(now); l1=$(vm_stat light cpu_ns); h1=$(vm_stat heavy cpu_ns)
dl=$((l1 - l0)); dh=$((h1 - h0)); wall_ns=$(( (t1 - t0) * 1000 ))
[ "$dl" -gt 0 ] || die "light got no CPU in the window"
ratio100=$(( dh * 100 / dl ))
ratio=$(printf '%d.%02d' $((ratio100 / 100)) $((ratio100 % 100)))
used=$(( (dl + dh) * 100 / wall_ns ))
echo "    light ${dl} ns, heavy ${dh} ns in ${wall_ns} ns wall: ratio $ratio; guests used ${used}% of one CPU" >&2
[ "$ratio100" -ge 180 ] && [ "$ratio100" -le 220 ] ||
  die "heavy / light CPU time is $ratio over ${WINDOW}s, expected 2 +-10% (light $dl ns, heavy $dh ns)"
[ "$used" -ge 150 ] || die "the two guests used only ${used}% of the 2 workers (not work-conserving)"
pass "$T (ratio $ratio, ${used}% of one CPU in all)"
