#!/usr/bin/env bash
# tests/bench/qos.sh - how tight a volume's I/O limits hold, and what a
# limited volume running flat out leaves to its neighbour, through mounted
# volumes (`cephvol volume mount`: cephvol-mount + loop with direct I/O +
# ext4) on one host:
#
#	tests/bench/qos.sh [--quick]
#
#  1. iops_limit=500 (set at create): fio 4K randwrite qd16 direct=1,
#     target 450-550 IOPS;
#  2. bps_limit=50M (set at create, another volume): fio 1M sequential
#     write qd16 direct=1, target 45-55 MiB/s;
#  3. iops_limit=200 set live (`cephvol volume set`) on the volume of 1,
#     the same job, target 180-220 IOPS (then set back to 500);
#  4. the neighbour: an unlimited volume's fio 4K randwrite qd16 direct=1
#     alone; while the volume of 1 (iops_limit=500) runs the same job flat
#     out at the same time (started 2 s before, ending after it), target:
#     >= 0.9 x alone (medians); and, for reference, while a third,
#     unlimited, volume runs it held at 500 IOPS by fio (--rate_iops=500):
#     what 500 IOPS of a neighbour cost the cluster without any limit. The
#     three in turns, the first one rotating.
# Every job runs QOS_RUNTIME s (10; --quick 5) after a ramp of 2 s that
# is not counted (a limit allows a burst of one second's worth: the ramp
# spends it), over a 256 MiB file written first; QOS_REPS repetitions
# (5; --quick 3), medians. A MISS is reported in the table, not as an
# error exit.
#
# Run by tests/bench/run.sh (CEPHVOL_TEST_CONF, CEPHVOL_TEST_KEYRING,
# CEPHVOL_BIN, CEPHVOL_BUILD, BENCH_OUT, BENCH_RESULTS, BENCH_QUICK) or on
# its own, when it starts a private cluster (tests/functions.sh ceph_env).
# Every figure goes to BENCH_RESULTS as "qos<TAB>workload<TAB>rep<TAB>
# value<TAB>unit"; stdout is the table; fio's JSON in BENCH_OUT/raw.
# Everything is undone at exit (also on failure and Ctrl-C): volumes
# unmounted, cephvol-mount stopped by the CLI (and by pid by the sweep of
# tests/functions.sh), loop devices detached, the pool deleted.
. "$(dirname "$0")/../functions.sh"
requires_root
requires fio jq
quick=${BENCH_QUICK:-0}
[ "${1:-}" = --quick ] && quick=1
if [ "$quick" = 1 ]; then
	RUNTIME=${QOS_RUNTIME:-5} REPS=${QOS_REPS:-3}
else
	RUNTIME=${QOS_RUNTIME:-10} REPS=${QOS_REPS:-5}
fi
RAMP=2
FILE_MB=256
OUT=${BENCH_OUT:-$T/out}
RAW=$OUT/raw
mkdir -p "$RAW"
: > "$OUT/results.tsv"

# private copies: a `make` meanwhile must not replace them mid-run
mkdir "$T/bin"
cp "$CEPHVOL_BIN/cephvol" "$CEPHVOL_BIN/cephvol-mount" "$T/bin/"
CEPHVOL_BIN=$T/bin

ceph_env
test_pool
write_config log.level=info

