#!/usr/bin/env bash
# mount_helper.sh - cephvol-mount on its own (no loop): its readiness line
# ("ok" or "error: <sentence>"), a clean stop on SIGTERM (exit 0, FUSE
# mount gone, lease released), and self-fencing: stopped past its lease
# while another process takes the volume over, it answers every later
# read and write with EIO and says so loudly in its log.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfifo dd
ceph_env
test_pool
# no admin socket: a SIGSTOPped client's socket would stall the next one
awk '{ print } /^\[client\]/ { print "admin socket ="; print "log file =" }' \
    "$CEPH_CONF" > "$T/ceph.conf"
write_config ceph.conf="$T/ceph.conf" volume.lease_seconds=3 log.level=info
MOUNT=$CEPHVOL_BIN/cephvol-mount

# start_helper VAR NAME VOLUME: start cephvol-mount on $T/NAME, wait for
# its readiness line (READY), its pid in VAR.
start_helper() {
	local var=$1 name=$2 vol=$3
	rm -f "$T/$name.ready"
	mkfifo "$T/$name.ready"
	"$MOUNT" --ready-fd 3 "$vol" "$T/$name" 3> "$T/$name.ready" 2> "$T/$name.log" &
	printf -v "$var" %s $!
	# at exit: stop it (continued first: it may be stopped), which
	# unmounts; then any mount left
	cleanup_fn umount_quiet "$T/$name"
	cleanup_fn stop_helper $!
	read -r READY < "$T/$name.ready"
}
umount_quiet() { umount "$1" 2>/dev/null || true; }
# stop_helper PID [SIGNAL]: signal it (unless it is gone), reap it, its
# exit status in STATUS; once only per pid.
REAPED=" "
stop_helper() {
	local pid=$1 sig=${2:-TERM} i
	STATUS=
	[[ "$REAPED" == *" $pid "* ]] && return 0
	kill -CONT "$pid" 2>/dev/null || true
	kill -"$sig" "$pid" 2>/dev/null || true
	for (( i = 0; i < 100; i++ )); do
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo Z)" = Z ] && break
		sleep 0.1
	done
	[ "$i" -lt 100 ] || { echo "cephvol-mount $pid ignores SIG$sig: SIGKILL" >&2; kill -KILL "$pid" 2>/dev/null || true; }
	STATUS=0
	wait "$pid" 2>/dev/null || STATUS=$?
	REAPED+="$pid "
}

step "readiness: an error sentence for a volume that does not exist"
start_helper p0 none nope
assert_eq "$READY" "error: volume nope does not exist"
stop_helper "$p0"
assert_eq "$STATUS" 1 "exit status"

step "readiness ok; the image file has the volume's size"
cephvol volume create hv -o size=256M >/dev/null
start_helper p1 a hv
assert_eq "$READY" ok
assert_eq "$(stat -c %s "$T/a/image")" $((256 * 1024 * 1024)) "image size"
head -c 1048576 /dev/urandom > "$T/chunk"
dd if="$T/chunk" of="$T/a/image" bs=1M seek=3 oflag=direct conv=notrunc status=none
cmp <(dd if="$T/a/image" bs=1M skip=3 count=1 iflag=direct status=none) "$T/chunk"
assert_contains "$(cephvol lock ls hv)" "pid:     $p1"

step "SIGTERM: flush, unmount, release the lease, exit 0"
stop_helper "$p1" TERM
assert_eq "$STATUS" 0 "exit status after SIGTERM"
! grep -qF " $T/a " /proc/self/mounts || fail "FUSE mount left after SIGTERM"
assert_not_contains "$(cephvol lock ls hv 2>&1)" "pid:"
grep -q "stopped" "$T/a.log" || fail "no 'stopped' in the log"

step "lease loss: stopped past its lease, taken over, then only EIO"
start_helper p2 b hv
assert_eq "$READY" ok
dd if="$T/chunk" of="$T/b/image" bs=1M seek=5 oflag=direct conv=notrunc status=none
kill -STOP "$p2"
expired() { cephvol lock ls hv 2>/dev/null | grep -q "(expired)"; }
wait_for 30 expired
start_helper p3 c hv
assert_eq "$READY" ok
grep -q "taken over from" "$T/c.log" || fail "the second holder did not take over: $(cat "$T/c.log")"
kill -CONT "$p2"
expect_fail dd if="$T/chunk" of="$T/b/image" bs=1M seek=6 oflag=direct conv=notrunc status=none
assert_contains "$ERR" "Input/output error"
expect_fail dd if="$T/b/image" of=/dev/null bs=4k count=1 iflag=direct status=none
assert_contains "$ERR" "Input/output error"
grep -q "LEASE LOST on volume=hv" "$T/b.log" || fail "no loud lease-loss line in: $(cat "$T/b.log")"
# the new holder is unharmed and reads what the old one wrote before
cmp <(dd if="$T/c/image" bs=1M skip=5 count=1 iflag=direct status=none) "$T/chunk"
umount "$T/b"
stop_helper "$p2"
umount "$T/c"
stop_helper "$p3"
assert_eq "$STATUS" 0 "exit status of the new holder"

step "--secrets is handed to the secrets server"
out=$("$MOUNT" --secrets --help 2>&1 || true)
assert_not_contains "$out" "usage: cephvol-mount [-c FILE]"
