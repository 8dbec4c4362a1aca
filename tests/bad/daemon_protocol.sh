# Bad requests never hurt the disco daemon: malformed or wrong requests on
# the control socket each get one {"ok":false,"error":...,"errno":...} reply
# with the right errno, change nothing (list before == list after) and leave
# the connection usable; the CLI's own errors exit 1 (daemon unreachable,
# refused) or 2 (usage). Run against the plain and the ASan+UBSan builds.
. "$(dirname "$0")/daemon_lib.bash" disco-daemon daemon

# A raw protocol client: call SOCK LINE prints the reply line; expect SOCK
# ERRNO LINE checks for an error reply with that errno and that a ping on
# the same connection still works (prints why not, exit 1); huge SOCK sends
# a request line longer than the daemon's 1 MiB limit.
cat > "$TMP/proto.py" <<'PY'
import json, socket, sys

def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    return s

def readline(s, buf):
    while b'\n' not in buf[0]:
        d = s.recv(65536)
        if not d:
            raise EOFError('the daemon closed the connection')
        buf[0] += d
    line, buf[0] = buf[0].split(b'\n', 1)
    return line

def reply(s, buf):
    line = readline(s, buf)
    try:
        r = json.loads(line)
    except ValueError:
        raise ValueError('reply is not JSON: %r' % line[:200])
    if not isinstance(r, dict) or not isinstance(r.get('ok'), bool):
        raise ValueError('reply lacks ok: %r' % line[:200])
    return r

def check_err(r, want):
    if r['ok']:
        return 'expected an error, got %s' % json.dumps(r)[:200]
    if not isinstance(r.get('error'), str) or not r['error']:
        return 'error reply without a message: %s' % json.dumps(r)[:200]
    if want and r.get('errno') != want:
        return 'errno %s, expected %s (%s)' % (r.get('errno'), want, r.get('error'))
    return None

path, mode = sys.argv[1], sys.argv[2]
buf = [b'']
try:
    s = conn(path)
    if mode == 'call':
        s.sendall(sys.argv[3].encode() + b'\n')
        print(readline(s, buf).decode())
    elif mode == 'expect':
        want, line = sys.argv[3], sys.argv[4]
        s.sendall(line.encode('utf-8', 'surrogateescape') + b'\n')
        why = check_err(reply(s, buf), want)
        if why:
            print(why); sys.exit(1)
        s.sendall(b'{"op":"ping"}\n')
        r = reply(s, buf)
        if not r['ok'] or not r.get('version'):
            print('ping after the error failed: %s' % json.dumps(r)); sys.exit(1)
    elif mode == 'pipeline':
        # Several requests in one write, answered in order.
        s.sendall(b'{"op":"ping"}\n\n{"op":"list"}\r\n{"op":"nope"}\n{"op":"ping"}\n')
        rs = [reply(s, buf) for _ in range(4)]
        if not (rs[0]['ok'] and 'guests' in rs[1] and not rs[2]['ok'] and rs[3]['ok']):
            print('unexpected replies: %s' % json.dumps(rs)[:300]); sys.exit(1)
    elif mode == 'big-ok':
        # 512 KiB is under the limit: answered normally.
        s.sendall(b'{"op":"ping","pad":"' + b'x' * (512 << 10) + b'"}\n')
        r = reply(s, buf)
        if not r['ok']:
            print('big ping refused: %s' % json.dumps(r)); sys.exit(1)
    elif mode == 'huge':
        # Exactly one byte over the limit and no newline: the daemon reads it
        # all, answers and closes.
        s.sendall(b'{"op":"ping","pad":"' + b'x' * ((1 << 20) + 1 - 20))
        why = check_err(reply(s, buf), sys.argv[3])
        if why:
            print(why); sys.exit(1)
        try:
            if s.recv(1):
                print('data after the error reply'); sys.exit(1)
        except OSError:
            pass
    elif mode == 'eof-midline':
        # A client that leaves halfway through a line.
        s.sendall(b'{"op":"pi')
        s.close()
    elif mode == 'flood':
        # Many connections at once, all answered.
        socks = [conn(path) for _ in range(int(sys.argv[3]))]
        for c in socks:
            c.sendall(b'{"op":"ping"}\n')
        for c in socks:
            b = [b'']
            if not reply(c, b)['ok']:
                print('a ping was refused'); sys.exit(1)
