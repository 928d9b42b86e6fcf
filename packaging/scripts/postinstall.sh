#!/bin/sh
# deb postinst and rpm %post. Whatever the call (deb: configure or abort-*;
# rpm: 1 on install, 2 on upgrade), our line ends up in extensions.load
# exactly once. LEGACY_PORTS_ROOT (default empty) runs it against another
# root directory, as the package tests do.
set -e
sh "${LEGACY_PORTS_ROOT:-}/usr/lib/legacy-ports/extensions-load.sh" add \
	/usr/lib/osquery/extensions/legacy_ports.ext /etc/osquery/extensions.load
# osqueryd reads extensions.load only when it starts. Restarting a host's
# security agent from a package script would surprise whoever runs it, so
# say what to do instead.
echo "legacy-ports: listed in /etc/osquery/extensions.load; restart osqueryd to load it (systemctl restart osqueryd)"
