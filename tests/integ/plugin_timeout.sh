#!/usr/bin/env bash
# plugin_timeout.sh - bounded time and per-volume serialisation, with a
# cephvol-mount that is slow to start (a wrapper that sleeps first):
# a Mount past plugin.timeout fails with an Err naming the step; a second
# Mount of the same volume waits its turn and says so; a Get of another
# volume is answered meanwhile; afterwards nothing is left mounted,
# referenced or leased, and a normal Mount works. A Mount whose caller
# hangs up before it completes is undone too.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires curl jq

ceph_env
test_pool
write_config volume.default_size=64M plugin.timeout=2
echo 3 > "$T/delay"
cat > "$T/slow-mount" <<EOS
#!/bin/sh
sleep "\$(cat "$T/delay")"
exec "$CEPHVOL_BIN/cephvol-mount" "\$@"
EOS
chmod +x "$T/slow-mount"
export CEPHVOL_MOUNT_HELPER=$T/slow-mount
start_cephvold

api VolumeDriver.Create '{"Name":"v1","Opts":null}' >/dev/null
api VolumeDriver.Create '{"Name":"v2","Opts":null}' >/dev/null

post() {	# post ENDPOINT BODY OUTFILE: in the background
	curl -sS -m 30 --unix-socket "$PLUGIN_SOCK" -X POST -H 'Content-Type:' \
	    --data-binary "$2" -o "$3" "http://plugin/$1" &
}

step "a slow Mount, a second Mount of the same volume, a Get of another"
t0=$(date +%s%N)
post VolumeDriver.Mount '{"Name":"v1","ID":"a"}' "$T/m1"; p1=$!
sleep 0.3
post VolumeDriver.Mount '{"Name":"v1","ID":"b"}' "$T/m2"; p2=$!
sleep 0.3
t1=$(date +%s%N)
api VolumeDriver.Get '{"Name":"v2"}' | jq -e '.Volume.Name == "v2"' >/dev/null
get_ms=$(( ($(date +%s%N) - t1) / 1000000 ))
[ "$get_ms" -lt 1000 ] || fail "Get of v2 took ${get_ms} ms while v1 was mounting"
wait "$p1"; wait "$p2"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "Mount 1: $(cat "$T/m1")" >&2
echo "Mount 2: $(cat "$T/m2")" >&2
echo "Get of v2 during the slow Mount: ${get_ms} ms; both Mounts answered after ${ms} ms" >&2
jq -e '.Err | test("VolumeDriver.Mount of volume v1 timed out after 2s")' "$T/m1" >/dev/null ||
    fail "first Mount: $(cat "$T/m1")"
jq -e '.Err | test("timed out after 2s while waiting for an earlier request on the same volume")' "$T/m2" >/dev/null ||
    fail "second Mount: $(cat "$T/m2")"
[ "$ms" -lt 4500 ] || fail "the Mounts took ${ms} ms with plugin.timeout=2"
grep -q "while attaching" "$T/m1" || fail "first Mount does not name the step: $(cat "$T/m1")"

step "afterwards: the late mount is undone; nothing mounted, referenced or leased"
wait_for 30 grep -q "Mount volume=v1: the request timed out meanwhile: detaching again" "$T/cephvold.log"
wait_for 30 sh -c "[ \$(grep -c 'VolumeDriver.Mount volume=v1 finished after its caller timed out' '$T/cephvold.log') = 2 ]"
wait_for 30 sh -c "! pgrep -f '$T/[s]low-mount' >/dev/null && ! pgrep -f '[c]ephvol-mount.*$T/' >/dev/null"
if mountpoint -q "$T/mnt/v1"; then fail "v1 mounted after its Mount timed out"; fi
jq -e '.volumes == {}' "$T/state/mounts.json" >/dev/null ||
    fail "references left: $(cat "$T/state/mounts.json")"
api VolumeDriver.Get '{"Name":"v1"}' | jq -e '.Volume.Status.lease == "none" and
    (.Volume.Mountpoint // "") == ""' >/dev/null || fail "v1 after: $(api VolumeDriver.Get '{"Name":"v1"}')"
curl -s --unix-socket "$PLUGIN_SOCK" -X POST http://plugin/Plugin.Activate >/dev/null

step "a helper in time: Mount and Unmount work"
echo 0 > "$T/delay"
api VolumeDriver.Mount '{"Name":"v1","ID":"c"}' | jq -e '.Err == ""' >/dev/null
mountpoint -q "$T/mnt/v1" || fail "not mounted"
api VolumeDriver.Unmount '{"Name":"v1","ID":"c"}' | jq -e '.Err == ""' >/dev/null
if mountpoint -q "$T/mnt/v1"; then fail "still mounted"; fi

step "a caller that hangs up: its Mount is undone when it completes"
echo 3 > "$T/delay"
stop_cephvold
start_cephvold -o plugin.timeout=60
curl -sS -m 1 --unix-socket "$PLUGIN_SOCK" -X POST -H 'Content-Type:' \
    --data-binary '{"Name":"v1","ID":"gone"}' "http://plugin/VolumeDriver.Mount" >/dev/null 2>&1 || true
wait_for 30 grep -q "VolumeDriver.Mount volume=v1: the caller hung up" "$T/cephvold.log"
wait_for 30 grep -q "Mount volume=v1: the request timed out meanwhile: detaching again" "$T/cephvold.log"
wait_for 30 sh -c "! pgrep -f '[c]ephvol-mount.*$T/' >/dev/null"
wait_for 30 jq -e '.volumes == {}' "$T/state/mounts.json"
if mountpoint -q "$T/mnt/v1"; then fail "v1 mounted after its caller hung up"; fi
stop_cephvold
assert_eq "$CEPHVOLD_STATUS" 0 "cephvold exit status"
