# The memory balloon end to end on the default guest (256 MiB): `disco
# balloon vm 128M` inflates it (balloon_actual reaches the target, the
# guest's memory shrinks, it still runs a 64 MiB process), `disco balloon vm
# 256M` deflates it, and memory the guest frees comes back to the host by
# free page reporting. Then the target survives a guest reboot and not a
# stop / start (docs/FLEET.md).
T="fleet/balloon: inflate, deflate and free page reporting"
source "$(dirname "$0")/lib.bash"
require_agent
need_daemon
V=bl
MiB=1048576

ok "create" create "$V" --mem 256M
ok "start --wait" start "$V" --wait --timeout 120

# read_meminfo: sets total, free, avail (kB) from the guest's /proc/meminfo.
read_meminfo() {
  dc exec "$V" --timeout 30 -- cat /proc/meminfo
  [ "$rc" = 0 ] || die "exec cat /proc/meminfo exited $rc: $err"
  total=$(awk '$1 == "MemTotal:" { print $2 }' <<< "$out")
  free=$(awk '$1 == "MemFree:" { print $2 }' <<< "$out")
  avail=$(awk '$1 == "MemAvailable:" { print $2 }' <<< "$out")
  [ -n "$total" ] && [ -n "$free" ] && [ -n "$avail" ] || die "odd /proc/meminfo: $(head -c 300 <<< "$out")"
}
stat_num() { local v; v=$(vm_stat "$V" "$1"); echo "${v:-0}"; }
mib() { echo "$(( $1 / MiB )) MiB"; }

# The balloon device as the guest sees it. Its driver lowers MemTotal as it
# inflates only without VIRTIO_BALLOON_F_DEFLATE_ON_OOM (bit 2); with it the
# pages stay counted in MemTotal and show as used instead.
dc exec "$V" --timeout 30 -- sh -c \
  'for d in /sys/bus/virtio/devices/*; do [ "$(cat $d/device)" = 0x0005 ] && cat $d/features; done; :'
[ "$rc" = 0 ] && [ -n "$out" ] || die "the guest sees no virtio-balloon device (exit $rc: $err)"
deflate_on_oom=${out:2:1}
read_meminfo
total0=$total free0=$free
echo "    before: MemTotal $((total0 / 1024)) MiB, MemFree $((free0 / 1024)) MiB," \
  "mem_resident $(mib "$(stat_num mem_resident)"), deflate-on-OOM: $deflate_on_oom" >&2

# --- usage and state errors
dc balloon "$V" 8M
[ "$rc" = 2 ] || die "'disco balloon $V 8M' exited $rc, expected 2 (too small)"
dc balloon "$V"
[ "$rc" = 2 ] || die "'disco balloon $V' without a size exited $rc, expected 2"
refused "unknown guest" balloon nosuch 128M

# --- inflate to leave the guest 128 MiB
ok "balloon to 128M" balloon "$V" 128M
[ -z "$out$err" ] || die "'disco balloon' printed something on success: $out $err"
[ "$(stat_num balloon_target)" = $((128 * MiB)) ] ||
  die "balloon_target is $(stat_num balloon_target), expected $((128 * MiB))"
dc stats "$V"
grep -qE '^balloon_target +128\.0 MiB$' <<< "$out" ||
  die "disco stats does not show 'balloon_target 128.0 MiB': $(grep balloon <<< "$out")"
t0=$(now)
wait_until 20 eval '[ "$(stat_num balloon_actual)" -ge $((120 * MiB)) ]' ||
  die "balloon_actual is $(mib "$(stat_num balloon_actual)") 20 s after ballooning to 128M (want >= 120 MiB)"
echo "    inflated to $(mib "$(stat_num balloon_actual)") in $(( ($(now) - t0) / 1000 )) ms;" \
  "mem_resident $(mib "$(stat_num mem_resident)")" >&2
# guest_shrunk: has the guest lost >= 100 MiB (MemTotal, or MemFree with
# deflate-on-OOM)?
guest_shrunk() {
  read_meminfo
  if [ "$deflate_on_oom" = 1 ]; then
    [ $(( free0 - free )) -ge $((100 * 1024)) ]
  else
    [ $(( total0 - total )) -ge $((100 * 1024)) ]
  fi
}
wait_until 20 guest_shrunk ||
  die "the guest did not shrink by 100 MiB: MemTotal $((total0 / 1024)) -> $((total / 1024)) MiB, MemFree $((free0 / 1024)) -> $((free / 1024)) MiB"
