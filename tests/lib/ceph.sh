#!/usr/bin/env bash
# tests/lib/ceph.sh - a private, throwaway single-host Ceph cluster.
#
#   tests/lib/ceph.sh start DIR [--memstore]   start one mon + one OSD under DIR
#   tests/lib/ceph.sh stop DIR                 stop exactly those daemons, rm DIR
#   tests/lib/ceph.sh status DIR               exit 0 if both daemons run
#
# Faults, for tests that inject them (each on the running cluster in DIR):
#   tests/lib/ceph.sh osd-kill DIR [SIGNAL]    signal osd.0 (default KILL) and,
#                                              unless SIGNAL is STOP or CONT,
#                                              wait until it is gone
#   tests/lib/ceph.sh osd-start DIR            start osd.0 again (after osd-kill),
#                                              wait until the mon has it up
#   tests/lib/ceph.sh full DIR on|off          on: set the nearfull, backfillfull
#                                              and full ratios below current use
#                                              and wait until every pool carries
#                                              the `full` flag; off: restore the
#                                              ratios and wait until no pool does
#
# start prints shell exports on stdout (eval them); diagnostics go to stderr.
# The cluster: cephx on, 127.0.0.1 only, a random free mon port, bluestore
# on a sparse file (memstore on request), no mgr, no pools. It is ready for
# `rados put` (once a pool exists) when start returns.
#
# Every pid the script starts is recorded in DIR/pids (from the daemons' pid
# files); stop signals only those, and only while /proc/PID/cmdline still
# names DIR, so a reused pid is never hit.
set -euo pipefail
unset CEPH_ARGS

say() { echo "ceph.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# port_free PORT: nothing listens on 127.0.0.1:PORT (or any address).
port_free() {
	! ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .
}

# pick_port: an even port P with P and P+1 free, from 20000 up to the
# kernel's ephemeral range (net.ipv4.ip_local_port_range: a port there
# may be handed to an outgoing connection between this check and the
# monitor's bind). The tests' own listeners use 10000-19999.
pick_port() {
	local p i top
	top=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${top:-0}" -gt 20100 ] 2>/dev/null || top=50000
	for i in $(seq 1 200); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % (top - 20001) ))
		p=$(( p - p % 2 ))
		if port_free "$p" && port_free $((p + 1)); then
			echo "$p"; return 0
		fi
	done
	return 1
}

# ours PID DIR: PID is alive (not a zombie) and is a daemon of cluster DIR.
ours() {
	local pid=$1 dir=$2 state
	[ -r "/proc/$pid/cmdline" ] || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$state" = Z ] && return 1
	tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/" || return 1
}

# record_pid NAME: wait for DIR/run/NAME.pid and append its pid to DIR/pids.
record_pid() {
	local name=$1 f="$dir/run/$1.pid" i pid
	for i in $(seq 1 100); do
		if [ -s "$f" ]; then
			pid=$(cat "$f")
			echo "$pid $name" >> "$dir/pids"
			return 0
		fi
		sleep 0.05
	done
	die "$name did not write $f (see $dir/log/$name.log)"
}

ceph_cmd() { timeout 30 ceph --conf "$dir/ceph.conf" "$@"; }

cmd_start() {
	local store=bluestore
	[ "${1:-}" = --memstore ] && store=memstore
	[ -n "$dir" ] || die "usage: ceph.sh start DIR [--memstore]"
	if [ -e "$dir/ceph.conf" ]; then
		die "$dir already holds a cluster (stop it first)"
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	mkdir -p "$dir"/{run,log,crash,mon/ceph-a,osd/ceph-0}
	: > "$dir/pids"
	local t0=$SECONDS fsid port conf=$dir/ceph.conf
	fsid=$(cat /proc/sys/kernel/random/uuid)
	port=$(pick_port) || die "no free port pair for the mon"
	cat > "$conf" <<CONF
# Private test cluster made by tests/lib/ceph.sh; stop with: tests/lib/ceph.sh stop $dir
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$port,v1:127.0.0.1:$((port + 1))]
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
# no mgr in this cluster: do not turn HEALTH_WARN after 2 minutes
mon mgr mkfs grace = 31536000
osd crush chooseleaf type = 0
run dir = $dir/run
crash dir = $dir/crash
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
paxos propose interval = 0.05
paxos min wait = 0.01
log to stderr = false
err to stderr = false

