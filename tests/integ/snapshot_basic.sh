#!/usr/bin/env bash
# snapshot_basic.sh - snapshots of a block volume, real Ceph, a real mount:
# bad input changes nothing; a snapshot of an unmounted volume is taken
# under the CLI's own lease; one of a mounted volume is taken by its holder
# (cephvol-mount), which freezes the filesystem, while a writer appends
# fsync'ed records (no error, a pause); rollback is refused while mounted
# and, after unmount, returns the volume to the snapshot exactly (files,
# every record synced before the snapshot, fsck clean); removing the
# snapshots and the volume gives the pool's objects back.
# timeout: 300
. "$(dirname "$0")/../functions.sh"
. "$CEPHVOL_SRC/tests/lib/fault.sh"
requires_root
requires mkfs.ext4 fsck.ext4 jq rados
rec=$CEPHVOL_BUILD/tests/fsync_records
[ -x "$rec" ] || fail "no $rec (run make)"
ceph_env
test_pool
write_config volume.lease_seconds=5 log.level=info
M=$T/m

unmount_quiet() { cephvol volume unmount "$1" sv >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$M"
stop_writer() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }
snaps() { cephvol --json snapshot ls sv | jq -r '[.[].name] | join(" ")'; }

cephvol volume create sv -o size=256M -o objectsize=1M >/dev/null
cephvol volume create sec -o type=secrets -o secrets=nothing >/dev/null

step "bad input: a clear error, nothing changed"
expect_fail cephvol snapshot create nosuch s1
assert_contains "$ERR" "no such volume: nosuch"
expect_fail cephvol snapshot create sv 'bad/name'
assert_contains "$ERR" "bad snapshot name 'bad/name'"
expect_fail cephvol snapshot create sec s1
assert_contains "$ERR" "volume sec is a secrets volume: only block volumes have snapshots"
expect_fail cephvol snapshot rm sv nosnap
assert_contains "$ERR" "volume sv has no snapshot nosnap"
expect_fail cephvol volume rollback sv nosnap
assert_contains "$ERR" "volume sv has no snapshot nosnap"
status=0; cephvol snapshot create sv 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of create without a snapshot name"
assert_eq "$(snaps)" "" "snapshots after bad input"

step "a snapshot of a volume nobody mounted: under the CLI's lease"
out=$(cephvol snapshot create sv blank)
assert_eq "$out" "sv@blank" "create output"
assert_eq "$(snaps)" "blank" "snapshots"
expect_fail cephvol snapshot create sv blank
assert_contains "$ERR" "volume sv already has a snapshot named blank"

step "mount, write, snapshot while mounted: taken by the holder, frozen"
cephvol volume mount sv "$M"
S=$(state_of sv)
echo one > "$M/a"
sync
out=$(cephvol snapshot create sv s1)
echo "$out"
assert_contains "$out" "sv@s1 (taken by client."
assert_contains "$out" "its filesystem was frozen"
grep -q "snapshot s1 (id [0-9]*) taken in .* filesystem frozen at $M" "$S.log" ||
    fail "the holder's log does not say it froze $M: $(grep snapshot "$S.log")"
expect_fail cephvol snapshot create sv s1
assert_contains "$ERR" "already has a snapshot named s1"
echo two > "$M/a"
echo new > "$M/b"
sync

step "snapshots while a writer appends fsync'ed records: a pause, no error"
"$rec" run "$M/records" > "$T/rec.out" 2> "$T/rec.err" &
w=$!
cleanup_fn stop_writer $w
synced() { tail -n 1 "$T/rec.out" 2>/dev/null | awk '{ n = $2 } END { print n + 0 }'; }
at_least() { [ "$(synced)" -ge "$1" ]; }
wait_for 60 at_least 50
before=()
for i in 1 2 3 4 5; do
	before[$i]=$(synced)
	cephvol --json snapshot create sv "w$i" > "$T/w$i.json"
	jq -e '.online and .froze' "$T/w$i.json" >/dev/null || fail "w$i: $(cat "$T/w$i.json")"
	wait_for 30 at_least $(( ${before[$i]} + 20 ))
done
kill "$w"
wstatus=0; wait "$w" || wstatus=$?
[ "$wstatus" = 0 ] || fail "the writer failed: $(cat "$T/rec.err")"
[ ! -s "$T/rec.err" ] || fail "the writer said: $(cat "$T/rec.err")"
echo "frozen ms: $(jq -r .frozen_ms "$T"/w?.json | tr '\n' ' ');" \
    "writer: $(tail -n 1 "$T/rec.out")"
assert_eq "$(snaps)" "blank s1 w1 w2 w3 w4 w5" "snapshots"

