#!/usr/bin/env bash
# tests/bench/snapshots.sh - what snapshots and clones cost, on one cluster,
# through mounted volumes (`cephvol volume mount`: cephvol-mount + loop with
# direct I/O + ext4), without Docker:
#
#   tests/bench/snapshots.sh [--quick]
#
#  1. the freeze pause: a mounted volume with a writer running, N snapshots
#     one after the other (`snapshot create --json`, 0.5 s apart): the
#     holder's frozen_ms of each (p50, p95, max: N is too small for a p99)
#     and the CLI's wall time; the writer's latencies in a quiet window
#     before the snapshots and in the snapshots' window. Two writers,
#     separately, each on a volume of its own: build/tests/fsync_records
#     (4 KiB appends, fsync after each; its latency is the time between two
#     "synced" lines) and fio 4K randwrite qd16 direct=1 over a written file
#     (per-I/O total latency from fio's lat log, unix-epoch stamped); and,
#     with 5 snapshots, fio 1M sequential buffered writes without fsync,
#     which shows what bounds the pause (the freeze writes back what was
#     dirtied during the syncfs before it);
#  2. the write path with snapshots: on one volume, over a file written
#     full first, fio seq write 1M qd16 and 4K randwrite qd16 (direct=1),
#     3 runs each with no snapshot, then 3 runs each right after a snapshot
#     of its own (so every run pays the OSD's copy-on-write of each object
#     it touches first); medians and ratios;
#  3. clones: `volume create NEW --from VOL@SNAP` of a 1 GiB and a 100 GiB
#     volume (16 MiB written, unmounted, snapshot), 5 reps, beside a plain
#     `volume create` of the same size; the first and the second mount of
#     a clone beside the first mount (with mkfs) of its parent;
#  4. read-through: fio seq read 1M qd16 direct=1 of a file on a fresh
#     clone (its objects are read from the parent's snapshot) and of the
#     same file on the parent, in turns.
#
# Run by tests/bench/run.sh (CEPH_CONF, CEPHVOL_TEST_KEYRING, CEPHVOL_BIN,
# CEPHVOL_BUILD, BENCH_OUT, BENCH_RESULTS, BENCH_QUICK) or on its own, when
# it starts and stops a private cluster (tests/lib/ceph.sh). Knobs:
# BENCH_SIZE (1G; --quick 256M) the fio file, BENCH_RUNTIME (20 s; --quick
# 5 s) the random write jobs and the quiet window of part 1. --quick also
# takes 10 snapshots instead of 20 (3 instead of 5 under the buffered
# writer), 3 clone reps instead of 5 and 1 read-through rep instead of 3.
# Raw outputs in BENCH_OUT/raw: every snapshot's JSON, start and end
# (PREFIX.snaps.tsv), each writer's latencies (WRITER.writer_lat.gz: wall
# ms of completion, ms), fio's JSON.
#
# Every figure goes to BENCH_RESULTS as "snapshots<TAB>workload<TAB>rep<TAB>
# value<TAB>unit"; stdout is a short table. Root only. Everything made is
# removed at exit, also on failure and Ctrl-C: processes by their pid,
# mounts, loop devices over our files; clones, snapshots and volumes with
# cephvol (checked: their data objects must go), then the pool.
set -uo pipefail
unset CEPH_ARGS

src=$(cd "$(dirname "$0")/../.." && pwd)
quick=${BENCH_QUICK:-0}
[ "${1:-}" = --quick ] && quick=1
[ "$(id -u)" = 0 ] || { echo "snapshots: must run as root" >&2; exit 2; }
for c in fio jq rados ceph losetup mountpoint awk; do
	command -v "$c" >/dev/null || { echo "snapshots: requires $c" >&2; exit 2; }
done
CEPHVOL_BUILD=${CEPHVOL_BUILD:-$src/build}
CEPHVOL_BIN=${CEPHVOL_BIN:-$CEPHVOL_BUILD/bin}
REC=$CEPHVOL_BUILD/tests/fsync_records
for f in "$CEPHVOL_BIN/cephvol" "$CEPHVOL_BIN/cephvol-mount" "$REC"; do
	[ -x "$f" ] || { echo "snapshots: no $f (run make)" >&2; exit 2; }
done
if [ "$quick" = 1 ]; then
	SIZE=${BENCH_SIZE:-256M} RUNTIME=${BENCH_RUNTIME:-5} NSNAP=10 NBUF=3 CREPS=3 RREPS=1
