#!/usr/bin/env bash
# The README's container command: run a busybox container with disco's OCI
# runtime (docs/OCI.md).
#
#   ./scripts/container.sh              an interactive busybox shell
#   ./scripts/container.sh CMD [ARG]... run CMD in it; exits with its status
#
# Installs what is missing (scripts/deps.sh), builds disco if needed, gets
# the cached busybox root file system (scripts/rootfs.sh), makes a bundle in
# a temp dir (config.json from `disco oci spec`, the cached root read-only, a
# terminal only when stdin is one) and runs `disco oci run` in it. Needs root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$DISCO_ROOT"
if [ "$(id -u)" != 0 ]; then
  echo "scripts/container.sh: needs root (namespaces, cgroups)" >&2
  exit 1
fi
./scripts/deps.sh
make -s -j"$(disco_jobs)" build/disco build/disco-oci >&2
rootfs=$(disco_default_rootfs)
[ -x "$rootfs/bin/busybox" ] || { echo "scripts/container.sh: no busybox root at '$rootfs'" >&2; exit 1; }

bundle=$(mktemp -d /tmp/disco-container.XXXXXX)
state=$bundle/state
id=disco-$$
cleanup() {
  ./build/disco oci --root "$state" delete --force "$id" > /dev/null 2>&1 || true
  rm -rf "$bundle"
}
trap cleanup EXIT
./build/disco oci spec --bundle "$bundle"
if [ $# -eq 0 ]; then set -- sh; fi
terminal=false
[ -t 0 ] && terminal=true
args='[]'
for a in "$@"; do args=$(jq -c --arg a "$a" '. + [$a]' <<< "$args"); done
jq --arg r "$rootfs" --argjson a "$args" --argjson t "$terminal" --arg h "$id" \
  '.root.path = $r | .root.readonly = true | .process.args = $a | .process.terminal = $t | .hostname = $h' \
  "$bundle/config.json" > "$bundle/config.tmp"
mv "$bundle/config.tmp" "$bundle/config.json"
set +e
./build/disco oci --root "$state" run --bundle "$bundle" "$id"
rc=$?
exit $rc
