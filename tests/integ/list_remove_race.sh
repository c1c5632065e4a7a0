#!/usr/bin/env bash
# list_remove_race.sh - VolumeDriver.List racing a remove. List reads the
# catalogue, then each ready volume's header; a remove that completes in
# between takes the header away. The List then leaves that volume out,
# quietly: it is not damage, so no "run cephvol fsck" warning in the log.
# The same for a name removed and created again (a new id) in between. A
# header that is missing while its entry is still ready is still reported.
# The List is held between its two reads by CEPHVOL_WAIT_AT=list.headers.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires curl jq rados
ceph_env
test_pool
write_config
export CEPHVOL_WAIT_AT=list.headers CEPHVOL_WAIT_FILE=$T/go
start_cephvold
unset CEPHVOL_WAIT_AT CEPHVOL_WAIT_FILE

# held_list: start a List that stops after its catalogue read; its reply
# will be in $T/list once $T/go exists.
held_list() {
	rm -f "$T/go" "$T"/go.ready.* "$T/list"
	( trap - ERR; api /VolumeDriver.List > "$T/list" ) &
	LIST_PID=$!
	wait_for 30 sh -c "ls '$T' | grep -q '^go\.ready\.'"
}
release_list() {
	touch "$T/go"
	wait "$LIST_PID" || fail "List failed: $(cat "$T/list")"
}
names() { jq -r '[.Volumes[].Name] | sort | join(" ")' "$T/list"; }

cephvol volume create keep -o size=64M >/dev/null
cephvol volume create v1 -o size=64M >/dev/null

step "a volume removed between the catalogue and the header reads"
held_list
cephvol volume rm v1 >/dev/null
release_list
assert_eq "$(names)" keep "volumes listed"
assert_eq "$(jq -r .Err "$T/list")" "" "List error"

step "a name removed and created again in between"
cephvol volume create v1 -o size=64M >/dev/null
held_list
cephvol volume rm v1 >/dev/null
cephvol volume create v1 -o size=64M >/dev/null
release_list
assert_eq "$(names)" keep "volumes listed (the new v1 came after this List's catalogue read)"
if grep -q "run cephvol fsck" "$T/cephvold.log"; then
	fail "a remove during a List was reported as damage: $(grep 'run cephvol fsck' "$T/cephvold.log")"
fi

step "a header missing under a ready entry is still damage, and said so"
id=$(cephvol volume inspect keep --json | jq -r .id)
rados -p "$POOL" rm "cephvol.header.$id"
touch "$T/go"
api /VolumeDriver.List > "$T/list"
assert_eq "$(names)" v1 "volumes listed"
grep -q "volume=keep id=$id: header missing or unreadable (run cephvol fsck)" "$T/cephvold.log" ||
    fail "no warning for the damaged volume: $(tail -n 5 "$T/cephvold.log")"
exit 0
