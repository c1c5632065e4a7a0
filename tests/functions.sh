# tests/functions.sh - helpers for cephvol's integration tests (bash).
#
#	#!/usr/bin/env bash
#	# timeout: 120			(optional, first 10 lines; runner default 300)
#	. "$(dirname "$0")/../functions.sh"
#	requires curl jq
#	ceph_env; test_pool; write_config volume.default_size=1G
#	start_cephvold
#	step "create a volume"
#	api VolumeDriver.Create '{"Name":"v1"}'
#
# Sourcing this file turns on `set -eEuo pipefail`, creates $T (a fresh
# temp dir, removed at exit) and installs traps: on EXIT (normal, failure,
# INT, TERM) the cleanups registered with cleanup_fn run last-in first-out,
# then anything the test left under $T is swept: mounts under $T are
# unmounted, loop devices backed by files under $T detached, processes
# whose command line, environment or cwd names $T stopped. Each such
# leftover is reported and fails the test: a test must clean up after
# itself. Exit 77 means skipped.
#
# Run by tests/run.sh, the tests get CEPHVOL_BIN, CEPHVOL_BUILD, CEPHVOL_SRC,
# CEPHVOL_TEST_CONF, CEPHVOL_TEST_KEYRING and CEPHVOL_TEST_TMP; run
# standalone (bash tests/integ/x.sh) the defaults are the tree's build/ and
# a private cluster started by ceph_env.
#
# cleanup_fn must be called from the test's main shell, never inside $(...)
# or a pipeline: a subshell's registration is lost (the same holds for
# start_cephvold, start_dockerd, test_pool, which register cleanups).
#
# What it gives (each documented where it is defined):
#   T TEST_NAME                  the test's temp dir; the script's name
#   step MSG | fail MSG | die MSG | skip MSG
#   cleanup_fn CMD...            run at exit, last first
#   requires CMD... | requires_root
#   expect_fail CMD...           CMD must fail (1..125); sets ERR, OUT
#   assert_contains H N | assert_not_contains H N | assert_eq GOT WANT [WHAT]
#   wait_for SECS CMD...
#   free_port [N]                a port P with P..P+N-1 free (10000-19999)
#   ceph_env                     CEPH_CONF, CEPHVOL_TEST_CONF/_KEYRING
#   start_ceph DIR [--memstore]  a further cluster; ceph ARGS | rados ARGS
#   test_pool [NAME]             POOL
#   write_config [s.k=v...]      CEPHVOL_CONF, DRIVER, PLUGIN_SOCK
#   cephvol ARGS                 $CEPHVOL_BIN/cephvol
#   state_of VOLUME [STATE_DIR]  where a mounted volume's host state is
#   second_host NAME             $T/NAME.conf: another host (client, state)
#   start_cephvold [ARGS] | stop_cephvold [SIG]   CEPHVOLD_PID, CEPHVOLD_STATUS
#   api ENDPOINT [JSON]          body on stdout, API_STATUS
#   start_dockerd [ARGS] | docker ARGS  DOCKER_HOST, DOCKERD_PID; localhost/busybox:test

set -eEuo pipefail
unset CEPH_ARGS