else
	SIZE=${BENCH_SIZE:-1G} RUNTIME=${BENCH_RUNTIME:-20} NSNAP=20 NBUF=5 CREPS=5 RREPS=3
fi
COWREPS=3		# runs per workload and state in part 2
QUIET=$RUNTIME		# part 1: seconds of writer alone before the snapshots
GAP=0.5			# part 1: seconds between two snapshots
VOLSZ=4G		# volumes that hold the fio file

W=$(mktemp -d /var/tmp/cvbench-snap.XXXXXX)
chmod 755 "$W"
# private copies: a concurrent `make` must not replace them mid-run (the
# CLI starts the cephvol-mount beside it)
mkdir "$W/bin"
cp "$CEPHVOL_BIN/cephvol" "$CEPHVOL_BIN/cephvol-mount" "$REC" "$W/bin/" ||
    { echo "snapshots: cannot copy the binaries" >&2; rm -rf "$W"; exit 2; }
CEPHVOL_BIN=$W/bin REC=$W/bin/fsync_records
OUT=${BENCH_OUT:-$W/out}
mkdir -p "$OUT/raw"
RAW=$OUT/raw
: > "$OUT/results.tsv"

say() { echo "snapshots: $*" >&2; }
warn() { echo "snapshots: warning: $*" >&2; }

