#!/usr/bin/env bash
# tests/run.sh - run cephvol's tests against one private Ceph cluster.
#
#   tests/run.sh [--build DIR] [--memstore] [TEST...]
#
# Starts one Ceph cluster (tests/lib/ceph.sh) in a temp dir, then runs every
# unit test binary DIR/tests/unit/* and every tests/integ/*.sh, sorted, each
# under a time limit (300 s, or `# timeout: N` in a test's first 10 lines),
# with its output in DIR/test-logs/NAME.log. One line per test:
#	PASS name (3.2s)
#	FAIL name (...)		then the last 40 lines of its log
#	SKIP name: reason	(exit status 77)
# and finally "N passed, N failed, N skipped"; the exit status is 1 if any
# test failed (or leaked), 0 otherwise.
#
# --memstore (or CEPHVOL_TEST_MEMSTORE=1) puts the cluster's OSD on memstore
# instead of bluestore on a sparse file (faster start, data in RAM).
#
# TEST arguments select tests by name: "rig_rados", "integ/rig_rados",
# "unit/test_util", or a glob ("rig_*").
#
# Every test gets its own directory as TMPDIR and CEPHVOL_TEST_TMP. After
# each test the runner looks for what it left behind: processes naming that
# directory (command line, environment, cwd), mounts below it, loop devices
# backed by files below it, files in it. A leak fails the test and is
# cleaned up. After the run the cluster is stopped and the same check runs
# over the whole run directory, so nothing is left, passed or failed.
set -uo pipefail
unset CEPH_ARGS

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
filters=()
default_timeout=${CEPHVOL_TEST_TIMEOUT:-300}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

usage() {
	echo "usage: tests/run.sh [--build DIR] [--memstore] [TEST...]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	--memstore) export CEPHVOL_TEST_MEMSTORE=1; shift ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	-*) usage ;;
	*) filters+=("$1"); shift ;;
	esac
done
[ -d "$build" ] || { echo "run.sh: no build directory $build (run make)" >&2; exit 2; }
build=$(cd "$build" && pwd)
[ -x "$build/bin/cephvol" ] || { echo "run.sh: $build/bin/cephvol missing (run make)" >&2; exit 2; }

export CEPHVOL_SRC=$src CEPHVOL_BUILD=$build CEPHVOL_BIN=$build/bin
logs=$build/test-logs
rm -rf "$logs"
mkdir -p "$logs"

# Directories that dockerd, containerd and start_cephvold create outside
# the run directory: removed at the end if the run made them and they are
# empty (a concurrent run still using one keeps it non-empty).
made_dirs=()
for d in /etc/docker/plugins /etc/docker /run/docker/plugins /run/docker /run/containerd/s /run/containerd; do
	[ -e "$d" ] || made_dirs+=("$d")
done

run_t0=$(date +%s.%N)
run=$(mktemp -d /tmp/cvr.XXXXXX)
cluster=$run/ceph
export CEPHVOL_RUN_DIR=$run

# --- leak detection (bash builtins where it matters: never find ourselves)


. "$src/tests/lib/sweep.sh"

