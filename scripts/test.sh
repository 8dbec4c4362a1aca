#!/usr/bin/env bash
# The README's second command: the whole test suite. Installs what is
# missing, builds disco (plain and ASan+UBSan), builds or reuses the cached
# default guest, runs unit, ISA, boot, bad-input and malicious-guest tests.
# Every test prints "PASS: name", "FAIL: name: why" or "SKIP: name: reason";
# this script counts them, ends with "N passed, N failed, N skipped" and
# exits non-zero if anything failed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$DISCO_ROOT"
LOG=$(mktemp -d /tmp/disco-test.XXXXXX)
RESULTS="$LOG/results"
: > "$RESULTS"

# Run a command whose stdout carries PASS/FAIL/SKIP lines; a non-zero exit
# with no FAIL line counts as a failure of the group itself.
run_group() {
  local name=$1; shift
  echo "== $name" >&2
  local out="$LOG/$(echo "$name" | tr '/ ' '__').out"
  "$@" > "$out" 2> "$out.err"
  local rc=$?
  cat "$out"
  grep -E '^(PASS|FAIL|SKIP): ' "$out" >> "$RESULTS"
  if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' "$out"; then
    echo "FAIL: $name: exited $rc (see $out.err)" | tee -a "$RESULTS"
    tail -n 20 "$out.err" >&2
  fi
}

fatal_step() {
  echo "FAIL: $1" | tee -a "$RESULTS"
}

./scripts/deps.sh || fatal_step "deps: could not install dependencies"

# CRIU for the checkpoint/restore tests: Debian 12's 3.17 cannot run on
# kernels from 6.13 on, so scripts/criu.sh builds Debian trixie's source
# (cached under $DISCO_CACHE/criu, keyed by its inputs).
if criu_dir=$(./scripts/criu.sh 2> "$LOG/criu.log" | tail -n 1) && [ -x "$criu_dir/criu" ]; then
  export DISCO_CRIU=$criu_dir/criu
else
  tail -n 30 "$LOG/criu.log" >&2
  fatal_step "criu: building CRIU from Debian's source failed (see $LOG/criu.log)"
fi

J=$(disco_jobs)
make -s -j"$J" all > "$LOG/build.log" 2>&1 || { cat "$LOG/build.log" >&2; fatal_step "build: make failed"; }
make -s -j"$J" SAN=1 all > "$LOG/build-san.log" 2>&1 || { cat "$LOG/build-san.log" >&2; fatal_step "build: make SAN=1 failed"; }

for t in build/tests/unit/test_*; do
  [ -x "$t" ] && run_group "unit/$(basename "$t")" timeout 300 "$t"
done
for t in build-san/tests/unit/test_*; do
  [ -x "$t" ] && run_group "unit-san/$(basename "$t")" \
    env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 timeout 600 \
    bash -c '"$1" | sed -E "s/^(PASS|FAIL|SKIP): /\1: san:/"' _ "$t"
done

if [ -x scripts/isa-tests.sh ]; then
  run_group "isa" scripts/isa-tests.sh build
  run_group "isa-san" bash -c 'scripts/isa-tests.sh build-san | sed -E "s/^(PASS|FAIL|SKIP): /\1: san:/"'
fi

for t in tests/bad/*.sh; do
  [ -f "$t" ] && run_group "bad/$(basename "$t" .sh)" bash "$t"
done
for t in tests/malicious/run.sh tests/malicious/trap_storm.sh; do
  [ -f "$t" ] && run_group "malicious/$(basename "$t" .sh)" bash "$t"
done

if guest_dir=$(disco_default_guest 2> "$LOG/guest.log"); then
  export DISCO_GUEST_DIR=$guest_dir
  for t in tests/boot/*.sh; do
    [ -f "$t" ] && run_group "boot/$(basename "$t" .sh)" bash "$t"
  done
else
  tail -n 30 "$LOG/guest.log" >&2
  fatal_step "guest: building the default guest failed (see $LOG/guest.log)"
fi

# Fleet tests: a `disco daemon` with many guests (docs/FLEET.md). Each starts
# its own daemon on a temp socket; those that need the default guest skip
# when it is missing. At most 3 minutes each.
for t in tests/fleet/*.sh; do
  [ -f "$t" ] && run_group "fleet/$(basename "$t" .sh)" timeout --kill-after=10 180 bash "$t"
done

# Container tests (docs/CONTAINERS.md, docs/OCI.md): they run containers
# from the cached busybox root file system (scripts/rootfs.sh). At most 3
# minutes each.
if rootfs=$(disco_default_rootfs 2> "$LOG/rootfs.log"); then
  export DISCO_ROOTFS=$rootfs
  for t in tests/ct/*.sh; do
    [ -f "$t" ] && run_group "ct/$(basename "$t" .sh)" timeout --kill-after=10 180 bash "$t"
  done
else
  tail -n 30 "$LOG/rootfs.log" >&2
  fatal_step "rootfs: building the container root file system failed (see $LOG/rootfs.log)"
fi

pass=$(grep -c '^PASS: ' "$RESULTS")
fail=$(grep -c '^FAIL: ' "$RESULTS")
skip=$(grep -c '^SKIP: ' "$RESULTS")
if [ "$fail" -gt 0 ]; then
  echo "Failures:"
  grep '^FAIL: ' "$RESULTS"
fi
if [ "$skip" -gt 0 ]; then
  echo "Skipped:"
  grep '^SKIP: ' "$RESULTS"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
