# A guest writes a file to a virtio-blk ext4 disk, powers off, and the host
# finds the file in the image.
source "$(dirname "$0")/lib.bash"
name="boot/disk-write: guest file visible in the host's image"
if ! command -v mkfs.ext4 > /dev/null || ! command -v debugfs > /dev/null; then
  skip "$name" "mkfs.ext4/debugfs missing (package e2fsprogs)"; exit 0
fi
img=$TMP/disk.img
truncate -s 32M "$img" && mkfs.ext4 -q -F "$img" || { fail "$name" "mkfs.ext4 failed"; exit 0; }
boot disk "$TMP/disk.out" --disk "$img" --append "console=ttyS0 disco.run=disk-write"
check "boot/disk-write: guest reports success" "$TMP/disk.out" 0 'disco-guest: disk-write ok' || exit 0
got=$(debugfs -R 'cat /hello.txt' "$img" 2> /dev/null)
if [ "$got" = "hello from disco guest" ]; then pass "$name"; else fail "$name" "host read '$got'"; fi
