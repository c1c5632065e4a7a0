#!/usr/bin/env bash
# fsck_crash.sh - every multi-object change survives a crash at each step:
# the CLI is aborted right after a step (CEPHVOL_CRASH_AT=<step> makes it
# _exit(99) there); then `cephvol fsck` reports the half-done change (exit
# 1), `fsck --repair` completes or undoes it (exit 0) and a second fsck is
# clean. Separately, re-running the interrupted command finishes the job.
# Orphans made by hand (a header no entry names, data with no header) are
# found and removed; a ready entry whose header vanished is reported and
# left alone.
# timeout: 150
. "$(dirname "$0")/../functions.sh"
requires jq rados

ceph_env
test_pool
write_config

crash() {	# crash STEP CMD...: CMD must stop at STEP with status 99
	local step=$1 status=0; shift
	CEPHVOL_CRASH_AT=$step "$@" >/dev/null 2>"$T/crash.err" || status=$?
	assert_eq "$status" 99 "exit status of '$*' crashed at $step"
	assert_contains "$(cat "$T/crash.err")" "crash injected at $step"
}
fsck_finds() {	# fsck_finds KIND: fsck reports KIND and exits 1
	local status=0
	out=$(cephvol fsck --grace 0) || status=$?
	echo "$out"
	assert_eq "$status" 1 "fsck exit status with a problem"
	assert_contains "$out" "$1: "
}
fsck_repairs() {
	out=$(cephvol fsck --grace 0 --repair) || fail "fsck --repair: $out"
	echo "$out"
	assert_contains "$out" "[repaired]"
	out=$(cephvol fsck --grace 0) || fail "fsck after repair: $out"
	assert_contains "$out" "0 problems found"
}
exists() { cephvol volume inspect "$1" >/dev/null 2>&1; }
objects_of() { rados -p "$POOL" ls | grep -c "$1" || true; }

step "create, crashed after the catalogue entry: repair drops it"
crash create.entry cephvol volume create c1 -o size=64M
exists c1 && fail "c1 visible before its header exists"
fsck_finds creating
fsck_repairs
exists c1 && fail "c1 exists after repair"
assert_eq "$(rados -p "$POOL" listomapkeys cephvol.catalog | grep -c c1 || true)" 0 "c1 entries"

step "create, crashed after the header: repair completes it"
crash create.header cephvol volume create c2 -o size=64M
fsck_finds creating
fsck_repairs
exists c2 || fail "c2 missing after repair"
assert_eq "$(cephvol --json volume inspect c2 | jq .size)" 67108864 "c2 size"

step "create, crashed after the last step: nothing to repair"
crash create.ready cephvol volume create c3 -o size=64M
out=$(cephvol fsck --grace 0) || fail "fsck: $out"
exists c3 || fail "c3 missing"

step "create re-run after each crash finishes the job"
for s in create.entry create.header; do
	crash $s cephvol volume create "r-$s" -o size=64M
	cephvol volume create "r-$s" -o size=64M >/dev/null
	exists "r-$s" || fail "r-$s missing after re-run"
done
out=$(cephvol fsck --grace 0) || fail "fsck after re-runs: $out"
assert_contains "$out" "0 problems found"

step "a stale 'creating' entry is left alone within the grace period"
crash create.entry cephvol volume create young -o size=64M
out=$(cephvol fsck --repair) || true
assert_contains "$out" "left alone"
cephvol fsck --grace 0 --repair >/dev/null

for s in remove.mark remove.data remove.header; do
	step "rm, crashed after $s: repair finishes the removal"
	cephvol volume create "d-$s" -o size=64M -o objectsize=1M >/dev/null
	id=$(cephvol --json volume inspect "d-$s" | jq -r .id)
	echo data | rados -p "$POOL" put "cephvol.data.$id.0000000000000000" -
	echo data | rados -p "$POOL" put "cephvol.data.$id.0000000000000007" -
	crash $s cephvol volume rm "d-$s"
	exists "d-$s" && fail "d-$s still visible while being removed"
	expect_fail cephvol volume create "d-$s"
	assert_contains "$ERR" "is being removed"
	fsck_finds removing
	fsck_repairs
	assert_eq "$(objects_of "$id")" 0 "objects of $id"
	assert_eq "$(rados -p "$POOL" listomapkeys cephvol.catalog | grep -c "d-$s" || true)" 0 "entry"

	step "rm, crashed after $s: a re-run finishes it"
	cephvol volume create "e-$s" -o size=64M >/dev/null
	id=$(cephvol --json volume inspect "e-$s" | jq -r .id)
	echo data | rados -p "$POOL" put "cephvol.data.$id.0000000000000001" -
	crash $s cephvol volume rm "e-$s"
	cephvol volume rm "e-$s" >/dev/null
	assert_eq "$(objects_of "$id")" 0 "objects of $id after re-run"
done

step "orphans made by hand are found and removed"
orphan=00000000deadbeef
printf '{"name":"ghost","id":"%s","type":"block","size":1048576,"object_size":1048576,"fs":"ext4","created":1}' \
    $orphan > "$T/meta"
rados -p "$POOL" create cephvol.header.$orphan
rados -p "$POOL" setomapval cephvol.header.$orphan meta "$(cat "$T/meta")"
echo x | rados -p "$POOL" put cephvol.data.$orphan.0000000000000000 -
echo x | rados -p "$POOL" put cephvol.data.0000000000c0ffee.0000000000000002 -
fsck_finds orphan-header
assert_contains "$out" "orphan-data: "
assert_contains "$out" "volume ghost"
status=0; cephvol --json fsck --grace 0 > "$T/fsck.json" || status=$?
assert_eq "$status" 1 "fsck --json exit status"
jq -e '.remaining == 2 and ([.findings[].kind] | sort) == ["orphan-data", "orphan-header"]' \
    "$T/fsck.json" >/dev/null || fail "fsck --json: $(cat "$T/fsck.json")"
fsck_repairs
assert_eq "$(objects_of "$orphan\|c0ffee")" 0 "orphan objects left"

step "a ready volume whose header vanished is reported, never repaired"
cephvol volume create lost -o size=64M >/dev/null
id=$(cephvol --json volume inspect lost | jq -r .id)
echo keep | rados -p "$POOL" put "cephvol.data.$id.0000000000000000" -
rados -p "$POOL" rm "cephvol.header.$id"
fsck_finds missing-header
status=0; out=$(cephvol fsck --grace 0 --repair) || status=$?
assert_eq "$status" 1 "fsck --repair with an unrepairable problem"
assert_contains "$out" "[not repairable]"
assert_eq "$(objects_of "cephvol.data.$id")" 1 "data of the damaged volume kept"
expect_fail cephvol volume inspect lost
