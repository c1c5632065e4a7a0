#!/usr/bin/env bash
# clone_basic.sh - volumes made from snapshots, real Ceph, real mounts:
# a clone (--from VOL@SNAP) is made in O(1), sees exactly the snapshot's
# files, writes without touching its parent, fsck clean; a clone of a
# clone; a read-only snapshot volume (-o snapshot=) mounted on two hosts at
# once while its source is written on one of them; writes to it fail;
# snapshots and volumes with clones cannot be removed (the error names the
# clones); flatten lets go of the parent; bad input changes nothing; at the
# end every object is gone.
# timeout: 300
. "$(dirname "$0")/../functions.sh"
. "$CEPHVOL_SRC/tests/lib/fault.sh"
requires_root
requires mkfs.ext4 fsck.ext4 jq rados
ceph_env
test_pool
write_config volume.lease_seconds=5 log.level=info
second_host b
M=$T/m
unmount_quiet() { cephvol volume unmount "$1" >/dev/null 2>&1 || true; }
unmount_b() { CEPHVOL_CONF=$T/b.conf cephvol volume unmount "$1" >/dev/null 2>&1 || true; }
for d in v c1 c2 ro; do cleanup_fn unmount_quiet "$M.$d"; done
cleanup_fn unmount_b "$M.rob"
parent_of() { cephvol --json volume inspect "$1" | jq -r '.parent | "\(.volume)@\(.snapshot)"'; }

step "a volume with files, a snapshot"
cephvol volume create v -o size=256M -o objectsize=1M >/dev/null
cephvol volume mount v "$M.v"
echo one > "$M.v/a"
mkdir "$M.v/dir" && seq 1 20000 > "$M.v/dir/numbers"
sync
cephvol snapshot create v s1 >/dev/null
echo two > "$M.v/a"
sync

step "bad input: a clear error, nothing made"
expect_fail cephvol volume create x --from nosuch@s1
assert_contains "$ERR" "no such volume: nosuch"
expect_fail cephvol volume create x --from v@nosnap
assert_contains "$ERR" "volume v has no snapshot nosnap"
expect_fail cephvol volume create x --from v
assert_contains "$ERR" "expected VOLUME@SNAPSHOT"
expect_fail cephvol volume create x --from v@s1 -o fs=xfs
assert_contains "$ERR" "takes its filesystem and object size from the snapshot"
expect_fail cephvol volume create x --from v@s1 -o size=1M
assert_contains "$ERR" "the snapshot holds 256M"
expect_fail cephvol volume create x -o from=v@s1 -o snapshot=v@s1
assert_contains "$ERR" "exclude each other"
cephvol volume create sec -o type=secrets -o secrets=nothing >/dev/null
expect_fail cephvol volume create x --from sec@s1
assert_contains "$ERR" "volume sec is a secrets volume, which has no snapshots"
expect_fail cephvol volume inspect x
assert_eq "$(cephvol --json snapshot ls v | jq -c '[.[].name]')" '["s1"]' "snapshots of v"

step "a clone, in O(1): exactly the snapshot's files"
t0=$(date +%s%N)
cephvol volume create c1 --from v@s1 >/dev/null
echo "clone made in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
assert_eq "$(parent_of c1)" "v@s1" "parent of c1"
assert_eq "$(cephvol --json volume inspect c1 | jq .allocated_objects)" 0 "objects of a new clone"
cephvol volume mount c1 "$M.c1"
assert_eq "$(cat "$M.c1/a")" one "a in the clone"
cmp "$M.c1/dir/numbers" <(seq 1 20000) || fail "numbers differ in the clone"
echo clone > "$M.c1/a"
echo new > "$M.c1/b"
sync
assert_eq "$(cat "$M.v/a")" two "a in the parent after the clone wrote"
[ ! -e "$M.v/b" ] || fail "the clone's file appeared in the parent"
cephvol volume unmount "$M.c1"
fsck_image c1

step "a clone of a clone"
cephvol snapshot create c1 cs >/dev/null
cephvol volume create c2 --from c1@cs >/dev/null
cephvol volume mount c2 "$M.c2"
assert_eq "$(cat "$M.c2/a")" clone "a in the clone of the clone"
assert_eq "$(cat "$M.c2/b")" new "b in the clone of the clone"
cmp "$M.c2/dir/numbers" <(seq 1 20000) || fail "numbers differ two levels down"
echo deeper > "$M.c2/a"
sync
cephvol volume unmount "$M.c2"