say() { echo "qos: $*" >&2; }
rec() {
	printf 'qos\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$OUT/results.tsv"
	[ -z "${BENCH_RESULTS:-}" ] ||
	    printf 'qos\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$BENCH_RESULTS"
}
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
col() { awk -F'\t' -v w="$1" '$2 == w { print $4 }' "$OUT/results.tsv"; }
range() { col "$1" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { if (NR) printf "%s-%s", a, b }'; }
now_ms() { date +%s%3N; }

unmount_vol() {
	mountpoint -q "$1" || return 0
	cephvol volume unmount "$1" > "$RAW/unmount.$(basename "$1").out" 2>&1 ||
	    { umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true; }
}
# vol VOL ARGS...: create VOL with ARGS, mount it on $T/m.VOL, write the
# fio file
vol() {
	local v=$1 m=$T/m.$1; shift
	cephvol volume create "$v" -o size=1G "$@" > "$RAW/create.$v.out"
	mkdir -p "$m"
	cleanup_fn unmount_vol "$m"
	cephvol volume mount "$v" "$m" > "$RAW/mount.$v.out"
	fio --name=prefill --filename="$m/f" --size=${FILE_MB}M --rw=write --bs=1M \
	    --iodepth=16 --ioengine=libaio --direct=1 --output="$RAW/prefill.$v.out" > /dev/null
}

# job VOL NAME RW BS [SECONDS [FIO ARGS]]: fio on VOL's file, JSON into
# RAW/NAME.json
job() {
	local v=$1 name=$2 rw=$3 bs=$4 secs=${5:-$RUNTIME}
	shift 5 2>/dev/null || shift 4
	fio "$@" --name="$name" --filename="$T/m.$v/f" --size=${FILE_MB}M --rw="$rw" --bs="$bs" \
	    --iodepth=16 --ioengine=libaio --direct=1 --randrepeat=0 --norandommap \
	    --time_based --runtime="$secs" --ramp_time="$RAMP" \
	    --output-format=json --output="$RAW/$name.json" > "$RAW/$name.err" 2>&1
}
iops() { jq '.jobs[0].write.iops | round' "$RAW/$1.json"; }
mibs() { jq '.jobs[0].write.bw_bytes / 1048576 | . * 10 | round / 10' "$RAW/$1.json"; }

say "volumes: lim (iops_limit=500), bps (bps_limit=50M), free and rated (no limit); ${FILE_MB} MiB file each"
vol lim -o iops_limit=500
vol bps -o bps_limit=50M
vol free
vol rated

say "1. iops_limit=500: $REPS x ${RUNTIME}s 4K randwrite qd16"
for (( i = 1; i <= REPS; i++ )); do
	job lim "iops500-$i" randwrite 4k
	rec iops_limit500_randwrite "$i" "$(iops "iops500-$i")" IOPS
done

say "2. bps_limit=50M: $REPS x ${RUNTIME}s 1M seqwrite qd16"
for (( i = 1; i <= REPS; i++ )); do
	job bps "bps50-$i" write 1M
	rec bps_limit50M_seqwrite "$i" "$(mibs "bps50-$i")" MiB/s
done
unmount_vol "$T/m.bps"

say "3. iops_limit=200 set live: $REPS x ${RUNTIME}s 4K randwrite qd16"
t0=$(now_ms)
cephvol volume set lim iops_limit=200 > "$RAW/set200.out"
rec set_live_cli_ms 1 $(( $(now_ms) - t0 )) ms
for (( i = 1; i <= REPS; i++ )); do
	job lim "iops200-$i" randwrite 4k
	rec iops_limit200_live_randwrite "$i" "$(iops "iops200-$i")" IOPS
done
cephvol volume set lim iops_limit=500 > "$RAW/set500.out"

say "4. the neighbour: $REPS x (alone, with lim flat out, with rated at 500 IOPS by fio), in turns"
# with NAME VOL [FIO ARGS]: the free volume's job while VOL runs the same
# job (started 2 s before, ending after it)
with() {
	local w=$1 v=$2 i=$3 npid; shift 3
	job "$v" "nbn-$v-$i" randwrite 4k $((RUNTIME + RAMP + 2)) "$@" &
	npid=$!
	sleep 2
	job free "nb-$w-$i" randwrite 4k
	wait "$npid"
	rec "neighbour_$w" "$i" "$(iops "nb-$w-$i")" IOPS
	rec "neighbour_${w}_its_iops" "$i" "$(iops "nbn-$v-$i")" IOPS
}
alone() {
	job free "nb-alone-$1" randwrite 4k
	rec neighbour_alone "$1" "$(iops "nb-alone-$1")" IOPS
}
for (( i = 1; i <= REPS; i++ )); do
	case $((i % 3)) in
	1) alone "$i"; with limited lim "$i"; with rated rated "$i" --rate_iops=500 ;;
	2) with limited lim "$i"; with rated rated "$i" --rate_iops=500; alone "$i" ;;
	0) with rated rated "$i" --rate_iops=500; alone "$i"; with limited lim "$i" ;;
	esac
