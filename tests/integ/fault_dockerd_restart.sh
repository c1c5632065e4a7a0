#!/usr/bin/env bash
# fault_dockerd_restart.sh - dockerd restarts under a container (restart
# policy always) that writes numbered lines to a cephvol volume, fsync
# after each (busybox `sync FILE`), stopping with status 1 at the first
# error. (docker_restart.sh restarts cephvold, never dockerd.)
#  1. dockerd is stopped (SIGTERM): it stops the container, whose Unmount
#     detaches the volume (no mount, reference or lease left while dockerd
#     is down); dockerd starts again and restarts the container, which
#     mounts the volume again and goes on writing.
#  2. dockerd is SIGKILLed: the container and its mount live on and it goes
#     on writing; dockerd starts again (no live-restore: it stops the
#     container it finds and restarts it); after that the volume has
#     exactly one reference, mounted, and the writing goes on.
# Then the container is stopped (exit 0) and removed: the volume unmounts
# cleanly and holds every line written, in order, with no gap.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq

ceph_env
test_pool
write_config volume.default_size=256M volume.lease_seconds=6
# on failure, a volume left attached is detached while the cluster still
# runs (this runs after cephvold and dockerd have stopped)
detach_left() {
	mountpoint -q "$T/mnt/v1" 2>/dev/null || return 0
	timeout 60 "$CEPHVOL_BIN/cephvol" volume unmount "$T/mnt/v1" v1 >/dev/null 2>&1
	true
}
cleanup_fn detach_left
# dockerd bind-mounts its data-root on itself to make it shared and undoes
# that when it stops, unless it was SIGKILLed: then the next one finds it
# shared already and leaves it. Runs once dockerd has stopped.
root_unbind() {
	while mountpoint -q "$T/docker/root" 2>/dev/null; do umount "$T/docker/root" || break; done
	true
}
cleanup_fn root_unbind
start_cephvold
start_dockerd

lines() { { wc -l < "$T/mnt/v1/log"; } 2>/dev/null || echo 0; }
# alive PID: running (a zombie, or a pid already reaped, is not; the shell
# reaps its children by itself, so never ask kill -0 first)
alive() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
running() { [ "$(docker inspect -f '{{.State.Running}}' wr 2>/dev/null)" = true ]; }
# growing SECS: the container writes a line within SECS
growing() {
	local n0 i
	n0=$(lines)
	for (( i = 0; i < $1 * 10; i++ )); do
		[ "$(lines)" -gt "$n0" ] && return 0
		sleep 0.1
	done
	fail "no line written within $1 s ($n0 lines; container: $(docker ps -a --format '{{.Status}}' 2>&1))"
}
refs() { jq -r '[.volumes.v1.refs // {} | .[] | if type == "object" then .count else . end] | add // 0' "$T/state/mounts.json"; }
# unmounted WHAT: v1 is detached within 30 s, or fail saying what cephvold
# holds and why
unmounted() {
	local i
	for (( i = 0; i < 300; i++ )); do
		mountpoint -q "$T/mnt/v1" || return 0
		sleep 0.1
	done
	grep -E "VolumeDriver.(Mount|Unmount)|volume=v1" "$T/cephvold.log" | tail -n 8 | sed 's/^/  /' >&2
	fail "v1 is still mounted 30 s after $1; cephvold holds: $(jq -c .volumes.v1.refs "$T/state/mounts.json") (its log above)"
}
lease() { api VolumeDriver.Get '{"Name":"v1"}' | jq -r .Volume.Status.lease; }
# dockerd_stop SIGNAL: stop our dockerd with SIGNAL, wait (60 s) and reap it
dockerd_stop() {
	local t0=$SECONDS
	kill -"$1" "$DOCKERD_PID"
	while alive "$DOCKERD_PID" && [ $((SECONDS - t0)) -lt 60 ]; do sleep 0.1; done
	if alive "$DOCKERD_PID"; then
		fail "dockerd did not stop within $((SECONDS - t0)) s of SIG$1:" \
		    "$(ps -o pid=,stat=,etime=,cmd= -p "$DOCKERD_PID" | cut -c1-80 || true)"
	fi
	wait "$DOCKERD_PID" 2>/dev/null || true
	_REAPED+="$DOCKERD_PID "	# (tests/functions.sh's record of reaped children)
}