[mon]
mon data = $dir/mon/\$cluster-\$id
keyring = $dir/keyring.mon

[osd]
osd data = $dir/osd/\$cluster-\$id
keyring = $dir/osd/\$cluster-\$id/keyring
osd objectstore = $store
bdev aio poll ms = 20
bluestore fsck on mkfs = false
bluestore block path = $dir/osd/\$cluster-\$id/block.img
bluestore block create = true
bluestore block size = 21474836480
bluestore cache autotune = false
bluestore cache size = 268435456
osd memory target = 1073741824
# trim removed snapshots' clones at once (by default the OSD sleeps 5 s
# between trims on a disk it takes for a hard disk; a 0 here means "use
# the per-device value", so those are set too)
osd snap trim sleep = 0
osd snap trim sleep hdd = 0
osd snap trim sleep ssd = 0
osd snap trim sleep hybrid = 0

[client]
keyring = $dir/keyring.admin
log file = $dir/log/\$name.\$pid.log
CONF
	export CEPH_CONF=$conf

	ceph-authtool --create-keyring "$dir/keyring.mon" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-authtool --create-keyring "$dir/keyring.admin" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
	ceph-authtool "$dir/keyring.mon" --import-keyring "$dir/keyring.admin" >/dev/null
	monmaptool --create --fsid "$fsid" \
		--addv a "[v2:127.0.0.1:$port,v1:127.0.0.1:$((port + 1))]" "$dir/monmap" >/dev/null
	ceph-mon --conf "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring.mon" >&2 \
		|| die "ceph-mon --mkfs failed (see $dir/log/mon.a.log)"
	ceph-mon --conf "$conf" -i a >&2 || die "ceph-mon failed to start (see $dir/log/mon.a.log)"
	record_pid mon.a

	local uuid id
	uuid=$(cat /proc/sys/kernel/random/uuid)
	id=$(ceph_cmd osd new "$uuid" 2>>"$dir/log/ceph-cli.log") \
		|| die "ceph osd new failed: mon not reachable on port $port (see $dir/log/mon.a.log)"
	[ "$id" = 0 ] || die "unexpected osd id '$id'"
	ceph-osd --conf "$conf" -i 0 --mkfs --mkkey --no-mon-config --osd-uuid "$uuid" \
		--osd-objectstore "$store" >>"$dir/log/osd-mkfs.log" 2>&1 \
		|| die "ceph-osd --mkfs failed (see $dir/log/osd-mkfs.log, $dir/log/osd.0.log)"
	ceph_cmd auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
		-i "$dir/osd/ceph-0/keyring" >>"$dir/log/ceph-cli.log" 2>&1 || die "ceph auth add osd.0 failed"
	ceph-osd --conf "$conf" -i 0 >&2 || die "ceph-osd failed to start (see $dir/log/osd.0.log)"
	record_pid osd.0

	# Ready when the mon reports the OSD up and in.
	local i up=
	for i in $(seq 1 120); do
		if ceph_cmd osd dump 2>/dev/null | grep -q '^osd\.0 up *in '; then
			up=1; break
		fi
		sleep 0.25
	done
	[ -n "$up" ] || die "osd.0 did not come up in 30 s (see $dir/log/osd.0.log)"
	say "cluster $fsid up in $((SECONDS - t0)) s: $store, mon 127.0.0.1:$port, dir $dir"
	echo "export CEPH_CONF=$conf CEPHVOL_TEST_CONF=$conf CEPHVOL_TEST_KEYRING=$dir/keyring.admin"
}

