#!/usr/bin/env bash
# secret_tamper.sh - sealed secrets fail loudly and serve nothing when a
# record's bit is flipped, a record is swapped with another secret's, a
# version is rolled back (metadata or record), an owner or mode is edited
# in RADOS, or the master key is wrong; and no plaintext byte reaches RADOS
# or the host's disk.
# timeout: 180
. "$(dirname "$0")/../functions.sh"
requires rados perl
ceph_env
test_pool
write_config

put() { printf '%s' "$2" | cephvol secret create "$1" "${@:3}" >/dev/null; }
upd() { printf '%s' "$2" | cephvol secret update "$1" >/dev/null; }
obj() { echo "cephvol.secret.$1"; }
key() { printf 'v%010d' "$1"; }

step "key init, create, get"
cephvol key init >/dev/null
assert_eq "$(stat -c '%a %u' "$T/master.key")" "600 0" "key file mode and owner"
expect_fail cephvol key init
assert_contains "$ERR" "refusing to overwrite"
put alpha alpha-value-1
put beta beta-value-1 --uid 1000 --mode 0440
assert_eq "$(cephvol secret get alpha)" alpha-value-1
upd alpha alpha-value-2
assert_eq "$(cephvol secret get alpha)" alpha-value-2
assert_eq "$(cephvol secret get alpha@1)" alpha-value-1

step "bad input gets clear errors"
expect_fail put 'bad/name' x
assert_contains "$ERR" "names must match"
expect_fail put gamma x --mode 999
assert_contains "$ERR" "bad mode"
expect_fail put gamma x --uid -3
assert_contains "$ERR" "bad uid"
head -c $((1024 * 1024 + 1)) /dev/zero > "$T/big"
expect_fail cephvol secret create big --from-file "$T/big"
assert_contains "$ERR" "limit of 1048576 bytes"
expect_fail put alpha again
assert_contains "$ERR" "already exists"
expect_fail cephvol secret get nosuch
assert_contains "$ERR" "no secret named nosuch"
expect_fail cephvol secret get alpha@9
assert_contains "$ERR" "has no version 9"

step "a flipped bit in a record"
rados -p "$POOL" getomapval "$(obj alpha)" "$(key 2)" "$T/rec" >/dev/null
cp "$T/rec" "$T/rec.orig"
perl -e 'open(F, "+<", $ARGV[0]) or die; binmode F; seek(F, 40, 0); read(F, $c, 1);
    seek(F, 40, 0); print F chr(ord($c) ^ 1); close F' "$T/rec"
rados -p "$POOL" setomapval "$(obj alpha)" "$(key 2)" < "$T/rec"
expect_fail cephvol secret get alpha
assert_contains "$ERR" "failed authentication"
assert_not_contains "$OUT" "alpha-value"
rados -p "$POOL" setomapval "$(obj alpha)" "$(key 2)" < "$T/rec.orig"
assert_eq "$(cephvol secret get alpha)" alpha-value-2

step "a record swapped with another secret's"
rados -p "$POOL" getomapval "$(obj beta)" "$(key 1)" "$T/beta1" >/dev/null
rados -p "$POOL" getomapval "$(obj alpha)" "$(key 1)" "$T/alpha1" >/dev/null
rados -p "$POOL" setomapval "$(obj alpha)" "$(key 1)" < "$T/beta1"
expect_fail cephvol secret get alpha@1
assert_contains "$ERR" "failed authentication"
assert_not_contains "$OUT" "beta-value"
rados -p "$POOL" setomapval "$(obj alpha)" "$(key 1)" < "$T/alpha1"

step "an old record copied over a newer version"
rados -p "$POOL" setomapval "$(obj alpha)" "$(key 2)" < "$T/alpha1"
expect_fail cephvol secret get alpha
assert_contains "$ERR" "failed authentication"
rados -p "$POOL" setomapval "$(obj alpha)" "$(key 2)" < "$T/rec.orig"

