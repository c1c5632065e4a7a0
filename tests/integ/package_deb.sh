#!/usr/bin/env bash
# timeout: 600
# package_deb.sh - the Debian package (`make deb`) installs, works, starts
# nothing, and goes away without a trace:
#  - built (incrementally) with make deb; lintian reports nothing that is
#    not overridden with a reason (deploy/debian/lintian-overrides);
#  - dpkg -i on this machine: the three programs print the version of
#    common/version.h, which is the package's; cephvold --check-config and
#    cephvol status with a configuration pointing at the test's cluster;
#    man -w finds cephvol(8) and cephvol.conf(5), every page renders and
#    has a NAME whatis reads; the unit is installed, not enabled, not
#    started, and no cephvold runs;
#  - dpkg -r leaves only the conffiles; dpkg -P leaves nothing of what
#    dpkg -L listed (but directories that were there before), and no
#    /etc/cephvol;
#  - a second round for what the maintainer scripts decide: a changed
#    conffile survives reinstalling; remove warns about a volume still
#    mounted under /var/lib/cephvol and purge keeps that directory then,
#    and keeps a master key in /etc/cephvol (and /etc/cephvol with it);
#    purge removes the links of `systemctl enable cephvold`.
# It installs into this machine's real /usr and /etc, so it refuses to run
# (fails: it must not be skipped unnoticed) where cephvol is installed
# already, as a package or by `make install PREFIX=/usr`, or where
# /etc/cephvol or /var/lib/cephvol exist; at exit, whatever happened, the
# package is purged and what the test made is removed.
. "$(dirname "$0")/../functions.sh"
requires_root
requires dpkg dpkg-deb dpkg-query make lintian man lexgrog systemctl

ceph_env
test_pool
write_config

version=$(sed -n 's/^#define[[:space:]]*CEPHVOL_VERSION[[:space:]]*"\([^"]*\)".*/\1/p' \
    "$CEPHVOL_SRC/common/version.h")
[ -n "$version" ] || fail "no CEPHVOL_VERSION in common/version.h"
arch=$(dpkg --print-architecture)
deb=$CEPHVOL_BUILD/cephvol_${version}_${arch}.deb

# status: the package's dpkg status ("" when dpkg never knew it)
status() { dpkg-query -W -f='${Status}' cephvol 2>/dev/null || true; }

# dpkg_run ARGS...: dpkg, waiting (2 min at most) while another dpkg or
# apt holds its lock; output in $OUT (and the log)
dpkg_run() {
	local i rc
	for (( i = 0; i < 120; i++ )); do
		rc=0
		OUT=$(dpkg "$@" 2>&1) || rc=$?
		printf '%s\n' "$OUT" >&2
		if [ "$rc" != 0 ] && [[ "$OUT" == *"lock"* ]] && [[ "$OUT" == *"held by"* || "$OUT" == *"locked"* ]]; then
			sleep 1
			continue
		fi
		return "$rc"
	done
	fail "dpkg $*: its lock stayed taken for 2 minutes"
}

step "refuse to run where cephvol is installed already"
st=$(status)
case "$st" in
""|"unknown ok not-installed"|"purge ok not-installed"|"deinstall ok not-installed") ;;
*) fail "package cephvol is on this machine already ($st): this test installs and purges it; run 'dpkg -P cephvol' first" ;;
esac
for p in /etc/cephvol /var/lib/cephvol /usr/local/bin/cephvol /usr/local/sbin/cephvold \
    /etc/systemd/system/multi-user.target.wants/cephvold.service \
    /etc/systemd/system/docker.service.wants/cephvold.service; do
	[ ! -e "$p" ] || fail "$p exists: cephvol is installed or configured on this machine, which this test would change; remove it first"
done

step "make deb (version $version)"
make -C "$CEPHVOL_SRC" BUILD="$CEPHVOL_BUILD" deb > "$T/make.log" 2>&1 ||
    { tail -n 30 "$T/make.log" >&2; fail "make deb failed (log above)"; }
