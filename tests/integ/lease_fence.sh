#!/usr/bin/env bash
# lease_fence.sh - fencing with two processes (tests/c/lease_holder.c):
# A holds volume fv and writes 'A'; a second client is refused with the
# holder's name; A is SIGSTOPped past its lease; B takes over (blocklisting
# A first) and writes 'B'; A is SIGCONTed and keeps trying to write: every
# write is refused, and not one byte of A's reaches the image (read back
# from RADOS). The same again with A's own guard turned off (--no-guard),
# so only the OSDs' blocklist stands between A and the image, and once more
# with A writing its objects with bare rados_write() (--raw). Last, the
# blocklist entry that fences A is removed before A resumes (as an operator
# might, or as an entry expires during a long stall): A's own lease, whose
# generation B moved, still refuses every write.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires jq rados

holder=$CEPHVOL_BUILD/tests/lease_holder
[ -x "$holder" ] || fail "no $holder (make builds it)"
ceph_env
test_pool
# Clients get no admin socket: a SIGSTOPped holder's socket would stall
# every later client of the same name for 10 s.
awk '{ print } /^\[client\]/ { print "admin socket ="; print "log file =" }' \
    "$CEPH_CONF" > "$T/ceph.conf"
write_config ceph.conf="$T/ceph.conf" volume.lease_seconds=3 log.level=info
LEASE=3

# start_holder VAR OUT ARGS...: start lease_holder in the background.
start_holder() {
	local var=$1 out=$2; shift 2
	"$holder" "$@" > "$out" 2> "$out.err" &
	printf -v "$var" %s $!
	cleanup_fn stop_holder $!
}
stop_holder() { kill -CONT "$1" 2>/dev/null; kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }
# check_fenced OUT MARK: after line MARK of OUT, no write succeeded except
# at most one already in flight at the stop, and at least one was refused.
check_fenced() {
	local out=$1 mark=$2 after
	after=$(tail -n +"$((mark + 1))" "$out")
	echo "--- after the stop:"; echo "$after"
	[ "$(grep -c ' ok$' <<<"$after" || true)" -le 1 ] || fail "writes succeeded after the lease expired"
	grep -q 'refused' <<<"$after" || fail "no write was refused after the lease expired"
	# once refused, never ok again
	awk '/refused/ { r = 1 } r && / ok$/ { exit 1 }' <<<"$after" ||
	    fail "a write succeeded after one was refused"
}
# check_image ID CHAR: the first 64 KiB of objects 0 and 1 are all CHAR.
check_image() {
	local id=$1 c=$2 o
	for o in 0000000000000000 0000000000000001; do
		rados -p "$POOL" get "cephvol.data.$id.$o" "$T/obj"
		head -c 65536 "$T/obj" | tr -d "$c" | wc -c | grep -qx 0 ||
		    fail "object $o holds bytes other than '$c': $(head -c 65536 "$T/obj" | tr -d "$c" | head -c 16 | od -c | head -2)"
	done
}

