#!/usr/bin/env bash
# install-deps.sh - install every Debian package that building, running and
# testing cephvol need. Idempotent: packages already present are skipped and
# apt-get update runs at most once per invocation (and only when something
# is missing). Usage: deploy/install-deps.sh [build|run|test|bench|all]
set -euo pipefail

what=${1:-all}
build=(build-essential pkg-config librados-dev libsodium-dev libfuse3-dev
       libjansson-dev libmicrohttpd-dev)
run=(ceph-mon ceph-osd ceph-common fuse3 e2fsprogs xfsprogs util-linux mount iproute2
     docker.io busybox-static curl)
test=(jq procps)
bench=(fio postgresql rbd-fuse ceph-fuse ceph-mds ceph-mgr)

case "$what" in
build) want=("${build[@]}") ;;
run)   want=("${build[@]}" "${run[@]}") ;;
test)  want=("${build[@]}" "${run[@]}" "${test[@]}") ;;
bench|all) want=("${build[@]}" "${run[@]}" "${test[@]}" "${bench[@]}") ;;
*) echo "usage: $0 [build|run|test|bench|all]" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: must run as root to install packages" >&2
	exit 1
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
