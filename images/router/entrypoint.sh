#!/bin/sh
# The router image's entrypoint (under tini): give interfaces the names the
# configuration uses, then exec `junction serve`. Container runtimes name
# interfaces eth0, eth1, ... in an order they do not promise (podman 4.3
# changed it between runs), so a configuration cannot name ethN. Set
#
#   JUNCTION_INTERFACES="ccnn0=subnet:100.64.0.0/24 vpc0=subnet:10.1.0.0/24 vpc1=mac:02:00:0a:02:00:01"
#
# and each interface whose IPv4 subnet (as the runtime assigned it) or MAC
# matches is renamed before serve starts. A selector that matches nothing, or
# more than one interface, stops the container with a message: better than
# a firewall built on the wrong interface. Needs CAP_NET_ADMIN (renaming
# takes the link down for a moment; the default route is put back).
set -eu

say() { echo "junction-entrypoint: $*" >&2; }

# The interface(s) a selector names, one per line.
match() {
  case "$1" in
    subnet:*) ip -o -4 route show proto kernel scope link | awk -v want="${1#subnet:}" '$1 == want { print $3 }' | sort -u ;;
    mac:*) ip -o link show | awk -v want="$(echo "${1#mac:}" | tr 'A-F-' 'a-f:')" '{ for (i = 1; i < NF; i++) if ($i == "link/ether" && $(i + 1) == want) { name = $2; sub(/:$/, "", name); sub(/@.*/, "", name); print name } }' ;;
    *) say "selector '$1': use subnet:A.B.C.D/N or mac:XX:XX:XX:XX:XX:XX"; exit 64 ;;
  esac
}

rename_interfaces() {
  defaults=$(ip -4 route show default | awk '$2 == "via" { print $3 }')
  for entry in $JUNCTION_INTERFACES; do
    name=${entry%%=*}
    selector=${entry#*=}
    found=$(match "$selector")
    count=$(printf '%s' "$found" | grep -c . || true)
    if [ "$count" != 1 ]; then
      say "$name=$selector matches $count interfaces (${found:-none}); interfaces here:"
      ip -br addr show >&2
      exit 65
    fi
    [ "$found" = "$name" ] && continue
    ip link set dev "$found" down
    ip link set dev "$found" name "$name"
    ip link set dev "$name" up
    say "$found -> $name ($selector)"
  done
  # Taking a link down removes the routes through it.
  for gateway in $defaults; do ip route replace default via "$gateway" 2>/dev/null || say "could not restore the default route via $gateway"; done
}

if [ -n "${JUNCTION_INTERFACES:-}" ]; then rename_interfaces; fi
exec node /opt/junction/dist/appliance/cli.js serve --state-dir /var/lib/junction "$@"
