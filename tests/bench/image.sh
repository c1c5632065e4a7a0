#!/usr/bin/env bash
# tests/bench/image.sh - the image layer (store/image.c) at queue depth 16
# beside raw `rados bench` and librbd (fio's rbd engine) on one cluster.
#
#   tests/bench/image.sh [REPS] [SECONDS]        (defaults 3 and 8)
#
# Rows: sequential 1 MiB writes then reads, 4 KiB random writes and reads.
# Ours and librbd use 4 MiB objects on a 512 MiB range that the sequential
# write pass covers before it is read; rados bench writes 1 MiB (-b 1M
# -O 4M) or 4 KiB objects. The targets run in turns within each rep so that
# noise from the shared machine falls on all of them; the table shows
# medians, our ratio to librbd, and peak RSS (ours: getrusage; others:
# /usr/bin/time). Uses $CEPH_CONF when CEPHVOL_BENCH_CEPH is set to a
# running cluster's conf, else starts a private bluestore cluster
# (tests/lib/ceph.sh) and stops it at exit.
set -euo pipefail
unset CEPH_ARGS
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${CEPHVOL_BUILD:-$SRC/build}
REPS=${1:-3}
SECS=${2:-8}
SIZE=512M
BENCH=$BUILD/tests/image_bench
for c in fio jq rados rbd ceph; do
	command -v "$c" >/dev/null || { echo "image.sh: needs $c" >&2; exit 77; }
done
fio --enghelp 2>/dev/null | grep -qw rbd || { echo "image.sh: fio has no rbd engine" >&2; exit 77; }
[ -x "$BENCH" ] || { echo "image.sh: build $BENCH first (make)" >&2; exit 2; }

W=$(mktemp -d /tmp/cephvol-imgbench.XXXXXX)
# a private copy: a concurrent `make` must not replace it mid-run
cp "$BENCH" "$W/image_bench"
BENCH=$W/image_bench
cleanup() {
	[ -n "${OWN_CEPH:-}" ] && "$SRC/tests/lib/ceph.sh" stop "$W/ceph" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
if [ -n "${CEPHVOL_BENCH_CEPH:-}" ]; then
	export CEPH_CONF=$CEPHVOL_BENCH_CEPH
	KEYRING=${CEPHVOL_BENCH_KEYRING:-$(dirname "$CEPH_CONF")/keyring.admin}
else
	OWN_CEPH=1
	eval "$("$SRC/tests/lib/ceph.sh" start "$W/ceph")"
	export CEPH_CONF=$CEPHVOL_TEST_CONF
	KEYRING=$CEPHVOL_TEST_KEYRING
fi
cq() { timeout 120 ceph --conf "$CEPH_CONF" "$@"; }
cq osd pool create imgbench 8 >/dev/null 2>&1
cq osd pool create benchraw 8 >/dev/null 2>&1
cq osd pool create rbd 8 >/dev/null 2>&1
timeout 60 rbd --conf "$CEPH_CONF" pool init rbd
timeout 60 rbd --conf "$CEPH_CONF" info rbd/img >/dev/null 2>&1 ||
    timeout 60 rbd --conf "$CEPH_CONF" create --size 2G rbd/img
printf '[ceph]\nconf = %s\nkeyring = %s\npool = imgbench\n' "$CEPH_CONF" "$KEYRING" > "$W/cephvol.conf"
RES=$W/results.tsv	# target row rep value rss_kib
: > "$RES"
ID=00000000000b0001

rows=(seqwrite seqread randwrite randread)
bs_of() { case $1 in seq*) echo 1M ;; *) echo 4K ;; esac; }

ours() {	# ours ROW REP
	local out
	out=$("$BENCH" -c "$W/cephvol.conf" --id $ID --mode "$1" --bs "$(bs_of "$1")" \
	    --depth 16 --size $SIZE --object-size 4M --seconds "$SECS")
	echo "  ours   $out" >&2
	local v rss
	case $1 in seq*) v=$(sed 's/.*MiB\/s=\([0-9.]*\).*/\1/' <<<"$out") ;;
	*) v=$(sed 's/.*IOPS=\([0-9.]*\).*/\1/' <<<"$out") ;; esac
	rss=$(sed 's/.*maxrss_kib=\([0-9]*\).*/\1/' <<<"$out")
	printf 'ours\t%s\t%s\t%s\t%s\n' "$1" "$2" "$v" "$rss" >> "$RES"
}

