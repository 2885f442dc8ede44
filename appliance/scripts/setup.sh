#!/usr/bin/env bash
# Installs what Junction, its lab and its tests need on Debian 12, then builds.
# Idempotent and quick when everything is already there, so `npm test` and
# `npm run lab` can call it every time.
set -euo pipefail
cd "$(dirname "$0")/../.."
# --xfrm: also what `npm run test:xfrm` runs on the host (a full Debian kernel
# under qemu TCG, test/xfrm/); the guest's own packages go into its root there.
with_xfrm=no
[ "${1:-}" = --xfrm ] && with_xfrm=yes

if [ "$(id -u)" != 0 ]; then
  echo "setup: Junction programs the kernel and runs its lab in network namespaces; run as root." >&2
  exit 1
fi

# Every Debian package is named here: apt runs with --no-install-recommends,
# so nothing may arrive only as a recommendation (libstrongswan-standard-
# plugins did, and charon exits 66 without its openssl plugin). `junction
# doctor` below proves the result works; keep this list and images/router/
# Dockerfile in step.
# What Junction runs (see appliance/subsystems/*/requirements.ts):
runtime=(iproute2 procps nftables conntrack busybox ulogd2 ulogd2-json
  strongswan-charon strongswan-libcharon libstrongswan libstrongswan-standard-plugins
  libcharon-extra-plugins strongswan-swanctl bird2 dnsmasq-base util-linux mount)
# What the tests, the lab and the benchmarks run besides: certificates
# (openssl), traffic (iperf3, ping, tcpdump), a DHCP server for the DHCP
# client test (dnsmasq), a headless browser for the dashboard test
# (chromium, driven by playwright-core). swanctl (the on-prem side) loads a built-in plugin
# list that includes libstrongswan-extra-plugins' and says "failed to load"
# for each one missing.
tests=(openssl iperf3 iputils-ping tcpdump dnsmasq libstrongswan-extra-plugins chromium)
# What `npm ci` needs to compile better-sqlite3 where no prebuilt binary can
# be downloaded.
build=(python3 make g++)
# --packages: what a machine that runs Junction and its tests needs (the
# test:xfrm guest's root gets these).
[ "${1:-}" = --packages ] && { echo "${runtime[*]} ${tests[*]}"; exit 0; }
packages=("${runtime[@]}" "${tests[@]}" "${build[@]}")
[ "$with_xfrm" = yes ] && packages+=(qemu-system-x86 debootstrap)
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
if [ -L node_modules ]; then
  # a link to a checkout's shared copy (git worktrees): npm ci would empty
  # the shared copy under every other worktree, so leave it to its owner.
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] || echo "setup: node_modules is a link to $(readlink node_modules) and does not match package-lock.json; run npm ci there" >&2
elif [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  # node-gyp compiles against the running Node's own headers when they are
  # installed, instead of downloading them.
  node_prefix=$(node -p "require('path').resolve(process.execPath, '../..')")
  if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node.h" ]; then
    export npm_config_nodedir=$node_prefix
  fi
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

npm run --silent build

# The tests' own programs, by command: a package that installed without
# them would otherwise surface as a confusing test failure.
for tool in openssl iperf3 ping tcpdump dnsmasq swanctl ss chromium; do
  command -v "$tool" >/dev/null || { echo "setup: FAILED: $tool is missing after installing ${packages[*]}" >&2; exit 1; }
done

# Prove that what Junction needs is here and works (charon loads its
# plugins, bird parses a config, nft accepts the ruleset features, ...).
if ! report=$(node dist/appliance/cli.js doctor 2>&1); then
  echo "$report" >&2
  echo "setup: FAILED: \`junction doctor\` found a problem (above); install what it names, or fix the package list in appliance/scripts/setup.sh" >&2
  exit 1
fi
echo "setup: junction doctor: $(echo "$report" | tail -1)"
