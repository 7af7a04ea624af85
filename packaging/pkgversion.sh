#!/bin/sh
# pkgversion.sh VERSION: turns a `git describe --tags --always --dirty`
# version into one dpkg and rpm accept and sort correctly:
#   v1.2.3                 -> 1.2.3
#   v1.2.3-rc1             -> 1.2.3~rc1          (before 1.2.3)
#   v1.2.3-4-gabc1234      -> 1.2.3+4.gabc1234   (after 1.2.3)
#   v1.2.3-4-gabc1234-dirty -> 1.2.3+4.gabc1234.dirty
#   abc1234-dirty (no tag) -> 0.0.0+git.abc1234.dirty
#   dev                    -> 0.0.0+git.dev
set -eu
v=${1:?usage: pkgversion.sh VERSION}
v=${v#v}
case "$v" in
[0-9]*.[0-9]*)
	base=${v%%-*}
	rest=${v#"$base"}
	case "$rest" in
	-alpha* | -beta* | -rc*)
		pre=${rest#-}
		pre=${pre%%-*}
		rest=${rest#-"$pre"}
		base="$base~$pre"
		;;
	esac
	rest=$(printf '%s' "$rest" | sed 's/^-//; s/-/./g')
	if [ -n "$rest" ]; then
		v="$base+$rest"
	else
		v="$base"
	fi
	;;
*)
	v="0.0.0+git.$(printf '%s' "$v" | sed 's/-/./g')"
	;;
esac
# Only the characters both dpkg (upstream part) and rpm allow.
printf '%s\n' "$v" | tr -c '0-9A-Za-z.+~\n' '.'
