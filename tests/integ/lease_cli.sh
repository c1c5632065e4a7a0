#!/usr/bin/env bash
# lease_cli.sh - `cephvol lock ls|break` and `volume rm` against a live
# lease holder (tests/c/lease_holder.c): rm is refused naming the holder;
# break refuses without --force and says what it would blocklist; with
# --force it blocklists, breaks, and the holder stops writing at once; a
# new holder then gets the volume. rm of a volume whose holder died
# (lease expired) fences it and goes on.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires jq rados

holder=$CEPHVOL_BUILD/tests/lease_holder
[ -x "$holder" ] || fail "no $holder (make builds it)"
ceph_env
test_pool
awk '{ print } /^\[client\]/ { print "admin socket ="; print "log file =" }' \
    "$CEPH_CONF" > "$T/ceph.conf"
write_config ceph.conf="$T/ceph.conf" volume.lease_seconds=3 log.level=info

stop_holder() { kill -CONT "$1" 2>/dev/null; kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }

cephvol volume create lv -o size=16M -o objectsize=1M >/dev/null

step "no lease: lock ls says so, break has nothing to do"
assert_contains "$(cephvol lock ls lv)" "volume lv: no lease held"
assert_eq "$(cephvol --json lock ls lv | jq -c .lease)" null "lease in JSON"
assert_contains "$(cephvol lock break lv)" "no lease held; nothing to break"
expect_fail cephvol lock ls nosuch
assert_contains "$ERR" "no such volume: nosuch"
status=0; cephvol lock 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of lock without a verb"
status=0; cephvol lock frob lv 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of an unknown lock verb"

step "a holder writes; rm is refused naming it"
"$holder" -i 100 lv A > "$T/a" 2>&1 &
a=$!
cleanup_fn stop_holder $a
wait_for 15 grep -q "write 1 ok" "$T/a"
addr=$(sed -n 's/.*acquired .* addr=\([^ ]*\).*/\1/p' "$T/a")
expect_fail cephvol volume rm lv
assert_contains "$ERR" "cannot remove volume lv: volume lv is in use by client.admin"
assert_contains "$ERR" "$addr) on $(hostname), pid $a"
cephvol volume inspect lv | grep -q "lease:       client.admin" || fail "inspect does not show the lease"
cephvol --json volume inspect lv | jq -e --arg a "$addr" '.lease.addr == $a' >/dev/null ||
    fail "inspect --json lease"

step "break without --force refuses and says what it would blocklist"
expect_fail cephvol lock break lv
assert_contains "$ERR" "refusing to break the lease of volume lv without --force"
assert_contains "$ERR" "blocklist address $addr"
assert_contains "$ERR" "pid $a"
grep -q "write .* refused" "$T/a" && fail "holder refused writes before the break"

step "break --force blocklists and breaks; the holder stops writing"
out=$(cephvol lock break lv --force)
echo "$out"
assert_contains "$out" "blocklisted $addr and broke the lease of client.admin"
ceph osd blocklist ls 2>/dev/null | grep -qF "$addr" || fail "$addr is not blocklisted"
wait_for 10 grep -q "lost: " "$T/a"
wait_for 5 grep -q "refused" "$T/a"
n=$(wc -l < "$T/a"); sleep 0.5
tail -n +"$n" "$T/a" | grep -q ' ok$' && fail "holder wrote after losing its lease"
assert_contains "$(cephvol lock ls lv)" "no lease held"

step "a new holder gets the volume at once"
"$holder" -n 2 lv C > "$T/c" 2>&1 || fail "new holder: $(cat "$T/c")"
assert_contains "$(cat "$T/c")" "write 2 ok"
stop_holder $a

step "rm of a volume whose holder died (lease expired) fences it and removes"
"$holder" lv D > "$T/d" 2>&1 &
d=$!
cleanup_fn stop_holder $d
wait_for 15 grep -q "write 1 ok" "$T/d"
daddr=$(sed -n 's/.*acquired .* addr=\([^ ]*\).*/\1/p' "$T/d")
kill -STOP $d
sleep 4
cephvol volume rm lv
ceph osd blocklist ls 2>/dev/null | grep -qF "$daddr" || fail "$daddr was not blocklisted by rm"
expect_fail cephvol volume inspect lv
[ -z "$(rados -p "$POOL" ls | grep -v "^cephvol.catalog$")" ] || fail "objects left: $(rados -p "$POOL" ls)"
stop_holder $d
