#!/usr/bin/env bash
# plugin_managed.sh - cephvol as a Docker managed plugin (make plugin,
# deploy/plugin/), on the test's private dockerd and Ceph cluster:
#  - the bundle is built (deploy/plugin/build.sh) and `docker plugin
#    create` takes it; its settable mounts ceph, config and state are set
#    to directories of this test (a ceph.conf naming the cluster's
#    monitors on 127.0.0.1, the keyring, cephvol.conf, the master key);
#    `docker plugin enable` starts its cephvold;
#  - `docker run --volume-driver=NAME -v data:/data` writes to Ceph
#    (`cephvol volume inspect`: the bytes are allocated in the pool), a
#    second container reads the same bytes back;
#  - a secrets volume serves a secret made with `cephvol secret create` to
#    a container running as its owner;
#  - an xfs volume (mkfs.xfs in the plugin) grows online while a container
#    uses it (`cephvol volume resize` on the host, xfs_growfs in the plugin);
#  - `docker plugin disable` is refused while volumes exist;
#  - dockerd restarts (SIGTERM) under a running container (restart
#    always): it is stopped and unmounted before the plugin, the plugin
#    and the container come back, the container writes on where it left;
#    dockerd restarts with --live-restore: plugin, mount and container
#    stay up, the container writes on while dockerd is down;
#  - the plugin's cephvold is SIGKILLed: its entrypoint starts it again,
#    the volume's cephvol-mount stays (the mount is "kept"), the container
#    writes on;
#  - upgrade, the documented procedure (docs/operations.md): stop the
#    containers, `docker plugin disable -f`, `docker plugin upgrade` from a
#    private registry on 127.0.0.1 (docker-registry) to a bundle of
#    another release, set the mounts again (an upgrade resets them),
#    enable, start the containers: the new release serves, data intact;
#  - `docker plugin disable -f` under a running container: the volume's
#    cephvol-mount goes with the plugin, the container's I/O fails (what
#    docs/operations.md says); after enable the new cephvold repairs its
#    state, the container's removal frees the loop device, and the volume
#    mounts again with the data synced before;
#  - removal leaves no plugin process, mount or loop device.
# timeout: 420
. "$(dirname "$0")/../functions.sh"
requires_root
requires curl jq dockerd docker-registry ss ldd ldconfig

ceph_env
test_pool
P=$T/p			# the plugin's host directories: ceph, config, state
mkdir -p "$P/ceph" "$P/config" "$P/state"
write_config secrets.master_key="$P/config/master.key" log.level=info
run() { docker run --rm --pull never "$@"; }

step "the plugin's config dirs: ceph.conf at the test cluster, keyring, cephvol.conf, master key"
fsid=$(awk -F' = ' '$1 == "fsid" { print $2 }' "$CEPHVOL_TEST_CONF")
mon=$(awk -F' = ' '$1 == "mon host" { print $2 }' "$CEPHVOL_TEST_CONF")
[ -n "$fsid" ] && [ -n "$mon" ] || fail "no fsid or mon host in $CEPHVOL_TEST_CONF"
printf '[global]\nfsid = %s\nmon host = %s\n\n[client]\nkeyring = /etc/ceph/keyring\n' \
    "$fsid" "$mon" > "$P/ceph/ceph.conf"
cp "$CEPHVOL_TEST_KEYRING" "$P/ceph/keyring"
# a short lease: the volume of a killed cephvol-mount is free sooner
printf '[ceph]\nclient = client.admin\npool = %s\n\n[volume]\nlease_seconds = 6\n\n[log]\nlevel = debug\n' "$POOL" \
    > "$P/config/cephvol.conf"
cephvol key init >/dev/null
printf 'pw-%s' "$TEST_NAME" | cephvol secret create dbpw - --uid 1000 --gid 1000 --mode 0400 >/dev/null

step "build the bundle (deploy/plugin/build.sh)"
drop=()
# a capability the host's bounding set lacks cannot be granted: Docker
# would refuse to enable the plugin (docs/operations.md)
bnd=$(awk '/^CapBnd/ { print $2 }' /proc/self/status)
(( (0x$bnd >> 24) & 1 )) || drop+=(--drop-cap CAP_SYS_RESOURCE)
"$CEPHVOL_SRC/deploy/plugin/build.sh" --build "$CEPHVOL_BUILD" --out "$T/bundle" \
    --release test-v1 ${drop[@]+"${drop[@]}"} >&2
jq -e '.interface.socket == "cephvol.sock" and .propagatedMount == "/mnt/cephvol" and
    .linux.allowAllDevices and ([.mounts[].name] | contains(["ceph", "config", "state", "dev"]))' \
    "$T/bundle/config.json" >/dev/null || fail "config.json: $(cat "$T/bundle/config.json")"

