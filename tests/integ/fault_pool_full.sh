#!/usr/bin/env bash
# fault_pool_full.sh - a full pool is a stall, never an error: under a
# writer that appends fsync'ed, checksummed records to a file on a mounted
# volume (tests/c/fsync_records.c run), the cluster is made full (`ceph
# osd set-full-ratio` and the nearfull/backfillfull ratios below current
# use: pool quotas are not enforced without a mgr) and kept full for 15 s,
# five times the volume's lease (3 s). Renewing the lease must not need
# free space; the writes must block, as kernel RBD's do by default, and
# resume when space returns: the writer sees no error, resumes, and
# finishes when told; after a clean unmount fsck finds the filesystem
# clean, and after a remount every record whose fsync returned is intact.
# Figures: the time to full and back, the stall, the records, the errors.
# A private cluster: the fault must not reach the runner's cluster.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 fsck.ext4 losetup mkfifo ceph-osd jq
rec=$CEPHVOL_BUILD/tests/fsync_records
[ -x "$rec" ] || fail "no $rec (run make)"
LEASE=3
HOLD=15

. "$(dirname "$0")/../lib/fault.sh"
fault_cluster "$LEASE"


fault_start
# space comes back even when the test fails (cleanups run last first)
space_back() { cephlib full "$CLUSTER" off 2>/dev/null || true; }
cleanup_fn space_back
wait_records 200 60

step "make the cluster full at record $(synced)"
t_set=$(now_ms)
cephlib full "$CLUSTER" on
t_full=$(now_ms)
ceph osd dump | grep -E '^(pool|osd\.)' | sed 's/^/  /' >&2
step "pools full $((t_full - t_set)) ms after the ratios were lowered; kept full ${HOLD}s"
# the writer must not fail meanwhile; it cannot make progress (a write
# the client sent before it saw the full map may still complete)
for (( i = 0; i < HOLD * 10; i++ )); do
	alive "$wpid" || writer_failed
	[ "$i" = 20 ] && n1=$(synced)
	sleep 0.1
done
n2=$(synced)
step "records fsync'ed while full (after its first 2 s): $((n2 - n1))"
[ "$n2" = "$n1" ] || fail "records were fsync'ed with the pool full ($n1 -> $n2): no fault?"
step "cephvol-mount's lease-lost messages while full: $(grep -c "LEASE LOST" "$LOG" || true)"

step "space returns (ratios restored)"
t_off=$(now_ms)
cephlib full "$CLUSTER" off
t_clear=$(now_ms)
step "pools not full any more $((t_clear - t_off)) ms after the ratios were restored"
# the writer resumes (within 60 s), then goes on
wait_records $((n2 + 1)) 60
wait_records $((n2 + 200)) 60
read -r gap at t_end <<< "$(stall)"
step "I/O stalled $gap ms (record $at), resumed $((t_end - t_off)) ms after the ratios were restored"

fault_finish
