#!/usr/bin/env bash
# config_errors.sh - `cephvol status` with bad configuration fails fast
# with a sentence that names what is wrong: an unknown key (with the
# closest known one), a bad value (file, line, key, value, what is
# accepted), a missing file, an unreadable keyring, a refused key, and a
# cluster that is not there (bounded by ceph.timeout).
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires ceph-authtool ss

ceph_env
test_pool
write_config
good=$CEPHVOL_CONF
cephvol status >/dev/null || fail "the good configuration does not work"

# status_fails FILE [cephvol ARGS...]: status with config FILE must fail
# with exit status 1 and a one-line error.
status_fails() {
	local conf=$1
	shift
	expect_fail env CEPHVOL_CONF="$conf" "$CEPHVOL_BIN/cephvol" "$@" status
	[ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "expected one line of error, got: $ERR"
	assert_contains "$ERR" "cephvol: error: "
}

step "unknown key in the file, with a suggestion"
cp "$good" "$T/typo.conf"
printf '[volume]\ndefault_sise = 1G\n' >> "$T/typo.conf"
line=$(wc -l < "$T/typo.conf")
status_fails "$T/typo.conf"
assert_contains "$ERR" "$T/typo.conf:$line"
assert_contains "$ERR" "unknown key 'default_sise' in section [volume]"
assert_contains "$ERR" "did you mean 'volume.default_size'?"

step "unknown key given with -o, with a suggestion"
status_fails "$good" -o ceph.polo=x
assert_contains "$ERR" "-o: unknown key 'polo' in section [ceph]; did you mean 'ceph.pool'?"

step "unknown section"
cp "$good" "$T/section.conf"
printf '[volumes]\ndefault_size = 1G\n' >> "$T/section.conf"
status_fails "$T/section.conf"
assert_contains "$ERR" "unknown section [volumes]"

step "bad value: file, line, key, value and what is accepted"
cp "$good" "$T/value.conf"
printf '[volume]\ndefault_fs = ext4\n\ndefault_size = 12Q\n' >> "$T/value.conf"
line=$(wc -l < "$T/value.conf")
status_fails "$T/value.conf"
assert_contains "$ERR" "$T/value.conf:$line"
assert_contains "$ERR" "bad value '12Q' for key [volume] default_size"
assert_contains "$ERR" "expected a size from 1M to 1P, like 512M or 10G"

cp "$good" "$T/timeout.conf"
printf '[ceph]\ntimeout = 0\n' >> "$T/timeout.conf"
status_fails "$T/timeout.conf"
assert_contains "$ERR" "bad value '0' for key [ceph] timeout: expected whole seconds from 1 to 3600"

status_fails "$good" -o log.level=loud
assert_contains "$ERR" "bad value 'loud' for key [log] level: expected one of error|warn|info|debug"

step "missing config file (-c and \$CEPHVOL_CONF)"
expect_fail cephvol -c "$T/none.conf" status
assert_contains "$ERR" "config file $T/none.conf does not exist"
status_fails "$T/none.conf"
assert_contains "$ERR" "config file $T/none.conf does not exist"

step "missing ceph.conf and keyring"
status_fails "$good" -o ceph.conf="$T/no-ceph.conf"
assert_contains "$ERR" "cannot read ceph.conf $T/no-ceph.conf"
status_fails "$good" -o ceph.keyring="$T/no.keyring"
assert_contains "$ERR" "cannot read keyring $T/no.keyring"

step "a key the cluster does not know is refused"
ceph-authtool --create-keyring "$T/wrong.keyring" --gen-key -n client.admin >/dev/null
status_fails "$good" -o ceph.keyring="$T/wrong.keyring"
assert_contains "$ERR" "authentication refused"

step "unreachable cluster: fails within ceph.timeout saying so"
for _ in $(seq 1 50); do
	port=$(( 20000 + RANDOM % 30000 ))
	[ -z "$(ss -Htan "( sport = :$port or sport = :$((port + 1)) )")" ] && break
done
fsid=$(ceph fsid)
cat > "$T/dead-ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$port,v1:127.0.0.1:$((port + 1))]
CONF
t0=$(date +%s.%N)
status_fails "$good" -o ceph.conf="$T/dead-ceph.conf" -o ceph.timeout=3
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "failed after ${secs}s"
assert_contains "$ERR" "$T/dead-ceph.conf"
assert_contains "$ERR" "not reachable"
awk -v s="$secs" 'BEGIN { exit !(s >= 2.5 && s <= 8) }' ||
    fail "unreachable cluster with ceph.timeout=3 took ${secs}s, want about 3 s"

step "a missing pool names the pool and how to create it"
status_fails "$good" -o ceph.pool=cvt-no-such-pool
assert_contains "$ERR" "cannot open pool cvt-no-such-pool"
assert_contains "$ERR" "--create-pool"
