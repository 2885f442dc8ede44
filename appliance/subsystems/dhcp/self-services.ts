// What DHCP and DNS need from the firewall: DHCP requests (UDP 67) on the
// interfaces with DHCP on, DNS queries (UDP and TCP 53) on those with the
// forwarder on, and nowhere else (FirewallNeeds.selfServices). dnsmasq's
// DNS socket is bound to every served interface's address (dnsmasq cannot
// serve DHCP on an interface without listening there), so on an interface
// with DHCP but not DNS it is this rule set that keeps queries out.
import type { SelfService } from '../../../rules/index.js';
import type { DhcpArtifact } from './render.js';

export function dhcpSelfServices(artifact: DhcpArtifact): SelfService[] {
  const services: SelfService[] = [];
  if (artifact.dhcpInterfaces.length) services.push({ id: 'junction:dhcp-server', interfaces: artifact.dhcpInterfaces, protocol: 'udp', ports: [67] });
  if (artifact.dnsInterfaces.length) {
    services.push({ id: 'junction:dns-udp', interfaces: artifact.dnsInterfaces, protocol: 'udp', ports: [53] });
    services.push({ id: 'junction:dns-tcp', interfaces: artifact.dnsInterfaces, protocol: 'tcp', ports: [53] });
  }
  return services;
}
