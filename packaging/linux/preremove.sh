#!/bin/sh
# tilesyncd preremove (deb: prerm remove|upgrade|deconfigure; rpm: %preun 0 erase, 1 upgrade).
# Stops and disables the service when the package goes away, not on upgrade.
set -e

# Debian's helpers honour policy-rc.d and track the enable state; systemctl elsewhere.
if command -v deb-systemd-invoke >/dev/null 2>&1; then
	invoke=deb-systemd-invoke helper=deb-systemd-helper
else
	invoke=systemctl helper=systemctl
fi

case "$1" in
	remove | 0)
		if [ -d /run/systemd/system ]; then
			$invoke stop tilesyncd.service >/dev/null 2>&1 || true
		fi
		$helper disable tilesyncd.service >/dev/null 2>&1 || true
		;;
esac
exit 0
