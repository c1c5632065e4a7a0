#!/usr/bin/env bash
# fault_osd_down_long.sh - a stall of the cluster is a stall, never an
# error: the only OSD is SIGKILLed and kept down for 15 s, five times the
# volume's lease (3 s), under a writer that appends fsync'ed, checksummed
# records to a file on a mounted volume (tests/c/fsync_records.c run).
# The holder cannot renew its lease meanwhile; it must keep the writer's
# I/O waiting, not fail it: the writer sees no error and resumes once the
# OSD is back; after a clean unmount fsck finds the filesystem clean, and
# after a remount every record whose fsync returned is intact.
# Figures: the stall, the records, the errors.
# A private cluster: the fault must not reach the runner's cluster.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 fsck.ext4 losetup mkfifo ceph-osd jq
rec=$CEPHVOL_BUILD/tests/fsync_records
[ -x "$rec" ] || fail "no $rec (run make)"
LEASE=3
DOWN=15

. "$(dirname "$0")/../lib/fault.sh"
fault_cluster "$LEASE"


fault_start
# the OSD comes back even when the test fails (cleanups run last first)
osd_back() { cephlib osd-start "$CLUSTER" 2>/dev/null || true; }
cleanup_fn osd_back
wait_records 200 60

step "SIGKILL osd.0 at record $(synced); it stays down ${DOWN}s"
t_kill=$(now_ms)
cephlib osd-kill "$CLUSTER"
# the writer must not fail meanwhile; it cannot make progress (a record
# already acknowledged by the OSD may still complete at the kill)
for (( i = 0; i < DOWN * 10; i++ )); do
	alive "$wpid" || writer_failed
	[ "$i" = 20 ] && n1=$(synced)
	sleep 0.1
done
n2=$(synced)
step "records fsync'ed while osd.0 was down (after its first 2 s): $((n2 - n1))"
[ "$n2" = "$n1" ] || fail "records were fsync'ed with the only OSD down ($n1 -> $n2): no fault?"
step "cephvol-mount's lease-lost messages while osd.0 was down: $(grep -c "LEASE LOST" "$LOG" || true)"

step "start osd.0 again"
t_start=$(now_ms)
cephlib osd-start "$CLUSTER"
t_up=$(now_ms)
step "osd.0 back in the osdmap $((t_up - t_start)) ms after its start, $((t_up - t_kill)) ms after the kill"
# the writer resumes (within 60 s), then goes on
wait_records $((n2 + 1)) 60
wait_records $((n2 + 200)) 60
read -r gap at t_end <<< "$(stall)"
step "I/O stalled $gap ms (record $at), resumed $((t_end - t_up)) ms after osd.0 was back"

fault_finish
