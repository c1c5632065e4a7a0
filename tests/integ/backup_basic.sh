#!/usr/bin/env bash
# backup_basic.sh - backups as Ceph's own streams, real Ceph, real rbd:
# snapshots of a mounted volume that is being written are exported (full,
# and incrementals s1->s2->s3); importing the full one and applying the
# incrementals in order gives an image byte-identical to the source's at
# s3 (compared through loop devices of read-only snapshot volumes, not
# files). The real `rbd` restores our streams into an RBD image with the
# same bytes, and `rbd export-diff` / `rbd export --export-format 2`
# streams import into cephvol with the same bytes. A truncated stream, a
# damaged header, the wrong base, a mounted or written-since target: each
# refused with a clear error and the target left as it was. Holes are
# zero records, and an incremental reads only the blocks that changed. A
# clone's snapshot exports what it inherits; an import interrupted by
# SIGTERM removes its volume; a snapshot removed during its
# export leaves no file (the stream's end record is never written).
# timeout: 420
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 jq rbd md5sum findmnt fstrim
ceph_env
test_pool
write_config volume.lease_seconds=5 log.level=info
M=$T/m
B=$T/backups
mkdir -p "$B"
unmount_quiet() { cephvol volume unmount "$1" >/dev/null 2>&1 || true; }
for d in v ro x; do cleanup_fn unmount_quiet "$M.$d"; done
RBD_BIN=$(command -v rbd)
rbd() { timeout 120 "$RBD_BIN" --conf "$CEPH_CONF" --id admin --keyring "$CEPHVOL_TEST_KEYRING" "$@"; }
rbd_rm_all() {
	local img
	for img in r1; do
		rbd snap purge "$POOL/$img" >/dev/null 2>&1 || true
		rbd rm "$POOL/$img" >/dev/null 2>&1 || true
	done
}
kill_quiet() { kill "$1" 2>/dev/null || true; }
cleanup_fn rbd_rm_all

# image_md5 VOLUME@SNAP: md5 of the snapshot's whole image, read through a
# read-only snapshot volume's loop device (the bytes, not the files)
image_md5() {
	local ro=ro$RANDOM
	cephvol volume create "$ro" -o snapshot="$1" >/dev/null
	cephvol volume mount "$ro" "$M.ro" >/dev/null
	md5sum < "$(findmnt -n -o SOURCE "$M.ro")" | cut -d' ' -f1
	cephvol volume unmount "$M.ro" >/dev/null
	cephvol volume rm "$ro" >/dev/null
}
snaps() { cephvol --json snapshot ls "$1" | jq -c '[.[].name]'; }

step "a mounted volume under a writer: three snapshots"
cephvol volume create v -o size=256M -o objectsize=1M >/dev/null
cephvol volume mount v "$M.v"
head -c 24M /dev/urandom > "$M.v/one"
seq 1 200000 > "$M.v/numbers"
sync
( i=0; while [ ! -e "$T/stop" ]; do echo "$i $(date +%s%N)" >> "$M.v/log"; i=$((i + 1)); sleep 0.01; done ) &
writer=$!
cleanup_fn kill_quiet "$writer"
cephvol snapshot create v s1 >/dev/null
head -c 8M /dev/urandom > "$M.v/two"
rm "$M.v/one"
sync
fstrim "$M.v"
cephvol snapshot create v s2 >/dev/null
dd if=/dev/urandom of="$M.v/numbers" bs=4k count=3 seek=5 conv=notrunc status=none
sync
cephvol snapshot create v s3 >/dev/null

