// The dhcp section rendered as one dnsmasq configuration (pure): one
// dnsmasq serves every interface that has DHCP or DNS on, bound to exactly
// those interfaces (interface= lines, never lo), reading no
// /etc/hosts and no /etc/resolv.conf unless asked. Options are tagged with
// the interface name (dnsmasq sets that tag on every request), so each VPC
// gets its own gateway, DNS servers, domain and MTU. Servers are rendered
// in interface order, so reordering the document changes nothing.
// bind-dynamic rather than bind-interfaces: dnsmasq binds each served
// interface's own addresses as with bind-interfaces, and also those that
// appear later (a VPC NIC re-attached, an address added by links), where
// bind-interfaces would keep serving DNS on none of them until a restart.
// Paths of the lease and pid files are not in the file but on dnsmasq's
// command line (dnsmasq-process.ts): the rendering depends on the document
// only, and the plan shows exactly the lines dnsmasq reads.
import type { Config } from '../../model/schema.js';
import { formatAddress, formatPrefix } from '../../model/ip.js';
import { DHCP_DEFAULTS, serves, type DhcpSection, type DhcpServer } from './schema.js';
import { interfaceSubnets, netmaskOf, subnetHolding, type ServedSubnet } from './subnets.js';

export interface DhcpArtifact {
  /** dnsmasq runs (some interface is served) */
  active: boolean;
  /** the whole dnsmasq.conf */
  text: string;
  /** interfaces with DHCP on, and with DNS on (the firewall opens exactly these) */
  dhcpInterfaces: string[];
  dnsInterfaces: string[];
  /** the subnets DHCP serves, by interface: leases map to their interface through these (not in the plan: the text says it) */
  subnets: Array<{ interface: string; network: string }>;
  /** the document path of each served interface's server, to name it when dnsmasq refuses its lines */
  paths: Record<string, string>;
}

export const inactiveDhcpArtifact = (): DhcpArtifact => ({ active: false, text: '', dhcpInterfaces: [], dnsInterfaces: [], subnets: [], paths: {} });

const HEADER = '# dnsmasq configuration rendered by Junction from the dhcp section; edits are overwritten';

export function renderDhcp(config: Config): DhcpArtifact {
  const section = config.dhcp;
  if (!section) return inactiveDhcpArtifact();
  const served = section.servers
    .map((server, index) => ({ server, path: `/dhcp/servers/${index}`, ...serves(server, section) }))
    .filter((s) => s.dhcp || s.dns)
    .sort((a, b) => a.server.interface.localeCompare(b.server.interface));
  if (!served.length) return inactiveDhcpArtifact();
  const dnsInterfaces = served.filter((s) => s.dns).map((s) => s.server.interface);
  const dhcpInterfaces = served.filter((s) => s.dhcp).map((s) => s.server.interface);

  const lines = [HEADER, ...globalLines(section, dnsInterfaces.length > 0)];
  for (const { server, dhcp, dns } of served) {
    lines.push(`interface=${server.interface}`);
    if (!dhcp) lines.push(`no-dhcp-interface=${server.interface}`);
    else lines.push(...serverLines(config, server, dns));
  }
  const subnets = dhcpInterfaces.flatMap((name) => interfaceSubnets(config, name).map((s) => ({ interface: name, network: formatPrefix(s) })));
  const paths = Object.fromEntries(served.map((s) => [s.server.interface, s.path]));
  return { active: true, text: `${lines.join('\n')}\n`, dhcpInterfaces, dnsInterfaces, subnets, paths };
}

