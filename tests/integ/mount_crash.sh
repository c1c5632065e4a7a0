#!/usr/bin/env bash
# mount_crash.sh - crash safety of the data path: a writer appends
# fsync'ed, checksummed records to a file on a mounted volume; cephvol-mount
# is SIGKILLed mid-writes; `cephvol volume unmount` clears the stale mount,
# loop and FUSE mount; mounting again takes the lease over (blocklist,
# break, acquire, after the short test lease expired); every record whose
# fsync returned is present and intact, and the filesystem's own checker
# (`fsck.ext4 -n`, `xfs_repair -n`) finds it clean. Run on both
# filesystems a volume can have: ext4, and xfs, the default from 300M,
# whose cache flushes cephvol-mount answers without a round trip (a
# write is acknowledged only once RADOS has it).
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 fsck.ext4 mkfs.xfs xfs_repair blkid losetup mkfifo
rec=$CEPHVOL_BUILD/tests/fsync_records
. "$(dirname "$0")/../lib/fault.sh"	# synced, wait_records, no_leftovers, fsck_image
[ -x "$rec" ] || fail "no $rec (run make)"
ceph_env
test_pool
# no admin socket: a killed client's socket must not stall the next one
awk '{ print } /^\[client\]/ { print "admin socket ="; print "log file =" }' \
    "$CEPH_CONF" > "$T/ceph.conf"
write_config ceph.conf="$T/ceph.conf" volume.lease_seconds=3 log.level=info
M=$T/m

unmount_dir() { cephvol volume unmount "$1" >/dev/null 2>&1 || true; }
cleanup_fn unmount_dir "$M"

# crash_cycle FS: the whole cycle on a new volume cv-FS
crash_cycle() {
	local fs=$1 v=cv-$1 S LOG pid wpid wstatus last ok out i

	step "$fs: create and mount volume $v"
	cephvol volume create "$v" -o size=1G -o fs="$fs" >/dev/null
	cephvol volume mount "$v" "$M"
	S=$(state_of "$v")
	LOG=$S.log
	pid=$(head -n 1 "$S.pid")
	findmnt "$M" >&2
	assert_eq "$(findmnt -no FSTYPE "$M")" "$fs" "filesystem of $v"

	step "$fs: append fsync'ed records, SIGKILL cephvol-mount $pid mid-writes"
	: > "$T/rec.out"
	"$rec" write "$M/records" > "$T/rec.out" 2> "$T/rec.err" &
	wpid=$!
	cleanup_fn kill_quiet "$wpid"
	wait_records 300 60
	kill -KILL "$pid"
	# the writer's next fsync fails (the FUSE connection is gone)
	for (( i = 0; i < 200; i++ )); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$wpid" 2>/dev/null && fail "the writer still runs 20 s after the server died"
	wstatus=0; wait "$wpid" || wstatus=$?
	[ "$wstatus" != 0 ] || fail "the writer finished without an error"
	last=$(synced)
	echo "writer: $(cat "$T/rec.err"); $last records fsync'ed"

	step "$fs: clean up the stale mount, loop and FUSE mount"
	cephvol volume unmount "$M"
	no_leftovers
	[ ! -e "$S.pid" ] || fail "stale pid file left"

	step "$fs: mount again: refused while the dead holder's lease runs, then taken over"
	ok=
	for (( i = 0; i < 40; i++ )); do
		if out=$(cephvol volume mount "$v" "$M" 2>&1); then ok=1; break; fi
		assert_contains "$out" "is in use by client.admin"
		no_leftovers
		sleep 0.5
	done
	[ -n "$ok" ] || fail "could not mount again: $out"
	grep -q "taken over from" "$LOG" || fail "no takeover in $LOG"

	step "$fs: every fsync'ed record is intact"
	"$rec" check "$M/records" "$last"
	cephvol volume unmount "$M"
	no_leftovers

	step "$fs: the filesystem checker on the image, read-only"
	fsck_image "$v"
}

crash_cycle ext4
crash_cycle xfs
