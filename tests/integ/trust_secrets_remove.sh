#!/usr/bin/env bash
# trust_secrets_remove.sh - a secrets volume in use cannot be removed from
# any host, and a host never serves grants its volume no longer makes.
# Host A (cephvold) mounts secrets volume sv granting db; removing sv is
# refused on host B and on A itself, naming A. B then breaks A's mount
# registration by force, removes sv and creates sv again granting other:
# A's tree withdraws db within seconds, a new Mount of sv on A is refused
# (the volume was created again) instead of reusing the old tree, and once
# A's last reference goes a fresh Mount serves the new grant, other.
# timeout: 180
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq
ceph_env
test_pool
write_config log.level=info volume.lease_seconds=3
. "$(dirname "$0")/../lib/secretsfs.sh"
second_host b
b() { CEPHVOL_CONF=$T/b.conf cephvol "$@"; }
quietly() { "$@" >/dev/null 2>&1 || true; }

step "secrets db and other; secrets volume sv granting db"
cephvol key init >/dev/null
mk_secret db "value-db" 0 0 0400
mk_secret other "value-other" 0 0 0400
cephvol volume create sv -o type=secrets -o secrets=db >/dev/null

step "host A mounts sv through cephvold"
start_cephvold
mp=$(api VolumeDriver.Mount '{"Name":"sv","ID":"m1"}' | jq -r .Mountpoint)
[ -n "$mp" ] && [ "$mp" != null ] || fail "Mount gave no mountpoint"
cleanup_fn quietly api VolumeDriver.Unmount '{"Name":"sv","ID":"m1"}'
assert_eq "$(ls "$mp" | tr '\n' ' ')" "db " "A's tree"
assert_eq "$(cat "$mp/db")" "value-db" "db through A"

step "removal is refused on host B and on host A, naming A"
expect_fail b volume rm sv
assert_contains "$ERR" "volume sv is mounted by client.admin"
assert_contains "$ERR" "on $(hostname), pid "
expect_fail cephvol volume rm sv
assert_contains "$ERR" "is mounted by"
assert_contains "$(api VolumeDriver.Remove '{"Name":"sv"}' || true)" "mounted on this host"
assert_eq "$(ls "$mp" | tr '\n' ' ')" "db " "A's tree after the refusals"

step "B breaks A's registration by force, removes sv, creates it granting other"
b --yes lock break sv >/dev/null
b volume rm sv >/dev/null
b volume create sv -o type=secrets -o secrets=other >/dev/null
gone() { [ ! -e "$mp/db" ] && [ "$(ls -A "$mp" | wc -l)" = 0 ]; }
wait_for 20 gone
step "A's tree withdrew db: $(ls -A "$mp" | wc -l) files"
! cat "$mp/db" 2>/dev/null || fail "db still readable on A"

step "a new Mount on A is refused instead of reusing the old tree"
out=$(api VolumeDriver.Mount '{"Name":"sv","ID":"m2"}' || true)
echo "$out"
assert_contains "$out" "created again"
[ "$(echo "$out" | jq -r '.Mountpoint // empty')" = "" ] || fail "Mount handed out a mountpoint: $out"

step "after A's last Unmount, a fresh Mount serves the new grant"
api VolumeDriver.Unmount '{"Name":"sv","ID":"m1"}' >/dev/null
! grep -qF " $mp " /proc/self/mounts || fail "the old tree is still mounted"
mp=$(api VolumeDriver.Mount '{"Name":"sv","ID":"m3"}' | jq -r .Mountpoint)
assert_eq "$(ls "$mp" | tr '\n' ' ')" "other " "A's new tree"
assert_eq "$(cat "$mp/other")" "value-other" "other through A"
api VolumeDriver.Unmount '{"Name":"sv","ID":"m3"}' >/dev/null
b volume rm sv >/dev/null
