# Shared helpers for disco's scripts (sourced, not run).
DISCO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DISCO_CACHE=${DISCO_CACHE:-/var/cache/disco}
export DISCO_CACHE

# Build (or find in the cache) the default guest and point
# $DISCO_CACHE/guest/default at it; prints the directory.
disco_default_guest() {
  local dir
  dir=$("$DISCO_ROOT/guest/build.sh" | tail -n 1) || return 1
  [ -f "$dir/Image" ] && [ -f "$dir/initramfs.cpio.gz" ] || {
    echo "disco: guest build did not produce $dir/Image and initramfs.cpio.gz" >&2
    return 1
  }
  ln -sfn "$dir" "$DISCO_CACHE/guest/default"
  echo "$dir"
}

disco_jobs() { nproc 2>/dev/null || echo 2; }

# Build (or find in the cache) the default container root file system (a
# static busybox from Debian) and point $DISCO_CACHE/rootfs/default at it;
# prints the directory.
disco_default_rootfs() {
  "$DISCO_ROOT/scripts/rootfs.sh" | tail -n 1
}