cmd_stop() {
	[ -n "$dir" ] || die "usage: ceph.sh stop DIR"
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd)
	local pids=() pid name f i
	if [ -f "$dir/pids" ]; then
		while read -r pid name; do pids+=("$pid"); done < "$dir/pids"
	fi
	# Daemons started but not yet recorded (start interrupted mid-way).
	for f in "$dir"/run/*.pid; do
		[ -s "$f" ] && pids+=("$(cat "$f")")
	done
	# And a ceph-osd --mkfs of ours still running (start killed during mkfs):
	# only processes whose command line names this cluster's ceph.conf.
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}; pid=${pid%/cmdline}
		tr "\\0" " " 2>/dev/null < "$f" | grep -qF -- "--conf $dir/ceph.conf " && pids+=("$pid")
	done
	# OSDs before the mon: an OSD tells the mon it goes down and waits
	# (osd_mon_shutdown_timeout, 5 s) when the mon is already gone.
	local osds=() mons=()
	for pid in "${pids[@]}"; do
		ours "$pid" "$dir" || continue
		case " ${osds[*]} ${mons[*]} " in *" $pid "*) continue ;; esac
		if grep -q osd "/proc/$pid/comm" 2>/dev/null; then osds+=("$pid"); else mons+=("$pid"); fi
	done
	stop_pids "${osds[@]}"
	stop_pids "${mons[@]}"
	rm -rf "$dir"
}

# stop_pids PID...: TERM, wait up to 10 s, then KILL (dir is the cluster).
stop_pids() {
	local live=("$@") pid i
	if [ ${#live[@]} -gt 0 ]; then
		kill -TERM "${live[@]}" 2>/dev/null || true
		kill -CONT "${live[@]}" 2>/dev/null || true
		for i in $(seq 1 100); do
			local left=()
			for pid in "${live[@]}"; do ours "$pid" "$dir" && left+=("$pid"); done
			[ ${#left[@]} -eq 0 ] && break
			if [ "$i" = 100 ]; then
				say "killing ${left[*]} after 10 s"
				kill -KILL "${left[@]}" 2>/dev/null || true
				sleep 0.2
			fi
			sleep 0.1
		done
	fi
}

# osd_pid: the recorded pid of osd.0 (the last one recorded).
osd_pid() {
	awk '$2 == "osd.0" { p = $1 } END { if (p) print p; else exit 1 }' "$dir/pids"
}

# gone PID: PID has exited (a zombie counts as exited) or is no daemon of
# this cluster any more.
gone() { ! ours "$1" "$dir"; }

cmd_osd_kill() {
	local sig=${1:-KILL} pid i
	pid=$(osd_pid) || die "no osd.0 recorded in $dir/pids"
	ours "$pid" "$dir" || die "osd.0 ($pid) is not running"
	kill -"$sig" "$pid" || die "cannot send SIG$sig to osd.0 ($pid)"
	case "$sig" in STOP|CONT|SIGSTOP|SIGCONT|19|18) return 0 ;; esac
	for i in $(seq 1 100); do
		gone "$pid" && return 0
		sleep 0.1
	done
	say "osd.0 ($pid) still runs 10 s after SIG$sig: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		gone "$pid" && return 0
		sleep 0.1
	done
	die "osd.0 ($pid) does not stop"
}

cmd_osd_start() {
	local pid i t0=$SECONDS
	if pid=$(osd_pid) && ours "$pid" "$dir"; then
		die "osd.0 ($pid) is running (osd-kill it first)"
	fi
	# the killed daemon's pid file would be read as the new one's, and
	# its line in DIR/pids would make `status` fail
	rm -f "$dir/run/osd.0.pid"
	awk '$2 != "osd.0"' "$dir/pids" > "$dir/pids.new" && mv "$dir/pids.new" "$dir/pids"
	ceph-osd --conf "$dir/ceph.conf" -i 0 >&2 ||
	    die "ceph-osd failed to start (see $dir/log/osd.0.log)"
	record_pid osd.0
	pid=$(osd_pid)
	# the mon may still list the killed daemon as up: wait for this one,
	# whose addresses carry its pid as their nonce
	for i in $(seq 1 240); do
		if ceph_cmd osd dump 2>/dev/null | grep -q "^osd\.0 up *in .*/$pid[],]"; then
			say "osd.0 up again in $((SECONDS - t0)) s"
			return 0
		fi
		sleep 0.25
	done
	die "osd.0 did not come up in 60 s (see $dir/log/osd.0.log)"
}