CEPHVOL_SRC=${CEPHVOL_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CEPHVOL_BUILD=${CEPHVOL_BUILD:-$CEPHVOL_SRC/build}
CEPHVOL_BIN=${CEPHVOL_BIN:-$CEPHVOL_BUILD/bin}
export CEPHVOL_SRC CEPHVOL_BUILD CEPHVOL_BIN

TEST_NAME=$(basename "$0" .sh)
_T0=$(date +%s.%N)
_CLEANUPS=()
_REAPED=" "

# --- messages ---------------------------------------------------------

_elapsed() { awk -v a="$_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# step MSG: mark progress in the log.
step() { echo "== [$(_elapsed)s] $*" >&2; }

# fail MSG: the test failed (exit 1). die is the same.
fail() {
	trap - ERR
	echo "FAIL: $*" >&2
	exit 1
}
die() { fail "$@"; }

# skip MSG: the test cannot run here (exit 77, reported as skipped).
skip() {
	trap - ERR
	echo "skip: $*" >&2
	exit 77
}

_on_err() {
	local status=$1 line=$2 cmd=$3 i where
	# the failing command's file:line, then each caller's, out to the test
	where="${BASH_SOURCE[1]:-$0}:$line"
	for (( i = 1; i < ${#BASH_SOURCE[@]} - 1; i++ )); do
		where+=" <- ${BASH_SOURCE[i + 1]##*/}:${BASH_LINENO[i]}"
	done
	echo "FAIL: exit status $status at $where: $cmd" >&2
}
trap '_on_err $? $LINENO "$BASH_COMMAND"' ERR

# --- cleanup ----------------------------------------------------------

# cleanup_fn CMD [ARG...]: run CMD ARG... at exit, last registered first.
cleanup_fn() {
	local q
	printf -v q '%q ' "$@"
	_CLEANUPS+=("$q")
}

_cleanup_run() {
	local status=$1 i leaks
	trap - ERR EXIT INT TERM
	set +eE
	cd /
	for (( i = ${#_CLEANUPS[@]} - 1; i >= 0; i-- )); do
		eval "${_CLEANUPS[i]}" || echo "cleanup: '${_CLEANUPS[i]}' failed" >&2
	done
	_CLEANUPS=()
	leaks=$(_sweep "$T")
	if [ -n "$leaks" ]; then
		echo "FAIL: left behind by the test (now cleaned up):" >&2
		echo "$leaks" | sed 's/^/  /' >&2
		# a leak fails even a test that passed or skipped
		[ "$status" = 0 ] || [ "$status" = 77 ] && status=1
	fi
	rm -rf --one-file-system "$T" 2>/dev/null
	[ "$status" = 0 ] && echo "ok: $TEST_NAME ($(_elapsed)s)" >&2
	exit "$status"
}
trap '_cleanup_run $?' EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM


. "$(dirname "${BASH_SOURCE[0]}")/lib/sweep.sh"

# _procs_in DIR [cmdline]: pids (other than this shell) that reference
# DIR (in their command line only, if asked; else also in their
# environment or as their cwd), alive.
_procs_in() {
	local dir=$1 only=${2:-} p pid st cwds=" "
	[ "$only" = cmdline ] ||
	    cwds+=$(find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$dir" -o -lname "$dir/*" \) \
		2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
		read -r _ _ st _ 2>/dev/null < "$p/stat" || continue
		# the stat comm field may hold spaces; zombies are stopped anyway
		[ "$st" = Z ] && continue
		if [[ "$cwds" == *" $pid "* ]] || _refs_dir "$pid" "$dir" "$only"; then
			echo "$pid"
		fi
	done
	return 0
}






# _sweep DIR: stop and remove what still uses DIR; print one line per
# leftover. Mounts first (a FUSE server exits once unmounted), then loops,
# then processes, then mounts again (a killed FUSE server's mount).
_sweep() {
	local dir=$1 m l pids pass
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	for pass in 1 2; do
		# filesystems on loop devices, the loops, then the FUSE
		# mounts that may serve the loops' files
		_umount_all "$dir" other
		for l in $(_loops_in "$dir"); do
			echo "loop device $l ($(losetup -n -O BACK-FILE "$l" 2>/dev/null))"
			losetup -d "$l" 2>/dev/null
		done
		_umount_all "$dir" fuse
		[ "$pass" = 2 ] && break
		pids=$(_procs_in "$dir")
		if [ -n "$pids" ]; then
			# a daemon stopping on its own (a FUSE server after its
			# unmount) gets 3 s before it counts as left behind
			local until=$((SECONDS + 3))
			while [ -n "$pids" ] && [ "$SECONDS" -lt "$until" ]; do
				sleep 0.2
				pids=$(_procs_in "$dir")
			done
		fi
		for m in $pids; do
			echo "process $m: $(tr '\0' ' ' < "/proc/$m/cmdline" 2>/dev/null | cut -c1-200)"
		done
		for m in $(_container_procs "$dir"); do
			echo "container process $m: $(tr '\0' ' ' < "/proc/$m/cmdline" 2>/dev/null | cut -c1-100)"
			kill -KILL "$m" 2>/dev/null
		done
		# shellcheck disable=SC2086
		_stop_pids $pids
	done
	return 0
}

# --- the test's temp dir ----------------------------------------------

if [ -n "${CEPHVOL_TEST_TMP:-}" ]; then
	mkdir -p "$CEPHVOL_TEST_TMP"
	T=$(mktemp -d "$CEPHVOL_TEST_TMP/T.XXXXXX")
else
	T=$(mktemp -d "${TMPDIR:-/tmp}/cvt-$TEST_NAME.XXXXXX")
fi
export T

# --- checks -----------------------------------------------------------

# requires CMD...: skip unless every CMD is on PATH (or an executable path).
requires() {
	local c
	for c in "$@"; do
		if [[ "$c" == */* ]]; then
			[ -x "$c" ] || skip "requires $c"
		else
			command -v "$c" >/dev/null 2>&1 || skip "requires $c"
		fi
	done
}

# requires_root: skip unless running as root.
requires_root() { [ "$(id -u)" = 0 ] || skip "requires root"; }

# free_port [N]: print a port P such that P..P+N-1 (N=1) are free on this
# host, or fail. From 10000-19999: below tests/lib/ceph.sh's mon ports and
# below the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768
# up), so no outgoing connection can be handed the port between this
# check and the bind. Use as port=$(free_port) || fail "...".
free_port() {
	local n=${1:-1} p i j busy
	for (( i = 0; i < 200; i++ )); do
		p=$(( 10000 + RANDOM % (10000 - n) ))
		busy=
		for (( j = 0; j < n; j++ )); do
			if ss -Htan "( sport = :$((p + j)) )" 2>/dev/null | grep -q .; then
				busy=1; break
			fi
		done
		[ -n "$busy" ] || { echo "$p"; return 0; }
	done
	echo "free_port: no $n free port(s) in 10000-19999" >&2
	return 1
}

# expect_fail CMD...: succeed only if CMD fails by itself (exit 1..125;
# a crash, a signal or a missing command is not the failure expected).
# CMD's stderr is left in $ERR, its stdout in $OUT.
expect_fail() {
	local status=0
	OUT=$("$@" 2>"$T/.expect_fail.err") || status=$?
	ERR=$(cat "$T/.expect_fail.err")
	rm -f "$T/.expect_fail.err"
	if [ "$status" = 0 ]; then
		fail "expected failure, but it succeeded: $*"
	elif [ "$status" -ge 126 ]; then
		fail "expected a clean failure, got exit status $status from: $* (stderr: $ERR)"
	fi
	echo "expected failure ($status): $*: $ERR" >&2
	return 0
}

# assert_contains HAYSTACK NEEDLE: NEEDLE (fixed text) occurs in HAYSTACK.
assert_contains() {
	[[ "$1" == *"$2"* ]] || fail "expected to find '$2' in: $1"
}
# assert_not_contains HAYSTACK NEEDLE
assert_not_contains() {
	[[ "$1" != *"$2"* ]] || fail "did not expect '$2' in: $1"
}
# assert_eq GOT WANT [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', want '$2'"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; fail
# with a message when SECONDS pass.
wait_for() {
	local secs=$1 i
	shift
	for (( i = 0; i < secs * 10; i++ )); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "timed out after ${secs}s waiting for: $*"
}

# --- Ceph -------------------------------------------------------------

# ceph_env: use the runner's cluster, or start a private one for this
# test (stopped at exit). Exports CEPH_CONF, CEPHVOL_TEST_CONF,
# CEPHVOL_TEST_KEYRING.
ceph_env() {
	unset CEPH_ARGS
	if [ -z "${CEPHVOL_TEST_CONF:-}" ]; then
		requires ceph-mon ceph-osd ceph
		cleanup_fn "$CEPHVOL_SRC/tests/lib/ceph.sh" stop "$T/ceph"
		local exports
		exports=$("$CEPHVOL_SRC/tests/lib/ceph.sh" start "$T/ceph" \
		    ${CEPHVOL_TEST_MEMSTORE:+--memstore}) ||
		    fail "cannot start a private ceph cluster"
		eval "$exports"
	fi
	: "${CEPHVOL_TEST_KEYRING:=$(dirname "$CEPHVOL_TEST_CONF")/keyring.admin}"
	export CEPH_CONF=$CEPHVOL_TEST_CONF
	export CEPHVOL_TEST_CONF CEPHVOL_TEST_KEYRING
}

# start_ceph DIR [--memstore]: a further private cluster under DIR (for
# tests that need two), stopped at exit. Prints nothing; its ceph.conf is
# DIR/ceph.conf and its admin keyring DIR/keyring.admin. The test's own
# cluster (CEPH_CONF) is unchanged.
start_ceph() {
	local dir=$1
	shift
	requires ceph-mon ceph-osd
	cleanup_fn "$CEPHVOL_SRC/tests/lib/ceph.sh" stop "$dir"
	"$CEPHVOL_SRC/tests/lib/ceph.sh" start "$dir" "$@" >/dev/null ||
	    fail "cannot start a ceph cluster in $dir"
}

# ceph ARGS: the ceph CLI on the test cluster, bounded in time.
ceph() { timeout 60 ceph --conf "$CEPH_CONF" "$@"; }
rados() { timeout 60 rados --conf "$CEPH_CONF" "$@"; }

# test_pool [NAME]: create a fresh pool (deleted at exit), set POOL.
test_pool() {
	[ -n "${CEPH_CONF:-}" ] || ceph_env
	POOL=${1:-cvt-$TEST_NAME-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}
	cleanup_fn _pool_delete "$POOL"
	ceph osd pool create "$POOL" 8 >/dev/null 2>&1 ||
	    fail "cannot create pool $POOL: $(ceph osd pool create "$POOL" 8 2>&1)"
	ceph osd pool application enable "$POOL" cephvol >/dev/null 2>&1 || true
	export POOL
}

_pool_delete() {
	ceph osd pool delete "$1" "$1" --yes-i-really-really-mean-it >/dev/null 2>&1 ||
	    echo "cleanup: cannot delete pool $1" >&2
}

# --- cephvol configuration and binaries -------------------------------

# write_config [section.key=value...]: write $T/cephvol.conf for this
# test (creating a pool first if test_pool was not called), export
# CEPHVOL_CONF, DRIVER (the plugin name) and PLUGIN_SOCK. It sets
# volume.default_fs=ext4: the tests were written on ext4 and name xfs
# where they test it; the built-in default (xfs from 300M) is tested by
# volume_basic.
write_config() {
	[ -n "${POOL:-}" ] || test_pool
	local keys=() kv k v s sec
	declare -A val=()
	DRIVER=cvt-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	for kv in \
	    "ceph.conf=$CEPHVOL_TEST_CONF" \
	    "ceph.keyring=$CEPHVOL_TEST_KEYRING" \
	    "ceph.client=client.admin" \
	    "ceph.pool=$POOL" \
	    "plugin.driver=$DRIVER" \
	    "plugin.socket=$T/plugin.sock" \
	    "plugin.state_dir=$T/state" \
	    "plugin.mount_root=$T/mnt" \
	    "secrets.master_key=$T/master.key" \
	    "volume.default_fs=ext4" \
	    "log.level=debug" \
	    "$@"; do
		[[ "$kv" == *.*=* ]] || fail "write_config: '$kv' is not section.key=value"
		k=${kv%%=*} v=${kv#*=}
		[ -n "${val[$k]+x}" ] || keys+=("$k")
		val[$k]=$v
	done
	{
		echo "# written by tests/functions.sh write_config for $TEST_NAME"
		local sections=()
		for k in "${keys[@]}"; do
			sec=${k%%.*}
			[[ " ${sections[*]-} " == *" $sec "* ]] || sections+=("$sec")
		done
		for sec in "${sections[@]}"; do
			printf '\n[%s]\n' "$sec"
			for k in "${keys[@]}"; do
				[ "${k%%.*}" = "$sec" ] || continue
				printf '%s = %s\n' "${k#*.}" "${val[$k]}"
			done
		done
	} > "$T/cephvol.conf"
	DRIVER=${val[plugin.driver]}
	PLUGIN_SOCK=${val[plugin.socket]}
	export CEPHVOL_CONF=$T/cephvol.conf DRIVER PLUGIN_SOCK
	s=$PLUGIN_SOCK
	[ ${#s} -lt 100 ] || fail "plugin socket path too long for a unix socket: $s"
}

# cephvol ARGS: the CLI under test (reads $CEPHVOL_CONF).
cephvol() { "$CEPHVOL_BIN/cephvol" "$@"; }

# state_of VOLUME [STATE_DIR]: the host state of a mounted volume, named by
# its id (STATE_DIR/vol/ID: ID.pid, ID.log, ID/image); STATE_DIR defaults
# to the test's $T/state.
state_of() {
	local id
	id=$(cephvol --json volume inspect "$1" | jq -r .id) || return 1
	[ -n "$id" ] && [ "$id" != null ] || return 1
	echo "${2:-$T/state}/vol/$id"
}

# second_host NAME: another host on the same pool, for multi-host tests:
# its own Ceph client (client.NAME<random>, with the caps a host needs,
# deleted at exit), keyring, state dir $T/state-NAME and mount root
# $T/mnt-NAME, written to $T/NAME.conf (from $CEPHVOL_CONF). Sets HOST_CLIENT.
second_host() {
	local name=$1
	HOST_CLIENT=client.$name$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
	cleanup_fn _del_client "$HOST_CLIENT"
	ceph auth get-or-create "$HOST_CLIENT" mon 'allow r, allow command "osd blocklist"' \
	    osd "allow rwx pool=$POOL" -o "$T/keyring.$name" >/dev/null
	sed -e "s|^client = .*|client = $HOST_CLIENT|" \
	    -e "s|^keyring = .*|keyring = $T/keyring.$name|" \
	    -e "s|^state_dir = .*|state_dir = $T/state-$name|" \
	    -e "s|^mount_root = .*|mount_root = $T/mnt-$name|" \
	    -e "s|^socket = .*|socket = $T/plugin-$name.sock|" \
	    "$CEPHVOL_CONF" > "$T/$name.conf"
	grep -q "client = $HOST_CLIENT" "$T/$name.conf" || fail "second_host: $(cat "$T/$name.conf")"
}
_del_client() { ceph auth del "$1" >/dev/null 2>&1 || true; }

# --- cephvold ---------------------------------------------------------

# start_cephvold [ARGS...]: start the daemon in the background with the
# test's config, log to $T/cephvold.log, wait (10 s at most) until
# Plugin.Activate answers on its socket. Sets CEPHVOLD_PID. Also makes
# dockerd find the plugin: /etc/docker/plugins/$DRIVER.spec (removed at
# exit). Stopped at exit if the test did not stop it.
start_cephvold() {
	[ -n "${CEPHVOL_CONF:-}" ] || fail "start_cephvold: call write_config first"
	[ -x "$CEPHVOL_BIN/cephvold" ] || fail "no $CEPHVOL_BIN/cephvold (run make)"
	requires curl
	if [ -n "${CEPHVOLD_PID:-}" ] && kill -0 "$CEPHVOLD_PID" 2>/dev/null; then
		fail "start_cephvold: cephvold $CEPHVOLD_PID is running (stop_cephvold first)"
	fi
	local spec=/etc/docker/plugins/$DRIVER.spec i
	mkdir -p /etc/docker/plugins
	cleanup_fn rm -f "$spec"
	echo "unix://$PLUGIN_SOCK" > "$spec"
	echo "--- cephvold $* ($(date +%T))" >> "$T/cephvold.log"
	# its own session: a signal to the test's process group (^C, the
	# runner's timeout) reaches the test, whose cleanups stop it in order
	setsid "$CEPHVOL_BIN/cephvold" -d -c "$CEPHVOL_CONF" "$@" >> "$T/cephvold.log" 2>&1 < /dev/null &
	CEPHVOLD_PID=$!
	cleanup_fn _stop_child "$CEPHVOLD_PID" cephvold
	for (( i = 0; i < 100; i++ )); do
		if ! kill -0 "$CEPHVOLD_PID" 2>/dev/null; then
			local status=0
			wait "$CEPHVOLD_PID" || status=$?
			_REAPED+="$CEPHVOLD_PID "
			tail -n 30 "$T/cephvold.log" >&2
			fail "cephvold exited with status $status during start-up (log above, $T/cephvold.log)"
		fi
		if [ -S "$PLUGIN_SOCK" ] && curl -sf -m 1 --unix-socket "$PLUGIN_SOCK" \
		    -X POST http://plugin/Plugin.Activate 2>/dev/null | grep -q Implements; then
			step "cephvold $CEPHVOLD_PID serving on $PLUGIN_SOCK"
			return 0
		fi
		sleep 0.1
	done
	tail -n 30 "$T/cephvold.log" >&2
	fail "cephvold did not answer Plugin.Activate on $PLUGIN_SOCK within 10 s"
}

# stop_cephvold [SIGNAL]: stop the daemon (TERM by default; KILL after
# 10 s), set CEPHVOLD_STATUS to its exit status.
stop_cephvold() {
	[ -n "${CEPHVOLD_PID:-}" ] || fail "stop_cephvold: not started"
	_stop_child "$CEPHVOLD_PID" cephvold "${1:-TERM}"
	CEPHVOLD_STATUS=$_CHILD_STATUS
	CEPHVOLD_PID=
}

# _stop_child PID NAME [SIGNAL]: stop a background child of this shell
# and reap it (so its pid cannot be reused under us); once only.
_stop_child() {
	local pid=$1 name=$2 sig=${3:-TERM} i
	_CHILD_STATUS=
	[[ "$_REAPED" == *" $pid "* ]] && return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	# it may be gone (and reaped by bash) already: not an error
	if [ "$sig" = TERM ]; then kill -CONT "$pid" 2>/dev/null || true; fi
	for (( i = 0; i < 100; i++ )); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
		echo "$name ($pid) did not stop in 10 s: SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	_CHILD_STATUS=0
	wait "$pid" 2>/dev/null || _CHILD_STATUS=$?
	_REAPED+="$pid "
}

# api ENDPOINT [JSON]: POST JSON (default: empty body) to the plugin the
# way dockerd 20.10 does (its Accept header, no Content-Type, the body
# followed by a newline); print the response body. Returns 1 unless HTTP
# 200; API_STATUS holds the HTTP status. API_TIMEOUT (s) bounds the call.
api() {
	local ep=${1#/} body=${2-} out
	[ -z "$body" ] || body+=$'\n'
	out=$(curl -sS -m "${API_TIMEOUT:-60}" --unix-socket "$PLUGIN_SOCK" -X POST \
	    -H 'Accept: application/vnd.docker.plugins.v1.2+json' -H 'Content-Type:' \
	    --data-binary "$body" -w '\n%{http_code}' "http://plugin/$ep") || {
		API_STATUS=000
		echo "api $ep: no answer from $PLUGIN_SOCK" >&2
		return 1
	}
	API_STATUS=${out##*$'\n'}
	printf '%s\n' "${out%$'\n'*}"
	[ "$API_STATUS" = 200 ]
}

# --- dockerd ----------------------------------------------------------

# start_dockerd [ARGS...]: a private dockerd in $T/docker (its own
# data-root, exec-root, socket; managed containerd), with ARGS added to its
# options (such as --live-restore). Exports DOCKER_HOST. Imports
# localhost/busybox:test. Stopped at exit (containers removed, then
# dockerd, then any containerd or shim of it left), also on failure. Called
# again after dockerd stopped, it starts dockerd again on the same
# directories, its log appended to the same file.
start_dockerd() {
	requires_root
	requires dockerd containerd runc busybox
	local D=$T/docker i
	mkdir -p "$D/root" "$D/exec" "$D/cli" "$D/tmp"
	[ ${#D} -lt 60 ] || fail "docker dir path too long for its sockets: $D"
	DOCKER_CLI=$(command -v docker)
	[ -x /usr/bin/docker ] && DOCKER_CLI=/usr/bin/docker	# the daemon's own version
	export DOCKER_HOST=unix://$D/docker.sock DOCKER_CONFIG=$D/cli DOCKER_CLI
	cleanup_fn _stop_dockerd
	# its own session, like cephvold (see start_cephvold); its temp files
	# (containerd's stack dumps) stay in $D
	TMPDIR=$D/tmp setsid dockerd --storage-driver=overlay2 --iptables=false --ip-forward=false \
	    --ip-masq=false --bridge=none --shutdown-timeout=5 --data-root "$D/root" \
	    --exec-root "$D/exec" -H "$DOCKER_HOST" --pidfile "$D/docker.pid" "$@" \
	    >> "$D/dockerd.log" 2>&1 < /dev/null &
	DOCKERD_PID=$!
	for (( i = 0; i < 300; i++ )); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || {
			tail -n 30 "$D/dockerd.log" >&2
			fail "dockerd exited during start-up (log above)"
		}
		docker info >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ "$i" -lt 300 ] || { tail -n 30 "$D/dockerd.log" >&2; fail "dockerd did not answer in 30 s"; }
	step "dockerd $DOCKERD_PID on $DOCKER_HOST"
	docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' "$(busybox_rootfs)" \
	    localhost/busybox:test >/dev/null || fail "cannot import localhost/busybox:test"
}

# docker ARGS: the docker CLI on the test's dockerd.
docker() { command "${DOCKER_CLI:-docker}" "$@"; }

# busybox_rootfs: print the path of a rootfs tar with busybox-static,
# built once and cached under $CEPHVOL_BUILD.
busybox_rootfs() {
	local tar=$CEPHVOL_BUILD/busybox-rootfs.tar r
	if [ ! -s "$tar" ] || [ "$(command -v busybox)" -nt "$tar" ]; then
		r=$T/bbroot
		mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/proc" "$r/sys" "$r/dev"
		cp "$(command -v busybox)" "$r/bin/busybox"
		chroot "$r" /bin/busybox --install -s /bin
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$r/etc/passwd"
		printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
		chmod 1777 "$r/tmp"
		mkdir -p "$CEPHVOL_BUILD"
		tar -C "$r" -cf "$tar.$$" . && mv "$tar.$$" "$tar"
		rm -rf "$r"
	fi
	echo "$tar"
}

_stop_dockerd() {
	local D=$T/docker ids pid
	[ -n "${DOCKERD_PID:-}" ] || return 0
	if kill -0 "$DOCKERD_PID" 2>/dev/null; then
		ids=$(timeout 10 "${DOCKER_CLI:-docker}" ps -aq 2>/dev/null) || true
		# shellcheck disable=SC2086
		[ -z "$ids" ] || timeout 30 "${DOCKER_CLI:-docker}" rm -f $ids >/dev/null 2>&1 || true
	fi
	_stop_child "$DOCKERD_PID" dockerd TERM
	# a dockerd that was killed leaves its containerd and shims (they name
	# $D) and the containers' processes
	for pid in $(_procs_in "$D" cmdline); do
		echo "stopping leftover $(cat /proc/$pid/comm 2>/dev/null) $pid of dockerd" >&2
		_stop_pids "$pid"
	done
	for pid in $(_container_procs "$D"); do
		echo "killing leftover container process $pid ($(cat /proc/$pid/comm 2>/dev/null))" >&2
		kill -KILL "$pid" 2>/dev/null
	done
	DOCKERD_PID=
}
