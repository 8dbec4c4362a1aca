# Content-based page sharing on the default Linux guest, through the daemon
# (docs/MEMORY.md), with a fast scanner:
#   - two guests in ONE sharing domain (--share-domain): after the scanner
#     has gone over them, each still answers exec, each shows shared memory
#     (mem_shared) of several MiB, and the host's pool shows memory saved;
#   - two guests in separate domains (the default: each shares only with
#     itself): they share within themselves (the host still saves some),
#     but much less than the pair in one domain, whose identical kernels
#     and root filesystems can only be shared across the VMs. (That no page
#     is shared across domains at all is checked frame by frame in
#     tests/unit/test_memshare.c.)
T="fleet/mem_share: guests in one sharing domain share pages, separate domains do not"
source "$(dirname "$0")/lib.bash"
require_agent
need_daemon --scan-interval-ms 10 --scan-batch 4096 --scan-cpu-pct 50
MiB=1048576
SETTLE=${MEM_SHARE_SETTLE:-6}   # seconds of scanning after boot (a measurement window)

stat_num() { local v; v=$(vm_stat "$1" "$2"); echo "${v:-0}"; }
host_num() {
  local v
  v=$("$DISCO" stats --host --json 2> /dev/null | jq -r --arg f "$1" '.host[$f] // empty' 2> /dev/null)
  echo "${v:-0}"
}
mib() { echo "$(( $1 / MiB )) MiB"; }
exec_answers() {
  dc exec "$1" --timeout 30 -- sh -c 'echo $((6*7))'
  [ "$rc" = 0 ] && [ "$out" = 42 ] || die "$1 does not answer exec after sharing: exit $rc, '$out' $(head -c 200 <<< "$err")"
}

# run_pair NAME1 NAME2 [create options]: boot both, let the scanner work,
# sets shared1 shared2 merges1 saved (bytes), checks exec, stops both.
run_pair() {
  local a=$1 b=$2; shift 2
  ok "create $a" create "$a" --mem 128M "$@"
  ok "create $b" create "$b" --mem 128M "$@"
  ok "start $a $b" start "$a" "$b" --wait --timeout 120
  wait_until 30 eval '[ "$(host_num saved)" -gt 0 ]' ||
    die "$a, $b ($*): the host saved nothing 30 s after boot (merges: $(stat_num "$a" merges), $(stat_num "$b" merges))"
  sleep "$SETTLE"
  shared1=$(stat_num "$a" mem_shared) shared2=$(stat_num "$b" mem_shared)
  merges1=$(stat_num "$a" merges) saved=$(host_num saved)
  echo "    $a, $b ($*): mem_shared $(mib "$shared1"), $(mib "$shared2"); merges $merges1;" \
    "host saved $(mib "$saved"), shared_frames $(mib "$(host_num shared_frames)")" >&2
  exec_answers "$a"
  exec_answers "$b"
  ok "stop $a" stop "$a"
  ok "stop $b" stop "$b"
}

run_pair d1 d2 --share-domain fleet-mem
same_shared1=$shared1 same_shared2=$shared2 same_saved=$saved
[ "$same_shared1" -ge $((4 * MiB)) ] && [ "$same_shared2" -ge $((4 * MiB)) ] ||
  die "guests in one domain share little: mem_shared $(mib "$same_shared1"), $(mib "$same_shared2") (want >= 4 MiB each)"
[ "$same_saved" -ge $((4 * MiB)) ] || die "guests in one domain: the host saved only $(mib "$same_saved") (want >= 4 MiB)"

run_pair p1 p2
[ "$merges1" -gt 0 ] || die "a guest in its own domain merged nothing (sharing within a VM does not work)"
[ "$saved" -gt 0 ] || die "guests in their own domains: the host saved nothing"
# Across VMs there is at least the kernel image to share (some MiB).
[ "$same_saved" -ge $(( saved + 2 * MiB )) ] ||
  die "one domain saved $(mib "$same_saved"), separate domains $(mib "$saved"): sharing across VMs added less than 2 MiB"
[ "$same_shared1" -ge $(( shared1 + 2 * MiB )) ] ||
  die "mem_shared of a guest is $(mib "$same_shared1") in a shared domain and $(mib "$shared1") alone: want 2 MiB more"
pass "$T"
