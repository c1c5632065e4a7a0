#!/usr/bin/env bash
# doctor.sh - `cephvol doctor`: a healthy host passes (exit 0, no fail
# line; cephvold not running and no Docker spec are warnings), with
# cephvold and its spec those are ok too; --json is an array of {check,
# status, detail, fix} that jq reads; and each broken setup gives its fail
# line, its fix and exit 1: the master key file mode 0644, a cluster that
# does not answer (within the timeout, not a hang), a missing pool, a
# volume whose cephvol-mount was killed -9 (its mount fails, its lease is
# stale), a client without the caps cephvol needs, a cluster step that
# does not end (a test hook stalls it: reported at its bound).
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires jq mkfs.ext4 ss curl
ceph_env
test_pool
# no admin socket: a killed client's socket must not stall the next one
awk '{ print } /^\[client\]/ { print "admin socket ="; print "log file =" }' \
    "$CEPH_CONF" > "$T/ceph.conf"
# a lease long enough to see it held by a killed cephvol-mount
write_config ceph.conf="$T/ceph.conf" volume.lease_seconds=90 log.level=info
cephvol key init >/dev/null

# doctor ARGS...: run `cephvol ARGS...` (ARGS holds "doctor"), bounded;
# stdout in OUT, exit status in STATUS.
doctor() {
	STATUS=0
	OUT=$(timeout -k 2 60 "$CEPHVOL_BIN/cephvol" "$@" 2>"$T/doctor.err") || STATUS=$?
	printf '%s\n' "$OUT" >&2
	[ ! -s "$T/doctor.err" ] || { echo "stderr:" >&2; cat "$T/doctor.err" >&2; }
	[ "$STATUS" -lt 124 ] || fail "doctor was killed or crashed (exit $STATUS): $*"
}
# has STATUS CHECK [TEXT]: a line "STATUS  CHECK ...TEXT..." is in OUT
has() {
	local l
	l=$(printf '%s\n' "$OUT" | grep -E "^$1 +$2 " || true)
	[ -n "$l" ] || fail "no '$1 $2' line"
	[ -z "${3:-}" ] || assert_contains "$l" "$3"
}
# fix_of CHECK: the fix printed under the first non-ok line of CHECK
fix_of() {
	printf '%s\n' "$OUT" | awk -v c="$1" '$2 == c && $1 != "ok" { on = 1; next }
	    on && /^      fix: / { sub(/^      fix: /, ""); print; exit } { on = 0 }'
}
no_fail() {
	! printf '%s\n' "$OUT" | grep -q '^fail' || fail "a fail line: $(grep '^fail' <<<"$OUT")"
}

step "healthy host: exit 0, no fail line"
doctor doctor
assert_eq "$STATUS" 0 "exit status"
no_fail
for c in fuse loop tools config master-key mounts cluster pool caps clock leases; do
	has ok "$c"
done
has ok config "$CEPHVOL_CONF parses"
has ok pool "$POOL: wrote, read back and removed probe object cephvol.probe."
has warn cephvold "cephvold is not running"
has warn docker-spec "no plugin spec for driver $DRIVER"
assert_contains "$(fix_of docker-spec)" "echo unix://$PLUGIN_SOCK > /etc/docker/plugins/$DRIVER.spec"
[ -z "$(rados -p "$POOL" ls | grep cephvol.probe)" ] || fail "probe object left in $POOL"

step "with cephvold and its spec: both ok"
start_cephvold
doctor doctor
assert_eq "$STATUS" 0 "exit status"
has ok cephvold "answers Plugin.Activate on $PLUGIN_SOCK"
has ok docker-spec "/etc/docker/plugins/$DRIVER.spec names $PLUGIN_SOCK"
if command -v dockerd containerd runc busybox >/dev/null 2>&1 &&
    [ "$(command -v dockerd containerd runc busybox | wc -l)" = 4 ]; then
	step "with a dockerd: its view of the driver"
	start_dockerd
	docker volume create -d "$DRIVER" dv >/dev/null
	doctor doctor
	assert_eq "$STATUS" 0 "exit status"
	has ok docker "dockerd lists 1 volume(s) of driver $DRIVER"
	docker volume rm dv >/dev/null
	_stop_dockerd
	unset DOCKER_HOST
fi
stop_cephvold

step "--json: an array of {check, status, detail, fix} (also as a global option)"
for args in "doctor --json" "--json doctor"; do
	# shellcheck disable=SC2086
	doctor $args
	assert_eq "$STATUS" 0 "exit status of $args"
	printf '%s\n' "$OUT" | jq -e 'type == "array" and length >= 12 and
	    all(.[]; (keys == ["check", "detail", "fix", "status"] or
	              keys == ["check", "detail", "status"]) and
	        (.status | IN("ok", "warn", "fail")) and
	        (.status == "ok" or (.fix | type == "string")))' >/dev/null ||
	    fail "not the expected JSON: $OUT"
	printf '%s\n' "$OUT" | jq -e '[.[] | select(.check == "cluster")][0].status == "ok"' \
	    >/dev/null || fail "cluster not ok in JSON"
