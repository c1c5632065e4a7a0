#!/usr/bin/env bash
# volume_basic.sh - `cephvol volume create|ls|inspect|resize|rm` against a
# real Ceph: options and their errors, idempotent create, a difference
# named, the built-in filesystem (xfs from 300M, ext4 below), names Docker
# would refuse, secrets volumes, JSON output, allocated
# bytes counted from RADOS, grow-only resize, exit statuses 0/1/2.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires jq rados

ceph_env
test_pool
write_config volume.default_size=1G

step "create with Docker's options"
out=$(cephvol volume create pgdata -o size=2G -o fs=xfs -o objectsize=1M -o label.app=pg)
assert_eq "$out" "pgdata"
cephvol --json volume inspect pgdata > "$T/i.json"
jq -e '.name == "pgdata" and .type == "block" and .size == 2147483648 and
    .fs == "xfs" and .object_size == 1048576 and .labels.app == "pg" and
    (.id | test("^[0-9a-f]{16}$")) and .lease == null and .created > 0' \
    "$T/i.json" >/dev/null || fail "inspect: $(cat "$T/i.json")"
id=$(jq -r .id "$T/i.json")
rados -p "$POOL" stat "cephvol.header.$id" >/dev/null || fail "no header object"
rados -p "$POOL" listomapkeys cephvol.catalog | grep -qx pgdata || fail "no catalogue entry"

step "create again: same options succeed, a bare create matches, a difference is named"
cephvol volume create pgdata -o size=2G -o fs=xfs >/dev/null
cephvol volume create pgdata >/dev/null
expect_fail cephvol volume create pgdata -o size=3G -o fs=ext4
assert_contains "$ERR" "volume pgdata already exists with different options"
assert_contains "$ERR" "size=2G (asked for 3G)"
assert_contains "$ERR" "fs=xfs (asked for ext4)"
assert_eq "$(cephvol --json volume inspect pgdata | jq -r .id)" "$id" "id after re-create"

step "defaults from the configuration"
cephvol volume create plain >/dev/null
cephvol --json volume inspect plain | jq -e '.size == 1073741824 and .fs == "ext4" and
    .object_size == 4194304' >/dev/null || fail "defaults not applied"

step "the built-in filesystem: xfs from 300M, ext4 below; fs=xfs under 300M refused"
sed '/^default_fs = /d' "$CEPHVOL_CONF" > "$T/builtin.conf"
CEPHVOL_CONF=$T/builtin.conf cephvol volume create big -o size=300M >/dev/null
CEPHVOL_CONF=$T/builtin.conf cephvol volume create small -o size=299M >/dev/null
assert_eq "$(cephvol --json volume inspect big | jq -r .fs)" xfs "fs of a 300M volume"
assert_eq "$(cephvol --json volume inspect small | jq -r .fs)" ext4 "fs of a 299M volume"
expect_fail cephvol volume create tiny -o size=256M -o fs=xfs
assert_contains "$ERR" "fs=xfs needs a volume of at least 300M"
expect_fail cephvol volume inspect tiny
cephvol volume rm big small >/dev/null

step "bad names and options are refused with what is accepted"
for bad in 'a/b' '../etc' '.hidden' '-x' 'a b' '_x' "$(printf 'x%.0s' {1..256})"; do
	expect_fail cephvol volume create -- "$bad"
	assert_contains "$ERR" "invalid volume name"
	assert_contains "$ERR" "[a-zA-Z0-9][a-zA-Z0-9_.-]*"
done
expect_fail cephvol volume create v2 -o sise=1G
assert_contains "$ERR" "unknown option 'sise' (did you mean size?)"
assert_contains "$ERR" "accepted options: size=SIZE"
expect_fail cephvol volume create v2 -o size=lots
assert_contains "$ERR" "bad value 'lots' for option size"
expect_fail cephvol volume create v2 -o fs=btrfs
assert_contains "$ERR" "expected ext4 or xfs"
expect_fail cephvol volume create v2 -o objectsize=3M
assert_contains "$ERR" "power of two"
[ -z "$(rados -p "$POOL" listomapkeys cephvol.catalog | grep -x v2)" ] || fail "v2 was created"

