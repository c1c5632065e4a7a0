# tests/bench/peers.sh - the targets cephvol is measured against (bash,
# sourced after lib.sh and workloads.sh). Each bench_TARGET function sets
# the target up on the run's cluster, runs the workloads, measures space,
# notes durability and tears down everything it made (by pid, mount point,
# loop device), also when a workload fails.
#
# Ceilings (always): rados bench, librbd through fio's rbd engine.
# Peers (--peers):   rbd-fuse + loop (direct I/O) + ext4, CephFS through
#                    ceph-fuse (a mgr and an MDS are added to the run's
#                    cluster for it), ext4 on a loop file on local disk.
# Each setup is described in docs/benchmarks.md ("Targets").

ceph_q() { timeout 60 ceph --conf "$CEPH_CONF" "$@"; }

pool_create() {
	ceph_q osd pool create "$1" "${2:-8}" >/dev/null 2>&1 || return 1
	cleanup_fn pool_delete "$1"
}
pool_delete() {
	ceph_q osd pool rm "$1" "$1" --yes-i-really-really-mean-it >/dev/null 2>&1 || true
}

# --- rados bench ----------------------------------------------------------

# rados_bench_one MODE ARGS...: run rados bench for RADOS_RUNTIME s, print
# its summary to stdout.
rados_bench_one() {
	local mode=$1; shift
	timeout $((RADOS_RUNTIME * 3 + 120)) rados --conf "$CEPH_CONF" -p bench bench \
		"$RADOS_RUNTIME" "$mode" -t 16 "$@" 2>&1
}

bench_rados() {
	local mark rep out
	mark=$(cleanup_mark)
	pool_create bench || { warn "rados: cannot create pool"; return 0; }
	note rados "rados bench -t 16: 4 MiB objects for seq, 4 KiB objects for random; acked = durable"
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		out=$BENCH_OUT/raw/rados.$rep
		rados_bench_one write -b 4M --no-cleanup > "$out.write4m"
		record rados seqwrite "$rep" "$(awk '/^Bandwidth \(MB\/sec\)/ { print $3 }' "$out.write4m")" MiB/s
		rados_bench_one seq > "$out.seq4m"
		record rados seqread "$rep" "$(awk '/^Bandwidth \(MB\/sec\)/ { print $3 }' "$out.seq4m")" MiB/s
		rados --conf "$CEPH_CONF" -p bench cleanup >/dev/null 2>&1
		rados_bench_one write -b 4096 --no-cleanup > "$out.write4k"
		record rados randwrite "$rep" "$(awk '/^Average IOPS/ { print $3 }' "$out.write4k")" IOPS
		rados_bench_one rand > "$out.rand4k"
		record rados randread "$rep" "$(awk '/^Average IOPS/ { print $3 }' "$out.rand4k")" IOPS
		rados --conf "$CEPH_CONF" -p bench cleanup >/dev/null 2>&1
	done
	cleanup_to "$mark"
}

# --- librbd through fio ---------------------------------------------------

# rbd_pool: the pool `rbd`, initialised; removed with the caller's target.
rbd_pool() {
	pool_create rbd || return 1
	timeout 60 rbd --conf "$CEPH_CONF" pool init rbd
}

# bench_librbd [cache]: fio's rbd engine on a 2 GiB image. Without an
# argument the librbd cache is off (rbd_cache=false: a write is acked by
# the OSD, durable, as ours are); with `cache`, librbd's defaults (cache on,
# writethrough until the first flush, then writeback).
bench_librbd() {
	local target=librbd cache=false mark conf
	[ "${1:-}" = cache ] && { target=librbd-cache; cache=true; }
	mark=$(cleanup_mark)
	rbd_pool || { warn "$target: cannot make pool rbd"; return 0; }
	conf=$BENCH_TMP/ceph.$target.conf
	{ cat "$CEPH_CONF"; printf '\n[client]\nrbd cache = %s\n' "$cache"; } > "$conf"
	timeout 60 rbd --conf "$CEPH_CONF" create --size 2G rbd/img || { warn "$target: rbd create failed"; return 0; }
	if [ "$cache" = false ]; then
		note "$target" "rbd_cache=false: acked writes are durable (OSD-acked)"
	else
		note "$target" "rbd_cache=true (default): writeback after the first flush, acked writes not durable until flush"
	fi
	say "$target: fio (${BENCH_REPS} reps)"
	CEPH_CONF=$conf fio_all "$target" --ioengine=rbd --clientname=admin --pool=rbd --rbdname=img
	cleanup_to "$mark"
}

