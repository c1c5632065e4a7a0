#!/usr/bin/env bash
# deps_complete.sh - a skip on a fresh machine is a missing install step:
# every command a test `requires` (tests/integ, tests/lib, functions.sh)
# and every Python module one imports to decide whether to skip must come
# from a Debian package that `deploy/install-deps.sh test` installs: one of
# its packages, a package one of them depends on (Depends, Pre-Depends),
# or an Essential one. Checked through dpkg on this machine, so a command
# that is here only by chance (installed by hand, or by the bench set)
# counts as missing.
# timeout: 60
. "$(dirname "$0")/../functions.sh"
requires dpkg dpkg-query

cd "$CEPHVOL_SRC"
sources=(tests/integ/*.sh tests/lib/*.sh tests/functions.sh)

# what may provide a test's command: the set, one level of dependencies,
# and the Essential packages
declare -A ok=()
mapfile -t want < <(deploy/install-deps.sh --list test)
[ "${#want[@]}" -gt 0 ] || fail "deploy/install-deps.sh --list test printed nothing"
for p in "${want[@]}"; do
	ok[$p]=1
	deps=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$p" 2>/dev/null) ||
	    fail "package $p of the test set is not installed (run deploy/install-deps.sh test)"
	for d in $(printf '%s\n' "$deps" | tr ',|' '\n\n' | sed 's/([^)]*)//; s/:any//' | awk 'NF { print $1 }'); do
		ok[$d]=1
	done
done
while read -r p e; do
	[ "$e" = yes ] && ok[$p]=1
done < <(dpkg-query -W -f='${Package} ${Essential}\n')

# pkg_of PATH: PKG = the package that installed PATH (merged /usr: either
# name); remembered, as dpkg -S takes a quarter of a second
declare -A pkg_cache=()
pkg_of() {
	local f=$1 alt
	if [ -n "${pkg_cache[$f]+x}" ]; then
		PKG=${pkg_cache[$f]}
		return
	fi
	case "$f" in
	/usr/bin/*|/usr/sbin/*) alt=${f#/usr} ;;
	/bin/*|/sbin/*) alt=/usr$f ;;
	*) alt=$f ;;
	esac
	pkg_cache[$f]=$({ dpkg -S "$f" 2>/dev/null || dpkg -S "$alt" 2>/dev/null; } |
	    head -n 1 | cut -d: -f1)
	PKG=${pkg_cache[$f]}
}

# the commands: words after `requires`, not variables, not comments
checked=0
missing=()
while IFS=: read -r file line; do
	words=${line#*requires }
	for c in $words; do
		[[ "$c" == *'$'* || "$c" == *'"'* ]] && continue
		path=
		if [[ "$c" == /* ]]; then
			path=$c
		else
			# Debian's own place first (a pyenv shim on PATH is not it)
			for d in /usr/bin /usr/sbin /bin /sbin; do
				[ -x "$d/$c" ] && { path=$d/$c; break; }
			done
			[ -n "$path" ] || path=$(command -v "$c" 2>/dev/null) || true
		fi
		if [ -z "$path" ] || [ ! -e "$path" ]; then
			missing+=("$c (required by $file): not installed")
			continue
		fi
		pkg_of "$path"
		[ -n "$PKG" ] || pkg_of "$(readlink -f "$path")"
		pkg=$PKG
		if [ -z "$pkg" ]; then
			missing+=("$c (required by $file): $path is from no Debian package")
		elif [ -z "${ok[$pkg]+x}" ]; then
			missing+=("$c (required by $file): its package $pkg is not in the test set")
		fi
		checked=$((checked + 1))
	done
done < <(grep -HE '^[[:space:]]*requires [^(]' "${sources[@]}" | grep -v '^[^:]*:[[:space:]]*#' |
    sed -E 's/^([^:]*):[[:space:]]*/\1:/; s/[[:space:]]*(#|\|\||&&|;).*$//')

# the Python modules a test imports to decide whether to skip
for m in $(grep -hoE 'python3 -c "import [a-z_]+"' "${sources[@]}" | awk '{ print $4 }' | tr -d '"' | sort -u); do
	f=$(/usr/bin/python3 -c "import $m; print($m.__file__)" 2>/dev/null) || {
		missing+=("python module $m: not importable by /usr/bin/python3")
		continue
	}
	pkg_of "$f"
	pkg=$PKG
	[ -n "$pkg" ] && [ -n "${ok[$pkg]+x}" ] ||
	    missing+=("python module $m: its package ${pkg:-(none)} is not in the test set")
	checked=$((checked + 1))
done

echo "checked $checked commands and modules against ${#want[@]} packages of the test set" >&2
[ "$checked" -gt 20 ] || fail "found only $checked required commands: is the grep broken?"
if [ ${#missing[@]} -gt 0 ]; then
	printf '  %s\n' "${missing[@]}" >&2
	fail "${#missing[@]} required commands or modules do not come from deploy/install-deps.sh test"
fi
exit 0
