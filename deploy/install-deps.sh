#!/usr/bin/env bash
# install-deps.sh - install every Debian package that building, running and
# testing cephvol need. Idempotent: packages already present are skipped,
# apt-get update runs at most once per invocation, and only when something
# is missing; only then is root needed.
#
#   deploy/install-deps.sh [build|run|test|bench|all]   install that set
#   deploy/install-deps.sh --list [SET]                  print it, one a line
#
# Each set includes the ones before it. run: what the programs and
# `make demo` use (a private Ceph cluster, dockerd, FUSE, mkfs). test: what
# tests/ uses on top; every command a test `requires` must come from here,
# else a fresh machine skips that test (tests/integ/deps_complete.sh checks).
# bench: what the benchmarks add: the peers they compare against (rbd-fuse;
# CephFS through ceph-fuse, an MDS and a mgr).
set -euo pipefail

list=
if [ "${1:-}" = --list ]; then
	list=1
	shift
fi
what=${1:-all}
# go-md2man: the manual pages of `make deb`, from docs/*.md (dpkg-dev,
# for dpkg-deb, dpkg-shlibdeps and dpkg-buildflags, comes with
# build-essential)
build=(build-essential pkg-config librados-dev libsodium-dev libfuse3-dev
       libjansson-dev libmicrohttpd-dev go-md2man)
# ceph-mon/-osd/-common: the demo's and the tests' private cluster
# (ceph-authtool, monmaptool via ceph-base); ss (iproute2) picks its ports;
# docker.io brings containerd and runc; busybox-static is the image.
run=(ceph-mon ceph-osd ceph-common fuse3 e2fsprogs xfsprogs util-linux mount iproute2
     docker.io busybox-static curl)
# jq: every API reply; procps: pgrep, ps; fio: mount_integrity;
# python3 and python3-rados: secretsfs_rotate, mount_space; PostgreSQL
# (server and client): snapshot_postgres, and pgbench in the benchmarks;
# lintian, man-db and systemd (systemctl, which works without systemd
# running): package_deb checks the package, its manual pages and its unit.
# docker-registry: plugin_managed's private registry on 127.0.0.1, the
# source of a `docker plugin upgrade`.
test=(jq procps fio python3 python3-rados postgresql postgresql-client lintian man-db systemd docker-registry)
bench=(rbd-fuse ceph-fuse ceph-mds ceph-mgr)

case "$what" in
build) want=("${build[@]}") ;;
run)   want=("${build[@]}" "${run[@]}") ;;
test)  want=("${build[@]}" "${run[@]}" "${test[@]}") ;;
bench|all) want=("${build[@]}" "${run[@]}" "${test[@]}" "${bench[@]}") ;;
*) echo "usage: $0 [--list] [build|run|test|bench|all]" >&2; exit 2 ;;
esac
if [ -n "$list" ]; then
	printf '%s\n' "${want[@]}"
	exit 0
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Only installing needs root: with everything present, anyone may run this
# (make check calls it first).
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Services that packages would start (docker, postgresql, ceph units) are
# not wanted: the tests start their own private instances.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
