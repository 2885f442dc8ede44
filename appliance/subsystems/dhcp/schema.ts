// The `dhcp` section of the configuration document (Config's `dhcp?:`,
// typed by the declaration at the end): per VPC interface a DHCP server
// (ranges, gateway, DNS servers, domain, lease time, MTU, reservations by
// MAC) and whether Junction's DNS forwarder answers there; the forwarder's
// upstream servers once for the section (one dnsmasq serves every interface,
// and dnsmasq cannot pick upstreams by the interface a query came in on).
// Shape only; meaning across objects is checked in verify.ts.
import { Type, type Static } from '@sinclair/typebox';
import { IfName, IpAddress, IPv4Address } from '../../model/primitives.js';

export const MacAddress = Type.String({
  pattern: '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$',
  description: 'MAC address, six colon-separated octets, e.g. 02:00:00:00:0a:02',
});

const Label = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HostName = Type.String({ pattern: `^${Label}$`, description: 'host name (one DNS label)' });
const DomainName = Type.String({ maxLength: 253, pattern: `^${Label}(\\.${Label})*$`, description: 'DNS domain, e.g. vpc-a.internal' });

export const DhcpRange = Type.Object(
  {
    start: IPv4Address,
    end: IPv4Address,
  },
  { additionalProperties: false, description: 'addresses leased dynamically, start..end inclusive, inside one subnet of the interface' },
);

export const DhcpReservation = Type.Object(
  {
    mac: MacAddress,
    address: IPv4Address,
    hostname: Type.Optional(HostName),
  },
  { additionalProperties: false, description: 'the host with this MAC always gets this address (outside the dynamic ranges)' },
);

export const DhcpServer = Type.Object(
  {
    interface: IfName,
    enabled: Type.Optional(Type.Boolean({ description: 'default true' })),
    dhcp: Type.Optional(Type.Boolean({ description: 'serve DHCP on this interface (default true)' })),
    dns: Type.Optional(Type.Boolean({ description: 'the DNS forwarder answers on this interface (default: true when the section has a dns_forwarder)' })),
    ranges: Type.Optional(Type.Array(DhcpRange, { maxItems: 16, description: 'dynamic ranges; none: only reservations get addresses' })),
    gateway: Type.Optional(Type.Union([IPv4Address, Type.Literal('none')], { description: 'router option (default: the interface\'s address; "none": no router option)' })),
    dns_servers: Type.Optional(Type.Array(IPv4Address, { maxItems: 8, description: 'DNS servers handed out (default: Junction itself when its forwarder answers here, else none)' })),
    domain: Type.Optional(DomainName),
    lease_time_s: Type.Optional(Type.Integer({ minimum: 120, maximum: 31_536_000, description: 'seconds (default 3600)' })),
    mtu: Type.Optional(Type.Integer({ minimum: 576, maximum: 9000, description: 'interface MTU option 26 (default: the interface\'s mtu when it sets one; 9000 for jumbo frames)' })),
    reservations: Type.Optional(Type.Array(DhcpReservation, { maxItems: 4096 })),
  },
  { additionalProperties: false },
);

export const DnsForwarder = Type.Object(
  {
    upstream_servers: Type.Array(IpAddress, { minItems: 1, maxItems: 8, description: 'resolvers the forwarder asks, in order of preference' }),
    use_host_resolv_conf: Type.Optional(Type.Boolean({ description: 'also ask the resolvers in the host\'s /etc/resolv.conf (default false: never read)' })),
    cache_size: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'cached names (default 1000; 0 = no cache)' })),
  },
  { additionalProperties: false },
);

export const DhcpSection = Type.Object(
  {
    servers: Type.Array(DhcpServer, { maxItems: 32 }),
    dns_forwarder: Type.Optional(DnsForwarder),
  },
  { additionalProperties: false },
);

export type DhcpSection = Static<typeof DhcpSection>;
export type DhcpServer = Static<typeof DhcpServer>;
export type DhcpRange = Static<typeof DhcpRange>;
export type DhcpReservation = Static<typeof DhcpReservation>;
export type DnsForwarder = Static<typeof DnsForwarder>;

export const DHCP_DEFAULTS = {
  leaseTimeS: 3600,
  cacheSize: 1000,
} as const;

/** Whether a server entry serves DHCP and DNS, with the defaults applied. */
export function serves(server: DhcpServer, section: DhcpSection): { dhcp: boolean; dns: boolean } {
  if (server.enabled === false) return { dhcp: false, dns: false };
  return { dhcp: server.dhcp ?? true, dns: server.dns ?? section.dns_forwarder !== undefined };
}

declare module '../../model/schema.js' {
  interface SubsystemSections {
    dhcp: DhcpSection;
  }
}
