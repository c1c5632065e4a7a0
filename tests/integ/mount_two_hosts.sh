#!/usr/bin/env bash
# mount_two_hosts.sh - one volume, two hosts: two configurations with
# different Ceph client names and state directories stand for hosts A and
# B. A mounts and writes; B's mount is refused with an error naming the
# holder (A's client name, address, host, pid, since) and leaves nothing
# behind; after A unmounts (releasing the lease), B mounts at once and
# sees A's data.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 blkid
ceph_env
test_pool
write_config log.level=info
CONF_A=$CEPHVOL_CONF
cp "$CONF_A" "$T/a.conf"

# host B: its own client with the caps a host needs, its own state dir
B=client.hostb$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
del_client() { ceph auth del "$1" >/dev/null 2>&1 || true; }
cleanup_fn del_client "$B"
ceph auth get-or-create "$B" mon 'allow r, allow command "osd blocklist"' \
    osd "allow rwx pool=$POOL" -o "$T/keyring.b" >/dev/null
sed -e "s|^client = .*|client = $B|" -e "s|^keyring = .*|keyring = $T/keyring.b|" \
    -e "s|^state_dir = .*|state_dir = $T/state-b|" -e "s|^mount_root = .*|mount_root = $T/mnt-b|" \
    "$CONF_A" > "$T/b.conf"
grep -q "client = $B" "$T/b.conf" || fail "b.conf: $(cat "$T/b.conf")"
a() { CEPHVOL_CONF=$T/a.conf cephvol "$@"; }
b() { CEPHVOL_CONF=$T/b.conf cephvol "$@"; }
unmount_quiet() { CEPHVOL_CONF=$1 cephvol volume unmount "$2" hv >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$T/a.conf" "$T/ma"
cleanup_fn unmount_quiet "$T/b.conf" "$T/mb"

step "host A creates, mounts and writes"
a volume create hv -o size=1G >/dev/null
a volume mount hv "$T/ma"
apid=$(head -n 1 "$(state_of hv).pid")
head -c 3000000 /dev/urandom > "$T/data"
cp "$T/data" "$T/ma/data"
sync -f "$T/ma/data"

step "host B is refused, with the holder named"
expect_fail b volume mount hv "$T/mb"
assert_contains "$ERR" "volume hv is in use by client.admin"
assert_contains "$ERR" "on $(hostname), pid $apid, since "
! grep -qF "$T/mb" /proc/self/mounts || fail "B left a mount"
! grep -qF "$T/state-b/" /proc/self/mounts || fail "B left a FUSE mount"
! losetup -n -l -O BACK-FILE | grep -qF "$T/state-b/" || fail "B left a loop device"
! ls "$T"/state-b/vol/*.pid >/dev/null 2>&1 || fail "B left a pid file"
# A is unharmed
cmp "$T/data" "$T/ma/data"

step "host A unmounts; B mounts at once and sees the data"
a volume unmount "$T/ma"
b volume mount hv "$T/mb"
cmp "$T/data" "$T/mb/data" || fail "B does not see A's data"
out=$(cephvol lock ls hv)
echo "$out"
assert_contains "$out" "$B"
b volume unmount "$T/mb"
