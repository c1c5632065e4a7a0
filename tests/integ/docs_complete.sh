#!/usr/bin/env bash
# docs_complete.sh - the docs name every configuration key and command-line
# option, and document nothing that does not exist:
#  - every key `cephvol --dump-config` prints has a "### `section.key`"
#    entry in docs/cephvol.conf.md stating its default ("Default: `4M`."),
#    and every such entry is a real key;
#  - every long option `cephvol --help` prints appears in docs/cephvol.md,
#    and every long option listed in that page's OPTIONS section exists;
#  - the same for the --help of cephvold and cephvol-mount when their
#    pages (docs/cephvold.md, docs/cephvol-mount.md) exist;
#  - the .md links of README.md, docs/index.md, cephvol.md and
#    cephvol.conf.md lead to pages that exist.
# timeout: 60
. "$(dirname "$0")/../functions.sh"

docs=$CEPHVOL_SRC/docs
[ -x "$CEPHVOL_BIN/cephvol" ] || fail "no $CEPHVOL_BIN/cephvol"
problems=()

step "configuration keys: --dump-config vs docs/cephvol.conf.md"
page=$docs/cephvol.conf.md
[ -f "$page" ] || fail "missing $page"
# no config file: built-in defaults, every key
env -u CEPHVOL_CONF "$CEPHVOL_BIN/cephvol" -c /dev/null --dump-config > "$T/dump"
awk '/^\[/ { gsub(/[][]/, ""); s = $0; next }
     /^[a-z_]+ = / { print s "." $1 }' "$T/dump" | sort -u > "$T/keys.real"
[ -s "$T/keys.real" ] || fail "--dump-config printed no keys"
sed -n 's/^### `\([a-z_]*\.[a-z_]*\)`.*/\1/p' "$page" | sort > "$T/keys.doc.all"
sort -u "$T/keys.doc.all" > "$T/keys.doc"
echo "$(wc -l < "$T/keys.real") keys in --dump-config, $(wc -l < "$T/keys.doc") documented"
for k in $(comm -23 "$T/keys.real" "$T/keys.doc"); do
	problems+=("key $k (from --dump-config) has no '### \`$k\`' entry in docs/cephvol.conf.md")
done
for k in $(comm -13 "$T/keys.real" "$T/keys.doc"); do
	problems+=("docs/cephvol.conf.md documents '$k', which is not a configuration key")
done
for k in $(uniq -d "$T/keys.doc.all"); do
	problems+=("docs/cephvol.conf.md documents '$k' twice")
done
# each entry states the built-in default: "Default: `VALUE`." or "Default: empty."
while read -r k; do
	def=$(awk -v s="${k%%.*}" -v n="${k#*.}" '
	    /^\[/ { gsub(/[][]/, ""); sec = $0; next }
	    sec == s && $1 == n && $2 == "=" { sub(/^[^=]*= ?/, ""); print; exit }' "$T/dump")
	want="Default: \`$def\`"
	[ -n "$def" ] || want="Default: empty"
	entry=$(awk -v h="### \`$k\`" 'index($0, h) == 1 { on = 1; next } /^#/ { on = 0 } on' "$page" | tr '\n' ' ')
	grep -qxF -- "$k" "$T/keys.doc" || continue
	[[ "$entry" == *"$want"* ]] ||
	    problems+=("docs/cephvol.conf.md: the entry for $k does not say '$want'")
done < "$T/keys.real"

# check_options PROGRAM PAGE: long options of PROGRAM --help vs PAGE
check_options() {
	local prog=$1 page=$2 name
	name=$(basename "$prog")
	"$prog" --help > "$T/$name.help" 2>&1 || {
		problems+=("$name --help failed: $(head -n 3 "$T/$name.help")")
		return 0
	}
	grep -o -- '--[a-z][a-z-]*' "$T/$name.help" | sort -u > "$T/$name.opts.real"
	[ -s "$T/$name.opts.real" ] || { problems+=("$name --help lists no long options"); return 0; }
	# options the page lists in its OPTIONS section (up to the next "## ")
	awk '/^## / { on = ($0 ~ /^## OPTIONS/) ; next } on' "$page" |
	    grep -o -- '`-\{1,2\}[a-zA-Z][^`]*`' | grep -o -- '--[a-z][a-z-]*' | sort -u > "$T/$name.opts.doc"
	echo "$name: $(wc -l < "$T/$name.opts.real") long options in --help, $(wc -l < "$T/$name.opts.doc") in the OPTIONS of $(basename "$page")"
	local o
	for o in $(cat "$T/$name.opts.real"); do
		grep -qx -- "$o" "$T/$name.opts.doc" ||
		    problems+=("$name option $o (from --help) is not in the OPTIONS of docs/$(basename "$page")")
	done
	for o in $(comm -13 "$T/$name.opts.real" "$T/$name.opts.doc"); do
		problems+=("docs/$(basename "$page") documents option $o, which $name --help does not list")
	done
}

step "cephvol options: --help vs docs/cephvol.md"
[ -f "$docs/cephvol.md" ] || fail "missing $docs/cephvol.md"
check_options "$CEPHVOL_BIN/cephvol" "$docs/cephvol.md"
for p in cephvold cephvol-mount; do
	if [ -f "$docs/$p.md" ] && [ -x "$CEPHVOL_BIN/$p" ]; then
		step "$p options: --help vs docs/$p.md"
		check_options "$CEPHVOL_BIN/$p" "$docs/$p.md"
	fi
done

step "pages linked from README.md, docs/index.md, cephvol.md, cephvol.conf.md exist"
for page in "$CEPHVOL_SRC/README.md" "$docs/index.md" "$docs/cephvol.md" "$docs/cephvol.conf.md"; do
	[ -f "$page" ] || { problems+=("missing ${page#"$CEPHVOL_SRC"/}"); continue; }
	for l in $(grep -o '](\([a-zA-Z0-9_./-]*\.md\))' "$page" | sed 's/^](//; s/)$//'); do
		[ -f "$(dirname "$page")/$l" ] ||
		    problems+=("${page#"$CEPHVOL_SRC"/} links to $l, which does not exist")
	done
done

if [ ${#problems[@]} -gt 0 ]; then
	printf '  %s\n' "${problems[@]}" >&2
	fail "${#problems[@]} documentation problems"
fi