step "exported while mounted and written: full s1, increments s1->s2->s3"
cephvol --json volume export v@s1 "$B/full" > "$T/full.json"
cephvol --json volume export v@s2 --from-snap s1 "$B/inc12" > "$T/inc12.json"
cephvol --json volume export v@s3 --from-snap s2 "$B/inc23" > "$T/inc23.json"
cephvol volume export v@s3 "$B/full3.v1" --format diff-v1 >/dev/null
touch "$T/stop"; wait "$writer" || true
assert_eq "$(head -c 13 "$B/full" | od -An -c | tr -d ' ')" 'rbdimagev2\n' "banner of a full export"
assert_eq "$(head -c 12 "$B/inc12" | od -An -c | tr -d ' ')" 'rbddiffv1\n' "banner of an incremental"
[ ! -e "$B/full.partial" ] || fail "a .partial file was left behind"
echo "full: $(jq -c '{data_bytes, hole_bytes, objects_read, objects, stream_bytes}' "$T/full.json")"
echo "s2->s3: $(jq -c '{data_bytes, zero_bytes, objects_read, objects, stream_bytes}' "$T/inc23.json")"
# holes are never data: the full stream is about the files' size, not 256M
[ "$(jq .stream_bytes "$T/full.json")" -lt $((40 << 20)) ] || fail "the full stream carries holes as data"
[ "$(jq .hole_bytes "$T/full.json")" -gt $((200 << 20)) ] || fail "holes not left out"
# s1->s2 removed a 24M file and fstrim'd it: zero records, not data
[ "$(jq .zero_bytes "$T/inc12.json")" -gt $((16 << 20)) ] || fail "s1->s2 has no zero records for the trimmed file"
# s2->s3 changed a few blocks: a few objects read, not all 256
[ "$(jq .objects_read "$T/inc23.json")" -le 8 ] || fail "s2->s3 read $(jq .objects_read "$T/inc23.json") objects"
[ "$(jq .stream_bytes "$T/inc23.json")" -lt $((4 << 20)) ] || fail "s2->s3 stream too large"
cephvol volume unmount "$M.v" >/dev/null
want3=$(image_md5 v@s3)
want1=$(image_md5 v@s1)

step "import + import-diff in order: byte-identical to v@s3"
cephvol volume import "$B/full" b > "$T/out"
assert_contains "$(cat "$T/out")" "1 snapshot created, newest s1"
assert_eq "$(cephvol --json volume inspect b | jq -r .fs)" ext4 "fs of the imported volume"
cephvol volume import-diff "$B/inc12" b >/dev/null
cephvol volume import-diff "$B/inc23" b >/dev/null
assert_eq "$(snaps b)" '["s1","s2","s3"]' "snapshots of b"
assert_eq "$(image_md5 b@s3)" "$want3" "b@s3 against v@s3"
assert_eq "$(image_md5 b@s1)" "$want1" "b@s1 against v@s1"
# b's own increment s2->s3 applied to a copy of b@s2 gives s3 again
cephvol volume export b@s3 --from-snap s2 "$B/b23" >/dev/null
cephvol volume export b@s2 "$B/b2" >/dev/null
cephvol volume import "$B/b2" b2 >/dev/null
cephvol volume import-diff "$B/b23" b2 >/dev/null
assert_eq "$(image_md5 b2@s3)" "$want3" "b2@s3 (b's own streams) against v@s3"
# a full diff v1 stream (from nothing) imports too
cephvol volume import "$B/full3.v1" b3 >/dev/null
assert_eq "$(image_md5 b3@s3)" "$want3" "b3@s3 (full diff v1) against v@s3"

step "rbd restores our streams: rbd import --export-format 2, rbd import-diff"
out=$(rbd import --export-format 2 --no-progress "$B/full" "$POOL/r1" 2>&1) || fail "rbd import refused our full stream: $out"
out=$(rbd import-diff --no-progress "$B/inc12" "$POOL/r1" 2>&1) || fail "rbd import-diff refused s1->s2: $out"
out=$(rbd import-diff --no-progress "$B/inc23" "$POOL/r1" 2>&1) || fail "rbd import-diff refused s2->s3: $out"
assert_eq "$(rbd export "$POOL/r1@s3" - 2>/dev/null | md5sum | cut -d' ' -f1)" "$want3" "rbd's r1@s3 against v@s3"
assert_eq "$(rbd export "$POOL/r1@s1" - 2>/dev/null | md5sum | cut -d' ' -f1)" "$want1" "rbd's r1@s1 against v@s1"

