#!/usr/bin/env bash
# `disco oci` (docs/OCI.md): every verb in every state, the wrong ones
# included, against a busybox root ($DISCO_ROOTFS, else a quick one built
# here). Prints PASS/FAIL/SKIP lines. Needs root (cgroups, namespaces).
#
# The script runs under a small subreaper (python3, PR_SET_CHILD_SUBREAPER)
# that reaps the container inits `create` leaves behind, as conmon does:
# pid 1 of some machines (this one) never reaps orphans.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${DISCO_OCI_REAPER:-}" ]; then
  export DISCO_OCI_REAPER=1
  exec python3 -c '
import ctypes, os, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
main = os.fork()
if main == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
rc = 1
while True:
    pid, st = os.wait()
    if pid == main:
        rc = os.waitstatus_to_exitcode(st)
        break
# Reap what is left (bounded): the test has killed it already.
end = time.monotonic() + 3
while time.monotonic() < end:
    try:
        pid, st = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid == 0:
        time.sleep(0.05)
sys.exit(rc)
' bash "$0" "$@"
fi

OCI=${DISCO_OCI:-$ROOT/build/disco-oci}
T=$(mktemp -d /tmp/disco-test-oci.XXXXXX)
P=dt$$                                   # container ID prefix
STATE=$T/state
LOG=$T/oci.log
CGROOT=/sys/fs/cgroup

pass() { echo "PASS: oci/$1"; }
fail() { echo "FAIL: oci/$1: $2"; }
skip() { echo "SKIP: oci/$1: $2"; }
# check NAME WHY CONDITION: CONDITION is shell text (eval).
check() { if eval "$3" > /dev/null; then pass "$1"; else fail "$1" "$2"; fi; }