librbd() {	# librbd ROW REP
	local rw=$1
	case $1 in seqwrite) rw=write ;; seqread) rw=read ;; esac
	/usr/bin/time -f %M -o "$W/rss" fio --output-format=json --output="$W/fio.json" \
	    --name=j --ioengine=rbd --clientname=admin --pool=rbd --rbdname=img \
	    --rw="$rw" --bs="$(bs_of "$1")" --iodepth=16 --size=$SIZE \
	    --time_based --runtime="$SECS" --direct=1 >/dev/null 2>"$W/fio.err" ||
	    { cat "$W/fio.err" >&2; return 1; }
	local v
	case $1 in
	*write) v=$(jq '.jobs[0].write | if "'"$1"'" == "seqwrite" then .bw / 1024 else .iops end' "$W/fio.json") ;;
	*read)  v=$(jq '.jobs[0].read  | if "'"$1"'" == "seqread" then .bw / 1024 else .iops end' "$W/fio.json") ;;
	esac
	echo "  librbd $1 $v rss_kib=$(cat "$W/rss")" >&2
	printf 'librbd\t%s\t%s\t%.1f\t%s\n' "$1" "$2" "$v" "$(cat "$W/rss")" >> "$RES"
}

rbench() {	# rbench ROW REP
	local b=4096 O=4096 kind v
	case $1 in seq*) b=1048576 O=4194304 ;; esac
	case $1 in *write) kind=write ;; seqread) kind=seq ;; randread) kind=rand ;; esac
	if [ $kind = write ]; then
		timeout 120 rados --conf "$CEPH_CONF" -p benchraw cleanup >/dev/null 2>&1 || true
	fi
	local extra=
	[ $kind = write ] && extra="-b $b -O $O --no-cleanup"
	/usr/bin/time -f %M -o "$W/rss" timeout 120 rados --conf "$CEPH_CONF" -p benchraw \
	    bench "$SECS" $kind -t 16 $extra \
	    > "$W/rb.out" 2>&1 || { cat "$W/rb.out" >&2; return 1; }
	case $1 in
	seq*) v=$(awk '/^Bandwidth \(MB\/sec\)/ { print $3 }' "$W/rb.out") ;;
	*) v=$(awk '/^Average IOPS/ { print $3 }' "$W/rb.out") ;;
	esac
	echo "  rados  $1 $v rss_kib=$(cat "$W/rss")" >&2
	printf 'rados\t%s\t%s\t%s\t%s\n' "$1" "$2" "$v" "$(cat "$W/rss")" >> "$RES"
}

for rep in $(seq 1 "$REPS"); do
	echo "rep $rep" >&2
	for row in "${rows[@]}"; do
		# alternate who goes first: the page cache of the OSD and the
		# machine's noise then favour neither
		if [ $((rep % 2)) = 1 ]; then
			ours "$row" "$rep"; librbd "$row" "$rep"
		else
			librbd "$row" "$rep"; ours "$row" "$rep"
		fi
		# rados bench reads what its own write pass left: write rows first
		rbench "$row" "$rep"
	done
done
"$BENCH" -c "$W/cephvol.conf" --id $ID --mode seqread --bs 1M --size $SIZE \
    --seconds 0 --remove >/dev/null || true

med() {	# med TARGET ROW COLUMN
	awk -F'\t' -v t="$1" -v r="$2" -v c="$3" '$1 == t && $2 == r { print $c }' "$RES" |
	    sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-";
	    else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
echo
printf '%-26s %10s %10s %10s %8s %9s %9s %9s\n' "row (qd16, medians of $REPS)" ours librbd rados "ours/rbd" rss_ours rss_rbd rss_rados
for row in "${rows[@]}"; do
	o=$(med ours "$row" 4) l=$(med librbd "$row" 4) r=$(med rados "$row" 4)
	unit=IOPS; case $row in seq*) unit=MiB/s ;; esac
	printf '%-26s %10s %10s %10s %8s %8sM %8sM %8sM\n' "$row $(bs_of "$row") ($unit)" "$o" "$l" "$r" \
	    "$(awk -v a="$o" -v b="$l" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
	    "$(( $(med ours "$row" 5 | cut -d. -f1) / 1024 ))" \
	    "$(( $(med librbd "$row" 5 | cut -d. -f1) / 1024 ))" \
	    "$(( $(med rados "$row" 5 | cut -d. -f1) / 1024 ))"
done
echo
echo "raw results (target row rep value rss_kib):"
cat "$RES"
