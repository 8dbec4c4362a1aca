# Resource limits hold against hostile processes (RT=disco by default, or
# RT=runc): a fork bomb under pids.limit 64, a memory hog under a 64 MiB
# limit (OOM-killed; the host, this shell and a sibling container live on),
# a CPU hog under a 20% quota. docs/CONTAINER-SECURITY.md.
source "$(dirname "$0")/ct_lib.bash"
ct_init

test_fork_bomb() {
	local name="fork_bomb: pids.limit 64"
	ct_bundle forkbomb /bin/fork_bomb -t 4 -m 64
	ct_jq '.linux.resources.pids = {limit: 64}'
	ct_run 40
	local forked
	forked=$(sed -n 's/^forked \([0-9]*\) children.*/\1/p' "$B/out")
	if [ $rc = 0 ] && grep -q '^SAFE' "$B/out" && [ "${forked:-0}" -gt 0 ]; then
		ct_pass "$name: fork failed after $forked children"
	else
		ct_fail "$name: exit $rc, forked ${forked:-?}: $(grep -E '^(ESCAPED|forked)' "$B/out" | tr '\n' ' ')$(ct_snip "$B/err")"
	fi
	if /bin/sh -c 'exit 7'; [ $? = 7 ]; then
		ct_pass "$name: the host still forks afterwards"
	else
		ct_fail "$name: the host cannot run a command afterwards"
	fi
}

test_mem_hog() {
	local name="mem_hog: memory.limit 64M"
	# A sibling container, which must survive the OOM kill next door.
	ct_bundle sibling /bin/sleep 60
	local sib=$ID sibB=$B
	rtt 20 create --bundle "$sibB" "$sib" < /dev/null > "$sibB/out" 2> "$sibB/err" &&
		rtt 20 start "$sib" > /dev/null 2>> "$sibB/err" ||
		{ ct_fail "$name: the sibling container did not start: $(ct_snip "$sibB/err")"; return; }
	ct_bundle memhog /bin/mem_hog -m 512
	# swap = limit: no swapping around the limit (memsw on cgroup v1).
	ct_jq '.linux.resources.memory = {limit: 67108864, swap: 67108864}'
	ct_run 60
	local last
	last=$(sed -n 's/^allocated \([0-9]*\) MiB$/\1/p' "$B/out" | tail -n 1)
	if grep -q '^ESCAPED' "$B/out"; then
		ct_fail "$name: $(grep '^ESCAPED' "$B/out")"
	elif [ $rc = 137 ] && [ "${last:-0}" -ge 16 ] && [ "${last:-0}" -le 80 ]; then
		ct_pass "$name: OOM-killed (SIGKILL) after $last MiB"
	else
		ct_fail "$name: exit $rc after ${last:-0} MiB (want 137, by SIGKILL, at 16..80 MiB): $(ct_snip "$B/err")"
	fi
	if [ "$(ct_state "$sib")" = running ] && kill -0 $$; then
		ct_pass "$name: the sibling container and the host's shell survive"
	else
		ct_fail "$name: the sibling container is $(ct_state "$sib") after the OOM kill"
	fi
	rtt 10 kill "$sib" KILL > /dev/null 2>&1
	ct_wait_state "$sib" stopped 10
	rtt 10 delete --force "$sib" > /dev/null 2>&1
}

test_cpu_hog() {
	local name="cpu_hog: cpu quota 20% of one CPU"
	ct_bundle cpuhog /bin/cpu_hog -t 3 -r 0.25
	ct_jq '.linux.resources.cpu = {quota: 20000, period: 100000}'
	ct_run 30
	local got
	got=$(grep -o '[0-9.]*% of one CPU' "$B/out")
	if [ $rc = 0 ] && grep -q '^SAFE' "$B/out"; then
		ct_pass "$name: got $got"
	else
		ct_fail "$name: exit $rc, got ${got:-?}: $(ct_snip "$B/err")"
	fi
	# Control: without the quota the same program gets far more, so the
	# check above can fail.
	ct_bundle cpuhog-free /bin/cpu_hog -t 1 -r 0.25
	ct_run 30
	got=$(grep -o '[0-9.]*% of one CPU' "$B/out")
	if [ $rc = 1 ] && grep -q '^ESCAPED' "$B/out"; then
		ct_pass "$name: control: $got without a quota"
	else
		ct_fail "$name: control: without a quota, exit $rc and ${got:-?}: the check cannot fail"
	fi
}

test_fork_bomb
test_mem_hog
test_cpu_hog
exit $CT_FAILED
