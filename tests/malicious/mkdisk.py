# The malicious-guest test disk: 1 MiB (2048 sectors). Sector 0 starts with
# "DISCO-MALICIOUS-TEST" zero-padded to 32 bytes and ends with 4 zero bytes;
# every other byte is (sector * 131 + i * 7 + 1) & 0xff. virtio.c (disk_byte)
# must agree. Usage: mkdisk.py FILE
import sys
magic = b"DISCO-MALICIOUS-TEST"
out = bytearray()
for s in range(2048):
    for i in range(512):
        if s == 0 and i < 32:
            out.append(magic[i] if i < len(magic) else 0)
        elif s == 0 and i >= 508:
            out.append(0)
        else:
            out.append((s * 131 + i * 7 + 1) & 0xff)
open(sys.argv[1], "wb").write(out)
