#!/usr/bin/env bash
# trust_dead_helper.sh - what cephvold says about a mount whose
# cephvol-mount died (SIGKILL): Get and Path stop reporting a Mountpoint
# and mounts_here at once and say the mount is broken; a new Mount repairs
# it, and while the dead helper's lease still runs it fails saying that
# its holder is a process of this host that is gone, and when the lease
# expires; after that the Mount works and the data is there.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq mkfs.ext4
ceph_env
test_pool
# a lease long enough to see it held by the dead helper
write_config log.level=info volume.lease_seconds=15
start_cephvold
quietly() { "$@" >/dev/null 2>&1 || true; }

step "mount dv, write, SIGKILL its cephvol-mount"
api VolumeDriver.Create '{"Name":"dv","Opts":{"size":"256M"}}' >/dev/null
mp=$(api VolumeDriver.Mount '{"Name":"dv","ID":"m1"}' | jq -r .Mountpoint)
cleanup_fn quietly api VolumeDriver.Unmount '{"Name":"dv","ID":"m1"}'
cleanup_fn quietly api VolumeDriver.Unmount '{"Name":"dv","ID":"m2"}'
echo kept > "$mp/f"
sync -f "$mp/f"
pid=$(head -n 1 "$(state_of dv).pid")
kill -KILL "$pid"
gone() { ! kill -0 "$pid" 2>/dev/null; }
wait_for 10 gone

step "Get and Path no longer report the mount"
out=$(api VolumeDriver.Get '{"Name":"dv"}')
echo "$out" | jq -c .
echo "$out" | jq -e '(.Volume.Mountpoint // "") == "" and .Volume.Status.mounts_here == 0 and
    (.Volume.Status.mount_broken | length > 0)' >/dev/null || fail "Get: $out"
assert_eq "$(api VolumeDriver.Path '{"Name":"dv"}' | jq -r .Mountpoint)" "" "Path's Mountpoint"

step "a new Mount while the dead helper's lease runs says so"
out=$(api VolumeDriver.Mount '{"Name":"dv","ID":"m2"}' || true)
echo "$out"
if [ "$(echo "$out" | jq -r .Err)" != "" ]; then
	assert_contains "$out" "pid $pid"
	assert_contains "$out" "that process is gone from this host, and its lease expires by itself at"
	step "after the lease expires, the Mount works and the data is there"
	mounted() { api VolumeDriver.Mount '{"Name":"dv","ID":"m2"}' | jq -e '.Err == ""' >/dev/null; }
	wait_for 40 mounted
fi
mp=$(api VolumeDriver.Path '{"Name":"dv"}' | jq -r .Mountpoint)
assert_eq "$(cat "$mp/f")" kept "data after the repair"
api VolumeDriver.Unmount '{"Name":"dv","ID":"m2"}' >/dev/null
api VolumeDriver.Unmount '{"Name":"dv","ID":"m1"}' >/dev/null
