#!/usr/bin/env bash
# mount_integrity.sh - data integrity through the whole data path
# (ext4 -> loop with direct I/O -> cephvol-mount -> RADOS): fio writes with
# verify=crc32c, sequential and random, mixed block sizes, iodepth 16,
# direct I/O, and reads everything back; then the volume is unmounted
# and mounted again and fio verifies the same files once more (the bytes
# came back from RADOS, not from any cache).
# timeout: 180
. "$(dirname "$0")/../functions.sh"
requires_root
requires fio mkfs.ext4 blkid
ceph_env
test_pool
write_config log.level=info
M=$T/m
unmount_quiet() { cephvol volume unmount "$1" iv >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$M"

cat > "$T/verify.fio" <<FIO
[global]
directory=$M
ioengine=libaio
direct=1
iodepth=16
verify=crc32c
verify_fatal=1
verify_backlog=0
verify_state_save=0
randrepeat=1
group_reporting=1

[seq]
rw=write
bssplit=4k/20:64k/30:1m/50
size=384m
filename=seq.dat

[rand]
stonewall
rw=randwrite
bssplit=4k/50:16k/25:128k/25
size=96m
filename=rand.dat
FIO

step "create and mount volume iv"
cephvol volume create iv -o size=2G >/dev/null
cephvol volume mount iv "$M"

S=$(state_of iv)
pid=$(head -n 1 "$S.pid")
# the peak RSS of cephvol-mount while fio runs (VmHWM: the kernel's own peak)
step "fio write + verify (crc32c), sequential and random, iodepth 16"
fio --output="$T/fio1.out" "$T/verify.fio" || { cat "$T/fio1.out"; fail "fio write+verify failed"; }
grep -E "WRITE:|READ:" "$T/fio1.out" >&2
! grep -qE "verify: bad|err= *[1-9]" "$T/fio1.out" || { cat "$T/fio1.out"; fail "fio reported errors"; }

hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
echo "cephvol-mount peak RSS under fio: $((hwm / 1024)) MiB" >&2
# (a sanitizer build's shadow memory and quarantine do not count)
if ldd "$CEPHVOL_BIN/cephvol-mount" 2>/dev/null | grep -c libasan >/dev/null; then
	echo "sanitizer build: RSS not checked" >&2
else
	[ "$hwm" -le $((64 * 1024)) ] || fail "cephvol-mount peak RSS $((hwm / 1024)) MiB > 64 MiB"
fi

step "unmount, mount again, verify only"
cephvol volume unmount "$M"
cephvol volume mount iv "$M"
fio --verify_only --output="$T/fio2.out" "$T/verify.fio" ||
    { cat "$T/fio2.out"; fail "fio verify after remount failed"; }
grep -E "READ:" "$T/fio2.out" >&2
! grep -qE "verify: bad|err= *[1-9]" "$T/fio2.out" || { cat "$T/fio2.out"; fail "fio reported errors"; }
grep -q "errors, " "$S.log" || true
cephvol volume unmount "$M"
grep -E "stopping: " "$S.log" | tail -n 1 >&2
! grep -qE " [1-9][0-9]* errors" "$S.log" || fail "cephvol-mount logged I/O errors"