done

step "master key file mode 0644: fail with the chmod fix"
chmod 644 "$T/master.key"
doctor doctor
assert_eq "$STATUS" 1 "exit status"
has fail master-key "is mode 0644"
assert_eq "$(fix_of master-key)" "chmod 600 $T/master.key" "fix"
doctor --json doctor
printf '%s\n' "$OUT" | jq -e --arg f "chmod 600 $T/master.key" \
    '[.[] | select(.status == "fail")] == [.[] | select(.check == "master-key" and .fix == $f)]' \
    >/dev/null || fail "JSON: the one failure is not the key's"
chmod 600 "$T/master.key"

step "a cluster that does not answer: fail within the timeout"
port=$(free_port 2) || fail "no free ports for a dead monitor"
printf '[global]\nfsid = %s\nmon host = [v2:127.0.0.1:%d,v1:127.0.0.1:%d]\n' \
    "$(ceph fsid)" "$port" $((port + 1)) > "$T/dead-ceph.conf"
t0=$(date +%s.%N)
doctor -o ceph.conf="$T/dead-ceph.conf" doctor --timeout 3
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "doctor took ${secs}s" >&2
assert_eq "$STATUS" 1 "exit status"
has fail cluster "not reachable"
assert_contains "$(fix_of cluster)" "ceph --conf $T/dead-ceph.conf -s"
awk -v s="$secs" 'BEGIN { exit !(s <= 10) }' || fail "took ${secs}s with --timeout 3"
has ok fuse		# the host's checks still ran

step "a cluster step that does not end: reported within its bound, the rest still run"
# list.headers: the volume list of the leases check waits for a file that
# never comes (common/testhook.h); a step may take 2 * 1 + 5 s
t0=$(date +%s.%N)
CEPHVOL_WAIT_AT=list.headers CEPHVOL_WAIT_FILE=$T/never doctor doctor --timeout 1
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "doctor took ${secs}s" >&2
assert_eq "$STATUS" 1 "exit status"
has ok pool
has fail leases "no answer from the cluster within 7 s"
has warn cephvold
awk -v s="$secs" 'BEGIN { exit !(s >= 6.5 && s <= 12) }' || fail "took ${secs}s, want about 7 s"

step "a missing pool: fail with how to create it"
doctor -o ceph.pool=cvt-no-such-pool doctor
assert_eq "$STATUS" 1 "exit status"
has ok cluster
has fail pool "pool cvt-no-such-pool does not exist"
assert_contains "$(fix_of pool)" "ceph osd pool create cvt-no-such-pool"

step "a client without the lock and blocklist caps: fail naming them"
client=client.cvtdoc$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
cleanup_fn _del_client "$client"
ceph auth get-or-create "$client" mon 'allow r' osd "allow rw pool=$POOL" \
    -o "$T/keyring.low" >/dev/null
doctor -o ceph.client="$client" -o ceph.keyring="$T/keyring.low" doctor
assert_eq "$STATUS" 1 "exit status"
has ok pool
has fail caps "$client may not use: lock"
has fail caps "monitor command 'osd blocklist'"
assert_contains "$(fix_of caps)" "ceph auth caps $client mon 'allow r, allow command \"osd blocklist\"' osd 'allow rwx pool=$POOL'"

step "a volume whose cephvol-mount was killed -9: its mount fails, its lease is stale"
M=$T/m
unmount_quiet() { cephvol volume unmount "$1" "$2" >/dev/null 2>&1 || true; }
break_quiet() { cephvol lock break "$1" --force >/dev/null 2>&1 || true; }
cephvol volume create sv -o size=64M >/dev/null
cleanup_fn break_quiet sv
cleanup_fn unmount_quiet "$M" sv
cephvol volume mount sv "$M" >/dev/null
pid=$(head -n 1 "$(state_of sv).pid")
kill -KILL "$pid"
gone() { ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; }
wait_for 10 gone
doctor doctor
assert_eq "$STATUS" 1 "exit status"
has fail mounts "volume sv (id "
has fail mounts "its cephvol-mount (pid $pid) is gone"
assert_eq "$(fix_of mounts)" "cephvol volume unmount $M sv" "fix"
has warn leases "volume sv: lease held by client.admin"
has warn leases "pid $pid"
assert_contains "$(fix_of leases)" "cephvol lock break sv --force"

step "after the fixes: exit 0 again"
cephvol volume unmount "$M" sv >/dev/null
cephvol lock break sv --force >/dev/null
doctor doctor
assert_eq "$STATUS" 0 "exit status"
no_fail
has ok mounts
has ok leases "1 volume(s) in pool $POOL"
cephvol volume rm sv >/dev/null

step "usage errors exit 2"
status=0; cephvol doctor --timeout 0 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of --timeout 0"
status=0; cephvol doctor extra 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of an extra argument"