cleanup() {
  local d id
  for d in "$STATE"/*/; do
    [ -d "$d" ] || continue
    id=$(basename "$d")
    "$OCI" --root "$STATE" delete --force "$id" > /dev/null 2>&1
  done
  for j in $(jobs -p); do kill -KILL "$j" 2> /dev/null; done
  rm -rf "$T"
  # The default cgroups' parent, when no other container uses it.
  for d in "$CGROOT"/*/disco-oci; do rmdir "$d" 2> /dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
[ -x "$OCI" ] || { fail build "$OCI missing (make)"; exit 0; }
command -v jq > /dev/null || { skip all "jq missing"; exit 0; }

RFS=${DISCO_ROOTFS:-}
if [ -z "$RFS" ] || [ ! -x "$RFS/bin/busybox" ]; then
  RFS=$T/rootfs
  mkdir -p "$RFS/bin" "$RFS/proc" "$RFS/dev" "$RFS/sys" "$RFS/tmp" "$RFS/etc"
  cp /bin/busybox "$RFS/bin/"
  for c in sh true echo cat ls ps sleep id hostname mount pwd tty kill; do ln -sf busybox "$RFS/bin/$c"; done
fi

now() { echo "${EPOCHREALTIME/./}"; }
# wait_until SECS CMD...: poll every 20 ms (bounded).
wait_until() {
  local deadline=$(( $(now) + $1 * 1000000 )); shift
  until "$@"; do [ "$(now)" -ge "$deadline" ] && return 1; sleep 0.02; done
}

# oci ARGS...: run disco-oci (bounded); sets rc, out, err. Output goes
# through files, not a pipe: a container made by `create` inherits them and
# would hold a pipe open (as with runc).
NCALL=0
oci() {
  local f=$T/call.$((++NCALL))
  timeout --kill-after=5 30 "$OCI" --root "$STATE" --log "$LOG" --log-format json "$@" > "$f.out" 2> "$f.err" < /dev/null
  rc=$?
  out=$(cat "$f.out")
  err=$(cat "$f.err")
}
status_of() { "$OCI" --root "$STATE" state "$1" 2> /dev/null < /dev/null | jq -r .status; }
status_is() { [ "$(status_of "$1")" = "$2" ]; }
alive() { local s; s=$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1); [ -n "$s" ] && [ "$s" != Z ]; }
gone() { ! alive "$1"; }
cg_dirs() { ls -d "$CGROOT"/*/disco-oci/"$1" 2> /dev/null; }

# mkbundle DIR ARGS_JSON [TERMINAL]: config.json from `disco-oci spec`.
mkbundle() {
  mkdir -p "$1"
  "$OCI" spec --bundle "$1" || return 1
  jq --arg r "$RFS" --argjson a "$2" --argjson t "${3:-false}" \
    '.root.path = $r | .root.readonly = true | .process.args = $a | .process.terminal = $t' \
    "$1/config.json" > "$1/c.tmp" && mv "$1/c.tmp" "$1/config.json"
}

B=$T/bundle
mkbundle "$B" '["sh","-c","trap \"exit 7\" TERM; sleep 60 & wait"]' || { fail spec "cannot make a bundle"; exit 0; }

# ---- global options, usage errors ----
oci --version
check version "got '$out'" 'grep -q '\''^disco-oci version .*'\'' <<< "$out"'
check version_spec "got '$out'" 'grep -q '\''^spec: 1.0.2'\'' <<< "$out"'
oci --bogus state x;        check usage_global "rc=$rc" '[ "$rc" = 2 ]'
oci frobnicate x;           check usage_verb "rc=$rc $err" '[ "$rc" = 2 ]'
grep -q "unknown command" <<< "$err" || fail usage_verb_msg "no clear message: $err"
oci create --nope "${P}x";  check usage_create_opt "rc=$rc" '[ "$rc" = 2 ]'
oci kill;                   check usage_kill_noid "rc=$rc" '[ "$rc" = 2 ]'
oci create --bundle;        check usage_missing_value "rc=$rc" '[ "$rc" = 2 ]'
oci create --bundle "$B" "../evil"
check bad_id "rc=$rc $err" '[ "$rc" = 1 ] && [ ! -e "$T/evil" ]'

# ---- spec ----
S=$T/specdir; mkdir -p "$S"
oci spec --bundle "$S"
check spec_writes "rc=$rc" '[ "$rc" = 0 ] && jq -e '\''.process.args | length > 0'\'' "$S/config.json" > /dev/null'
sum=$(md5sum < "$S/config.json")
oci spec --bundle "$S"
check spec_no_overwrite "rc=$rc" '[ "$rc" = 1 ] && [ "$(md5sum < "$S/config.json")" = "$sum" ]'
mkdir -p "$S/rl"; oci spec --rootless --bundle "$S/rl"
check spec_rootless "no user namespace / mappings" ' jq -e '\''(.linux.namespaces | map(.type) | index("user")) != null and (.linux.uidMappings | length > 0)'\'' "$S/rl/config.json"'

# ---- a missing container ----
: > "$LOG"
oci state "${P}none"
check state_missing "rc=$rc $err" '[ "$rc" = 1 ] && grep -q '\''does not exist'\'' <<< "$err"'
check log_json "log: $(head -c 300 "$LOG")" \
  'jq -e -s '\''length >= 1 and all(.level and .msg and .time) and (map(.level) | index("error")) != null'\'' "$LOG" > /dev/null'
oci delete "${P}none";         check delete_missing "rc=$rc" '[ "$rc" = 1 ]'
oci delete --force "${P}none"; check delete_force_missing "rc=$rc" '[ "$rc" = 0 ]'
oci kill "${P}none" KILL;      check kill_missing "rc=$rc" '[ "$rc" = 1 ]'
oci start "${P}none";          check start_missing "rc=$rc" '[ "$rc" = 1 ]'

# ---- a non-existing root ----
out=$(timeout 10 "$OCI" --root "$T/no/such/root" state "${P}a" 2>&1); rc=$?
check root_missing_state "rc=$rc" '[ "$rc" = 1 ]'
out=$(timeout 10 "$OCI" --root "$T/no/such/root" list -q 2>&1); rc=$?
check root_missing_list "rc=$rc out=$out" '[ "$rc" = 0 ] && [ -z "$out" ]'

# ---- create -> running -> stopped ----
C=${P}life
oci create --bundle "$B" --pid-file "$T/life.pid" "$C"
if [ "$rc" != 0 ]; then
  fail create "rc=$rc: $err"
else
  pass create
  oci state "$C"; js=$out
  pid=$(jq -r .pid <<< "$js")
  check state_created "status: $(jq -r .status <<< "$js")" '[ "$(jq -r .status <<< "$js")" = created ]'
  check state_fields "$js" 'jq -e --arg b "$B" --arg id "$C"  '\''.ociVersion and .id == $id and .bundle == $b and (.pid > 0) and .created'\'' <<< "$js"'
  check pid_file "pid file $(cat "$T/life.pid" 2>&1) vs state $pid" '[ "$(cat "$T/life.pid" 2> /dev/null)" = "$pid" ]'
  check pid_alive "pid $pid" 'alive "$pid"'
  check cgroup_made "no cgroup dir" '[ -n "$(cg_dirs "$C")" ]'
  oci create --bundle "$B" "$C"
  check create_twice "rc=$rc $err" '[ "$rc" = 1 ] && grep -q '\''already exists'\'' <<< "$err"'
  oci delete "$C"
  check delete_created "rc=$rc (spec: not stopped)" '[ "$rc" = 1 ] && alive "$pid"'
  oci start "$C"
  check start "rc=$rc $err" '[ "$rc" = 0 ]'
  check state_running "status $(status_of "$C")" 'wait_until 5 status_is "$C" running'
  oci start "$C"
  check start_twice "rc=$rc $err" '[ "$rc" = 1 ] && grep -q '\''already running'\'' <<< "$err"'
  oci delete "$C"
  check delete_running "rc=$rc" '[ "$rc" = 1 ] && alive "$pid"'

  oci exec "$C" echo hi-from-exec
  check exec "rc=$rc out=$out err=$err" '[ "$rc" = 0 ] && [ "$out" = hi-from-exec ]'
  oci exec "$C" sh -c 'exit 5'
  check exec_status "rc=$rc" '[ "$rc" = 5 ]'
  oci exec --env FOO=bar -e BAZ=qux "$C" sh -c 'echo $FOO$BAZ'
  check exec_env "out=$out" '[ "$out" = barqux ]'
  oci exec --cwd /etc "$C" pwd
  check exec_cwd "out=$out" '[ "$out" = /etc ]'
  oci exec --user 1000:1000 "$C" id -u
  check exec_user "out=$out err=$err" '[ "$out" = 1000 ]'
  oci exec "$C" sh -c '[ -t 0 ] && echo tty || echo notty'
  check exec_notty "out=$out" '[ "$out" = notty ]'
  oci exec -t "$C" sh -c '[ -t 0 ] && echo tty || echo notty'
  check exec_tty "out=$(printf %q "$out") err=$err" 'grep -q "^tty" <<< "$out"'
  jq -n '{args: ["sh","-c","echo from-process-file"], cwd: "/", env: ["PATH=/bin"], user: {uid: 0, gid: 0}}' > "$T/proc.json"
  oci exec --process "$T/proc.json" "$C"
  check exec_process_file "rc=$rc out=$out err=$err" '[ "$out" = from-process-file ]'
  oci exec --detach --pid-file "$T/ex.pid" "$C" sleep 30
  xpid=$(cat "$T/ex.pid" 2> /dev/null)
  check exec_detach "rc=$rc pid=$xpid" '[ "$rc" = 0 ] && [ -n "$xpid" ] && alive "$xpid"'
  oci ps --format json "$C"
  check ps_json "out=$out" 'jq -e --argjson p "$pid" --argjson x "${xpid:-0}" '\''index($p) != null and index($x) != null'\'' <<< "$out"'
  oci ps "$C"
  check ps_table "out=$out" 'grep -q "sleep 30" <<< "$out"'
  oci list -q
  check list_quiet "out=$out" 'grep -qx "$C" <<< "$out"'
  oci list --format json
  check list_json "out=$out" 'jq -e --arg id "$C" '\''map(select(.id == $id and .status == "running")) | length == 1'\'' <<< "$out"'
  oci list
  check list_table "out=$out" 'grep -q "^$C .*running" <<< "$out"'

  # pause / resume
  oci resume "$C";  check resume_running "rc=$rc" '[ "$rc" = 1 ]'
  oci pause "$C"
  check pause "rc=$rc $err, status $(status_of "$C")" '[ "$rc" = 0 ] && status_is "$C" paused'
  oci pause "$C";   check pause_twice "rc=$rc" '[ "$rc" = 1 ]'
  oci exec "$C" true
  check exec_paused "rc=$rc" '[ "$rc" = 1 ]'
  oci resume "$C"
  check resume "rc=$rc $err, status $(status_of "$C")" '[ "$rc" = 0 ] && status_is "$C" running'

  # kill (default TERM: the init's trap exits 7) -> stopped
  oci kill "$C"
  check kill_term "rc=$rc $err" '[ "$rc" = 0 ]'
  check state_stopped "status $(status_of "$C")" 'wait_until 5 status_is "$C" stopped'
  oci state "$C"
  check state_stopped_pid "pid $(jq .pid <<< "$out")" '[ "$(jq .pid <<< "$out")" = 0 ]'
  oci kill "$C" KILL
  check kill_stopped "rc=$rc $err" '[ "$rc" = 1 ] && grep -q '\''not running'\'' <<< "$err"'
  oci kill --all "$C" KILL
  check kill_all_stopped "rc=$rc $err" '[ "$rc" = 0 ]'
  oci start "$C"
  check start_stopped "rc=$rc $err" '[ "$rc" = 1 ] && grep -q '\''stopped'\'' <<< "$err"'
  oci exec "$C" true
  check exec_stopped "rc=$rc $err" '[ "$rc" = 1 ]'
  oci pause "$C";   check pause_stopped "rc=$rc" '[ "$rc" = 1 ]'
  oci delete "$C"
  check delete_stopped "rc=$rc $err" '[ "$rc" = 0 ] && [ ! -e "$STATE/$C" ] && [ -z "$(cg_dirs "$C")" ]'
  oci state "$C"
  check state_after_delete "rc=$rc" '[ "$rc" = 1 ]'
fi

# ---- kill --all, delete --force ----
C=${P}all
oci create --bundle "$B" "$C" && oci start "$C"
if [ "$rc" = 0 ]; then
  ipid=$("$OCI" --root "$STATE" state "$C" | jq .pid)
  oci exec -d --pid-file "$T/a.pid" "$C" sleep 40; apid=$(cat "$T/a.pid" 2> /dev/null)
  oci kill --all "$C" KILL
  check kill_all "rc=$rc; init $ipid, exec'd $apid" '[ "$rc" = 0 ] && wait_until 5 gone "$ipid" && wait_until 5 gone "${apid:-0}"'
  oci delete "$C"; check delete_after_kill_all "rc=$rc $err" '[ "$rc" = 0 ]'
else
  fail kill_all "create/start: $err"
fi
C=${P}force
oci create --bundle "$B" "$C" && oci start "$C"
ipid=$("$OCI" --root "$STATE" state "$C" 2> /dev/null | jq .pid)
oci delete --force "$C"
check delete_force "rc=$rc $err" '[ "$rc" = 0 ] && [ ! -e "$STATE/$C" ] && [ -z "$(cg_dirs "$C")" ] && wait_until 5 gone "$ipid"'
C=${P}fcreated
oci create --bundle "$B" "$C"
ipid=$("$OCI" --root "$STATE" state "$C" 2> /dev/null | jq .pid)
oci delete --force "$C"
check delete_force_created "rc=$rc $err" '[ "$rc" = 0 ] && [ ! -e "$STATE/$C" ] && wait_until 5 gone "$ipid"'

# ---- the init exits by itself; run ----
B2=$T/bundle2
mkbundle "$B2" '["sh","-c","exit 3"]'
C=${P}exit
oci create --bundle "$B2" "$C" && oci start "$C"
check exits_itself "status $(status_of "$C")" 'wait_until 5 status_is "$C" stopped'
oci delete "$C"
oci run --bundle "$B2" "${P}run"
check run_status "rc=$rc $err" '[ "$rc" = 3 ] && [ ! -e "$STATE/${P}run" ] && [ -z "$(cg_dirs "${P}run")" ]'
B3=$T/bundle3
mkbundle "$B3" '["echo","run-output"]'
oci run --bundle "$B3" "${P}run2"
check run_output "rc=$rc out=$out" '[ "$rc" = 0 ] && [ "$out" = run-output ]'

# ---- the console socket ----
cat > "$T/recv.py" << 'EOF'
import array, os, socket, sys
path, outp = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1); s.settimeout(20)
open(outp + ".ready", "w").close()
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
for level, typ, data in anc:
    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[:fds.itemsize])
if not fds:
    sys.exit("no fd received")
got = b""
while True:
    try:
        b = os.read(fds[0], 4096)
    except OSError:    # EIO: the terminal's last user is gone
        break
    if not b:
        break
    got += b
open(outp, "wb").write(b"name=" + msg + b"\n" + got)
EOF
BT=$T/bundle_tty
mkbundle "$BT" '["sh","-c","[ -t 1 ] && echo console-ok"]' true
C=${P}tty
oci create --bundle "$BT" "$C"
check console_required "rc=$rc $err" '[ "$rc" = 1 ] && grep -qi '\''console-socket'\'' <<< "$err" && [ ! -e "$STATE/$C" ]'
timeout 30 python3 "$T/recv.py" "$T/console.sock" "$T/console.out" &
rpid=$!
wait_until 5 test -e "$T/console.out.ready"
oci create --bundle "$BT" --console-socket "$T/console.sock" "$C"
if [ "$rc" = 0 ]; then
  oci start "$C"
  wait "$rpid"
  check console_socket "got: $(cat "$T/console.out" 2>&1 | head -c 200)" 'grep -q console-ok "$T/console.out"'
  wait_until 5 status_is "$C" stopped
  oci delete "$C"
else
  fail console_socket "create: $err"
  kill "$rpid" 2> /dev/null
fi

# ---- a corrupt config.json: a clear error, nothing left ----
BC=$T/bundle_bad; mkdir -p "$BC"
echo '{"ociVersion": "1.0.2", "process": {"args": [' > "$BC/config.json"
C=${P}corrupt
: > "$LOG"
oci create --bundle "$BC" "$C"
check corrupt_config "rc=$rc err=$err" '[ "$rc" = 1 ] && grep -q '\''config.json'\'' <<< "$err"'
check corrupt_no_leftovers "state dir or cgroup left" '[ ! -e "$STATE/$C" ] && [ -z "$(cg_dirs "$C")" ]'
check corrupt_logged "log: $(head -c 300 "$LOG")" 'jq -e -s '\''map(select(.level == "error")) | length >= 1'\'' "$LOG" > /dev/null'
echo '{"ociVersion": "1.0.2", "process": {"args": 5}, "root": {"path": "/"}}' > "$BC/config.json"
oci create --bundle "$BC" "$C"
check bad_type_config "rc=$rc err=$err" '[ "$rc" = 1 ] && [ ! -e "$STATE/$C" ]'
oci create --bundle "$T/nonexistent" "$C"
check missing_bundle "rc=$rc" '[ "$rc" = 1 ] && [ ! -e "$STATE/$C" ]'

# ---- nothing left behind ----
left=$(ls "$STATE" 2> /dev/null)
check no_state_left "left: $left" '[ -z "$left" ]'
left=$(ls -d "$CGROOT"/*/disco-oci/"$P"* 2> /dev/null)
check no_cgroups_left "left: $left" '[ -z "$left" ]'
