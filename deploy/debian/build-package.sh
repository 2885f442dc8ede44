#!/usr/bin/env bash
# Builds the Debian package for machines without a container runtime
# (a Virtual Server, an on-prem VM): `npm run package`.
#
#   /opt/junction/{dist,node_modules,package.json}  the compiled product and
#                                   its production modules (no tests, no dev
#                                   modules, no source maps)
#   /opt/junction/bin/node          the Node 20 this was built with: Debian 12's
#                                   nodejs is 18, and better-sqlite3's native
#                                   module is built for this exact Node
#   /usr/bin/junction               the CLI
#   /lib/systemd/system/junction.service   from deploy/systemd/junction.service
#   /etc/junction/junction.yaml     a starting configuration (a conffile; not
#                                   applied by itself: `junction apply -f`)
# Depends: the runtime list of appliance/scripts/setup.sh (what Junction runs,
# not the test tools), so apt installs them with the package.
#
# env: JUNCTION_SYSTEMD_UNIT (default deploy/systemd/junction.service),
#      JUNCTION_PACKAGE_OUT (default dist/deb). Prints the .deb's path.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

unit=${JUNCTION_SYSTEMD_UNIT:-deploy/systemd/junction.service}
if [ ! -f "$unit" ]; then
  echo "package: no systemd unit at $unit: the package ships Junction's unit (deploy/systemd/junction.service) and will not invent one" >&2
  exit 1
fi
out=${JUNCTION_PACKAGE_OUT:-dist/deb}
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
runtime=$(bash -c 'source <(sed -n "/^runtime=(/,/)/p" appliance/scripts/setup.sh); echo "${runtime[*]}"')
[ -n "$runtime" ] || { echo "package: no runtime=(...) list in appliance/scripts/setup.sh" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
opt=$stage/opt/junction
mkdir -p "$opt/bin" "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/junction"

cp package.json "$opt/"
# A clean compile of the product alone (dist/ may hold files of deleted sources).
node_modules/.bin/tsc -p tsconfig.json --outDir "$opt/dist" --sourceMap false
bash appliance/scripts/build-dashboard.sh "$opt/dist"
# Production modules only: every lockfile entry not marked dev (or devOptional).
node -e '
  const lock = require("./package-lock.json");
  for (const [path, meta] of Object.entries(lock.packages))
    if (path.startsWith("node_modules/") && !meta.dev && !meta.devOptional) console.log(path);
' | while read -r module; do
  [ -d "$module" ] || { echo "package: $module is in package-lock.json but not installed (run npm ci in the main checkout)" >&2; exit 1; }
  mkdir -p "$opt/$(dirname "$module")"
  cp -r "$module" "$opt/$module"
done
# better-sqlite3's build leftovers are not needed at run time
rm -rf "$opt/node_modules/better-sqlite3/build/Release/obj" "$opt/node_modules/better-sqlite3/deps" "$opt/node_modules/better-sqlite3/src"
cp "$(command -v node)" "$opt/bin/node"

cat > "$stage/usr/bin/junction" <<'WRAPPER'
#!/bin/sh
# Junction's CLI (serve, doctor, apply, status, ...), with the Node it was built for.
exec /opt/junction/bin/node /opt/junction/dist/appliance/cli.js "$@"
WRAPPER
chmod 0755 "$stage/usr/bin/junction"
install -m 0644 "$unit" "$stage/lib/systemd/system/junction.service"
install -m 0644 deploy/debian/junction.yaml "$stage/etc/junction/junction.yaml"
echo /etc/junction/junction.yaml > "$stage/DEBIAN/conffiles"
install -m 0755 deploy/debian/postinst "$stage/DEBIAN/postinst"

cat > "$stage/DEBIAN/control" <<CONTROL
Package: junction
Version: $version
Architecture: $arch
Maintainer: Junction maintainers <junction@localhost>
Section: net
Priority: optional
Depends: $(echo "$runtime" | sed 's/ /, /g')
Installed-Size: $(du -sk "$stage" | cut -f1)
Homepage: https://github.com/
Description: virtual router and firewall appliance for cloud L2 VPCs
 Junction programs nftables, routes, strongSwan (IPsec) and BIRD (BGP)
 from one versioned configuration, served over a REST API.
CONTROL

mkdir -p "$out"
deb=$out/junction_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
echo "$deb"