# --- rbd-fuse + loop + ext4 -------------------------------------------------

# bench_rbdfuse [nocache]: rbd-fuse + loop + ext4 on an image of its own.
# Without an argument with librbd's default cache (writes acked before they
# are durable); with `nocache`, rbd_cache=false: an acknowledged write is
# durable, as ours are, through the same FUSE file + loop + ext4 stack (the
# like-for-like peer).
bench_rbdfuse() {
	local t=rbd-fuse mark mnt=$BENCH_TMP/rbdfuse dir=$BENCH_TMP/rbdfuse.fs prefix
	local conf=$CEPH_CONF img=peer
	if [ "${1:-}" = nocache ]; then
		t=rbd-fuse-nocache img=peer-nocache mnt=$BENCH_TMP/rbdfuse-nc dir=$BENCH_TMP/rbdfuse-nc.fs
		conf=$BENCH_OUT/ceph.rbd-nocache.conf
		{ cat "$CEPH_CONF"; printf '\n[client]\nrbd cache = false\n'; } > "$conf"
	fi
	command -v rbd-fuse >/dev/null || { warn "$t: rbd-fuse not installed, skipped"; return 0; }
	mark=$(cleanup_mark)
	rbd_pool || { warn "$t: cannot make pool rbd"; return 0; }
	timeout 60 rbd --conf "$CEPH_CONF" create --size "$VOL_SIZE" "rbd/$img" || { warn "$t: rbd create failed"; return 0; }
	cleanup_fn timeout 120 rbd --conf "$CEPH_CONF" rm --no-progress "rbd/$img"
	prefix=$(rbd --conf "$CEPH_CONF" info "rbd/$img" --format json | jq -r .block_name_prefix)
	mkdir -p "$mnt" "$dir"
	bg_start "$BENCH_OUT/raw/$t.log" rbd-fuse -c "$conf" -p rbd -r "$img" -f "$mnt"
	FUSE_PID=$BG_PID
	cleanup_fn umount_dir "$mnt"
	wait_for 30 test -e "$mnt/$img" || { warn "$t: rbd-fuse did not show rbd/$img"; cleanup_to "$mark"; return 0; }
	loop_attach "$mnt/$img" || { warn "$t: losetup failed"; cleanup_to "$mark"; return 0; }
	mkfs_ext4 "$LOOP_DEV" && mount_dev "$LOOP_DEV" "$dir" || { warn "$t: mkfs/mount failed"; cleanup_to "$mark"; return 0; }
	if [ "$t" = rbd-fuse-nocache ]; then
		note "$t" "rbd_cache=false: an acked write is durable (OSD-acked), as ours are; the same FUSE file + loop + ext4 stack"
	else
		note "$t" "librbd cache on (defaults): writes acked from the cache before they are durable; fsync asks librbd to flush"
	fi
	fs_workloads "$t" "$dir"
	space_rados "$t" "$dir" rbd "$prefix."
	record "$t" rss_peak 1 "$(kib_mib "$(vm_hwm "$FUSE_PID")")" MiB
	cleanup_to "$mark"
}

# space_rados TARGET DIR POOL PREFIX: bytes in RADOS after the workloads,
# then after deleting everything and fstrim.
space_rados() {
	local t=$1 dir=$2 pool=$3 prefix=$4 b i
	sync -f "$dir"
	b=$(rados_du "$pool" "$prefix") && record "$t" space_full 1 "$(( ${b% *} / 1048576 ))" MiB
	fs_clear "$dir"
	# CephFS purges deleted files in the background: give it time
	for ((i = 0; i < ${5:-1}; i++)); do
		b=$(rados_du "$pool" "$prefix") || break
		[ "${b% *}" -lt $((64 << 20)) ] && break
		sleep 1
	done
	[ -n "$b" ] && record "$t" space_trimmed 1 "$(( ${b% *} / 1048576 ))" MiB
}

# --- CephFS through ceph-fuse -------------------------------------------------

