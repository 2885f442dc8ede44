#!/usr/bin/env bash
# The Debian package on a clean Debian 12: a copy of the cached debootstrap
# minbase root (test/fresh-machine/run.sh makes it), no Node, nothing else;
# `apt-get install ./junction_*.deb` must bring every dependency by
# Depends:, and `junction doctor` must then find nothing missing. Runs in a
# chroot with its own mount namespace, as run.sh does.
#
# usage: sudo test/fresh-machine/deb.sh PATH.deb [--keep]
set -euo pipefail
deb=$(readlink -f "${1:?usage: deb.sh PATH.deb [--keep]}")
keep=${2:-}
[ "$(id -u)" = 0 ] || { echo "fresh-machine/deb: needs root (chroot, mounts)" >&2; exit 2; }
cache=${CACHE:-/var/cache/junction-fresh}
base=$cache/bookworm-minbase
[ -f "$base/.junction-base-complete" ] || { echo "fresh-machine/deb: no cached root in $base: run test/fresh-machine/run.sh once" >&2; exit 2; }
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$cache/runs/deb-$(date -u +%Y%m%dT%H%M%SZ)-$$
cp -a "$base" "$root"
cleanup() {
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  if [ "$keep" = --keep ]; then echo "fresh-machine/deb: kept $root"; else rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' > "$root/etc/apt/apt.conf.d/99fresh-machine-dates"
# package scripts must not start daemons in this machine's network namespace
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/root/"

steps="start=\$(date +%s)
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /root/$(basename "$deb") >/dev/null
echo \"== installed with its Depends in \$(( \$(date +%s) - start )) s\"
command -v node >/dev/null && { echo 'node is on the PATH: the root was not clean'; exit 1; }
test -f /lib/systemd/system/junction.service
test -d /var/lib/junction && [ \"\$(stat -c %a /var/lib/junction)\" = 700 ]
echo '== junction doctor'
junction doctor"
unshare -m --propagation private bash -c '
  set -e
  root=$1; steps=$2
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/run"
  mount -t tmpfs tmpfs "$root/tmp"
  exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -euo pipefail -c "$steps"
' fresh-machine-deb "$root" "$steps"
echo "fresh-machine/deb: PASSED: the package installed by its Depends and junction doctor found nothing missing"