step "rbd's streams import into cephvol"
out=$(rbd export-diff --no-progress "$POOL/r1@s1" "$B/rbd-full" 2>&1) || fail "rbd export-diff: $out"
out=$(rbd export-diff --no-progress --from-snap s1 "$POOL/r1@s3" "$B/rbd-13" 2>&1) || fail "rbd export-diff: $out"
cephvol volume import "$B/rbd-full" c >/dev/null
cephvol volume import-diff "$B/rbd-13" c >/dev/null
assert_eq "$(image_md5 c@s3)" "$want3" "c@s3 (from rbd export-diff) against v@s3"
out=$(rbd export --no-progress --export-format 2 "$POOL/r1@s3" "$B/rbd-v2" 2>&1) || fail "rbd export: $out"
cephvol volume import "$B/rbd-v2" d > "$T/out"
assert_contains "$(cat "$T/out")" "3 snapshots created, newest s3"
assert_eq "$(snaps d)" '["s1","s2","s3"]' "snapshots of d (rbd image v2 with its snapshots)"
assert_eq "$(image_md5 d@s3)" "$want3" "d@s3 (from rbd export --export-format 2) against v@s3"
assert_eq "$(image_md5 d@s1)" "$want1" "d@s1 against v@s1"

step "through a pipe"
cephvol volume export v@s3 - 2>/dev/null | cephvol volume import - p >/dev/null
assert_eq "$(image_md5 p@s3)" "$want3" "p@s3 (piped) against v@s3"

step "a clone's snapshot exports what it inherits too"
cephvol volume create cl --from v@s2 >/dev/null
cephvol volume mount cl "$M.x" >/dev/null
echo clone > "$M.x/own"
sync
cephvol volume unmount "$M.x" >/dev/null
cephvol snapshot create cl c1 >/dev/null
cephvol volume export cl@c1 "$B/clone" >/dev/null
cephvol volume import "$B/clone" cli >/dev/null
assert_eq "$(image_md5 cli@c1)" "$(image_md5 cl@c1)" "cli@c1 (from a clone's export) against cl@c1"
cephvol snapshot create cl c2 >/dev/null
cephvol volume export cl@c2 --from-snap c1 "$B/clone12" >/dev/null
cephvol volume import-diff "$B/clone12" cli >/dev/null
assert_eq "$(image_md5 cli@c2)" "$(image_md5 cl@c2)" "cli@c2 against cl@c2"

step "a snapshot removed while it is exported: no end record, no file"
cephvol snapshot create v gone >/dev/null
CEPHVOL_WAIT_AT=export.batch CEPHVOL_WAIT_FILE=$T/go "$CEPHVOL_BIN/cephvol" volume export v@gone "$B/gone" \
    > "$T/gone.out" 2>&1 &
exporter=$!
cleanup_fn kill_quiet "$exporter"
wait_for 30 compgen -G "$T/go.ready.*" >/dev/null
cephvol snapshot rm v gone
touch "$T/go"
if wait "$exporter"; then fail "the export of a removed snapshot succeeded"; fi
assert_contains "$(cat "$T/gone.out")" "snapshot v@gone was removed while it was exported"
[ ! -e "$B/gone" ] && [ ! -e "$B/gone.partial" ] || fail "the export of a removed snapshot left a file"

step "bad input: a clear error, nothing made or changed"
expect_fail cephvol volume export nosuch@s1 "$B/x"
assert_contains "$ERR" "no such volume: nosuch"
expect_fail cephvol volume export v@nosnap "$B/x"
assert_contains "$ERR" "volume v has no snapshot nosnap"
expect_fail cephvol volume export v "$B/x"
assert_contains "$ERR" "is not VOLUME@SNAPSHOT"
expect_fail cephvol volume export v@s1 --from-snap s3 "$B/x"
assert_contains "$ERR" "--from-snap s3 is not older than s1"
expect_fail cephvol volume export v@s1 "$B/full"
assert_contains "$ERR" "exists: not overwriting a backup"
expect_fail cephvol volume export v@s2 --from-snap s1 --format image-v2 "$B/x"
assert_contains "$ERR" "takes no --from-snap"
[ ! -e "$B/x" ] && [ ! -e "$B/x.partial" ] || fail "a failed export left a file"
expect_fail cephvol volume import "$B/full" b
assert_contains "$ERR" "volume b exists: an import makes a new volume"
expect_fail cephvol volume import "$B/full" small -o size=64M
assert_contains "$ERR" "is smaller than the stream's image"
expect_fail cephvol volume import "$B/inc12" x
assert_contains "$ERR" "this stream is an incremental from snapshot s1"
expect_fail cephvol volume import-diff "$B/full" b
assert_contains "$ERR" "this stream is a full export"
seq 1 1000 > "$T/garbage"
expect_fail cephvol volume import "$T/garbage" x
assert_contains "$ERR" "not an rbd backup stream"
printf 'rbd diff v1\nt\005\000\000\000a\033[2Js\000\000\020\000\000\000\000\000e' > "$T/badname"
expect_fail cephvol volume import "$T/badname" x
assert_contains "$ERR" "the stream's snapshot name 'a\\x1b[2J' is not one cephvol accepts"
expect_fail cephvol volume inspect x
expect_fail cephvol volume inspect small

