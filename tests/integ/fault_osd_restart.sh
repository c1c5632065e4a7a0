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

. "$(dirname "$0")/../lib/fault.sh"
fault_cluster 30


fault_start
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

fault_finish