/** Lines that hold for the whole dnsmasq: where it listens, where it forwards. */
function globalLines(section: DhcpSection, dns: boolean): string[] {
  const forwarder = section.dns_forwarder;
  const lines = [
    'no-hosts',
    'bind-dynamic',
    'except-interface=lo',
    'dhcp-authoritative',
  ];
  if (!dns || !forwarder) return [...lines, 'port=0', 'no-resolv'];
  lines.push('port=53', `cache-size=${forwarder.cache_size ?? DHCP_DEFAULTS.cacheSize}`, 'domain-needed');
  lines.push(forwarder.use_host_resolv_conf ? 'resolv-file=/etc/resolv.conf' : 'no-resolv');
  for (const upstream of forwarder.upstream_servers) lines.push(`server=${upstream}`);
  return lines;
}

/** One interface's ranges, options and reservations. */
function serverLines(config: Config, server: DhcpServer, dns: boolean): string[] {
  const subnets = interfaceSubnets(config, server.interface);
  const lease = server.lease_time_s ?? DHCP_DEFAULTS.leaseTimeS;
  const tag = `tag:${server.interface}`;
  const lines: string[] = [];
  const ranges = server.ranges ?? [];
  for (const range of ranges) {
    const subnet = subnetHolding(subnets, range.start);
    if (subnet) lines.push(`dhcp-range=${range.start},${range.end},${netmaskOf(subnet)},${lease}`);
  }
  // Reservations only: dnsmasq still needs the subnet, as a static range.
  if (!ranges.length) {
    for (const subnet of subnets) lines.push(`dhcp-range=${formatAddress(4, subnet.first)},static,${netmaskOf(subnet)},${lease}`);
  }
  const home = primarySubnet(subnets, server);
  const gateway = server.gateway === 'none' ? '' : server.gateway ?? home?.routerAddress ?? '';
  lines.push(`dhcp-option=${tag},option:router${gateway ? `,${gateway}` : ''}`);
  // Without a value the option is not sent at all (dnsmasq would otherwise offer itself).
  const dnsServers = server.dns_servers ?? (dns && home ? [home.routerAddress] : []);
  lines.push(`dhcp-option=${tag},option:dns-server${dnsServers.map((a) => `,${a}`).join('')}`);
  if (server.domain) lines.push(`dhcp-option=${tag},option:domain-name,${server.domain}`);
  const mtu = server.mtu ?? config.interfaces.find((i) => i.name === server.interface)?.mtu;
  if (mtu !== undefined) lines.push(`dhcp-option=${tag},option:mtu,${mtu}`);
  const reservations = [...(server.reservations ?? [])].sort((a, b) => a.mac.toLowerCase().localeCompare(b.mac.toLowerCase()));
  for (const r of reservations) lines.push(`dhcp-host=${r.mac.toLowerCase()},${r.address}${r.hostname ? `,${r.hostname}` : ''},${lease}`);
  return lines;
}

/** The subnet the gateway and DNS defaults come from: the first range's, else the interface's first. */
function primarySubnet(subnets: ServedSubnet[], server: DhcpServer): ServedSubnet | undefined {
  const first = server.ranges?.[0];
  return (first && subnetHolding(subnets, first.start)) ?? subnets[0];
}

/**
 * The document path behind a dnsmasq error: the server whose lines hold the
 * line it names ("bad dhcp-range at line 14 of ..."), or whose interface it
 * names; else the section.
 */
export function pathOfDnsmasqError(artifact: DhcpArtifact, message: string): string {
  const line = /at line (\d+) of/.exec(message);
  if (line) {
    const before = artifact.text.split('\n').slice(0, Number(line[1])).reverse();
    const owner = before.find((l) => l.startsWith('interface='))?.slice('interface='.length);
    if (owner && artifact.paths[owner]) return artifact.paths[owner];
  }
  const words = message.split(/[^A-Za-z0-9_.-]+/);
  const named = Object.keys(artifact.paths).find((name) => words.includes(name));
  return named ? artifact.paths[named]! : '/dhcp';
}

/** The plan lines: every line dnsmasq reads, by content (the file's order is the interfaces' order, which renders stable). */
export function describeDhcp(artifact: DhcpArtifact): string[] {
  if (!artifact.active) return [];
  return artifact.text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => `dnsmasq: ${line}`);
}
