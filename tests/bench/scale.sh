#!/usr/bin/env bash
# tests/bench/scale.sh - how cost grows with the number of volumes, on one
# host and one cluster:
#
#	tests/bench/scale.sh [--quick]
#
#  a. mounted and busy: 1, 5 and 20 volumes (SCALE_LEVELS; --quick 1 5)
#     mounted with `cephvol volume mount V DIR` (each its own cephvol-mount,
#     loop device with direct I/O, ext4), added level by level; on each a
#     64 MiB file written first, then on all of them at once fio 4K
#     randwrite qd4 direct=1 for SCALE_RUNTIME s (10; --quick 5), SCALE_REPS
#     times (3; --quick 1). Per level: aggregate IOPS (the sum of the jobs')
#     and its ratio to 1 volume alone; the cephvol-mount processes' PSS
#     (/proc/PID/smaps_rollup, pids from STATE/vol/ID.pid) total and per
#     volume right after mounting, right after the load, and once idle
#     (every one of them has logged "memory given back", at least 35 s
#     after the load: a volume gives memory back after 30 s idle, checked
#     every 5 s; goal <= 10 MiB per volume); their CPU seconds (utime +
#     stime of /proc/PID/stat, over the jobs) per GiB written; the wall
#     time of each mount (the first mount of a volume makes its ext4).
#  b. catalogue size: 10, 100 and 1,000 volumes (SCALE_CATALOG; --quick 10
#     100) made with `cephvol volume create` one after the other (each
#     timed: p50 and p90 of each step's creates), then at each size:
#     `cephvol volume ls` (wall time, LS_REPS 5; --quick 3), the plugin's
#     List over its socket and `docker volume ls` (through a private
#     dockerd and cephvold), Mount + Unmount of one volume over the
#     plugin socket (5; --quick 3) and `docker run --rm` with that volume
#     (3; --quick 2) beside one without a volume; the plugin requests each
#     Docker command caused (cephvold's metrics). For each listing, the
#     cost per added volume between two sizes: where it rises, the listing
#     grows faster than linear (flagged in the output). Part b needs
#     dockerd, containerd, runc and busybox: without them the bench ends
#     after part a's table with exit 77 (skipped), as a test would.
#
# Run by tests/bench/run.sh (CEPHVOL_TEST_CONF, CEPHVOL_TEST_KEYRING,
# CEPHVOL_BIN, CEPHVOL_BUILD, BENCH_OUT, BENCH_RESULTS, BENCH_QUICK) or on
# its own, when it starts a private cluster (tests/functions.sh ceph_env).
# Every figure goes to BENCH_RESULTS as "scale<TAB>workload<TAB>rep<TAB>
# value<TAB>unit"; stdout is the table; fio's JSON and the raw timings in
# BENCH_OUT/raw. Everything is undone at exit (also on failure and
# Ctrl-C): volumes unmounted, loop devices detached, cephvol-mount,
# cephvold and dockerd stopped by pid (tests/functions.sh), the pool
# deleted with every volume in it.
. "$(dirname "$0")/../functions.sh"
requires_root
requires fio jq curl ss
quick=${BENCH_QUICK:-0}
[ "${1:-}" = --quick ] && quick=1
if [ "$quick" = 1 ]; then
	LEVELS=${SCALE_LEVELS:-"1 5"} CATALOG=${SCALE_CATALOG:-"10 100"}
	RUNTIME=${SCALE_RUNTIME:-5} REPS=${SCALE_REPS:-1} LS_REPS=3 MREPS=3 DREPS=2
else
	LEVELS=${SCALE_LEVELS:-"1 5 20"} CATALOG=${SCALE_CATALOG:-"10 100 1000"}
	RUNTIME=${SCALE_RUNTIME:-10} REPS=${SCALE_REPS:-3} LS_REPS=5 MREPS=5 DREPS=3
fi
IDLE_MIN=35	# s after the load before the idle PSS (30 s idle + one check)
IDLE_MAX=90
FILE_MB=64
OUT=${BENCH_OUT:-$T/out}
RAW=$OUT/raw
mkdir -p "$RAW"
: > "$OUT/results.tsv"
TABLE=$T/table
: > "$TABLE"
out() { printf "$@" >> "$TABLE"; }

# private copies: a `make` meanwhile must not replace them mid-run
mkdir "$T/bin"
cp "$CEPHVOL_BIN/cephvol" "$CEPHVOL_BIN/cephvol-mount" "$CEPHVOL_BIN/cephvold" "$T/bin/"
CEPHVOL_BIN=$T/bin