except (OSError, EOFError, ValueError) as e:
    print('%s: %s' % (type(e).__name__, e)); sys.exit(1)
PY

proto() { timeout 120 python3 "$TMP/proto.py" "$SOCK" "$@"; }

daemon_ready() { proto call '{"op":"ping"}' 2> /dev/null | grep -q '"ok":true'; }

# expect NAME ERRNO LINE
expect() {
  local why
  if why=$(proto expect "$2" "$3"); then pass "$1"; else fail "$1" "$why"; fi
}

# cli NAME WANT_STATUS ARGS...: the CLI exits WANT_STATUS with exactly one
# "disco: error:" line (and that message, if $CLI_MSG is set).
cli() {
  local name=$1 want=$2
  shift 2
  timeout 60 "$BIN" "$@" < /dev/null > "$TMP/out" 2> "$TMP/err"
  local rc=$? lines
  lines=$(wc -l < "$TMP/err")
  if [ $rc -ne "$want" ]; then
    fail "$name" "exit status $rc, expected $want ($(head -c 300 "$TMP/err"))"
  elif [ "$lines" -ne 1 ] || ! grep -q '^disco: error: ' "$TMP/err"; then
    fail "$name" "expected one 'disco: error:' line, got $lines: $(head -c 300 "$TMP/err")"
  elif [ -n "${CLI_MSG:-}" ] && ! grep -qF -- "$CLI_MSG" "$TMP/err"; then
    fail "$name" "message lacks '$CLI_MSG': $(cat "$TMP/err")"
  else
    pass "$name"
  fi
}

