#!/usr/bin/env bash
# tests/bench/run.sh - cephvol's benchmark: one private Ceph cluster, the
# same workloads through a cephvol volume and against the ceilings (rados
# bench, librbd), the same through a volume made with -o fs=ext4, and, with
# --peers, rbd-fuse (librbd cache on, and off: durable acks like ours),
# CephFS and local ext4.
#
#   tests/bench/run.sh [--build DIR] [--peers] [--quick] [--reps N]
#                      [--only T,T...] [--out DIR] [--librbd-cache]
#
#   --build DIR     the build directory (default build/)
#   --peers         also rbd-fuse + loop + ext4, CephFS (ceph-fuse), local ext4
#   --quick         a short run for development: 256 MiB files, 5 s random
#                   jobs, pgbench -s 5 -T 10, 1 repetition (a noisy figure)
#   --reps N        repetitions of each workload (default 3; medians printed)
#   --only LIST     only these targets: rados librbd ours ours-ext4 rbd-fuse
#                   rbd-fuse-nocache cephfs
#                   local, and the other benches: image datapath docker secrets
#                   snapshots backup qos scale
#   --out DIR       results here (default BUILD/bench-results/DATE)
#   --librbd-cache  also librbd with its default cache (writeback after flush)
#
# Output: the table on stdout (report.sh), results.tsv / results.json /
# report.txt in the output dir, raw tool outputs in DIR/raw. Other benches
# (tests/bench/{image,datapath,docker,secrets,snapshots,backup,qos,scale}.sh, when
# executable) run on the same cluster with CEPH_CONF, CEPHVOL_TEST_CONF,
# CEPHVOL_TEST_KEYRING, CEPHVOL_BIN, CEPHVOL_BUILD, CEPHVOL_SRC, BENCH_OUT
# (their own dir), BENCH_RESULTS (results.tsv, to which they may append
# lines "target<TAB>workload<TAB>rep<TAB>value<TAB>unit") and
# BENCH_QUICK=0|1; their stdout is part of the report.
#
# Everything started is stopped by pid, unmounted and detached at exit,
# also on failure and Ctrl-C. Needs root. Environment knobs (defaults;
# --quick's in brackets): BENCH_SIZE 1G [256M] (fio file), BENCH_RUNTIME
# 20 [5] (s per random/fsync job), RADOS_RUNTIME 10 [5], PG_SCALE 20 [5],
# PG_TIME 60 [10], PG_REPS = reps [1], UNTAR_MAX_SECS 60 (an untar slower
# than this is not repeated).
set -uo pipefail
unset CEPH_ARGS

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
peers= quick= reps= only= out= librbd_cache=
usage() {
	echo "usage: tests/bench/run.sh [--build DIR] [--peers] [--quick] [--reps N] [--only T,T...] [--out DIR] [--librbd-cache]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	--peers) peers=1; shift ;;
	--quick) quick=1; shift ;;
	--reps) [ $# -ge 2 ] || usage; reps=$2; shift 2 ;;
	--only) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--librbd-cache) librbd_cache=1; shift ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) usage ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench: must run as root (loop devices, mounts)" >&2; exit 2; }
[ -d "$build" ] || { echo "bench: no build directory $build (run make)" >&2; exit 2; }
build=$(cd "$build" && pwd)
export CEPHVOL_SRC=$src CEPHVOL_BUILD=$build CEPHVOL_BIN=$build/bin

. "$src/tests/bench/lib.sh"
. "$src/tests/bench/workloads.sh"
. "$src/tests/bench/peers.sh"

for c in fio jq rados rbd ceph losetup mkfs.ext4 python3; do
	command -v "$c" >/dev/null || die "$c missing (run deploy/install-deps.sh bench)"
done

if [ -n "$quick" ]; then
	: "${BENCH_SIZE:=256M}" "${BENCH_RUNTIME:=5}" "${PG_SCALE:=5}" "${PG_TIME:=10}" "${PG_REPS:=1}" "${RADOS_RUNTIME:=5}"
	BENCH_REPS=${reps:-1}
else
	: "${BENCH_SIZE:=1G}" "${BENCH_RUNTIME:=20}" "${PG_SCALE:=20}" "${PG_TIME:=60}" "${RADOS_RUNTIME:=10}"
	BENCH_REPS=${reps:-3}
	: "${PG_REPS:=$BENCH_REPS}"
