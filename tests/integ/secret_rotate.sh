#!/usr/bin/env bash
# secret_rotate.sh - `cephvol key rotate` re-seals every secret under a
# new key; interrupted after each step (CEPHVOL_CRASH_AT) it leaves every
# secret readable, and running it again finishes the job.
# timeout: 180
. "$(dirname "$0")/../functions.sh"
requires rados
ceph_env
test_pool
write_config

cephvol key init >/dev/null
for i in 1 2 3 4 5; do
	printf 'value-%s' "$i" | cephvol secret create "s$i" >/dev/null
done
printf 'value-1b' | cephvol secret update s1 >/dev/null

all_readable() {
	local i
	for i in 1 2 3 4 5; do
		want=value-$i; [ "$i" = 1 ] && want=value-1b
		assert_eq "$(cephvol secret get "s$i")" "$want" "s$i after $1"
	done
	assert_eq "$(cephvol secret get s1@1)" value-1 "s1@1 after $1"
}

old=$(cephvol key show | awk '{ print $3 }')
for at in new-key rekeyed-one rekeyed-all swapped; do
	step "rotation interrupted at $at"
	status=0
	CEPHVOL_CRASH_AT=$at cephvol key rotate >/dev/null 2>&1 || status=$?
	assert_eq "$status" 99 "exit status of the interrupted rotation"
	all_readable "crash at $at"
done
step "resume"
cephvol key rotate
all_readable "the rotation"
new=$(cephvol key show | awk '{ print $3 }')
[ "$old" != "$new" ] || fail "key id did not change ($old)"
[ ! -e "$T/master.key.new" ] && [ ! -e "$T/master.key.old" ] || fail "rotation left key files"

step "a completed rotation: every record is under the new key"
cephvol key rotate >/dev/null
all_readable "a second rotation"
echo "rotation ok: $old -> $new -> $(cephvol key show | awk '{ print $3 }')"
