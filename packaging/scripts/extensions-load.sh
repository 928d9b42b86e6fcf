#!/bin/sh
# Usage: extensions-load.sh add|remove EXTENSION LOADFILE
#
# Adds EXTENSION to osquery's autoload list LOADFILE, once, or takes exactly
# that line out again. Every other line (the admin's extensions, comments,
# blank lines) is left as it was. The package scripts, install.sh and the
# pkgbuild recipe all call this one file, so they edit the list the same way.
#
# LEGACY_PORTS_ROOT (default empty) is put in front of LOADFILE, so that tests
# and image builds work on another root directory; EXTENSION is written as
# given, since it is the path osqueryd will see.
set -eu

if [ $# -ne 3 ]; then
	echo "usage: $0 add|remove EXTENSION LOADFILE" >&2
	exit 2
fi
action=$1
ext=$2
load=${LEGACY_PORTS_ROOT:-}$3
umask 022

# osqueryd trims blanks around each line before it uses it, so a line of ours
# written with stray blanks still counts as ours. ENVIRON keeps backslashes
# in a path literal, where awk -v would interpret them.
has_line() {
	[ -f "$load" ] && EXT=$ext awk '
		{ sub(/^[ \t\r]+/, ""); sub(/[ \t\r]+$/, "") }
		$0 == ENVIRON["EXT"] { found = 1 }
		END { exit !found }' "$load"
}

case $action in
add)
	has_line && exit 0
	mkdir -p "$(dirname "$load")"
	# An admin's file without a final newline would glue our path onto
	# their last line.
	if [ -s "$load" ] && [ "$(tail -c 1 "$load" | wc -l)" -eq 0 ]; then
		echo >>"$load"
	fi
	echo "$ext" >>"$load"
	;;
remove)
	has_line || exit 0
	tmp=$(mktemp "$load.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	EXT=$ext awk '
		{ l = $0; sub(/^[ \t\r]+/, "", l); sub(/[ \t\r]+$/, "", l) }
		l != ENVIRON["EXT"]' "$load" >"$tmp"
	# Rewrite in place rather than rename, so the file keeps the owner,
	# mode and security label the admin gave it.
	cat "$tmp" >"$load"
	;;
*)
	echo "$0: unknown action $action (want add or remove)" >&2
	exit 2
	;;
esac
