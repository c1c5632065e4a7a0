# tests/lib/fault.sh - the writer, mount and check helpers of the cluster
# fault tests (fault_osd_*.sh, fault_pool_full.sh), sourced after
# tests/functions.sh.
#
#   fault_cluster LEASE    a private cluster, pool and config (sets CLUSTER, M)
#   start_writer | wait_records N SECS | stop_writer | synced | stall
#   fsck_image [VOL] (ext4 or xfs) | verify N | served_errors | no_leftovers | unmount_quiet
#   fault_start            create and mount volume cv, start the writer (sets LOG)
#   fault_finish           stop the writer, unmount, fsck, verify every record
#
# The test sets rec (tests/c/fsync_records) first.

# alive PID: running (a zombie, or a pid already reaped, is not; the shell
# reaps its children by itself, so never ask kill -0 first)
alive() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
synced() { tail -n 4 "$T/rec.out" 2>/dev/null | awk '$1 == "synced" { n = $2 } END { printf "%.0f\n", n }'; }
start_writer() {
	"$rec" run "$M/records" > "$T/rec.out" 2> "$T/rec.err" &
	wpid=$!
	cleanup_fn kill_writer
}
# at exit: a writer stuck in I/O dies only once that I/O ends: wait 30 s
kill_writer() {
	local i
	[ -n "${wpid:-}" ] || return 0
	kill -KILL "$wpid" 2>/dev/null
	for (( i = 0; i < 300; i++ )); do alive "$wpid" || break; sleep 0.1; done
	alive "$wpid" || wait "$wpid" 2>/dev/null
	true
}
writer_failed() {
	local st=0
	wait "$wpid" || st=$?
	wpid=
	fail "the writer stopped (exit status $st) after $(synced) fsync'ed records: $(cat "$T/rec.err")"
}
# wait_records N SECS: until N records are fsync'ed; fail at once if the
# writer stops
wait_records() {
	local want=$1 secs=$2 i
	for (( i = 0; i < secs * 10; i++ )); do
		[ "$(synced)" -ge "$want" ] && return 0
		alive "$wpid" || writer_failed
		sleep 0.1
	done
	fail "the writer has $(synced) records fsync'ed after ${secs}s, waiting for $want"
}
# stop_writer: SIGTERM; it must finish within 60 s, with status 0, no error
stop_writer() {
	local i st=0
	alive "$wpid" || writer_failed
	kill -TERM "$wpid"
	for (( i = 0; i < 600; i++ )); do alive "$wpid" || break; sleep 0.1; done
	alive "$wpid" && fail "the writer did not finish within 60 s of SIGTERM ($(synced) records)"
	wait "$wpid" || st=$?
	wpid=
	[ "$st" = 0 ] || fail "the writer exited with status $st: $(cat "$T/rec.err")"
	[ ! -s "$T/rec.err" ] || fail "the writer reported: $(cat "$T/rec.err")"
	read -r _ WROTE LONGEST LONGEST_AT <<< "$(tail -n 1 "$T/rec.out")"
	assert_eq "$(tail -n 1 "$T/rec.out" | cut -d' ' -f1)" stopped "the writer's last line"
	assert_eq "$WROTE" "$(tail -n 2 "$T/rec.out" | awk '$1 == "synced" { print $2 }')" \
	    "records written vs. fsync'ed"
}
# stall: the longest gap between two fsync'ed records: "MS N END_MS" (N is
# the record that ended it, at wall clock END_MS)
stall() {
	awk '$1 == "synced" { if (p && $3 - p > g) { g = $3 - p; n = $2; e = $3 } p = $3 }
	    END { printf "%.0f %.0f %.0f\n", g, n, e }' "$T/rec.out"
}
now_ms() { date +%s%3N; }
unmount_quiet() { timeout 60 "$CEPHVOL_BIN/cephvol" volume unmount "$M" cv >/dev/null 2>&1 || true; }
no_leftovers() {
	! losetup -n -l -O BACK-FILE | grep -qF "$T/" || fail "loop device left: $(losetup -l)"
	! grep -qF " $T/" /proc/self/mounts || fail "mount left: $(grep -F " $T/" /proc/self/mounts)"
}
# served_errors: the errors cephvol-mount counted, from its last stop line
served_errors() { sed -n 's/.* \([0-9][0-9]*\) errors, at most .*/\1/p' "$LOG" | tail -n 1; }
kill_quiet() { kill -KILL "$1" 2>/dev/null || true; }
# fsck_image [VOLUME]: the filesystem's own checker, read-only (ext4:
# fsck.ext4 -n -f, xfs: xfs_repair -n), on the image of VOLUME (default
# cv), served by its own cephvol-mount
fsck_image() {
	local f=$T/f line L st=0 fst=0 fpid fs
	rm -f "$T/ready"
	mkfifo "$T/ready"
	"$CEPHVOL_BIN/cephvol-mount" --ready-fd 3 "${1:-cv}" "$f" 3> "$T/ready" 2> "$T/f.log" &
	fpid=$!
	cleanup_fn kill_quiet "$fpid"
	read -r line < "$T/ready"
	assert_eq "$line" ok "readiness of cephvol-mount for fsck"
	L=$(losetup -r --direct-io=on -f --show "$f/image")
	fs=$(blkid -o value -s TYPE "$L" || true)
	case $fs in
	ext4)	fsck.ext4 -n -f "$L" > "$T/fsck.out" 2>&1 || st=$? ;;
	xfs)	xfs_repair -n "$L" > "$T/fsck.out" 2>&1 || st=$? ;;
	*)	echo "no checker for filesystem '$fs'" > "$T/fsck.out"; st=1 ;;
	esac
	losetup -d "$L"
	umount "$f"
	wait "$fpid" || fst=$?
	sed 's/^/  fsck: /' "$T/fsck.out" >&2
	assert_eq "$fst" 0 "exit status of cephvol-mount after the fsck"
	assert_eq "$st" 0 "$fs checker's exit status (-n)"
}
# verify N: remount, every one of N fsync'ed records intact, unmount
verify() {
	cephvol volume mount cv "$M"
	"$rec" check "$M/records" "$1" >&2 || fail "fsync'ed records lost or damaged"
	cephvol volume unmount "$M"
	no_leftovers
}


