#!/usr/bin/env bash
# secretsfs_perms.sh - a secrets tree served by `cephvol-mount --secrets`
# by hand: each file carries its secret's uid, gid and mode and the kernel
# enforces them (uid 1000 reads its 0400 file, uid 1001 does not, uid 1000
# cannot read root's 0400 file, a 0440 file is read through its group);
# every change fails with EROFS; the mount is ro, nosuid, nodev, noexec,
# allow_other, default_permissions; opens are audited (volume, secret,
# version, uid, pid) and no value reaches the log. Clean shutdown: umount
# and SIGTERM (with a file held open) both end the process with status 0
# and no mount. Leak scan: a marker secret, mounted and read, is found in
# no RADOS object (data, omap, xattrs), nowhere under the state dir, the
# mount root or the test's temp dir. Start failures: a granted secret that
# was removed, or a wrong master key, fail the mount with a clear sentence
# on the ready fd and leave no mount.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires_root
requires setpriv rados
ceph_env
test_pool
write_config log.level=info
M=$T/m

. "$(dirname "$0")/../lib/secretsfs.sh"
mounted() { grep -qF " $1 fuse" /proc/self/mounts; }
# as UID GID CMD...: run CMD as UID:GID (no groups) in the mount point, so
# file names are relative: the test's parent dirs may be 0700.
as() { local u=$1 g=$2; shift 2; (cd "$M" && setpriv --reuid "$u" --regid "$g" --clear-groups "$@"); }

# ---- the test ------------------------------------------------------------
MARK=CVLEAK$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
step "master key, secrets, volume"
cephvol key init >/dev/null
mk_secret db_password "$MARK-db" 1000 1000 0400
mk_secret root_key "$MARK-root" 0 0 0400
mk_secret shared "$MARK-shared" 0 1000 0440
cephvol volume create sv -o type=secrets -o secrets=db_password,root_key,shared >/dev/null

step "mount by hand"
start_sfs sv "$M"
assert_eq "$READY" ok "ready line"
pid=$(head -n 1 "$T/sfs.pid")
assert_eq "$pid" "$MPID" "pid file"
opts=$(grep -F " $M fuse" /proc/self/mounts)
for o in ro nosuid nodev noexec default_permissions allow_other; do
	[[ ",$(echo "$opts" | awk '{print $4}')," == *",$o,"* ]] || fail "mount lacks $o: $opts"
done
ls -ln "$M" >&2
assert_eq "$(ls "$M" | tr '\n' ' ')" "db_password root_key shared " "listing"
assert_eq "$(stat -c '%u:%g %a %s' "$M/db_password")" "1000:1000 400 $(( ${#MARK} + 3 ))" "db_password attrs"
assert_eq "$(stat -c '%u:%g %a' "$M/root_key")" "0:0 400" "root_key attrs"
assert_eq "$(stat -c '%u:%g %a' "$M/shared")" "0:1000 440" "shared attrs"
assert_eq "$(stat -c '%u:%g %a' "$M")" "0:0 555" "root dir attrs"
lck=$(awk '/^VmLck:/ { print $2 }' "/proc/$MPID/status")
# (sanitizers intercept mlock and mlockall as no-ops: not checked there)
grep -q 'libasan\|libtsan' "/proc/$MPID/maps" || [ "${lck:-0}" -gt 0 ] ||
    fail "cephvol-mount has no locked memory (VmLck ${lck:-?} kB)"
step "cephvol-mount $MPID: $(grep -E '^(VmLck|VmRSS)' "/proc/$MPID/status" | tr -s ' \t\n' ' ')"

step "permissions enforced by the kernel"
assert_eq "$(as 1000 1000 cat db_password)" "$MARK-db" "uid 1000 reads its 0400 file"
expect_fail as 1001 1001 cat db_password
assert_contains "$ERR" "Permission denied"
expect_fail as 1000 1000 cat root_key
assert_contains "$ERR" "Permission denied"
assert_eq "$(cat "$M/root_key")" "$MARK-root" "root reads root_key"
assert_eq "$(as 1001 1000 cat shared)" "$MARK-shared" "group 1000 reads the 0440 file"
expect_fail as 1001 1001 cat shared

step "read-only: write, create, rename, chmod, chown, rm, mkdir, link, truncate, touch"
cd "$M"
expect_fail sh -c 'echo x > db_password'; assert_contains "$ERR" "Read-only file system"
expect_fail sh -c 'echo x >> db_password'; assert_contains "$ERR" "Read-only file system"
expect_fail sh -c 'echo x > newfile'; assert_contains "$ERR" "Read-only file system"
expect_fail mv root_key moved; assert_contains "$ERR" "Read-only file system"
expect_fail chmod 0644 root_key; assert_contains "$ERR" "Read-only file system"
expect_fail chown 1001 root_key; assert_contains "$ERR" "Read-only file system"
expect_fail rm -f root_key; assert_contains "$ERR" "Read-only file system"
expect_fail mkdir d; assert_contains "$ERR" "Read-only file system"
expect_fail ln root_key hard; assert_contains "$ERR" "Read-only file system"
expect_fail ln -s root_key soft; assert_contains "$ERR" "Read-only file system"
expect_fail truncate -s 0 root_key; assert_contains "$ERR" "Read-only file system"
expect_fail touch root_key; assert_contains "$ERR" "Read-only file system"
cd /
assert_eq "$(cat "$M/root_key")" "$MARK-root" "root_key unchanged"

