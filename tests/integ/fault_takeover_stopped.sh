#!/usr/bin/env bash
# fault_takeover_stopped.sh - takeover from a SIGSTOPped holder under load,
# and the fence must hold without the blocklist. Host A (one configuration)
# mounts volume hv and a writer appends fsync'ed records to it
# (tests/c/fsync_records.c run); A's cephvol-mount is SIGSTOPped past its
# lease (3 s); host B (another Ceph client name and state dir) mounts the
# volume (taking it over, blocklisting A), finds every record A had
# fsync'ed, writes a marker and unmounts (releasing the lease). Then A's
# blocklist entry is REMOVED and A is SIGCONTed: A's writer must get EIO,
# never one more successful fsync, and not one byte of A's may reach RADOS:
# every data object of the volume (tests/c/obj_digest.c: size, version,
# digest) is the same after A resumed, tried and was unmounted as it was
# after B's unmount. B's marker and A's records are intact at the end.
# A private cluster: the blocklist is changed by hand.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 losetup jq ceph-osd
rec=$CEPHVOL_BUILD/tests/fsync_records
digest=$CEPHVOL_BUILD/tests/obj_digest
[ -x "$rec" ] && [ -x "$digest" ] || fail "no $rec or $digest (run make)"
LEASE=3

# (on bluestore even in a --memstore run: a killed memstore OSD loses all)
unset CEPHVOL_TEST_CONF CEPHVOL_TEST_KEYRING CEPHVOL_TEST_MEMSTORE
ceph_env
test_pool
# no admin socket or log for our clients: a SIGSTOPped client's socket
# stalls the next one of the same name
awk '{ print } /^\[client\]/ { print "admin socket ="; print "log file =" }' \
    "$CEPH_CONF" > "$T/ceph.conf"
write_config ceph.conf="$T/ceph.conf" volume.lease_seconds=$LEASE log.level=info
cp "$CEPHVOL_CONF" "$T/a.conf"
MA=$T/ma MB=$T/mb

# host B: its own client with the caps a host needs, its own state dir
B=client.hostb$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
ceph auth get-or-create "$B" mon 'allow r, allow command "osd blocklist"' \
    osd "allow rwx pool=$POOL" -o "$T/keyring.b" >/dev/null
sed -e "s|^client = .*|client = $B|" -e "s|^keyring = .*|keyring = $T/keyring.b|" \
    -e "s|^state_dir = .*|state_dir = $T/state-b|" -e "s|^mount_root = .*|mount_root = $T/mnt-b|" \
    "$T/a.conf" > "$T/b.conf"
