#!/usr/bin/env bash
# Installs what Junction, its lab and its tests need on Debian 12, then builds.
# Idempotent and quick when everything is already there, so `npm test` and
# `npm run lab` can call it every time.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" != 0 ]; then
  echo "setup: Junction programs the kernel and runs its lab in network namespaces; run as root." >&2
  exit 1
fi

packages=(nftables iproute2 conntrack strongswan-charon strongswan-swanctl libcharon-extra-plugins
  libstrongswan-extra-plugins bird2 dnsmasq iperf3 tcpdump iputils-ping procps busybox ulogd2 ulogd2-json)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian packages start system-wide daemons; the appliance supervises its
# own copies, so the stock services must not hold ports or pid files.
for svc in strongswan-starter strongswan bird dnsmasq; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
done

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.junction-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

npm run --silent build
