#!/usr/bin/env bash
# tests/bench/backup.sh - what backups cost, on one cluster:
#
#   tests/bench/backup.sh [--quick]
#
#  1. a full export: a 10 GiB volume (--quick 2 GiB) holding DATA bytes of
#     random data (4 GiB; --quick 512 MiB) written through a mount, snapshot
#     s1, `cephvol volume export VOL@s1 -` to /dev/null, REPS times: MiB/s
#     of data (holes are left out of the stream); beside it `rados bench seq` (4 MiB objects, 16 in flight)
#     on the same pool, the ceiling (goal: export >= 0.8x), and `rbd export
#     --export-format 2` of an RBD image holding the same data (`rbd
#     import`ed from our own stream), the peer;
#  2. an incremental: 10 MiB changed (ten 1 MiB writes spread over the
#     data; the peer: ten random 1 MiB writes by rbd bench), snapshot s2, `export VOL@s2 --from-snap s1 -` REPS times: its
#     time against the full export's (goal <= 0.05x), the objects it read;
#     beside it `rbd export-diff --from-snap` of the same change on the RBD
#     image;
#  3. a restore: `export VOL@s1 - | import - NEW` once: MiB/s.
#
# Run by tests/bench/run.sh (CEPH_CONF, CEPHVOL_TEST_KEYRING, CEPHVOL_BIN,
# CEPHVOL_BUILD, BENCH_OUT, BENCH_RESULTS, BENCH_QUICK) or on its own, when
# it starts and stops a private cluster. Figures go to BENCH_RESULTS as
# "backup<TAB>workload<TAB>rep<TAB>value<TAB>unit"; stdout is a short table.
# Everything made is removed at exit (lib.sh's cleanup_fn, last first).
set -uo pipefail
unset CEPH_ARGS

src=$(cd "$(dirname "$0")/../.." && pwd)
quick=${BENCH_QUICK:-0}
[ "${1:-}" = --quick ] && quick=1
[ "$(id -u)" = 0 ] || { echo "backup: must run as root" >&2; exit 2; }
for c in jq rados rbd ceph mountpoint awk dd; do
	command -v "$c" >/dev/null || { echo "backup: requires $c" >&2; exit 2; }
done
CEPHVOL_BUILD=${CEPHVOL_BUILD:-$src/build}
CEPHVOL_BIN=${CEPHVOL_BIN:-$CEPHVOL_BUILD/bin}
if [ "$quick" = 1 ]; then VOLSZ=2G DATA_MB=512 REPS=1
else VOLSZ=10G DATA_MB=4096 REPS=3; fi

W=$(mktemp -d /var/tmp/cvbench-backup.XXXXXX)
OUT=${BENCH_OUT:-$W/out}
mkdir -p "$OUT/raw"
RAW=$OUT/raw
RESULTS=${BENCH_RESULTS:-$OUT/results.tsv}
NOTES=$OUT/notes.tsv
. "$src/tests/bench/lib.sh"
cleanup_fn rm -rf --one-file-system "$W"
# private copies: a concurrent `make` must not replace them mid-run
mkdir "$W/bin"
cp "$CEPHVOL_BIN/cephvol" "$CEPHVOL_BIN/cephvol-mount" "$W/bin/" || die "cannot copy the binaries"
CEPHVOL_BIN=$W/bin

if [ -z "${CEPH_CONF:-${CEPHVOL_TEST_CONF:-}}" ]; then
	say "starting a private cluster in $W/ceph"
	eval "$("$src/tests/lib/ceph.sh" start "$W/ceph")" || die "cannot start a cluster"
	cleanup_fn "$src/tests/lib/ceph.sh" stop "$W/ceph"