# a dockerd stopped with --live-restore leaves its data-root bind-mounted
# on itself: unmounted after the last dockerd stopped
_umount_dataroot() { ! mountpoint -q "$T/docker/root" || umount "$T/docker/root"; }
cleanup_fn _umount_dataroot
start_dockerd
NAME=$DRIVER
CONTAINERS=()
VOLIDS=()

PLUGIN_ID=		# set once created; an upgrade keeps it

# plugin_root: the plugin's rootfs on this host
plugin_root() { echo "$T/docker/root/plugins/$PLUGIN_ID/rootfs"; }
# plugin_pids [COMM]: the plugin's processes (the entrypoint, cephvold,
# cephvol-mount), or those named COMM, found by the plugin's id in their
# cgroup (their /proc/PID/root reads "/" from here)
plugin_pids() {
	local p
	[ -n "$PLUGIN_ID" ] || return 0
	# (processes come and go while grep reads: it may say 2)
	for p in $({ grep -l -F "$PLUGIN_ID" /proc/[0-9]*/cgroup 2>/dev/null || true; } | cut -d/ -f3); do
		[ -z "${1:-}" ] || [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] || continue
		echo "$p"
	done
	return 0
}
# our_loops: loop devices backed by the image file of one of our volumes
# (the plugin names them by its own path, /var/lib/cephvol/vol/ID/image)
our_loops() {
	local id
	for id in ${VOLIDS[@]+"${VOLIDS[@]}"}; do
		losetup -n -l -O NAME,BACK-FILE 2>/dev/null |
		    awk -v f="/var/lib/cephvol/vol/$id/image" '$2 == f { print $1 }'
	done
	return 0
}
# set_mounts: point the plugin's settable mounts at this test's dirs
set_mounts() {
	docker plugin set "$NAME" ceph.source="$P/ceph" config.source="$P/config" \
	    state.source="$P/state"
}
# stop_dockerd_wait: SIGTERM dockerd and give it 60 s to stop by itself
# (the rig's own stop kills it after 10 s: not a clean restart)
stop_dockerd_wait() {
	local i
	kill -TERM "$DOCKERD_PID"
	for (( i = 0; i < 600; i++ )); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$DOCKERD_PID" 2>/dev/null && fail "dockerd did not stop in 60 s"
	wait "$DOCKERD_PID" 2>/dev/null || true
	_REAPED+="$DOCKERD_PID "
}
plugin_log() { grep -o 'msg=".*plugin=' "$T/docker/dockerd.log" | grep cephvol || true; }

