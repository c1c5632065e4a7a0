#!/usr/bin/env bash
# fault_osd_restart.sh - the only OSD is SIGKILLed and started again at
# once under a writer that appends fsync'ed, checksummed records to a file
# on a mounted volume (tests/c/fsync_records.c run). The lease (30 s) is
# longer than the restart, so this is the OSD restart alone; a stall
# longer than the lease is fault_osd_down_long. The writer must see no
# error and go on; after a clean unmount, fsck finds the filesystem clean,
# and after a remount every record whose fsync returned is intact.
# Figures: the osdmap and I/O resume times, the stall, the records.
# A private cluster: the fault must not reach the runner's cluster.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 fsck.ext4 losetup mkfifo ceph-osd jq
rec=$CEPHVOL_BUILD/tests/fsync_records
[ -x "$rec" ] || fail "no $rec (run make)"

# (on bluestore even in a --memstore run: a killed memstore OSD loses all)
unset CEPHVOL_TEST_CONF CEPHVOL_TEST_KEYRING CEPHVOL_TEST_MEMSTORE
ceph_env
CLUSTER=$(dirname "$CEPH_CONF")
cephlib() { "$CEPHVOL_SRC/tests/lib/ceph.sh" "$@"; }
test_pool
# no admin socket or log for our clients (a stalled client's socket
# stalls the next one of the same name)
awk '{ print } /^\[client\]/ { print "admin socket ="; print "log file =" }' \
    "$CEPH_CONF" > "$T/ceph.conf"
write_config ceph.conf="$T/ceph.conf" volume.lease_seconds=30 log.level=info
M=$T/m

. "$(dirname "$0")/../lib/fault.sh"


step "create and mount volume cv (lease 30 s); the writer starts"
cephvol volume create cv -o size=512M >/dev/null
LOG=$(state_of cv).log
cleanup_fn unmount_quiet
cephvol volume mount cv "$M"
start_writer
# the OSD comes back even when the test fails (cleanups run last first)
osd_back() { cephlib osd-start "$CLUSTER" 2>/dev/null || true; }
cleanup_fn osd_back
wait_records 200 60

step "SIGKILL osd.0 at record $(synced), start it again"
t_kill=$(now_ms)
cephlib osd-kill "$CLUSTER"
cephlib osd-start "$CLUSTER"
t_up=$(now_ms)
step "osd.0 back in the osdmap $((t_up - t_kill)) ms after the kill"
n0=$(synced)
wait_records $((n0 + 200)) 120
read -r gap at t_end <<< "$(stall)"
step "I/O stalled $gap ms (record $at), resumed $((t_end - t_kill)) ms after the kill"

step "stop the writer"
stop_writer
step "writer: $WROTE records fsync'ed, 0 errors; longest write+fsync $LONGEST ms (record $LONGEST_AT)"

step "unmount: clean, nothing left"
cephvol volume unmount "$M"
no_leftovers
e=$(served_errors)
step "cephvol-mount counted ${e:-?} failed requests"
assert_eq "${e:-?}" 0 "requests cephvol-mount failed"

step "fsck -n -f of the image"
fsck_image
step "remount: all $WROTE fsync'ed records intact"
verify "$WROTE"
