#!/usr/bin/env bash
# config_errors.sh - `cephvol status` with bad configuration fails fast
# with a sentence that names what is wrong: an unknown key (with the
# closest known one), a bad value (file, line, key, what is accepted), a
# missing file, an unreadable keyring, a refused key, and a cluster that is
# not there (bounded by ceph.timeout). A config file's text is never shown
# (-c /etc/shadow), and a file that is not a small regular file (/dev/zero,
# a FIFO, more than 1 MiB) is refused at once, by cephvol, cephvold and
# cephvol-mount alike; -o text is shown escaped.
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

# fails_fast SECS CMD...: CMD must fail with status 1 within SECS seconds
# (not be killed by the time limit: 124) and say one line on stderr.
fails_fast() {
	local secs=$1 status=0
	shift
	ERR=$(timeout -k 2 "$secs" "$@" 2>&1 >/dev/null) || status=$?
	echo "exit $status: $*: $ERR" >&2
	[ "$status" = 1 ] || fail "expected exit status 1 within ${secs}s, got $status from: $*"
}

step "unknown key in the file: its section and a suggestion, not the key"
cp "$good" "$T/typo.conf"
printf '[volume]\ndefault_sise = 1G\n' >> "$T/typo.conf"
line=$(wc -l < "$T/typo.conf")
status_fails "$T/typo.conf"
assert_contains "$ERR" "$T/typo.conf:$line: unknown key in section [volume]; did you mean 'volume.default_size'?"
assert_not_contains "$ERR" "default_sise"

step "unknown key given with -o, with a suggestion"
status_fails "$good" -o ceph.polo=x
assert_contains "$ERR" "-o: unknown key 'polo' in section [ceph]; did you mean 'ceph.pool'?"

step "unknown section"
cp "$good" "$T/section.conf"
printf '[volumes]\ndefault_size = 1G\n' >> "$T/section.conf"
status_fails "$T/section.conf"
assert_contains "$ERR" "unknown section (did you mean [volume]?); known sections are ceph,"

step "bad value: file, line, key and what is accepted, not the value"
cp "$good" "$T/value.conf"
printf '[volume]\ndefault_fs = ext4\n\ndefault_size = 12Q\n' >> "$T/value.conf"
line=$(wc -l < "$T/value.conf")
status_fails "$T/value.conf"
assert_contains "$ERR" "$T/value.conf:$line: bad value for key [volume] default_size: expected a size from 1M to 1P, like 512M or 10G"
assert_not_contains "$ERR" "12Q"

cp "$good" "$T/timeout.conf"
printf '[ceph]\ntimeout = 0\n' >> "$T/timeout.conf"
status_fails "$T/timeout.conf"
assert_contains "$ERR" "bad value for key [ceph] timeout: expected whole seconds from 1 to 3600"

step "-o text is the user's own: shown, escaped"
status_fails "$good" -o log.level=loud
assert_contains "$ERR" "-o: bad value 'loud' for key [log] level: expected one of error|warn|info|debug"
status_fails "$good" -o "ceph.conf=/x"$'\n'"[ceph]"
assert_contains "$ERR" "-o: bad value '/x\\x0a[ceph]' for key [ceph] conf: control characters are not allowed"

step "a file's text never appears in an error (cephvol, cephvold, cephvol-mount)"
# the first line of a shadow file, and a "key = value" line whose key and
# value are secrets
printf 'root:$y$j9T$Sh4d0wS3cr3t:19700:0:99999:7:::\n' > "$T/shadow"
printf '[ceph]\nSh4d0wS3cr3t = x\n' > "$T/key.conf"
printf '[ceph]\npool = Sh4d0w/S3cr3t\n' > "$T/val.conf"
printf '[Sh4d0wS3cr3t]\n' > "$T/sec.conf"
for f in shadow key.conf val.conf sec.conf; do
	for prog in "cephvol status" "cephvold --check-config" "cephvold --dump-config" \
	    "cephvol-mount v1 $T/fuse"; do
		fails_fast 10 "$CEPHVOL_BIN/${prog%% *}" -c "$T/$f" ${prog#* }
		assert_contains "$ERR" "$T/$f:"
		assert_not_contains "$ERR" "Sh4d0w"
		assert_not_contains "$ERR" "S3cr3t"
		assert_not_contains "$ERR" "root"
		[ "$(printf '%s\n' "$ERR" | grep -c .)" = 1 ] || fail "not one line: $ERR"
	done
done
assert_contains "$ERR" "unknown section;"
if [ -r /etc/shadow ]; then
	first=$(head -n 1 /etc/shadow | cut -d: -f1)
	fails_fast 10 "$CEPHVOL_BIN/cephvol" -c /etc/shadow status
	assert_contains "$ERR" "/etc/shadow:1: not 'key = value', a [section] line or a comment"
	[ -z "$first" ] || assert_not_contains "$ERR" "$first"
fi

step "only a regular file of at most 1 MiB is read: /dev/zero, a FIFO, a big file"
mkfifo "$T/fifo.conf"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' > "$T/big.conf"
for prog in "cephvol status" "cephvold --check-config" "cephvol-mount v1 $T/fuse"; do
	fails_fast 10 "$CEPHVOL_BIN/${prog%% *}" -c /dev/zero ${prog#* }
	assert_contains "$ERR" "config file /dev/zero is a character device; it must be a regular file of at most 1024 KiB"
	fails_fast 10 "$CEPHVOL_BIN/${prog%% *}" -c "$T/fifo.conf" ${prog#* }
	assert_contains "$ERR" "config file $T/fifo.conf is a FIFO"
	fails_fast 10 "$CEPHVOL_BIN/${prog%% *}" -c "$T/big.conf" ${prog#* }
	assert_contains "$ERR" "config file $T/big.conf is too big: 1048577 bytes, the limit is 1024 KiB"
done
# the same through $CEPHVOL_CONF
fails_fast 10 env CEPHVOL_CONF=/dev/zero "$CEPHVOL_BIN/cephvol" status
assert_contains "$ERR" "/dev/zero is a character device"
# /dev/null is an empty file: the built-in defaults
env -u CEPHVOL_CONF "$CEPHVOL_BIN/cephvold" -c /dev/null --check-config >/dev/null ||
    fail "cephvold -c /dev/null --check-config failed"

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
port=$(free_port 2) || fail "no free ports for a dead monitor"
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
