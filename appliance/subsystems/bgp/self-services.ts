// What BGP needs from the firewall: its sessions and BFD reach the router
// itself whatever the policies say (FirewallNeeds.selfServices).
import type { Config } from '../../model/schema.js';
import type { SelfService } from '../../../rules/index.js';
import { parseAddress } from '../../model/ip.js';

/**
 * BGP neighbors: TCP 179 (either end may open the session) from each
 * neighbor's address, and BFD control (UDP 3784, single hop; 4784 multihop)
 * and echo (UDP 3785), on the neighbor's interface when it names one.
 * Disabled neighbors get nothing.
 */
export function bgpSelfServices(config: Config): SelfService[] {
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
