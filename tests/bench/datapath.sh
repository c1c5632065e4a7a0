#!/usr/bin/env bash
# tests/bench/datapath.sh - the block data path against librbd, in one run on
# one cluster: fio through a mounted cephvol volume (ext4 -> loop with direct
# I/O -> cephvol-mount -> RADOS) beside fio's rbd engine (librbd with
# `rbd cache = false`, write-through like us)
# on an RBD image in the same cluster.
#
#   tests/bench/datapath.sh [--quick]
#
# Workloads (each on both targets):
#   seqwrite   1 MiB writes, iodepth 16, direct          MiB/s
#   seqread    1 MiB reads, iodepth 16, direct           MiB/s
#   randwrite  4 KiB random writes, iodepth 16, direct   IOPS, p50, p99
#   randread   4 KiB random reads, iodepth 16, direct    IOPS, p50, p99
#   fsync      4 KiB writes + fsync each, iodepth 1      IOPS, p50, p99
# then prints ratios (ours / librbd) and the peak RSS of cephvol-mount.
#
# Run by tests/bench/run.sh (which gives CEPH_CONF, CEPHVOL_TEST_KEYRING,
# CEPHVOL_BIN, BENCH_OUT, BENCH_RESULTS, BENCH_QUICK) or on its own, when
# it starts and stops a private cluster (tests/lib/ceph.sh). Knobs:
# BENCH_SIZE (1G; --quick 256M) for the sequential file, BENCH_RUNTIME
# (20 s; --quick 5 s) for the random and fsync jobs. Root only. Everything
# it starts is stopped, unmounted and removed at exit.
set -uo pipefail
unset CEPH_ARGS

src=$(cd "$(dirname "$0")/../.." && pwd)
quick=${BENCH_QUICK:-0}
[ "${1:-}" = --quick ] && quick=1
[ "$(id -u)" = 0 ] || { echo "datapath: must run as root" >&2; exit 2; }
for c in fio jq rbd rados ceph; do
	command -v "$c" >/dev/null || { echo "datapath: requires $c" >&2; exit 2; }
done
fio --enghelp 2>/dev/null | grep -qw rbd || { echo "datapath: fio has no rbd engine" >&2; exit 2; }
if [ "$quick" = 1 ]; then SIZE=${BENCH_SIZE:-256M} RUNTIME=${BENCH_RUNTIME:-5}
else SIZE=${BENCH_SIZE:-1G} RUNTIME=${BENCH_RUNTIME:-20}; fi
CEPHVOL_BIN=${CEPHVOL_BIN:-$src/build/bin}
W=$(mktemp -d /tmp/cvbench-datapath.XXXXXX)
OUT=${BENCH_OUT:-$W/out}
mkdir -p "$OUT/raw"

CLEANUPS=()
cleanup_fn() { local q; printf -v q '%q ' "$@"; CLEANUPS+=("$q"); }
cleanup() {
	local i
	for (( i = ${#CLEANUPS[@]} - 1; i >= 0; i-- )); do eval "${CLEANUPS[i]}" >/dev/null 2>&1; done
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "datapath: $*" >&2; }

if [ -z "${CEPH_CONF:-${CEPHVOL_TEST_CONF:-}}" ]; then
	say "starting a private cluster in $W/ceph"
	cleanup_fn "$src/tests/lib/ceph.sh" stop "$W/ceph"
	eval "$("$src/tests/lib/ceph.sh" start "$W/ceph")" || { say "cannot start a cluster"; exit 1; }
fi
export CEPH_CONF=${CEPH_CONF:-$CEPHVOL_TEST_CONF}
KEYRING=${CEPHVOL_TEST_KEYRING:-$(dirname "$CEPH_CONF")/keyring.admin}
tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
POOL=cvb-dp-$tag RBDPOOL=cvb-rbd-$tag

pool_create() {
	ceph osd pool create "$1" 8 >/dev/null 2>&1 || return 1
	cleanup_fn ceph osd pool delete "$1" "$1" --yes-i-really-really-mean-it
}
pool_create "$POOL" || { say "cannot create pool $POOL"; exit 1; }
ceph osd pool application enable "$POOL" cephvol >/dev/null 2>&1
pool_create "$RBDPOOL" || { say "cannot create pool $RBDPOOL"; exit 1; }
rbd pool init "$RBDPOOL" >/dev/null 2>&1
rbd create --size 4G "$RBDPOOL/img" || { say "rbd create failed"; exit 1; }

# librbd without its cache (write-through, like us): a conf of its own
awk '{ print } /^\[client\]/ { print "rbd cache = false" }' "$CEPH_CONF" > "$W/ceph-rbd.conf"
grep -q '^\[client\]' "$W/ceph-rbd.conf" || printf '[client]\nrbd cache = false\n' >> "$W/ceph-rbd.conf"

cat > "$W/cephvol.conf" <<EOF
[ceph]
conf = $CEPH_CONF
client = client.admin
keyring = $KEYRING
pool = $POOL
[plugin]
state_dir = $W/state
mount_root = $W/mounts
[log]
level = info
EOF
export CEPHVOL_CONF=$W/cephvol.conf
cv() { "$CEPHVOL_BIN/cephvol" "$@"; }
M=$W/m
cv volume create dp -o size=4G >/dev/null || { say "volume create failed"; exit 1; }
cleanup_fn "$CEPHVOL_BIN/cephvol" volume unmount "$M" dp
cv volume mount dp "$M" >&2 || { say "volume mount failed"; exit 1; }
DPID=$(cv --json volume inspect dp | jq -r .id)
PID=$(head -n 1 "$W/state/vol/$DPID.pid")

# job NAME RW BS IODEPTH [extra fio args]: the job's common part
common() { echo "--direct=1 --group_reporting --randrepeat=0 --norandommap --output-format=json"; }
run_fio() {	# run_fio TARGET JOB ARGS...
	local target=$1 job=$2; shift 2
	local base
	if [ "$target" = ours ]; then
		base="--ioengine=libaio --filename=$M/fio.dat --size=$SIZE"
	else
		base="--ioengine=rbd --clientname=admin --pool=$RBDPOOL --rbdname=img --size=$SIZE"
	fi
	local conf=$CEPH_CONF
	[ "$target" = librbd ] && conf=$W/ceph-rbd.conf
	# shellcheck disable=SC2046,SC2086
	CEPH_CONF=$conf fio --name="$job" $base $(common) "$@" > "$OUT/raw/$target.$job.json" 2> "$OUT/raw/$target.$job.err" ||
	    say "fio $target $job failed: $(head -c 300 "$OUT/raw/$target.$job.err")"
}
# metric TARGET JOB read|write iops|bw|p50|p99
metric() {
	local f=$OUT/raw/$1.$2.json d=$3
	[ -s "$f" ] || { echo -; return; }
	case $4 in
	bw)   jq -r ".jobs[0].$d.bw_bytes / 1048576 | . * 10 | round / 10" "$f" ;;
	iops) jq -r ".jobs[0].$d.iops | round" "$f" ;;
	p50)  jq -r ".jobs[0].$d.clat_ns.percentile[\"50.000000\"] / 1000000 | . * 100 | round / 100" "$f" ;;
	p99)  jq -r ".jobs[0].$d.clat_ns.percentile[\"99.000000\"] / 1000000 | . * 100 | round / 100" "$f" ;;
	# write + its fsync: fio's clat of the write plus its sync latency
	wsp50) jq -r "(.jobs[0].write.clat_ns.percentile[\"50.000000\"] + .jobs[0].sync.lat_ns.percentile[\"50.000000\"]) / 1000000 | . * 100 | round / 100" "$f" ;;
	wsp99) jq -r "(.jobs[0].write.clat_ns.percentile[\"99.000000\"] + .jobs[0].sync.lat_ns.percentile[\"99.000000\"]) / 1000000 | . * 100 | round / 100" "$f" ;;
	esac
}