step "a truncated full stream: refused with its offset, the new volume removed"
head -c 5000000 "$B/full" > "$T/cut"
expect_fail cephvol volume import "$T/cut" x
assert_contains "$ERR" "the stream is cut short at byte"
assert_contains "$ERR" "volume x, made for it, was removed again"
expect_fail cephvol volume inspect x

step "a damaged header, the wrong base: refused, the target unchanged"
cephvol volume import "$B/full" w >/dev/null
cp "$B/inc12" "$T/flip"
printf 'q' | dd of="$T/flip" bs=1 seek=12 conv=notrunc status=none
expect_fail cephvol volume import-diff "$T/flip" w
assert_contains "$ERR" "the stream is damaged at byte 12: unknown record tag 0x71"
expect_fail cephvol volume import-diff "$B/inc23" w
assert_contains "$ERR" "the stream starts at snapshot s2, but the newest snapshot of volume w is s1"
assert_eq "$(snaps w)" '["s1"]' "snapshots of w"
assert_eq "$(image_md5 w@s1)" "$want1" "w@s1 after the refusals"

step "a truncated increment: applied half, then rolled back to its start"
head -c $(( $(stat -c %s "$B/inc12") / 2 )) "$B/inc12" > "$T/cut12"
expect_fail cephvol volume import-diff "$T/cut12" w
assert_contains "$ERR" "the stream is cut short at byte"
assert_contains "$ERR" "volume w was rolled back to snapshot s1"
assert_eq "$(snaps w)" '["s1"]' "snapshots of w after the cut increment"
cephvol volume import-diff "$B/inc12" w >/dev/null
cephvol volume import-diff "$B/inc23" w >/dev/null
assert_eq "$(image_md5 w@s3)" "$want3" "w@s3 after the cut increment, then the whole ones"

step "interrupted (SIGTERM) while it waits for the stream: the new volume removed"
mkfifo "$T/fifo"
"$CEPHVOL_BIN/cephvol" volume import "$T/fifo" z > "$T/int.out" 2>&1 &
importer=$!
cleanup_fn kill_quiet "$importer"
exec 7> "$T/fifo"
head -c 3000000 "$B/full" >&7	# the banner, the first diff's header, some data
wait_for 30 cephvol volume inspect z
kill -TERM "$importer"
if wait "$importer"; then fail "an interrupted import succeeded"; fi
exec 7>&-
assert_contains "$(cat "$T/int.out")" "interrupted"
assert_contains "$(cat "$T/int.out")" "volume z, made for it, was removed again"
expect_fail cephvol volume inspect z

step "a target mounted, or written since its snapshot: refused"
cephvol volume import "$B/full" y >/dev/null
cephvol volume mount y "$M.x" >/dev/null
expect_fail cephvol volume import-diff "$B/inc12" y
assert_contains "$ERR" "cannot import into volume y"
assert_contains "$ERR" "unmount it everywhere first"
echo written > "$M.x/new"
sync
cephvol volume unmount "$M.x" >/dev/null
expect_fail cephvol volume import-diff "$B/inc12" y
assert_contains "$ERR" "volume y was written after snapshot s1"
assert_contains "$ERR" "cephvol volume rollback y s1"
cephvol volume rollback y s1
cephvol volume import-diff "$B/inc12" y >/dev/null
assert_eq "$(snaps y)" '["s1","s2"]' "snapshots of y after rollback and import-diff"

step "everything removed: no object left"
for vol in cli cl v b b2 b3 c d p w y; do
	for s in $(cephvol --json snapshot ls "$vol" | jq -r '.[].name'); do
		cephvol snapshot rm "$vol" "$s"
	done
	cephvol volume rm "$vol" >/dev/null
done
assert_eq "$(rados -p "$POOL" ls | grep -c '^cephvol\.data\.' || true)" 0 "data objects left"
