#!/usr/bin/env bash
# docker_hostmove.sh - one volume moving between two hosts: two cephvold
# instances against one cluster, each with its own cephx client, state
# directory, mount root and socket. Host A runs a real dockerd; host B is
# driven over its socket exactly as dockerd would (Mount/Unmount with an
# ID). While A's container holds the volume, B's Mount fails and names A's
# client; after A's container stopped, B reads what A wrote, and A reads
# back what B wrote.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq rados

ceph_env
test_pool
del_client() { ceph auth del "$1" >/dev/null 2>&1 || true; }
for h in hosta hostb; do
	ceph auth get-or-create "client.$h" mon 'allow *' osd 'allow *' -o "$T/keyring.$h" >/dev/null
	cleanup_fn del_client "client.$h"
done

# host_config NAME: a config of its own for host NAME; sets <NAME>_CONF etc.
host_config() {
	local h=$1
	shift
	mkdir -p "$T/$h"
	write_config volume.default_size=256M ceph.client=client.$h ceph.keyring=$T/keyring.$h \
	    plugin.socket=$T/$h.sock plugin.state_dir=$T/$h/state plugin.mount_root=$T/$h/mnt "$@"
	cp "$CEPHVOL_CONF" "$T/$h.conf"
}

B_PORT=$(free_port) || fail "no free port for B's metrics endpoint"
host_config hostb metrics.listen=127.0.0.1:$B_PORT
B_SOCK=$PLUGIN_SOCK B_CONF=$T/hostb.conf B_DRIVER=$DRIVER
export CEPHVOL_CONF=$B_CONF
start_cephvold
B_PID=$CEPHVOLD_PID CEPHVOLD_PID=

host_config hosta
export CEPHVOL_CONF=$T/hosta.conf
start_cephvold
A_SOCK=$PLUGIN_SOCK
start_dockerd

bapi() { PLUGIN_SOCK=$B_SOCK api "$@"; }

step "host A: create, and a container holds the volume"
docker volume create -d "$DRIVER" -o size=512M mv >/dev/null
docker run -d --name ca --pull never -v mv:/data localhost/busybox:test sh -c \
    'echo from-a > /data/f && sync && sleep 1000' >/dev/null
wait_for 30 test -s "$T/hosta/mnt/mv/f"

step "host B sees the volume (global scope) and who holds it"
bapi VolumeDriver.Get '{"Name":"mv"}' | jq -e '.Volume.Status.lease | test("client.hosta")' >/dev/null ||
    fail "B's Get: $(bapi VolumeDriver.Get '{"Name":"mv"}')"

step "host B cannot mount it while A holds it; the error names A"
out=$(bapi VolumeDriver.Mount '{"Name":"mv","ID":"b1"}' | jq -r .Err)
assert_contains "$out" "client.hosta"
echo "B's Mount while A holds mv: $out" >&2
if mountpoint -q "$T/hostb/mnt/mv"; then fail "B mounted it anyway"; fi
jq -e '.volumes == {}' "$T/hostb/state/mounts.json" >/dev/null ||
    fail "B recorded a reference: $(cat "$T/hostb/state/mounts.json")"
# the refused Mount left nothing on B
[ -z "$(losetup -n -l -O BACK-FILE | grep "$T/hostb/" || true)" ] || fail "loop left on B"

curl -sf "http://127.0.0.1:$B_PORT/metrics" > "$T/bmetrics" || fail "no metrics from B"
grep -qx 'cephvol_lease_busy_total 1' "$T/bmetrics" || fail "B's metrics: $(grep busy "$T/bmetrics")"
grep -q '^cephvol_requests_total{endpoint="VolumeDriver.Mount",result="error"} 1$' "$T/bmetrics"

step "A's container stops; B mounts and reads A's data"
docker rm -f ca >/dev/null
wait_for 30 sh -c "! mountpoint -q '$T/hosta/mnt/mv'"
t0=$(date +%s%N)
bapi VolumeDriver.Mount '{"Name":"mv","ID":"b1"}' > "$T/bmount"
echo "B's Mount after A let go: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
jq -e '.Err == "" and .Mountpoint == env.T + "/hostb/mnt/mv"' "$T/bmount" >/dev/null ||
    fail "B's Mount: $(cat "$T/bmount")"
assert_eq "$(cat "$T/hostb/mnt/mv/f")" from-a "data written on A, read on B"
bapi VolumeDriver.Get '{"Name":"mv"}' | jq -e '.Volume.Status.lease | test("client.hostb")' >/dev/null
curl -sf "http://127.0.0.1:$B_PORT/metrics" | grep -qx 'cephvol_mounted_volumes 1' || fail "B's mounted gauge"

step "now A cannot mount it; the error names B"
out=$(docker run --rm --pull never -v mv:/data localhost/busybox:test true 2>&1 || true)
assert_contains "$out" "client.hostb"

step "B writes and lets go; A reads it"
echo from-b > "$T/hostb/mnt/mv/g"
sync -f "$T/hostb/mnt/mv/g"
bapi VolumeDriver.Unmount '{"Name":"mv","ID":"b1"}' | jq -e '.Err == ""' >/dev/null
if mountpoint -q "$T/hostb/mnt/mv"; then fail "B still mounted"; fi
got=$(docker run --rm --pull never -v mv:/data localhost/busybox:test cat /data/g /data/f)
assert_eq "$got" "from-b
from-a" "data read back on A"
docker volume inspect mv | jq -e '.[0].Status.lease == "none"' >/dev/null
docker volume rm mv >/dev/null || true
stop_cephvold
assert_eq "$CEPHVOLD_STATUS" 0 "cephvold A exit status"
_stop_child "$B_PID" cephvold
assert_eq "$_CHILD_STATUS" 0 "cephvold B exit status"
exit 0
