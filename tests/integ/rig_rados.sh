#!/usr/bin/env bash
# rig_rados.sh - the test rig's Ceph works with cephvol's own RADOS code:
# a fresh pool per test, `cephvol status` connects, writes, reads back and
# removes a probe object, and names the cluster's fsid and the pool;
# --create-pool makes a missing pool.
# timeout: 90
. "$(dirname "$0")/../functions.sh"
requires ceph rados jq

ceph_env
test_pool
write_config
fsid=$(ceph fsid)

step "cephvol status on pool $POOL"
out=$(cephvol status)
echo "$out"
assert_contains "$out" "cluster fsid: $fsid"
assert_contains "$out" "pool:         $POOL"
assert_contains "$out" "object write and read back: ok"

step "cephvol --json status"
cephvol --json status | tee "$T/status.json"
jq -e --arg f "$fsid" --arg p "$POOL" '.fsid == $f and .pool == $p and .write_read_ok' \
    "$T/status.json" >/dev/null || fail "status --json does not name fsid $fsid and pool $POOL"

step "the probe object is gone again"
[ -z "$(rados -p "$POOL" ls)" ] || fail "objects left in $POOL: $(rados -p "$POOL" ls)"

step "an object written by the rados CLI is in the same pool"
echo "hello from the rig" > "$T/obj"
rados -p "$POOL" put rig-object "$T/obj"
rados -p "$POOL" get rig-object "$T/back"
cmp "$T/obj" "$T/back"

step "a missing pool is an error; --create-pool creates it"
missing=cvt-missing-$RANDOM$RANDOM
cleanup_fn _pool_delete "$missing"
expect_fail cephvol -o ceph.pool="$missing" status
assert_contains "$ERR" "cannot open pool $missing"
assert_contains "$ERR" "pool does not exist"
out=$(cephvol -o ceph.pool="$missing" status --create-pool)
assert_contains "$out" "pool:         $missing"
ceph osd pool ls | grep -qx "$missing" || fail "pool $missing was not created"
