#!/usr/bin/env bash
# deploy/plugin/build.sh - the Docker managed-plugin bundle (make plugin).
#
#   deploy/plugin/build.sh [--build DIR] [--out OUT] [--release TEXT] [--drop-cap CAP]...
#
# writes OUT (default DIR/plugin, DIR default build/) from the binaries in
# DIR/bin. --release sets the text of /etc/cephvol-release in the rootfs
# (default: cephvol and `git describe` of the tree). --drop-cap CAP leaves
# CAP (such as CAP_SYS_RESOURCE) out of config.json's capabilities, for a
# host whose capability bounding set lacks it: Docker cannot enable a
# plugin that asks for a capability the host does not have.
#
# DIR/plugin is what `docker plugin create NAME DIR/plugin` takes:
# config.json (deploy/plugin/config.json) and rootfs/, a minimal root
# filesystem made from this host's files only (nothing is downloaded):
#
#  - the built cephvold, cephvol-mount (next to cephvold, where cephvold
#    looks first) and cephvol; deploy/plugin/entrypoint.sh as
#    /usr/lib/cephvol/entrypoint (it runs cephvold, again after a crash),
#    with sh (dash) and sleep;
#  - every program the host mount pipeline runs (host/fs.c: blkid,
#    mkfs.ext4, mkfs.xfs, resize2fs, xfs_growfs, dumpe2fs, e2fsck), what
#    libfuse falls back to (fusermount3), and losetup, mount, umount for
#    an operator inside the plugin;
#  - the shared libraries of all of them (ldd), librados's plugins
#    (ceph/compressor, ceph/crypto: loaded at run time) and the dynamic
#    loader, from the installed Debian packages;
#  - /etc: passwd, group, mke2fs.conf (mkfs.ext4's defaults), mtab, an
#    ld.so.cache and cephvol-release (what was built, see --release);
#    empty /etc/ceph, /etc/cephvol, /var/lib/cephvol and /mnt/cephvol for
#    the plugin's mounts.
#
# config.json: the entrypoint runs cephvold, its socket, state dir and mount
# root set with -o to the plugin's paths (the mount root is the plugin's
# propagatedMount); settable mounts ceph, config, state; the host's /dev
# (loop devices made later appear in it) with every device allowed;
# CAP_SYS_ADMIN (mount, loop, FUSE), CAP_SYS_RESOURCE (see
# docs/operations.md, Capabilities), CAP_IPC_LOCK (cephvol-mount locks its
# memory); host network (the monitors) and host PID namespace (cephvold's
# start-up check sees which containers use a mount, and a detached
# cephvol-mount is reaped by the containerd shim, not by cephvold as PID 1).
#
# Run as root (the files keep root ownership, as Docker wants). The layout
# is merged /usr, like Debian 12: /bin, /sbin, /lib, /lib64 are links.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
out=
release=
drop=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	--out) out=$2; shift 2 ;;
	--release) release=$2; shift 2 ;;
	--drop-cap) drop+=("$2"); shift 2 ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "usage: deploy/plugin/build.sh [--build DIR] [--out OUT] [--release TEXT] [--drop-cap CAP]..." >&2
	   exit 2 ;;
	esac
done
die() { echo "plugin: $*" >&2; exit 1; }

bin=$build/bin
out=${out:-$build/plugin}
[ -n "$release" ] ||
    release="cephvol $(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)"
root=$out/rootfs
for b in cephvold cephvol-mount cephvol; do
	[ -x "$bin/$b" ] || die "no $bin/$b: run make first"
done
[ "$(id -u)" = 0 ] || die "run as root: the bundle's files must belong to root"
for c in ${drop[@]+"${drop[@]}"}; do
	[[ "$c" =~ ^CAP_[A-Z_]+$ ]] || die "--drop-cap $c: not a capability name"
	grep -q "\"$c\"" "$src/deploy/plugin/config.json" ||
	    die "--drop-cap $c: deploy/plugin/config.json does not ask for it"
done

# the programs the plugin runs, by where they are on this host
tools=(blkid mkfs.ext4 mkfs.xfs resize2fs xfs_growfs dumpe2fs e2fsck fusermount3
       losetup mount umount sh sleep)

# only a bundle of ours (or nothing) is replaced
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] &&
    ! { [ -f "$out/config.json" ] && [ -d "$out/rootfs" ]; }; then
	die "$out exists and is not a plugin bundle: not replacing it"
fi
rm -rf --one-file-system "$out"
mkdir -p "$root"/usr/bin "$root"/usr/sbin "$root"/usr/lib "$root"/usr/lib64
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

