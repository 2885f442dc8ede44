// Traffic to the router itself that a subsystem needs, whatever the
// policies say: the firewall compiler turns these into input accepts. Each
// subsystem adds its own here, so one place answers "why is port X open?".
import type { Config } from '../../model/schema.js';
import type { SelfService } from '../../../rules/index.js';
import { parseAddress } from '../../model/ip.js';

export function selfServicesFor(config: Config): SelfService[] {
  const services: SelfService[] = [];
  const dhcpClientInterfaces = config.interfaces.filter((i) => i.dhcp).map((i) => i.name);
  if (dhcpClientInterfaces.length) {
    // Lease renewals arrive as unicast UDP to port 68 (discovery uses a raw socket).
    services.push({ id: 'junction:dhcp-client', interfaces: dhcpClientInterfaces, protocol: 'udp', ports: [68] });
  }
  services.push(...ikeSelfServices(config));
  services.push(...bgpSelfServices(config));
  return services;
}

/**
 * BGP neighbors: TCP 179 (either end may open the session) from each
 * neighbor's address, and BFD control (UDP 3784, single hop; 4784 multihop)
 * and echo (UDP 3785), on the neighbor's interface when it names one.
 * Disabled neighbors get nothing.
 */
function bgpSelfServices(config: Config): SelfService[] {
  const services: SelfService[] = [];
  for (const n of [...(config.bgp?.neighbors ?? [])].sort((a, b) => a.id.localeCompare(b.id))) {
    if (n.enabled === false || !parseAddress(n.address)) continue;
    const on = n.interface ? { interfaces: [n.interface] } : {};
    services.push({ id: `junction:bgp-${n.id}`, ...on, protocol: 'tcp', ports: [179], sources: [n.address] });
    if (n.bfd !== undefined && n.bfd !== false) {
      const ports = n.multihop !== undefined ? [4784] : [3784, 3785];
      services.push({ id: `junction:bfd-${n.id}`, ...on, protocol: 'udp', ports, sources: [n.address] });
    }
  }
  return services;
}

/**
 * IPsec peers: IKE (UDP 500), NAT-T and ESP-in-UDP (UDP 4500) and raw ESP
 * (the kernel data plane, and libipsec's ESP socket) on each peer's local
 * interface, from the peers' addresses (from anywhere when a peer is given
 * by FQDN, whose address is not known in advance).
 */
function ikeSelfServices(config: Config): SelfService[] {
  const peers = (config.vpn?.peers ?? []).filter((p) => p.enabled !== false);
  const byInterface = new Map<string, { sources: Set<string>; anySource: boolean }>();
  for (const peer of peers) {
    const iface = peer.local_interface ?? config.interfaces.find((i) => i.role === 'ccnn')?.name;
    if (!iface) continue;
    const entry = byInterface.get(iface) ?? { sources: new Set<string>(), anySource: false };
    if (parseAddress(peer.remote)) entry.sources.add(peer.remote);
    else entry.anySource = true;
    byInterface.set(iface, entry);
  }
  return [...byInterface.entries()].sort(([a], [b]) => a.localeCompare(b)).flatMap(([iface, { sources, anySource }]) => {
    const from = anySource ? {} : { sources: [...sources].sort() };
    return [
      // notrack: the outer tunnel packets are the router's own, at line rate; conntrack only costs.
      { id: `junction:ike-${iface}`, interfaces: [iface], protocol: 'udp', ports: [500, 4500], notrack: true, ...from },
      { id: `junction:esp-${iface}`, interfaces: [iface], protocol: 'esp', notrack: true, ...from },
    ];
  });
}
