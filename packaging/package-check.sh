#!/bin/sh
# Usage: package-check.sh PACKAGE.deb
#
# `make package-check`: installs the .deb on this machine with dpkg, checks
# what an admin relies on, and removes it again. It changes the machine, so it
# is not part of `make test`; it needs root and dpkg, and refuses to run where
# legacy-ports is already installed. /etc/osquery/extensions.load is put back
# as it was found.
set -eu

deb=$1
ext=/usr/lib/osquery/extensions/legacy_ports.ext
load=/etc/osquery/extensions.load
admin_line=/opt/acme/acme_inventory.ext

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
ok() { echo "ok: $*"; }

[ "$(id -u)" -eq 0 ] || fail "run as root"
command -v dpkg >/dev/null || fail "dpkg is not installed"
[ -f "$deb" ] || fail "no package at $deb"
if dpkg -s legacy-ports >/dev/null 2>&1; then
	fail "legacy-ports is already installed here; remove it first (dpkg -r legacy-ports)"
fi

# Keep the admin's extensions.load, if any, and restore it on the way out.
backup=$(mktemp)
had_load=no
had_dir=no
[ -d /etc/osquery ] && had_dir=yes
if [ -f "$load" ]; then
	had_load=yes
	cp -p "$load" "$backup"
fi
restore() {
	dpkg -r legacy-ports >/dev/null 2>&1 || true
	if [ "$had_load" = yes ]; then
		cp -p "$backup" "$load"
	else
		rm -f "$load"
		[ "$had_dir" = yes ] || rmdir /etc/osquery 2>/dev/null || true
	fi
	rm -f "$backup"
}
trap restore EXIT

# An admin's list, without a final newline, that is there before we are.
mkdir -p /etc/osquery
printf '# extensions of this host\n%s' "$admin_line" >"$load"
echo "--- $load before install:"
cat "$load"
echo

echo "--- dpkg -i $deb"
dpkg -i "$deb"

echo "--- checks after install"
[ -f "$ext" ] || fail "$ext is missing"
owner_mode=$(stat -c '%U:%G %a' "$ext")
[ "$owner_mode" = "root:root 755" ] || fail "$ext is $owner_mode, want root:root 755"
ok "$ext is $owner_mode"
case $(stat -c '%A' "$(dirname "$ext")") in
*t | *T) fail "$(dirname "$ext") has the sticky bit" ;;
esac
ok "$(dirname "$ext") is $(stat -c '%U:%G %a' "$(dirname "$ext")"), not sticky"
"$ext" --spec >/dev/null || fail "$ext --spec failed"
ok "$ext --spec runs"

cli=$(command -v legacy-ports) || fail "legacy-ports is not on PATH"
ok "legacy-ports on PATH at $cli"
rc=0
legacy-ports scan >/dev/null || rc=$?
[ "$rc" -le 1 ] || fail "legacy-ports scan exited $rc"
ok "legacy-ports scan exited $rc (0: nothing found, 1: found)"
n=$(legacy-ports query --format csv "SELECT count(*) AS n FROM legacy_port_registry" | tail -n 1) ||
	fail "legacy-ports query failed (it runs /usr/bin/legacy-ports-query)"
[ "$n" -gt 0 ] || fail "legacy-ports query counted $n registry entries"
ok "legacy-ports query runs through legacy-ports-query ($n registry entries)"

count() { grep -cxF "$1" "$load" || true; }
[ "$(count "$ext")" -eq 1 ] || fail "$load lists $ext $(count "$ext") times"
[ "$(count "$admin_line")" -eq 1 ] || fail "$load lost the admin's line"
ok "$load lists the extension once and keeps the admin's line"

echo "--- dpkg -i again (reinstall)"
dpkg -i "$deb" >/dev/null
[ "$(count "$ext")" -eq 1 ] || fail "after a reinstall $load lists $ext $(count "$ext") times"
ok "reinstall leaves one line"
echo "--- $load installed:"
cat "$load"

echo "--- dpkg -r legacy-ports"
dpkg -r legacy-ports
[ ! -e "$ext" ] || fail "$ext is still there"
for f in /usr/bin/legacy-ports /usr/bin/legacy-ports-query; do
	[ ! -e "$f" ] || fail "$f is still there"
done
[ "$(count "$ext")" -eq 0 ] || fail "$load still lists $ext"
[ "$(count "$admin_line")" -eq 1 ] || fail "$load lost the admin's line on removal"
grep -qxF '# extensions of this host' "$load" || fail "$load lost the admin's comment"
ok "removal took our line out and kept the admin's line and comment"
echo "--- $load after removal:"
cat "$load"
echo "package-check passed"
