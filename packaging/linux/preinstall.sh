#!/bin/sh
# tilesyncd preinstall (deb: preinst install|upgrade; rpm: %pre 1|2).
# Creates the system user the service runs as: no login shell, home
# /var/lib/tilesyncd (the service's StateDirectory).
set -e

if ! getent group tilesyncd >/dev/null 2>&1; then
	groupadd --system tilesyncd
fi
if ! getent passwd tilesyncd >/dev/null 2>&1; then
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	useradd --system --gid tilesyncd --no-create-home \
		--home-dir /var/lib/tilesyncd --shell "$nologin" \
		--comment "tilesyncd daemon" tilesyncd
fi
exit 0
