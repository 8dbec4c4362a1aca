#!/usr/bin/env bash
# Malicious-guest tests: bare-metal RISC-V programs that attack the machine
# (see README.md). Run from the repo root as `bash tests/malicious/run.sh`.
# Builds them into build/malicious/, makes a 1 MiB test disk, and runs each
# under build/disco and build-san/disco (ASan+UBSan) as
#     timeout 60 BIN run --elf PROG --disk IMG
# printing one line per program per binary:
#     PASS: malicious/<build|build-san>/<name>
#     FAIL: malicious/<build|build-san>/<name>: <why>
# A binary that is not built gets one SKIP line. Details of failures (the
# guest's UART output, stderr) go to stderr.
#
# DISCO_MALICIOUS_BINS="PATH..." runs these disco binaries instead of the
# two default ones (the tag is the binary's directory name).
# DISCO_MALICIOUS_TIMEOUT=SECONDS changes the 60 s limit.
# DISCO_MALICIOUS_RUNNER=qemu runs the programs under qemu-system-riscv64
# -M virt instead (lines say malicious/qemu/<name>); that is how the
# programs themselves are validated. It passes malicious.qemu-quirks on the
# kernel command line, which makes the programs accept QEMU 7.2's known
# deviations (README.md); disco gets no such leniency.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/malicious
OUT=$ROOT/build/malicious
RUNNER=${DISCO_MALICIOUS_RUNNER:-disco}
TIMEOUT=${DISCO_MALICIOUS_TIMEOUT:-60}
PROGS=(mmio_nothing virtio_blk_wild virtio_queue_bad_setup)

TMP=$(mktemp -d /tmp/disco-malicious.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if ! command -v riscv64-unknown-elf-gcc > /dev/null; then
  echo "SKIP: malicious: riscv64-unknown-elf-gcc is not installed (scripts/deps.sh installs it)"
  exit 0
fi
# DISCO_MALICIOUS_CFLAGS: extra flags for build.sh, e.g. -DSELFTEST_FLIP=1,
# which flips one expectation in each program so that every one must FAIL.
read -r -a extra_cflags <<< "${DISCO_MALICIOUS_CFLAGS:-}"
if ! "$HERE/build.sh" "$OUT" "${extra_cflags[@]}" > "$TMP/build.log" 2>&1; then
  cat "$TMP/build.log" >&2
  echo "FAIL: malicious/build: building the programs failed"
  exit 1
fi
if ! python3 "$HERE/mkdisk.py" "$TMP/disk.img"; then
  echo "FAIL: malicious/disk: could not make the test disk"
  exit 1
fi

failed=0
# run_one TAG NAME CMD... : run a program, judge, print one line.
run_one() {
  local tag=$1 name=$2
  shift 2
  local id="malicious/$tag/$name" why=""
  timeout -k 5 "$TIMEOUT" "$@" < /dev/null > "$TMP/out" 2> "$TMP/err"
  local rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    why="timed out after ${TIMEOUT}s (a hang)"
  elif [ $rc -ge 128 ]; then
    why="killed by signal $((rc - 128))"
  elif grep -qE 'ERROR: [A-Za-z]*Sanitizer|runtime error:' "$TMP/err"; then
    why="sanitizer report: $(grep -m1 -E 'ERROR: [A-Za-z]*Sanitizer|runtime error:' "$TMP/err" | cut -c1-200)"
  elif [ $rc -ne 0 ]; then
    local first
    first=$(grep -m1 -oE 'malicious: FAIL code .*' "$TMP/out" | sed 's/^malicious: //' | cut -c1-160)
    why="exit status $rc${first:+ ($first)}"
  elif ! grep -q '^malicious: PASS' "$TMP/out"; then
    why="exit status 0 but the program never reported PASS on the UART"
  elif [ "$(stat -c %s "$TMP/run.img")" != "$(stat -c %s "$TMP/disk.img")" ]; then
    why="the disk image changed size (a write past the disk's end reached the file)"
  elif [ "$RUNNER" = disco ] && ! cmp -s "$TMP/disk.img" "$TMP/run.img"; then
    # Every write the programs send is an attack that must fail. (Under
    # QEMU, quirks let some through; the programs check those sectors.)
    why="the disk image changed (an attack's write reached the file)"
  fi
  if [ -n "$why" ]; then
    echo "FAIL: $id: $why"
    failed=1
    {
      echo "---- $id: $* (exit $rc)"
      echo "---- UART output (last 40 lines):"
      tail -n 40 "$TMP/out"
      echo "---- stderr (last 20 lines):"
      tail -n 20 "$TMP/err"
    } >&2
  else
    echo "PASS: $id"
  fi
}

case $RUNNER in
  qemu)
    if ! command -v qemu-system-riscv64 > /dev/null; then
      echo "SKIP: malicious/qemu: qemu-system-riscv64 is not installed"
      exit 0
    fi
    for name in "${PROGS[@]}"; do
      cp "$TMP/disk.img" "$TMP/run.img"
      run_one qemu "$name" qemu-system-riscv64 -M virt -nographic -bios none -monitor none \
        -serial stdio -kernel "$OUT/$name.elf" -append malicious.qemu-quirks \
        -global virtio-mmio.force-legacy=false \
        -drive "file=$TMP/run.img,format=raw,if=none,id=d0" -device virtio-blk-device,drive=d0
    done
    ;;
  disco)
    if [ -n "${DISCO_MALICIOUS_BINS:-}" ]; then
      read -r -a bins <<< "$DISCO_MALICIOUS_BINS"
    else
      bins=("$ROOT/build/disco" "$ROOT/build-san/disco")
    fi
    for bin in "${bins[@]}"; do
      tag=$(basename "$(dirname "$bin")")
      if [ ! -x "$bin" ]; then
        case $tag in
          build) echo "SKIP: malicious/$tag: build/disco is not built (make)" ;;
          build-san) echo "SKIP: malicious/$tag: build-san/disco is not built (make SAN=1)" ;;
          *) echo "SKIP: malicious/$tag: $bin does not exist" ;;
        esac
        continue
      fi
      for name in "${PROGS[@]}"; do
        cp "$TMP/disk.img" "$TMP/run.img"
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
          run_one "$tag" "$name" "$bin" run --elf "$OUT/$name.elf" --disk "$TMP/run.img"
      done
    done
    ;;
  *)
    echo "FAIL: malicious: unknown DISCO_MALICIOUS_RUNNER '$RUNNER' (use disco or qemu)"
    exit 1
    ;;
esac
exit $failed