run_scenario() {	# run_scenario VOLUME [--no-guard | unblock]
	local vol=$1 guard=${2:-} a out mark addr id unblock=
	[ "$guard" = unblock ] && { unblock=1; guard=; }
	cephvol volume create "$vol" -o size=64M -o objectsize=1M >/dev/null
	id=$(cephvol --json volume inspect "$vol" | jq -r .id)

	step "$vol: A takes the lease and writes ${guard:-(guarded)}"
	start_holder a "$T/$vol.a" $guard "$vol" A
	wait_for 15 grep -q "write 2 ok" "$T/$vol.a"
	head -n 1 "$T/$vol.a"
	addr=$(sed -n 's/.*acquired .* addr=\([^ ]*\).*/\1/p' "$T/$vol.a")
	[ -n "$addr" ] || fail "no address in: $(cat "$T/$vol.a")"

	step "$vol: lock ls names A; a second client is refused, naming A"
	out=$(cephvol lock ls "$vol")
	echo "$out"
	assert_contains "$out" "pid:     $a"
	assert_contains "$out" "address: $addr"
	assert_contains "$out" "host:    $(hostname)"
	cephvol --json lock ls "$vol" | jq -e --arg a "$addr" --argjson p "$a" \
	    '.lease.addr == $a and .lease.pid == $p and .lease.expired == false' >/dev/null ||
	    fail "lock ls --json: $(cephvol --json lock ls "$vol")"
	status=0; "$holder" -n 1 "$vol" X > "$T/$vol.x" 2>&1 || status=$?
	assert_eq "$status" 3 "exit status of a second holder"
	assert_contains "$(cat "$T/$vol.x")" "busy: volume $vol is in use by client.admin"
	assert_contains "$(cat "$T/$vol.x")" "$addr) on $(hostname), pid $a, since "

	step "$vol: A is stopped past its lease; B takes over and writes"
	kill -STOP "$a"
	mark=$(wc -l < "$T/$vol.a")
	sleep $((LEASE + 1))
	assert_contains "$(cephvol lock ls "$vol")" "(expired)"
	"$holder" -n 3 "$vol" B > "$T/$vol.b" 2>&1 || fail "B: $(cat "$T/$vol.b")"
	cat "$T/$vol.b"
	assert_contains "$(cat "$T/$vol.b")" "took-over client="
	assert_contains "$(cat "$T/$vol.b")" "addr=$addr host=$(hostname) pid=$a"
	assert_contains "$(cat "$T/$vol.b")" "write 3 ok"
	ceph osd blocklist ls 2>/dev/null | grep -qF "$addr" || fail "$addr is not blocklisted"

	if [ -n "$unblock" ]; then
		step "$vol: the blocklist entry of A is removed before A resumes"
		ceph osd blocklist rm "$addr" >/dev/null 2>&1
		ceph osd blocklist ls 2>/dev/null | grep -qF "$addr" && fail "$addr is still blocklisted"
	fi

	step "$vol: A resumes; its writes are refused and none reaches the image"
	kill -CONT "$a"
	wait_for 10 grep -q refused "$T/$vol.a"
	sleep 1
	kill "$a"; wait "$a" || true
	check_fenced "$T/$vol.a" "$mark"
	[ -n "$guard" ] || grep -q "lost: " "$T/$vol.a" || fail "A did not report losing its lease"
	[ -z "$unblock" ] || grep -q "lost: Operation canceled" "$T/$vol.a" ||
	    fail "A did not learn from the lease generation that it was taken over"
	check_image "$id" B
}

run_scenario fv
run_scenario fv2 --no-guard
# A writer below the image layer, unguarded: the blocklist alone fences it.
run_scenario fv3 "--no-guard --raw"
# No blocklist left: the generation alone fences A.
run_scenario fv4 unblock

# A stall is not a takeover: A is stopped past its lease and nobody asks
# for the volume; when A resumes, its lease is taken back (the generation
# did not move) and its writes go on without one error.
vol=fv5
cephvol volume create "$vol" -o size=64M -o objectsize=1M >/dev/null
id=$(cephvol --json volume inspect "$vol" | jq -r .id)
step "$vol: A writes, is stopped past its lease, resumes with nobody in between"
start_holder a "$T/$vol.a" "$vol" A
wait_for 15 grep -q "write 2 ok" "$T/$vol.a"
kill -STOP "$a"
mark=$(wc -l < "$T/$vol.a")
sleep $((LEASE * 2 + 1))
assert_contains "$(cephvol lock ls "$vol")" "(expired)"
kill -CONT "$a"
oks() { grep -c ' ok$' "$T/$vol.a"; }
n0=$(oks)
more_oks() { [ "$(oks)" -ge $((n0 + 5)) ]; }
wait_for 15 more_oks
kill "$a"; wait "$a" || true
after=$(tail -n +"$((mark + 1))" "$T/$vol.a")
echo "--- after the stop:"; echo "$after"
! grep -q 'refused\|lost' <<<"$after" || fail "a stall without a takeover cost A its lease"
out=$(cephvol lock ls "$vol")
assert_not_contains "$out" "pid:     $a"
check_image "$id" A

# lock break of a holder whose lock has already expired (stopped past its
# lease): it must succeed and move the generation, so that A, resumed after
# its blocklist entry is gone, still never writes again.
vol=fv6
cephvol volume create "$vol" -o size=64M -o objectsize=1M >/dev/null
id=$(cephvol --json volume inspect "$vol" | jq -r .id)
step "$vol: A is stopped past its lease; lock break succeeds on the expired holder"
start_holder a "$T/$vol.a" "$vol" A
wait_for 15 grep -q "write 2 ok" "$T/$vol.a"
addr=$(sed -n 's/.*acquired .* addr=\([^ ]*\).*/\1/p' "$T/$vol.a")
kill -STOP "$a"
mark=$(wc -l < "$T/$vol.a")
sleep $((LEASE + 1))
assert_contains "$(cephvol lock ls "$vol")" "(expired)"
cephvol --yes lock break "$vol" || fail "lock break of an expired holder failed"
ceph osd blocklist rm "$addr" >/dev/null 2>&1
kill -CONT "$a"
wait_for 10 grep -q refused "$T/$vol.a"
kill "$a"; wait "$a" || true
check_fenced "$T/$vol.a" "$mark"
grep -q "lost: Operation canceled" "$T/$vol.a" || fail "A was not lost by the moved generation"
check_image "$id" A
