# Container escapes that worked against real runtimes, run against ours
# (RT=disco, default) or runc (RT=runc): CVE-2019-5736 (overwriting the
# runtime binary), CVE-2024-21626 (leaked fds and process.cwd), symlinked
# mount targets, the chroot escape (with a bare chroot(8) as the control
# that must escape), masked /proc and /sys. docs/CONTAINER-SECURITY.md
# explains each.
source "$(dirname "$0")/ct_lib.bash"
ct_init

# ---- CVE-2019-5736: /proc/self/exe overwrite ---------------------------------
# The runtime under test is a copy, so a successful attack damages only it.
test_cve_2019_5736() {
	local name="cve_2019_5736: the runtime binary cannot be overwritten through /proc/PID/exe"
	local orig copy
	if [ "$RT" = runc ]; then orig=$(command -v runc); else orig=$CT_DISCO; fi
	mkdir -p "$CT_T/rtcopy"
	copy=$CT_T/rtcopy/$(basename "$orig")
	cp "$orig" "$copy"
	local before
	before=$(sha256sum < "$copy")
	ct_bundle cve5736 /bin/cve_2019_5736 -r /result -t 30
	# The attacker's image has a libc, so the runtime can start in it.
	ct_copy_libs "$copy" "$B/rootfs"
	printf '#!/proc/self/exe\n' > "$B/rootfs/evil"
	chmod 0755 "$B/rootfs/evil"
	local RT_BIN=$copy
	rtt 20 create --bundle "$B" "$ID" < /dev/null > "$B/out" 2> "$B/err"
	rc=$?
	if [ $rc != 0 ]; then
		ct_fail "$name: create exited $rc: $(ct_snip "$B/err")"
		return
	fi
	rtt 20 start "$ID" > "$B/start.err" 2>&1 || {
		ct_fail "$name: start failed: $(ct_snip "$B/start.err")"
		return
	}
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		# Runs the runtime's own binary inside the container (it fails: fine).
		rtt 10 exec "$ID" /evil > "$B/exec.out" 2>&1
		grep -qE '^(SAW|INCONCLUSIVE)' "$B/rootfs/result" 2> /dev/null && break
		[ "$(ct_state "$ID")" = running ] || break
	done
	ct_log "exec /evil: $(ct_snip "$B/exec.out")"
	ct_wait_state "$ID" stopped 20 || ct_log "the attacker did not finish in 20s"
	rtt 10 delete --force "$ID" > /dev/null 2>&1
	local after result
	after=$(sha256sum < "$copy")
	result=$(cat "$B/rootfs/result" 2> /dev/null)
	ct_log "attacker: $(tr '\n' ' ' <<< "$result")"
	if [ "$before" != "$after" ]; then
		ct_fail "$name: ESCAPED: the runtime binary changed on the host ($(tr '\n' ' ' <<< "$result"))"
	elif grep -q '^ESCAPED' <<< "$result"; then
		ct_fail "$name: the attacker reports: $(grep '^ESCAPED' <<< "$result")"
	elif ! grep -q '^SAW' <<< "$result"; then
		ct_fail "$name: inconclusive: the attacker never saw the runtime's binary run in the container ($(tr '\n' ' ' <<< "$result"))"
	else
		ct_pass "$name ($(grep -m1 '^SAFE' <<< "$result" | cut -c7-))"
	fi
}

