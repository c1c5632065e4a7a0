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
#  - a table cell in a text block (T{ ... T}) followed by another cell:
#    tbl wants the tab on the T} line, go-md2man starts a new line;
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
	# the title: NAME SECTION DATE SOURCE (man-pages(7))
	/^\.TH / && !th { printf ".TH \"%s\" \"%s\" \"%s\" \"cephvol %s\"\n", toupper(name), sec, date, ver; th = 1; next }
	/^\.SH / { in_name = ($0 == ".SH NAME"); print; next }
	in_name && /^\.PP$/ { next }
	in_name && NF && !named { named = 1; i = index($0, " - "); if (i) $0 = name " \\- " substr($0, i + 3) }
	in_name && NF { gsub(/ - /, " \\- ") }
	# "T}" then a line starting with the next cell: one line
	held != "" { if (substr($0, 1, 1) == "\t") { print held $0; held = ""; next } print held; held = "" }
	/^T}$/ { held = $0; next }
	{ gsub(/\\fB\\fC/, "\\fB"); print }
	END { if (held != "") print held }'
