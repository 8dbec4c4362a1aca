#!/usr/bin/env bash
# Build and run disco's ISA tests (tests/isa/*.S, see tests/isa/README.md).
#
# usage: scripts/isa-tests.sh [BUILD_DIR] [NAME...]
#   BUILD_DIR  build tree holding disco and isa/ (default: build)
#   NAME       run only these tests (e.g. rv64ui_alu trap); default: all
#
# Each test runs as `RUNNER FILE.elf` under `timeout $DISCO_ISA_TIMEOUT`.
# RUNNER is "$BUILD_DIR/disco run --elf" unless DISCO_ISA_RUNNER is set,
# e.g. to validate the tests on QEMU's spike board:
#   DISCO_ISA_RUNNER="qemu-system-riscv64 -M spike -nographic -bios none -kernel" \
#       scripts/isa-tests.sh
# The runner's exit status is tohost >> 1: 0 = pass, K = check K failed.
# Output: one line per test, PASS: isa/NAME | FAIL: isa/NAME: exit N
# (failed check K) | FAIL: isa/NAME: timeout; the runner's output goes to
# BUILD_DIR/isa/NAME.log. Exit status: 0 if all passed, 1 otherwise.
set -u

cd "$(dirname "$0")/.." || exit 2
BUILD=${1:-build}
[ $# -gt 0 ] && shift
BUILD=${BUILD%/}
TIMEOUT=${DISCO_ISA_TIMEOUT:-20}

if ! make -s --no-print-directory BUILD="$BUILD" isa; then
    echo "FAIL: isa: build failed" >&2
    exit 1
fi

if [ -n "${DISCO_ISA_RUNNER:-}" ]; then
    read -r -a RUNNER <<< "$DISCO_ISA_RUNNER"
else
    if [ ! -x "$BUILD/disco" ]; then
        echo "isa-tests: $BUILD/disco not found (run make first, or set DISCO_ISA_RUNNER)" >&2
        exit 2
    fi
    RUNNER=("$BUILD/disco" run --elf)
fi

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for src in tests/isa/*.S; do
        n=${src##*/}
        names+=("${n%.S}")
    done
fi

pass=0
fail=0
for name in "${names[@]}"; do
    elf="$BUILD/isa/$name.elf"
    log="$BUILD/isa/$name.log"
    if [ ! -f "$elf" ]; then
        echo "FAIL: isa/$name: no such test ($elf)"
        fail=$((fail + 1))
        continue
    fi
    timeout "$TIMEOUT" "${RUNNER[@]}" "$elf" </dev/null >"$log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "PASS: isa/$name"
        pass=$((pass + 1))
    elif [ $rc -eq 124 ]; then
        echo "FAIL: isa/$name: timeout"
        fail=$((fail + 1))
    elif [ $rc -ge 128 ]; then
        echo "FAIL: isa/$name: exit $rc (killed by signal $((rc - 128)); see $log)"
        fail=$((fail + 1))
    else
        echo "FAIL: isa/$name: exit $rc (failed check $rc)"
        fail=$((fail + 1))
    fi
done
echo "isa: $pass passed, $fail failed"
[ $fail -eq 0 ]
