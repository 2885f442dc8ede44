// What the links need from the firewall: DHCP client renewals reach the
// router itself whatever the policies say (FirewallNeeds.selfServices).
import type { Config } from '../../model/schema.js';
import type { SelfService } from '../../../rules/index.js';

export function dhcpClientSelfServices(config: Config): SelfService[] {
  const dhcpClientInterfaces = config.interfaces.filter((i) => i.dhcp).map((i) => i.name);
  // Lease renewals arrive as unicast UDP to port 68 (discovery uses a raw socket).
  return dhcpClientInterfaces.length ? [{ id: 'junction:dhcp-client', interfaces: dhcpClientInterfaces, protocol: 'udp', ports: [68] }] : [];
}