# ---- CVE-2024-21626: leaked fds, process.cwd outside the root ---------------
test_cve_2024_21626() {
	local name="cve_2024_21626"
	# Fds the caller has open (a host directory among them) must not leak in.
	exec 9< "$CT_T"
	ct_bundle cve21626 /bin/cve_2024_21626 "$CT_MARKER"
	ct_run 30
	if [ $rc = 0 ] && grep -q '^SAFE' "$B/out"; then
		ct_pass "$name: no fd but 0-2 inside, no way up to the host ($(grep -c '^TRY: fd' "$B/out") fds)"
	else
		ct_fail "$name: exit $rc: $(grep -E '^ESCAPED' "$B/out" | tr '\n' ' ')$(ct_snip "$B/err")"
	fi

	# --preserve-fds 2 passes exactly fds 3 and 4 (files, not directories).
	echo data > "$CT_T/preserved"
	ct_bundle cve21626p /bin/cve_2024_21626 -p 2 "$CT_MARKER"
	exec 3< /dev/null 4< "$CT_T/preserved"
	ct_run 30 --preserve-fds 2
	exec 3<&- 4<&-
	if [ $rc = 0 ] && grep -q '^SAFE' "$B/out" && [ "$(grep -c '^TRY: fd' "$B/out")" = 5 ]; then
		ct_pass "$name: --preserve-fds 2 passes fds 3 and 4 and nothing more"
	else
		ct_fail "$name: --preserve-fds 2: exit $rc: $(grep -E '^(ESCAPED|TRY: fd)' "$B/out" | tr '\n' ' ')$(ct_snip "$B/err")"
	fi

	# process.cwd = /proc/self/fd/N, directly and through a symlink in the
	# rootfs (which a check of the string alone misses): refused, or a cwd
	# inside the root.
	local n how bad= got= kind
	for kind in direct link; do
		how=
		for n in 4 5 6 7 8; do
			ct_bundle "cve21626cwd$kind$n" /bin/cve_2024_21626 "$CT_MARKER"
			if [ $kind = direct ]; then
				ct_jq --arg c "/proc/self/fd/$n" '.process.cwd = $c'
			else
				ln -s "/proc/self/fd/$n" "$B/rootfs/cwdlink"
				ct_jq '.process.cwd = "/cwdlink"'
			fi
			ct_run 30
			if grep -q '^ESCAPED' "$B/out"; then
				bad+=" $kind fd $n: $(grep '^ESCAPED' "$B/out" | tr '\n' ' ')"
			elif [ $rc = 0 ] && grep -q '^SAFE' "$B/out"; then
				how+=" $n:inside"
			elif [ $rc != 0 ] && [ -s "$B/err" ]; then
				how+=" $n:refused"
			else
				bad+=" $kind fd $n: exit $rc without a verdict or an error: $(ct_snip "$B/out") $(ct_snip "$B/err")"
			fi
		done
		got+=" $kind:$how;"
	done
	exec 9<&-
	if [ -n "$bad" ]; then
		ct_fail "$name: process.cwd=/proc/self/fd/N:$bad"
	else
		ct_pass "$name: process.cwd=/proc/self/fd/N (direct, via a symlink) refused or inside the root ($got )"
	fi
}

# ---- symlinked mount targets ---------------------------------------------
# Mount destinations in the rootfs that are symlinks to a host file (and a
# dangling one to a host path): mounting onto them must not change the
# host file, make it a mount point on the host, or create the host path.
# The container starts (the target resolved inside its root) or is refused
# with an error. Cases, each its own container:
#   devtmpfs    default spec: /dev/null, /dev/console symlinks under the
#               /dev tmpfs, binds onto /dev/null and /dev/console
#   nodevtmpfs  no /dev tmpfs: binds onto /dev/null (absolute link to the
#               victim), /dev/console (../../..-relative), /dev/zero (dangling)
#   relative    a bind onto /mnt/victim -> ../../../..<victim>
#   inroot      /mnt/inroot -> <victim> (absolute) where the rootfs has a file
#               at that path: must start, the bind landing on the root's file
test_symlink_targets() {
	local name="symlink mount targets"
	local victim=$CT_T/victim absent=$CT_T/created-by-runtime payload=$CT_T/payload
	echo "victim: original content" > "$victim"
	chmod 0640 "$victim"
	# Read-only binds: a runtime that reopens the container's stdio on its
	# /dev/null (runc does) must not get a writable file (it would loop).
	echo "payload-$$" > "$payload"
	local fp deep=../../../../../../../../../../..
	fp=$(ct_fingerprint "$victim")
	local verdicts= bad= variant binds
	for variant in devtmpfs nodevtmpfs relative inroot; do
		ct_bundle "symlink-$variant" /bin/sh -c '[ ! -e /mnt/inroot ] || cat /mnt/inroot; echo started'
		local r=$B/rootfs
		mkdir -p "$r/dev/pts" "$r/dev/shm" "$r/dev/mqueue" "$r/mnt"
		case $variant in
		devtmpfs)
			ln -sfn "$victim" "$r/dev/null"
			ln -sfn "$deep$victim" "$r/dev/console"
			binds='["/dev/null", "/dev/console"]' ;;
		nodevtmpfs)
			ln -sfn "$victim" "$r/dev/null"
			ln -sfn "$deep$victim" "$r/dev/console"
			ln -sfn "$deep$absent" "$r/dev/zero"
			ct_jq '.mounts |= map(select(.destination != "/dev"))'
			binds='["/dev/null", "/dev/console", "/dev/zero"]' ;;
		relative)
			ln -sfn "$deep$victim" "$r/mnt/victim"
			binds='["/mnt/victim"]' ;;
		inroot)
			mkdir -p "$r$(dirname "$victim")"
			echo "the root's own file" > "$r$victim"
			ln -sfn "$victim" "$r/mnt/inroot"
			binds='["/mnt/inroot"]' ;;
		esac
		ct_jq --arg p "$payload" --argjson d "$binds" \
			'.mounts += [$d[] | {destination: ., type: "bind", source: $p, options: ["bind", "ro"]}]'
		ct_run 30
		if [ "$(ct_fingerprint "$victim")" != "$fp" ]; then
			bad+=" $variant: the host victim file changed ($(ct_fingerprint "$victim"));"
		fi
		if ct_is_mountpoint "$victim"; then
			bad+=" $variant: the host victim is a mount point on the host;"
		fi
		if [ -e "$absent" ] || [ -L "$absent" ]; then
			bad+=" $variant: a dangling link's host target $absent was created;"
			rm -f "$absent"
		fi
		if grep -q "victim: original" "$B/out"; then
			bad+=" $variant: the container read the host victim;"
		fi
		if [ $rc = 0 ] && grep -q started "$B/out"; then
			verdicts+=" $variant:started"
			if [ $variant = inroot ] && ! grep -q "payload-$$" "$B/out"; then
				bad+=" inroot: the bind is not at /mnt/inroot ($(ct_snip "$B/out"));"
			fi
		elif [ $rc != 0 ] && [ -s "$B/err" ]; then
			verdicts+=" $variant:refused($(ct_snip "$B/err" 100))"
			[ $variant = inroot ] && bad+=" inroot: refused a target that resolves inside the root: $(ct_snip "$B/err");"
		else
			bad+=" $variant: exit $rc with no output or error;"
		fi
	done
	if [ -n "$bad" ]; then
		ct_fail "$name:$bad"
	else
		ct_pass "$name: host file unchanged, not a mount point, nothing created on the host ($verdicts )"
	fi
}