[ -f "$deb" ] || fail "make deb made no $deb"
assert_eq "$(dpkg-deb -f "$deb" Version)" "$version" "the package's version"
assert_eq "$(dpkg-deb -f "$deb" Package)" cephvol "the package's name"

step "lintian: nothing but what is overridden with a reason"
# its temp files (lintian leaves one) in $T, removed with it
mkdir -p "$T/lintian-tmp"
TMPDIR=$T/lintian-tmp lintian --info --display-info --pedantic \
    --fail-on error,warning,info,pedantic "$deb" > "$T/lintian.log" 2>&1 || { cat "$T/lintian.log" >&2; fail "lintian has tags for $deb (above)"; }
if grep -E '^[EWIPX]: ' "$T/lintian.log" >&2; then
	fail "lintian has tags for $deb (above)"
fi

step "none of the package's files is on this machine yet"
# paths as dpkg -L prints them: /., /etc, /etc/cephvol, ...
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|; s|/$||; s|^$|/.|' | sort -u > "$T/contents"
: > "$T/dirs.before"
while read -r p; do
	[ "$p" = /. ] && continue
	# a directory, or a link to one (/lib on a merged /usr); one that no
	# package lists (/etc/docker/plugins, made by start_cephvold) goes
	# with the last package that does, if empty: dpkg -P may remove it
	if [ -d "$p" ]; then
		echo "$p" >> "$T/dirs.before"
		dpkg -S "$p" >/dev/null 2>&1 || echo "$p" >> "$T/dirs.unowned"
	elif [ -e "$p" ] || [ -L "$p" ]; then
		fail "$p exists, from no package: this test would overwrite it, then remove it"
	fi
done < "$T/contents"

# remake_dirs: the directories of dirs.unowned that dpkg removed, made
# again as they were (root's, 0755, as dpkg makes them)
remake_dirs() {
	local d
	[ -f "$T/dirs.unowned" ] || return 0
	while read -r d; do
		[ -d "$d" ] && continue
		echo "making $d again (unowned, empty: dpkg removed it with cephvol)" >&2
		mkdir -m 0755 -p "$d"
	done < "$T/dirs.unowned"
}

# Whatever happens from here, the machine is given back as it was: the
# package purged, what the second round made removed.
restore() {
	local st
	mountpoint -q /var/lib/cephvol/mounts/t 2>/dev/null && umount /var/lib/cephvol/mounts/t
	st=$(status)
	case "$st" in
	""|*not-installed) ;;
	*) echo "restore: purging cephvol ($st)" >&2; dpkg_run -P cephvol >/dev/null 2>&1 || true ;;
	esac
	remake_dirs
	rm -f /etc/cephvol/master.key
	[ -d /etc/cephvol ] && rmdir /etc/cephvol
	rm -rf --one-file-system /var/lib/cephvol
	rm -f /etc/systemd/system/multi-user.target.wants/cephvold.service \
	    /etc/systemd/system/docker.service.wants/cephvold.service
	[ -n "$had_wants" ] || rmdir /etc/systemd/system/docker.service.wants 2>/dev/null
	return 0
}
had_wants=
[ -d /etc/systemd/system/docker.service.wants ] && had_wants=1
cleanup_fn restore

# cephvold processes of the installed binary (there must be none): the
# same file, not the same name (a cephvold in a container, such as a
# managed plugin's, is /usr/sbin/cephvold in its own mount namespace)
installed_cephvold() {
	local p
	for p in /proc/[0-9]*; do
		[ "$p/exe" -ef /usr/sbin/cephvold ] 2>/dev/null && echo "${p#/proc/}"
	done
	return 0
}

step "dpkg -i"
dpkg_run -i "$deb" || fail "dpkg -i $deb failed"
assert_eq "$(status)" "install ok installed" "status after dpkg -i"
assert_contains "$OUT" "cephvold is installed but not enabled or started"
dpkg -L cephvol | sort -u > "$T/listed"
diff -u "$T/contents" "$T/listed" >&2 || fail "dpkg -L differs from the package's contents"
dpkg-query -W -f='${Conffiles}\n' cephvol | awk 'NF { print $1 }' | sort > "$T/conffiles"
assert_eq "$(tr '\n' ' ' < "$T/conffiles")" "/etc/cephvol/cephvol.conf /etc/docker/plugins/cephvol.spec " "conffiles"

