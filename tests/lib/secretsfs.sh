# tests/lib/secretsfs.sh - helpers of the secretsfs_* tests, sourced after
# tests/functions.sh (they use T, CEPHVOL_BIN, CEPHVOL_CONF, cleanup_fn,
# wait_for and the cephvol function).

# mk_secret NAME VALUE UID GID MODE
mk_secret() {
	printf '%s' "$2" | cephvol secret create "$1" - --uid "$3" --gid "$4" --mode "$5" >/dev/null
}
# upd_secret NAME VALUE
upd_secret() { printf '%s' "$2" | cephvol secret update "$1" - >/dev/null; }

# start_sfs VOLUME DIR [ARGS...]: cephvol-mount --secrets in the background;
# waits for its readiness line; sets MPID and READY.
start_sfs() {
	local vol=$1 dir=$2
	shift 2
	rm -f "$T/ready"
	"$CEPHVOL_BIN/cephvol-mount" --secrets -c "$CEPHVOL_CONF" --ready-fd 3 \
	    --pid-file "$T/sfs.pid" "$@" "$vol" "$dir" 3>"$T/ready" 2>>"$T/sfs.log" &
	MPID=$!
	cleanup_fn stop_sfs "$MPID" "$dir"
	wait_for 30 grep -q . "$T/ready"
	READY=$(cat "$T/ready")
}
# stop_sfs PID DIR: unmount, wait for the process; MSTATUS its status.
stop_sfs() {
	local pid=$1 dir=$2 i
	MSTATUS=
	if grep -qF " $dir fuse" /proc/self/mounts; then
		umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
	fi
	for (( i = 0; i < 100; i++ )); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	MSTATUS=0
	wait "$pid" 2>/dev/null || MSTATUS=$?
	return 0
}
