# What a container sees of its host (RT=disco by default, or RT=runc): only
# its own processes (a host process with a unique command line is not
# visible), none of the host's mounts (a tmpfs the test mounts on the host),
# only the loopback interface, its own hostname.
source "$(dirname "$0")/ct_lib.bash"
ct_init

token=disco-host-token-$$
(exec -a "$token" sleep 120) &
host_sleeper=$!
trap 'kill $host_sleeper 2> /dev/null; wait $host_sleeper 2> /dev/null; umount "$CT_T/host-mount" 2> /dev/null; ct_cleanup' EXIT
mkdir -p "$CT_T/host-mount"
mount -t tmpfs disco-test-host-mount "$CT_T/host-mount" ||
	ct_fail_all "cannot mount a tmpfs on $CT_T/host-mount"
for _ in $(seq 50); do # until the subshell has exec'd
	grep -q "$token" /proc/$host_sleeper/cmdline 2> /dev/null && break
	sleep 0.1
done
grep -q "$token" /proc/$host_sleeper/cmdline || ct_fail_all "the host sleeper has no token"

ct_bundle iso /bin/isolation -h ct-iso -k "$token" -p "$CT_T/host-mount" -p "$CT_ROOT" -n 2
ct_run 30
if [ $rc = 0 ] && grep -q '^SAFE' "$B/out"; then
	ct_pass "isolation: $(grep -E '^TRY: /proc lists' "$B/out" | cut -c6-60); no host mounts; lo only; hostname ct-iso"
else
	ct_fail "isolation: exit $rc: $(grep -E '^ESCAPED' "$B/out" | tr '\n' ' ')$(ct_snip "$B/err")"
fi

# The same through busybox: ps shows pid 1 (sh) and ps itself.
ct_bundle iso-ps /bin/sh -c 'ps -o pid,args; echo "host: $(hostname)"; ls /sys/class/net'
ct_run 30
nps=$(grep -cE '^ *[0-9]+ ' "$B/out")
if [ $rc = 0 ] && [ "$nps" -le 2 ] && grep -qE '^ *1 ' "$B/out" && ! grep -q "$token" "$B/out" &&
	grep -qx 'host: ct-iso-ps' "$B/out" && [ "$(grep -vE '^ *(PID|[0-9]+ |host:)' "$B/out")" = lo ]; then
	ct_pass "isolation: busybox ps sees $nps processes, hostname ct-iso-ps, interfaces: lo"
else
	ct_fail "isolation: busybox view: exit $rc: $(ct_snip "$B/out") $(ct_snip "$B/err")"
fi

# Devices: the standard nodes work, the host's disk does not, even for a
# process that may mknod it (the devices cgroup allows only the defaults).
disk=$(awk '$5 == "/" { print $3; exit }' /proc/self/mountinfo)
ct_bundle iso-dev /bin/sh -c '
	echo x > /dev/null && echo null-ok
	[ "$(head -c 4 /dev/zero | wc -c)" = 4 ] && echo zero-ok
	[ "$(head -c 4 /dev/urandom | wc -c)" = 4 ] && echo urandom-ok
	mknod /tmp/disk b "${1%:*}" "${1#*:}" && echo mknod-ok
	head -c 512 /tmp/disk > /tmp/read 2>&1 && [ -s /tmp/read ] && echo DISK-READ
	echo done' sh "$disk"
ct_jq '.process.capabilities |= with_entries(
	if .key == "ambient" then . else .value = (.value + ["CAP_MKNOD"] | unique) end)'
ct_run 30
if [ $rc = 0 ] && grep -q '^null-ok' "$B/out" && grep -q '^zero-ok' "$B/out" &&
	grep -q '^urandom-ok' "$B/out"; then
	ct_pass "isolation: /dev/null, /dev/zero, /dev/urandom usable"
else
	ct_fail "isolation: standard /dev nodes: exit $rc: $(ct_snip "$B/out") $(ct_snip "$B/err")"
fi
if grep -q DISK-READ "$B/out"; then
	ct_fail "isolation: the container read the host's disk ($disk) through a node it made"
elif grep -q '^done' "$B/out"; then
	ct_pass "isolation: the host's disk ($disk) is unreadable from inside$(grep -q mknod-ok "$B/out" && echo ' (mknod allowed, access denied)')"
else
	ct_fail "isolation: device check did not finish: exit $rc: $(ct_snip "$B/err")"
fi

# The host side: the host's hostname is not the container's.
if [ "$(hostname)" != ct-iso ] && [ "$(hostname)" != ct-iso-ps ]; then
	ct_pass "isolation: the host's hostname is still $(hostname)"
else
	ct_fail "isolation: the host's hostname became $(hostname)"
fi
exit $CT_FAILED
