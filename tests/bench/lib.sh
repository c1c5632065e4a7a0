# tests/bench/lib.sh - helpers for the benchmark scripts (bash, sourced).
#
# State lives in a few globals set by run.sh: BENCH_OUT (results, raw
# outputs, logs), BENCH_TMP (mount points, sockets, local loop files),
# RESULTS (BENCH_OUT/results.tsv), NOTES (BENCH_OUT/notes.tsv).
#
# Cleanup: everything a bench starts (a process, a mount, a loop device, a
# pool) is registered with cleanup_fn right after it exists; bench_cleanup
# runs the registrations last-in first-out on EXIT, INT and TERM. Processes
# are stopped by the pid we started, never by name.
#
# Results: one line per measurement in RESULTS,
#	target <TAB> workload <TAB> rep <TAB> value <TAB> unit
# and one line per target in NOTES: target <TAB> durability note.
# report.sh turns them into the table and results.json.

_CLEANUPS=()

say()  { echo "bench: $*" >&2; }
warn() { echo "bench: warning: $*" >&2; }
die()  { echo "bench: error: $*" >&2; exit 1; }

# cleanup_fn CMD...: run CMD at exit (last registered runs first). Call it
# from the main shell, never from $(...) or a pipeline.
cleanup_fn() {
	local q
	printf -v q '%q ' "$@"
	_CLEANUPS+=("$q")
}

# cleanup_pop: run and forget the newest registration (normal teardown of
# a target without waiting for the end of the run).
cleanup_pop() {
	local n=${#_CLEANUPS[@]}
	[ "$n" -gt 0 ] || return 0
	local c=${_CLEANUPS[$((n - 1))]}
	unset "_CLEANUPS[$((n - 1))]"
	_CLEANUPS=("${_CLEANUPS[@]}")
	eval "$c" >&2 || true
}

# cleanup_mark / cleanup_to MARK: tear down everything registered since MARK.
cleanup_mark() { echo "${#_CLEANUPS[@]}"; }
cleanup_to() {
	while [ "${#_CLEANUPS[@]}" -gt "$1" ]; do cleanup_pop; done
}

bench_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${_CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	_CLEANUPS=()
	return "$rc"
}
trap bench_cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

# alive PID: PID runs and is not a zombie.
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# stop_pid PID [SECS]: TERM, wait up to SECS (default 10), then KILL.
stop_pid() {
	local pid=$1 secs=${2:-10} i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	warn "pid $pid did not stop in $secs s, killing it"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# bg_start LOG CMD...: start CMD in the background (its own session),
# output to LOG, register its stop; the pid is left in BG_PID.
bg_start() {
	local log=$1; shift
	setsid "$@" >"$log" 2>&1 < /dev/null &
	BG_PID=$!
	cleanup_fn stop_pid "$BG_PID"
}

# wait_for SECS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local secs=$1 i; shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

is_mounted() { mountpoint -q "$1"; }

# umount_dir DIR: unmount DIR, retrying while busy, lazily as a last resort.
umount_dir() {
	local d=$1 i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		is_mounted "$d" || return 0
		umount "$d" 2>/dev/null && return 0
		sleep 0.5
	done
	warn "$d busy, detaching it lazily"
	umount -l "$d" 2>/dev/null || true
}

# mount_dev DEV DIR: mount DEV on DIR (ext4) and register the unmount.
mount_dev() {
	mount "$1" "$2" || return 1
	cleanup_fn umount_dir "$2"
}

# loop_attach FILE: attach FILE to a loop device with direct I/O; the
# device is left in LOOP_DEV and its detach registered.
loop_attach() {
	LOOP_DEV=$(losetup --direct-io=on -f --show "$1") || return 1
	cleanup_fn loop_detach "$LOOP_DEV" "$1"
}

# loop_detach DEV FILE: detach DEV if it still serves FILE.
loop_detach() {
	local back
	back=$(losetup -n -O BACK-FILE "$1" 2>/dev/null | sed 's/ *$//') || return 0
	[ "$back" = "$2" ] || return 0
	losetup -d "$1" 2>/dev/null || true
}

# mkfs_ext4 DEV: the same ext4 for every block target (rbd-fuse, local
# loop file): no lazy init left running in the background during a run.
mkfs_ext4() {
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$1"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# record TARGET WORKLOAD REP VALUE UNIT
record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$RESULTS"
	printf '  %-10s %-16s rep %-2s %12s %s\n' "$1" "$2" "$3" "$4" "$5" >&2
}

# note TARGET TEXT: how durable an acknowledged write is on TARGET.
note() {
	printf '%s\t%s\n' "$1" "$2" >> "$NOTES"
}

# vm_hwm PID: peak resident set size of PID in KiB (VmHWM), or nothing.
vm_hwm() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

kib_mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }

# rados_du POOL [PREFIX]: "BYTES OBJECTS" summed over the objects of POOL
# whose name starts with PREFIX (object sizes from stat; RADOS has no
# per-object allocation figure), by tests/bench/radosdu.c, which `make`
# builds into BUILD/bench/radosdu.
rados_du() {
	local helper=$CEPHVOL_BUILD/bench/radosdu
	[ -x "$helper" ] || { warn "no $helper (run make)"; return 1; }
	"$helper" "$CEPH_CONF" "$1" "${2:-}"
}

# median / minmax of the numbers on stdin
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1;
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
