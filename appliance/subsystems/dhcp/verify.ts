// Meaning checks for the dhcp section that a JSON schema cannot express:
// a server on a VPC interface that has an IPv4 subnet, ranges inside that
// subnet that overlap nothing (no other range, no router address, not the
// network or broadcast address), a gateway in the subnet, reservations with
// a unique MAC and a unique address in the subnet and outside every
// dynamic range (else dnsmasq could lease it to another host while the
// reserved one is away), and DNS only where a forwarder is configured.
// Each problem names its path in the document.
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import { parseAddress } from '../../model/ip.js';
import { routerAddresses, routerInterfaceOf } from '../../model/verify.js';
import { serves, type DhcpSection, type DhcpServer } from './schema.js';
import { interfaceSubnets, ipv4Value, subnetHolding, type ServedSubnet } from './subnets.js';

interface Reporter {
  add(path: string, message: string): void;
  warn(path: string, message: string): void;
}

/** A dynamic range already accepted, with where it was written. */
interface PlacedRange {
  first: bigint;
  last: bigint;
  path: string;
}

export function verifyDhcpConfig(config: Config): Problem[] {
  const section = config.dhcp;
  if (!section) return [];
  const problems: Problem[] = [];
  const report: Reporter = {
    add: (path, message) => problems.push({ path, message }),
    warn: (path, message) => problems.push({ path, message, severity: 'warning' }),
  };
  const own = routerAddresses(config);
  const ranges: PlacedRange[] = [];
  const seenInterfaces = new Map<string, number>();
  section.servers.forEach((server, i) => {
    const at = `/dhcp/servers/${i}`;
    const previous = seenInterfaces.get(server.interface);
    if (previous !== undefined) report.add(`${at}/interface`, `duplicate server for interface "${server.interface}" (also /dhcp/servers/${previous})`);
    else seenInterfaces.set(server.interface, i);
    verifyServer(config, section, server, at, own, ranges, report);
  });
  verifyReservations(section, ranges, own, report);
  verifyForwarder(section, own, report);
  return problems;
}

function verifyServer(config: Config, section: DhcpSection, server: DhcpServer, at: string, own: Map<string, string>, ranges: PlacedRange[], report: Reporter): void {
  const iface = config.interfaces.find((x) => x.name === server.interface);
  if (!iface) return report.add(`${at}/interface`, `no interface "${server.interface}" in /interfaces`);
  if (iface.role !== 'vpc') return report.add(`${at}/interface`, `interface "${server.interface}" has role ${iface.role}; DHCP and DNS serve VPC interfaces only`);
  const { dhcp, dns } = serves(server, section);
  if (server.enabled !== false && !dhcp && !dns) report.add(at, 'serves neither DHCP nor DNS (set dhcp or dns to true, or enabled: false)');
  if (server.dns === true && !section.dns_forwarder) report.add(`${at}/dns`, 'no DNS forwarder is configured (set /dhcp/dns_forwarder with its upstream servers)');
  const subnets = interfaceSubnets(config, server.interface);
  if (!subnets.length) return report.add(`${at}/interface`, `interface "${server.interface}" has no static IPv4 address; a DHCP server needs one in the subnet it serves`);

  (server.ranges ?? []).forEach((range, j) => {
    const path = `${at}/ranges/${j}`;
    const subnet = subnetHolding(subnets, range.start);
    if (!subnet) return report.add(`${path}/start`, `${range.start} is not in a subnet of ${server.interface} (${describeSubnets(subnets)})`);
    if (subnetHolding([subnet], range.end) === undefined) return report.add(`${path}/end`, `${range.end} is not in the subnet of its start (${describeSubnets([subnet])})`);
    const first = ipv4Value(range.start);
    const last = ipv4Value(range.end);
    if (first > last) return report.add(`${path}/end`, `the range ends before it starts (did you mean ${range.end}-${range.start}?)`);
    if (subnet.length < 31 && (first === subnet.first || last === subnet.last)) return report.add(path, 'a range may not include the network or broadcast address');
    for (const [key, holder] of own) {
      const value = BigInt(key.slice(2));
      if (key.startsWith('4:') && first <= value && value <= last) return report.add(path, `the range includes the router's own address on ${holder}`);
    }
    const clash = ranges.find((r) => r.first <= last && first <= r.last);
    if (clash) return report.add(path, `the range overlaps the range at ${clash.path}`);
    ranges.push({ first, last, path });
  });

  if (server.gateway !== undefined && server.gateway !== 'none' && !subnetHolding(subnets, server.gateway)) {
    report.add(`${at}/gateway`, `${server.gateway} is not in a subnet of ${server.interface} (${describeSubnets(subnets)}); hosts could not reach it`);
  }
  if (server.mtu !== undefined && iface.mtu !== undefined && server.mtu > iface.mtu) {
    report.warn(`${at}/mtu`, `hosts would use MTU ${server.mtu} while ${server.interface} itself has MTU ${iface.mtu}: large packets to the router would be lost`);
  }
  (server.reservations ?? []).forEach((reservation, j) => {
    const path = `${at}/reservations/${j}/address`;
    const subnet = subnetHolding(subnets, reservation.address);
    if (!subnet) return report.add(path, `${reservation.address} is not in a subnet of ${server.interface} (${describeSubnets(subnets)})`);
    const value = ipv4Value(reservation.address);
    if (subnet.length < 31 && (value === subnet.first || value === subnet.last)) return report.add(path, `${reservation.address} is the network or broadcast address of its subnet`);
    const holder = routerInterfaceOf(reservation.address, own);
    if (holder) report.add(path, `${reservation.address} is the router's own address on ${holder}`);
  });
}