step "usage errors exit 2"
status=0; cephvol volume create 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of create without a name"
status=0; cephvol volume frobnicate x 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of an unknown verb"
status=0; cephvol volume create x -o novalue 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of -o without ="

step "a secrets volume"
cephvol volume create app-secrets -o type=secrets -o secrets=db-password,api-key@2 >/dev/null
cephvol --json volume inspect app-secrets | jq -e '.type == "secrets" and
    .secrets == ["db-password", "api-key@2"] and (has("size") | not)' >/dev/null ||
    fail "secrets volume: $(cephvol --json volume inspect app-secrets)"
expect_fail cephvol volume create s2 -o type=secrets -o secrets=a -o size=1G
assert_contains "$ERR" "option size does not apply to type=secrets"
expect_fail cephvol volume create s2 -o type=secrets
assert_contains "$ERR" "needs -o secrets="
expect_fail cephvol volume resize app-secrets 1G
assert_contains "$ERR" "a secrets volume has no size"

step "ls, text and JSON"
out=$(cephvol volume ls)
echo "$out"
assert_contains "$out" "NAME"
for v in pgdata plain app-secrets; do assert_contains "$out" "$v"; done
assert_eq "$(cephvol --json volume ls | jq -r '[.[].name] | sort | join(",")')" \
    "app-secrets,pgdata,plain" "ls --json names"
assert_eq "$(cephvol volume ls --json | jq length)" 3 "ls --json after the verb"

step "inspect counts the objects actually written"
printf 'x%.0s' {1..5000} > "$T/obj"
rados -p "$POOL" put "cephvol.data.$id.0000000000000000" "$T/obj"
rados -p "$POOL" put "cephvol.data.$id.0000000000000003" "$T/obj"
out=$(cephvol volume inspect pgdata)
echo "$out"
assert_contains "$out" "allocated:   10000 bytes in 2 objects"
cephvol --json volume inspect pgdata | jq -e '.allocated_bytes == 10000 and
    .allocated_objects == 2' >/dev/null || fail "allocated bytes in JSON"

step "resize grows, refuses to shrink with a reason"
cephvol volume resize pgdata 4G
assert_eq "$(cephvol --json volume inspect pgdata | jq .size)" 4294967296 "size after grow"
cephvol volume resize pgdata 4G
expect_fail cephvol volume resize pgdata 1G
assert_contains "$ERR" "cannot shrink volume pgdata from 4G to 1G"
assert_contains "$ERR" "could destroy data"
expect_fail cephvol volume resize nosuch 4G
assert_contains "$ERR" "no such volume: nosuch"
status=0; cephvol volume resize pgdata huge 2>/dev/null || status=$?
assert_eq "$status" 2 "exit status of a bad size"

step "rm removes data, header and entry"
cephvol volume rm pgdata plain
[ -z "$(rados -p "$POOL" ls | grep "$id")" ] || fail "objects of $id left: $(rados -p "$POOL" ls)"
assert_eq "$(cephvol --json volume ls | jq -r '[.[].name] | join(",")')" "app-secrets" "ls after rm"
expect_fail cephvol volume rm pgdata
assert_contains "$ERR" "no such volume: pgdata"
expect_fail cephvol volume inspect pgdata
assert_contains "$ERR" "no such volume: pgdata"
cephvol volume rm app-secrets
step "a removed name can be created again, with a new id"
cephvol volume create pgdata -o size=1G >/dev/null
new=$(cephvol --json volume inspect pgdata | jq -r .id)
[ "$new" != "$id" ] || fail "the new volume reused id $id"
cephvol volume rm pgdata
out=$(cephvol fsck --grace 0)
assert_contains "$out" "0 problems found"
