#!/bin/sh
# Installs legacy-ports from this unpacked release archive, on macOS or Linux:
# the extension where osqueryd autoloads it (root-owned, 0755, in a
# directory without the sticky bit), its line in osquery's extensions.load
# (added once, the admin's other lines kept), and the legacy-ports command
# with legacy-ports-query beside it, which runs its query command.
# `install.sh --uninstall` (what uninstall.sh runs) undoes exactly that.
#
#   macOS: /usr/local/osquery_extensions/legacy_ports.ext, /var/osquery/extensions.load
#   Linux: /usr/lib/osquery/extensions/legacy_ports.ext,   /etc/osquery/extensions.load
#   both:  /usr/local/bin/legacy-ports, /usr/local/bin/legacy-ports-query
#
# LEGACY_PORTS_ROOT (default empty) installs under another root directory, for
# image builds and tests; LEGACY_PORTS_OS (default: uname -s) picks the
# layout, so the macOS one can be tested on Linux.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=${LEGACY_PORTS_ROOT:-}
os=${LEGACY_PORTS_OS:-$(uname -s)}
case $os in
Darwin)
	extdir=/usr/local/osquery_extensions
	load=/var/osquery/extensions.load
	restart="sudo launchctl kickstart -k system/io.osquery.agent"
	;;
Linux)
	extdir=/usr/lib/osquery/extensions
	load=/etc/osquery/extensions.load
	restart="sudo systemctl restart osqueryd"
	;;
*)
	echo "install.sh: $os is not supported (macOS and Linux are)" >&2
	exit 2
	;;
esac
ext=$extdir/legacy_ports.ext
cli=/usr/local/bin/legacy-ports
query=/usr/local/bin/legacy-ports-query

if [ "$(id -u)" -ne 0 ] && [ -z "$root" ]; then
	echo "install.sh: run it as root (sudo $0)" >&2
	exit 2
fi

# put SRC DST: copy as a root-owned 0755 file. The copy goes next to DST and
# is renamed over it, so a running extension keeps its old inode and
# osqueryd never sees a half-written binary.
put() {
	tmp=$(mktemp "$2.XXXXXX")
	cp "$1" "$tmp"
	chmod 0755 "$tmp"
	if [ "$(id -u)" -eq 0 ]; then chown 0:0 "$tmp"; fi
	if [ "$os" = Darwin ]; then
		# A browser download marks the files as quarantined, and
		# Gatekeeper would then stop osqueryd from starting the extension.
		xattr -d com.apple.quarantine "$tmp" 2>/dev/null || true
	fi
	mv -f "$tmp" "$2"
}

case ${1:-} in
"")
	umask 022
	mkdir -p "$root$extdir" "$root${cli%/*}"
	# osqueryd refuses an extension in a sticky directory (like /tmp); the
	# admin's directory is theirs to fix, not ours to change.
	if [ -k "$root$extdir" ]; then
		echo "install.sh: $extdir has the sticky bit; osqueryd will not load extensions from it" >&2
		exit 1
	fi
	put "$here/legacy_ports.ext" "$root$ext"
	put "$here/legacy-ports-query" "$root$query"
	put "$here/legacy-ports" "$root$cli"
	sh "$here/extensions-load.sh" add "$ext" "$load"
	echo "legacy-ports: installed $ext, $cli and $query; listed in $load"
	echo "legacy-ports: osqueryd reads $load when it starts: $restart"
	;;
--uninstall)
	sh "$here/extensions-load.sh" remove "$ext" "$load"
	rm -f "$root$ext" "$root$cli" "$root$query"
	rmdir "$root$extdir" 2>/dev/null || true
	echo "legacy-ports: removed $ext, $cli and $query, and its line in $load"
	echo "legacy-ports: a running extension stops when osqueryd restarts: $restart"
	;;
*)
	echo "usage: $0 [--uninstall]" >&2
	exit 2
	;;
esac