grep -q "client = $B" "$T/b.conf" || fail "b.conf: $(cat "$T/b.conf")"
a() { CEPHVOL_CONF=$T/a.conf cephvol "$@"; }
b() { CEPHVOL_CONF=$T/b.conf cephvol "$@"; }
unmount_quiet() { CEPHVOL_CONF=$1 timeout 60 "$CEPHVOL_BIN/cephvol" volume unmount "$2" hv >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$T/a.conf" "$MA"
cleanup_fn unmount_quiet "$T/b.conf" "$MB"

# alive PID: running (a zombie, or a pid already reaped, is not; the shell
# reaps its children by itself, so never ask kill -0 first)
alive() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
synced() { awk '$1 == "synced" { n = $2 } END { printf "%.0f\n", n }' "$T/rec.out" 2>/dev/null; }
# at exit: A's server goes on (so its writer's I/O ends), then the writer dies
cont_a() { [ -z "${apid:-}" ] || kill -CONT "$apid" 2>/dev/null; true; }
kill_writer() {
	local i
	[ -n "${wpid:-}" ] || return 0
	kill -KILL "$wpid" 2>/dev/null
	for (( i = 0; i < 300; i++ )); do alive "$wpid" || break; sleep 0.1; done
	alive "$wpid" || wait "$wpid" 2>/dev/null
	true
}
# snapshot FILE: every data object of the volume, "NAME SIZE VERSION DIGEST"
snapshot() {
	"$digest" -c "$CEPH_CONF" "$POOL" "cephvol.data.$id." > "$1" ||
	    fail "obj_digest failed"
}
# same_objects A B WHEN: the two snapshots are equal
same_objects() {
	if ! cmp -s "$1" "$2"; then
		diff "$1" "$2" | sed 's/^/  /' >&2
		fail "data objects of hv changed $3 (diff above: < after B's unmount, > now)"
	fi
}
no_mounts_of_a() {
	! grep -qF " $MA " /proc/self/mounts || fail "A's filesystem is still mounted"
	! grep -qF " $T/state/vol/" /proc/self/mounts || fail "A's FUSE mount is left"
	! losetup -n -l -O BACK-FILE | grep -qF "$T/state/" || fail "A's loop device is left"
}

step "host A creates hv (lease ${LEASE}s), mounts it; the writer starts"
a volume create hv -o size=256M >/dev/null
id=$(a --json volume inspect hv | jq -r .id)
LOGA=$T/state/vol/$id.log
a volume mount hv "$MA"
apid=$(head -n 1 "$T/state/vol/$id.pid")
addr=$(a --json lock ls hv | jq -r .lease.addr)
[ -n "$addr" ] && [ "$addr" != null ] || fail "no lease address: $(a --json lock ls hv)"
step "A: cephvol-mount $apid, RADOS address $addr"
"$rec" run "$MA/records" > "$T/rec.out" 2> "$T/rec.err" &
wpid=$!
cleanup_fn kill_writer
# and a buffered writer beside it (no fsync: A's page cache holds dirty
# data at the stop, written back once A resumes)
bulk() {
	local i
	for (( i = 0; i < 400; i++ )); do
		head -c 262144 /dev/urandom || return 1
		sleep 0.05
	done
}
bulk > "$MA/bulk" 2>/dev/null &
bpid=$!
kill_bulk() { [ -z "${bpid:-}" ] || { kill -KILL "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null; }; true; }
cleanup_fn kill_bulk
cleanup_fn cont_a
enough() { [ "$(synced)" -ge 200 ] || ! alive "$wpid"; }
wait_for 60 enough
alive "$wpid" || fail "A's writer stopped: $(cat "$T/rec.err")"
step "A's buffered writer has $(( $(stat -c %s "$MA/bulk") >> 20 )) MiB in its file"

step "SIGSTOP A's cephvol-mount at record $(synced)"
kill -STOP "$apid"
t_stop=$(date +%s%3N)
sleep 1
alive "$wpid" || fail "A's writer stopped when its server was stopped: $(cat "$T/rec.err")"
step "A's writer: $(synced) records fsync'ed 1 s after A stopped"

step "host B mounts hv: refused while A's lease runs, then takes over"
ok=
for (( i = 0; i < 60; i++ )); do
	if out=$(b volume mount hv "$MB" 2>&1); then ok=1; break; fi
	assert_contains "$out" "is in use by client.admin"
	sleep 0.5
done
[ -n "$ok" ] || fail "B could not mount hv: $out"
t_took=$(date +%s%3N)
# what A's writer had been told was durable when B took over (an fsync
# whose reply A sent before it stopped may return after the stop)
mark=$(synced)
step "B took hv over $((t_took - t_stop)) ms after A stopped; A's writer had $mark records fsync'ed"
grep -q "taken over from" "$T/state-b/vol/$id.log" || fail "no takeover in B's log: $(cat "$T/state-b/vol/$id.log")"
ceph osd blocklist ls 2>/dev/null | grep -qF "$addr" || fail "A ($addr) is not blocklisted: $(ceph osd blocklist ls 2>&1)"
"$rec" check "$MB/records" "$mark" >&2 || fail "records A had fsync'ed are lost or damaged"
head -c 1048576 /dev/urandom > "$T/marker"
cp "$T/marker" "$MB/marker"
sync -f "$MB/marker"
b volume unmount "$MB"

step "snapshot every data object of hv after B's unmount"
snapshot "$T/d1"
step "$(wc -l < "$T/d1") data objects"

step "remove A's blocklist entry, then SIGCONT A"
ceph osd blocklist rm "$addr" >&2
! ceph osd blocklist ls 2>/dev/null | grep -qF "$addr" || fail "$addr is still blocklisted"
kill -CONT "$apid"
t_cont=$(date +%s%3N)
for (( i = 0; i < 300; i++ )); do alive "$wpid" || break; sleep 0.1; done
if alive "$wpid"; then
	fail "A's writer neither failed nor went on within 30 s of SIGCONT ($(synced) records, $mark when stopped)"
fi
wstatus=0
wait "$wpid" || wstatus=$?
wpid=
step "A's writer exited with status $wstatus $(( $(date +%s%3N) - t_cont )) ms after SIGCONT: $(cat "$T/rec.err")"
after=$(synced)
step "records fsync'ed after A stopped: $((after - mark))"
if [ "$after" != "$mark" ]; then
	grep -v " info: " "$LOGA" | tail -n 4 | sed 's/^/  A: /' >&2
	fail "A's writer was told $((after - mark)) more record(s) were durable after B had" \
	    "taken over: fsync returned 0 after SIGCONT for record(s) $((mark + 1))..$after;" \
	    "once taken over, A must answer EIO"
fi
[ "$wstatus" != 0 ] || fail "A's writer finished without an error"
assert_contains "$(cat "$T/rec.err")" "Input/output error"

for (( i = 0; i < 300; i++ )); do alive "$bpid" || break; sleep 0.1; done
if alive "$bpid"; then
	step "A's buffered writer still runs 30 s after SIGCONT: stopped"
	kill_bulk
else
	bst=0
	wait "$bpid" || bst=$?
	step "A's buffered writer ended with status $bst"
fi
bpid=

step "A's application tries again: a new file with fsync"
st=0
timeout 30 dd if=/dev/urandom of="$MA/after" bs=64k count=16 conv=fsync 2> "$T/dd.err" || st=$?
step "dd exit status $st: $(tail -n 1 "$T/dd.err")"
[ "$st" != 0 ] || fail "A wrote and fsync'ed a new file after it was taken over"
[ "$st" != 124 ] || fail "A's write neither failed nor succeeded within 30 s"
# and whatever A's page cache still holds is pushed out (or refused)
st=0
timeout 30 sync -f "$MA" 2> "$T/sync.err" || st=$?
step "sync -f of A's filesystem: exit status $st $(cat "$T/sync.err")"
[ "$st" != 124 ] || fail "sync of A's filesystem neither failed nor succeeded within 30 s"
# A's server has had its chance to write (writeback, journal): a few s
sleep 3
step "A's lease messages: $(grep -E "LEASE LOST|lost" "$LOGA" | tail -n 2 | tr '\n' ' ')"

step "every data object of hv as it was after B's unmount"
snapshot "$T/d2"
same_objects "$T/d1" "$T/d2" "after A resumed"

step "unmount A: the fenced mount goes away"
st=0
a volume unmount "$MA" > "$T/umount.out" 2>&1 || st=$?
cat "$T/umount.out" >&2
assert_eq "$st" 0 "exit status of A's unmount"
for (( i = 0; i < 100; i++ )); do alive "$apid" || break; sleep 0.1; done
alive "$apid" && fail "A's cephvol-mount $apid still runs after the unmount"
no_mounts_of_a
snapshot "$T/d3"
same_objects "$T/d1" "$T/d3" "when A was unmounted"

step "B mounts again: its marker and A's $mark records are intact"
b volume mount hv "$MB"
cmp "$T/marker" "$MB/marker" || fail "B's marker is damaged"
"$rec" check "$MB/records" "$mark" >&2 || fail "records A had fsync'ed are lost or damaged"
b volume unmount "$MB"
