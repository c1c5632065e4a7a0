#!/usr/bin/env bash
# deploy/demo.sh - cephvol on one machine, in one command (make demo).
#
#   deploy/demo.sh [--build DIR] [start]   start (or reuse) the demo and show it working
#   deploy/demo.sh stop                    stop the demo cluster and remove its directory
#   deploy/demo.sh env                     print the exports to use the demo by hand
#
# The demo lives in $CEPHVOL_DEMO_DIR (default /var/lib/cephvol-demo): a
# private single-host Ceph cluster (one mon, one OSD on a sparse file,
# tests/lib/ceph.sh) in ceph/, and cephvol.conf pointing at it. A cluster
# already running there is reused.
#
# The demo is a list of stages (STAGES below), each one function that
# prints what it does and the commands it runs. Later stages (create a
# volume, run a container on it, read a secret) are added to the list;
# a stage that starts something registers how to stop it in stop_demo.
set -euo pipefail
unset CEPH_ARGS

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
demo=${CEPHVOL_DEMO_DIR:-/var/lib/cephvol-demo}
action=start

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	start|stop|env) action=$1; shift ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "usage: deploy/demo.sh [--build DIR] [start|stop|env]" >&2; exit 2 ;;
	esac
done
build=$(cd "$build" 2>/dev/null && pwd) || build=$src/build
bin=$build/bin
conf=$demo/cephvol.conf
marker=$demo/.cephvol-demo

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
stage() { echo; bold "==> $*"; }
# run CMD...: show a command, then run it.
run() { printf '$ %s\n' "$*"; "$@"; }
die() { echo "demo: $*" >&2; exit 1; }

# --- stages -----------------------------------------------------------------

stage_check() {
	stage "checking the build and the tools"
	local b
	for b in cephvol cephvold cephvol-mount; do
		[ -x "$bin/$b" ] || die "no $bin/$b: run 'make' (or 'make demo') first"
	done
	for b in ceph-mon ceph-osd ceph rados; do
		command -v "$b" >/dev/null || die "$b missing: run deploy/install-deps.sh run"
	done
	[ "$(id -u)" = 0 ] || die "the demo runs as root (it mounts volumes and talks to dockerd)"
	echo "binaries in $bin, demo state in $demo"
}

stage_cluster() {
	stage "a private Ceph cluster (one monitor, one OSD) in $demo/ceph"
	mkdir -p "$demo"
	touch "$marker"
	if "$src/tests/lib/ceph.sh" status "$demo/ceph" 2>/dev/null; then
		echo "reusing the cluster already running there"
	else
		if [ -e "$demo/ceph" ]; then
			echo "a stopped cluster is there: removing it and starting a fresh one"
			"$src/tests/lib/ceph.sh" stop "$demo/ceph"
		fi
		"$src/tests/lib/ceph.sh" start "$demo/ceph" > "$demo/ceph.env"
	fi
	export CEPH_CONF=$demo/ceph/ceph.conf
	run ceph --conf "$CEPH_CONF" health
}

stage_config() {
	stage "cephvol configuration: $conf"
	cat > "$conf" <<EOF
# cephvol demo configuration, written by deploy/demo.sh
[ceph]
conf = $demo/ceph/ceph.conf
keyring = $demo/ceph/keyring.admin
client = client.admin
pool = cephvol

[plugin]
driver = cephvol-demo
socket = $demo/plugin.sock
state_dir = $demo/state
mount_root = $demo/mnt

[secrets]
master_key = $demo/master.key

[log]
level = info
EOF
	sed -n '/^\[/,$p' "$conf" | sed 's/^/    /'
	export CEPHVOL_CONF=$conf
}

stage_status() {
	stage "cephvol reaches the cluster: fsid, pool, an object written and read back"
	run "$bin/cephvol" status --create-pool
}

STAGES=(stage_check stage_cluster stage_config stage_status)

# --- actions ----------------------------------------------------------------

print_env() {
	echo "export CEPHVOL_CONF=$conf CEPH_CONF=$demo/ceph/ceph.conf PATH=$bin:\$PATH"
}

start_demo() {
	local s
	for s in "${STAGES[@]}"; do
		"$s"
	done
	echo
	bold "The demo is running. To use it by hand:"
	echo "    $(print_env)"
	echo "    cephvol status"
	bold "To stop it and remove $demo:"
	echo "    deploy/demo.sh stop"
}

stop_demo() {
	if [ ! -e "$demo" ]; then
		echo "no demo in $demo"
		return 0
	fi
	[ -e "$marker" ] || die "$demo was not made by deploy/demo.sh; not touching it"
	# stages that start daemons add their stop here, before the cluster
	"$src/tests/lib/ceph.sh" stop "$demo/ceph"
	rm -rf --one-file-system "$demo"
	echo "demo stopped, $demo removed"
}

case "$action" in
start) start_demo ;;
stop) stop_demo ;;
env) print_env ;;
esac
