#!/usr/bin/env bash
# The Debian package on a clean Debian 12: a copy of the cached debootstrap
# minbase root (test/fresh-machine/run.sh makes it), no Node, nothing else;
# `apt-get install ./junction_*.deb` must bring every dependency by
# Depends:, and `junction doctor` must then find nothing missing. Runs in a
# chroot with its own mount namespace, as run.sh does.
#
# usage: sudo test/fresh-machine/deb.sh PATH.deb [--keep]
set -euo pipefail
. "$(dirname "$0")/root.sh"
deb=$(readlink -f "${1:?usage: deb.sh PATH.deb [--keep]}")
keep=${2:-}
[ "$(id -u)" = 0 ] || { echo "fresh-machine/deb: needs root (chroot, mounts)" >&2; exit 2; }
cache=${CACHE:-/var/cache/junction-fresh}
base=$cache/bookworm-minbase
[ -f "$base/.junction-base-complete" ] || { echo "fresh-machine/deb: no cached root in $base: run test/fresh-machine/run.sh once" >&2; exit 2; }
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$cache/runs/deb-$(date -u +%Y%m%dT%H%M%SZ)-$$
fresh_root_copy "$base" "$root" "$([ "$keep" = --keep ] && echo yes || echo no)"

fresh_root_machine "$root" "$mirror"
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
fresh_root_run "$root" "$steps"
echo "fresh-machine/deb: PASSED: the package installed by its Depends and junction doctor found nothing missing"
