#!/usr/bin/env bash
# mkdeb.sh - build the Debian package: BUILD/cephvol_VERSION_ARCH.deb
# (`make deb` runs it).
#
#   deploy/mkdeb.sh [--build DIR]        DIR defaults to build
#
# The programs are built again with Debian's hardening flags
# (dpkg-buildflags) in DIR/deb/, installed into a staged tree
# DIR/deb/root with `make install DESTDIR=... PREFIX=/usr`, stripped, and
# the tree gets what a package adds: manual pages made from docs/*.md
# (deploy/md2man.sh), the Debian changelog and copyright, the lintian
# overrides, and DEBIAN/ (control, conffiles, the maintainer scripts of
# deploy/debian/, md5sums). dpkg-deb --build --root-owner-group makes the
# package. Packaging files: deploy/debian/. Needs the build set of
# deploy/install-deps.sh (dpkg-dev, go-md2man).
#
# VERSION is CEPHVOL_VERSION of common/version.h, the one place it is
# written; the date of the manual pages and the changelog is the date of
# the last commit (SOURCE_DATE_EPOCH, if set, wins), so that building the
# same tree twice gives the same files.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=build
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	*) echo "usage: $0 [--build DIR]" >&2; exit 2 ;;
	esac
done
cd "$src"
mkdir -p "$build"
build=$(cd "$build" && pwd)
for c in dpkg-deb dpkg-shlibdeps dpkg-buildflags go-md2man; do
	command -v "$c" >/dev/null ||
	    { echo "mkdeb: $c is missing (deploy/install-deps.sh build)" >&2; exit 1; }
done

version=$(sed -n 's/^#define[[:space:]]*CEPHVOL_VERSION[[:space:]]*"\([^"]*\)".*/\1/p' common/version.h)
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] ||
    { echo "mkdeb: no version in common/version.h" >&2; exit 1; }
arch=$(dpkg --print-architecture)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
day=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
maintainer="cephvol maintainers <maintainers@users.noreply.r-seed-0915dc27.example>"

work=$build/deb
root=$work/root
deb=$build/cephvol_${version}_${arch}.deb
rm -rf "$root" "$work/shlibs"
mkdir -p "$root"

# the programs, hardened as Debian builds them, every hardening feature
# (bindnow too: cephvold and cephvol-mount run as root); -Werror stays: a
# warning the hardening flags bring is a bug to fix, not to ship
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
# make does not know flags: objects built with others are built again,
# the programs always linked again
if [ "$(cat "$work/flags" 2>/dev/null)" != "$cflags $ldflags" ]; then
	rm -rf "$work/obj" "$work/libcephvol.a"
fi
rm -rf "$work/bin"
mkdir -p "$work"
echo "$cflags $ldflags" > "$work/flags"
make BUILD="$work" PREFIX=/usr DOCDIR=/usr/share/doc/cephvol DESTDIR="$root" \
    CFLAGS="$cflags" LDFLAGS="$ldflags" install >&2
for b in usr/bin/cephvol usr/sbin/cephvold usr/sbin/cephvol-mount; do
	strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/$b"
done

# manual pages: every docs/*.md whose first line is "# NAME(SECTION)"
for md in docs/*.md; do
	if [[ "$(head -n 1 "$md")" =~ ^#\ ([a-z][a-z0-9.-]*)\(([1-9])\)$ ]]; then
		dir=$root/usr/share/man/man${BASH_REMATCH[2]}
		mkdir -p "$dir"
		deploy/md2man.sh "$md" "$version" "$day" |
		    gzip -9n > "$dir/${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.gz"
	fi
done

# docs: the pages as they are (the man pages' source, and the guides that
# have no man page); the long ones compressed, as Debian does
doc=$root/usr/share/doc/cephvol
find "$doc" -name '*.md' -size +4k -exec gzip -9n {} +
install -m 0644 deploy/debian/copyright "$doc/copyright"
{
	echo "cephvol ($version) unstable; urgency=medium"
	echo
	echo "  * Built from the cephvol source tree$(git rev-parse --short HEAD 2>/dev/null | sed 's/^/, commit /')."
	echo
	echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$doc/changelog.gz"
mkdir -p "$root/usr/share/lintian/overrides"
install -m 0644 deploy/debian/lintian-overrides "$root/usr/share/lintian/overrides/cephvol"

# DEBIAN/: the libraries the programs link (dpkg-shlibdeps wants a
# debian/control to exist) and the programs they run: fuse3
# (fusermount3, /dev/fuse), e2fsprogs (mkfs.ext4, e2fsck, resize2fs),
# xfsprogs (mkfs.xfs, xfs_growfs: any host may be the first to mount an
# xfs volume); blkid comes from util-linux, which is Essential
mkdir -p "$work/shlibs/debian" "$root/DEBIAN"
printf 'Source: cephvol\n\nPackage: cephvol\nArchitecture: any\n' > "$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e "$root/usr/bin/cephvol" \
    -e "$root/usr/sbin/cephvold" -e "$root/usr/sbin/cephvol-mount" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "mkdeb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
depends="$shlibs, fuse3, e2fsprogs, xfsprogs"
size=$(du -sk --apparent-size "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$size|" -e "s|@DEPENDS@|$depends|" \
    deploy/debian/control.in > "$root/DEBIAN/control"
install -m 0644 deploy/debian/conffiles "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 deploy/debian/$s "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
    xargs md5sum) > "$work/md5sums"
install -m 0644 "$work/md5sums" "$root/DEBIAN/md5sums"

# modes as Debian wants them whatever the umask; owner root (--root-owner-group)
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f ! -path "$root/DEBIAN/*" ! -path "$root/usr/bin/*" ! -path "$root/usr/sbin/*" -exec chmod 0644 {} +
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