# _plugin_cleanup: containers, volumes, the plugin, through dockerd while it
# runs (registered again after each start_dockerd, so that it runs before
# the rig stops dockerd: with --live-restore a stopped dockerd leaves the
# plugin running); then any process of the plugin and loop device of ours
_plugin_cleanup() {
	local c pids l
	if [ -n "${DOCKERD_PID:-}" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
		for c in ${CONTAINERS[@]+"${CONTAINERS[@]}"}; do
			timeout 30 docker rm -f "$c" >/dev/null 2>&1 || true
		done
		timeout 60 docker volume rm data sec xv >/dev/null 2>&1 || true
		timeout 60 docker plugin disable -f "$NAME" >/dev/null 2>&1 || true
		timeout 30 docker plugin rm -f "$NAME" >/dev/null 2>&1 || true
	fi
	pids=$(plugin_pids)
	[ -z "$pids" ] || echo "cleanup: stopping plugin processes $(echo $pids)" >&2
	# shellcheck disable=SC2086
	_stop_pids $pids
	for l in $(our_loops); do
		echo "cleanup: detaching $l" >&2
		losetup -d "$l" 2>/dev/null || true
	done
}
cleanup_fn _plugin_cleanup

step "docker plugin create, set, enable"
docker plugin create "$NAME" "$T/bundle" >/dev/null
PLUGIN_ID=$(docker plugin inspect -f '{{.Id}}' "$NAME")
set_mounts
docker plugin inspect "$NAME" | jq -e --arg p "$P" '[.[0].Settings.Mounts[] | {(.Name): .Source}] | add |
    .ceph == $p + "/ceph" and .config == $p + "/config" and .state == $p + "/state"' >/dev/null ||
    fail "settings: $(docker plugin inspect "$NAME" | jq -c '.[0].Settings.Mounts')"
docker plugin enable "$NAME" >/dev/null
docker plugin inspect -f '{{.Enabled}}' "$NAME" | grep -qx true || fail "not enabled"
wait_for 20 sh -c "test -n \"\$(grep -o 'cephvold.* ready' '$T/docker/dockerd.log')\""
plugin_log | grep -q "connected to the cluster as client.admin, pool $POOL" ||
    fail "the plugin's cephvold did not reach the test cluster: $(plugin_log | tail -5)"
grep -qx test-v1 "$(plugin_root)/etc/cephvol-release" || fail "not the bundle built here"

step "a container writes through the plugin; the bytes are in Ceph; a second container reads them"
CONTAINERS+=(writer wr2)
run --volume-driver="$NAME" -v data:/data localhost/busybox:test sh -c \
    'dd if=/dev/urandom of=/data/blob bs=1M count=8 2>/dev/null && md5sum /data/blob > /data/blob.md5 && sync -f /data/blob'
docker volume inspect data | jq -e --arg d "$NAME:latest" '.[0].Driver == $d and
    .[0].Status.type == "block"' >/dev/null || fail "inspect: $(docker volume inspect data)"
VOLIDS+=("$(cephvol --json volume inspect data | jq -r .id)")
alloc=$(cephvol --json volume inspect data | jq .allocated_bytes)
echo "allocated in the pool after 8 MiB written: $alloc bytes" >&2
[ "$alloc" -ge $((8 << 20)) ] || fail "only $alloc bytes allocated in Ceph after 8 MiB written"
sum=$(run -v data:/data localhost/busybox:test sh -c 'cd /data && md5sum -c blob.md5 >/dev/null && cut -d" " -f1 blob.md5')
[ -n "$sum" ] || fail "the second container did not read the same bytes"
[ -z "$(our_loops)" ] || fail "a loop device left after the containers stopped: $(our_loops)"

step "a secrets volume"
docker volume create -d "$NAME" -o type=secrets -o secrets=dbpw sec >/dev/null
VOLIDS+=("$(cephvol --json volume inspect sec | jq -r .id)")
assert_eq "$(run --user 1000:1000 -v sec:/run/secrets:ro localhost/busybox:test cat /run/secrets/dbpw)" \
    "pw-$TEST_NAME" "the secret read by uid 1000"
expect_fail run --user 2000:2000 -v sec:/run/secrets:ro localhost/busybox:test cat /run/secrets/dbpw
assert_contains "$ERR" "Permission denied"

step "an xfs volume grows online (cephvol volume resize on the host, xfs_growfs in the plugin)"
CONTAINERS+=(grower)
docker volume create -d "$NAME" -o fs=xfs -o size=512M xv >/dev/null
VOLIDS+=("$(cephvol --json volume inspect xv | jq -r .id)")
docker run -d --name grower --pull never -v xv:/data localhost/busybox:test sleep 600 >/dev/null
kb() { docker exec grower df -k /data | awk 'NR == 2 { print $2 }'; }
[ "$(docker exec grower awk '$2 == "/data" { print $3 }' /proc/mounts)" = xfs ] ||
    fail "xv is not xfs: $(docker exec grower cat /proc/mounts)"
before=$(kb)
cephvol volume resize xv 1G >&2
wait_for 30 sh -c "[ \"\$(docker exec grower df -k /data | awk 'NR == 2 { print \$2 }')\" -gt $before ]"
echo "df in the container: $before KiB -> $(kb) KiB" >&2
docker rm -f grower >/dev/null
docker volume rm xv >/dev/null

step "disable is refused while the driver has volumes"
expect_fail docker plugin disable "$NAME"
assert_contains "$ERR" "in use"

step "dockerd restarts under a running container (restart always)"
lines() { docker exec writer sh -c 'wc -l < /data/log' 2>/dev/null || echo 0; }
# log_intact: the writer's log holds 0, 1, 2, ... one a line, no gap: its
# first N lines (it goes on appending meanwhile) against seq; else say where
log_intact() {
	docker exec writer sh -c 'n=$(wc -l < /data/log); head -n "$n" /data/log > /tmp/got;
	    seq 0 $((n - 1)) > /tmp/want; cmp /tmp/want /tmp/got >&2 || {
	    echo "$n lines; around the difference:" >&2; diff /tmp/want /tmp/got | head -n 10 >&2; exit 1; }'
}
docker run -d --restart always --name writer --pull never -v data:/data localhost/busybox:test sh -c \
    'i=$(cat /data/log 2>/dev/null | wc -l); while true; do echo $i >> /data/log; i=$((i+1)); sleep 0.05; done' >/dev/null
wait_for 30 sh -c "[ \"\$(docker exec writer sh -c 'wc -l < /data/log' 2>/dev/null || echo 0)\" -gt 10 ]"
old_pids=$(plugin_pids | tr '\n' ' ')
[ -n "$old_pids" ] || fail "no process in the plugin's cgroup"
n1=$(lines)
# dockerd stops the container (--shutdown-timeout 5), which unmounts the
# volume through the plugin, then the plugin
t0=$SECONDS
stop_dockerd_wait
echo "dockerd stopped in $((SECONDS - t0)) s" >&2
for p in $old_pids; do
	! kill -0 "$p" 2>/dev/null || fail "plugin process $p outlived dockerd's shutdown"
done
[ -z "$(our_loops)" ] || fail "dockerd's shutdown left a loop device: $(our_loops)"
start_dockerd --live-restore
cleanup_fn _plugin_cleanup
wait_for 60 sh -c "docker inspect -f '{{.State.Running}}' writer 2>/dev/null | grep -qx true"
docker plugin inspect -f '{{.Enabled}}' "$NAME" | grep -qx true || fail "plugin not enabled after the restart"
wait_for 30 sh -c "[ \"\$(docker exec writer sh -c 'wc -l < /data/log' 2>/dev/null || echo 0)\" -gt $((n1 + 10)) ]"
n2=$(lines)
echo "lines before the restart: $n1, after: $n2" >&2
log_intact || fail "the log has gaps or damage after the restart"

step "dockerd restarts with --live-restore: the plugin, its mount and the container stay up"
vold=$(plugin_pids cephvold)
mpid=$(jq -r '.volumes.data.helper_pid' "$P/state/mounts.json")
kill -0 "$mpid" || fail "no live cephvol-mount for data ($mpid)"
hostlog=$T/docker/root/plugins/$PLUGIN_ID/propagated-mount/data/log
n1=$(wc -l < "$hostlog")
stop_dockerd_wait
sleep 1
n2=$(wc -l < "$hostlog")
[ "$n2" -gt "$n1" ] || fail "the container stopped writing while dockerd was down ($n1 -> $n2)"
kill -0 "$mpid" || fail "cephvol-mount $mpid went with dockerd"
start_dockerd --live-restore
cleanup_fn _plugin_cleanup
assert_eq "$(plugin_pids cephvold)" "$vold" "cephvold after dockerd's live restore"
docker plugin inspect -f '{{.Enabled}}' "$NAME" | grep -qx true || fail "plugin not enabled after the restart"
wait_for 30 sh -c "[ \"\$(docker exec writer sh -c 'wc -l < /data/log' 2>/dev/null || echo 0)\" -gt $((n2 + 10)) ]"
echo "lines: $n1 before dockerd stopped, $n2 while it was down, $(lines) after" >&2
docker volume inspect data | jq -e '.[0].Mountpoint != ""' >/dev/null ||
    fail "inspect after the live restore: $(docker volume inspect data)"

step "cephvold in the plugin killed (SIGKILL): it restarts, the mount and the writer go on"
vold=$(plugin_pids cephvold)
[ -n "$vold" ] || fail "no cephvold in the plugin's cgroup"
mpid=$(jq -r '.volumes.data.helper_pid' "$P/state/mounts.json")
kill -0 "$mpid" || fail "no live cephvol-mount for data ($mpid)"
n1=$(lines)
# shellcheck disable=SC2086
kill -KILL $vold
wait_for 20 sh -c "[ -n \"\$(grep -o 'volume=data: 1 reference(s), mounted at /mnt/cephvol/data, cephvol-mount pid $mpid.*kept' '$T/docker/dockerd.log')\" ]"
kill -0 "$mpid" || fail "cephvol-mount $mpid died with cephvold"
grep -q "cephvol plugin: /usr/sbin/cephvold killed by signal 9" "$T/docker/dockerd.log" ||
    fail "the entrypoint did not say it restarted cephvold"
wait_for 30 sh -c "[ \"\$(docker exec writer sh -c 'wc -l < /data/log' 2>/dev/null || echo 0)\" -gt $((n1 + 10)) ]"
[ "$(plugin_pids cephvold)" != "$vold" ] || fail "the same cephvold?"
docker volume inspect data | jq -e '.[0].Mountpoint != ""' >/dev/null ||
    fail "inspect after cephvold's restart: $(docker volume inspect data)"

step "upgrade: stop the containers, disable -f, upgrade from a registry, set, enable, start"
port=$(free_port) || fail "no free port for the registry"
mkdir -p "$T/registry"
printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$T/registry/data" "$port" > "$T/registry/config.yml"
setsid docker-registry serve "$T/registry/config.yml" > "$T/registry/log" 2>&1 < /dev/null &
REGISTRY_PID=$!
cleanup_fn _stop_child "$REGISTRY_PID" docker-registry
wait_for 20 curl -sf "http://127.0.0.1:$port/v2/"
"$CEPHVOL_SRC/deploy/plugin/build.sh" --build "$CEPHVOL_BUILD" --out "$T/bundle2" \
    --release test-v2 ${drop[@]+"${drop[@]}"} >&2
REF=127.0.0.1:$port/cephvol:test-v2
docker plugin create "$REF" "$T/bundle2" >/dev/null
docker plugin push "$REF" >/dev/null
docker plugin rm "$REF" >/dev/null
docker stop -t 1 writer >/dev/null
expect_fail docker plugin upgrade --grant-all-permissions --skip-remote-check "$NAME" "$REF"
assert_contains "$ERR" "disabled"
docker plugin disable -f "$NAME" >/dev/null
docker plugin upgrade --grant-all-permissions --skip-remote-check "$NAME" "$REF" >/dev/null
set_mounts
docker plugin enable "$NAME" >/dev/null
grep -qx test-v2 "$(plugin_root)/etc/cephvol-release" || fail "the upgrade did not install test-v2"
docker start writer >/dev/null
n3=$(lines)
wait_for 30 sh -c "[ \"\$(docker exec writer sh -c 'wc -l < /data/log' 2>/dev/null || echo 0)\" -gt $((n3 + 10)) ]"
log_intact || fail "the log has gaps or damage after the upgrade"
docker exec writer sh -c 'cd /data && md5sum -c blob.md5' >/dev/null || fail "blob changed by the upgrade"
assert_eq "$(run --user 1000:1000 -v sec:/s:ro localhost/busybox:test cat /s/dbpw)" "pw-$TEST_NAME" \
    "the secret after the upgrade"

step "disable -f under a running container: its volume fails, then recovers"
mpid=$(jq -r '.volumes.data.helper_pid' "$P/state/mounts.json")
kill -0 "$mpid" || fail "no live cephvol-mount for data ($mpid)"
docker plugin disable -f "$NAME" >/dev/null
wait_for 10 sh -c "! kill -0 $mpid 2>/dev/null"
# the writer's appends fail now (EIO: xfs shuts down, ext4 turns read-only)
wait_for 30 sh -c "docker logs writer 2>&1 | grep -Eq 'I/O error|Input/output error|Read-only|not connected'"
echo "the container's log: $(docker logs writer 2>&1 | tail -n 1)" >&2
docker plugin enable "$NAME" >/dev/null
wait_for 20 sh -c "grep -q 'repair: volume=data' '$T/docker/dockerd.log'"
docker rm -f writer >/dev/null
wait_for 30 sh -c "[ -z \"\$(losetup -n -l -O NAME,BACK-FILE | awk -v f=/var/lib/cephvol/vol/${VOLIDS[0]}/image '\$2 == f')\" ]"
# the lease of the killed cephvol-mount runs out (volume.lease_seconds);
# then data mounts again with what was synced
t0=$SECONDS
until run -v data:/data localhost/busybox:test sh -c 'cd /data && md5sum -c blob.md5' >/dev/null 2>&1; do
	[ $((SECONDS - t0)) -lt 60 ] || fail "data does not mount again, or lost its synced bytes: $(
	    run -v data:/data localhost/busybox:test sh -c 'cd /data && md5sum -c blob.md5' 2>&1)"
	sleep 2
done
echo "data mounted again $((SECONDS - t0)) s after the container's removal" >&2

step "remove: volumes, plugin; nothing left"
docker volume rm data sec >/dev/null
pids=$(plugin_pids | tr '\n' ' ')
docker plugin disable "$NAME" >/dev/null
docker plugin rm "$NAME" >/dev/null
for p in $pids; do
	wait_for 10 sh -c "! kill -0 $p 2>/dev/null"
done
[ -z "$(our_loops)" ] || fail "loop devices left: $(our_loops)"
if grep -q " $T/docker/root/plugins/" /proc/self/mountinfo; then
	fail "plugin mounts left: $(grep " $T/docker/root/plugins/" /proc/self/mountinfo)"
fi
left=0
for id in "${VOLIDS[@]}"; do
	left=$((left + $(rados -p "$POOL" ls | grep -c -e "$id" || true)))
done
[ "$left" = 0 ] || fail "$left objects of the removed volumes left in the pool"
plugin_log | grep -E ' (warn|error): ' | grep -v 'no such volume\|Create volume=' | tail -n 5 >&2 || true
stop_dockerd_wait
exit 0
