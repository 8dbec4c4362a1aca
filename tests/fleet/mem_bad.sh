# Memory settings that cannot work are refused with a message that names
# the option (docs/MEMORY.md), and nothing is left half done:
#   - `disco daemon` with an impossible budget (1K, more than the host's RAM,
#     not a size), --idle-tax 100 or scanner numbers out of range exits at
#     once with status 2 and "disco: error: ... --option ...";
#   - `disco create` with a reservation above --mem, a limit below 16M or
#     above --mem, a reservation above the limit, or a bad --share-domain
#     name is refused and defines no VM;
#   - `disco start` is refused while the running guests' reservations plus
#     the new one exceed the budget, and works once there is room.
# The daemon keeps answering after each refusal.
T="fleet/mem_bad: impossible budgets, reservations, limits and domains are refused"
source "$(dirname "$0")/lib.bash"
require_disco
require_elf idle

# --- the daemon's own options: each run must exit (2) at once, not serve
mem_total_kib=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
too_big="$(( mem_total_kib / 1024 + 1024 ))M"
daemon_refuses() {   # OPTION-FOR-MESSAGE ARGS...
  local want=$1; shift
  local d=$TMP/bad-daemon
  mkdir -p "$d"
  timeout --kill-after=5 20 "$DAEMON_BIN" daemon --socket "$d/sock" --state-dir "$d/state" \
    "$@" > "$d/out" 2> "$d/err" < /dev/null
  local r=$?
  [ "$r" = 2 ] || die "'disco daemon $*' exited $r, expected 2 (a usage error): $(head -c 300 "$d/err")"
  grep -q "disco: error: .*$want" "$d/err" ||
    die "'disco daemon $*' did not name $want in its message: $(head -c 300 "$d/err")"
  [ -e "$d/sock" ] && die "'disco daemon $*' left a socket behind"
  echo "    refused: disco daemon $*: $(head -n 1 "$d/err")" >&2
  rm -rf "$d"
}
daemon_refuses --mem-budget --mem-budget 1K
daemon_refuses --mem-budget --mem-budget 63M
daemon_refuses --mem-budget --mem-budget "$too_big"
daemon_refuses --mem-budget --mem-budget lots
daemon_refuses --mem-budget --mem-budget=
daemon_refuses --idle-tax --idle-tax 100
daemon_refuses --idle-tax --idle-tax -1
daemon_refuses --scan-batch --scan-batch 0
daemon_refuses --scan-interval-ms --scan-interval-ms 0
daemon_refuses --scan-cpu-pct --scan-cpu-pct 0
daemon_refuses --scan-cpu-pct --scan-cpu-pct 101

# --- a daemon with a small budget for the rest
need_daemon --mem-budget 256M
alive() { proc_gone "$DAEMON_PID" && die "the daemon died after: $1"; daemon_answers || die "the daemon stopped answering after: $1"; }

# refused_by DESC WANT ARGS...: the command fails (1: the daemon refused, or
# 2: the client caught it first) with "disco: error: ..." naming WANT.
refused_by() {
  local desc=$1 want=$2; shift 2
  dc "$@"
  [ "$rc" = 1 ] || [ "$rc" = 2 ] ||
    die "$desc: 'disco $*' exited $rc, expected 1 or 2 (stdout: $(head -c 200 <<< "$out"); stderr: $(head -c 200 <<< "$err"))"
  grep -q "disco: error: ..*" <<< "$err" ||
    die "$desc: 'disco $*' gave no 'disco: error: ...' message (stderr: $(head -c 300 <<< "$err"))"
  grep -qi -- "$want" <<< "$err" ||
    die "$desc: the message of 'disco $*' does not mention '$want': $(head -c 300 <<< "$err")"
  echo "    refused: disco $*: $(head -n 1 <<< "$err")" >&2
  alive "disco $*"
}
no_vm() {   # the refused create left nothing behind
  dc state "$1"
  [ "$rc" != 0 ] || die "a refused create still defined '$1' ($out)"
}

refused_by "reservation > mem" reservation create r1 --mem 64M --mem-reservation 128M --kernel "$ELF"
no_vm r1
refused_by "limit < 16M" limit create r2 --mem 64M --mem-limit 8M --kernel "$ELF"
no_vm r2
refused_by "limit > mem" limit create r3 --mem 64M --mem-limit 128M --kernel "$ELF"
no_vm r3
refused_by "reservation > limit" reservation create r4 --mem 64M --mem-limit 32M --mem-reservation 48M --kernel "$ELF"
no_vm r4
refused_by "share domain with a space" domain create r5 --mem 64M --share-domain "two words" --kernel "$ELF"
no_vm r5
refused_by "share domain with a slash" domain create r6 --mem 64M --share-domain "a/b" --kernel "$ELF"
no_vm r6
refused_by "empty share domain" domain create r7 --mem 64M --share-domain "" --kernel "$ELF"
no_vm r7
long=$(printf 'd%.0s' $(seq 1 65))
refused_by "65-character share domain" domain create r8 --mem 64M --share-domain "$long" --kernel "$ELF"
no_vm r8
refused_by "shares not a number" shares create r9 --mem 64M --mem-shares lots --kernel "$ELF"
no_vm r9
# A reservation bigger than the whole budget can never start.
dc create r10 --mem 512M --mem-reservation 300M --kernel "$ELF"
if [ "$rc" = 0 ]; then
  refused_by "start with a reservation over the budget" budget start r10
  state_is r10 stopped || die "r10 is '$(vm_state r10)' after its refused start"
else
  grep -q "disco: error: ..*" <<< "$err" || die "create r10 (reservation 300M > budget 256M) exited $rc without a message"
  echo "    refused: disco create r10 (reservation over the budget): $(head -n 1 <<< "$err")" >&2
  alive "create r10"
  no_vm r10
fi

# --- reservations add up: 160M + 160M > 256M
ok "create a1" create a1 --mem 200M --mem-reservation 160M --kernel "$ELF"
ok "create a2" create a2 --mem 200M --mem-reservation 160M --kernel "$ELF"
ok "start a1" start a1
wait_until 10 state_is a1 running || die "a1 is '$(vm_state a1)' after start"
refused_by "start a2 (reservations over the budget)" budget start a2
state_is a2 stopped || die "a2 is '$(vm_state a2)' after its refused start"
state_is a1 running || die "a1 is '$(vm_state a1)' after a2's refused start"
# A domain-name typo in a config file is refused as well (the JSON path).
printf '{"kernel": "%s", "memory": "64M", "share_domain": "no way"}\n' "$ELF" > "$TMP/bad.json"
refused_by "config file with a bad share_domain" domain create r11 --config "$TMP/bad.json"
no_vm r11
# room again once a1 stops
ok "stop a1" stop a1
wait_until 10 state_is a1 stopped || die "a1 is '$(vm_state a1)' after stop"
ok "start a2 after a1 stopped" start a2
wait_until 10 state_is a2 running || die "a2 is '$(vm_state a2)' after start"
ok "stop a2" stop a2
alive "the whole sequence"
pass "$T"