# fault_cluster LEASE: a private cluster (on bluestore even in a --memstore
# run: a killed memstore OSD loses all), a pool, and a config with a lease
# of LEASE seconds whose clients have no admin socket or log (a stalled
# client's socket stalls the next one of the same name). Sets CLUSTER (its
# directory, for cephlib) and M (where cv is mounted).
fault_cluster() {
	unset CEPHVOL_TEST_CONF CEPHVOL_TEST_KEYRING CEPHVOL_TEST_MEMSTORE
	ceph_env
	CLUSTER=$(dirname "$CEPH_CONF")
	test_pool
	awk '{ print } /^\[client\]/ { print "admin socket ="; print "log file =" }' \
	    "$CEPH_CONF" > "$T/ceph.conf"
	write_config ceph.conf="$T/ceph.conf" volume.lease_seconds="$1" log.level=info
	M=$T/m
}
# cephlib ARGS: tests/lib/ceph.sh on the test's cluster (osd-kill, full...).
cephlib() { "$CEPHVOL_SRC/tests/lib/ceph.sh" "$@"; }

# fault_start: volume cv created and mounted on M (unmounted at exit),
# LOG its cephvol-mount's log, and the writer started on M/records.
fault_start() {
	step "create and mount volume cv (lease $(sed -n 's/^lease_seconds = //p' \
	    "$CEPHVOL_CONF") s); the writer starts"
	cephvol volume create cv -o size=512M >/dev/null
	LOG=$(state_of cv).log
	cleanup_fn unmount_quiet
	cephvol volume mount cv "$M"
	start_writer
}

# fault_finish: after the fault, the same checks in every test: the writer
# stops cleanly with no error, the volume unmounts leaving nothing,
# cephvol-mount failed no request, fsck finds the filesystem clean, and
# every record whose fsync returned is there after a remount.
fault_finish() {
	step "stop the writer"
	stop_writer
	step "writer: $WROTE records fsync'ed, 0 errors; longest write+fsync $LONGEST ms (record $LONGEST_AT)"
	step "unmount: clean, nothing left"
	cephvol volume unmount "$M"
	no_leftovers
	local e
	e=$(served_errors)
	step "cephvol-mount counted ${e:-?} failed requests"
	assert_eq "${e:-?}" 0 "requests cephvol-mount failed"
	step "fsck -n -f of the image"
	fsck_image
	step "remount: all $WROTE fsync'ed records intact"
	verify "$WROTE"
}
