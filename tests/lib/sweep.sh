# tests/lib/sweep.sh - finding and stopping what a test or a run left
# behind below a directory: processes naming it, mounts, loop devices,
# containers. Sourced by tests/functions.sh and tests/run.sh; bash builtins
# where it matters, so a sweep never finds its own helpers.

# _refs_dir PID DIR [cmdline]: the process names DIR in its command line
# (or, unless "cmdline", in its environment). Bash builtins only, so the
# sweep never finds its own helper processes.
_refs_dir() {
	local pid=$1 dir=$2 only=${3:-} a=()
	mapfile -d "" -t a 2>/dev/null < "/proc/$pid/cmdline" || return 1
	[[ " ${a[*]} " == *"$dir/"* || " ${a[*]} " == *"$dir "* ]] && return 0
	[ "$only" = cmdline ] && return 1
	mapfile -d "" -t a 2>/dev/null < "/proc/$pid/environ" || true
	[[ " ${a[*]} " == *"$dir/"* || " ${a[*]} " == *"$dir "* ]]
}

# _mounts_in DIR: mount points at or below DIR, deepest first.
_mounts_in() {
	local dir=$1 kind=${2:-}
	awk -v d="$dir" -v kind="$kind" '{
		for (i = 7; i <= NF && $i != "-"; i++) ;
		fuse = ($(i + 1) ~ /^fuse/)
		if (kind == "fuse" && !fuse || kind == "other" && fuse) next
		m = $5; gsub(/\\040/, " ", m)
		if (m == d || index(m, d "/") == 1) print length(m) "\t" m
	}' /proc/self/mountinfo | sort -rn | cut -f2-
}

# _loops_in DIR: loop devices whose backing file is below DIR.
_loops_in() {
	local dir=$1
	losetup -n -l -O NAME,BACK-FILE 2>/dev/null |
	    awk -v d="$dir/" 'index($2, d) == 1 { print $1 }'
	return 0
}

# _stop_pids PID...: TERM, wait up to 5 s, KILL. Only pids we found.
_stop_pids() {
	[ $# -gt 0 ] || return 0
	local i pid left
	kill -TERM "$@" 2>/dev/null
	kill -CONT "$@" 2>/dev/null	# a stopped process acts on TERM only once continued
	for i in $(seq 1 50); do
		left=
		for pid in "$@"; do
			[ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && left+=" $pid"
		done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null
	sleep 0.2
}

# _container_procs DIR: processes of containers of a dockerd whose data-root
# is below DIR (found by container id in their cgroup): they live in their
# own namespaces and never name DIR, and outlive a killed containerd-shim.
_container_procs() {
	local ids
	ids=$(find "$1" -maxdepth 6 -type d -regextype posix-extended \
	    -regex '.*/containers/[0-9a-f]{64}' 2>/dev/null | sed 's|.*/||')
	[ -n "$ids" ] || return 0
	grep -l -F "$ids" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3
	return 0
}

# _umount_all DIR KIND: unmount (lazily if busy) every KIND mount below DIR.
_umount_all() {
	local m
	while read -r m; do
		[ -n "$m" ] || continue
		echo "mount $m"
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done < <(_mounts_in "$1" "$2")
}
