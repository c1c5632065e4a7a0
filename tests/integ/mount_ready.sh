#!/usr/bin/env bash
# mount_ready.sh - cephvol-mount whose reader of --ready-fd is gone (its
# cephvold died, or gave up waiting) when it would say "ok": nobody knows
# of that mount and nobody would ever unmount it, so it must stop by itself
# instead of serving on: its FUSE mount gone, its lease released, the
# reason in its log. Both servers: a block volume and a secrets volume.
# The pipe's reader is closed before the helper starts, so the write of
# "ok" fails with EPIPE every time (no race).
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfifo
ceph_env
test_pool
write_config log.level=info

# gone PID: the process has exited (gone, or a zombie not yet reaped).
gone() {
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || echo Z)" = Z ]
}
# reap PID: wait for the exited child; once only (its pid may be reused).
REAPED=" "
reap() {
	[[ "$REAPED" == *" $1 "* ]] && return 0
	wait "$1" 2>/dev/null || true
	REAPED+="$1 "
}
# stop_mount PID DIR: at exit, if it is still there: unmount, stop, reap.
stop_mount() {
	umount "$2" 2>/dev/null || umount -l "$2" 2>/dev/null || true
	[[ "$REAPED" == *" $1 "* ]] && return 0
	gone "$1" || kill -TERM "$1" 2>/dev/null || true
	wait_for 10 gone "$1" || kill -KILL "$1" 2>/dev/null || true
	reap "$1"
}
# start_orphan NAME ARGS...: cephvol-mount ARGS... with --ready-fd 5 on a
# pipe that has no reader any more; its pid in MPID, its log $T/NAME.log.
start_orphan() {
	local name=$1
	shift
	mkfifo "$T/$name.fifo"
	exec 4<> "$T/$name.fifo"	# a reader, so the writer's open succeeds
	exec 5> "$T/$name.fifo"
	exec 4<&-			# and gone: writes to fd 5 fail with EPIPE
	"$CEPHVOL_BIN/cephvol-mount" -c "$CEPHVOL_CONF" --ready-fd 5 "$@" \
	    2> "$T/$name.log" &
	MPID=$!
	exec 5>&-
	cleanup_fn stop_mount "$MPID" "${!#}"
}
# check_stopped NAME DIR: it exits within 20 s, unmounted, saying why.
check_stopped() {
	local name=$1 dir=$2 t0=$SECONDS i
	for (( i = 0; i < 200; i++ )); do
		gone "$MPID" && break
		sleep 0.1
	done
	gone "$MPID" ||
	    fail "cephvol-mount $MPID still serves $dir after 20 s with nobody reading its ready fd; its log: $(cat "$T/$name.log")"
	echo "$name: cephvol-mount stopped $((SECONDS - t0)) s after start" >&2
	reap "$MPID"
	assert_contains "$(cat "$T/$name.log")" "cannot say we are ready on fd 5: nobody reads it any more"
	if grep -qF " $dir " /proc/self/mountinfo; then fail "$dir is still mounted"; fi
}

step "block volume: the helper stops, unmounted, lease released"
cephvol volume create bv -o size=64M >/dev/null
start_orphan block --pid-file "$T/block.pid" bv "$T/fuse"
check_stopped block "$T/fuse"
cephvol volume inspect bv --json | jq -e '.lease == null' >/dev/null ||
    fail "lease not released: $(cephvol volume inspect bv --json)"
[ ! -e "$T/block.pid" ] || fail "pid file left behind"

step "secrets volume: the same"
cephvol key init >/dev/null
printf 's3cret' | cephvol secret create pw - --uid 0 --gid 0 --mode 0400 >/dev/null
cephvol volume create sv -o type=secrets -o secrets=pw >/dev/null
start_orphan secrets --secrets sv "$T/secrets"
check_stopped secrets "$T/secrets"

step "with a reader, the same helper serves (the pipe is not the problem)"
mkfifo "$T/ok.fifo"
"$CEPHVOL_BIN/cephvol-mount" -c "$CEPHVOL_CONF" --ready-fd 3 bv "$T/fuse2" \
    3> "$T/ok.fifo" 2> "$T/ok.log" &
MPID=$!
cleanup_fn stop_mount "$MPID" "$T/fuse2"
read -r line < "$T/ok.fifo"
assert_eq "$line" ok "ready line"
sleep 1
gone "$MPID" && fail "cephvol-mount stopped although its reader got ok: $(cat "$T/ok.log")"
exit 0
