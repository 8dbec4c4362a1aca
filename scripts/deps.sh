#!/usr/bin/env bash
# Install what disco needs from Debian's packages (and nothing else).
# Idempotent and quick when everything is already there.
set -euo pipefail
PKGS=(
  build-essential make pkg-config
  libfdt-dev libjson-c-dev libxxhash-dev libzstd-dev
  gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu libc6-dev-riscv64-cross linux-libc-dev-riscv64-cross
  gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf
  linux-source-6.1 bc bison flex libssl-dev libelf-dev cpio xz-utils dpkg-dev
  e2fsprogs python3 jq
  qemu-system-misc opensbi
  libcap-dev libseccomp-dev libmnl-dev busybox-static iproute2 uidmap runc criu
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "disco: missing packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "disco: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