# ---- the chroot escape, with chroot(8) as the control ------------------------
test_chroot_escape() {
	local name="chroot_escape"
	ct_bundle chroot /bin/chroot_escape "$CT_MARKER"
	# The attack needs CAP_SYS_CHROOT (in disco's default set, not runc's).
	ct_jq '.process.capabilities |= with_entries(
		if .key == "ambient" then . else .value = (.value + ["CAP_SYS_CHROOT"] | unique) end)'
	ct_run 30
	if [ $rc = 0 ] && grep -q '^SAFE: still inside' "$B/out"; then
		ct_pass "$name: the kept-fd chroot escape stays inside the container"
	elif [ $rc = 0 ] && grep -q '^SAFE' "$B/out"; then
		ct_fail "$name: inconclusive: the attack could not be tried: $(grep '^SAFE' "$B/out")"
	else
		ct_fail "$name: exit $rc: $(grep -E '^(ESCAPED|SAFE)' "$B/out" | tr '\n' ' ')$(ct_snip "$B/err")"
	fi
	# Control: the same program under a bare chroot into the same tree must
	# get out, or the check above proves nothing.
	timeout 10 chroot "$B/rootfs" /bin/chroot_escape "$CT_MARKER" > "$CT_T/control.out" 2>&1
	local crc=$?
	ct_log "control: exit $crc: $(ct_snip "$CT_T/control.out")"
	if [ $crc = 1 ] && grep -q '^ESCAPED' "$CT_T/control.out"; then
		ct_pass "$name: control: the same escape gets out of a bare chroot(8)"
	else
		ct_fail "$name: control: under chroot(8) the escape did not work (exit $crc): the test cannot detect an escape"
	fi
}

# ---- masked /proc and /sys ---------------------------------------------------
test_masked_proc() {
	local name="masked_proc"
	local host_hostname
	host_hostname=$(cat /proc/sys/kernel/hostname)
	ct_bundle masked /bin/masked_proc
	ct_run 30
	if [ "$(cat /proc/sys/kernel/hostname)" != "$host_hostname" ]; then
		ct_fail "$name: the host's hostname changed to $(cat /proc/sys/kernel/hostname)"
		hostname "$host_hostname"
	elif [ $rc = 0 ] && grep -q '^SAFE: every' "$B/out"; then
		ct_pass "$name: sysrq-trigger, sys/kernel/hostname, drop_caches, kcore, keys, timer_list, sched_debug, /sys/firmware refused or empty"
	else
		ct_fail "$name: exit $rc: $(grep -E '^ESCAPED' "$B/out" | tr '\n' ' ')$(ct_snip "$B/err")"
	fi
}

test_cve_2019_5736
test_cve_2024_21626
test_symlink_targets
test_chroot_escape
test_masked_proc
exit $CT_FAILED
