# Rootless containers (RT=disco by default, or RT=runc): as an unprivileged
# user (uid/gid 65534, no groups, HOME and XDG_RUNTIME_DIR of its own),
# `spec --rootless` + run: the process is uid 0 inside, a file it creates is
# owned by 65534 on the host, and a root-only host file bound in stays
# unreadable. SKIPs when unprivileged user namespaces are disabled.
source "$(dirname "$0")/ct_lib.bash"
ct_init
UID_U=65534

max=$(cat /proc/sys/user/max_user_namespaces 2> /dev/null || echo 0)
[ "$max" -gt 0 ] || ct_skip_all "user namespaces are disabled (user.max_user_namespaces = $max)"
if [ -r /proc/sys/kernel/unprivileged_userns_clone ] &&
	[ "$(cat /proc/sys/kernel/unprivileged_userns_clone)" = 0 ]; then
	ct_skip_all "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
fi
command -v setpriv > /dev/null || ct_skip_all "setpriv (util-linux) is missing"

# Everything the user needs lives in a tree it owns; the checkout may not be
# readable by it, so the runtime binary is copied.
U=$CT_T/user
mkdir -p "$U/home" "$U/run" "$U/bin" "$U/state" "$U/bundle"
chmod 0700 "$U/run"
if [ "$RT" = runc ]; then
	ubin=$(command -v runc)
	urt_argv=("$ubin" --root "$U/state")
else
	cp "$CT_DISCO" "$U/bin/disco"
	chmod 0755 "$U/bin/disco"
	urt_argv=("$U/bin/disco" oci --root "$U/state")
fi
mkdir -p "$U/bundle/rootfs" && cp -a --one-file-system "$DISCO_ROOTFS/." "$U/bundle/rootfs/"
chown -R "$UID_U:$UID_U" "$U"

# as_user CMD...: CMD as uid/gid 65534 without supplementary groups.
as_user() {
	setpriv --reuid=$UID_U --regid=$UID_U --clear-groups \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$U/home" XDG_RUNTIME_DIR="$U/run" "$@"
}
as_user unshare -U -r true 2> /dev/null ||
	ct_skip_all "an unprivileged user cannot create a user namespace here (unshare -U -r fails)"
urt() { local s=$1; shift; as_user timeout --kill-after=5 "$s" "${urt_argv[@]}" "$@"; }

ID=disco-test-rootless-$$
cleanup_rootless() {
	urt 10 kill "$ID" KILL > /dev/null 2>&1
	urt 10 delete --force "$ID" > /dev/null 2>&1
	ct_cleanup
}
trap cleanup_rootless EXIT

B=$U/bundle
(cd "$B" && as_user timeout 20 "${urt_argv[@]}" spec --rootless) > "$CT_T/spec.out" 2>&1 ||
	ct_fail_all "$(rt_name) spec --rootless as uid $UID_U failed: $(ct_snip "$CT_T/spec.out")"
[ -f "$B/config.json" ] || ct_fail_all "spec --rootless wrote no config.json"
jq -r '.linux.uidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' "$B/config.json" > "$CT_T/map" 2>&1
ct_log "uidMappings[0]: $(cat "$CT_T/map")"

secret=$CT_T/root-only-secret
echo "top-secret-$$" > "$secret"
chmod 0600 "$secret"
ct_jq --arg s "$secret" '.process.terminal = false
	| .process.args = ["/bin/sh", "-c", "echo uid=$(id -u) gid=$(id -g); touch /created-inside; cat /secret; echo done"]
	| .root.readonly = false | .hostname = "ct-rootless"
	| .mounts += [{destination: "/secret", type: "bind", source: $s, options: ["bind", "ro"]}]'
chown "$UID_U:$UID_U" "$B/config.json"

urt 40 run --bundle "$B" "$ID" < /dev/null > "$CT_T/out" 2> "$CT_T/err"
rc=$?
ct_log "exit $rc; out: $(ct_snip "$CT_T/out"); err: $(ct_snip "$CT_T/err")"
if [ $rc != 0 ] && ! grep -q '^done' "$CT_T/out"; then
	ct_fail "rootless: run as uid $UID_U exited $rc: $(ct_snip "$CT_T/err")"
	exit 1
fi

if grep -q '^uid=0 gid=0' "$CT_T/out"; then
	ct_pass "rootless: the process is uid 0 / gid 0 inside (uid $UID_U outside)"
else
	ct_fail "rootless: id inside: $(grep '^uid=' "$CT_T/out")"
fi
owner=$(stat -c '%u:%g' "$B/rootfs/created-inside" 2> /dev/null)
if [ "$owner" = "$UID_U:$UID_U" ]; then
	ct_pass "rootless: a file created inside is owned by $owner on the host"
else
	ct_fail "rootless: a file created inside is owned by '${owner:-missing}' on the host, not $UID_U:$UID_U"
fi
if grep -q "top-secret-$$" "$CT_T/out"; then
	ct_fail "rootless: the container read the root-only host file bound in"
elif grep -qi 'permission denied' "$CT_T/out" "$CT_T/err"; then
	ct_pass "rootless: a root-only host file bound in is unreadable (permission denied)"
else
	ct_fail "rootless: reading the root-only file did not fail with permission denied: $(ct_snip "$CT_T/out") $(ct_snip "$CT_T/err")"
fi
exit $CT_FAILED
