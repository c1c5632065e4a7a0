#!/usr/bin/env bash
# trust_fenced_mount.sh - a host whose mount lost the lease never hands it
# out again. Host A (cephvold) mounts block volume fv and writes; host B
# breaks A's lease by force and mounts fv itself. A new Mount of fv on A
# must fail naming B (today's mount there fails every I/O), A's existing
# mount fails I/O rather than succeeding, and when A's last reference goes
# its fenced mount is cleaned up (no mount, no loop device, no helper).
# Once B lets go, A mounts fv again and sees what B wrote.
# timeout: 180
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq mkfs.ext4
ceph_env
test_pool
write_config log.level=info volume.lease_seconds=3
second_host b
b() { CEPHVOL_CONF=$T/b.conf cephvol "$@"; }
quietly() { "$@" >/dev/null 2>&1 || true; }
unmount_b() { b volume unmount "$T/mb" fv >/dev/null 2>&1 || true; }
cleanup_fn unmount_b

step "host A mounts fv through cephvold and writes"
cephvol volume create fv -o size=256M >/dev/null
start_cephvold
mp=$(api VolumeDriver.Mount '{"Name":"fv","ID":"m1"}' | jq -r .Mountpoint)
cleanup_fn quietly api VolumeDriver.Unmount '{"Name":"fv","ID":"m1"}'
echo from-a > "$mp/a"
sync -f "$mp/a"
S=$(state_of fv)
apid=$(head -n 1 "$S.pid" 2>/dev/null || head -n 1 "$T/state/fuse/fv.pid")	# (or the old layout's)

step "host B breaks A's lease by force and mounts fv"
b --yes lock break fv >/dev/null
b volume mount fv "$T/mb"
assert_eq "$(cat "$T/mb/a")" "from-a" "B sees A's synced file"
echo from-b > "$T/mb/b"
sync -f "$T/mb/b"

step "a new Mount on A fails, naming B"
out=$(api VolumeDriver.Mount '{"Name":"fv","ID":"m2"}' || true)
echo "$out"
assert_contains "$out" "lost the volume's lease"
assert_contains "$out" "$HOST_CLIENT"
[ "$(echo "$out" | jq -r '.Mountpoint // empty')" = "" ] || fail "Mount handed out a mountpoint: $out"
out=$(api VolumeDriver.Get '{"Name":"fv"}')
echo "$out" | jq -c .Volume.Status

step "A's existing mount fails I/O instead of writing"
if (echo late > "$mp/late" && sync -f "$mp/late") 2>/dev/null; then
	fail "a write on A's fenced mount succeeded"
fi

step "A's last Unmount cleans its fenced mount up"
api VolumeDriver.Unmount '{"Name":"fv","ID":"m1"}' >/dev/null
! grep -qF " $mp " /proc/self/mounts || fail "A's fenced filesystem is still mounted"
! grep -qF " $S " /proc/self/mounts || fail "A's FUSE mount is still there"
! losetup -n -l -O BACK-FILE | grep -qF "$S/" || fail "A's loop device is still attached"
gone() { ! kill -0 "$apid" 2>/dev/null; }
wait_for 15 gone

step "B lets go; A mounts fv again and sees B's file"
b volume unmount "$T/mb"
mp=$(api VolumeDriver.Mount '{"Name":"fv","ID":"m3"}' | jq -r .Mountpoint)
assert_eq "$(cat "$mp/b")" "from-b" "A sees B's file"
! [ -e "$mp/late" ] || fail "A's late write reached the volume"
api VolumeDriver.Unmount '{"Name":"fv","ID":"m3"}' >/dev/null