say() { echo "scale: $*" >&2; }
rec() {
	printf 'scale\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$OUT/results.tsv"
	[ -z "${BENCH_RESULTS:-}" ] ||
	    printf 'scale\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$BENCH_RESULTS"
}
# median / pct P of the numbers on stdin (nearest rank)
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
pct() {
	sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		i = int(p * NR / 100); if (i < p * NR / 100) i++; if (i < 1) i = 1; print v[i] }'
}
col() { awk -F'\t' -v w="$1" '$2 == w { print $4 }' "$OUT/results.tsv"; }
now_ms() { date +%s%3N; }
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { if (x == "-" || x == "") print "-"; else printf f, x }'; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf f, a / b }'; }

ceph_env
test_pool
port=$(free_port) || die "no free port for cephvold's metrics"
write_config log.level=info volume.lease_seconds=15 metrics.listen=127.0.0.1:$port
HZ=$(getconf CLK_TCK)

# --- a. mounted and busy ------------------------------------------------------
mnt() { echo "$T/m/$1"; }
unmount_vol() {
	mountpoint -q "$1" || return 0
	cephvol volume unmount "$1" > /dev/null 2>&1 ||
	    { umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true; }
}
vname() { printf 'bv%02d' "$1"; }
declare -A PID=() LOG=()
# pss_sum N: total PSS in KiB of the cephvol-mount processes of bv01..N
pss_sum() {
	local i s=0 k
	for (( i = 1; i <= $1; i++ )); do
		k=$(awk '/^Pss:/ { print $2 }' "/proc/${PID[$i]}/smaps_rollup" 2>/dev/null) ||
		    { echo "scale: no smaps_rollup of ${PID[$i]}" >&2; k=0; }
		s=$(( s + ${k:-0} ))
	done
	echo "$s"
}
# cpu_sum N: utime + stime in ticks of the cephvol-mount processes of bv01..N
cpu_sum() {
	local i s=0 t
	for (( i = 1; i <= $1; i++ )); do
		# fields after the ")" of comm: utime is the 12th, stime the 13th
		t=$(sed 's/.*) //' "/proc/${PID[$i]}/stat" | awk '{ print $12 + $13 }')
		s=$(( s + t ))
	done
	echo "$s"
}
trims() { grep -c 'memory given back' "$1" 2>/dev/null || true; }

mounted=0
mount_upto() {	# mount_upto N: bv01..N mounted, each with its fio file
	local n=$1 i v d t0 ms s
	for (( i = mounted + 1; i <= n; i++ )); do
		v=$(vname "$i") d=$(mnt "$v")
		cephvol volume create "$v" -o size=1G > /dev/null
		mkdir -p "$d"
		cleanup_fn unmount_vol "$d"
		t0=$(now_ms)
		cephvol volume mount "$v" "$d" > "$RAW/mount.$v.out"
		ms=$(( $(now_ms) - t0 ))
		rec mount_ms "$i" "$ms" ms
		s=$(state_of "$v")
		PID[$i]=$(head -n 1 "$s.pid") LOG[$i]=$s.log
		[ -r "/proc/${PID[$i]}/smaps_rollup" ] || fail "no process ${PID[$i]} for $v (pid file $s.pid)"
		mounted=$i
	done
	rec "pss_mounted_total_kib_$n" 1 "$(pss_sum "$n")" KiB
	for (( i = 1; i <= n; i++ )); do
		v=$(vname "$i")
		[ -e "$(mnt "$v")/f" ] && continue
		fio --name=prefill --filename="$(mnt "$v")/f" --size=${FILE_MB}M --rw=write \
		    --bs=1M --iodepth=8 --ioengine=libaio --direct=1 --output=/dev/null > /dev/null
	done
}

