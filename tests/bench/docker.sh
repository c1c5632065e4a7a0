#!/usr/bin/env bash
# tests/bench/docker.sh - what Docker users wait for: the plugin's request
# latency and throughput, and container start with a cephvol volume, on a
# real dockerd and the rig's Ceph.
#
#	tests/bench/docker.sh [N]	(default 20 repetitions of each)
#
#  - Get latency (one keep-alive connection, N x 10 requests) and Get
#    throughput with 8 parallel clients;
#  - Mount + Unmount of an existing volume over the socket (attach and
#    detach: cephvol-mount, lease, loop, mount), p50/p90;
#  - docker volume create; docker run --rm of a volume's first use (mkfs)
#    and later uses, beside docker run --rm without a volume;
#  - cephvold restart to first answer with a volume mounted.
# Uses the cluster of CEPHVOL_TEST_CONF if set, else starts a private one.
# Appends to $BENCH_RESULTS when set ("docker<TAB>workload<TAB>1<TAB>value<TAB>unit").
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq
N=${1:-20}
[ "${BENCH_QUICK:-0}" = 1 ] && N=5
ceph_env
test_pool
write_config volume.default_size=1G log.level=info
start_cephvold
start_dockerd

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# pct P FILE: the P-th percentile of the numbers in FILE
pct() { sort -n "$2" | awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print a[i] }'; }
result() {
	printf '%-44s %s\n' "$1" "$2 $3"
	[ -z "${BENCH_RESULTS:-}" ] || printf 'docker\t%s\t1\t%s\t%s\n' "$1" "$2" "$3" >> "$BENCH_RESULTS"
	[ -z "${BENCH_OUT:-}" ] || printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$BENCH_OUT/docker.txt"
}

api VolumeDriver.Create '{"Name":"b0","Opts":null}' >/dev/null

step "Get latency on one connection"
urls=()
for i in $(seq 1 $((N * 10))); do urls+=(--next --unix-socket "$PLUGIN_SOCK" -s -o /dev/null -X POST -H 'Content-Type:' --data-binary '{"Name":"b0"}' -w '%{time_total}\n' http://plugin/VolumeDriver.Get); done
curl "${urls[@]:1}" | awk '{ print $1 * 1000 }' > "$T/get.ms"
result get_p50_ms "$(pct 50 "$T/get.ms")" ms
result get_p99_ms "$(pct 99 "$T/get.ms")" ms

step "Get throughput, 8 clients on keep-alive connections"
t0=$(date +%s%N)
pids=()
for c in $(seq 1 8); do
	curl "${urls[@]:1}" > "$T/par.$c" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
t=$(ms "$t0")
result get_8clients_per_s "$(( N * 10 * 8 * 1000 / (t > 0 ? t : 1) ))" req/s

step "Mount + Unmount over the socket"
api VolumeDriver.Mount '{"Name":"b0","ID":"warm"}' >/dev/null	# mkfs once
api VolumeDriver.Unmount '{"Name":"b0","ID":"warm"}' >/dev/null
: > "$T/mount.ms"; : > "$T/unmount.ms"
for i in $(seq 1 "$N"); do
	t0=$(date +%s%N)
	api VolumeDriver.Mount "{\"Name\":\"b0\",\"ID\":\"m$i\"}" | jq -e '.Err == ""' >/dev/null
	ms "$t0" >> "$T/mount.ms"
	t0=$(date +%s%N)
	api VolumeDriver.Unmount "{\"Name\":\"b0\",\"ID\":\"m$i\"}" | jq -e '.Err == ""' >/dev/null
	ms "$t0" >> "$T/unmount.ms"
done
result mount_p50_ms "$(pct 50 "$T/mount.ms")" ms
result mount_p90_ms "$(pct 90 "$T/mount.ms")" ms
result unmount_p50_ms "$(pct 50 "$T/unmount.ms")" ms
result unmount_p90_ms "$(pct 90 "$T/unmount.ms")" ms

step "docker volume create, docker run"
: > "$T/create.ms"; : > "$T/first.ms"; : > "$T/again.ms"; : > "$T/plain.ms"
for i in $(seq 1 $(( N < 10 ? N : 10 ))); do
	t0=$(date +%s%N); docker volume create -d "$DRIVER" "d$i" >/dev/null; ms "$t0" >> "$T/create.ms"
	t0=$(date +%s%N); docker run --rm --pull never -v "d$i:/data" localhost/busybox:test true 2>/dev/null; ms "$t0" >> "$T/first.ms"
	t0=$(date +%s%N); docker run --rm --pull never -v "d$i:/data" localhost/busybox:test true 2>/dev/null; ms "$t0" >> "$T/again.ms"
	t0=$(date +%s%N); docker run --rm --pull never localhost/busybox:test true 2>/dev/null; ms "$t0" >> "$T/plain.ms"
done
result docker_volume_create_p50_ms "$(pct 50 "$T/create.ms")" ms
result docker_run_first_use_mkfs_p50_ms "$(pct 50 "$T/first.ms")" ms
result docker_run_with_volume_p50_ms "$(pct 50 "$T/again.ms")" ms
result docker_run_no_volume_p50_ms "$(pct 50 "$T/plain.ms")" ms

step "cephvold restart with a volume mounted"
api VolumeDriver.Mount '{"Name":"b0","ID":"held"}' >/dev/null
stop_cephvold KILL
t0=$(date +%s%N)
start_cephvold
result restart_to_ready_ms "$(ms "$t0")" ms
api VolumeDriver.Unmount '{"Name":"b0","ID":"held"}' >/dev/null
for i in $(seq 1 $(( N < 10 ? N : 10 ))); do docker volume rm "d$i" >/dev/null 2>&1 || true; done
exit 0
