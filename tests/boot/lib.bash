# Helpers for boot tests (sourced). Each test prints PASS/FAIL/SKIP lines.
# Every boot is bounded by a timeout; nothing sleeps to synchronise.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DISCO=${DISCO:-$ROOT/build/disco}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
TMP=$(mktemp -d /tmp/disco-boot.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; [ -n "${3:-}" ] && [ -f "$3" ] && tail -n 25 "$3" | sed 's/^/    | /' >&2; }
skip() { echo "SKIP: $1: $2"; }

# boot NAME OUT [disco run args...]: runs the guest to completion with
# stdin closed; sets $rc.
boot() {
  local out=$2
  shift 2
  timeout --kill-after=10 "$BOOT_TIMEOUT" "$DISCO" run "$@" < /dev/null > "$out" 2>&1
  rc=$?
}

# check NAME OUT EXPECTED_RC PATTERN...: all patterns (grep -E) must appear.
check() {
  local name=$1 out=$2 want=$3
  shift 3
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then fail "$name" "timed out after ${BOOT_TIMEOUT}s" "$out"; return 1; fi
  if [ "$rc" != "$want" ]; then fail "$name" "exit status $rc, expected $want" "$out"; return 1; fi
  local p
  for p in "$@"; do
    grep -qE "$p" "$out" || { fail "$name" "output lacks /$p/" "$out"; return 1; }
  done
  pass "$name"
}