# busy N REP: fio on bv01..N at once; aggregate IOPS, bytes, CPU
busy() {
	local n=$1 r=$2 i v pids=() c0 c1 iops=0 bytes=0 x
	c0=$(cpu_sum "$n")
	for (( i = 1; i <= n; i++ )); do
		v=$(vname "$i")
		fio --name="$v" --filename="$(mnt "$v")/f" --size=${FILE_MB}M --rw=randwrite \
		    --bs=4k --iodepth=4 --ioengine=libaio --direct=1 --randrepeat=0 \
		    --norandommap --time_based --runtime="$RUNTIME" --output-format=json \
		    --output="$RAW/busy-$n-$r-$v.json" > "$RAW/busy-$n-$r-$v.err" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	c1=$(cpu_sum "$n")
	for (( i = 1; i <= n; i++ )); do
		x=$(jq -r '[.jobs[0].write.iops, .jobs[0].write.io_bytes] | @tsv' \
		    "$RAW/busy-$n-$r-$(vname "$i").json")
		iops=$(awk -v a="$iops" -v b="${x%%	*}" 'BEGIN { printf "%.0f", a + b }')
		bytes=$(( bytes + ${x##*	} ))
	done
	rec "iops_aggregate_$n" "$r" "$iops" IOPS
	rec "cpu_s_per_gib_$n" "$r" "$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v b="$bytes" \
	    'BEGIN { printf "%.1f", (t / hz) / (b / 1073741824) }')" s/GiB
	rec "pss_loaded_total_kib_$n" "$r" "$(pss_sum "$n")" KiB
}

# idle N: wait until bv01..N have each given memory back once more (at
# least IDLE_MIN s), then their PSS
idle() {
	local n=$1 i t0 before=() done_ all
	for (( i = 1; i <= n; i++ )); do before[i]=$(trims "${LOG[$i]}"); done
	t0=$SECONDS
	sleep "$IDLE_MIN"
	while :; do
		all=1 done_=0
		for (( i = 1; i <= n; i++ )); do
			if [ "$(trims "${LOG[$i]}")" -gt "${before[i]}" ]; then
				done_=$((done_ + 1))
			else
				all=
			fi
		done
		[ -n "$all" ] && break
		[ $((SECONDS - t0)) -ge "$IDLE_MAX" ] && break
		sleep 1
	done
	rec "idle_trimmed_$n" 1 "$done_" volumes
	rec "idle_wait_s_$n" 1 $((SECONDS - t0)) s
	rec "pss_idle_total_kib_$n" 1 "$(pss_sum "$n")" KiB
}

max_level=0
for n in $LEVELS; do [ "$n" -gt "$max_level" ] && max_level=$n; done
for n in $LEVELS; do
	say "a. $n volume(s) mounted: mounting, then $REPS x ${RUNTIME}s fio 4K randwrite qd4 on each at once"
	mount_upto "$n"
	for (( r = 1; r <= REPS; r++ )); do busy "$n" "$r"; done
	say "a. $n volume(s): idle, waiting for memory to be given back"
	idle "$n"
done
say "a. unmounting"
for (( i = mounted; i >= 1; i-- )); do
	unmount_vol "$(mnt "$(vname "$i")")"
	cephvol volume rm "$(vname "$i")" > /dev/null
done

first_level=${LEVELS%% *}
alone=$(col "iops_aggregate_$first_level" | median)
out 'a. mounted and busy: fio 4K randwrite qd4 direct=1 %s s on every volume at once, %s rep(s), medians;\n' "$RUNTIME" "$REPS"
out '   PSS of the cephvol-mount processes (smaps_rollup), MiB; idle: after each gave memory back (>= %s s)\n' "$IDLE_MIN"
out '%-8s %9s %8s %10s %10s %10s %9s %9s %10s %9s\n' volumes "IOPS" "vs 1" "IOPS/vol" "PSS mnt" "PSS load" "PSS idle" "idle/vol" "CPU s/GiB" "mount ms"
for n in $LEVELS; do
	a=$(col "iops_aggregate_$n" | median)
	pm=$(col "pss_mounted_total_kib_$n")
	pl=$(col "pss_loaded_total_kib_$n" | median)
	pi=$(col "pss_idle_total_kib_$n")
	perv=$(div "$pi" "$((n * 1024))" %.1f)
	rec "pss_idle_per_volume_mib_$n" 1 "$perv" MiB
	rec "iops_vs_alone_$n" 1 "$(div "$a" "$alone")" x
	out '%-8s %9s %8s %10s %10s %10s %9s %9s %10s %9s\n' "$n" "$a" "$(div "$a" "$alone")x" \
	    "$(div "$a" "$n" %.0f)" "$(div "$pm" 1024 %.1f)" "$(div "$pl" 1024 %.1f)" \
	    "$(div "$pi" 1024 %.1f)" "$perv" "$(col "cpu_s_per_gib_$n" | median)" \
	    "$(awk -F'\t' -v n="$n" '$2 == "mount_ms" && $3 == n { print $4 }' "$OUT/results.tsv")"
	[ "$(col "idle_trimmed_$n")" = "$n" ] ||
	    out '  ! only %s of %s volumes gave memory back within %s s of idle\n' "$(col "idle_trimmed_$n")" "$n" "$IDLE_MAX"
done
m1=$(awk -F'\t' '$2 == "mount_ms" && $3 == 1 { print $4 }' "$OUT/results.tsv")
mN=$(awk -F'\t' -v n="$max_level" '$2 == "mount_ms" && $3 == n { print $4 }' "$OUT/results.tsv")
rec mount_last_vs_first 1 "$(div "$mN" "$m1")" x
out 'mount (with mkfs) of volume %s: %s ms, of volume 1: %s ms (%sx); every mount, ms: %s\n' "$max_level" "$mN" "$m1" \
    "$(div "$mN" "$m1")" "$(col mount_ms | tr '\n' ' ')"
idle_max=$(col "pss_idle_per_volume_mib_$max_level")
out 'idle PSS per volume at %s volumes: %s MiB, goal <= 10 MiB: %s\n' "$max_level" "$idle_max" \
    "$(awk -v x="$idle_max" 'BEGIN { print (x != "-" && x <= 10) ? "met" : "MISSED" }')"

cat "$TABLE"	# part a's table now: part b may fail
: > "$TABLE"

# --- b. catalogue size ----------------------------------------------------------
say "b. cephvold and dockerd"
start_cephvold
start_dockerd
metric() {	# metric ENDPOINT: requests to ENDPOINT so far (every result)
	curl -s -m 5 "http://127.0.0.1:$port/metrics" |
	    awk -v e="$1" '/^cephvol_requests_total/ && index($0, "endpoint=\"" e "\"") {
		s += $NF } END { print s + 0 }'
}
# timed NAME REPS CMD...: CMD's wall ms REPS times, into W/NAME
timed() {
	local name=$1 reps=$2 i t0; shift 2
	: > "$T/$name"
	for (( i = 1; i <= reps; i++ )); do
		t0=$(now_ms)
		"$@" > "$T/$name.out"
		echo $(( $(now_ms) - t0 )) >> "$T/$name"
	done
}
api_list() { api VolumeDriver.List > /dev/null; }
api_mount() {
	api VolumeDriver.Mount "{\"Name\":\"c00001\",\"ID\":\"$1\"}" | jq -e '.Err == ""' > /dev/null
}
api_unmount() {
	api VolumeDriver.Unmount "{\"Name\":\"c00001\",\"ID\":\"$1\"}" | jq -e '.Err == ""' > /dev/null
}
drun_vol() {
	docker run --rm --pull never --mount "type=volume,src=c00001,dst=/d,volume-driver=$DRIVER" \
	    localhost/busybox:test true
}
drun_plain() { docker run --rm --pull never localhost/busybox:test true; }

# warm: dockerd's first container start and first volume listing are slower
drun_plain > /dev/null
docker volume ls -q > /dev/null
have=0
: > "$T/sizes"
for n in $CATALOG; do
	say "b. catalogue of $n volumes: creating $((n - have))"
	: > "$T/create.$n"
	for (( i = have + 1; i <= n; i++ )); do
		t0=$(now_ms)
		cephvol volume create "$(printf 'c%05d' "$i")" -o size=1G > /dev/null
		echo $(( $(now_ms) - t0 )) >> "$T/create.$n"
	done
	have=$n
	cp "$T/create.$n" "$RAW/create_ms.$n"
	rec "create_p50_ms_$n" 1 "$(median < "$T/create.$n")" ms
	rec "create_p90_ms_$n" 1 "$(pct 90 < "$T/create.$n")" ms
	say "b. $n volumes: listings"
	timed cli_ls "$LS_REPS" cephvol volume ls
	got=$(( $(wc -l < "$T/cli_ls.out") - 1 ))
	[ "$got" = "$n" ] || say "warning: cephvol volume ls listed $got volumes, not $n"
	rec "cli_ls_ms_$n" 1 "$(median < "$T/cli_ls")" ms
	timed api_ls "$LS_REPS" api_list
	rec "api_list_ms_$n" 1 "$(median < "$T/api_ls")" ms
	l0=$(metric VolumeDriver.List) g0=$(metric VolumeDriver.Get)
	timed docker_ls "$LS_REPS" docker volume ls -q
	l1=$(metric VolumeDriver.List) g1=$(metric VolumeDriver.Get)
	got=$(grep -c '^c[0-9]' "$T/docker_ls.out" || true)
	[ "$got" = "$n" ] || say "warning: docker volume ls listed $got of our volumes, not $n"
	rec "docker_ls_ms_$n" 1 "$(median < "$T/docker_ls")" ms
	rec "docker_ls_plugin_list_calls_$n" 1 "$(( (l1 - l0) / LS_REPS ))" calls
	rec "docker_ls_plugin_get_calls_$n" 1 "$(( (g1 - g0) / LS_REPS ))" calls
	say "b. $n volumes: Mount + Unmount over the socket, docker run"
	api_mount warm; api_unmount warm	# the first one makes the filesystem
	: > "$T/t.mnt"; : > "$T/t.umnt"
	for (( i = 1; i <= MREPS; i++ )); do
		t0=$(now_ms); api_mount "m$i"; echo $(( $(now_ms) - t0 )) >> "$T/t.mnt"
		t0=$(now_ms); api_unmount "m$i"; echo $(( $(now_ms) - t0 )) >> "$T/t.umnt"
	done
	rec "api_mount_p50_ms_$n" 1 "$(median < "$T/t.mnt")" ms
	rec "api_unmount_p50_ms_$n" 1 "$(median < "$T/t.umnt")" ms
	drun_vol > /dev/null	# a warm-up, not counted
	g0=$(metric VolumeDriver.Get) l0=$(metric VolumeDriver.List)
	timed drun "$DREPS" drun_vol
	g1=$(metric VolumeDriver.Get) l1=$(metric VolumeDriver.List)
	timed dplain "$DREPS" drun_plain
	rec "docker_run_volume_p50_ms_$n" 1 "$(median < "$T/drun")" ms
	rec "docker_run_plain_p50_ms_$n" 1 "$(median < "$T/dplain")" ms
	rec "docker_run_plugin_get_calls_$n" 1 "$(( (g1 - g0) / DREPS ))" calls
	rec "docker_run_plugin_list_calls_$n" 1 "$(( (l1 - l0) / DREPS ))" calls
	echo "$n" >> "$T/sizes"
done

out '\nb. catalogue size: wall ms, medians (create: p50/p90 of the creates of each step; ls and List: %s reps;\n' "$LS_REPS"
out '   Mount/Unmount over the plugin socket: %s reps of one volume; docker run --rm busybox true: %s reps)\n' "$MREPS" "$DREPS"
out '%-8s %9s %11s %8s %9s %10s %7s %7s %9s %9s\n' volumes "create" "cephvol ls" "List" "docker ls" "(calls)" Mount Unmount "run -v" "run"
for n in $CATALOG; do
	out '%-8s %9s %11s %8s %9s %10s %7s %7s %9s %9s\n' "$n" \
	    "$(col "create_p50_ms_$n")/$(col "create_p90_ms_$n")" "$(col "cli_ls_ms_$n")" \
	    "$(col "api_list_ms_$n")" "$(col "docker_ls_ms_$n")" \
	    "$(col "docker_ls_plugin_list_calls_$n")L $(col "docker_ls_plugin_get_calls_$n")G" \
	    "$(col "api_mount_p50_ms_$n")" "$(col "api_unmount_p50_ms_$n")" \
	    "$(col "docker_run_volume_p50_ms_$n")" "$(col "docker_run_plain_p50_ms_$n")"
done
out '(calls: plugin List (L) and Get (G) requests per docker volume ls; docker run -v made %s Get, %s List each)\n' \
    "$(col "docker_run_plugin_get_calls_${CATALOG##* }")" "$(col "docker_run_plugin_list_calls_${CATALOG##* }")"
# growth: the cost of each volume added between two sizes
NOISE_MS=20
out '\ngrowth: ms per volume added between two sizes (rising by more than 1.5x from one step to the next:\n'
out '   faster than linear; a step that added less than %s ms is within this machine'"'"'s noise)\n' "$NOISE_MS"
for w in cli_ls api_list docker_ls; do
	prev_n= prev_t= prev_m= line=
	for n in $CATALOG; do
		t=$(col "${w}_ms_$n")
		if [ -n "$prev_n" ]; then
			m=$(awk -v a="$prev_t" -v b="$t" -v d=$((n - prev_n)) 'BEGIN { printf "%.3f", (b - a) / d }')
			rec "${w}_ms_per_added_volume_$n" 1 "$m" ms
			line+=$(printf '  %s->%s: %s' "$prev_n" "$n" "$m")
			# a step that added less than NOISE_MS is noise, not a slope
			if awk -v a="$prev_t" -v b="$t" -v z="$NOISE_MS" 'BEGIN { exit !(b - a < z) }'; then
				line+=" (within noise)"
				m=
			elif [ -n "$prev_m" ] && awk -v a="$prev_m" -v b="$m" 'BEGIN { exit !(b > 1.5 * a) }'; then
				line+=" (FASTER than linear)"
				rec "${w}_superlinear_$n" 1 1 flag
			fi
			prev_m=$m
		fi
		prev_n=$n prev_t=$t
	done
	out '%-10s%s\n' "$w" "$line"
done

say "b. removing the catalogue's volumes with the pool"
cat "$TABLE"
echo "(raw outputs in $RAW; every figure in results.tsv as target \"scale\")"
exit 0
