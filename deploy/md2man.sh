#!/usr/bin/env bash
# md2man.sh - one manual page from one of docs/*.md, for `make deb`.
#
#   deploy/md2man.sh PAGE.md VERSION DATE > NAME.SECTION
#
# The page's first line names it, man style: "# cephvol(8)". The body is
# converted by go-md2man (Debian's package of it, in the build set of
# deploy/install-deps.sh); around it, what go-md2man 2.0.2 (Debian 12)
# gets wrong or cannot know:
#  - links to other pages ([cephvol-lock(8)](cephvol-lock.md)) keep their
#    text only: a file name of the source tree means nothing in man;
#  - the title line: `.TH NAME SECTION DATE "cephvol VERSION"` instead of
#    the heading's text; the NAME section without the paragraph macro,
#    with `\-`, and the page's name before it ("cephvol doctor - check"
#    becomes "cephvol-doctor \- check", as git-commit(1) does), which is
#    what whatis (lexgrog) reads: one word per name;
#  - tables: every cell a text block (T{ ... T}), which tbl wraps, in
#    columns sized for an 80-column terminal; go-md2man makes text blocks
#    only of cells with much plain text, so a row of code spans ran off
#    the page, and it puts the tab after a text block on a new line, where
#    tbl wants it on the T} line;
#  - `\fC` (a constant-width font no terminal has) after `\fB`: code is
#    shown bold, as man pages do.
# The result must render with `man -l` without a warning
# (tests/integ/package_deb.sh checks every page of the package).
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 PAGE.md VERSION DATE" >&2; exit 2; }
page=$1 version=$2 date=$3
head=$(head -n 1 "$page")
if ! [[ "$head" =~ ^#\ ([a-z][a-z0-9.-]*)\(([1-9])\)$ ]]; then
	echo "md2man: $page: the first line is not '# NAME(SECTION)'" >&2
	exit 1
fi
name=${BASH_REMATCH[1]} section=${BASH_REMATCH[2]}

# links to pages of the tree: their text only
sed -E 's/\[([^]]*)\]\([^)#]*\.md(#[^)]*)?\)/\1/g' "$page" |
    go-md2man |
    awk -v name="$name" -v sec="$section" -v date="$date" -v ver="$version" '
	# the length of a cell as shown: its text less the font escapes
	# c with a break point (\:) after each slash, dot or underscore
	# inside a word
	function breaks(c,    i, n, ch, out) {
		n = length(c); out = ""
		for (i = 1; i <= n; i++) {
			ch = substr(c, i, 1)
			out = out ch
			if (ch ~ /[\/._]/ && i < n && substr(c, i + 1, 1) !~ /[ \n\t]/)
				out = out "\\:"
		}
		return out
	}
	function shown(c) { gsub(/\\f[BIRPC]/, "", c); gsub(/\\&/, "", c); gsub(/\\-/, "-", c); return c }
	# the data of a table (after its format lines, to .TE): each cell
	# again, a text block, left-aligned (justified, a narrow column is all
	# gaps), in a column whose width (in ens) is fixed for an 80-column
	# terminal: each column at least its longest word, the rest shared by
	# how much text each holds (a path or a key may also break after a
	# slash, a dot or an underscore: \: marks where); tbl draws 3 ens
	# around each column and
	# wants 72 ens in all at most (found by trying: more warns "table wider
	# than line width").
	function table(opts, s,    pos, n, ch, cell, r, c, end, nc, i, j, k, w, words, nw, min, weight, total, left, fmt, row) {
		n = length(s); pos = 1; cell = ""; r = 1; c = 1; nc = 0
		while (pos <= n) {
			if (cell == "" && substr(s, pos, 3) == "T{\n") {
				end = index(substr(s, pos + 3), "\nT}")
				cell = substr(s, pos + 3, end - 1)
				pos += 3 + end - 1 + 3
				# go-md2man: the next cell on a new line
				if (substr(s, pos, 2) == "\n\t")
					pos++
				continue
			}
			ch = substr(s, pos++, 1)
			if (ch == "\t") {
				T[r, c++] = cell; cell = ""
			} else if (ch == "\n") {
				if (c > 1 || cell != "") {
					T[r, c] = cell
					if (c > nc) nc = c
					r++
				}
				c = 1; cell = ""
			} else
				cell = cell ch
		}
		if (c > 1 || cell != "") { T[r, c] = cell; if (c > nc) nc = c; r++ }
		for (i = 1; i < r; i++)
			for (j = 1; j <= nc; j++)
				T[i, j] = breaks(T[i, j])
		total = 0; left = 72 - 3 * nc
		for (j = 1; j <= nc; j++) {
			min[j] = 3; weight[j] = 1
			for (i = 1; i < r; i++) {
				w = shown(T[i, j]); weight[j] += length(w)
				nw = split(w, words, /[ \n]+|\\:/)
				for (k = 1; k <= nw; k++)
					if (length(words[k]) > min[j]) min[j] = length(words[k])
			}
			total += weight[j]; left -= min[j]
		}
		fmt = ""
		for (j = 1; j <= nc; j++) {
			w = min[j] + (left > 0 ? int(left * weight[j] / total) : 0)
			fmt = fmt (j > 1 ? " " : "") "lw(" w "n)"
		}
		print opts
		print fmt " ."
		for (i = 1; i < r; i++) {
			row = ""
			for (j = 1; j <= nc; j++) {
				row = row (j > 1 ? "\t" : "") "T{\n.ad l\n" T[i, j] "\nT}"
				delete T[i, j]
			}
			print row
		}
	}
	tbl == 2 && $0 == ".TE" { table(opts, data); data = ""; tbl = 0; print; next }
	tbl == 2 { gsub(/\\fB\\fC/, "\\fB"); data = data $0 "\n"; next }
	# the options line (allbox;), then the format lines of go-md2man, dropped
	tbl == 1 && /;$/ { opts = $0; next }
	tbl == 1 { if ($0 ~ /\.$/) tbl = 2; next }
	/^\.TS$/ { tbl = 1; print; next }
	# the title: NAME SECTION DATE SOURCE (man-pages(7))
	/^\.TH / && !th { printf ".TH \"%s\" \"%s\" \"%s\" \"cephvol %s\"\n", toupper(name), sec, date, ver; th = 1; next }
	/^\.SH / { in_name = ($0 == ".SH NAME"); print; next }
	in_name && /^\.PP$/ { next }
	in_name && NF && !named { named = 1; i = index($0, " - "); if (i) $0 = name " \\- " substr($0, i + 3) }
	in_name && NF { gsub(/ - /, " \\- ") }
	{ gsub(/\\fB\\fC/, "\\fB"); print }'
