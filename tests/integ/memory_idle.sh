#!/usr/bin/env bash
# memory_idle.sh - a mounted volume gives memory back when idle: after a
# 64 MiB write and read, cephvol-mount's PSS stays up while it is busy;
# once it has been idle for 30 s it releases its request region and the
# heap's free tail (logged), its PSS falls, and the next read still works.
# timeout: 150
. "$(dirname "$0")/../functions.sh"
requires_root
ceph_env
test_pool
write_config volume.lease_seconds=5 log.level=info
M=$T/m
unmount_quiet() { cephvol volume unmount "$1" >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$M"
pss() { awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup"; }

cephvol volume create mem -o size=256M >/dev/null
cephvol volume mount mem "$M"
S=$(state_of mem)
pid=$(head -n 1 "$S.pid")
start=$(pss)

step "load: 64 MiB written and read back"
dd if=/dev/urandom of="$M/f" bs=1M count=64 oflag=direct status=none
sync
dd if="$M/f" of=/dev/null bs=1M iflag=direct status=none
loaded=$(pss)
echo "PSS: $start KiB after mount, $loaded KiB after the load"

step "idle: memory given back within 30 s and a few checks"
given() { grep -q "idle 30s: memory given back" "$S.log"; }
wait_for 60 given
idle=$(pss)
echo "PSS idle: $idle KiB ($(grep 'memory given back' "$S.log" | tail -1 | sed 's/.*given back //'))"
# AddressSanitizer's allocator keeps freed memory in quarantine and has
# its own malloc_trim: under `make asan` only the release itself is checked
if ldd "$CEPHVOL_BIN/cephvol-mount" | grep -q libasan; then
	echo "built with AddressSanitizer: PSS not compared"
else
	[ "$idle" -lt "$loaded" ] || fail "PSS did not fall: $loaded -> $idle KiB"
fi
t0=$(date +%s%N)
dd if="$M/f" of=/dev/null bs=1M count=16 iflag=direct status=none
echo "16 MiB read after idle: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
cephvol volume unmount "$M"
cephvol volume rm mem
