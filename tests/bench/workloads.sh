# tests/bench/workloads.sh - the workloads, the same for every target
# (bash, sourced after lib.sh).
#
# fio: one job file per workload in BENCH_OUT/jobs, written once per run;
# a target adds only where the I/O goes (--filename + --ioengine=libaio
# for a mounted filesystem, --ioengine=rbd ... for librbd) on fio's
# command line, where it acts as a global option of the job file.
#
#	seqwrite   1 MiB writes, sequential, direct, iodepth 16, BENCH_SIZE
#	seqread    the same file read back the same way
#	randwrite  4 KiB random writes, direct, iodepth 16, BENCH_RUNTIME s
#	randread   4 KiB random reads, direct, iodepth 16, BENCH_RUNTIME s
#	fsync      4 KiB random writes through the page cache, fsync after
#	           each, iodepth 1, BENCH_RUNTIME s: IOPS, p50 and p99 of one
#	           write + fsync (the sum of the two latencies' percentiles)
#	walfsync   a database's log: 4 KiB writes appended to a file, fsync
#	           after each, iodepth 1, BENCH_RUNTIME s (every fsync also
#	           commits the file's new size); on a block device (librbd)
#	           sequential 4 KiB writes with a flush after each, the
#	           fewest round trips a durable append can take
#	waldsync   PostgreSQL's log as it really writes it: 8 KiB overwrites
#	           of an already written file (its WAL segments are zero-filled
#	           when made), fdatasync after each, iodepth 1, BENCH_RUNTIME
#	           s; on a block device 8 KiB writes with a flush after each
#
# seqwrite fills the whole file first, so the random jobs and seqread work
# on written blocks (ext4 reads unwritten extents as zeros without I/O).
# Non-fio workloads work on a mounted directory:
#	untar      extract BENCH_TAR (~20,000 files) then `sync -f`, seconds
#	pgbench    PostgreSQL 15 on the directory: pgbench -i -s PG_SCALE,
#	           then PG_REPS runs of pgbench -c 8 -j 2 -T PG_TIME, TPS

FIO_WORKLOADS="seqwrite seqread randwrite randread fsync walfsync waldsync"

write_jobs() {
	local d=$BENCH_OUT/jobs
	mkdir -p "$d"
	cat > "$d/seqwrite.fio" <<EOF
[global]
rw=write
bs=1M
iodepth=16
direct=1
size=$BENCH_SIZE
[seqwrite]
EOF
	cat > "$d/seqread.fio" <<EOF
[global]
rw=read
bs=1M
iodepth=16
direct=1
size=$BENCH_SIZE
[seqread]
EOF
	cat > "$d/randwrite.fio" <<EOF
[global]
rw=randwrite
bs=4k
iodepth=16
direct=1
size=$BENCH_SIZE
time_based=1
runtime=$BENCH_RUNTIME
randrepeat=0
norandommap=1
[randwrite]
EOF
	cat > "$d/randread.fio" <<EOF
[global]
rw=randread
bs=4k
iodepth=16
direct=1
size=$BENCH_SIZE
time_based=1
runtime=$BENCH_RUNTIME
randrepeat=0
norandommap=1
[randread]
EOF
	cat > "$d/fsync.fio" <<EOF
[global]
rw=randwrite
bs=4k
iodepth=1
direct=0
fsync=1
size=$BENCH_SIZE
time_based=1
runtime=$BENCH_RUNTIME
randrepeat=0
norandommap=1
[fsync]
EOF
	# BENCH_SIZE caps what is appended; the runtime ends it first
	cat > "$d/walfsync.fio" <<EOF
[global]
rw=write
bs=4k
iodepth=1
direct=0
fsync=1
file_append=1
fallocate=none
size=$BENCH_SIZE
runtime=$BENCH_RUNTIME
[walfsync]
EOF
	sed '/^file_append=/d' "$d/walfsync.fio" > "$d/walfsync-dev.fio"
	# the file seqwrite wrote: every block is allocated and written
	cat > "$d/waldsync.fio" <<EOF
[global]
rw=write
bs=8k
iodepth=1
direct=0
fdatasync=1
size=$BENCH_SIZE
time_based=1
runtime=$BENCH_RUNTIME
[waldsync]
EOF
	# fio's rbd engine knows fsync (a flush), not fdatasync
	sed 's/^fdatasync=/fsync=/' "$d/waldsync.fio" > "$d/waldsync-dev.fio"
}

