#!/bin/sh
# tilesyncd postremove (deb: postrm remove|purge|upgrade|…; rpm: %postun 0 erase, 1 upgrade).
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi

# Purging (deb only) removes the token file and the state; the user stays,
# as Debian recommends, so that files it owns never change hands.
if [ "$1" = purge ]; then
	rm -f /etc/tilesyncd/tilesyncd.env
	rmdir /etc/tilesyncd 2>/dev/null || true
	rm -rf /var/lib/tilesyncd
fi
exit 0
