#!/usr/bin/env bash
# tests/bench/secrets.sh - how fast an application reads a credential from a
# mounted secrets tree: open + read + close of one secret file, COUNT times,
# p50/p90/p99, beside the same bytes in a file on a private tmpfs, measured
# in turns in the same run (tests/c/secret_read_bench.c). Two sizes: 64 B
# (a password) and 4 KiB (a key or certificate).
#
#	tests/bench/secrets.sh [COUNT]		(default 20000)
#
# Uses the cluster of CEPHVOL_TEST_CONF if set, else starts a private one.
# Prints the result lines and writes them to $BENCH_OUT/secrets.txt when
# BENCH_OUT is set.
. "$(dirname "$0")/../functions.sh"
requires_root
COUNT=${1:-20000}
bench=$CEPHVOL_BUILD/tests/secret_read_bench
[ -x "$bench" ] || fail "no $bench (run make)"
ceph_env
test_pool
write_config log.level=info	# the audit line of every open is part of the cost

cephvol key init >/dev/null
head -c 48 /dev/urandom | base64 -w0 | head -c 64 > "$T/v64"
head -c 3072 /dev/urandom | base64 -w0 | head -c 4096 > "$T/v4k"
cephvol secret create small --from-file "$T/v64" --mode 0400 >/dev/null
cephvol secret create big --from-file "$T/v4k" --mode 0400 >/dev/null
cephvol volume create bench -o type=secrets -o secrets=small,big >/dev/null

M=$T/m
"$CEPHVOL_BIN/cephvol-mount" --secrets -c "$CEPHVOL_CONF" --ready-fd 3 bench "$M" \
    3>"$T/ready" 2>"$T/sfs.log" &
MPID=$!
stop_mount() {
	umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null || true
	for (( i = 0; i < 100; i++ )); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$MPID" 2>/dev/null || true
	wait "$MPID" 2>/dev/null || true
}
cleanup_fn stop_mount
wait_for 30 grep -q . "$T/ready"
[ "$(cat "$T/ready")" = ok ] || fail "mount: $(cat "$T/ready")"

mkdir -p "$T/tmpfs"
mount -t tmpfs -o size=1M,mode=0700 cvt-bench "$T/tmpfs"
cleanup_fn umount "$T/tmpfs"
cp "$T/v64" "$T/tmpfs/small"
cp "$T/v4k" "$T/tmpfs/big"
cmp "$M/small" "$T/tmpfs/small" && cmp "$M/big" "$T/tmpfs/big" || fail "served bytes differ"
rm -f "$T/v64" "$T/v4k"

step "open+read+close x $COUNT, in turns (secretsfs vs tmpfs)"
out=$("$bench" -n "$COUNT" \
    secretsfs_64B="$M/small" tmpfs_64B="$T/tmpfs/small" \
    secretsfs_4KiB="$M/big" tmpfs_4KiB="$T/tmpfs/big")
echo "$out"
if [ -n "${BENCH_OUT:-}" ]; then
	mkdir -p "$BENCH_OUT"
	echo "$out" > "$BENCH_OUT/secrets.txt"
fi