# put PATH: copy a host file to the same path in the rootfs; a symbolic
# link is copied as a link, then what it points to.
put() {
	local f=$1 d t
	f=/${f#/}
	[ -e "$root$f" ] || [ -L "$root$f" ] && return 0
	d=$(dirname "$f")
	mkdir -p "$root$d"
	if [ -L "$f" ]; then
		t=$(readlink "$f")
		ln -s "$t" "$root$f"
		case "$t" in
		/*) put "$t" ;;
		*) put "$d/$t" ;;
		esac
	else
		cp -p "$f" "$root$f"
	fi
}

# libs ELF: every shared library ELF needs (and the loader), copied.
libs() {
	local line lib
	ldd "$1" > "$out/.ldd" 2>&1 || return 0	# not dynamic
	if grep -q 'not found' "$out/.ldd"; then
		die "$1: $(grep 'not found' "$out/.ldd" | tr -s ' \t' ' ')"
	fi
	while read -r line; do
		case "$line" in
		*'=> /'*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		*) continue ;;
		esac
		put "$lib"
		# the library itself, also under its resolved name
		put "$(readlink -f "$lib")"
	done < "$out/.ldd"
}

install -m 0755 "$bin/cephvold" "$root/usr/sbin/cephvold"
install -m 0755 "$bin/cephvol-mount" "$root/usr/sbin/cephvol-mount"
install -m 0755 "$bin/cephvol" "$root/usr/bin/cephvol"
install -D -m 0755 "$src/deploy/plugin/entrypoint.sh" "$root/usr/lib/cephvol/entrypoint"
elfs=("$root/usr/sbin/cephvold" "$root/usr/sbin/cephvol-mount" "$root/usr/bin/cephvol")
for t in "${tools[@]}"; do
	p=$(command -v "$t") || die "$t is not installed (deploy/install-deps.sh run)"
	put "$p"
	elfs+=("$(readlink -f "$p")")
done
cephlib=$(dirname "$(readlink -f "$(ldd "$bin/cephvold" | awk '/libceph-common/ { print $3 }')")")
[ -d "$cephlib" ] || die "cannot find librados's libceph-common"
for p in "$cephlib"/compressor/* "$cephlib"/crypto/*; do
	[ -e "$p" ] || continue
	put "$p"
	[ -L "$p" ] || elfs+=("$p")
done
for e in "${elfs[@]}"; do
	libs "$e"
done
rm -f "$out/.ldd"

# /etc and the mount points
mkdir -p "$root"/etc/ceph "$root"/etc/cephvol "$root"/var/lib/cephvol "$root"/mnt/cephvol \
    "$root"/run/docker/plugins "$root"/dev "$root"/proc "$root"/sys "$root"/tmp "$root"/root
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/mke2fs.conf"
ln -s /proc/self/mounts "$root/etc/mtab"
libdir=$(dirname "$(readlink -f "$(ldd "$bin/cephvold" | awk '/libc\.so/ { print $3 }')")")
printf '%s\n%s\n' "$libdir" "$cephlib" > "$root/etc/ld.so.conf"
ldconfig -r "$root" 2>/dev/null || true

echo "$release" > "$root/etc/cephvol-release"

install -m 0644 "$src/deploy/plugin/config.json" "$out/config.json"
for c in ${drop[@]+"${drop[@]}"}; do
	sed -i -e "s/\"$c\", //; s/, \"$c\"//" "$out/config.json"
done

# each program starts in the new root (its libraries and loader resolve);
# not a build with AddressSanitizer (make asan): its runtime reads /proc,
# which this root has not (the plugin's container has)
if ldd "$root/usr/sbin/cephvold" 2>/dev/null | grep -q libasan; then
	echo "plugin: AddressSanitizer build: the programs' start is not tried in $root" >&2
else
	for p in usr/sbin/cephvold usr/sbin/cephvol-mount usr/bin/cephvol; do
		chroot "$root" "/$p" --help > /dev/null 2>&1 ||
		    die "/$p does not start inside $root: $(chroot "$root" "/$p" --help 2>&1 | head -3)"
	done
fi
for t in "${tools[@]}"; do
	[ -x "$root/usr/sbin/$t" ] || [ -x "$root/usr/bin/$t" ] || die "$t missing from $root"
done
# (the entrypoint itself needs /dev/null: the plugin's /dev is the host's)
chroot "$root" /usr/bin/sh -n /usr/lib/cephvol/entrypoint && chroot "$root" /usr/bin/sleep 0 ||
    die "sh or sleep does not start inside $root"
chroot "$root" /usr/sbin/blkid -V > /dev/null 2>&1 || die "blkid does not start inside $root"
chroot "$root" /usr/sbin/mkfs.xfs -V > /dev/null 2>&1 || die "mkfs.xfs does not start inside $root"
echo "plugin: $out ($(du -sh "$root" | cut -f1) rootfs); next: docker plugin create NAME $out"
