#!/usr/bin/env bash
# Trap storms: guests that fault forever without retiring an instruction
# (storm/*.S). disco must stay in control: SIGTERM ends it promptly with
# status 128+15, under the plain and the ASan+UBSan builds.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/malicious/storm
OUT=$ROOT/build/malicious/storm
mkdir -p "$OUT"
if ! command -v riscv64-unknown-elf-gcc > /dev/null; then
  echo "SKIP: malicious/trap-storm: riscv64-unknown-elf-gcc is not installed"; exit 0
fi
for src in "$HERE"/*.S; do
  name=$(basename "$src" .S)
  riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -nostdlib -nostartfiles \
    -T "$ROOT/tests/isa/link.ld" -o "$OUT/$name.elf" "$src" || { echo "FAIL: malicious/trap-storm/$name: build"; continue; }
  for bin in "$ROOT/build/disco" "$ROOT/build-san/disco"; do
    tag=$(basename "$(dirname "$bin")")
    [ -x "$bin" ] || { echo "SKIP: malicious/$tag/$name: $bin not built"; continue; }
    # Let it storm for 2 s, then SIGTERM; SIGKILL 5 s later if ignored.
    timeout --preserve-status -s TERM -k 5 2 "$bin" run --elf "$OUT/$name.elf" < /dev/null > /dev/null 2> "$OUT/$name.$tag.err"
    rc=$?
    if [ $rc -eq 143 ]; then
      echo "PASS: malicious/$tag/$name: SIGTERM honoured during a trap storm"
    else
      echo "FAIL: malicious/$tag/$name: exit status $rc (143 expected: SIGTERM handled; 137 = had to be killed)"
    fi
  done
done
