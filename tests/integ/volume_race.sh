#!/usr/bin/env bash
# volume_race.sh - processes racing to create one name: exactly one volume
# exists afterwards (one catalogue entry, one header) and every racer
# agrees on it: those asking for its options succeed with its id, the
# others fail naming the difference. Racing removes and creates of many
# names leave a consistent pool (fsck finds nothing).
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires jq rados

ceph_env
test_pool
write_config

n=8
# race NAME ARGS-FOR-RACER-i (i substituted for @): n creators connect,
# say they are ready ($T/go.ready.PID) at the start of the create
# (CEPHVOL_WAIT_AT), wait until $T/go exists, then all go at once.
race() {
	local name=$1 i; shift
	rm -f "$T/go" "$T"/go.ready.*
	for i in $(seq 1 $n); do
		( trap - ERR; set +e
		  CEPHVOL_WAIT_AT=create.begin CEPHVOL_WAIT_FILE=$T/go \
		      cephvol -vv --json volume create "$name" ${@//@/$i} > "$T/out.$i" 2> "$T/err.$i"
		  echo $? > "$T/rc.$i" ) &
	done
	wait_for 60 sh -c "[ \$(ls '$T' | grep -c '^go.ready\.') -ge $n ]"
	touch "$T/go"
	wait
	contended=$(cat "$T"/err.* | grep -c "came first\|made by another creator" || true)
	echo "$n racers: $contended races lost for the entry or the header"
}

step "$n racers, same options: all succeed with the same id"
race same -o size=1G
ids=$(for i in $(seq 1 $n); do
	assert_eq "$(cat "$T/rc.$i")" 0 "racer $i: $(cat "$T/err.$i")"
	jq -r .id "$T/out.$i"
done | sort -u)
assert_eq "$(echo "$ids" | wc -l)" 1 "distinct ids"
assert_eq "$(rados -p "$POOL" ls | grep -c '^cephvol.header\.')" 1 "header objects"

step "$n racers, each asking for another size: one wins, all agree on it"
race diff -o size=@G
winners=0
for i in $(seq 1 $n); do
	rc=$(cat "$T/rc.$i")
	if [ "$rc" = 0 ]; then
		winners=$((winners + 1)); win=$i
	else
		assert_eq "$rc" 1 "racer $i exit status"
		assert_contains "$(cat "$T/err.$i")" "volume diff already exists with different options: size="
	fi
done
assert_eq "$winners" 1 "racers that succeeded"
[ "$contended" -gt 0 ] || fail "no racer met another (the barrier did not work)"
size=$(cephvol --json volume inspect diff | jq .size)
assert_eq "$size" $((win << 30)) "size of the volume (racer $win won)"
for i in $(seq 1 $n); do
	[ "$i" = "$win" ] && continue
	assert_contains "$(cat "$T/err.$i")" "size=${win}G (asked for ${i}G)"
done
assert_eq "$(rados -p "$POOL" ls | grep -c '^cephvol.header\.')" 2 "header objects"
assert_eq "$(rados -p "$POOL" listomapkeys cephvol.catalog | sort | tr '\n' ,)" "diff,same," "catalogue"

step "racing create and rm of many names leaves a consistent pool"
for i in $(seq 1 6); do
	( trap - ERR; set +e; for j in 1 2 3; do cephvol volume create "m$i" -o size=64M >/dev/null 2>&1
	  cephvol volume rm "m$i" >/dev/null 2>&1; cephvol volume create "m$i" >/dev/null 2>&1; done ) &
	( trap - ERR; set +e; for j in 1 2 3; do cephvol volume rm "m$i" >/dev/null 2>&1; done ) &
done
wait
out=$(cephvol fsck --grace 0) || fail "fsck after the race: $out"
echo "$out"
assert_contains "$out" "0 problems found"
nvol=$(cephvol --json volume ls | jq length)
nhdr=$(rados -p "$POOL" ls | grep -c '^cephvol.header\.')
assert_eq "$nhdr" "$nvol" "headers vs volumes listed"