fi
export CEPH_CONF=${CEPH_CONF:-$CEPHVOL_TEST_CONF}
KEYRING=${CEPHVOL_TEST_KEYRING:-$(dirname "$CEPH_CONF")/keyring.admin}
POOL=cvb-backup-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
timeout 60 ceph osd pool create "$POOL" 8 >/dev/null 2>&1 || die "cannot create pool $POOL"
cleanup_fn timeout 60 ceph osd pool delete "$POOL" "$POOL" --yes-i-really-really-mean-it
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
rbd_() { timeout 600 rbd --conf "$CEPH_CONF" --keyring "$KEYRING" "$@"; }
rec() { record backup "$1" "$2" "$3" "$4" 2>/dev/null; }
mibs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / 1048576 / s; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3f", a / b }'; }
# timed CMD...: run it, its wall seconds in SECS
timed() { local t0; t0=$(now); "$@"; local rc=$?; SECS=$(elapsed "$t0"); return $rc; }

say "a $VOLSZ volume with $DATA_MB MiB of random data, snapshot s1"
cv volume create bk -o size="$VOLSZ" >/dev/null || die "volume create"
cleanup_fn cv volume rm bk
M=$W/m
mkdir -p "$M"
cv volume mount bk "$M" >/dev/null || die "volume mount"
cleanup_fn cv volume unmount "$M"
dd if=/dev/urandom of="$M/data" bs=4M count=$((DATA_MB / 4)) oflag=direct status=none || die "dd"
sync -f "$M"
cv snapshot create bk s1 >/dev/null || die "snapshot s1"
cleanup_fn cv snapshot rm bk s1

say "the peer: an RBD image with the same bytes (rbd import of our stream)"
cv volume export bk@s1 - --no-progress 2>/dev/null | rbd_ import --export-format 2 --no-progress - "$POOL/peer" \
    > "$RAW/rbd-import.out" 2>&1 || warn "rbd import: $(head -c 300 "$RAW/rbd-import.out")"
cleanup_fn rbd_ rm --no-progress "$POOL/peer"
cleanup_fn rbd_ snap purge --no-progress "$POOL/peer"

say "full export, $REPS reps"
full_s=() full_mibs=() rbd_mibs=()
for ((i = 1; i <= REPS; i++)); do
	cv --json volume export bk@s1 - --no-progress 2> "$RAW/full.$i.json" > /dev/null ||
	    die "export: $(head -c 300 "$RAW/full.$i.json")"
	s=$(jq .seconds "$RAW/full.$i.json") b=$(jq .data_bytes "$RAW/full.$i.json")
	full_s+=("$s"); full_mibs+=("$(mibs "$b" "$s")")
	rec export_full "$i" "${full_mibs[-1]}" MiB/s
	timed rbd_ export --export-format 2 --no-progress "$POOL/peer@s1" - > /dev/null 2> "$RAW/rbd-export.$i.err" ||
	    warn "rbd export: $(head -c 300 "$RAW/rbd-export.$i.err")"
	rbd_mibs+=("$(mibs "$b" "$SECS")")
	rec rbd_export_full "$i" "${rbd_mibs[-1]}" MiB/s
done
stream_mb=$(jq '.stream_bytes / 1048576 | floor' "$RAW/full.1.json")

say "rados bench seq (4 MiB objects, 16 in flight), $REPS reps"
timeout 120 rados -p "$POOL" bench 10 write -t 16 --no-cleanup > "$RAW/rados-write.out" 2>&1
rados_mibs=()
for ((i = 1; i <= REPS; i++)); do
	timeout 120 rados -p "$POOL" bench 10 seq -t 16 > "$RAW/rados-seq.$i.out" 2>&1
	v=$(awk -F: '/^Bandwidth \(MB\/sec\)/ { gsub(/ /, "", $2); print $2 }' "$RAW/rados-seq.$i.out")
	rados_mibs+=("${v:--}")
	rec rados_seq "$i" "${v:--}" MiB/s
done
timeout 120 rados -p "$POOL" cleanup > /dev/null 2>&1

say "10 MiB changed, snapshot s2; incremental export, $REPS reps"
for ((k = 0; k < 10; k++)); do
	dd if=/dev/urandom of="$M/data" bs=1M count=1 seek=$((k * DATA_MB / 10 + 3)) conv=notrunc oflag=direct status=none
