#!/usr/bin/env bash
# docker_snapshot.sh - snapshots and clones with a real dockerd: a container
# writes numbered, synced files; `cephvol snapshot create` is taken while it
# writes (by the lease holder, frozen; the container sees no error);
# `docker volume create -o from=VOL@SNAP` makes a clone a second container
# starts on: it sees exactly a prefix of the files, at least every one
# synced before the snapshot, and the image is fsck clean;
# `-o snapshot=VOL@SNAP` makes a read-only volume two containers read at
# once; bad options are refused through Docker; rollback after the writer
# stopped returns the volume to the snapshot; everything removed leaves no
# object.
# timeout: 300
. "$(dirname "$0")/../functions.sh"
. "$CEPHVOL_SRC/tests/lib/fault.sh"
requires_root
requires curl jq rados fsck.ext4
ceph_env
test_pool
write_config volume.default_size=256M volume.lease_seconds=5
start_cephvold
start_dockerd
run() { docker run --rm --pull never "$@"; }
# the highest n with /data/f.0 .. f.n-1 all present and right, and the count
prefix='n=0; while [ -f /data/f.$n ] && [ "$(cat /data/f.$n)" = "$n" ]; do n=$((n+1)); done; echo $n $(ls /data | grep -c "^f\.")'

step "a container writes numbered files, each synced"
docker volume create -d "$DRIVER" -o size=512M db >/dev/null
docker run -d --name writer --pull never -v db:/data localhost/busybox:test sh -c \
    'i=0; while :; do echo $i > /data/f.$i; sync -f /data/f.$i; i=$((i+1)); done' >/dev/null
stop_w() { docker rm -f writer >/dev/null 2>&1 || true; }
cleanup_fn stop_w
files() { ls "$T/mnt/db" 2>/dev/null | grep -c '^f\.' || true; }
enough() { [ "$(files)" -ge 100 ]; }
wait_for 60 enough

step "snapshot while it writes: taken by the holder, frozen"
before=$(files)
out=$(cephvol snapshot create db s1)
echo "$out (files before: $before)"
assert_contains "$out" "its filesystem was frozen"
docker volume inspect db | jq -e '.[0].Status.snapshots == ["s1"]' >/dev/null ||
    fail "Status.snapshots: $(docker volume inspect db | jq -c .[0].Status)"
more() { [ "$(files)" -ge $((before + 100)) ]; }
wait_for 60 more
[ "$(docker inspect -f '{{.State.Running}}' writer)" = true ] || fail "the writer stopped: $(docker logs writer 2>&1 | tail -3)"

step "bad options through Docker: refused, nothing made"
if docker volume create -d "$DRIVER" -o from=nosuch@s1 bad 2> "$T/err"; then fail "from=nosuch@s1 worked"; fi
assert_contains "$(cat "$T/err")" "no such volume: nosuch"
if docker volume create -d "$DRIVER" -o from=db@s1 -o fs=xfs bad 2> "$T/err"; then fail "from= with fs= worked"; fi
assert_contains "$(cat "$T/err")" "takes its filesystem and object size from the snapshot"
if docker volume create -d "$DRIVER" -o snapshot=db@nosnap bad 2> "$T/err"; then fail "snapshot=db@nosnap worked"; fi
assert_contains "$(cat "$T/err")" "volume db has no snapshot nosnap"
if docker volume ls --filter driver="$DRIVER" -q | grep -qx bad; then fail "bad was made"; fi

step "a clone of the snapshot, and a second container on it"
docker volume create -d "$DRIVER" -o from=db@s1 dbc >/dev/null
docker volume inspect dbc | jq -e '.[0].Status.from == "db@s1"' >/dev/null ||
    fail "Status.from: $(docker volume inspect dbc | jq -c .[0].Status)"
read -r n count < <(run -v dbc:/data localhost/busybox:test sh -c "$prefix")
echo "clone: files f.0..f.$((n - 1)) intact, $count in all; $before were synced before the snapshot"
[ "$n" -ge "$before" ] || fail "the clone lacks files synced before the snapshot: $n < $before"
[ "$count" -le $((n + 1)) ] || fail "the clone has files past a gap: $count files, prefix $n"
echo x | run -i -v dbc:/data localhost/busybox:test sh -c 'cat > /data/only-in-clone && sync -f /data/only-in-clone'
[ ! -e "$T/mnt/db/only-in-clone" ] || fail "the clone's file appeared in db"
fsck_image dbc

step "a read-only snapshot volume, two containers at once"
docker volume create -d "$DRIVER" -o snapshot=db@s1 dbro >/dev/null
docker run -d --name r1 --pull never -v dbro:/data localhost/busybox:test sleep 600 >/dev/null
stop_r1() { docker rm -f r1 >/dev/null 2>&1 || true; }
cleanup_fn stop_r1
read -r m _ < <(run -v dbro:/data localhost/busybox:test sh -c "$prefix")
assert_eq "$m" "$n" "files in the read-only snapshot volume"
if run -v dbro:/data localhost/busybox:test sh -c 'echo x > /data/new' 2>/dev/null; then
	fail "a write to the read-only snapshot volume worked"
fi
docker rm -f r1 >/dev/null

step "the writer stops; rollback returns db to the snapshot"
docker rm -f writer >/dev/null
wait_for 30 sh -c "! mountpoint -q '$T/mnt/db'"
expect_fail cephvol snapshot rm db s1
assert_contains "$ERR" "these volumes were made from it: dbc, dbro"
cephvol volume rollback db s1
read -r k _ < <(run -v db:/data localhost/busybox:test sh -c "$prefix")
assert_eq "$k" "$n" "files in db after the rollback"

step "remove it all: no object left"
docker volume rm dbro dbc >/dev/null
cephvol snapshot rm db s1
docker volume rm db >/dev/null
left() { rados -p "$POOL" ls | grep -c '^cephvol\.data\.' || true; }
no_data() { [ "$(left)" = 0 ]; }
wait_for 60 no_data
