#!/usr/bin/env bash
# Proves that a fresh Debian 12 machine with only Node.js gets everything
# Junction and its tests need from the project's own install step: a clean
# debootstrap minbase root gets Node 20 (copied from this machine; Debian's
# nodejs is 18) and a fresh `git clone` of a branch, then runs
# `bash appliance/scripts/setup.sh` and `junction doctor` inside, in a chroot
# with its own mount namespace. Nothing is installed by hand.
#
# usage: sudo test/fresh-machine/run.sh [--branch NAME] [--npm-test] [--keep]
#   --branch NAME  what to clone (default: the branch checked out here)
#   --npm-test     also run the whole `npm test` inside (lab tests included)
#   --keep         keep the run's root for a look (default: removed)
#
# The debootstrap root is cached (CACHE, default /var/cache/junction-fresh)
# and never used directly: every run starts from an untouched copy of it.
set -euo pipefail
. "$(dirname "$0")/root.sh"

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
branch=$(git -C "$repo" rev-parse --abbrev-ref HEAD)
npm_test=no
keep=no
while [ $# -gt 0 ]; do
  case "$1" in
    --branch) branch=$2; shift 2 ;;
    --npm-test) npm_test=yes; shift ;;
    --keep) keep=yes; shift ;;
    *) echo "fresh-machine: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" != 0 ]; then
  echo "fresh-machine: needs root (debootstrap, chroot, mounts)" >&2
  exit 2
fi

cache=${CACHE:-/var/cache/junction-fresh}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache/runs"

# 1. The cached clean root, built once (about 70 s).
fresh_root_base "$cache" "$mirror"
base=$FRESH_BASE

# 2. This run's machine: a copy of the untouched root.
run_id=$(date -u +%Y%m%dT%H%M%SZ)-$$
root=$cache/runs/$run_id
log=$cache/runs/$run_id.log
fresh_root_copy "$base" "$root" "$keep"

# What a fresh Debian 12 machine has besides minbase (root.sh), and Node 20
# laid out as the official tarball does (/usr/local, with headers for node-gyp).
fresh_root_machine "$root" "$mirror"
node_bin=$(readlink -f "$(command -v node)")
node_prefix=$(node -p "require('path').resolve(process.execPath, '../..')")
install -D -m 755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules" "$root/usr/local/include"
cp -a "$node_prefix/lib/node_modules/npm" "$root/usr/local/lib/node_modules/npm"
cp -a "$node_prefix/include/node" "$root/usr/local/include/node"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# This machine's egress presents its own CA: npm needs it (apt uses http).
install -D -m 644 /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/fresh-machine/extra-ca.crt"

# 3. A fresh clone of the branch: only what is committed gets in.
git clone --quiet --branch "$branch" "$repo" "$root/root/junction"
commit=$(git -C "$root/root/junction" rev-parse --short HEAD)

steps='cd /root/junction
echo "== node $(node --version), npm $(npm --version), $(. /etc/os-release; echo "$PRETTY_NAME")"
start=$(date +%s)
echo "== bash appliance/scripts/setup.sh"
bash appliance/scripts/setup.sh
echo "== setup took $(( $(date +%s) - start )) s"
echo "== junction doctor"
node dist/appliance/cli.js doctor'
if [ "$npm_test" = yes ]; then
  steps="$steps
echo '== npm test'
npm test"
fi

echo "fresh-machine: $branch ($commit) in $root; log $log"
set +e
fresh_root_run "$root" "$steps" NODE_EXTRA_CA_CERTS=/usr/local/share/fresh-machine/extra-ca.crt 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" = 0 ]; then
  echo "fresh-machine: PASSED ($branch $commit): setup.sh installed everything and junction doctor found nothing missing"
else
  echo "fresh-machine: FAILED ($branch $commit), exit $status; log $log" >&2
fi
exit "$status"
