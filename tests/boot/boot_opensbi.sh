# The same kernel boots under Debian's OpenSBI (real M-mode firmware).
source "$(dirname "$0")/lib.bash"
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic
for fw in fw_jump.bin fw_dynamic.bin; do
  if [ ! -f "$FW/$fw" ]; then skip "boot/opensbi-$fw" "$FW/$fw missing (package opensbi)"; continue; fi
  boot "opensbi-$fw" "$TMP/$fw" --cpus 2 --bios "$FW/$fw" --append "console=ttyS0 disco.run=smp"
  check "boot/opensbi $fw boots the kernel" "$TMP/$fw" 0 'OpenSBI' 'disco-guest: init reached' 'disco-guest: cpus=2\b'
done
