# Eight idle guests (booted, agent up, then left alone) together cost the
# host less than 5% of one CPU: the daemon's own CPU time (utime + stime of
# every thread, /proc/PID/stat) over a 10 s window.
T="fleet/idle_cpu: 8 idle guests use < 5% of one host CPU"
source "$(dirname "$0")/lib.bash"
require_agent
need_daemon
N=${FLEET_VMS:-8}
WINDOW=${IDLE_WINDOW:-10}
LIMIT_PCT=${IDLE_LIMIT_PCT:-5}
names=()
for i in $(seq 1 "$N"); do
  names+=("idle$i")
  ok "create idle$i" create "idle$i" --mem 128M
done
ok "start all" start "${names[@]}" --wait --timeout 100
# Let the guests finish what init started (the agent, the shell) first.
sleep 3
t0=$(now); c0=$(proc_ticks "$DAEMON_PID")
sleep "$WINDOW"
t1=$(now); c1=$(proc_ticks "$DAEMON_PID")
for n in "${names[@]}"; do
  state_is "$n" running || die "$n is '$(vm_state "$n")' at the end of the window, expected running"
done
# percent of one CPU, with two decimals, in integer arithmetic
pct100=$(( (c1 - c0) * 1000000 * 100 * 100 / CLK_TCK / (t1 - t0) ))
pct=$(printf '%d.%02d' $((pct100 / 100)) $((pct100 % 100)))
echo "    $N idle guests: daemon CPU $((c1 - c0)) ticks in $(( (t1 - t0) / 1000 )) ms = $pct% of one CPU" >&2
[ "$pct100" -lt $((LIMIT_PCT * 100)) ] || die "the daemon used $pct% of one CPU over ${WINDOW}s with $N idle guests (limit $LIMIT_PCT%)"
pass "$T ($pct%)"
