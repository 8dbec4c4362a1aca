#!/usr/bin/env bash
# Debian's podman (4.3) + conmon driving build/disco-oci as its OCI runtime
# (docs/OCI.md "With podman"): run, run -d + exec + stop + rm, exit status
# propagation, a terminal through conmon's console socket. Isolated storage
# and configuration in a temp dir; an image imported from the busybox root
# ($DISCO_ROOTFS): no registry is reachable. Prints PASS/FAIL/SKIP lines.
#
# Runs under a small subreaper (python3) so the conmon processes that
# daemonize are reaped when they exit: pid 1 of some machines never reaps.
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

pass() { echo "PASS: podman/$1"; }
fail() { echo "FAIL: podman/$1: $2"; }
skip() { echo "SKIP: podman/$1: $2"; }

OCI=${DISCO_OCI:-$ROOT/build/disco-oci}
[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
command -v podman > /dev/null || { skip all "podman is not installed (apt-get install podman)"; exit 0; }
command -v conmon > /dev/null || { skip all "conmon is not installed (apt-get install conmon)"; exit 0; }
[ -x "$OCI" ] || { fail build "$OCI missing (make)"; exit 0; }

T=$(mktemp -d /tmp/disco-test-podman.XXXXXX)
RFS=${DISCO_ROOTFS:-}
if [ -z "$RFS" ] || [ ! -x "$RFS/bin/busybox" ]; then
  RFS=$T/rootfs
  mkdir -p "$RFS/bin" "$RFS/proc" "$RFS/dev" "$RFS/sys" "$RFS/tmp" "$RFS/etc"
  cp /bin/busybox "$RFS/bin/"
  for c in sh true echo cat ls sleep; do ln -sf busybox "$RFS/bin/$c"; done
fi

# podman's configuration lives here, not on the host. Podman (as root) asks
# for nofile/nproc limits above what this process may raise to (no
# CAP_SYS_RESOURCE on some machines: runc fails the same way), so the
# defaults are the current hard limits, capped like podman caps its own.
mkdir -p "$T/conf"
NOFILE=$(ulimit -Hn); NPROC=$(ulimit -Hu)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
{ [ "$NPROC" = unlimited ] || [ "$NPROC" -gt 32768 ]; } && NPROC=32768
cat > "$T/conf/containers.conf" << EOF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]
[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
EOF
printf 'unqualified-search-registries = []\n' > "$T/conf/registries.conf"
export CONTAINERS_CONF=$T/conf/containers.conf
export CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf

pmr() {
  timeout --kill-after=5 60 podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --runtime "$OCI" "$@"
}

cleanup() {
  pmr rm -af -t 0 > /dev/null 2>&1
  pmr rmi -af > /dev/null 2>&1
  rm -rf "$T"
  # podman's cgroupfs parents (conmon's included), when nothing uses them.
  for d in /sys/fs/cgroup/*/libpod_parent; do rmdir "$d/conmon" "$d" 2> /dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! tar -C "$RFS" -c . | pmr import - localhost/disco-busybox > "$T/import.log" 2>&1; then
  fail import "$(tail -n 3 "$T/import.log")"
  exit 0
fi
pass import

out=$(pmr run --rm --network none localhost/disco-busybox echo hello 2> "$T/err" < /dev/null); rc=$?
if [ "$rc" = 0 ] && [ "$out" = hello ]; then pass run_echo; else fail run_echo "rc=$rc out=$out err=$(head -c 400 "$T/err")"; fi

pmr run --rm --network none localhost/disco-busybox sh -c 'exit 3' > /dev/null 2> "$T/err" < /dev/null; rc=$?
if [ "$rc" = 3 ]; then pass exit_status; else fail exit_status "rc=$rc err=$(head -c 400 "$T/err")"; fi

# A terminal: conmon gets the pty master through --console-socket.
out=$(pmr run --rm -t --network none localhost/disco-busybox sh -c '[ -t 1 ] && echo tty-ok' 2> "$T/err" < /dev/null); rc=$?
if [ "$rc" = 0 ] && grep -q tty-ok <<< "$out"; then pass run_tty; else fail run_tty "rc=$rc out=$(printf %q "$out") err=$(head -c 400 "$T/err")"; fi

id=$(pmr run -d --network none localhost/disco-busybox sleep 120 2> "$T/err" < /dev/null); rc=$?
if [ "$rc" != 0 ] || [ -z "$id" ]; then
  fail run_detached "rc=$rc err=$(head -c 400 "$T/err")"
else
  pass run_detached
  st=$(pmr inspect -f '{{.State.Status}}' "$id" 2>&1)
  if [ "$st" = running ]; then pass inspect_running; else fail inspect_running "status '$st'"; fi
  out=$(pmr exec "$id" echo in-exec 2> "$T/err" < /dev/null); rc=$?
  if [ "$rc" = 0 ] && [ "$out" = in-exec ]; then pass exec; else fail exec "rc=$rc out=$out err=$(head -c 400 "$T/err")"; fi
  pmr exec "$id" sh -c 'exit 4' > /dev/null 2>&1 < /dev/null; rc=$?
  if [ "$rc" = 4 ]; then pass exec_status; else fail exec_status "rc=$rc"; fi
  # sleep is pid 1 and ignores SIGTERM: stop escalates to SIGKILL after -t.
  pmr stop -t 1 "$id" > /dev/null 2> "$T/err"; rc=$?
  st=$(pmr inspect -f '{{.State.Status}}' "$id" 2>&1)
  if [ "$rc" = 0 ] && [ "$st" = exited ]; then pass stop; else fail stop "rc=$rc status '$st' err=$(head -c 400 "$T/err")"; fi
  pmr rm "$id" > /dev/null 2> "$T/err"; rc=$?
  if [ "$rc" = 0 ] && ! pmr inspect "$id" > /dev/null 2>&1; then pass rm; else fail rm "rc=$rc err=$(head -c 400 "$T/err")"; fi
  if [ -z "$(ls -d /sys/fs/cgroup/*/libpod_parent/libpod-"$id"* 2> /dev/null)" ]; then
    pass no_cgroup_left
  else
    fail no_cgroup_left "$(ls -d /sys/fs/cgroup/*/libpod_parent/libpod-"$id"* 2> /dev/null | head -3)"
  fi
fi
