#!/usr/bin/env bash
# plugin_api.sh - cephvold's VolumeDriver protocol against a real Ceph, the
# way dockerd 20.10 talks to it (no Content-Type, "\n" after the body,
# "Opts": null): Activate, Capabilities, idempotent Create, a difference
# named, Get/List with Status (size, fs, object size, lease), Path,
# Unmount of an unknown ID, Remove; parallel requests; metrics; options
# (--check-config, --dump-config, -o); bounded time against a dead cluster.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires curl jq rados

ceph_env
test_pool
port=$(free_port) || fail "no free port for the metrics endpoint"
write_config volume.default_size=64M metrics.listen=127.0.0.1:$port

step "command line: --check-config, --dump-config, -o, usage"
"$CEPHVOL_BIN/cephvold" -c "$CEPHVOL_CONF" --check-config | grep -q "configuration ok"
"$CEPHVOL_BIN/cephvold" -c "$CEPHVOL_CONF" -o plugin.timeout=7 --dump-config > "$T/dump"
grep -Eq '^timeout = 7' "$T/dump" || fail "--dump-config does not show the -o override"
expect_fail "$CEPHVOL_BIN/cephvold" -c "$CEPHVOL_CONF" -o plugin.timeout=zero --check-config
assert_contains "$ERR" "timeout"
status=0; "$CEPHVOL_BIN/cephvold" --bogus 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of a usage error"

start_cephvold

step "Activate and Capabilities"
api Plugin.Activate | jq -e '.Implements == ["VolumeDriver"]' >/dev/null
api VolumeDriver.Capabilities | jq -e '.Capabilities.Scope == "global"' >/dev/null

step "Create is idempotent; Opts null means defaults"
api VolumeDriver.Create '{"Name":"v1","Opts":{"size":"1G","fs":"xfs"}}' | jq -e '.Err == ""' >/dev/null
api VolumeDriver.Create '{"Name":"v1","Opts":{"size":"1G","fs":"xfs"}}' | jq -e '.Err == ""' >/dev/null
api VolumeDriver.Create '{"Name":"v1","Opts":null}' | jq -e '.Err == ""' >/dev/null
out=$(api VolumeDriver.Create '{"Name":"v1","Opts":{"size":"2G"}}' | jq -r .Err)
assert_contains "$out" "already exists with different options"
assert_contains "$out" "size=1G (asked for 2G)"
api VolumeDriver.Create '{"Name":"v2","Opts":null}' | jq -e '.Err == ""' >/dev/null

