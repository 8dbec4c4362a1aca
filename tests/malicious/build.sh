#!/usr/bin/env bash
# Build the malicious-guest programs: tests/malicious/build.sh OUTDIR [EXTRA_CFLAGS...]
# Every NAME.c here except lib.c and virtio.c becomes OUTDIR/NAME.elf,
# linked at 0x80000000 with start.S, lib.c and virtio.c.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: build.sh OUTDIR [EXTRA_CFLAGS...]}
shift
CC=${MAL_CC:-riscv64-unknown-elf-gcc}
command -v "$CC" > /dev/null || { echo "build.sh: $CC not found" >&2; exit 1; }
mkdir -p "$OUT"
CFLAGS=(-march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax -ffreestanding -fno-builtin
        -nostdlib -nostartfiles -static -O2 -g -Wall -Wextra
        -fno-tree-loop-distribute-patterns -I"$HERE" -T "$HERE/link.ld"
        -Wl,--no-warn-rwx-segments "$@")
for src in "$HERE"/*.c; do
  name=$(basename "$src" .c)
  case $name in lib|virtio) continue ;; esac
  "$CC" "${CFLAGS[@]}" -o "$OUT/$name.elf" "$HERE/start.S" "$HERE/lib.c" "$HERE/virtio.c" "$src"
done