fi
: "${UNTAR_MAX_SECS:=60}"
VOL_SIZE=4G
export BENCH_SIZE BENCH_RUNTIME PG_SCALE PG_TIME PG_REPS BENCH_REPS VOL_SIZE RADOS_RUNTIME UNTAR_MAX_SECS

BENCH_OUT=${out:-$build/bench-results/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$BENCH_OUT/raw" || die "cannot make $BENCH_OUT"
BENCH_OUT=$(cd "$BENCH_OUT" && pwd)
RESULTS=$BENCH_OUT/results.tsv NOTES=$BENCH_OUT/notes.tsv
: > "$RESULTS"; : > "$NOTES"
BENCH_TMP=$(mktemp -d /var/tmp/cephvol-bench.XXXXXX)
cleanup_fn rm -rf "$BENCH_TMP"
chmod 755 "$BENCH_TMP"	# postgres must reach its data directory

# want TARGET: TARGET is selected (by --only, or by default/--peers).
want() {
	if [ -n "$only" ]; then
		case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac
	fi
	case "$1" in
	rbd-fuse|rbd-fuse-nocache|cephfs|local) [ -n "$peers" ] ;;
	*) return 0 ;;
	esac
}

{
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host	$(hostname) $(nproc) cores $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 }' /proc/meminfo)"
	# BENCH_COMMIT names the commit of a tree exported with git archive
	echo "commit	${BENCH_COMMIT:-$(git -C "$src" rev-parse --short HEAD 2>/dev/null)$(git -C "$src" diff --quiet HEAD 2>/dev/null || echo +dirty)}"
	echo "ceph	$(ceph --version | awk '{ print $3 }')"
	echo "fio	$(fio --version)"
	echo "params	reps=$BENCH_REPS fio size=$BENCH_SIZE runtime=${BENCH_RUNTIME}s rados bench ${RADOS_RUNTIME}s pgbench -s $PG_SCALE -T $PG_TIME x$PG_REPS"
	echo "load	$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
} > "$BENCH_OUT/meta.tsv"
say "results in $BENCH_OUT"
sed 's/\t/: /' "$BENCH_OUT/meta.tsv" >&2

# --- the cluster ------------------------------------------------------------
CLUSTER_DIR=$BENCH_TMP/ceph
cleanup_fn "$src/tests/lib/ceph.sh" stop "$CLUSTER_DIR"
exports=$("$src/tests/lib/ceph.sh" start "$CLUSTER_DIR") || die "cannot start the Ceph cluster"
eval "$exports"
export CEPH_CONF CEPHVOL_TEST_CONF CEPHVOL_TEST_KEYRING

write_jobs
make_tarball

# --- ours -----------------------------------------------------------------

# ours_pid: the cephvol-mount serving this run's volume (found by the
# run's temp dir in its command line or environment), or nothing.
ours_pid() {
	local p pid
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$(basename "$(readlink "$p/exe" 2>/dev/null)")" = cephvol-mount ] || continue
		if tr '\0' '\n' < "$p/cmdline" 2>/dev/null | grep -qF "$BENCH_TMP" ||
		   tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -qF "$BENCH_TMP"; then
			echo "$pid"; return 0
		fi
	done
	return 1
}

cv() { "$CEPHVOL_BIN/cephvol" -c "$BENCH_TMP/cephvol.conf" "$@"; }