step "audit log: opens with volume, secret, version, uid, pid; no value"
grep -E "open volume=sv secret=db_password version=1 uid=1000 gid=1000 pid=[0-9]+" "$T/sfs.log" >/dev/null ||
    fail "no audit line for uid 1000's open: $(cat "$T/sfs.log")"
grep -q "mounted secrets volume=sv at $M" "$T/sfs.log" || fail "no mount line in the log"

step "clean unmount: process gone, status 0, no mount"
exec 7< "$M/shared"
expect_fail umount "$M"		# busy while a file is open
exec 7<&-
umount "$M"
t0=$(date +%s%N)
for (( i = 0; i < 100; i++ )); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$MPID" 2>/dev/null && fail "cephvol-mount $MPID still runs 5 s after umount"
wait "$MPID" || fail "cephvol-mount exited with status $? after umount"
step "cephvol-mount exited $(( ($(date +%s%N) - t0) / 1000000 )) ms after umount"
! mounted "$M" || fail "still mounted"
[ ! -e "$T/sfs.pid" ] || fail "pid file left"
grep -q "unmounted secrets volume=sv" "$T/sfs.log" || fail "no unmount line in the log"

step "SIGTERM with a file held open: status 0, no mount"
start_sfs sv "$M"
assert_eq "$READY" ok "ready line"
exec 7< "$M/db_password"
kill -TERM "$MPID"
for (( i = 0; i < 100; i++ )); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$MPID" 2>/dev/null && fail "cephvol-mount $MPID ignores SIGTERM"
wait "$MPID" || fail "cephvol-mount exited with status $? on SIGTERM"
! cat <&7 >/dev/null 2>&1 || fail "an open handle still reads after shutdown"
exec 7<&-
! mounted "$M" || fail "still mounted after SIGTERM"

step "leak scan: the marker in no RADOS object, state dir, mount root, temp dir"
found=
while read -r obj; do
	rados -p "$POOL" get "$obj" "$T/obj" 2>/dev/null || true
	grep -aqF "$MARK" "$T/obj" 2>/dev/null && found+=" $obj(data)"
	while read -r key; do
		[ -n "$key" ] || continue
		rados -p "$POOL" getomapval "$obj" "$key" "$T/val" >/dev/null 2>&1 || continue
		grep -aqF "$MARK" "$T/val" && found+=" $obj[$key]"
		grep -aqF "$MARK" <<< "$key" && found+=" $obj(key $key)"
	done < <(rados -p "$POOL" listomapkeys "$obj" 2>/dev/null)
	while read -r x; do
		[ -n "$x" ] || continue
		rados -p "$POOL" getxattr "$obj" "$x" 2>/dev/null | grep -aqF "$MARK" && found+=" $obj(xattr $x)"
	done < <(rados -p "$POOL" listxattr "$obj" 2>/dev/null)
	rados -p "$POOL" getomapheader "$obj" 2>/dev/null | grep -aqF "$MARK" && found+=" $obj(omap header)"
done < <(rados -p "$POOL" ls)
rm -f "$T/obj" "$T/val"
[ -z "$found" ] || fail "the marker is stored in the clear in RADOS:$found"
nobj=$(rados -p "$POOL" ls | wc -l)
leaks=$(grep -rlaF "$MARK" "$T" "$T/state" "$T/mnt" 2>/dev/null | sort -u || true)
[ -z "$leaks" ] || fail "the marker leaked into: $leaks"
step "marker in none of $nobj objects, nor under $T"

step "start failures: a removed secret, a wrong master key"
mk_secret gone "$MARK-gone" 0 0 0400
cephvol volume create sv2 -o type=secrets -o secrets=db_password,gone >/dev/null
cephvol secret rm gone >/dev/null
start_sfs sv2 "$T/m2"
assert_contains "$READY" "error: "
assert_contains "$READY" "gone"
stop_sfs "$MPID" "$T/m2"
[ "$MSTATUS" != 0 ] || fail "a failed start exited 0"
! mounted "$T/m2" || fail "a failed start left a mount"
mv "$T/master.key" "$T/master.key.good"
cephvol key init >/dev/null 2>&1 || head -c 32 /dev/urandom > "$T/master.key"
chmod 0600 "$T/master.key"
start_sfs sv "$M"
assert_contains "$READY" "error: "
step "wrong key: $READY"
stop_sfs "$MPID" "$M"
! mounted "$M" || fail "a failed start left a mount"
mv "$T/master.key.good" "$T/master.key"