done
unmount_vol "$T/m.rated"
unmount_vol "$T/m.lim"
unmount_vol "$T/m.free"

# --- the table -----------------------------------------------------------------
m_iops=$(col iops_limit500_randwrite | median)
m_bps=$(col bps_limit50M_seqwrite | median)
m_live=$(col iops_limit200_live_randwrite | median)
m_alone=$(col neighbour_alone | median)
m_tog=$(col neighbour_limited | median)
m_nlim=$(col neighbour_limited_its_iops | median)
m_rat=$(col neighbour_rated | median)
m_nrat=$(col neighbour_rated_its_iops | median)
ratio=$(awk -v a="$m_tog" -v b="$m_alone" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
ratio_r=$(awk -v a="$m_rat" -v b="$m_alone" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
rec neighbour_ratio 1 "$ratio" x
rec neighbour_rated_ratio 1 "$ratio_r" x
verdict() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { print (x != "-" && x >= lo && x <= hi) ? "PASS" : "MISS" }'; }
v1=$(verdict "$m_iops" 450 550) v2=$(verdict "$m_bps" 45 55) v3=$(verdict "$m_live" 180 220)
v4=$(verdict "$ratio" 0.9 1e9)
for v in "iops_limit500:$v1" "bps_limit50M:$v2" "iops_limit200_live:$v3" "neighbour:$v4"; do
	rec "verdict_${v%%:*}" 1 "$([ "${v#*:}" = PASS ] && echo 1 || echo 0)" pass
done

printf 'I/O limits: %s reps of %s s (after a %s s ramp) per cell, fio direct=1 qd16 over a %s MiB file on ext4\n' \
    "$REPS" "$RUNTIME" "$RAMP" "$FILE_MB"
printf '%-44s %10s %-16s %-12s %s\n' "" median "(min-max)" target ""
printf '%-44s %10s %-16s %-12s %s\n' "iops_limit=500, 4K randwrite IOPS" "$m_iops" "($(range iops_limit500_randwrite))" "450-550" "$v1"
printf '%-44s %10s %-16s %-12s %s\n' "bps_limit=50M, 1M seq write MiB/s" "$m_bps" "($(range bps_limit50M_seqwrite))" "45-55" "$v2"
printf '%-44s %10s %-16s %-12s %s\n' "iops_limit=200 set live, 4K randwrite IOPS" "$m_live" "($(range iops_limit200_live_randwrite))" "180-220" "$v3"
printf '%-44s %10s %-16s\n' "unlimited volume alone, 4K randwrite IOPS" "$m_alone" "($(range neighbour_alone))"
printf '%-44s %10s %-16s\n' "  beside an iops_limit=500 volume flat out" "$m_tog" "($(range neighbour_limited))"
printf '%-44s %10s %-16s %-12s %s\n' "    / alone" "${ratio}x" "" ">= 0.90x" "$v4"
printf '%-44s %10s %-16s\n' "    that neighbour, IOPS" "$m_nlim" "($(range neighbour_limited_its_iops))"
printf '%-44s %10s %-16s\n' "  beside a volume at 500 IOPS by fio's rate" "$m_rat" "($(range neighbour_rated))"
printf '%-44s %10s %-16s\n' "    / alone (what 500 IOPS cost, no limit)" "${ratio_r}x" ""
printf '%-44s %10s %-16s\n' "    that neighbour, IOPS" "$m_nrat" "($(range neighbour_rated_its_iops))"
printf '%-44s %10s\n' "cephvol volume set (live), CLI ms" "$(col set_live_cli_ms)"
echo "(a MISS is a figure outside its target; raw fio JSON in $RAW)"
cephvol volume rm lim > /dev/null
cephvol volume rm bps > /dev/null
cephvol volume rm free > /dev/null
exit 0