# ours_unmount DIR: the CLI's unmount, then whatever it left: the mount,
# loop devices on files of the run, the cephvol-mount process.
ours_unmount() {
	local dir=$1 pid dev back
	is_mounted "$dir" && cv volume unmount "$dir" >/dev/null 2>&1
	umount_dir "$dir"
	losetup -n -l -O NAME,BACK-FILE 2>/dev/null | while read -r dev back; do
		case "$back" in "$BENCH_TMP"/*) losetup -d "$dev" 2>/dev/null ;; esac
	done
	pid=$(ours_pid) && stop_pid "$pid"
	return 0
}

# ours_allocated: bytes of the bench volume in RADOS, from `cephvol volume
# inspect --json`, else summed from its data objects.
ours_allocated() {
	local j b id
	j=$(cv --json volume inspect "$OURS_VOL" 2>/dev/null) || return 1
	b=$(jq -r '.allocated_bytes // empty' <<<"$j")
	if [ -z "$b" ]; then
		id=$(jq -r '.id // empty' <<<"$j")
		[ -n "$id" ] || return 1
		b=$(rados_du cephvol "cephvol.data.$id.") || return 1
		b=${b% *}
	fi
	echo "$b"
}

# bench_ours [ext4]: a cephvol volume of the default filesystem (xfs), or
# with `ext4` one made with -o fs=ext4 (target ours-ext4), mounted with
# `cephvol volume mount`, through every workload.
OURS_VOL=bench
bench_ours() {
	local t=ours mark dir=$BENCH_TMP/ours.fs pid b j id fsopt=()
	if [ "${1:-}" = ext4 ]; then
		t=ours-ext4 OURS_VOL=bench-ext4 dir=$BENCH_TMP/ours-ext4.fs fsopt=(-o fs=ext4)
	else
		OURS_VOL=bench
	fi
	mark=$(cleanup_mark)
	cat > "$BENCH_TMP/cephvol.conf" <<EOF
[ceph]
conf = $CEPH_CONF
client = client.admin
keyring = $CEPHVOL_TEST_KEYRING
pool = cephvol

[plugin]
state_dir = $BENCH_TMP/state
mount_root = $BENCH_TMP/mounts
socket = $BENCH_TMP/cephvol.sock

[volume]
default_size = $VOL_SIZE
EOF
	pool_create cephvol || { warn "$t: cannot create pool cephvol"; return 0; }
	cv volume create "$OURS_VOL" -o size="$VOL_SIZE" "${fsopt[@]}" >/dev/null || { warn "$t: volume create failed"; cleanup_to "$mark"; return 0; }
	cleanup_fn cv volume rm "$OURS_VOL"
	mkdir -p "$dir"
	cleanup_fn ours_unmount "$dir"
	if ! cv volume mount "$OURS_VOL" "$dir" >"$BENCH_OUT/raw/$t.mount.log" 2>&1; then
		warn "$t: cephvol volume mount failed: $(head -c 300 "$BENCH_OUT/raw/$t.mount.log")"
		cleanup_to "$mark"; return 0
	fi
	is_mounted "$dir" || { warn "$t: $dir is not a mount point after cephvol volume mount"; cleanup_to "$mark"; return 0; }
	pid=$(ours_pid) || warn "$t: cannot find the cephvol-mount process"
	note "$t" "write-through: an acked write is durable in RADOS"
	fs_workloads "$t" "$dir"
	[ -n "$pid" ] && record "$t" rss_peak 1 "$(kib_mib "$(vm_hwm "$pid")")" MiB
	sync -f "$dir"
	b=$(ours_allocated) && record "$t" space_full 1 "$((b / 1048576))" MiB
	fs_clear "$dir"
	b=$(ours_allocated) && record "$t" space_trimmed 1 "$((b / 1048576))" MiB
	cleanup_to "$mark"
}

# --- the other benches of the tree ------------------------------------------
other_bench() {
	local name=$1 script=$src/tests/bench/$1.sh rc
	[ -x "$script" ] || return 0
	want "$name" || return 0
	mkdir -p "$BENCH_OUT/$name"
	say "$name: $script"
	BENCH_OUT=$BENCH_OUT/$name BENCH_RESULTS=$RESULTS BENCH_QUICK=${quick:-0} \
		timeout 1800 "$script" > "$BENCH_OUT/$name/stdout" 2> "$BENCH_OUT/$name/stderr"
	rc=$?
	[ $rc = 0 ] || warn "$name.sh exited $rc (see $BENCH_OUT/$name/stderr)"
	echo "$rc" > "$BENCH_OUT/$name/exit"
}

t0=$(now)
want rados && { say "rados bench"; bench_rados; }
want librbd && bench_librbd
[ -n "$librbd_cache" ] && want librbd && bench_librbd cache
want ours && bench_ours
want ours-ext4 && bench_ours ext4
want rbd-fuse && { say "rbd-fuse"; bench_rbdfuse; }
want rbd-fuse-nocache && { say "rbd-fuse, rbd_cache=false"; bench_rbdfuse nocache; }
want local && { say "local ext4"; bench_local; }
want cephfs && { say "cephfs"; bench_cephfs; }
for b in image datapath docker secrets snapshots backup qos scale; do other_bench "$b"; done
echo "duration	$(elapsed "$t0") s" >> "$BENCH_OUT/meta.tsv"
echo "load_end	$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end" >> "$BENCH_OUT/meta.tsv"

"$src/tests/bench/report.sh" "$BENCH_OUT" | tee "$BENCH_OUT/report.txt"
