#!/usr/bin/env bash
# resize_online.sh - growing a mounted volume: `cephvol volume resize` while
# a container writes to it (through a real dockerd) reaches the lease
# holder, which grows the image, the FUSE file, the loop device and the
# ext4 filesystem online: `df` inside the container shows the new size
# within seconds, no write fails, the files are intact and fsck is clean;
# the same for xfs mounted by the CLI; a volume resized while unmounted
# gets its filesystem grown at the next mount; bad input changes nothing.
# timeout: 300
. "$(dirname "$0")/../functions.sh"
. "$CEPHVOL_SRC/tests/lib/fault.sh"
requires_root
requires curl jq mkfs.xfs xfs_growfs resize2fs fsck.ext4
ceph_env
test_pool
write_config volume.default_size=256M volume.lease_seconds=5
start_cephvold
start_dockerd
M=$T/m
unmount_quiet() { cephvol volume unmount "$1" >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$M"
size_of() { docker volume inspect "$1" | jq -r '.[0].Status.size'; }

step "a container writes; the volume grows under it"
docker volume create -d "$DRIVER" -o size=256M rv >/dev/null
docker run -d --name grower --pull never -v rv:/data localhost/busybox:test sh -c \
    'i=0; while :; do echo $i > /data/f.$i; sync -f /data/f.$i || echo FAILED $i; i=$((i+1)); done' >/dev/null
stop_grower() { docker rm -f grower >/dev/null 2>&1 || true; }
cleanup_fn stop_grower
wait_for 30 test -e "$T/mnt/rv/f.50"
kb() { docker exec grower df -k /data | awk 'NR == 2 { print $2 }'; }
before=$(kb)
t0=$(date +%s%N)
out=$(cephvol volume resize rv 768M 2> "$T/warn")
echo "$out"; cat "$T/warn"
assert_contains "$out" "rv: 768M, grown online by client."
big() { [ "$(kb)" -gt 700000 ]; }
# Growing a mounted ext4 takes CAP_SYS_RESOURCE (EXT4_IOC_RESIZE_FS); a
# host without it (this kind of sandbox: CapBnd lacks bit 24) grows it at
# the next mount instead, and says so.
if capsh --has-b=cap_sys_resource 2>/dev/null ||
    (( 0x$(awk '/^CapBnd/ { print $2 }' /proc/self/status) >> 24 & 1 )); then
	assert_contains "$out" "(filesystem included)"
	wait_for 10 big
	echo "df in the container: $before KiB -> $(kb) KiB, $(( ($(date +%s%N) - t0) / 1000000 )) ms after the resize began"
else
	assert_contains "$(cat "$T/warn")" "lacks CAP_SYS_RESOURCE); volume rv's grows at its next mount"
	docker rm -f grower >/dev/null
	docker run -d --name grower --pull never -v rv:/data localhost/busybox:test sh -c \
	    'i=100000; while :; do echo $i > /data/f.$i; sync -f /data/f.$i || echo FAILED $i; i=$((i+1)); done' >/dev/null
	wait_for 30 big
	echo "no CAP_SYS_RESOURCE here: df after the next mount: $before KiB -> $(kb) KiB"
fi
assert_eq "$(size_of rv)" 768M "Status.size"
sleep 1
[ -z "$(docker logs grower 2>&1 | grep FAILED)" ] || fail "a write failed: $(docker logs grower 2>&1 | grep FAILED | head -3)"
docker rm -f grower >/dev/null
got=$(docker run --rm --pull never -v rv:/data localhost/busybox:test sh -c \
    'n=0; while [ -f /data/f.$n ] && [ "$(cat /data/f.$n)" = "$n" ]; do n=$((n+1)); done; echo $n')
echo "files f.0.. intact: $got"
[ "$got" -ge 50 ] || fail "files lost: $got"
fsck_image rv

step "xfs, mounted by the CLI, grows online"
cephvol volume create rx -o size=512M -o fs=xfs >/dev/null
cephvol volume mount rx "$M"
seq 1 100000 > "$M/numbers"
sync
out=$(cephvol volume resize rx 1G)
assert_contains "$out" "(filesystem included)"
total=$(df -k "$M" | awk 'NR == 2 { print $2 }')
[ "$total" -gt 900000 ] || fail "xfs did not grow: $total KiB"
cmp "$M/numbers" <(seq 1 100000) || fail "numbers changed"
cephvol volume unmount "$M"

step "resized while unmounted: the next mount grows the filesystem"
out=$(cephvol volume resize rx 1536M)
assert_contains "$out" "the filesystem grows at the next mount"
cephvol volume mount rx "$M"
total=$(df -k "$M" | awk 'NR == 2 { print $2 }')
[ "$total" -gt 1400000 ] || fail "xfs did not grow at mount: $total KiB"
cmp "$M/numbers" <(seq 1 100000) || fail "numbers changed"
cephvol volume unmount "$M"

step "bad input: a clear error, nothing changed"
expect_fail cephvol volume resize rx 1G
assert_contains "$ERR" "cannot shrink volume rx from 1536M to 1G"
expect_fail cephvol volume resize rx abc
assert_contains "$ERR" "bad size 'abc'"
expect_fail cephvol volume resize rx 0
cephvol volume create sec -o type=secrets -o secrets=nothing >/dev/null
expect_fail cephvol volume resize sec 1G
assert_contains "$ERR" "a secrets volume has no size"
cephvol snapshot create rx s >/dev/null
cephvol volume create ro -o snapshot=rx@s >/dev/null
expect_fail cephvol volume resize ro 2G
assert_contains "$ERR" "read-only snapshot volume"
expect_fail cephvol volume resize nosuch 2G
assert_contains "$ERR" "no such volume: nosuch"
assert_eq "$(cephvol --json volume inspect rx | jq .size)" $((1536 << 20)) "size of rx"

step "clean up"
cephvol volume rm ro sec
cephvol snapshot rm rx s
cephvol volume rm rx
docker volume rm rv >/dev/null
