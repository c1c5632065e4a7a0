#!/usr/bin/env bash
# key_file.sh - the master key file: `key init` makes a 32-byte, 0600,
# root-owned file and never overwrites one; a key file that is short, too
# open or missing is refused with a sentence; `key rotate --new-key FILE`
# adopts a given key; a rotation over many secrets interrupted at a step
# keeps every secret readable and finishes when run again.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires rados stat
requires_root
ceph_env
test_pool
write_config

step "key init: 32 bytes, 0600, root"
cephvol key init >/dev/null
assert_eq "$(stat -c '%s %a %u' "$T/master.key")" "32 600 0" "key file size, mode, owner"
sum=$(sha256sum < "$T/master.key")
expect_fail cephvol key init
assert_contains "$ERR" "refusing to overwrite"
assert_eq "$(sha256sum < "$T/master.key")" "$sum" "key file after a refused init"
id=$(cephvol key show | awk '{ print $3 }')
[ ${#id} = 16 ] || fail "key show printed id '$id'"

step "bad key files are refused"
printf 'v' | cephvol secret create k1 >/dev/null
cp "$T/master.key" "$T/good.key"
head -c 31 "$T/good.key" > "$T/master.key"
expect_fail cephvol secret get k1
assert_contains "$ERR" "must hold exactly 32 bytes (it holds 31)"
chmod 0644 "$T/master.key"; cp "$T/good.key" "$T/master.key"
expect_fail cephvol secret get k1
assert_contains "$ERR" "with mode 0600 or 0400 (it is mode 0644"
chmod 0600 "$T/master.key"
assert_eq "$(cephvol secret get k1)" v "k1 with the key restored"
mv "$T/master.key" "$T/master.key.away"
expect_fail cephvol secret get k1
assert_contains "$ERR" "create one with 'cephvol key init'"
mv "$T/master.key.away" "$T/master.key"

step "rotate --new-key FILE"
head -c 32 /dev/urandom > "$T/given.key"; chmod 0600 "$T/given.key"
head -c 10 /dev/urandom > "$T/short.key"; chmod 0600 "$T/short.key"
expect_fail cephvol key rotate --new-key "$T/short.key"
assert_contains "$ERR" "it holds 10"
assert_eq "$(cephvol key show | awk '{ print $3 }')" "$id" "key id after a refused rotation"
cephvol key rotate --new-key "$T/given.key" >/dev/null
cmp -s "$T/given.key" "$T/master.key" || fail "the key file is not the given key"
assert_eq "$(stat -c '%a %u' "$T/master.key")" "600 0" "mode after rotate"
assert_eq "$(cephvol secret get k1)" v "k1 after rotate --new-key"

step "40 secrets, a rotation interrupted at each step"
N=40
for i in $(seq 1 $N); do printf 'val-%s' "$i" | cephvol secret create "m$i" >/dev/null; done
check_all() {
	local i
	for i in $(seq 1 $N); do
		assert_eq "$(cephvol secret get "m$i")" "val-$i" "m$i after $1"
	done
}
for at in new-key rekeyed-one rekeyed-all swapped; do
	status=0
	CEPHVOL_CRASH_AT=$at cephvol key rotate >/dev/null 2>&1 || status=$?
	assert_eq "$status" 99 "exit status of the rotation stopped at $at"
	check_all "a crash at $at"
done
t0=$(date +%s.%N)
cephvol key rotate >/dev/null
t1=$(date +%s.%N)
check_all "the resumed rotation"
t2=$(date +%s.%N)
cephvol key rotate >/dev/null
t3=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v n=$((N + 1)) 'BEGIN {
	printf "measured: resumed rotation %.2fs, full rotation of %d secrets %.2fs\n", b - a, n, d - c }'
check_all "a second full rotation"
