# Guests see correct time while descheduled: a guest capped at 10% of a host
# CPU (so it is off the CPU 90% of the time) still sees its clock advance at
# real pace: /proc/uptime read through the agent moves as much as the host's
# monotonic clock over the same window (within 5% + 0.2 s for the exec round
# trips), and sleep 1 in the guest takes about a second of host time.
T="fleet/guest_time: a guest capped at 10% keeps real time"
source "$(dirname "$0")/lib.bash"
require_agent
need_daemon
WINDOW=${TIME_WINDOW:-4}
ok "create" create slow --mem 128M --cap 10
ok "start --wait" start slow --wait --timeout 120
uptime_ms() {
  dc exec slow -- cat /proc/uptime
  [ "$rc" = 0 ] || die "exec cat /proc/uptime exited $rc: $err"
  awk '{ printf "%d\n", $1 * 1000 }' <<< "$out"
}
h0=$(now); g0=$(uptime_ms)
sleep "$WINDOW"
h1=$(now); g1=$(uptime_ms)
host_ms=$(( (h1 - h0) / 1000 )); guest_ms=$(( g1 - g0 ))
diff=$(( guest_ms > host_ms ? guest_ms - host_ms : host_ms - guest_ms ))
echo "    capped at 10%: guest clock advanced ${guest_ms} ms while the host's advanced ${host_ms} ms" >&2
[ "$diff" -le $(( host_ms / 20 + 200 )) ] ||
  die "the guest's clock advanced ${guest_ms} ms over ${host_ms} ms of host time"
t0=$(now)
ok "sleep 1 in the guest" exec slow -- sleep 1
el=$(( ($(now) - t0) / 1000 ))
echo "    sleep 1 in the capped guest took ${el} ms of host time" >&2
[ "$el" -ge 950 ] && [ "$el" -le 2000 ] || die "sleep 1 in the guest took ${el} ms of host time"
pass "$T (${guest_ms} ms guest / ${host_ms} ms host)"
