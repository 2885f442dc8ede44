#!/bin/sh
# The router image's entrypoint (under tini): exec `junction serve` on the
# image's state directory. Interface names are not this script's business:
# a container's interfaces are eth0.. in an order the runtime does not
# promise (podman 4.3 changed it between runs), so the configuration selects
# them by role (interfaces[].match: { subnet: ... } or { mac: ... }), and
# Junction resolves that at every apply, boot and reconcile, shows it in the
# plan and status, and refuses an ambiguous match with a 422 naming the
# interface. This script used to rename interfaces (JUNCTION_INTERFACES):
# that happened once, before serve, out of sight of plan and status, took
# each link down, and broke CNI plugins that find their interface by the name
# they gave it. A leftover setting stops the start rather than being ignored.
set -eu
if [ -n "${JUNCTION_INTERFACES:-}" ]; then
  echo "junction-entrypoint: JUNCTION_INTERFACES is no longer read; select interfaces in the configuration instead, e.g." >&2
  echo "  interfaces: [{ name: vpc0, match: { subnet: 10.1.0.0/24 }, role: vpc, zone: vpc-a, addresses: [10.1.0.1/24] }]" >&2
  exit 64
fi
# V8's young generation sized for big commits (appliance/main/node-flags.ts)
exec node --max-semi-space-size=64 /opt/junction/dist/appliance/cli.js serve --state-dir /var/lib/junction "$@"
