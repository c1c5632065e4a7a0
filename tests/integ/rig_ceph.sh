#!/usr/bin/env bash
# rig_ceph.sh - tests/lib/ceph.sh itself: a second cluster (memstore)
# starts next to the runner's on its own port, takes a write, and `stop`
# ends exactly its own daemons and removes its directory, leaving the
# runner's cluster untouched.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires ceph-mon ceph-osd ceph rados

ceph_env
main_conf=$CEPHVOL_TEST_CONF
lib=$CEPHVOL_SRC/tests/lib/ceph.sh

step "start a memstore cluster in $T/c2"
cleanup_fn "$lib" stop "$T/c2"
t0=$(date +%s.%N)
exports=$("$lib" start "$T/c2" --memstore)
echo "started in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s: $exports"
assert_contains "$exports" "export CEPH_CONF=$T/c2/ceph.conf CEPHVOL_TEST_CONF=$T/c2/ceph.conf CEPHVOL_TEST_KEYRING=$T/c2/keyring.admin"
"$lib" status "$T/c2" || fail "ceph.sh status says the new cluster is not running"
grep -q 'osd objectstore = memstore' "$T/c2/ceph.conf" || fail "not a memstore cluster"
read -r mon_pid _ < <(grep mon "$T/c2/pids")
read -r osd_pid _ < <(grep osd "$T/c2/pids")
echo "daemons: mon $mon_pid, osd $osd_pid"

step "it is a different cluster, on a different port, and takes a write"
c2() { timeout 60 ceph --conf "$T/c2/ceph.conf" "$@"; }
[ "$(c2 fsid)" != "$(ceph fsid)" ] || fail "same fsid as the runner's cluster"
[ "$(grep '^mon host' "$T/c2/ceph.conf")" != "$(grep '^mon host' "$main_conf")" ] ||
    fail "same mon address as the runner's cluster"
c2 osd pool create p 8 >/dev/null 2>&1
echo data > "$T/obj"
timeout 60 rados --conf "$T/c2/ceph.conf" -p p put o "$T/obj"
timeout 60 rados --conf "$T/c2/ceph.conf" -p p get o "$T/back"
cmp "$T/obj" "$T/back"

step "starting again in the same directory is refused"
expect_fail "$lib" start "$T/c2"
assert_contains "$ERR" "already holds a cluster"

step "stop ends exactly its daemons and removes the directory"
"$lib" stop "$T/c2"
[ ! -e "$T/c2" ] || fail "$T/c2 still exists"
for p in $mon_pid $osd_pid; do
	st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
	[ "$st" = Z ] || fail "pid $p still running after stop"
done
"$lib" stop "$T/c2"	# stopping twice is harmless
ceph osd dump | grep -q "^osd\.0 up" || fail "the runner's cluster lost its OSD after the stop"
pool=cvt-rig-ceph-$RANDOM$RANDOM
cleanup_fn _pool_delete "$pool"
out=$(cephvol -o ceph.conf="$main_conf" -o ceph.keyring="$CEPHVOL_TEST_KEYRING" \
    -o ceph.pool="$pool" status --create-pool 2>&1) || fail "runner's cluster: $out"
assert_contains "$out" "object write and read back: ok"