# --- cleanup: three stages, each last-in first-out -------------------------
# host: processes, mounts, loop devices (torn down at the end of each part);
# store: clones, snapshots, volumes (kept to the end, so that no snapshot
# trimming runs under a later measurement); final: the pool, the cluster.
HOST_CLEANUPS=() STORE_CLEANUPS=() FINAL_CLEANUPS=()
host_fn()  { local q; printf -v q '%q ' "$@"; HOST_CLEANUPS+=("$q"); }
store_fn() { local q; printf -v q '%q ' "$@"; STORE_CLEANUPS+=("$q"); }
final_fn() { local q; printf -v q '%q ' "$@"; FINAL_CLEANUPS+=("$q"); }
host_mark() { echo "${#HOST_CLEANUPS[@]}"; }
# host_to MARK: tear down the host resources registered since MARK.
host_to() {
	local n
	while n=${#HOST_CLEANUPS[@]}; [ "$n" -gt "$1" ]; do
		local c=${HOST_CLEANUPS[$((n - 1))]}
		unset "HOST_CLEANUPS[$((n - 1))]"
		HOST_CLEANUPS=("${HOST_CLEANUPS[@]}")
		eval "$c" >&2 || true
	done
}
run_list() {	# run_list NAME: run and empty one stage, newest first
	local -n list=$1
	local i
	for (( i = ${#list[@]} - 1; i >= 0; i-- )); do eval "${list[i]}" >&2 || true; done
	list=()
}
cleanup() {
	trap - EXIT INT TERM
	run_list HOST_CLEANUPS
	sweep_host
	run_list STORE_CLEANUPS
	run_list FINAL_CLEANUPS
	rm -rf --one-file-system "$W" 2>/dev/null || warn "could not remove $W"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
# stop_pid PID [SIG]: SIG (default TERM), wait up to 10 s, then KILL.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i
	alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill "-$sig" "$pid" 2>/dev/null || true
	for (( i = 0; i < 100; i++ )); do
		alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	warn "pid $pid did not stop in 10 s, killing it"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
# stop_child PID [SIG]: stop_pid, if PID is still a job of this shell (a
# pid already waited for may have been reused)
stop_child() {
	case " $(jobs -p | tr '\n' ' ') " in *" $1 "*) stop_pid "$@" ;; esac
}
wait_for() {	# wait_for SECS CMD...: poll CMD every 0.1 s
	local secs=$1 i; shift
	for (( i = 0; i < secs * 10; i++ )); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# sweep_host: whatever a failure left on the host under $W: mounts (deepest
# first), loop devices over our files, cephvol-mount processes of ours
# (found by $W in their command line, stopped by pid).
sweep_host() {
	local m dev back p pid
	awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
	while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	losetup -n -l -O NAME,BACK-FILE 2>/dev/null | while read -r dev back; do
		case "$back" in "$W"/*) losetup -d "$dev" 2>/dev/null ;; esac
	done
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$(basename "$(readlink "$p/exe" 2>/dev/null)")" = cephvol-mount ] || continue
		tr '\0' '\n' < "$p/cmdline" 2>/dev/null | grep -qF "$W/" || continue
		warn "cephvol-mount pid $pid still runs, stopping it"
		stop_pid "$pid"
	done
}

# --- results ----------------------------------------------------------------
# rec WORKLOAD REP VALUE UNIT
rec() {
	printf 'snapshots\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$OUT/results.tsv"
	[ -z "${BENCH_RESULTS:-}" ] ||
	    printf 'snapshots\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$BENCH_RESULTS"
}
now_ms() { date +%s%3N; }
# median / pct P of the numbers on stdin (nearest rank: the P-th
# percentile of n values is the ceil(P n / 100)-th smallest)
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
pct() {
	sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		i = int(p * NR / 100); if (i < p * NR / 100) i++; if (i < 1) i = 1; print v[i] }'
}
r1() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.1f", x }'; }
r0() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.0f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# --- the cluster, the pool, the configuration --------------------------------
if [ -z "${CEPH_CONF:-${CEPHVOL_TEST_CONF:-}}" ]; then
	say "starting a private cluster in $W/ceph"
	final_fn "$src/tests/lib/ceph.sh" stop "$W/ceph"
	eval "$("$src/tests/lib/ceph.sh" start "$W/ceph")" || { say "cannot start a cluster"; exit 1; }
fi
export CEPH_CONF=${CEPH_CONF:-$CEPHVOL_TEST_CONF}
KEYRING=${CEPHVOL_TEST_KEYRING:-$(dirname "$CEPH_CONF")/keyring.admin}
POOL=cvb-snap-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
timeout 60 ceph osd pool create "$POOL" 8 >/dev/null 2>&1 || { say "cannot create pool $POOL"; exit 1; }
final_fn timeout 60 ceph osd pool delete "$POOL" "$POOL" --yes-i-really-really-mean-it
timeout 60 ceph osd pool application enable "$POOL" cephvol >/dev/null 2>&1

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

# vol_create NAME ARGS...: cephvol volume create, its removal registered;
# the wall time in ms left in MS.
vol_create() {
	local name=$1 t0; shift
	t0=$(now_ms)
	cv volume create "$name" "$@" > "$RAW/create.$name.out" 2>&1 || {
		warn "volume create $name $*: $(head -c 300 "$RAW/create.$name.out")"; return 1; }
	MS=$(( $(now_ms) - t0 ))
	store_fn vol_rm "$name"
}
vol_rm() {
	cv volume rm "$1" > "$RAW/rm.$1.out" 2>&1 ||
	    warn "volume rm $1: $(head -c 300 "$RAW/rm.$1.out")"
}
# snap_take VOL SNAP: snapshot create --json into RAW/snap.VOL.SNAP.json,
# its removal registered; the CLI's wall time in ms left in MS.
snap_take() {
	local f=$RAW/snap.$1.$2.json t0
	t0=$(now_ms)
	cv --json snapshot create "$1" "$2" > "$f" 2> "$f.err" || {
		warn "snapshot create $1 $2: $(head -c 300 "$f.err")"; return 1; }
	MS=$(( $(now_ms) - t0 ))
	store_fn snap_rm "$1" "$2"
}
snap_rm() {
	cv snapshot rm "$1" "$2" > "$RAW/snaprm.$1.$2.out" 2>&1 ||
	    warn "snapshot rm $1 $2: $(head -c 300 "$RAW/snaprm.$1.$2.out")"
}
# mount_vol VOL DIR: cephvol volume mount, the unmount registered (host);
# the wall time in ms left in MS, cephvol-mount's pid in MPID.
mount_vol() {
	local vol=$1 dir=$2 t0
	mkdir -p "$dir"
	t0=$(now_ms)
	cv --json volume mount "$vol" "$dir" > "$RAW/mount.$vol.json" 2>&1 || {
		warn "volume mount $vol: $(head -c 300 "$RAW/mount.$vol.json")"
		unmount_vol "$dir" "$vol" ""; return 1; }
	MS=$(( $(now_ms) - t0 ))
	MPID=$(jq -r .pid "$RAW/mount.$vol.json" 2>/dev/null)
	host_fn unmount_vol "$dir" "$vol" "$MPID"
	mountpoint -q "$dir" || { warn "$dir is not a mount point after volume mount $vol"; return 1; }
}
# unmount_vol DIR VOL PID: the CLI's unmount, then whatever it left.
unmount_vol() {
	local dir=$1 vol=$2 pid=$3 i
	if mountpoint -q "$dir"; then
		cv volume unmount "$dir" "$vol" > "$RAW/unmount.$vol.out" 2>&1 ||
		    warn "volume unmount $dir $vol: $(head -c 300 "$RAW/unmount.$vol.out")"
	fi
	for i in 1 2 3 4 5; do
		mountpoint -q "$dir" || break
		umount "$dir" 2>/dev/null || sleep 0.5
	done
	mountpoint -q "$dir" && umount -l "$dir"
	if [ -n "$pid" ] && alive "$pid" &&
	    tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$W/"; then
		warn "cephvol-mount $pid of $vol outlived its unmount, stopping it"
		stop_pid "$pid"
	fi
	return 0
}
# fio_run NAME ARGS...: fio with JSON output into RAW/NAME.json
fio_run() {
	local name=$1; shift
	fio --name="$name" --ioengine=libaio --direct=1 --group_reporting \
	    --randrepeat=0 --norandommap --output-format=json \
	    --output="$RAW/$name.json" "$@" > "$RAW/$name.err" 2>&1 ||
	    { warn "fio $name failed: $(head -c 300 "$RAW/$name.err")"; return 1; }
}
# fjq NAME FILTER: a figure of RAW/NAME.json (the JSON part of it)
fjq() { sed -n '/^{/,$p' "$RAW/$1.json" | jq -r "$2" 2>/dev/null || echo -; }
objects_of() { cv --json volume inspect "$1" 2>/dev/null | jq -r '.allocated_objects // "-"'; }

TABLE=$W/table
: > "$TABLE"
out() { printf "$@" >> "$TABLE"; }

# --- 1. the freeze pause ----------------------------------------------------
# window_stats FILE A B: "n p50 p99 max" (ms) of column 2 of FILE (lines
# "T_MS VALUE_MS") for A <= T < B.
window_stats() {
	awk -v a="$2" -v b="$3" '$1 >= a && $1 < b { printf "%.2f\n", $2 }' "$1" > "$W/win"
	printf '%s %s %s %s\n' "$(wc -l < "$W/win")" "$(pct 50 < "$W/win")" \
	    "$(pct 99 < "$W/win")" "$(pct 100 < "$W/win")"
}

# snap_series VOL PREFIX N: N snapshots, GAP s apart; frozen_ms into
# W/PREFIX.frozen, CLI wall ms into W/PREFIX.cli; SNAP0/SNAP1 the window.
snap_series() {
	local vol=$1 p=$2 nsnap=$3 i f t
	: > "$W/$p.frozen"; : > "$W/$p.cli"
	SNAP0=$(now_ms)
	printf 'snapshot\tstart_ms\tend_ms\tfrozen_ms\n' > "$RAW/$p.snaps.tsv"
	for (( i = 1; i <= nsnap; i++ )); do
		t=$(now_ms)
		snap_take "$vol" "$p$i" || { SNAP1=$(now_ms); return 1; }
		f=$RAW/snap.$vol.$p$i.json
		jq -e '.online and .froze' "$f" >/dev/null || warn "$vol@$p$i: not frozen by the holder: $(cat "$f")"
		jq -r '.frozen_ms * 100 | round / 100' "$f" >> "$W/$p.frozen"
		echo "$MS" >> "$W/$p.cli"
		rec "frozen_ms_$p" "$i" "$(tail -n 1 "$W/$p.frozen")" ms
		printf '%s\t%s\t%s\t%s\n' "$i" "$t" "$(( t + MS ))" "$(tail -n 1 "$W/$p.frozen")" >> "$RAW/$p.snaps.tsv"
		rec "snapshot_cli_ms_$p" "$i" "$MS" ms
		[ "$i" -lt "$nsnap" ] && sleep "$GAP"
	done
	SNAP1=$(now_ms)
}

# freeze_part WRITER N: one volume, the writer (fsync: fsync_records; fio:
# 4K randwrite qd16 direct; buffered: 1M sequential buffered writes, no
# fsync), a quiet window, N snapshots.
freeze_part() {
	local w=$1 nsnap=$2 vol=frz-$1 dir=$W/m.frz-$1 mark wpid t_start s label
	mark=$(host_mark)
	vol_create "$vol" -o size=$VOLSZ || return 1
	mount_vol "$vol" "$dir" || { host_to "$mark"; return 1; }
	if [ "$w" = fsync ]; then
		"$REC" run "$dir/records" > "$RAW/fsync_records.out" 2> "$RAW/fsync_records.err" &
		wpid=$!
		host_fn stop_child "$wpid"
		started() { [ "$(tail -n 1 "$RAW/fsync_records.out" 2>/dev/null | awk '{ print $2 + 0 }')" -ge 20 ]; }
		wait_for 60 started || warn "fsync_records: slow start"
	else
		say "part 1: fio prefill of $SIZE"
		fio_run frz-prefill --filename="$dir/fio.dat" --size="$SIZE" --rw=write --bs=1M --iodepth=16 || { host_to "$mark"; return 1; }
		local how=(--ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=16)
		[ "$w" = buffered ] && how=(--ioengine=psync --direct=0 --rw=write --bs=1M)
		fio --name="frz-$w" "${how[@]}" --filename="$dir/fio.dat" --size="$SIZE" \
		    --randrepeat=0 --norandommap \
		    --time_based --runtime=3600 --write_lat_log="$W/frz" --log_avg_msec=0 \
		    --log_unix_epoch=1 --output-format=json --output="$RAW/frz-$w.json" \
		    > "$RAW/frz-$w.err" 2>&1 &
		wpid=$!
		host_fn stop_child "$wpid" INT
		# (fio keeps the log in memory until it stops)
		sleep 2
		alive "$wpid" || { warn "fio (part 1, $w) did not start: $(head -c 300 "$RAW/frz-$w.err")"; host_to "$mark"; return 1; }
	fi
	t_start=$(now_ms)
	say "part 1 ($w): writer alone for ${QUIET}s, then $nsnap snapshots ${GAP}s apart"
	sleep "$QUIET"
	snap_series "$vol" "$w" "$nsnap"
	sleep 1
	if [ "$w" = fsync ]; then
		kill -TERM "$wpid" 2>/dev/null
		wait "$wpid"; s=$?
		[ "$s" = 0 ] && [ ! -s "$RAW/fsync_records.err" ] ||
		    warn "fsync_records exited $s: $(head -c 300 "$RAW/fsync_records.err")"
		# latency of record i: the time since the line of record i-1
		awk '$1 == "synced" { if (p) print $3, $3 - p; p = $3 }' "$RAW/fsync_records.out" > "$W/lat"
		rec writer_longest_ms_fsync_whole_run 1 \
		    "$(awk '$1 == "stopped" { print $3 }' "$RAW/fsync_records.out")" ms
	else
		kill -INT "$wpid" 2>/dev/null
		wait "$wpid"; s=$?
		# (fio stopped by SIGINT exits 128 after its report)
		[ "$s" = 0 ] || [ "$s" = 128 ] || warn "fio (part 1, $w) exited $s: $(head -c 300 "$RAW/frz-$w.err")"
		# lat = submission to completion: a write held at the frozen
		# filesystem waits in io_submit, which is in it
		awk -F', *' '{ printf "%s %.3f\n", $1, $2 / 1e6 }' "$W/frz_lat.1.log" > "$W/lat"
		rm -f "$W"/frz_*.log
	fi
	host_to "$mark"
	# (wall ms of each write's completion, its latency in ms)
	gzip -c "$W/lat" > "$RAW/$w.writer_lat.gz"
	# the writer's windows: quiet (from 2 s after the start of the wait to
	# the first snapshot) and the snapshots' (first one to 1 s after the last)
	local qa=$((t_start + 2000)) qb=$SNAP0 sa=$SNAP0 sb=$((SNAP1 + 1000)) q sn
	q=$(window_stats "$W/lat" "$qa" "$qb")
	sn=$(window_stats "$W/lat" "$sa" "$sb")
	read -r qn q50 q99 qmax <<<"$q"
	read -r sn_ s50 s99 smax <<<"$sn"
	local qrate srate
	qrate=$(awk -v n="$qn" -v ms=$((qb - qa)) 'BEGIN { printf "%.0f", n * 1000 / ms }')
	srate=$(awk -v n="$sn_" -v ms=$((sb - sa)) 'BEGIN { printf "%.0f", n * 1000 / ms }')
	rec "writer_p50_ms_${w}_quiet" 1 "$q50" ms;  rec "writer_p50_ms_${w}_snaps" 1 "$s50" ms
	rec "writer_p99_ms_${w}_quiet" 1 "$q99" ms;  rec "writer_p99_ms_${w}_snaps" 1 "$s99" ms
	rec "writer_max_ms_${w}_quiet" 1 "$qmax" ms; rec "writer_max_ms_${w}_snaps" 1 "$smax" ms
	rec "writer_rate_${w}_quiet" 1 "$qrate" "writes/s"; rec "writer_rate_${w}_snaps" 1 "$srate" "writes/s"
	local f50 f95 fmax c50 cmax
	f50=$(median < "$W/$w.frozen"); f95=$(pct 95 < "$W/$w.frozen"); fmax=$(pct 100 < "$W/$w.frozen")
	c50=$(median < "$W/$w.cli"); cmax=$(pct 100 < "$W/$w.cli")
	rec "frozen_p50_ms_$w" 1 "$f50" ms; rec "frozen_p95_ms_$w" 1 "$f95" ms; rec "frozen_max_ms_$w" 1 "$fmax" ms
	rec "snapshot_cli_p50_ms_$w" 1 "$c50" ms; rec "snapshot_cli_max_ms_$w" 1 "$cmax" ms
	case $w in
	fsync) label="fsync_records" ;;
	fio) label="fio 4K randwrite qd16" ;;
	*) label="fio 1M buffered seq *" ;;
	esac
	out '%-22s %3s %6s %6s %6s  %6s %6s   %7s %7s %7s %7s %7s %7s\n' "$label" "$nsnap" \
	    "$(r1 "$f50")" "$(r1 "$f95")" "$(r1 "$fmax")" "$(r0 "$c50")" "$(r0 "$cmax")" \
	    "$(r1 "$q99")" "$(r1 "$s99")" "$(r1 "$qmax")" "$(r1 "$smax")" "$qrate" "$srate"
}

say "part 1: the freeze pause ($NSNAP snapshots per writer)"
out 'freeze pause: n snapshots %ss apart under a writer, each on a volume of its own; frozen_ms from\n' "$GAP"
out '`snapshot create --json`; p95 by nearest rank (of %s: the %sth; too few for a p99); CLI: its wall\n' \
    "$NSNAP" "$(( (95 * NSNAP + 99) / 100 ))"
out 'time; the writer'"'"'s latencies in a %ss quiet window before the snapshots and in their window\n' "$((QUIET - 2))"
out '%-22s %3s %6s %6s %6s  %6s %6s   %7s %7s %7s %7s %7s %7s\n' "" "" "frozen" "ms" "" "CLI" "ms" \
    "p99 ms" "" "max ms" "" "writes/s" ""
out '%-22s %3s %6s %6s %6s  %6s %6s   %7s %7s %7s %7s %7s %7s\n' "writer" n p50 p95 max p50 max \
    quiet snaps quiet snaps quiet snaps
freeze_part fsync "$NSNAP" || warn "part 1 (fsync_records) failed"
freeze_part fio "$NSNAP" || warn "part 1 (fio) failed"
freeze_part buffered "$NBUF" || warn "part 1 (buffered) failed"
out '* 1 MiB writes into the page cache, no fsync, as fast as they go: the freeze writes back what\n'
out '  they dirtied during the syncfs before it (not one of the asked writers; it bounds the pause)\n'

# --- 2. the write path with snapshots ------------------------------------------
cow_part() {
	local vol=cow dir=$W/m.cow mark i state
	mark=$(host_mark)
	vol_create "$vol" -o size=$VOLSZ || return 1
	mount_vol "$vol" "$dir" || { host_to "$mark"; return 1; }
	say "part 2: prefill $SIZE"
	fio_run cow-prefill --filename="$dir/fio.dat" --size="$SIZE" --rw=write --bs=1M --iodepth=16 || { host_to "$mark"; return 1; }
	for state in nosnap snap; do
		for (( i = 1; i <= COWREPS; i++ )); do
			say "part 2: $state rep $i: seqwrite $SIZE, randwrite ${RUNTIME}s"
			if [ $state = snap ]; then snap_take "$vol" "sw$i" || break; fi
			fio_run "cow-seqwrite-$state-$i" --filename="$dir/fio.dat" --size="$SIZE" \
			    --rw=write --bs=1M --iodepth=16
			rec "cow_seqwrite_$state" "$i" "$(fjq "cow-seqwrite-$state-$i" '.jobs[0].write.bw_bytes / 1048576 | . * 10 | round / 10')" MiB/s
			if [ $state = snap ]; then snap_take "$vol" "rw$i" || break; fi
			fio_run "cow-randwrite-$state-$i" --filename="$dir/fio.dat" --size="$SIZE" \
			    --rw=randwrite --bs=4k --iodepth=16 --time_based --runtime="$RUNTIME" \
			    --write_iops_log="$W/cowiops" --log_avg_msec=1000
			rec "cow_randwrite_$state" "$i" "$(fjq "cow-randwrite-$state-$i" '.jobs[0].write.iops | round')" IOPS
			rec "cow_randwrite_p99_$state" "$i" "$(fjq "cow-randwrite-$state-$i" '.jobs[0].write.clat_ns.percentile["99.000000"] / 1e6 | . * 100 | round / 100')" ms
			rec "cow_randwrite_max_$state" "$i" "$(fjq "cow-randwrite-$state-$i" '.jobs[0].write.lat_ns.max / 1e6 | . * 10 | round / 10')" ms
			# IOPS of its first second (the copy-ups come first)
			rec "cow_randwrite_first_s_$state" "$i" "$(awk -F', *' 'NR == 1 { print $2 }' "$W/cowiops_iops.1.log" 2>/dev/null)" IOPS
			rm -f "$W"/cowiops_*.log
		done
	done
	host_to "$mark"
}
say "part 2: the write path with snapshots"
cow_part || warn "part 2 failed"
col() { awk -F'\t' -v w="$1" '$2 == w { print $4 }' "$OUT/results.tsv"; }
out '\nwrite path, one volume, %s file written full first, %s runs each; "after snapshot": each run right\n' "$SIZE" "$COWREPS"
out 'after a snapshot of its own (it pays the copy-on-write of every object it touches first); medians\n'
out '%-34s %10s %10s %7s\n' "" "no snap" "after snap" "ratio"
for r in "seqwrite MiB/s:cow_seqwrite" "randwrite IOPS:cow_randwrite" \
    "randwrite IOPS, its first second:cow_randwrite_first_s" \
    "randwrite p99 ms:cow_randwrite_p99" "randwrite max ms:cow_randwrite_max"; do
	a=$(col "${r#*:}_nosnap" | median) b=$(col "${r#*:}_snap" | median)
	rec "${r#*:}_ratio" 1 "$(ratio "$b" "$a")" x
	out '%-34s %10s %10s %7s\n' "${r%%:*}" "$a" "$b" "$(ratio "$b" "$a")"
done

# --- 3. clones ----------------------------------------------------------------
clone_part() {
	local sz=$1 tag=$2 p=par-$2 dir=$W/m.par-$2 mark i mkfs_ms c1 c2 sum1 sum2
	mark=$(host_mark)
	vol_create "$p" -o size="$sz" || return 1
	mount_vol "$p" "$dir" || { host_to "$mark"; return 1; }
	mkfs_ms=$MS
	head -c 16M /dev/urandom > "$dir/data" && sync -f "$dir"
	sum1=$(md5sum < "$dir/data")
	host_to "$mark"
	snap_take "$p" s || return 1
	: > "$W/clone.$tag"; : > "$W/plain.$tag"
	for (( i = 1; i <= CREPS; i++ )); do
		vol_create "cl-$tag-$i" --from "$p@s" || return 1
		echo "$MS" >> "$W/clone.$tag"
		rec "clone_create_ms_$tag" "$i" "$MS" ms
		vol_create "plain-$tag-$i" -o size="$sz" || return 1
		echo "$MS" >> "$W/plain.$tag"
		rec "plain_create_ms_$tag" "$i" "$MS" ms
	done
	mark=$(host_mark)
	mount_vol "cl-$tag-1" "$W/m.cl-$tag" || { host_to "$mark"; return 1; }
	c1=$MS
	sum2=$(md5sum < "$W/m.cl-$tag/data")
	[ "$sum1" = "$sum2" ] || warn "clone cl-$tag-1: data differs from its parent's"
	host_to "$mark"
	mount_vol "cl-$tag-1" "$W/m.cl-$tag" || { host_to "$mark"; return 1; }
	c2=$MS
	host_to "$mark"
	rec "parent_first_mount_mkfs_ms_$tag" 1 "$mkfs_ms" ms
	rec "clone_first_mount_ms_$tag" 1 "$c1" ms
	rec "clone_second_mount_ms_$tag" 1 "$c2" ms
	out '%-8s %12s %12s %12s %12s %12s\n' "$tag" "$(median < "$W/clone.$tag")" \
	    "$(median < "$W/plain.$tag")" "$c1" "$c2" "$mkfs_ms"
}
say "part 3: clones"
out '\nclones (16 MiB written, unmounted, snapshot): wall ms of the CLI, median of %s; mounts: one each\n' "$CREPS"
out '%-8s %12s %12s %12s %12s %12s\n' volume "create clone" "create plain" "clone 1st mt" "clone 2nd mt" "parent mkfs+mt"
clone_part 1G 1g || warn "part 3 (1G) failed"
clone_part 100G 100g || warn "part 3 (100G) failed"

# --- 4. read-through ----------------------------------------------------------
read_part() {
	local p=rt dir=$W/m.rt mark i who v objs
	mark=$(host_mark)
	vol_create "$p" -o size=$VOLSZ || return 1
	mount_vol "$p" "$dir" || { host_to "$mark"; return 1; }
	say "part 4: write $SIZE on the parent"
	fio_run rt-prefill --filename="$dir/fio.dat" --size="$SIZE" --rw=write --bs=1M --iodepth=16 || { host_to "$mark"; return 1; }
	host_to "$mark"
	snap_take "$p" s || return 1
	: > "$W/rt.parent"; : > "$W/rt.clone"
	for (( i = 1; i <= RREPS; i++ )); do
		# in turns, the first one alternating
		for who in $( [ $((i % 2)) = 1 ] && echo "parent clone" || echo "clone parent"); do
			local vol=$p
			if [ "$who" = clone ]; then
				vol=rtc-$i
				vol_create "$vol" --from "$p@s" || return 1
			fi
			mark=$(host_mark)
			mount_vol "$vol" "$W/m.$vol" || { host_to "$mark"; return 1; }
			say "part 4: rep $i: seq read of $SIZE on the $who"
			fio_run "rt-read-$who-$i" --filename="$W/m.$vol/fio.dat" --size="$SIZE" \
			    --rw=read --bs=1M --iodepth=16
			host_to "$mark"
			v=$(fjq "rt-read-$who-$i" '.jobs[0].read.bw_bytes / 1048576 | . * 10 | round / 10')
			echo "$v" >> "$W/rt.$who"
			rec "readthrough_seqread_$who" "$i" "$v" MiB/s
			if [ "$who" = clone ]; then
				objs=$(objects_of "$vol")
				rec "readthrough_clone_objects_after" "$i" "$objs" objects
			fi
		done
	done
	local a b
	a=$(median < "$W/rt.parent") b=$(median < "$W/rt.clone")
	rec readthrough_ratio 1 "$(ratio "$b" "$a")" x
	out '\nread-through: fio seq read 1M qd16 direct=1 of a %s file, fresh clone vs its parent, %s rep(s) in turns\n' "$SIZE" "$RREPS"
	out '%-34s %10s %10s %7s\n' "" parent "clone" ratio
	out '%-34s %10s %10s %7s\n' "seq read MiB/s (median)" "$a" "$b" "$(ratio "$b" "$a")"
	out '%-34s %10s %10s\n' "  every rep" "$(tr '\n' ' ' < "$W/rt.parent")" "$(tr '\n' ' ' < "$W/rt.clone")"
	out '%-34s %10s %10s\n' "objects of the clone after its read" "" "${objs:--}"
}
say "part 4: read-through"
read_part || warn "part 4 failed"

# --- teardown, checked ----------------------------------------------------------
say "removing clones, snapshots and volumes"
run_list HOST_CLEANUPS
t0=$(now_ms)
run_list STORE_CLEANUPS
left() { rados -p "$POOL" ls 2>/dev/null | grep -c '^cephvol\.data\.' || true; }
no_data() { [ "$(left)" = 0 ]; }
if wait_for 120 no_data; then
	rec teardown_s 1 "$(awk -v ms=$(( $(now_ms) - t0 )) 'BEGIN { printf "%.1f", ms / 1000 }')" s
else
	warn "$(left) data objects left in pool $POOL 120 s after every volume was removed"
	out '\nWARNING: %s data objects left in the pool after every volume was removed\n' "$(left)"
fi
vols=$(cv --json volume ls 2>/dev/null | jq -r '.[].name? // empty' 2>/dev/null | tr '\n' ' ')
[ -z "$vols" ] || { warn "volumes left: $vols"; out 'WARNING: volumes left: %s\n' "$vols"; }

cat "$TABLE"
echo "(raw outputs in $RAW; every figure in results.tsv as target \"snapshots\")"
exit 0