# numbering goes on from the lines already there, across restarts
writer='i=0
[ -f /data/log ] && i=$(wc -l < /data/log)
echo "start at line $i"
trap '\''echo "stopped at line $i"; exit 0'\'' TERM
while true; do
	echo $i >> /data/log || { echo "write error at line $i"; exit 1; }
	sync /data/log || { echo "fsync error at line $i"; exit 1; }
	i=$((i + 1))
	sleep 0.05
done'

step "a container (restart always) writes to volume v1"
docker volume create -d "$DRIVER" v1 >/dev/null
docker run -d --name wr --restart always --pull never -v v1:/data localhost/busybox:test \
    sh -c "$writer" >/dev/null
wait_for 60 test -s "$T/mnt/v1/log"
enough() { [ "$(lines)" -ge 20 ]; }
wait_for 60 enough

step "1. stop dockerd (SIGTERM) at line $(lines): it stops the container, the volume detaches"
n_stop=$(lines)
t0=$(date +%s%3N)
dockerd_stop TERM
step "dockerd stopped in $(( $(date +%s%3N) - t0 )) ms"
unmounted "dockerd stopped the container"
jq -e '.volumes == {}' "$T/state/mounts.json" >/dev/null ||
    fail "references left with dockerd down: $(cat "$T/state/mounts.json")"
assert_eq "$(lease)" none "lease of v1 with dockerd down"
[ -z "$(losetup -n -l -O BACK-FILE | grep "$T/" || true)" ] || fail "loop device left: $(losetup -l)"

step "start dockerd again: it restarts the container, which goes on writing"
start_dockerd
wait_for 60 running
wait_for 60 mountpoint -q "$T/mnt/v1"
growing 60
assert_eq "$(refs)" 1 "references to v1"
step "writing again at line $(lines) ($n_stop before the stop); restarts: $(docker inspect -f '{{.RestartCount}}' wr)"

step "2. SIGKILL dockerd at line $(lines): the container and its mount live on"
helper=$(jq -r '.volumes.v1.helper_pid' "$T/state/mounts.json")
dockerd_stop KILL
growing 30
sleep 2
growing 30
mountpoint -q "$T/mnt/v1" || fail "the mount went away with dockerd"
alive "$helper" || fail "cephvol-mount died with dockerd"
step "writing on with dockerd dead: line $(lines)"

step "start dockerd again: one reference, mounted, writing goes on"
start_dockerd
wait_for 60 running
# settled: dockerd has dealt with the container it found (stopped and
# restarted it, or kept it), and writing goes on
sleep 3
wait_for 60 running
wait_for 60 mountpoint -q "$T/mnt/v1"
growing 60
step "references to v1 after dockerd's crash and restart: $(refs) (one container uses it)"
step "writing at line $(lines); container restarts: $(docker inspect -f '{{.RestartCount}}' wr); log: $(docker logs wr 2>&1 | grep -v IPv4 | tr '\n' ' ')"

step "stop and remove the container: exit 0, the volume unmounts cleanly"
docker stop -t 30 wr >/dev/null
assert_eq "$(docker inspect -f '{{.State.ExitCode}}' wr)" 0 "exit status of the container (log: $(docker logs wr 2>&1 | tail -n 3))"
out=$(docker logs wr 2>&1)
! grep -q "error" <<< "$out" || fail "the container saw errors: $out"
docker rm wr >/dev/null
unmounted "the container was stopped and removed"
jq -e '.volumes == {}' "$T/state/mounts.json" >/dev/null ||
    fail "references left: $(cat "$T/state/mounts.json")"
assert_eq "$(lease)" none "lease of v1 after the container was removed"
[ -z "$(losetup -n -l -O BACK-FILE | grep "$T/" || true)" ] || fail "loop device left: $(losetup -l)"
if grep -q "$T/state/vol" /proc/self/mountinfo; then fail "FUSE mount left"; fi

step "every line written is there, in order"
docker run --rm --pull never -v v1:/data localhost/busybox:test cat /data/log > "$T/log"
n=$(wc -l < "$T/log")
seq 0 $((n - 1)) | cmp -s - "$T/log" || fail "the log has gaps or damage: $(seq 0 $((n - 1)) | diff - "$T/log" | head -n 5)"
step "lines written in all: $n"
docker volume rm v1 >/dev/null