done
sync -f "$M"
cv snapshot create bk s2 >/dev/null || die "snapshot s2"
cleanup_fn cv snapshot rm bk s2
inc_s=() rbd_inc_s=()
for ((i = 1; i <= REPS; i++)); do
	cv --json volume export bk@s2 --from-snap s1 - --no-progress 2> "$RAW/inc.$i.json" > /dev/null ||
	    die "export --from-snap: $(head -c 300 "$RAW/inc.$i.json")"
	inc_s+=("$(jq .seconds "$RAW/inc.$i.json")")
	rec export_incremental_10M "$i" "${inc_s[-1]}" s
done
# the same change on the peer
rbd_ snap create --no-progress "$POOL/peer@x1" > /dev/null 2>&1
rbd_ bench --io-type write --io-size 1M --io-total 10M --io-pattern rand "$POOL/peer" > /dev/null 2>&1
rbd_ snap create --no-progress "$POOL/peer@x2" > /dev/null 2>&1
for ((i = 1; i <= REPS; i++)); do
	timed rbd_ export-diff --no-progress --from-snap x1 "$POOL/peer@x2" - > /dev/null 2>&1
	rbd_inc_s+=("$SECS")
	rec rbd_export_diff_10M "$i" "$SECS" s
done
inc_read=$(jq .objects_read "$RAW/inc.1.json") inc_objs=$(jq .objects "$RAW/inc.1.json")
inc_bytes=$(jq .stream_bytes "$RAW/inc.1.json")

say "restore: export | import"
cv volume unmount "$M" >/dev/null
cv --json volume export bk@s1 - --no-progress 2>/dev/null | cv --json volume import - rs > "$RAW/import.json" 2>&1 ||
    warn "export | import: $(head -c 300 "$RAW/import.json")"
cleanup_fn cv volume rm rs
cleanup_fn cv snapshot rm rs s1
imp_mibs=$(mibs "$(jq .stream_bytes "$RAW/import.json" 2>/dev/null || echo 0)" "$(jq .seconds "$RAW/import.json" 2>/dev/null || echo 0)")
rec export_import_pipe 1 "$imp_mibs" MiB/s

med() { printf '%s\n' "$@" | grep -v '^-$' | median; }
fm=$(med "${full_mibs[@]}") fs=$(med "${full_s[@]}") rm_=$(med "${rados_mibs[@]}")
rbm=$(med "${rbd_mibs[@]}") is=$(med "${inc_s[@]}") ris=$(med "${rbd_inc_s[@]}")
r_full=$(ratio "$fm" "$rm_") r_inc=$(ratio "$is" "$fs")
verdict() { awk -v r="$1" -v g="$2" -v dir="$3" 'BEGIN { if (r == "-") print "not measured";
	else if ((dir == ">=" && r >= g) || (dir == "<=" && r <= g)) print "met"; else print "MISSED" }'; }
echo "backup ($VOLSZ volume, $DATA_MB MiB of data, stream $stream_mb MiB; medians of $REPS)"
printf '  %-44s %10s\n' "full export, ours (MiB/s of data)" "$fm"
printf '  %-44s %10s\n' "rados bench seq read, ceiling (MiB/s)" "$rm_"
printf '  %-44s %10s   goal >= 0.8: %s\n' "ours / ceiling" "$r_full" "$(verdict "$r_full" 0.8 '>=')"
printf '  %-44s %10s\n' "rbd export --export-format 2, peer (MiB/s)" "$rbm"
printf '  %-44s %10s\n' "full export, ours (s)" "$fs"
printf '  %-44s %10s   (%s of %s objects read, stream %s B)\n' "incremental, 10 MiB changed, ours (s)" "$is" "$inc_read" "$inc_objs" "$inc_bytes"
printf '  %-44s %10s   goal <= 0.05: %s\n' "incremental / full" "$r_inc" "$(verdict "$r_inc" 0.05 '<=')"
printf '  %-44s %10s\n' "rbd export-diff of 10 MiB, peer (s)" "$ris"
printf '  %-44s %10s\n' "export | import, restore (MiB/s)" "$imp_mibs"