# procs_in DIR [EXCLUDE_DIR]: live processes referencing DIR, except ours
# and those that reference EXCLUDE_DIR (the cluster, stopped separately).
procs_in() {
	local dir=$1 excl=${2:-} p pid st cwds
	cwds=" "$(find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$dir" -o -lname "$dir/*" \) \
	    2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
		read -r _ _ st _ 2>/dev/null < "$p/stat" || continue
		[ "$st" = Z ] && continue
		[[ "$cwds" == *" $pid "* ]] || _refs_dir "$pid" "$dir" || continue
		[ -n "$excl" ] && _refs_dir "$pid" "$excl" && continue
		echo "$pid"
	done
	return 0
}






# sweep DIR [EXCLUDE_DIR]: print and remove whatever still uses DIR.
sweep() {
	local dir=$1 excl=${2:-} m l pids pass f
	[ -d "$dir" ] || return 0
	for pass in 1 2; do
		# filesystems on loop devices, the loops, then the FUSE
		# mounts that may serve the loops' files
		_umount_all "$dir" other
		for l in $(_loops_in "$dir"); do
			echo "loop device $l"
			losetup -d "$l" 2>/dev/null
		done
		_umount_all "$dir" fuse
		[ "$pass" = 2 ] && break
		pids=$(procs_in "$dir" "$excl")
		[ -n "$pids" ] && sleep 1 && pids=$(procs_in "$dir" "$excl")
		for m in $pids; do
			echo "process $m: $(tr '\0' ' ' < "/proc/$m/cmdline" 2>/dev/null | cut -c1-160)"
		done
		for m in $(_container_procs "$dir"); do
			echo "container process $m: $(tr '\0' ' ' < "/proc/$m/cmdline" 2>/dev/null | cut -c1-100)"
			kill -KILL "$m" 2>/dev/null
		done
		# shellcheck disable=SC2086
		_stop_pids $pids
	done
	# plugin spec files pointing into DIR (start_cephvold writes them)
	for f in /etc/docker/plugins/*.spec /etc/docker/plugins/*.json; do
		[ -f "$f" ] && grep -qF "$dir/" "$f" 2>/dev/null && { echo "file $f"; rm -f "$f"; }
	done
	return 0
}

# --- the cluster and the exit path ------------------------------------

finish() {
	local status=$? leaks
	trap - EXIT INT TERM
	cd /
	if [ -d "$cluster" ]; then
		"$src/tests/lib/ceph.sh" stop "$cluster" || status=1
	fi
	leaks=$(sweep "$run")
	if [ -n "$leaks" ]; then
		echo "FAIL run: left behind after the run (now cleaned up):"
		echo "$leaks" | sed 's/^/  /'
		status=1
	fi
	rm -rf --one-file-system "$run"
	for d in "${made_dirs[@]}"; do
		rmdir "$d" 2>/dev/null
	done
	if [ -e "$run" ]; then
		echo "FAIL run: cannot remove $run"
		status=1
	fi
	exit "$status"
}
# on INT/TERM: stop the running test (timeout passes the signal to it and
# its process group), give it time for its cleanups, then finish
current=
on_signal() {
	echo "run.sh: $1"
	if [ -n "$current" ]; then
		kill -TERM "$current" 2>/dev/null
		wait "$current" 2>/dev/null
	fi
	exit "$2"
}
trap finish EXIT
trap 'on_signal interrupted 130' INT
trap 'on_signal terminated 143' TERM

# --- which tests --------------------------------------------------------

selected() {
	local name=$1 base=${1#*/} f
	[ ${#filters[@]} -eq 0 ] && return 0
	for f in "${filters[@]}"; do
		f=${f%.sh}
		# shellcheck disable=SC2053
		[[ "$name" == $f || "$base" == $f || "$name" == */$f ]] && return 0
	done
	return 1
}

tests=()	# "kind name path"
for f in "$build"/tests/unit/*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	# a binary left from a source since removed is not a test any more
	[ -f "$src/tests/unit/$(basename "$f").c" ] || continue
	n=unit/$(basename "$f")
	selected "$n" && tests+=("unit $n $f")
done
for f in "$src"/tests/integ/*.sh; do
	[ -f "$f" ] || continue
	n=integ/$(basename "$f" .sh)
	selected "$n" && tests+=("integ $n $f")
done
if [ ${#tests[@]} -eq 0 ]; then
	echo "run.sh: no test matches ${filters[*]:-}" >&2
	exit 2
fi

needs_cluster=
for t in "${tests[@]}"; do [[ "$t" == integ* ]] && needs_cluster=1; done
if [ -n "$needs_cluster" ]; then
	if ! exports=$("$src/tests/lib/ceph.sh" start "$cluster" ${CEPHVOL_TEST_MEMSTORE:+--memstore} \
	    2> "$logs/ceph-start.log"); then
		echo "FAIL run: cannot start the test cluster:"
		tail -n 40 "$logs/ceph-start.log"
		for f in "$cluster"/log/*.log; do
			[ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
		done
		exit 1
	fi
	eval "$exports"
	export CEPHVOL_TEST_CONF CEPHVOL_TEST_KEYRING
	sed -n "s/^ceph.sh: //p" "$logs/ceph-start.log" | tail -n 1
fi

# --- run ------------------------------------------------------------------

test_timeout() {
	local t
	t=$(head -n 10 "$1" 2>/dev/null | tr -d '\0' | sed -n 's/^[#/*[:space:]]*timeout:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1) || true
	echo "${t:-$default_timeout}"
}

passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
	read -r kind name path <<< "$t"
	safe=${name//\//.}
	log=$logs/$safe.log
	dir=$run/${name#*/}
	mkdir -p "$dir"
	limit=$default_timeout
	[ "$kind" = integ ] && limit=$(test_timeout "$path")
	start=$(date +%s.%N)
	status=0
	# In the background, so that a signal to the runner is handled at
	# once (the trap passes it on to the test, whose cleanups then run).
	# timeout(1) sends TERM at the limit, KILL 15 s later.
	(
		cd "$src" || exit 1
		export TMPDIR=$dir CEPHVOL_TEST_TMP=$dir
		if [ "$kind" = unit ]; then
			exec timeout -k 15 "$limit" "$path"
		else
			exec timeout -k 15 "$limit" bash "$path"
		fi
	) > "$log" 2>&1 < /dev/null &
	current=$!
	wait "$current" 2>/dev/null || status=$?
	current=
	secs=$(elapsed "$start")
	leaks=$(sweep "$dir")
	if [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
		leaks+=$'\n'"files left in its temp dir: $(cd "$dir" && ls -A | head -n 5 | tr '\n' ' ')"
	fi
	rm -rf --one-file-system "$dir"
	leaks=$(printf '%s' "$leaks" | sed '/^$/d')
	if [ -n "$leaks" ]; then
		{ echo "--- run.sh: left behind by the test (now cleaned up):"; echo "$leaks"; } >> "$log"
	fi

	if [ "$status" = 77 ] && [ -z "$leaks" ]; then
		reason=$(grep -a '^skip: ' "$log" | tail -n 1 | sed 's/^skip: //')
		[ -n "$reason" ] || reason=$(tail -n 1 "$log")
		echo "SKIP $name: ${reason:-no reason given}"
		skipped=$((skipped + 1))
	elif [ "$status" = 0 ] && [ -z "$leaks" ]; then
		printf 'PASS %s (%.1fs)\n' "$name" "$secs"
		passed=$((passed + 1))
	else
		why="exit status $status"
		if [ "$status" = 124 ] || { [ "$status" = 137 ] &&
		    awk -v s="$secs" -v l="$limit" 'BEGIN { exit !(s >= l) }'; }; then
			why="timed out after ${limit}s"
		fi
		[ "$status" = 0 ] || [ "$status" = 77 ] && why="left processes, mounts or files behind"
		printf 'FAIL %s (%s, %.1fs; log %s)\n' "$name" "$why" "$secs" "$log"
		tail -n 40 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done

echo "run took $(elapsed "$run_t0")s; logs in $logs"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