step "the installed programs: --version, --check-config, status on the test's cluster"
assert_eq "$(/usr/bin/cephvol --version)" "cephvol $version"
assert_eq "$(/usr/sbin/cephvold --version)" "cephvold $version"
assert_eq "$(/usr/sbin/cephvol-mount --version)" "cephvol-mount $version"
out=$(/usr/sbin/cephvold -c "$CEPHVOL_CONF" --check-config)
assert_eq "$out" "configuration ok: $CEPHVOL_CONF"
/usr/sbin/cephvold --check-config > /dev/null || fail "the installed default configuration does not check"
out=$(/usr/bin/cephvol -c "$CEPHVOL_CONF" status)
assert_contains "$out" "pool:         $POOL"
assert_contains "$out" "object write and read back: ok"

step "manual pages: man -w, every page renders and has a NAME"
assert_eq "$(man -w cephvol)" /usr/share/man/man8/cephvol.8.gz "man -w cephvol"
assert_eq "$(man -w 5 cephvol.conf)" /usr/share/man/man5/cephvol.conf.5.gz "man -w 5 cephvol.conf"
assert_eq "$(man -w cephvold)" /usr/share/man/man8/cephvold.8.gz "man -w cephvold"
pages=0
for m in $(grep '^/usr/share/man/man[1-9]/.*\.gz$' "$T/listed"); do
	text=$(MANWIDTH=80 man -l "$m" 2> "$T/man.err") || fail "man -l $m failed: $(cat "$T/man.err")"
	[ ! -s "$T/man.err" ] || fail "man -l $m: $(cat "$T/man.err")"
	name=$(basename "$m" .gz)
	name=${name%.*}
	assert_contains "$text" "NAME"
	lexgrog "$m" > "$T/whatis" 2>&1 || fail "whatis cannot read the NAME of $m: $(cat "$T/whatis")"
	assert_contains "$(cat "$T/whatis")" "\"$name - "
	pages=$((pages + 1))
done
[ "$pages" -ge 12 ] || fail "only $pages manual pages in the package"
for p in cephvol cephvold cephvol-mount; do
	grep -qx "/usr/share/man/man8/$p.8.gz" "$T/listed" || fail "no manual page for $p"
done

step "the unit is installed, not enabled, not started"
unit=/lib/systemd/system/cephvold.service
grep -qx "$unit" "$T/listed" || fail "$unit is not in the package"
grep -qx 'ExecStart=/usr/sbin/cephvold -c /etc/cephvol/cephvol.conf' "$unit" ||
    fail "$unit does not run /usr/sbin/cephvold: $(grep ExecStart "$unit")"
grep -q '@SBINDIR@\|@DOCDIR@' "$unit" && fail "$unit has a placeholder left: $(grep @ "$unit")"
en=$(systemctl is-enabled cephvold.service 2>&1) || true
assert_eq "$en" disabled "systemctl is-enabled cephvold"
if [ -d /run/systemd/system ]; then
	act=$(systemctl is-active cephvold.service 2>&1) || true
	assert_eq "$act" inactive "systemctl is-active cephvold"
fi
[ -z "$(installed_cephvold)" ] || fail "a cephvold of /usr/sbin runs: $(installed_cephvold)"
[ ! -e /run/docker/plugins/cephvol.sock ] || fail "/run/docker/plugins/cephvol.sock exists"
[ ! -e /var/lib/cephvol ] || fail "/var/lib/cephvol was made by installing"

step "dpkg -r: only the conffiles stay"
dpkg_run -r cephvol || fail "dpkg -r cephvol failed"
assert_eq "$(status)" "deinstall ok config-files" "status after dpkg -r"
while read -r p; do
	if grep -qx -- "$p" "$T/conffiles"; then
		[ -f "$p" ] || fail "conffile $p is gone after dpkg -r"
	elif [ -e "$p" ] && [ ! -d "$p" ]; then
		fail "$p is still there after dpkg -r"
	fi
