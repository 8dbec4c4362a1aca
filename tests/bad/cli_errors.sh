# Bad input never crashes disco: each case gets exactly one clear error line
# ("disco: error: ...") on stderr and a non-zero, non-signal exit status.
# Run against the plain and the ASan+UBSan builds.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/disco-bad.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

head -c 4096 /dev/urandom > "$TMP/random.bin"
printf '\177ELF\002\001\001' > "$TMP/truncated.elf"
: > "$TMP/empty"
# An ELF header claiming RISC-V with its program headers far beyond the file.
python3 - "$TMP/badph.elf" <<'PY'
import struct, sys
eh = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8)
eh += struct.pack('<HHIQQQIHHHHHH', 2, 243, 1, 0x80000000, 0x7fffffffffff, 0, 0, 64, 56, 4, 64, 0, 0)
open(sys.argv[1], 'wb').write(eh)
PY
# An ELF whose segment lands outside guest RAM.
python3 - "$TMP/outside.elf" <<'PY'
import struct, sys
eh = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8)
eh += struct.pack('<HHIQQQIHHHHHH', 2, 243, 1, 0x1000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
ph = struct.pack('<IIQQQQQQ', 1, 5, 0x1000, 0x1000, 0x1000, 16, 16, 4)
open(sys.argv[1], 'wb').write(eh + ph + bytes(16))
PY

# case NAME EXPECTED_STATUS ARGS...
case_() {
  local name=$1 want=$2 bin
  shift 2
  for bin in "$ROOT/build/disco" "$ROOT/build-san/disco"; do
    [ -x "$bin" ] || continue
    local tag=$(basename "$(dirname "$bin")")
    timeout 60 "$bin" "$@" < /dev/null > "$TMP/out" 2> "$TMP/err"
    local rc=$?
    local lines=$(wc -l < "$TMP/err")
    if [ $rc -ne "$want" ]; then
      echo "FAIL: bad/$tag/$name: exit status $rc, expected $want"; sed 's/^/    | /' "$TMP/err" | head -5 >&2
    elif [ "$lines" -ne 1 ] || ! grep -q '^disco: error: ' "$TMP/err"; then
      echo "FAIL: bad/$tag/$name: expected one 'disco: error:' line, got $lines lines"; sed 's/^/    | /' "$TMP/err" | head -5 >&2
    elif [ -s "$TMP/out" ]; then
      echo "FAIL: bad/$tag/$name: printed on stdout"
    else
      echo "PASS: bad/$tag/$name ($(cat "$TMP/err"))"
    fi
  done
}

case_ unknown-command 2 frobnicate
case_ unknown-option 2 run --frobnicate
case_ cpus-zero 2 run --cpus 0 --kernel "$TMP/random.bin"
case_ cpus-not-a-number 2 run --cpus abc --kernel "$TMP/random.bin"
case_ cpus-too-many 2 run --cpus 100000 --kernel "$TMP/random.bin"
case_ mem-bad-suffix 2 run --mem 1X --kernel "$TMP/random.bin"
case_ mem-overflow 2 run --mem 99999999999999999999G --kernel "$TMP/random.bin"
case_ option-missing-value 2 run --kernel
case_ kernel-missing 1 run --kernel "$TMP/does-not-exist"
case_ kernel-corrupt 1 run --kernel "$TMP/random.bin"
case_ kernel-empty 1 run --kernel "$TMP/empty"
case_ kernel-is-directory 1 run --kernel "$TMP"
case_ elf-missing 1 run --elf "$TMP/does-not-exist"
case_ elf-truncated 1 run --elf "$TMP/truncated.elf"
case_ elf-not-elf 1 run --elf "$TMP/random.bin"
case_ elf-phdrs-beyond-file 1 run --elf "$TMP/badph.elf"
case_ elf-segment-outside-ram 1 run --elf "$TMP/outside.elf"
case_ bios-missing 1 run --bios "$TMP/does-not-exist" --elf "$TMP/truncated.elf"
case_ disk-missing 1 run --elf "$TMP/outside.elf" --disk "$TMP/does-not-exist"
# Too little memory for what must be loaded: an Image whose header asks for
# 64 MiB, in 32 MiB of RAM.
python3 - "$TMP/huge.Image" <<'PY'
import struct, sys
hdr = struct.pack('<IIQQQIIQ', 0, 0, 0x200000, 64 << 20, 0, 2, 0, 0) + b'RISCV\0\0\0' + b'RSC\x05' + bytes(4)
open(sys.argv[1], 'wb').write(hdr + bytes(4096))
PY
case_ mem-too-small-for-kernel 1 run --mem 32M --kernel "$TMP/huge.Image"
case_ mem-below-minimum 2 run --mem 1M --kernel "$TMP/random.bin"
