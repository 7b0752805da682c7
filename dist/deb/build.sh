#!/bin/sh
# build.sh ROOT VERSION ARCH OUTDIR: turn ROOT, a `make install PREFIX=/usr DESTDIR=ROOT` tree,
# into OUTDIR/mitogend_VERSION_ARCH.deb with dpkg-deb alone (no debhelper, no source package:
# the Go build needs the module cache, which a Debian source build would not have). Adds what
# Debian policy asks of a binary package: DEBIAN/control and md5sums, the copyright file, a
# changelog, compressed documentation, root ownership (--root-owner-group, no fakeroot).
# DEB_MAINTAINER ("Name <mail>") in the environment names the maintainer; lintian calls the
# default's mail host bogus, and is otherwise clean but for the unstated license.
set -eu
root=$1 version=$2 arch=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
case $arch in
amd64 | arm64) ;;
*) echo "build.sh: no Go port named like Debian's $arch; use DEB_ARCH=amd64 or arm64" >&2; exit 1 ;;
esac

maintainer=${DEB_MAINTAINER:-mitogend developers <dev@mitogend.local>}
doc=$root/usr/share/doc/mitogend
install -m 0644 "$here/copyright" "$doc/copyright"
install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/mitogend"
gzip -9 -n -f "$doc/README.md"
# A native package's changelog: one entry naming the commit, dated by it (reproducible).
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf 'mitogend (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
	"$version" "$commit" "$maintainer" "$date" | gzip -9 -n >"$doc/changelog.gz"

find "$root" -type d -exec chmod 0755 {} +
mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s|@MAINTAINER@|$maintainer|" \
	"$here/control.in" >"$root/DEBIAN/control"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

deb=$out/mitogend_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