# pools_full: the number of pools with the `full` flag (not nearfull or
# backfillfull), and the number of pools, as "FULL POOLS".
pools_full() {
	ceph_cmd osd dump 2>/dev/null | awk '/^pool / {
		n++
		for (i = 1; i <= NF; i++)
			if ($i == "flags" && ("," $(i + 1) ",") ~ /,full,/) f++
	} END { print f + 0, n + 0 }'
}

cmd_full() {
	local what=${1:-} saved=$dir/ratios f n i t0=$SECONDS
	case "$what" in
	on)
		# keep the ratios in force now for `full off`
		[ -s "$saved" ] || ceph_cmd osd dump 2>/dev/null |
		    awk '/^(full|backfillfull|nearfull)_ratio / { print $1, $2 }' > "$saved"
		[ "$(wc -l < "$saved")" = 3 ] || { rm -f "$saved"; die "cannot read the full ratios"; }
		# lowest first: the mon wants nearfull <= backfillfull <= full
		ceph_cmd osd set-nearfull-ratio 0.0001 >/dev/null 2>&1 &&
		ceph_cmd osd set-backfillfull-ratio 0.0002 >/dev/null 2>&1 &&
		ceph_cmd osd set-full-ratio 0.0003 >/dev/null 2>&1 || die "cannot set the full ratios"
		for i in $(seq 1 240); do
			read -r f n <<< "$(pools_full)"
			if [ "$n" -gt 0 ] && [ "$f" = "$n" ]; then
				say "$f pool(s) full in $((SECONDS - t0)) s"
				return 0
			fi
			sleep 0.25
		done
		die "the pools did not turn full in 60 s ($(pools_full) full/pools)"
		;;
	off)
		local full=0.95 backfill=0.9 near=0.85
		if [ -s "$saved" ]; then
			full=$(awk '$1 == "full_ratio" { print $2 }' "$saved")
			backfill=$(awk '$1 == "backfillfull_ratio" { print $2 }' "$saved")
			near=$(awk '$1 == "nearfull_ratio" { print $2 }' "$saved")
		fi
		# highest first, for the same order
		ceph_cmd osd set-full-ratio "$full" >/dev/null 2>&1 &&
		ceph_cmd osd set-backfillfull-ratio "$backfill" >/dev/null 2>&1 &&
		ceph_cmd osd set-nearfull-ratio "$near" >/dev/null 2>&1 || die "cannot restore the full ratios"
		rm -f "$saved"
		for i in $(seq 1 240); do
			read -r f n <<< "$(pools_full)"
			if [ "$f" = 0 ] && ! ceph_cmd osd dump 2>/dev/null | grep -q '^osd\..*[ ,]full[ ,]'; then
				say "no pool full any more after $((SECONDS - t0)) s"
				return 0
			fi
			sleep 0.25
		done
		die "the pools are still full 60 s after restoring the ratios"
		;;
	*)	die "usage: ceph.sh full DIR on|off" ;;
	esac
}

cmd_status() {
	[ -f "$dir/pids" ] || return 1
	local pid name n=0
	while read -r pid name; do
		ours "$pid" "$dir" || { say "$name ($pid) not running"; return 1; }
		n=$((n + 1))
	done < "$dir/pids"
	[ "$n" -ge 2 ]
}

action=${1:-}
dir=${2:-}
case "$action" in
start)	shift 2 || true; cmd_start "$@" ;;
stop)	cmd_stop ;;
status)	dir=$(cd "$dir" 2>/dev/null && pwd) || exit 1; cmd_status ;;
osd-kill|osd-start|full)
	dir=$(cd "$dir" 2>/dev/null && pwd) && [ -f "$dir/ceph.conf" ] ||
	    die "no cluster in '${2:-}'"
	export CEPH_CONF=$dir/ceph.conf
	shift 2
	case "$action" in
	osd-kill)	cmd_osd_kill "$@" ;;
	osd-start)	cmd_osd_start ;;
	full)		cmd_full "$@" ;;
	esac
	;;
*)	echo "usage: $0 start DIR [--memstore] | stop DIR | status DIR |" \
	    "osd-kill DIR [SIGNAL] | osd-start DIR | full DIR on|off" >&2; exit 2 ;;
esac
