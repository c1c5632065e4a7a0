#!/usr/bin/env bash
# docker_restart.sh - cephvold restart safety with a real dockerd: cephvold
# is SIGKILLed while a container writes to its volume; the container keeps
# writing (cephvol-mount is detached and holds the mount); cephvold restarts,
# reloads its references and checks them against the mounts; then the
# container stops and its Unmount detaches the volume: nothing mounted, no
# loop device, no cephvol-mount, lease released, every written line there.
# Then the repair path: a reference whose mount vanished while cephvold was
# down is dropped (and logged) at the next start.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq rados

ceph_env
test_pool
write_config volume.default_size=256M
start_cephvold
start_dockerd

lines() { wc -l < "$T/mnt/v1/log" 2>/dev/null || echo 0; }

step "a container writes a line every 50 ms"
docker volume create -d "$DRIVER" v1 >/dev/null
docker run -d --name writer --pull never -v v1:/data localhost/busybox:test sh -c \
    'i=0; while true; do echo $i >> /data/log; i=$((i+1)); sleep 0.05; done' >/dev/null
wait_for 30 test -s "$T/mnt/v1/log"
helper=$(jq -r '.volumes.v1.helper_pid' "$T/state/mounts.json")
kill -0 "$helper" || fail "no live cephvol-mount ($helper)"

step "SIGKILL cephvold: the mount and the writer go on"
stop_cephvold KILL
n1=$(lines)
sleep 1.5
n2=$(lines)
[ "$n2" -gt "$n1" ] || fail "the container stopped writing while cephvold was down ($n1 -> $n2)"
mountpoint -q "$T/mnt/v1" || fail "the mount went away with cephvold"
kill -0 "$helper" || fail "cephvol-mount died with cephvold"
echo "lines while cephvold was down: $n1 -> $n2" >&2

step "restart: references reloaded and found intact"
start_cephvold
grep -q "volume=v1: 1 reference(s), mounted at $T/mnt/v1" "$T/cephvold.log" ||
    fail "restart did not report v1 kept: $(tail -5 "$T/cephvold.log")"
n3=$(lines)
[ "$n3" -gt "$n2" ] || fail "the container stopped writing after the restart"
docker volume inspect v1 | jq -e '.[0].Mountpoint == env.T + "/mnt/v1" and
    (.[0].Status.lease | test("client\\."))' >/dev/null ||
    fail "inspect after restart: $(docker volume inspect v1)"

step "the container stops: the last Unmount detaches and releases the lease"
docker rm -f writer >/dev/null
wait_for 30 sh -c "! mountpoint -q '$T/mnt/v1'"
wait_for 15 sh -c "! kill -0 $helper 2>/dev/null"
[ -z "$(losetup -n -l -O BACK-FILE | grep "$T/" || true)" ] || fail "loop device left"
if grep -q "$T/state/vol" /proc/self/mountinfo; then fail "FUSE mount left"; fi
docker volume inspect v1 | jq -e '.[0].Status.lease == "none"' >/dev/null ||
    fail "lease not released: $(docker volume inspect v1)"
jq -e '.volumes == {}' "$T/state/mounts.json" >/dev/null ||
    fail "references left: $(cat "$T/state/mounts.json")"

step "every line written is there, in order"
docker run --rm --pull never -v v1:/data localhost/busybox:test cat /data/log > "$T/log"
n=$(wc -l < "$T/log")
[ "$n" -ge "$n3" ] || fail "lines after remount: $n, seen before: $n3"
seq 0 $((n - 1)) | cmp -s - "$T/log" || fail "the log has gaps or damage"
echo "lines written in all: $n" >&2

step "a container that stops while cephvold is down: its reference is flagged"
if grep -q "no container uses it" "$T/cephvold.log"; then
	fail "a volume in use by a running container was flagged as unused"
fi
docker run -d --name w3 --pull never -v v1:/data localhost/busybox:test sleep 1000 >/dev/null
wait_for 30 mountpoint -q "$T/mnt/v1"
stop_cephvold KILL
t0=$(date +%s%N)
docker rm -f w3 >/dev/null 2>&1 || true	# its Unmount cannot reach cephvold
echo "docker rm -f with cephvold down: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
start_cephvold
grep -q "volume=v1: 1 reference(s) but no container uses it now" "$T/cephvold.log" ||
    fail "the orphaned reference was not flagged"
# what an operator does: drop it (here through the API, as Docker would have)
id=$(jq -r '.volumes.v1.refs | keys[0]' "$T/state/mounts.json")
api VolumeDriver.Unmount "{\"Name\":\"v1\",\"ID\":\"$id\"}" | jq -e '.Err == ""' >/dev/null
if mountpoint -q "$T/mnt/v1"; then fail "still mounted after the late Unmount"; fi

step "repair: a mount that vanished while cephvold was down"
docker run -d --name w2 --pull never -v v1:/data localhost/busybox:test sleep 1000 >/dev/null
wait_for 30 mountpoint -q "$T/mnt/v1"
helper=$(jq -r '.volumes.v1.helper_pid' "$T/state/mounts.json")
stop_cephvold KILL
kill -KILL "$helper"		# its cephvol-mount dies: I/O on it is lost anyway
wait_for 10 sh -c "! kill -0 $helper 2>/dev/null"
start_cephvold
grep -q "repair: volume=v1 lost its cephvol-mount" "$T/cephvold.log" || fail "no repair logged"
jq -e '.volumes.v1.refs == {}' "$T/state/mounts.json" >/dev/null ||
    fail "references left: $(cat "$T/state/mounts.json")"
# the container still holds the dead filesystem, so its loop device stays
# until it stops; its Unmount is then of an unknown ID: harmless
docker rm -f w2 >/dev/null
wait_for 60 grep -q "repair: volume=v1 detached" "$T/cephvold.log"
if mountpoint -q "$T/mnt/v1"; then fail "the dead mount was not detached"; fi
jq -e '.volumes == {}' "$T/state/mounts.json" >/dev/null ||
    fail "entry left: $(cat "$T/state/mounts.json")"
grep -q "Unmount volume=v1 .*no such reference" "$T/cephvold.log" ||
    fail "the stale Unmount was not answered harmlessly"
docker volume rm v1 >/dev/null || true
stop_cephvold
assert_eq "$CEPHVOLD_STATUS" 0 "cephvold exit status"
exit 0
