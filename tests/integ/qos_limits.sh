#!/usr/bin/env bash
# qos_limits.sh - per-volume I/O limits, measured with fio on a real mount
# (loose bounds here; the bench has tight ones): iops_limit=500 set at
# create holds 4K random writes at qd16 near 500; `volume set` changes it
# live (200), and bps_limit=50M holds 1 MiB sequential writes near 50
# MiB/s; `none` lifts a limit; bad input is refused and changes nothing.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires fio jq
ceph_env
test_pool
write_config volume.lease_seconds=5
M=$T/m
unmount_quiet() { cephvol volume unmount "$1" >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$M"
# fio_rate RW BS SECONDS: IOPS (randwrite) or KiB/s (write) of a direct job
fio_rate() {
	fio --name=q --filename="$M/f" --size=64M --rw="$1" --bs="$2" --iodepth=16 \
	    --ioengine=libaio --direct=1 --time_based --runtime="$3" --ramp_time=1 \
	    --output-format=json > "$T/fio.json" 2> "$T/fio.err" ||
	    fail "fio: $(cat "$T/fio.err")"
	if [ "$1" = randwrite ]; then jq '.jobs[0].write.iops | floor' "$T/fio.json"
	else jq '.jobs[0].write.bw' "$T/fio.json"; fi
}
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] || fail "$4: $1 is not within $2..$3"; }
limits() { cephvol --json volume inspect q | jq -c '.qos // {}'; }

step "bad input: a clear error, nothing made or changed"
expect_fail cephvol volume create q -o iops_limit=0
assert_contains "$ERR" "bad value '0' for iops_limit"
expect_fail cephvol volume create q -o iops_limit=-5
expect_fail cephvol volume create q -o bps_limit=fast
assert_contains "$ERR" "bad value 'fast' for bps_limit"
expect_fail cephvol volume create q -o type=secrets -o secrets=x -o iops_limit=5
assert_contains "$ERR" "option *_limit does not apply to type=secrets volumes"
expect_fail cephvol volume inspect q

step "iops_limit=500 from the start: 4K random writes at qd16"
cephvol volume create q -o size=256M -o iops_limit=500 >/dev/null
assert_eq "$(limits)" '{"iops_limit":500}' "limits"
cephvol volume mount q "$M"
dd if=/dev/zero of="$M/f" bs=1M count=64 oflag=direct status=none
iops=$(fio_rate randwrite 4k 6)
echo "iops_limit=500: $iops IOPS"
between "$iops" 350 650 "IOPS under iops_limit=500"

step "changed live: iops_limit=200"
out=$(cephvol volume set q iops_limit=200)
assert_contains "$out" 'q: limits {"iops_limit":200}, applied by client.'
iops=$(fio_rate randwrite 4k 6)
echo "iops_limit=200: $iops IOPS"
between "$iops" 140 260 "IOPS under iops_limit=200"

step "bps_limit=50M instead: 1 MiB sequential writes"
cephvol volume set q iops_limit=none bps_limit=50M >/dev/null
assert_eq "$(limits)" '{"bps_limit":52428800}' "limits"
kib=$(fio_rate write 1M 6)
echo "bps_limit=50M: $((kib / 1024)) MiB/s"
between "$((kib / 1024))" 35 65 "MiB/s under bps_limit=50M"

step "bad changes are refused whole"
expect_fail cephvol volume set q bps_limit=none iops_limit=0
assert_contains "$ERR" "bad value '0'"
expect_fail cephvol volume set q colour=blue
assert_contains "$ERR" "unknown key 'colour'"
expect_fail cephvol volume set nosuch iops_limit=5
assert_contains "$ERR" "no such volume: nosuch"
assert_eq "$(limits)" '{"bps_limit":52428800}' "limits after refused changes"

step "none lifts it"
cephvol volume set q bps_limit=none >/dev/null
assert_eq "$(limits)" '{}' "limits"
kib=$(fio_rate write 1M 4)
echo "no limit: $((kib / 1024)) MiB/s"
[ "$((kib / 1024))" -gt 65 ] || fail "still limited without a limit: $((kib / 1024)) MiB/s"
cephvol volume unmount "$M"
cephvol volume rm q
