#!/usr/bin/env bash
# trust_long_names.sh - the longest valid names (251 and 255 bytes) work
# through a whole life cycle: Create, a first Mount, a second Mount that
# must reuse the first (not find it "stale" and unmount it under the
# running container), data intact, both Unmounts, Remove; and by hand with
# `cephvol volume mount` / `unmount DIR`. Host state must be named so that
# no valid name can break it.
# timeout: 180
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq mkfs.ext4
ceph_env
test_pool
write_config log.level=info volume.default_size=64M
start_cephvold
quietly() { "$@" >/dev/null 2>&1 || true; }

long() { printf 'v%*s' "$(($1 - 1))" '' | tr ' ' 'x'; }
for len in 251 255; do
	n=$(long "$len")
	step "$len-byte name: Create, Mount twice, data intact, Unmount twice, Remove"
	api VolumeDriver.Create "{\"Name\":\"$n\"}" >/dev/null
	mp=$(api VolumeDriver.Mount "{\"Name\":\"$n\",\"ID\":\"m1\"}" | jq -r .Mountpoint)
	cleanup_fn quietly api VolumeDriver.Unmount "{\"Name\":\"$n\",\"ID\":\"m1\"}"
	echo "data-$len" > "$mp/f"
	sync -f "$mp/f"
	mp2=$(api VolumeDriver.Mount "{\"Name\":\"$n\",\"ID\":\"m2\"}" | jq -r .Mountpoint)
	assert_eq "$mp2" "$mp" "second Mount's mountpoint"
	grep -qF " $mp ext4 " /proc/self/mounts || fail "the second Mount unmounted the first"
	assert_eq "$(cat "$mp/f")" "data-$len" "data after the second Mount"
	grep -q "is stale" "$T/cephvold.log" && fail "cephvold found its own mount stale"
	api VolumeDriver.Get "{\"Name\":\"$n\"}" | jq -e '.Volume.Status.mounts_here == 2' >/dev/null ||
	    fail "Get: $(api VolumeDriver.Get "{\"Name\":\"$n\"}")"
	api VolumeDriver.Unmount "{\"Name\":\"$n\",\"ID\":\"m2\"}" >/dev/null
	assert_eq "$(cat "$mp/f")" "data-$len" "data after the first Unmount"
	api VolumeDriver.Unmount "{\"Name\":\"$n\",\"ID\":\"m1\"}" >/dev/null
	! grep -qF " $mp " /proc/self/mounts || fail "still mounted after the last Unmount"
	api VolumeDriver.Remove "{\"Name\":\"$n\"}" >/dev/null

	step "$len-byte name by hand: cephvol volume mount, unmount DIR"
	cephvol volume create "$n" >/dev/null
	cephvol volume mount "$n" "$T/m$len"
	cleanup_fn quietly cephvol volume unmount "$T/m$len"
	echo hand > "$T/m$len/f"
	cephvol volume unmount "$T/m$len"
	cephvol volume rm "$n" >/dev/null
done
