#!/usr/bin/env bash
# The cached clean Debian 12 root (debootstrap --variant=minbase bookworm,
# about 70 s, made once): what test/fresh-machine starts every run from and
# what test/images makes its stand-in base image from. Makes it when it is
# missing or incomplete; prints its path. CACHE (default
# /var/cache/junction-fresh) and DEBIAN_MIRROR as in run.sh.
set -euo pipefail
cache=${CACHE:-/var/cache/junction-fresh}
base=$cache/bookworm-minbase
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"
if [ ! -f "$base/.junction-base-complete" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  echo "debootstrap --variant=minbase bookworm (cached in $base)" >&2
  rm -rf "$base.tmp"
  debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" > "$cache/debootstrap.log" 2>&1 || {
    tail -20 "$cache/debootstrap.log" >&2
    exit 1
  }
  touch "$base.tmp/.junction-base-complete"
  rm -rf "$base"
  mv "$base.tmp" "$base"
fi
echo "$base"
