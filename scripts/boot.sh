#!/usr/bin/env bash
# The README's first command: install what is missing, build disco and the
# default guest (cached in $DISCO_CACHE, default /var/cache/disco), and boot
# it. Extra arguments go to `disco run` (e.g. --cpus 4 --mem 512M).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$DISCO_ROOT"
./scripts/deps.sh
make -s -j"$(disco_jobs)" build/disco >&2
disco_default_guest >/dev/null
exec ./build/disco run "$@"
