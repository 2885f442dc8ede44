#!/usr/bin/env bash
# The cached clean Debian 12 root (debootstrap --variant=minbase bookworm,
# about 70 s, made once; root.sh's fresh_root_base): what test/fresh-machine
# and test/xfrm start from and what test/images makes its stand-in base
# image from. Prints its path. CACHE (default /var/cache/junction-fresh) and
# DEBIAN_MIRROR as in run.sh.
set -euo pipefail
source "$(dirname "$0")/root.sh"
fresh_root_base "${CACHE:-/var/cache/junction-fresh}" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
echo "$FRESH_BASE"