/** MACs and addresses unique across the section; a reserved address outside every dynamic range. */
function verifyReservations(section: DhcpSection, ranges: PlacedRange[], own: Map<string, string>, report: Reporter): void {
  const macs = new Map<string, string>();
  const addresses = new Map<string, string>();
  section.servers.forEach((server, i) => {
    (server.reservations ?? []).forEach((reservation, j) => {
      const at = `/dhcp/servers/${i}/reservations/${j}`;
      const mac = reservation.mac.toLowerCase();
      const sameMac = macs.get(mac);
      if (sameMac) report.add(`${at}/mac`, `MAC ${reservation.mac} is already reserved at ${sameMac}`);
      else macs.set(mac, at);
      const sameAddress = addresses.get(reservation.address);
      if (sameAddress) report.add(`${at}/address`, `${reservation.address} is already reserved at ${sameAddress}`);
      else addresses.set(reservation.address, at);
      if (routerInterfaceOf(reservation.address, own)) return; // said by verifyServer
      const value = ipv4Value(reservation.address);
      const inside = ranges.find((r) => r.first <= value && value <= r.last);
      if (inside) report.add(`${at}/address`, `${reservation.address} lies inside the dynamic range at ${inside.path}; reserve an address outside the ranges`);
    });
  });
}

function verifyForwarder(section: DhcpSection, own: Map<string, string>, report: Reporter): void {
  const forwarder = section.dns_forwarder;
  if (!forwarder) return;
  forwarder.upstream_servers.forEach((upstream, i) => {
    const path = `/dhcp/dns_forwarder/upstream_servers/${i}`;
    if (!parseAddress(upstream)) return report.add(path, `"${upstream}" is not an IP address`);
    const holder = routerInterfaceOf(upstream, own);
    if (holder) report.add(path, `${upstream} is the router's own address on ${holder}: the forwarder would ask itself`);
  });
  if (!section.servers.some((s) => serves(s, section).dns)) {
    report.warn('/dhcp/dns_forwarder', 'no server has dns on: the forwarder answers on no interface');
  }
}

function describeSubnets(subnets: ServedSubnet[]): string {
  return subnets.map((s) => `${s.routerAddress}/${s.length}`).join(', ');
}
