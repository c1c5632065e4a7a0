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
# prints what it does and the commands it runs: the cluster, the config, a
# master key and a secret, cephvold, a private dockerd, a container writing
# a volume and the next reading it, a container reading the secret.
# stop_demo stops what they started: dockerd and cephvold by pid, then any
# mount left under the demo directory, then the cluster.
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

# stop_pid PID: TERM, wait up to 15 s, then KILL.
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for (( i = 0; i < 150; i++ )); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stage_secret() {
	stage "a master key and a secret, sealed in the cluster"
	if [ ! -e "$demo/master.key" ]; then
		run "$bin/cephvol" key init
	fi
	if "$bin/cephvol" secret inspect demo_password >/dev/null 2>&1; then
		printf 'demo-password-%s' "$(date +%s)" | run "$bin/cephvol" secret update demo_password
	else
		printf 'demo-password-%s' "$(date +%s)" | \
		    run "$bin/cephvol" secret create demo_password --uid 1000 --gid 1000 --mode 0400
	fi
	run "$bin/cephvol" secret ls
}

stage_cephvold() {
	stage "cephvold, the Docker volume plugin, on $demo/plugin.sock (driver cephvol-demo)"
	mkdir -p /etc/docker/plugins
	echo "unix://$demo/plugin.sock" > /etc/docker/plugins/cephvol-demo.spec
	if alive "$demo/cephvold.pid"; then
		echo "cephvold already running (pid $(cat "$demo/cephvold.pid"))"
		return 0
	fi
	setsid "$bin/cephvold" -d -c "$conf" > "$demo/cephvold.log" 2>&1 < /dev/null &
	echo $! > "$demo/cephvold.pid"
	local i
	for (( i = 0; i < 100; i++ )); do
		curl -sf --unix-socket "$demo/plugin.sock" -X POST http://plugin/Plugin.Activate \
		    >/dev/null 2>&1 && break
		kill -0 "$(cat "$demo/cephvold.pid")" 2>/dev/null ||
		    { tail -n 20 "$demo/cephvold.log" >&2; die "cephvold exited (log above)"; }
		sleep 0.1
	done
	[ "$i" -lt 100 ] || die "cephvold did not answer in 10 s; see $demo/cephvold.log"
	echo "cephvold pid $(cat "$demo/cephvold.pid"), log $demo/cephvold.log"
}

stage_dockerd() {
	local D=$demo/docker i
	stage "a private dockerd in $D (socket $D/docker.sock) with a busybox image"
	mkdir -p "$D/root" "$D/exec" "$D/cli"
	export DOCKER_HOST=unix://$D/docker.sock DOCKER_CONFIG=$D/cli
	if ! alive "$D/dockerd.pid.own"; then
		setsid dockerd --storage-driver=overlay2 --iptables=false --ip-forward=false \
		    --ip-masq=false --bridge=none --data-root "$D/root" --exec-root "$D/exec" \
		    -H "$DOCKER_HOST" --pidfile "$D/docker.pid" > "$D/dockerd.log" 2>&1 < /dev/null &
		echo $! > "$D/dockerd.pid.own"
		for (( i = 0; i < 300; i++ )); do
			docker info >/dev/null 2>&1 && break
			sleep 0.1
		done
		[ "$i" -lt 300 ] || die "dockerd did not answer in 30 s; see $D/dockerd.log"
	fi
	if ! docker image inspect localhost/busybox:demo >/dev/null 2>&1; then
		local r=$D/bbroot
		rm -rf "$r"
		mkdir -p "$r/bin" "$r/etc" "$r/tmp"
		cp "$(command -v busybox)" "$r/bin/busybox"
		chroot "$r" /bin/busybox --install -s /bin
		printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n' > "$r/etc/passwd"
		printf 'root:x:0:\napp:x:1000:\n' > "$r/etc/group"
		chmod 1777 "$r/tmp"
		tar -C "$r" -cf "$D/rootfs.tar" . && rm -rf "$r"
		docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' "$D/rootfs.tar" \
		    localhost/busybox:demo >/dev/null
	fi
	echo "dockerd pid $(cat "$D/dockerd.pid.own"); image localhost/busybox:demo"
}

stage_volume() {
	stage "a volume in Ceph, written by one container and read by the next"
	run docker volume create -d cephvol-demo -o size=1G demo-data >/dev/null
	run docker run --rm --pull never --network none -v demo-data:/data localhost/busybox:demo \
	    sh -c 'echo "written at $(date) by container $(hostname)" >> /data/hello; sync'
	run docker run --rm --pull never --network none -v demo-data:/data localhost/busybox:demo cat /data/hello
	run docker volume inspect demo-data
	echo "The bytes live in RADOS objects of pool cephvol; the container that wrote"
	echo "them is gone, and a container on any host of this cluster would see them."
}

stage_secret_container() {
	stage "a secrets volume: the secret as a read-only, memory-only file in a container"
	docker volume inspect demo-secrets >/dev/null 2>&1 ||
	    run docker volume create -d cephvol-demo -o type=secrets -o secrets=demo_password \
	    demo-secrets >/dev/null
	run docker run --rm --pull never --network none --user 1000:1000 -v demo-secrets:/run/secrets:ro \
	    localhost/busybox:demo sh -c 'ls -ln /run/secrets; echo "value: $(cat /run/secrets/demo_password)"'
	echo "The value was decrypted on this host into locked memory only; uid 1000 may read"
	echo "it because the secret is owned by 1000 with mode 0400."
}

STAGES=(stage_check stage_cluster stage_config stage_status stage_secret stage_cephvold
    stage_dockerd stage_volume stage_secret_container)

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
	echo "    cephvol status; cephvol volume ls; cephvol secret ls"
	echo "    export DOCKER_HOST=unix://$demo/docker/docker.sock"
	echo "    docker run --rm -it -v demo-data:/data localhost/busybox:demo"
	bold "To stop it and remove $demo:"
	echo "    deploy/demo.sh stop"
}

stop_demo() {
	if [ ! -e "$demo" ]; then
		echo "no demo in $demo"
		return 0
	fi
	[ -e "$marker" ] || die "$demo was not made by deploy/demo.sh; not touching it"
	local D=$demo/docker
	if alive "$D/dockerd.pid.own"; then
		export DOCKER_HOST=unix://$D/docker.sock DOCKER_CONFIG=$D/cli
		ids=$(timeout 10 docker ps -aq 2>/dev/null) || true
		# shellcheck disable=SC2086
		[ -z "$ids" ] || timeout 30 docker rm -f $ids >/dev/null 2>&1 || true
		stop_pid "$(cat "$D/dockerd.pid.own")"
	fi
	if alive "$demo/cephvold.pid"; then
		stop_pid "$(cat "$demo/cephvold.pid")"
	fi
	# volumes still mounted (a container killed with the daemon): unmount
	for m in $(awk -v d="$demo/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	rm -f /etc/docker/plugins/cephvol-demo.spec
	"$src/tests/lib/ceph.sh" stop "$demo/ceph"
	rm -rf --one-file-system "$demo"
	echo "demo stopped, $demo removed"
}

case "$action" in
start) start_demo ;;
stop) stop_demo ;;
env) print_env ;;
esac