# fio_one TARGET WORKLOAD REP FIO-TARGET-ARGS...: run one job file, record
# its figures.
fio_one() {
	local target=$1 wl=$2 rep=$3 job; shift 3
	local out=$BENCH_OUT/raw/$target.$wl.$rep.json
	job=$BENCH_OUT/jobs/$wl.fio
	# on a block device: nothing to append to, and fio's rbd engine has no
	# fdatasync; the -dev variants write sequentially and flush
	case "$wl" in walfsync|waldsync)
		[[ " $* " == *" --ioengine=rbd "* ]] && job=$BENCH_OUT/jobs/$wl-dev.fio ;;
	esac
	if ! timeout $((BENCH_RUNTIME * 4 + 600)) fio --output-format=json --output="$out" \
		"$@" "$job" 2>"$BENCH_OUT/raw/$target.$wl.$rep.err"; then
		warn "$target $wl: fio failed: $(tail -3 "$BENCH_OUT/raw/$target.$wl.$rep.err" | tr '\n' ' ')"
		return 1
	fi
	local j='.jobs[0]'
	case "$wl" in
	seqwrite) record "$target" seqwrite "$rep" "$(jq "$j.write.bw_bytes / 1048576 | .*10 | round / 10" "$out")" MiB/s ;;
	seqread)  record "$target" seqread "$rep" "$(jq "$j.read.bw_bytes / 1048576 | .*10 | round / 10" "$out")" MiB/s ;;
	randwrite) record "$target" randwrite "$rep" "$(jq "$j.write.iops | round" "$out")" IOPS ;;
	randread) record "$target" randread "$rep" "$(jq "$j.read.iops | round" "$out")" IOPS ;;
	fsync|walfsync|waldsync)
		record "$target" "$wl" "$rep" "$(jq "$j.write.iops | round" "$out")" IOPS
		local p
		for p in 50 99; do
			record "$target" "${wl}_p$p" "$rep" "$(jq "(($j.write.clat_ns.percentile[\"$p.000000\"] // 0)
				+ ($j.sync.lat_ns.percentile[\"$p.000000\"] // 0)) / 1e6 | .*100 | round / 100" "$out")" ms
		done ;;
	esac
}

# fio_all TARGET FIO-TARGET-ARGS...: every fio workload, BENCH_REPS times.
# A repetition runs the five jobs in order, so each rep's reads see the
# file its own seqwrite just wrote.
fio_all() {
	local target=$1 rep wl; shift
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		for wl in $FIO_WORKLOADS; do
			fio_one "$target" "$wl" "$rep" "$@" || true
		done
	done
}

# fio_fs TARGET DIR: the fio workloads on a file in the mounted DIR.
fio_fs() {
	fio_all "$1" --ioengine=libaio --filename="$2/bench.dat"
}

# make_tarball: the untar tree, made once and kept under CEPHVOL_BUILD:
# 20,000 files (100 dirs of 200) of 0-64 KiB, ~330 MiB, from a fixed
# seed, fixed mtimes and owners, so every run extracts the same bytes.
make_tarball() {
	BENCH_TAR=$CEPHVOL_BUILD/bench/tree-v1-20000.tar
	[ -s "$BENCH_TAR" ] && return 0
	mkdir -p "$(dirname "$BENCH_TAR")"
	say "making the untar tree $BENCH_TAR (once)"
	python3 - "$BENCH_TAR.tmp" <<'PY' || die "cannot make the untar tree"
import io, random, sys, tarfile
rng = random.Random(20000)
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as tar:
    def add(name, data=None):
        ti = tarfile.TarInfo(name)
        ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 1764000000, 0, 0, "root", "root"
        if data is None:
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(ti)
        else:
            ti.size, ti.mode = len(data), 0o644
            tar.addfile(ti, io.BytesIO(data))
    add("tree")
    for d in range(100):
        add("tree/d%03d" % d)
        for f in range(200):
            # most files small, some up to 64 KiB: mean ~16 KiB
            size = int(min(65536, rng.expovariate(1 / 16384)))
            add("tree/d%03d/f%03d" % (d, f), rng.randbytes(size))
PY
	mv "$BENCH_TAR.tmp" "$BENCH_TAR"
}

# untar_all TARGET DIR: extract the tree BENCH_REPS times (removing it
# between reps), seconds including `sync -f`; once only when it took more
# than UNTAR_MAX_SECS.
untar_all() {
	local target=$1 dir=$2 rep t0 secs
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		rm -rf "$dir/untar"; sync -f "$dir"
		mkdir -p "$dir/untar"
		t0=$(now)
		if tar -xf "$BENCH_TAR" -C "$dir/untar" && sync -f "$dir/untar"; then
			secs=$(elapsed "$t0")
			record "$target" untar "$rep" "$secs" s
		else
			warn "$target: untar failed"; break
		fi
		# a slow target (CephFS: ~100 s) is not repeated: its noise is
		# small beside its figure, and the run must end in bounded time
		if awk -v s="$secs" -v m="$UNTAR_MAX_SECS" 'BEGIN { exit !(s > m) }'; then
			[ "$rep" -lt "$BENCH_REPS" ] && say "$target: untar took ${secs} s > ${UNTAR_MAX_SECS} s, not repeated"
			break
		fi
	done
}

PG_BIN=/usr/lib/postgresql/15/bin

pg_as() { runuser -u postgres -- "$@"; }

# pg_stop DATA: stop the server of DATA (fast), by its pid if pg_ctl fails.
pg_stop() {
	local data=$1 pid
	[ -f "$data/postmaster.pid" ] || return 0
	pid=$(head -1 "$data/postmaster.pid")
	pg_as "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
	[ -n "$pid" ] && stop_pid "$pid" 10
}

# pgbench_run TARGET DIR: PostgreSQL 15 with its data directory on DIR.
pgbench_run() {
	local target=$1 dir=$2 data=$2/pg sock log=$BENCH_OUT/raw/$1.pg rep out tps t0
	if [ ! -x "$PG_BIN/pgbench" ] || ! id postgres >/dev/null 2>&1; then
		warn "$target: PostgreSQL 15 missing, no pgbench (apt-get install postgresql)"
		return 0
	fi
	sock=$(mktemp -d "$BENCH_TMP/pgsock.XXXXXX")
	chown postgres: "$sock"
	mkdir -p "$data"; chown postgres: "$data"; chmod 700 "$data"
	if ! pg_as "$PG_BIN/initdb" -D "$data" -A trust -U postgres >"$log.initdb" 2>&1; then
		warn "$target: initdb failed (see $log.initdb)"; return 0
	fi
	# the server log is written by postgres: keep it in the socket dir,
	# copy it next to the other raw outputs when the server stops
	cleanup_fn cp "$sock/server.log" "$log.server"
	cleanup_fn pg_stop "$data"
	if ! pg_as "$PG_BIN/pg_ctl" -D "$data" -l "$sock/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories=$sock" start >"$log.start" 2>&1; then
		warn "$target: postgres did not start (see $log.server)"; cleanup_pop; cleanup_pop; return 0
	fi
	t0=$(now)
	if ! pg_as "$PG_BIN/pgbench" -h "$sock" -i -s "$PG_SCALE" -q postgres >"$log.init" 2>&1; then
		warn "$target: pgbench -i failed (see $log.init)"; cleanup_pop; cleanup_pop; return 0
	fi
	record "$target" pgbench_init 1 "$(elapsed "$t0")" s
	for ((rep = 1; rep <= PG_REPS; rep++)); do
		out=$log.run$rep
		if pg_as "$PG_BIN/pgbench" -h "$sock" -c 8 -j 2 -T "$PG_TIME" postgres >"$out" 2>&1; then
			tps=$(awk '/^tps = / { print $3; exit }' "$out")
			[ -n "$tps" ] && record "$target" pgbench "$rep" "$(printf '%.0f' "$tps")" TPS
		else
			warn "$target: pgbench failed (see $out)"
		fi
	done
	cleanup_pop	# pg_stop
	cleanup_pop	# copy the server log
}

# fs_workloads TARGET DIR: everything that runs on a mounted directory.
fs_workloads() {
	say "$1: fio (${BENCH_REPS} reps)"
	fio_fs "$1" "$2"
	say "$1: untar"
	untar_all "$1" "$2"
	say "$1: pgbench"
	pgbench_run "$1" "$2"
}

# fs_clear DIR: delete what the workloads wrote, then trim (ext4 targets).
fs_clear() {
	rm -rf "${1:?}"/bench.dat "$1"/untar "$1"/pg
	sync -f "$1"
	fstrim "$1" >/dev/null 2>&1 || true	# judged by the bytes in RADOS, not by this
	sync -f "$1"
}