for BIN in "${DAEMON_BINS[@]}"; do
  use_build || continue
  SOCK=$TMP/$tag/ctl/disco.sock

  # The CLI without a daemon, and usage errors.
  CLI_MSG="cannot connect to the disco daemon at $SOCK (is \`disco daemon\` running?)" \
    cli cli-no-daemon 1 list --socket "$SOCK"
  CLI_MSG="cannot connect to the disco daemon at $SOCK" DISCO_SOCKET=$SOCK \
    cli cli-no-daemon-env 1 state vm1
  cli cli-start-no-name 2 start --socket "$SOCK"
  cli cli-list-unknown-option 2 list --frobnicate --socket "$SOCK"
  cli cli-state-two-names 2 state a b --socket "$SOCK"
  cli cli-set-nothing 2 set vm1 --socket "$SOCK"
  cli cli-set-bad-weight 2 set vm1 --weight lots --socket "$SOCK"
  cli cli-exec-no-command 2 exec vm1 --socket "$SOCK"
  cli cli-shutdown-bad-timeout 2 shutdown vm1 --timeout -1 --socket "$SOCK"
  cli cli-create-bad-cpus 2 create vm1 --cpus 0 --kernel /dev/null --socket "$SOCK"
  cli cli-create-bad-mem 2 create vm1 --mem 1X --kernel /dev/null --socket "$SOCK"
  cli cli-balloon-no-size 2 balloon vm1 --socket "$SOCK"
  cli cli-balloon-bad-size 2 balloon vm1 12X --socket "$SOCK"
  CLI_MSG="too small" cli cli-balloon-too-small 2 balloon vm1 8M --socket "$SOCK"
  cli cli-balloon-extra-arg 2 balloon vm1 64M 32M --socket "$SOCK"
  cli cli-socket-no-value 2 list --socket
  cli cli-daemon-bad-workers 2 daemon --workers many --socket "$SOCK"
  cli cli-daemon-unknown-option 2 daemon --frobnicate
  # Memory options: bad values are usage errors that name the option.
  CLI_MSG="--mem-budget" cli cli-daemon-budget-tiny 2 daemon --mem-budget 1K --socket "$SOCK"
  CLI_MSG="host's RAM" cli cli-daemon-budget-over-ram 2 daemon --mem-budget 100000G --socket "$SOCK"
  CLI_MSG="--mem-budget" cli cli-daemon-budget-not-size 2 daemon --mem-budget lots --socket "$SOCK"
  CLI_MSG="--idle-tax" cli cli-daemon-idle-tax-100 2 daemon --idle-tax 100 --socket "$SOCK"
  CLI_MSG="--scan-cpu-pct" cli cli-daemon-scan-cpu-0 2 daemon --scan-cpu-pct 0 --socket "$SOCK"
  CLI_MSG="--scan-cpu-pct" cli cli-daemon-scan-cpu-101 2 daemon --scan-cpu-pct 101 --socket "$SOCK"
  CLI_MSG="--scan-batch" cli cli-daemon-scan-batch-0 2 daemon --scan-batch 0 --socket "$SOCK"
  CLI_MSG="--scan-interval-ms" cli cli-daemon-scan-interval-bad 2 daemon --scan-interval-ms 1s \
    --socket "$SOCK"
  CLI_MSG="--swap-dir" cli cli-daemon-swap-dir-missing 2 daemon --swap-dir "$TMP/no-such-dir" \
    --socket "$SOCK"
  CLI_MSG="not a directory" cli cli-daemon-swap-dir-file 2 daemon --swap-dir /dev/null \
    --socket "$SOCK"
  CLI_MSG="--mem-limit" cli cli-create-bad-mem-limit 2 create vm1 --mem-limit lots \
    --kernel /dev/null --socket "$SOCK"
  CLI_MSG="--mem-reservation" cli cli-create-bad-mem-reservation 2 create vm1 \
    --mem-reservation 6K --kernel /dev/null --socket "$SOCK"
  CLI_MSG="--mem-shares" cli cli-create-bad-mem-shares 2 create vm1 --mem-shares 0 \
    --kernel /dev/null --socket "$SOCK"
  CLI_MSG="--share-domain" cli cli-create-bad-share-domain 2 create vm1 --share-domain 'a b' \
    --kernel /dev/null --socket "$SOCK"
  CLI_MSG="--mem-limit" cli cli-run-limit-over-mem 2 run --mem 64M --mem-limit 128M \
    --kernel /dev/null
  CLI_MSG="--mem-reservation" cli cli-run-reservation-over-limit 2 run --mem-limit 32M \
    --mem-reservation 48M --kernel /dev/null
  CLI_MSG="--share-domain" cli cli-run-bad-share-domain 2 run --share-domain '' --kernel /dev/null
  cli cli-stats-host-with-name 2 stats --host vm1 --socket "$SOCK"
  CLI_MSG="does-not-exist" cli cli-create-missing-kernel 1 create vm1 \
    --kernel "$TMP/does-not-exist" --socket "$SOCK"
  echo '{"cpus": 1,' > "$TMP/broken.json"
  CLI_MSG="broken.json" cli cli-create-broken-config 1 create vm1 --config "$TMP/broken.json" \
    --socket "$SOCK"

  # A small budget, so "more than the budget" is easy to ask for.
  if ! start_daemon --mem-budget 256M --scan-interval-ms 50 --idle-tax 0; then
    fail start "the daemon did not answer a ping on $SOCK within 30 s"
    stop_daemon
    continue
  fi
  pass start
  perm=$(stat -c %a "$SOCK")
  [ "$perm" = 600 ] && pass socket-mode-0600 || fail socket-mode-0600 "socket mode is $perm"
  perm=$(stat -c %a "$(dirname "$SOCK")")
  [ "$perm" = 700 ] && pass socket-dir-mode-0700 || fail socket-dir-mode-0700 "directory mode is $perm"

  # A second daemon on the same socket refuses to start and leaves the
  # first one alone.
  CLI_MSG="already listening" cli second-daemon-refused 1 daemon --socket "$SOCK" \
    --state-dir "$TMP/$tag/state2"

  # Guests to misuse: one running, one stopped (the test kernels are built
  # by tests/guests; without them only the stateless checks run).
  have_guests=0
  if [ -f "$GUESTS/idle.elf" ]; then
    have_guests=1
    out=$(timeout 60 "$BIN" create run1 --kernel "$GUESTS/idle.elf" --mem 32M --socket "$SOCK" 2>&1) &&
      out=$(timeout 60 "$BIN" create stop1 --kernel "$GUESTS/idle.elf" --mem 32M --socket "$SOCK" 2>&1) &&
      out=$(timeout 60 "$BIN" start run1 --socket "$SOCK" 2>&1) ||
      { fail setup-guests "$out"; have_guests=0; }
    st=$(timeout 60 "$BIN" state run1 --socket "$SOCK" 2>&1)
    [ "$st" = running ] || { fail setup-guests "run1 is '$st', not running"; have_guests=0; }
  fi
  before=$(proto call '{"op":"list"}')

  expect malformed-json EPROTO '{"op": "ping"'
  expect malformed-json-garbage EPROTO 'hello world'
  expect malformed-trailing-garbage EPROTO '{"op":"ping"} x'
  expect malformed-binary EPROTO $'\x01\x02\xff\xfe{'
  expect not-an-object EPROTO '[1,2,3]'
  expect not-an-object-string EPROTO '"ping"'
  expect not-an-object-number EPROTO '42'
  expect missing-op EINVAL '{"name":"run1"}'
  expect op-not-a-string EINVAL '{"op":7}'
  expect op-null EINVAL '{"op":null}'
  expect unknown-op EINVAL '{"op":"frobnicate","name":"run1"}'
  expect missing-name EINVAL '{"op":"state"}'
  expect name-not-a-string EINVAL '{"op":"state","name":["run1"]}'
  expect timeout-not-an-integer EINVAL '{"op":"shutdown","name":"run1","timeout_ms":"soon"}'
  expect timeout-negative EINVAL '{"op":"wait_agent","name":"run1","timeout_ms":-5}'
  expect force-not-a-bool EINVAL '{"op":"destroy","name":"run1","force":"yes"}'
  expect exec-argv-not-array EINVAL '{"op":"exec","name":"run1","argv":"ls"}'
  expect exec-argv-not-strings EINVAL '{"op":"exec","name":"run1","argv":["ls",1]}'
  expect exec-argv-empty EINVAL '{"op":"exec","name":"run1","argv":[]}'
  expect create-config-not-object EINVAL '{"op":"create","config":"x"}'
  expect create-no-config EINVAL '{"op":"create"}'
  expect create-unknown-key EINVAL "{\"op\":\"create\",\"config\":{\"name\":\"n1\",\"kernel\":\"$GUESTS/idle.elf\",\"colour\":\"red\"}}"
  expect create-bad-name EINVAL "{\"op\":\"create\",\"config\":{\"name\":\"../etc\",\"kernel\":\"$GUESTS/idle.elf\"}}"
  expect create-empty-name EINVAL "{\"op\":\"create\",\"config\":{\"name\":\"\",\"kernel\":\"$GUESTS/idle.elf\"}}"
  expect create-no-kernel EINVAL '{"op":"create","config":{"name":"n1"}}'
  expect create-cpus-wrong-type EINVAL "{\"op\":\"create\",\"config\":{\"name\":\"n1\",\"kernel\":\"$GUESTS/idle.elf\",\"cpus\":\"two\"}}"
  expect create-missing-kernel-file '' "{\"op\":\"create\",\"config\":{\"name\":\"n1\",\"kernel\":\"$TMP/does-not-exist\"}}"
  expect create-relative-kernel EINVAL '{"op":"create","config":{"name":"n1","kernel":"idle.elf"}}'
  # Memory keys: wrong types and values, each refused naming the key.
  K="\"name\":\"n1\",\"kernel\":\"$GUESTS/idle.elf\",\"memory\":\"64M\""
  n=0
  for bad in '"mem_limit":"lots"' '"mem_limit":true' '"mem_limit":"128M"' '"mem_limit":"8M"' \
    '"mem_reservation":"128M"' '"mem_reservation":-1' '"mem_reservation":"6K"' \
    '"mem_reservation":"48M","mem_limit":"32M"' '"mem_shares":0' '"mem_shares":"lots"' \
    '"mem_shares":1.5' '"share_domain":"a b"' '"share_domain":""' '"share_domain":["d"]' \
    '"share_domain":"../x"'; do
    key=$(sed 's/^"\([a-z_]*\)".*/\1/' <<< "$bad")
    n=$((n + 1))
    r=$(proto call "{\"op\":\"create\",\"config\":{$K,$bad}}")
    if grep -q '"errno":"EINVAL"' <<< "$r" && grep -qF "'$key'" <<< "$r"; then
      pass "create-bad-$key-$n"
    else
      fail "create-bad-$key-$n" "$bad: $r"
    fi
  done
  # A reservation the 256M budget can never hold: refused at create.
  r=$(proto call "{\"op\":\"create\",\"config\":{\"name\":\"n1\",\"kernel\":\"$GUESTS/idle.elf\",\"memory\":\"1G\",\"mem_reservation\":\"512M\"}}")
  if grep -q '"errno":"ENOMEM"' <<< "$r" && grep -q "mem_reservation" <<< "$r" &&
    grep -q "budget" <<< "$r"; then
    pass create-reservation-over-budget
  else
    fail create-reservation-over-budget "$r"
  fi
  # The host's pool: host_stats needs no name; the budget is the option's.
  r=$(proto call '{"op":"host_stats"}')
  ok=1
  for f in budget used private shared_frames shared_refs saved swapped swap_file pressure_events; do
    grep -q "\"$f\":[0-9]" <<< "$r" || ok=0
  done
  if [ $ok = 1 ] && grep -q '"ok":true' <<< "$r" && grep -q '"budget":268435456' <<< "$r"; then
    pass host-stats
  else
    fail host-stats "$r"
  fi
  out=$(timeout 60 "$BIN" stats --host --socket "$SOCK" 2>&1)
  if grep -qE '^budget +256\.0 MiB$' <<< "$out" && grep -qE '^swap_file +' <<< "$out"; then
    pass cli-stats-host
  else
    fail cli-stats-host "$out"
  fi
  out=$(timeout 60 "$BIN" stats --host --json --socket "$SOCK" 2>&1)
  grep -q '^{"ok":true,"host":{"budget":268435456' <<< "$out" && pass cli-stats-host-json ||
    fail cli-stats-host-json "$out"
  for op in state stats start stop pause resume destroy wait_agent; do
    expect "unknown-vm-$op" ENOENT "{\"op\":\"$op\",\"name\":\"nosuchvm\"}"
  done
  expect unknown-vm-exec ENOENT '{"op":"exec","name":"nosuchvm","argv":["true"]}'
  expect unknown-vm-set ENOENT '{"op":"set","name":"nosuchvm","weight":10}'
  expect unknown-vm-console ENOENT '{"op":"console","name":"nosuchvm"}'
  expect unknown-vm-balloon ENOENT '{"op":"balloon","name":"nosuchvm","memory":"64M"}'
  expect balloon-no-name EINVAL '{"op":"balloon","memory":"64M"}'
  expect balloon-no-memory EINVAL '{"op":"balloon","name":"run1"}'
  expect balloon-memory-null EINVAL '{"op":"balloon","name":"run1","memory":null}'
  expect balloon-memory-bool EINVAL '{"op":"balloon","name":"run1","memory":true}'
  expect balloon-memory-float EINVAL '{"op":"balloon","name":"run1","memory":1.5e7}'
  expect balloon-memory-array EINVAL '{"op":"balloon","name":"run1","memory":[64]}'
  expect balloon-memory-negative EINVAL '{"op":"balloon","name":"run1","memory":-1}'
  expect balloon-bad-size-string EINVAL '{"op":"balloon","name":"run1","memory":"lots"}'
  expect balloon-bad-size-suffix EINVAL '{"op":"balloon","name":"run1","memory":"64X"}'
  expect balloon-empty-size EINVAL '{"op":"balloon","name":"run1","memory":""}'
  expect balloon-size-overflow EINVAL '{"op":"balloon","name":"run1","memory":"99999999999999G"}'
  if [ $have_guests = 1 ]; then
    expect create-duplicate EEXIST "{\"op\":\"create\",\"config\":{\"name\":\"run1\",\"kernel\":\"$GUESTS/idle.elf\"}}"
    expect start-running EBUSY '{"op":"start","name":"run1"}'
    expect resume-running EBUSY '{"op":"resume","name":"run1"}'
    expect pause-stopped EBUSY '{"op":"pause","name":"stop1"}'
    expect stop-stopped EBUSY '{"op":"stop","name":"stop1"}'
    expect exec-stopped EBUSY '{"op":"exec","name":"stop1","argv":["true"]}'
    expect destroy-running EBUSY '{"op":"destroy","name":"run1"}'
    expect exec-no-agent ENOTCONN '{"op":"exec","name":"run1","argv":["true"],"timeout_ms":2000}'
    expect wait-agent-stopped EBUSY '{"op":"wait_agent","name":"stop1","timeout_ms":100}'
    expect wait-agent-timeout ETIMEDOUT '{"op":"wait_agent","name":"run1","timeout_ms":200}'
    expect set-weight-wrong-type EINVAL '{"op":"set","name":"run1","weight":"heavy"}'
    expect balloon-stopped EBUSY '{"op":"balloon","name":"stop1","memory":"20M"}'
    expect balloon-too-small EINVAL '{"op":"balloon","name":"run1","memory":"8M"}'
    expect balloon-too-small-bytes EINVAL '{"op":"balloon","name":"run1","memory":4096}'
    # The memory controller's view in stats: the effective limit (none set:
    # the memory), default shares (10 per MiB), every counter present.
    s=$(proto call '{"op":"stats","name":"run1"}')
    ok=1
    for f in '"mem_limit":33554432' '"mem_shares":320' '"mem_reservation":0' '"mem_private":' \
      '"mem_shared":' '"mem_swapped":' '"mem_working_set":' '"mem_target":' '"cow_breaks":' \
      '"merges":' '"swap_ins":' '"swap_outs":'; do
      grep -qF "$f" <<< "$s" || ok=0
    done
    [ $ok = 1 ] && pass stats-mem-fields || fail stats-mem-fields "${s:0:600}"
    out=$(timeout 60 "$BIN" stats run1 --socket "$SOCK" 2>&1)
    if grep -qE '^mem_shares +320$' <<< "$out" && grep -qE '^mem_limit +32\.0 MiB$' <<< "$out" &&
      grep -qE '^cow_breaks +[0-9]+$' <<< "$out"; then
      pass cli-stats-mem-lines
    else
      fail cli-stats-mem-lines "$out"
    fi
    # The good path (the state list does not change): the target shows in
    # stats, in bytes, both ways of giving the size.
    r=$(proto call '{"op":"balloon","name":"run1","memory":"20M"}')
    s=$(proto call '{"op":"stats","name":"run1"}')
    if [ "$r" = '{"ok":true}' ] && grep -q '"balloon_target":12582912' <<< "$s" &&
      grep -q '"mem_resident":' <<< "$s" && grep -q '"balloon_actual":0' <<< "$s" &&
      grep -q '"balloon_reported":' <<< "$s"; then
      pass balloon-ok
    else
      fail balloon-ok "balloon: $r; stats: ${s:0:400}"
    fi
    r=$(proto call '{"op":"balloon","name":"run1","memory":33554432}')
    s=$(proto call '{"op":"stats","name":"run1"}')
    if [ "$r" = '{"ok":true}' ] && grep -q '"balloon_target":0' <<< "$s"; then
      pass balloon-ok-bytes
    else
      fail balloon-ok-bytes "balloon: $r; stats: ${s:0:400}"
    fi
  else
    skip guest-state-checks "no test kernels in $GUESTS (tests/guests)"
  fi
  why=$(proto huge EMSGSIZE) && pass line-too-long || fail line-too-long "$why"
  why=$(proto big-ok) && pass line-512k-ok || fail line-512k-ok "$why"
  why=$(proto pipeline) && pass pipelined-requests || fail pipelined-requests "$why"
  proto eof-midline > /dev/null
  why=$(proto flood 100) && pass hundred-clients || fail hundred-clients "$why"

  after=$(proto call '{"op":"list"}')
  if [ -z "$before" ] || [ "$before" != "$after" ]; then
    fail state-unchanged "list before: $before; after: $after"
  else
    pass state-unchanged
  fi
  if kill -0 "$DPID" 2> /dev/null; then pass still-up; else fail still-up "the daemon died"; fi

  # The daemon refuses through the CLI: exit 1, its message.
  CLI_MSG="nosuchvm" cli cli-refused-unknown-vm 1 stop nosuchvm --socket "$SOCK"
  if [ $have_guests = 1 ]; then
    cli cli-refused-start-running 1 start run1 --socket "$SOCK"
    cli cli-refused-destroy-running 1 destroy run1 --socket "$SOCK"
    CLI_MSG="stop1" cli cli-refused-balloon-stopped 1 balloon stop1 20M --socket "$SOCK"
  fi

  # SIGTERM: exits 0, removes the socket.
  stop_daemon
  [ "$DRC" = 0 ] && pass sigterm-exit-0 || fail sigterm-exit-0 "exit status $DRC"
  [ ! -e "$SOCK" ] && pass sigterm-removes-socket || fail sigterm-removes-socket "$SOCK is still there"
  check_sanitizers
done
[ $FAILS = 0 ]
