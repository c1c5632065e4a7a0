#!/usr/bin/env bash
# mount_space.sh - deleted files give space back: write 1 GiB to a file on
# a mounted volume, check the image's allocated bytes in RADOS grew by about
# that much, delete the file (the filesystem is mounted with online
# discard; fstrim too), and check the allocated bytes dropped back.
# On the way, check the mount options: ext4 without cache flushes
# (nobarrier), the loop device itself left as it was (its write_cache
# attribute outlives the mount, so it must never be changed).
# Allocated bytes are counted in RADOS (the sum of the data objects'
# sizes), never judged from fstrim's exit status.
# timeout: 180
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 blkid fstrim jq /usr/bin/python3
/usr/bin/python3 -c "import rados" 2>/dev/null || skip "requires python3-rados"
ceph_env
test_pool
write_config log.level=info
M=$T/m
MiB=$((1024 * 1024))
unmount_quiet() { cephvol volume unmount "$1" sv >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$M"

# allocated ID: bytes of the image's data objects, one RADOS client
allocated() {
	/usr/bin/python3 - "$CEPH_CONF" "$CEPHVOL_TEST_KEYRING" "$POOL" "cephvol.data.$1." <<'PY'
import sys, rados
conf, keyring, pool, prefix = sys.argv[1:]
c = rados.Rados(conffile=conf, conf={"keyring": keyring})
c.connect(timeout=30)
io = c.open_ioctx(pool)
total = 0
for o in io.list_objects():
    if o.key.startswith(prefix):
        total += io.stat(o.key)[0]
print(total)
io.close(); c.shutdown()
PY
}

step "create and mount volume sv"
cephvol volume create sv -o size=4G >/dev/null
id=$(cephvol --json volume inspect sv | jq -r .id)
cephvol volume mount sv "$M"
a0=$(allocated "$id")
echo "allocated after mkfs: $((a0 / MiB)) MiB"

step "mounted with discard and nobarrier; the loop device untouched"
opts=$(findmnt -n -o OPTIONS "$M")
case ",$opts," in *,discard,*) ;; *) fail "no discard in the mount options: $opts" ;; esac
case ",$opts," in *,nobarrier,*) ;; *) fail "no nobarrier in the mount options: $opts" ;; esac
dev=$(findmnt -n -o SOURCE "$M")
case "$dev" in /dev/loop*) ;; *) fail "$M is not on a loop device: $dev" ;; esac
wc=$(cat "/sys/block/${dev#/dev/}/queue/write_cache")
[ "$wc" = "write back" ] || fail "$dev: write_cache is '$wc'; the loop device's own setting must stay 'write back'"

step "write 1 GiB"
dd if=/dev/zero of="$M/big" bs=1M count=1024 oflag=direct status=none
sync -f "$M"
a1=$(allocated "$id")
echo "allocated after writing 1 GiB: $((a1 / MiB)) MiB"
[ $((a1 - a0)) -ge $((1000 * MiB)) ] || fail "allocated grew by only $(((a1 - a0) / MiB)) MiB"

step "delete, trim: the space comes back"
rm "$M/big"
sync -f "$M"
fstrim -v "$M" >&2
sync -f "$M"
a2=$(allocated "$id")
echo "allocated after delete + trim: $((a2 / MiB)) MiB (was $((a0 / MiB)) MiB after mkfs)"
[ "$a2" -le $((a0 + 64 * MiB)) ] || fail "only $(((a1 - a2) / MiB)) MiB of $(((a1 - a0) / MiB)) MiB came back"
S=$(state_of sv)
cephvol volume unmount "$M"
grep -E "stopping: " "$S.log" | tail -n 1 >&2