step "Get shows size, fs, object size, lease; no Mountpoint while not mounted"
api VolumeDriver.Get '{"Name":"v1"}' > "$T/get"
jq -e '.Err == "" and .Volume.Name == "v1" and .Volume.Status.size == "1G" and
    .Volume.Status.fs == "xfs" and .Volume.Status.object_size == "4M" and
    .Volume.Status.lease == "none" and (.Volume.Mountpoint // "") == "" and
    (.Volume.CreatedAt | test("^20[0-9-]+T[0-9:]+Z$"))' "$T/get" >/dev/null ||
    fail "Get: $(cat "$T/get")"
api VolumeDriver.Get '{"Name":"v2"}' | jq -e '.Volume.Status.size == "64M" and .Volume.Status.fs == "ext4"' >/dev/null

step "List has both, with Status"
api VolumeDriver.List > "$T/list"
jq -e '[.Volumes[].Name] | sort == ["v1","v2"]' "$T/list" >/dev/null || fail "List: $(cat "$T/list")"
jq -e '.Volumes[] | select(.Name == "v1") | .Status.size == "1G"' "$T/list" >/dev/null

step "Path of a volume not mounted here is empty; of an unknown one an Err"
api VolumeDriver.Path '{"Name":"v1"}' | jq -e '.Mountpoint == "" and .Err == ""' >/dev/null
api VolumeDriver.Path '{"Name":"nope"}' | jq -e '.Err == "no such volume: nope"' >/dev/null

step "Unmount of an unknown ID is harmless"
api VolumeDriver.Unmount '{"Name":"v1","ID":"0123"}' | jq -e '.Err == ""' >/dev/null

step "a lease held by another client shows in Status"
id=$(jq -r .Volume.Status.id "$T/get")
rados -p "$POOL" lock get "cephvol.header.$id" cephvol.lease --lock-cookie test-holder \
    --lock-duration 60 --lock-type exclusive --lock-description "hostx pid 1" >/dev/null
api VolumeDriver.Get '{"Name":"v1"}' | jq -e '.Volume.Status.lease | test("client\\.")' >/dev/null ||
    fail "lease not shown: $(api VolumeDriver.Get '{"Name":"v1"}')"
out=$(api VolumeDriver.Remove '{"Name":"v1"}' | jq -r .Err)
assert_contains "$out" "cannot remove volume v1"
rados -p "$POOL" lock break "cephvol.header.$id" cephvol.lease \
    "$(rados -p "$POOL" lock info "cephvol.header.$id" cephvol.lease | jq -r '.lockers[0].name')" \
    --lock-cookie test-holder >/dev/null

step "parallel requests: 40 Gets from 8 clients"
seq 1 40 | xargs -P 8 -I{} curl -sS -m 30 --unix-socket "$PLUGIN_SOCK" -X POST -H 'Content-Type:' \
    --data-binary '{"Name":"v2"}' -o "$T/par.{}" http://plugin/VolumeDriver.Get
for i in $(seq 1 40); do
	jq -e '.Volume.Name == "v2"' "$T/par.$i" >/dev/null || fail "parallel Get $i: $(cat "$T/par.$i")"
done

step "metrics"
curl -sf "http://127.0.0.1:$port/metrics" > "$T/metrics" || fail "no metrics on port $port"
grep -Eq '^cephvol_requests_total\{endpoint="VolumeDriver.Get",result="ok"\} [1-9]' "$T/metrics"
grep -Eq '^cephvol_requests_total\{endpoint="VolumeDriver.Create",result="error"\} [1-9]' "$T/metrics"
grep -Eq '^cephvol_request_duration_seconds_count\{endpoint="VolumeDriver.Get"\} [1-9]' "$T/metrics"
grep -q '^cephvol_mounted_volumes 0$' "$T/metrics"

step "state survives SIGKILL and restart (Docker trusts Get and List)"
stop_cephvold KILL
start_cephvold
api VolumeDriver.List | jq -e '[.Volumes[].Name] | sort == ["v1","v2"]' >/dev/null

step "Remove deletes every object"
api VolumeDriver.Remove '{"Name":"v1"}' | jq -e '.Err == ""' >/dev/null
api VolumeDriver.Remove '{"Name":"v2"}' | jq -e '.Err == ""' >/dev/null
api VolumeDriver.Get '{"Name":"v1"}' | jq -e '.Err == "no such volume: v1"' >/dev/null
left=$(rados -p "$POOL" ls | grep -v '^cephvol.catalog$' || true)
[ -z "$left" ] || fail "objects left: $left"
stop_cephvold
assert_eq "$CEPHVOLD_STATUS" 0 "exit status after SIGTERM"

step "bounded time: a dead cluster gives an Err naming what timed out"
cat > "$T/dead.conf" <<EOC
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
mon host = 127.0.0.1:$((port + 1))
EOC
write_config ceph.conf="$T/dead.conf" ceph.timeout=4 plugin.timeout=1
start_cephvold
t0=$(date +%s%N)
out=$(API_TIMEOUT=10 api VolumeDriver.Get '{"Name":"v1"}' | jq -r .Err)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_contains "$out" "timed out after 1s"
assert_contains "$out" "connecting to the Ceph cluster"
[ "$ms" -lt 2500 ] || fail "Get took ${ms} ms with plugin.timeout=1"
# Activate does not need the cluster: still instant
api Plugin.Activate >/dev/null
sleep 4	# let the background connect attempt finish before stopping
stop_cephvold
