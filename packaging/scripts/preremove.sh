#!/bin/sh
# deb prerm and rpm %preun. Our line leaves extensions.load only when the
# package goes away: deb "remove", rpm $1 = 0 (no version left). On an
# upgrade (deb: upgrade, failed-upgrade, deconfigure; rpm: $1 >= 1) it stays,
# since the new version installs the same path. LEGACY_PORTS_ROOT as in
# postinstall.sh.
set -e
case "$1" in
remove | 0)
	sh "${LEGACY_PORTS_ROOT:-}/usr/lib/legacy-ports/extensions-load.sh" remove \
		/usr/lib/osquery/extensions/legacy_ports.ext /etc/osquery/extensions.load
	echo "legacy-ports: removed from /etc/osquery/extensions.load; a running extension stops when osqueryd restarts"
	;;
esac