for t in ours librbd; do
	say "$t: seqwrite 1M qd16 ($SIZE)"
	run_fio $t seqwrite --rw=write --bs=1M --iodepth=16
	say "$t: seqread 1M qd16"
	run_fio $t seqread --rw=read --bs=1M --iodepth=16
	say "$t: randwrite 4K qd16 (${RUNTIME}s)"
	run_fio $t randwrite --rw=randwrite --bs=4k --iodepth=16 --time_based --runtime="$RUNTIME"
	say "$t: randread 4K qd16 (${RUNTIME}s)"
	run_fio $t randread --rw=randread --bs=4k --iodepth=16 --time_based --runtime="$RUNTIME"
	say "$t: 4K write + fsync qd1 (${RUNTIME}s)"
	# (the rbd engine's fsync is rbd_flush)
	run_fio $t fsync --rw=randwrite --bs=4k --iodepth=1 --fsync=1 --time_based --runtime="$RUNTIME"
done
RSS=$(awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$PID/status" 2>/dev/null)
cv volume unmount "$M" >&2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
printf '\n%-28s %12s %12s %8s\n' "workload (cephvol vs librbd)" "cephvol" "librbd" "ratio"
row() {	# row LABEL JOB DIR KIND UNIT
	local a b
	a=$(metric ours "$2" "$3" "$4") b=$(metric librbd "$2" "$3" "$4")
	printf '%-28s %12s %12s %8s\n' "$1 ($5)" "$a" "$b" "$(ratio "$a" "$b")"
	if [ -n "${BENCH_RESULTS:-}" ]; then
		printf 'datapath-ours\t%s_%s\t1\t%s\t%s\n' "$2" "$4" "$a" "$5" >> "$BENCH_RESULTS"
		printf 'datapath-librbd\t%s_%s\t1\t%s\t%s\n' "$2" "$4" "$b" "$5" >> "$BENCH_RESULTS"
	fi
}
row "seq write 1M qd16" seqwrite write bw MiB/s
row "seq read 1M qd16" seqread read bw MiB/s
row "rand write 4K qd16" randwrite write iops IOPS
row "  p50" randwrite write p50 ms
row "  p99" randwrite write p99 ms
row "rand read 4K qd16" randread read iops IOPS
row "  p50" randread read p50 ms
row "  p99" randread read p99 ms
row "write+fsync 4K qd1" fsync write iops IOPS
row "  p50 (write + fsync)" fsync write wsp50 ms
row "  p99 (write + fsync)" fsync write wsp99 ms
printf '%-28s %12s\n' "cephvol-mount peak RSS" "${RSS:--} MiB"
[ -n "${BENCH_RESULTS:-}" ] && printf 'datapath-ours\trss_peak\t1\t%s\tMiB\n' "${RSS:--}" >> "$BENCH_RESULTS"
echo "(write + fsync latency: the sum of the percentiles of the write and of its fsync, an estimate; fio json in $OUT/raw)"
exit 0