step "a holder that does not answer in time: the create fails naming it, nothing made"
hpid=$(head -n 1 "$S.pid")
kill -STOP "$hpid"
cont() { kill -CONT "$1" 2>/dev/null || true; }
cleanup_fn cont "$hpid"
expect_fail cephvol snapshot create sv late --timeout 2
kill -CONT "$hpid"
assert_contains "$ERR" "cannot snapshot volume sv: it is in use by client."
assert_contains "$ERR" "did not answer within 2000 ms"
sleep 3		# it gets the request now, past its deadline
assert_not_contains "$(snaps)" late
grep -q "snapshot late not taken: the request arrived past its deadline" "$S.log" ||
    fail "the holder's log: $(grep late "$S.log")"

step "from another host (its own client, the documented caps): taken by the holder"
second_host b
out=$(CEPHVOL_CONF=$T/b.conf cephvol snapshot create sv fromb)
assert_contains "$out" "sv@fromb (taken by client.admin"

step "inspect: the snapshots, and what each holds alone"
cephvol volume inspect sv | grep '^snapshot:' >&2
cephvol --json volume inspect sv | jq -c .snapshot_bytes_alone > "$T/alone"
cat "$T/alone" >&2
jq -e '.blank == 0 and .s1 > 0 and .w1 > 0 and .w2 > 0' "$T/alone" >/dev/null ||
    fail "bytes held alone: $(cat "$T/alone")"
cephvol volume inspect sv | grep -q "^snapshot:    s1, 256M, taken .*, holds [1-9][0-9]* bytes alone$" ||
    fail "inspect: $(cephvol volume inspect sv)"

step "rollback is refused while the volume is mounted, naming the holder"
expect_fail cephvol volume rollback sv s1
assert_contains "$ERR" "cannot roll back volume sv: volume sv is in use by client."
assert_contains "$ERR" "unmount it everywhere first"
grep -q two "$M/a" || fail "the refused rollback changed the file"

step "unmount; another host snapshots it under its own lease"
cephvol volume unmount "$M" sv
out=$(CEPHVOL_CONF=$T/b.conf cephvol snapshot create sv offb)
assert_eq "$out" "sv@offb" "offline create from host b"

step "rollback to w3: every record synced before it is there"
cephvol volume rollback sv w3
cephvol volume mount sv "$M"
"$rec" check "$M/records" "${before[3]}"
grep -q two "$M/a" || fail "a is not 'two' at w3"
cephvol volume unmount "$M" sv

step "rollback to s1: a is 'one', b and the records are gone; fsck clean"
cephvol volume rollback sv s1
cephvol volume mount sv "$M"
assert_eq "$(cat "$M/a")" one "a at s1"
[ ! -e "$M/b" ] || fail "b exists at s1"
[ ! -e "$M/records" ] || fail "records exist at s1"
cephvol volume unmount "$M" sv
fsck_image sv

step "forward again: rollback to w5 (newer snapshots survived the rollback)"
cephvol volume rollback sv w5
cephvol volume mount sv "$M"
"$rec" check "$M/records" "${before[5]}"
cephvol volume unmount "$M" sv

step "interrupted: snapshot rm and a rollback, killed half way; fsck says so"
status=0; CEPHVOL_CRASH_AT=snapshot.rm.mark cephvol snapshot rm sv w1 2>/dev/null || status=$?
assert_eq "$status" 99 "exit status of the crashed rm"
status=0; CEPHVOL_CRASH_AT=snapshot.rollback.object cephvol volume rollback sv w2 2>/dev/null || status=$?
assert_eq "$status" 99 "exit status of the crashed rollback"
expect_fail cephvol snapshot rm sv w2
assert_contains "$ERR" "a rollback to it is running, or broke off"
fsck_out=$(cephvol fsck 2>&1 || true)
echo "$fsck_out"
assert_contains "$fsck_out" "snapshot-removing: snapshot w1 of volume sv: its removal stopped half way"
assert_contains "$fsck_out" "rollback-unfinished: volume sv: a rollback to snapshot w2 broke off"
cephvol fsck --repair >/dev/null 2>&1 || true
assert_not_contains "$(snaps)" "w1"
# the crashed rollback's lease runs out by itself (5 s here)
wait_for 30 cephvol volume rollback sv w2
cephvol snapshot rm sv w2

step "remove the snapshots and the volume: the pool's objects go"
for s in blank s1 w3 w4 w5 fromb offb; do cephvol snapshot rm sv "$s"; done
assert_eq "$(snaps)" "" "snapshots after rm"
cephvol volume rm sv
cephvol volume rm sec
left() { rados -p "$POOL" ls | grep -c '^cephvol\.data\.' || true; }
# listed until the OSD has trimmed what the snapshots kept (at once here:
# tests/lib/ceph.sh sets osd_snap_trim_sleep to 0)
no_data() { [ "$(left)" = 0 ]; }
wait_for 60 no_data
cephvol fsck | tee "$T/fsck.out"
assert_contains "$(cat "$T/fsck.out")" " 0 problems found"