step "a read-only snapshot volume on two hosts while its source is written"
cephvol volume create ro -o snapshot=v@s1 >/dev/null
cephvol volume mount ro "$M.ro"
CEPHVOL_CONF=$T/b.conf cephvol volume mount ro "$M.rob"
for i in 1 2 3; do echo "w$i" > "$M.v/a"; sync; done
assert_eq "$(cat "$M.ro/a")" one "a on host a's snapshot volume"
assert_eq "$(cat "$M.rob/a")" one "a on host b's snapshot volume"
findmnt -n -o OPTIONS "$M.ro" | grep -q '^ro' || fail "not mounted read-only: $(findmnt -n -o OPTIONS "$M.ro")"
if echo x 2>/dev/null > "$M.ro/a"; then fail "a write to the snapshot volume worked"; fi
expect_fail cephvol volume rm ro
assert_contains "$ERR" "is mounted by"
expect_fail cephvol snapshot create ro s
assert_contains "$ERR" "read-only snapshot volume"

step "what reads through cannot be removed; the error names it"
expect_fail cephvol snapshot rm v s1
assert_contains "$ERR" "these volumes were made from it: c1, ro"
cephvol volume unmount "$M.v"
expect_fail cephvol volume rm v
assert_contains "$ERR" "read through to it: c1, ro"
expect_fail cephvol volume rm c1
assert_contains "$ERR" "read through to it: c2"
expect_fail cephvol volume rollback ro s1
assert_contains "$ERR" "read-only snapshot volume"

step "flatten: refused while the clone has snapshots; c2, then c1, let go"
expect_fail cephvol volume flatten v
assert_contains "$ERR" "volume v is not a clone"
expect_fail cephvol volume flatten c1
assert_contains "$ERR" "its snapshots read through to v@s1 as well; remove them first"
cephvol volume flatten c2
assert_eq "$(parent_of c2)" "null@null" "parent of c2 after flatten"
cephvol snapshot rm c1 cs
cephvol volume mount c2 "$M.c2"
assert_eq "$(cat "$M.c2/a")" deeper "a in c2 after flatten"
assert_eq "$(cat "$M.c2/b")" new "b in c2 after flatten"
cmp "$M.c2/dir/numbers" <(seq 1 20000) || fail "numbers differ in c2 after flatten"
cephvol volume unmount "$M.c2"
cephvol volume flatten c1
assert_eq "$(parent_of c1)" "null@null" "parent of c1 after flatten"
cephvol volume mount c1 "$M.c1"
assert_eq "$(cat "$M.c1/a")" clone "a in c1 after flatten"
cmp "$M.c1/dir/numbers" <(seq 1 20000) || fail "numbers differ after flatten"
cephvol volume unmount "$M.c1"
fsck_image c1
expect_fail cephvol snapshot rm v s1
assert_contains "$ERR" "these volumes were made from it: ro"

step "xfs: a clone mounted beside its source (the same filesystem UUID)"
cephvol volume create vx -o size=512M -o fs=xfs >/dev/null
cleanup_fn unmount_quiet "$M.vx"
cleanup_fn unmount_quiet "$M.cx"
cephvol volume mount vx "$M.vx"
echo xfs-data > "$M.vx/x"
sync
cephvol snapshot create vx s >/dev/null
cephvol volume create cx --from vx@s >/dev/null
cephvol volume mount cx "$M.cx"
assert_eq "$(cat "$M.cx/x")" xfs-data "x in the xfs clone"
echo changed > "$M.cx/x"
sync
assert_eq "$(cat "$M.vx/x")" xfs-data "x in the xfs source"
cephvol volume unmount "$M.cx"
cephvol volume unmount "$M.vx"
cephvol volume rm cx
cephvol snapshot rm vx s
cephvol volume rm vx

step "take it all down: every object goes"
cephvol volume unmount "$M.ro"
CEPHVOL_CONF=$T/b.conf cephvol volume unmount "$M.rob"
cephvol volume rm ro
cephvol snapshot rm v s1
cephvol volume rm c2
cephvol volume rm c1
cephvol volume rm v
cephvol volume rm sec
left() { rados -p "$POOL" ls | grep -c '^cephvol\.data\.' || true; }
no_data() { [ "$(left)" = 0 ]; }
wait_for 60 no_data
cephvol fsck | tee "$T/fsck.out"
assert_contains "$(cat "$T/fsck.out")" " 0 problems found"