done < "$T/listed"

step "dpkg -P: nothing left"
dpkg_run -P cephvol || fail "dpkg -P cephvol failed"
case "$(status)" in
""|*not-installed) ;;
*) fail "status after dpkg -P: $(status)" ;;
esac
while read -r p; do
	[ "$p" = /. ] && continue
	if grep -qx -- "$p" "$T/dirs.before"; then
		[ -d "$p" ] || grep -qx -- "$p" "$T/dirs.unowned" ||
		    fail "$p, there before the test, is gone"
	elif [ -e "$p" ] || [ -L "$p" ]; then
		fail "$p is still there after dpkg -P"
	fi
done < "$T/listed"
[ ! -e /etc/cephvol ] || fail "/etc/cephvol is still there after dpkg -P: $(ls -A /etc/cephvol)"
[ ! -e /var/lib/cephvol ] || fail "/var/lib/cephvol is there after dpkg -P"
remake_dirs

step "round two: a changed conffile survives reinstalling"
dpkg_run -i "$deb" || fail "dpkg -i $deb (again) failed"
echo "# changed by $TEST_NAME" >> /etc/cephvol/cephvol.conf
dpkg_run -i "$deb" || fail "dpkg -i $deb over itself failed"
assert_not_contains "$OUT" "not enabled or started"
grep -qx "# changed by $TEST_NAME" /etc/cephvol/cephvol.conf || fail "reinstalling lost the change to cephvol.conf"
[ -z "$(installed_cephvold)" ] || fail "a cephvold of /usr/sbin runs after reinstalling"

step "round two: enabled, a volume mounted, a master key: remove and purge keep what is not theirs"
systemctl enable cephvold.service >&2 || fail "systemctl enable cephvold failed"
[ -L /etc/systemd/system/multi-user.target.wants/cephvold.service ] ||
    fail "systemctl enable made no multi-user.target link"
mkdir -p /var/lib/cephvol/mounts/t
mount -t tmpfs -o size=1m cvt-package-deb /var/lib/cephvol/mounts/t
(umask 077; head -c 32 /dev/urandom > /etc/cephvol/master.key)
dpkg_run -r cephvol || fail "dpkg -r cephvol (round two) failed"
assert_contains "$OUT" "volumes are still mounted under /var/lib/cephvol"
assert_contains "$OUT" "/var/lib/cephvol/mounts/t"
dpkg_run -P cephvol || fail "dpkg -P cephvol (round two) failed"
assert_contains "$OUT" "volumes are still mounted under /var/lib/cephvol: keeping it"
assert_contains "$OUT" "keeping /etc/cephvol"
assert_contains "$OUT" "master.key"
mountpoint -q /var/lib/cephvol/mounts/t || fail "purge took the mount away"
[ -s /etc/cephvol/master.key ] || fail "purge removed the master key"
[ ! -e /etc/cephvol/cephvol.conf ] || fail "purge left /etc/cephvol/cephvol.conf"
for l in /etc/systemd/system/multi-user.target.wants/cephvold.service \
    /etc/systemd/system/docker.service.wants/cephvold.service; do
	[ ! -L "$l" ] || fail "purge left $l"
done
[ -n "$had_wants" ] || [ ! -d /etc/systemd/system/docker.service.wants ] ||
    fail "purge left /etc/systemd/system/docker.service.wants"

step "round two: purge again with nothing mounted removes the state"
umount /var/lib/cephvol/mounts/t
rm -f /etc/cephvol/master.key
rmdir /etc/cephvol
dpkg_run -i "$deb" || fail "dpkg -i $deb (round two, again) failed"
dpkg_run -P cephvol || fail "dpkg -P cephvol (round two, again) failed"
[ ! -e /var/lib/cephvol ] || fail "purge with nothing mounted left /var/lib/cephvol"
[ ! -e /etc/cephvol ] || fail "/etc/cephvol is still there after dpkg -P"
remake_dirs
