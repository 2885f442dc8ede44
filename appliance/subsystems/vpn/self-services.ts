// What IPsec needs from the firewall: IKE and ESP reach the router itself
// whatever the policies say (FirewallNeeds.selfServices).
import type { Config } from '../../model/schema.js';
import type { SelfService } from '../../../rules/index.js';
import { parseAddress } from '../../model/ip.js';

/**
 * IPsec peers: IKE (UDP 500), NAT-T and ESP-in-UDP (UDP 4500) and raw ESP
 * (the kernel data plane, and libipsec's ESP socket) on each peer's local
 * interface, from the peers' addresses (from anywhere when a peer is given
 * by FQDN, whose address is not known in advance).
 */
export function ikeSelfServices(config: Config): SelfService[] {
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