# cephfs_daemons: a mgr and an MDS on the run's cluster, their sections
# appended to its ceph.conf, the daemons stopped by pid at the end.
cephfs_daemons() {
	local cdir=$CLUSTER_DIR pid
	mkdir -p "$cdir/mgr/ceph-x" "$cdir/mds/ceph-a"
	cat >> "$CEPH_CONF" <<EOF

[mgr]
mgr data = $cdir/mgr/\$cluster-\$id
keyring = $cdir/mgr/\$cluster-\$id/keyring
mgr disabled modules = dashboard prometheus restful

[mds]
mds data = $cdir/mds/\$cluster-\$id
keyring = $cdir/mds/\$cluster-\$id/keyring
EOF
	ceph_q auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
		> "$cdir/mgr/ceph-x/keyring" || return 1
	ceph-mgr --conf "$CEPH_CONF" -i x >/dev/null 2>&1 || return 1
	wait_for 10 test -s "$cdir/run/mgr.x.pid" || return 1
	pid=$(cat "$cdir/run/mgr.x.pid"); cleanup_fn stop_pid "$pid"
	ceph_q auth get-or-create mds.a mon 'profile mds' osd 'allow rwx' mds 'allow' mgr 'profile mds' \
		> "$cdir/mds/ceph-a/keyring" || return 1
	pool_create cephfs_metadata && pool_create cephfs_data || return 1
	ceph_q fs new cephfs cephfs_metadata cephfs_data >/dev/null 2>&1 || return 1
	cleanup_fn cephfs_rm
	ceph-mds --conf "$CEPH_CONF" -i a >/dev/null 2>&1 || return 1
	wait_for 10 test -s "$cdir/run/mds.a.pid" || return 1
	pid=$(cat "$cdir/run/mds.a.pid"); cleanup_fn stop_pid "$pid"
	wait_for 60 cephfs_active
}
cephfs_active() { ceph_q fs status cephfs 2>/dev/null | grep -q active || ceph_q mds stat 2>/dev/null | grep -q 'up:active'; }
cephfs_rm() {
	ceph_q fs fail cephfs >/dev/null 2>&1 || true
	ceph_q fs rm cephfs --yes-i-really-mean-it >/dev/null 2>&1 || true
}

bench_cephfs() {
	local t=cephfs mark dir=$BENCH_TMP/cephfs
	for c in ceph-fuse ceph-mds ceph-mgr; do
		command -v "$c" >/dev/null || { warn "$t: $c not installed, skipped (apt-get install ceph-fuse ceph-mds ceph-mgr)"; return 0; }
	done
	mark=$(cleanup_mark)
	cephfs_daemons || { warn "$t: mgr/MDS did not come up (see $CLUSTER_DIR/log)"; cleanup_to "$mark"; return 0; }
	mkdir -p "$dir"
	bg_start "$BENCH_OUT/raw/$t.log" ceph-fuse -c "$CEPH_CONF" -f "$dir"
	FUSE_PID=$BG_PID
	cleanup_fn umount_dir "$dir"
	wait_for 30 is_mounted "$dir" || { warn "$t: ceph-fuse did not mount"; cleanup_to "$mark"; return 0; }
	note "$t" "ceph-fuse client cache: writes acked before durable; fsync flushes to the OSDs"
	fs_workloads "$t" "$dir"
	space_rados "$t" "$dir" cephfs_data "" 60
	record "$t" rss_peak 1 "$(kib_mib "$(vm_hwm "$FUSE_PID")")" MiB
	cleanup_to "$mark"
}

# --- ext4 on a loop file on local disk ------------------------------------------

bench_local() {
	local t=local mark img=$BENCH_TMP/local.img dir=$BENCH_TMP/local.fs
	mark=$(cleanup_mark)
	truncate -s "$VOL_SIZE" "$img"
	cleanup_fn rm -f "$img"
	mkdir -p "$dir"
	loop_attach "$img" || { warn "$t: losetup failed"; cleanup_to "$mark"; return 0; }
	mkfs_ext4 "$LOOP_DEV" && mount_dev "$LOOP_DEV" "$dir" || { warn "$t: mkfs/mount failed"; cleanup_to "$mark"; return 0; }
	note "$t" "one local disk, loop with direct I/O: durable on fsync, no replication"
	fs_workloads "$t" "$dir"
	sync -f "$dir"
	record "$t" space_full 1 "$(( $(stat -c %b "$img") * 512 / 1048576 ))" MiB
	fs_clear "$dir"
	record "$t" space_trimmed 1 "$(( $(stat -c %b "$img") * 512 / 1048576 ))" MiB
	cleanup_to "$mark"
}
