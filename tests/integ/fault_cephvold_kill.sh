#!/usr/bin/env bash
# fault_cephvold_kill.sh - cephvold is SIGKILLed under three containers
# (a real dockerd), each writing numbered lines to its own volume, fsync
# after each (busybox `sync FILE`) and stopping with status 1 at the first
# error. The containers keep writing while cephvold is down (every
# cephvol-mount is detached from it); cephvold restarts and finds the three
# references intact; the containers then finish when told (a stop file on
# their volume), exit 0 and are removed: each volume is unmounted (no
# mount, loop device, cephvol-mount, reference or lease left) and holds
# every line its container wrote, in order. (docker_restart.sh covers one
# container and the repair paths; this is several at once, with fsync and
# checked exit statuses.)
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq
VOLS="v1 v2 v3"

ceph_env
test_pool
write_config volume.default_size=256M volume.lease_seconds=6
# on failure, a volume left attached is detached while the cluster still
# runs (this runs after cephvold and dockerd have stopped)
detach_left() {
	local v
	for v in $VOLS; do
		mountpoint -q "$T/mnt/$v" 2>/dev/null || continue
		timeout 60 "$CEPHVOL_BIN/cephvol" volume unmount "$T/mnt/$v" "$v" >/dev/null 2>&1
	done
	true
}
cleanup_fn detach_left
start_cephvold
start_dockerd

lines() { { wc -l < "$T/mnt/$1/log"; } 2>/dev/null || echo 0; }
# alive PID: running (a zombie, or a pid already reaped, is not)
alive() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
gone() { ! alive "$1"; }
# the writer in each container: line i, fsync, until /data/stop exists
writer='i=0
while [ ! -e /data/stop ]; do
	echo $i >> /data/log || { echo "write error at line $i"; exit 1; }
	sync /data/log || { echo "fsync error at line $i"; exit 1; }
	i=$((i + 1))
	sleep 0.05
done
echo "done $i"'

step "three containers write to volumes $VOLS"
for v in $VOLS; do
	docker volume create -d "$DRIVER" "$v" >/dev/null
	docker run -d --name "w$v" --pull never -v "$v:/data" localhost/busybox:test \
	    sh -c "$writer" >/dev/null
done
for v in $VOLS; do
	wait_for 60 test -s "$T/mnt/$v/log"
	helper[${v#v}]=$(jq -r --arg v "$v" '.volumes[$v].helper_pid' "$T/state/mounts.json")
	alive "${helper[${v#v}]}" || fail "no live cephvol-mount for $v"
done
enough() { local v; for v in $VOLS; do [ "$(lines "$v")" -ge 20 ] || return 1; done; }
wait_for 60 enough

# running VOL: its container still runs
running() { [ "$(docker inspect -f '{{.State.Running}}' "w$1")" = true ]; }
# growing SECS: every container writes at least one line within SECS
growing() {
	local secs=$1 v i
	declare -A n0=()
	for v in $VOLS; do n0[$v]=$(lines "$v"); done
	for (( i = 0; i < secs * 10; i++ )); do
		local all=1
		for v in $VOLS; do
			running "$v" || fail "container w$v stopped: $(docker logs "w$v" 2>&1 | tail -n 3)"
			[ "$(lines "$v")" -gt "${n0[$v]}" ] || all=
		done
		[ -n "$all" ] && return 0
		sleep 0.1
	done
	for v in $VOLS; do echo "  $v: ${n0[$v]} -> $(lines "$v") lines" >&2; done
	fail "not every container wrote within ${secs}s"
}

step "SIGKILL cephvold for over two leases (lease 6 s): the mounts and the writers go on"
declare -A down=()
for v in $VOLS; do down[$v]=$(lines "$v"); done
stop_cephvold KILL
t_kill=$(date +%s%3N)
growing 30
# longer than two leases: renewing is cephvol-mount's job, not cephvold's
sleep 12
growing 30
for v in $VOLS; do
	mountpoint -q "$T/mnt/$v" || fail "$v's mount went away with cephvold"
	alive "${helper[${v#v}]}" || fail "$v's cephvol-mount died with cephvold"
done
summary=
for v in $VOLS; do summary+=" $v: ${down[$v]} -> $(lines "$v");"; done
step "lines written while cephvold was down:$summary"

step "restart cephvold: the three references reloaded and found intact"
start_cephvold
step "cephvold was down $(( $(date +%s%3N) - t_kill )) ms"
for v in $VOLS; do
	grep -q "volume=$v: 1 reference(s), mounted at $T/mnt/$v" "$T/cephvold.log" ||
	    fail "restart did not report $v kept: $(grep "volume=$v" "$T/cephvold.log" | tail -n 3)"
done
growing 30
jq -e '[.volumes[] | .refs | length] == [1, 1, 1]' "$T/state/mounts.json" >/dev/null ||
    fail "references after the restart: $(cat "$T/state/mounts.json")"

step "the containers finish when told: exit 0, no error"
for v in $VOLS; do touch "$T/mnt/$v/stop"; done
declare -A total=()
for v in $VOLS; do
	st=$(timeout 60 docker wait "w$v") || fail "w$v did not finish within 60 s"
	out=$(docker logs "w$v" 2>&1)
	assert_eq "$st" 0 "exit status of w$v (output: $out)"
	total[$v]=$(sed -n 's/^done \([0-9]*\)$/\1/p' <<< "$out")
	[ -n "${total[$v]}" ] || fail "w$v did not report its lines: $out"
done
step "lines written (each fsync'ed) in all: $(for v in $VOLS; do printf '%s %s; ' "$v" "${total[$v]}"; done)errors: 0"

step "remove the containers: every volume unmounts cleanly"
for v in $VOLS; do docker rm "w$v" >/dev/null; done
for v in $VOLS; do
	wait_for 30 sh -c "! mountpoint -q '$T/mnt/$v'"
	wait_for 15 gone "${helper[${v#v}]}"
	docker volume inspect "$v" | jq -e '.[0].Status.lease == "none"' >/dev/null ||
	    fail "lease of $v not released: $(docker volume inspect "$v")"
done
[ -z "$(losetup -n -l -O BACK-FILE | grep "$T/" || true)" ] || fail "loop device left: $(losetup -l)"
if grep -q "$T/state/vol" /proc/self/mountinfo; then fail "FUSE mount left"; fi
jq -e '.volumes == {}' "$T/state/mounts.json" >/dev/null ||
    fail "references left: $(cat "$T/state/mounts.json")"

step "every line written is there, in order"
for v in $VOLS; do
	docker run --rm --pull never -v "$v:/data" localhost/busybox:test cat /data/log > "$T/$v.log"
	n=$(wc -l < "$T/$v.log")
	assert_eq "$n" "${total[$v]}" "lines in $v"
	seq 0 $((n - 1)) | cmp -s - "$T/$v.log" || fail "$v's log has gaps or damage"
done
for v in $VOLS; do docker volume rm "$v" >/dev/null; done
