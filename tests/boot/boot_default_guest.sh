# The default guest reaches init and powers off cleanly with 1 and 4 harts.
source "$(dirname "$0")/lib.bash"
for n in 1 4; do
  boot "boot/${n}cpu" "$TMP/b$n" --cpus "$n" --append "console=ttyS0 disco.run=smp"
  check "boot/${n}cpu reaches init and powers off" "$TMP/b$n" 0 \
    'disco-guest: init reached' "disco-guest: cpus=$n\b"
done
