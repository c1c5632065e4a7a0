#!/usr/bin/env bash
# docker_lifecycle.sh - a real dockerd driving cephvold against a real Ceph:
# docker volume create/ls/inspect (Status: size, fs, lease holder), a
# container writes, a second one reads it back, two containers at once see
# each other's writes, the lease is held while mounted and released after,
# docker volume rm removes every object of the volume.
#
# Every dockerd on a host asks every plugin with a spec file in
# /etc/docker/plugins (written there by every test's start_cephvold, and by
# other test runs on the same host) for its volumes: an unfiltered
# `docker volume ls` lists other tests' volumes too, such as their own v1.
# So every listing here asks our driver only (--filter driver=), and the
# container syncs its own filesystem (sync -f), not every one on the host:
# a plain sync waits behind any other mount that is stuck.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq rados

ceph_env
test_pool
write_config volume.default_size=256M
start_cephvold
start_dockerd
run() { docker run --rm --pull never "$@"; }

step "docker volume create, ls, inspect"
docker volume create -d "$DRIVER" -o size=1G v1 >/dev/null
ls_ours() { docker volume ls --filter driver="$DRIVER" "$@"; }
ls_ours --format '{{.Driver}} {{.Name}}' | grep -qx "$DRIVER v1" ||
    fail "ls: $(ls_ours)"
docker volume inspect v1 > "$T/inspect"
jq -e '.[0].Driver == env.DRIVER and .[0].Scope == "global" and
    .[0].Status.size == "1G" and .[0].Status.fs == "ext4" and
    .[0].Status.object_size == "4M" and .[0].Status.lease == "none"' "$T/inspect" >/dev/null ||
    fail "inspect: $(cat "$T/inspect")"

step "a container writes, a second one reads"
t0=$(date +%s%N)
run -v v1:/data localhost/busybox:test sh -c 'echo hello > /data/f && sync -f /data/f'
echo "first run with mkfs: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
t0=$(date +%s%N)
got=$(run -v v1:/data localhost/busybox:test cat /data/f)
echo "second run: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
assert_eq "$got" hello "data read by the second container"
if mountpoint -q "$T/mnt/v1"; then fail "v1 still mounted after its containers stopped"; fi
jq -e '.volumes == {}' "$T/state/mounts.json" >/dev/null ||
    fail "references left: $(cat "$T/state/mounts.json")"

step "two containers at once see each other's writes; the lease is held meanwhile"
docker run -d --name c1 --pull never -v v1:/data localhost/busybox:test sh -c \
    'echo from-c1 > /data/a; i=0; while [ ! -f /data/b ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; cat /data/b; sleep 1000' >/dev/null
wait_for 30 test -f "$T/mnt/v1/a"
docker volume inspect v1 | jq -e '.[0].Status.lease | test("client\\.")' >/dev/null ||
    fail "no lease holder while mounted: $(docker volume inspect v1)"
docker volume inspect v1 | jq -e '.[0].Mountpoint == env.T + "/mnt/v1"' >/dev/null ||
    fail "Mountpoint while mounted: $(docker volume inspect v1)"
got=$(run -v v1:/data localhost/busybox:test sh -c 'cat /data/a; echo from-c2 > /data/b')
assert_eq "$got" from-c1 "c2 reads c1's write"
wait_for 30 sh -c "docker logs c1 2>&1 | grep -q from-c2"
jq -e '.volumes.v1.refs | length == 1' "$T/state/mounts.json" >/dev/null ||
    fail "refs while c1 runs: $(cat "$T/state/mounts.json")"
docker rm -f c1 >/dev/null
wait_for 30 sh -c "! mountpoint -q '$T/mnt/v1'"
docker volume inspect v1 | jq -e '.[0].Status.lease == "none"' >/dev/null ||
    fail "lease not released: $(docker volume inspect v1)"

step "docker volume rm removes every object"
id=$(docker volume inspect v1 | jq -r '.[0].Status.id')
n=$(rados -p "$POOL" ls | grep -c "$id" || true)
[ "$n" -gt 1 ] || fail "expected data objects of $id before rm, found $n"
echo "objects of v1 before rm: $n" >&2
docker volume rm v1 >/dev/null
left=$(rados -p "$POOL" ls | grep -v '^cephvol.catalog$' || true)
[ -z "$left" ] || fail "objects left after docker volume rm: $left"
if ls_ours -q | grep -qx v1; then fail "v1 still listed by $DRIVER: $(ls_ours)"; fi
api /VolumeDriver.List | jq -e '[.Volumes[].Name] | index("v1") == null' >/dev/null ||
    fail "our List still has v1: $(api /VolumeDriver.List)"

step "nothing left on the host"
[ -z "$(losetup -n -l -O BACK-FILE | grep "$T" || true)" ] || fail "loop devices left"
if grep -Eq " $T/(mnt|state)/" /proc/self/mountinfo; then fail "mounts left: $(grep " $T/" /proc/self/mountinfo)"; fi
if pgrep -f "cephvol-mount.*$T"; then fail "cephvol-mount left"; fi
grep -E 'warn|error' "$T/cephvold.log" | grep -v 'Create volume=\|no such volume' >&2 || true
step "cephvold stops cleanly"
stop_cephvold
assert_eq "$CEPHVOLD_STATUS" 0 "cephvold exit status"
exit 0