echo "    ballooned: MemTotal $((total / 1024)) MiB, MemFree $((free / 1024)) MiB" >&2

# A 64 MiB process still runs (busybox awk: 65536 strings of 1 KiB).
dc exec "$V" --timeout 90 -- awk 'BEGIN { s = sprintf("%1024s", ""); for (i = 0; i < 65536; i++) a[i] = s; print i }'
[ "$rc" = 0 ] && [ "$out" = 65536 ] ||
  die "a 64 MiB awk in the ballooned guest failed: exit $rc, '$out' $(head -c 200 <<< "$err")"

# --- deflate back to the full 256 MiB
ok "balloon to 256M" balloon "$V" 256M
[ "$(stat_num balloon_target)" = 0 ] || die "balloon_target is $(stat_num balloon_target) after ballooning to 256M"
wait_until 20 eval '[ "$(stat_num balloon_actual)" -le $((4 * MiB)) ]' ||
  die "balloon_actual is still $(mib "$(stat_num balloon_actual)") 20 s after ballooning back to 256M"
guest_whole() { read_meminfo; [ $(( total0 - total )) -le 4096 ] && [ $(( free0 - free )) -le $((40 * 1024)) ]; }
wait_until 20 guest_whole ||
  die "the guest did not get its memory back: MemTotal $((total0 / 1024)) -> $((total / 1024)) MiB, MemFree $((free0 / 1024)) -> $((free / 1024)) MiB"

# --- free page reporting: 100 MiB in tmpfs, then freed
dc exec "$V" --timeout 90 -- dd if=/dev/zero of=/tmp/fill bs=1M count=100
[ "$rc" = 0 ] || die "writing 100 MiB to /tmp failed: exit $rc: $(head -c 200 <<< "$err")"
peak=$(stat_num mem_resident)
rep0=$(stat_num balloon_reported)
ok "rm the 100 MiB file" exec "$V" --timeout 30 -- rm /tmp/fill
t0=$(now)
given_back() {
  res=$(stat_num mem_resident); rep=$(stat_num balloon_reported)
  [ "$rep" -gt "$rep0" ] && [ "$res" -le $(( peak - 50 * MiB )) ]
}
wait_until 30 given_back ||
  die "30 s after freeing 100 MiB: balloon_reported $(mib "$rep0") -> $(mib "$rep"), mem_resident $(mib "$peak") at the peak -> $(mib "$res") (want reported to grow and resident to fall by >= 50 MiB)"
echo "    free page reporting: mem_resident $(mib "$peak") -> $(mib "$res") in" \
  "$(( ($(now) - t0) / 1000 )) ms, balloon_reported $(mib "$rep")" >&2

# --- the target outlives a guest reboot, not a stop / start
exec_answers() { "$DISCO" exec "$V" --timeout 5 -- true 2> /dev/null; }
ok "balloon to 128M again" balloon "$V" 128M
ok "reboot" reboot "$V" --force
wait_until 60 exec_answers || die "the guest does not answer exec within 60 s of its reboot"
[ "$(stat_num balloon_target)" = $((128 * MiB)) ] ||
  die "balloon_target is $(stat_num balloon_target) after a reboot, expected $((128 * MiB))"
wait_until 20 eval '[ "$(stat_num balloon_actual)" -ge $((120 * MiB)) ]' ||
  die "the rebooted guest did not inflate again: balloon_actual $(mib "$(stat_num balloon_actual)")"
ok "stop" stop "$V"
refused "balloon of a stopped guest" balloon "$V" 128M
ok "start --wait again" start "$V" --wait --timeout 120
[ "$(stat_num balloon_target)" = 0 ] && [ "$(stat_num balloon_actual)" = 0 ] ||
  die "a fresh start has balloon_target $(stat_num balloon_target), balloon_actual $(stat_num balloon_actual) (want an empty balloon)"
ok "stop" stop "$V"
pass "$T"
