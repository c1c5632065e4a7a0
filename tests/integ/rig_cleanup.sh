#!/usr/bin/env bash
# rig_cleanup.sh - tests/functions.sh cleans up on every exit path: an
# inner test that starts dockerd (with a running container), a private
# Ceph cluster and a background process, then fails -- or is killed with
# SIGTERM, or SIGINT, while waiting -- leaves no process, mount or
# directory behind, and the exit status says what happened. Also: skip
# exits 77, and a test that leaks a process is failed by the sweep.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires dockerd ceph-mon

# the inner test: sets everything up, writes its pids, then ends as $1 says
cat > "$T/inner.sh" <<'INNER'
. "$CEPHVOL_SRC/tests/functions.sh"
unset CEPHVOL_TEST_CONF		# a private cluster of its own
ceph_env
start_dockerd
docker run -d --pull never --network none localhost/busybox:test sleep 300 >/dev/null
sleep 300 &
cleanup_fn kill $!
{
	echo "$DOCKERD_PID"
	cat "$T/ceph/pids" | awk '{ print $1 }'
	pgrep -f "$T/docker/exec/containerd" || true
	echo "$!"
} > "$PIDS"
echo "$T" > "$PIDS.dir"
case "$1" in
fail) false ;;
wait) touch "$PIDS.ready"; sleep 300 ;;
skip) skip "inner skip" ;;
leak) sleep 301 & echo "$!" >> "$PIDS" ;;	# not cleaned up: the sweep must find it
esac
INNER

# run_inner MODE [SIGNAL]: run the inner test, return its exit status in RC
run_inner() {
	local mode=$1 sig=${2:-} pid
	export PIDS=$T/pids.$mode
	rm -f "$PIDS" "$PIDS.ready"
	RC=0
	if [ -z "$sig" ]; then
		CEPHVOL_TEST_MEMSTORE=1 CEPHVOL_TEST_TMP=$T/inner bash "$T/inner.sh" "$mode" > "$T/inner.$mode.log" 2>&1 || RC=$?
	else
		# job control on: the inner test gets its own process group and,
		# unlike a plain background job, does not ignore SIGINT
		set -m
		CEPHVOL_TEST_MEMSTORE=1 CEPHVOL_TEST_TMP=$T/inner bash "$T/inner.sh" "$mode" > "$T/inner.$mode.log" 2>&1 &
		pid=$!
		set +m
		wait_for 60 test -e "$PIDS.ready"
		kill -"$sig" -- -"$pid"		# the whole process group, like ^C or timeout
		wait "$pid" || RC=$?
	fi
	echo "inner '$mode' ${sig:+(SIG$sig) }exited $RC; pids $(tr '\n' ' ' < "$PIDS")"
}

# check_gone MODE: nothing the inner test started is alive, its dir is gone
check_gone() {
	local p st dir
	dir=$(cat "$PIDS.dir")
	for p in $(cat "$PIDS"); do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
		[ "$st" = Z ] && continue
		fail "$1: pid $p ($(cat /proc/$p/comm)) is still running"
	done
	[ ! -e "$dir" ] || fail "$1: $dir still exists"
	! grep -qF "$dir/" /proc/self/mountinfo || fail "$1: mounts left under $dir"
}

step "a failing test"
run_inner fail
assert_eq "$RC" 1 "exit status of a failing test"
check_gone fail
grep -q 'FAIL: exit status 1 at' "$T/inner.fail.log" || fail "no failure message: $(cat "$T/inner.fail.log")"

step "a test killed with SIGTERM"
run_inner wait TERM
assert_eq "$RC" 143 "exit status of a terminated test"
check_gone TERM

step "a test interrupted with SIGINT"
run_inner wait INT
assert_eq "$RC" 130 "exit status of an interrupted test"
check_gone INT

step "skip"
run_inner skip
assert_eq "$RC" 77 "exit status of a skipped test"
check_gone skip
grep -q '^skip: inner skip' "$T/inner.skip.log" || fail "no skip reason in the log"

step "a leaked process is found, stopped and fails the test"
run_inner leak
assert_eq "$RC" 1 "exit status of a test that leaked"
check_gone leak
grep -q 'left behind by the test' "$T/inner.leak.log" || fail "leak not reported: $(cat "$T/inner.leak.log")"
grep -q 'sleep 301' "$T/inner.leak.log" || fail "leaked process not named"
rmdir "$T/inner"