step "metadata rolled back to an older latest version"
rados -p "$POOL" getxattr "$(obj alpha)" meta > "$T/meta"
sed 's/"latest":2/"latest":1/' "$T/meta" > "$T/meta.old"
rados -p "$POOL" setxattr "$(obj alpha)" meta < "$T/meta.old"
expect_fail cephvol secret get alpha
assert_contains "$ERR" "rolled back"
rados -p "$POOL" setxattr "$(obj alpha)" meta < "$T/meta"

step "owner or mode edited in RADOS"
rados -p "$POOL" getxattr "$(obj beta)" meta > "$T/bmeta"
sed 's/"mode":288/"mode":292/' "$T/bmeta" > "$T/bmeta.evil"	# 0440 -> 0444
rados -p "$POOL" setxattr "$(obj beta)" meta < "$T/bmeta.evil"
expect_fail cephvol secret get beta
assert_contains "$ERR" "failed authentication"
rados -p "$POOL" setxattr "$(obj beta)" meta < "$T/bmeta"
assert_eq "$(cephvol secret get beta)" beta-value-1

step "the wrong master key"
head -c 32 /dev/urandom > "$T/other.key"; chmod 600 "$T/other.key"
expect_fail cephvol -o secrets.master_key="$T/other.key" secret get alpha
assert_contains "$ERR" "not the configured key"
chmod 644 "$T/other.key"
expect_fail cephvol -o secrets.master_key="$T/other.key" secret get alpha
assert_contains "$ERR" "must be a regular file owned by root with mode 0600"

step "no plaintext in RADOS or on disk"
marker="cephvol-leak-marker-$RANDOM$RANDOM"
printf '%s' "$marker" | cephvol secret create leak >/dev/null
assert_eq "$(cephvol secret get leak)" "$marker"
printf '%s-2' "$marker" | cephvol secret update leak >/dev/null
# Every byte of every object: data, each xattr, each omap value read whole
# (listomapvals prints a hexdump that would split the marker across lines).
scan_pool() {
	local o x k hits=""
	for o in $(rados -p "$POOL" ls); do
		if rados -p "$POOL" get "$o" "$T/scan.obj" 2>/dev/null &&
		    grep -qaF "$marker" "$T/scan.obj"; then hits+=" data:$o"; fi
		for x in $(rados -p "$POOL" listxattr "$o"); do
			rados -p "$POOL" getxattr "$o" "$x" > "$T/scan.obj"
			! grep -qaF "$marker" "$T/scan.obj" || hits+=" xattr:$o/$x"
		done
		while IFS= read -r k; do
			[ -n "$k" ] || continue
			rados -p "$POOL" getomapval "$o" "$k" "$T/scan.obj" >/dev/null
			! grep -qaF "$marker" "$T/scan.obj" || hits+=" omap:$o/$k"
		done < <(rados -p "$POOL" listomapkeys "$o")
	done
	rm -f "$T/scan.obj"
	echo "$hits"
}
# the scan finds a planted marker (in an omap value, the hardest place)
printf 'x%sx' "$marker" > "$T/plant"
rados -p "$POOL" setomapval scan-control k1 --input-file "$T/plant" 2>/dev/null ||
    rados -p "$POOL" setomapval scan-control k1 "x${marker}x"
rm -f "$T/plant"
assert_contains "$(scan_pool)" "omap:scan-control/k1"
rados -p "$POOL" rm scan-control
hits=$(scan_pool)
[ -z "$hits" ] || fail "marker found in RADOS:$hits"
! grep -rqF "$marker" "$T" || fail "marker found under $T: $(grep -rlF "$marker" "$T")"

step "rm"
cephvol secret rm leak >/dev/null
expect_fail cephvol secret rm leak
assert_contains "$ERR" "no secret named leak"
assert_not_contains "$(cephvol secret ls)" leak
echo "secret tamper and leak checks passed"
