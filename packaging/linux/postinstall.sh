#!/bin/sh
# tilesyncd postinstall (deb: postinst configure; rpm: %post 1 install, 2 upgrade).
set -e

case "$1" in
	configure | 1 | 2) ;;
	*) exit 0 ;;
esac

# The state folder, for systems where systemd's StateDirectory= does not
# create it.
install -d -o tilesyncd -g tilesyncd -m 0750 /var/lib/tilesyncd

# The token's environment file: root only, never replaced.
env=/etc/tilesyncd/tilesyncd.env
if [ ! -e "$env" ]; then
	umask 077
	cat >"$env" <<'END'
# The environment of the tilesyncd service, read by systemd as root.
# Put the Mapbox token here (scopes uploads:write, uploads:read, uploads:list):
#MAPBOX_ACCESS_TOKEN=
END
	chmod 0600 "$env"
	chown root:root "$env"
fi

# Debian's helper honours policy-rc.d; systemctl elsewhere.
invoke=systemctl
if command -v deb-systemd-invoke >/dev/null 2>&1; then
	invoke=deb-systemd-invoke
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	# An upgrade restarts a running service; a new install starts nothing
	# until it is configured.
	case "$1" in
		configure) [ -z "$2" ] || $invoke try-restart tilesyncd.service >/dev/null 2>&1 || true ;;
		2) $invoke try-restart tilesyncd.service >/dev/null 2>&1 || true ;;
	esac
fi

if [ "$1" = configure ] && [ -z "$2" ] || [ "$1" = 1 ]; then
	cat <<'END'
tilesyncd is installed but not started. To run it:
  1. edit /etc/tilesyncd/tilesyncd.yaml (check it: tilesyncd check-config --config /etc/tilesyncd/tilesyncd.yaml)
  2. put MAPBOX_ACCESS_TOKEN=... in /etc/tilesyncd/tilesyncd.env
  3. systemctl enable --now tilesyncd
The service runs as the user tilesyncd, which must be able to read the watched folders.
END
fi
exit 0
