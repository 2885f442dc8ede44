// Traffic to the router itself that a subsystem needs, whatever the
// policies say: the firewall compiler turns these into input accepts. Each
// subsystem adds its own here, so one place answers "why is port X open?".
import type { Config } from './schema.js';
import type { SelfService } from '../../rules/index.js';

export function selfServicesFor(config: Config): SelfService[] {
  const services: SelfService[] = [];
  const dhcpClientInterfaces = config.interfaces.filter((i) => i.dhcp).map((i) => i.name);
  if (dhcpClientInterfaces.length) {
    // Lease renewals arrive as unicast UDP to port 68 (discovery uses a raw socket).
    services.push({ id: 'junction:dhcp-client', interfaces: dhcpClientInterfaces, protocol: 'udp', ports: [68] });
  }
  return services;
}
