// The configuration document: one declarative description of the whole box.
// Every API resource is a view of a part of it. The schemas here are the
// shape check ("validate"); meaning across objects is checked in verify.ts.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Name, Id, IfName, InterfaceAddress, AddressLiteral, IpAddress, Network, Port, PortOrRange, Comment } from './primitives.js';

export const InterfaceRole = Type.Union(
  [Type.Literal('ccnn'), Type.Literal('vpc'), Type.Literal('vpn'), Type.Literal('dx')],
  { description: 'ccnn: the cloud pod network (egress side); vpc: an L2 VPC; vpn: tunnel side; dx: Direct Connect link' },
);

/**
 * Selects the kernel interface by what the platform promises instead of by
 * its kernel name (a Pod's or Virtual Server's names are not known in
 * advance). Every given criterion must hold, and exactly one interface must
 * meet them all. Candidates are the interfaces a runtime or the platform
 * attaches: physical NICs (SR-IOV VFs, virtio), veth, macvlan and ipvlan,
 * never loopback, bridges, tunnels or the VPN's TUN device. How `index`
 * counts and what it means on a Virtual Server and in a Pod:
 * model/selection.ts.
 */
export const InterfaceMatch = Type.Object(
  {
    mac: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$', description: 'the MAC address, octets separated by ":" or "-"' })),
    index: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, description: 'position (from 0) among the candidates in kernel ifindex order, i.e. attach order: on a Virtual Server 0 is the pod-network NIC and N the N-th entry of spec.network.vpcs' })),
    subnet: Type.Optional(Type.String({ pattern: Network.pattern, description: 'the network an address already on the interface falls in (given by the runtime, the platform or an earlier apply)' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const Interface = Type.Object(
  {
    name: IfName,
    match: Type.Optional(InterfaceMatch),
    role: InterfaceRole,
    zone: Name,
    addresses: Type.Optional(Type.Array(InterfaceAddress, { maxItems: 64 })),
    dhcp: Type.Optional(Type.Boolean({ description: 'DHCP client for the address (ccnn role only)' })),
    mtu: Type.Optional(Type.Integer({ minimum: 576, maximum: 9000 })),
    mss_clamp: Type.Optional(Type.Boolean({ description: 'clamp TCP MSS to the path MTU on forwarded SYNs (default true)' })),
    description: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const Zone = Type.Object(
  {
    name: Name,
    description: Type.Optional(Comment),
    intra_zone: Type.Optional(Type.Union([Type.Literal('accept'), Type.Literal('drop')], {
      description: 'traffic routed between two interfaces of this zone (default accept)',
    })),
  },
  { additionalProperties: false },
);

export const AddressObject = Type.Object(
  {
    name: Name,
    entries: Type.Optional(Type.Array(AddressLiteral, { maxItems: 100_000 })),
    members: Type.Optional(Type.Array(Name, { maxItems: 1024, description: 'names of other address objects (a group)' })),
    description: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const Protocol = Type.Union(
  [Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('icmp'), Type.Literal('icmpv6'), Type.Literal('esp'), Type.Literal('gre'), Type.Literal('any')],
);

export const ServiceEntry = Type.Object(
  { protocol: Protocol, ports: Type.Optional(Type.Array(PortOrRange, { maxItems: 1024 })) },
  { additionalProperties: false },
);

export const ServiceObject = Type.Object(
  {
    name: Name,
    entries: Type.Optional(Type.Array(ServiceEntry, { maxItems: 1024 })),
    members: Type.Optional(Type.Array(Name, { maxItems: 1024, description: 'names of other service objects (a group)' })),
    description: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const Action = Type.Union([Type.Literal('accept'), Type.Literal('drop'), Type.Literal('reject')]);

export const LogOptions = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: 20, pattern: '^[A-Za-z0-9 _.:-]*$' })),
    rate_per_minute: Type.Optional(Type.Integer({ minimum: 1, maximum: 6000, description: 'log at most this many packets a minute (default 60)' })),
  },
  { additionalProperties: false },
);

export const FirewallRule = Type.Object(
  {
    id: Id,
    action: Action,
    source: Type.Optional(Type.Array(Type.String({ maxLength: 96 }), { maxItems: 1024, description: 'address object names or literals; absent means any' })),
    destination: Type.Optional(Type.Array(Type.String({ maxLength: 96 }), { maxItems: 1024 })),
    services: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 256, description: 'service object names or literals such as "tcp/443", "udp/5000-5010", "icmp"' })),
    log: Type.Optional(Type.Union([Type.Boolean(), LogOptions])),
    enabled: Type.Optional(Type.Boolean()),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const FirewallPolicy = Type.Object(
  {
    name: Name,
    from: Name,
    to: Name,
    description: Type.Optional(Comment),
    default_action: Type.Optional(Action),
    log_default: Type.Optional(Type.Boolean({ description: 'log (rate-limited) what falls through to the default action' })),
    rules: Type.Array(FirewallRule, { maxItems: 200_000 }),
  },
  { additionalProperties: false },
);

export const NatEgress = Type.Object(
  {
    id: Id,
    sources: Type.Array(Type.String({ maxLength: 96 }), { minItems: 1, maxItems: 1024, description: 'zone names, address object names or literals' }),
    interface: IfName,
    mode: Type.Optional(Type.Union([Type.Literal('masquerade'), Type.Literal('snat')])),
    to_address: Type.Optional(IpAddress),
    allow_forward: Type.Optional(Type.Boolean({ description: 'also allow these sources out of the interface (default true)' })),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const PortForward = Type.Object(
  {
    id: Id,
    interface: IfName,
    protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
    port: PortOrRange,
    external_address: Type.Optional(IpAddress),
    to_address: IpAddress,
    to_port: Type.Optional(Port),
    allowed_sources: Type.Optional(Type.Array(Type.String({ maxLength: 96 }), { maxItems: 1024 })),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const OneToOneNat = Type.Object(
  {
    id: Id,
    interface: IfName,
    external: IpAddress,
    internal: IpAddress,
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const StaticRoute = Type.Object(
  {
    id: Id,
    destination: AddressLiteral,
    via: Type.Optional(IpAddress),
    interface: Type.Optional(IfName),
    metric: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    blackhole: Type.Optional(Type.Boolean()),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const SystemSettings = Type.Object(
  {
    hostname: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]{1,63}$' })),
    reconcile_interval_s: Type.Optional(Type.Integer({ minimum: 5, maximum: 86_400 })),
    flowtable: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('off')], {
      description: 'software fast path for established flows where the kernel has it (default auto)',
    })),
    allow_ping: Type.Optional(Type.Boolean({ description: 'answer ICMP echo to the router itself (default true)' })),
    api_zones: Type.Optional(Type.Array(Name, { description: 'zones that may reach the REST API port (default: ccnn-role zones)' })),
    api_port: Type.Optional(Port),
  },
  { additionalProperties: false },
);

/** The sections the core owns; subsystems add theirs (see SubsystemSections). */
const coreSections = {
    system: Type.Optional(SystemSettings),
    interfaces: Type.Array(Interface, { maxItems: 32 }),
    zones: Type.Array(Zone, { maxItems: 64 }),
    objects: Type.Optional(Type.Object(
      {
        addresses: Type.Optional(Type.Array(AddressObject, { maxItems: 100_000 })),
        services: Type.Optional(Type.Array(ServiceObject, { maxItems: 100_000 })),
      },
      { additionalProperties: false },
    )),
    firewall: Type.Optional(Type.Object(
      { policies: Type.Array(FirewallPolicy, { maxItems: 4096 }) },
      { additionalProperties: false },
    )),
    nat: Type.Optional(Type.Object(
      {
        egress: Type.Optional(Type.Array(NatEgress, { maxItems: 1024 })),
        port_forwards: Type.Optional(Type.Array(PortForward, { maxItems: 65_535 })),
        one_to_one: Type.Optional(Type.Array(OneToOneNat, { maxItems: 65_535 })),
      },
      { additionalProperties: false },
    )),
    routes: Type.Optional(Type.Object(
      { static: Type.Array(StaticRoute, { maxItems: 100_000 }) },
      { additionalProperties: false },
    )),
};

/**
 * The document schema: the core sections plus each subsystem's own section
 * (declared by the subsystem, assembled by the reconciler from its list).
 */
export function documentSchema(sections: Record<string, TSchema> = {}) {
  const extra = Object.fromEntries(Object.entries(sections).map(([key, schema]) => [key, Type.Optional(schema)]));
  return Type.Object({ ...coreSections, ...extra }, { additionalProperties: false });
}

/**
 * The types of the subsystems' sections. A subsystem adds its own by
 * declaration merging next to its schema (`declare module
 * '.../model/schema.js' { interface SubsystemSections { vpn: VpnSection } }`),
 * so the model never imports a subsystem.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface SubsystemSections {}

const CoreDocument = documentSchema();
export type Config = Static<typeof CoreDocument> & Partial<SubsystemSections>;
export type Interface = Static<typeof Interface>;
export type InterfaceRole = Static<typeof InterfaceRole>;
export type InterfaceMatch = Static<typeof InterfaceMatch>;
export type Zone = Static<typeof Zone>;
export type AddressObject = Static<typeof AddressObject>;
export type ServiceObject = Static<typeof ServiceObject>;
export type ServiceEntry = Static<typeof ServiceEntry>;
export type Protocol = Static<typeof Protocol>;
export type Action = Static<typeof Action>;
export type FirewallRule = Static<typeof FirewallRule>;
export type FirewallPolicy = Static<typeof FirewallPolicy>;
export type LogOptions = Static<typeof LogOptions>;
export type NatEgress = Static<typeof NatEgress>;
export type PortForward = Static<typeof PortForward>;
export type OneToOneNat = Static<typeof OneToOneNat>;
export type StaticRoute = Static<typeof StaticRoute>;
export type SystemSettings = Static<typeof SystemSettings>;

/** The zone name that stands for the router itself in policies (`to: self`). */
export const SELF_ZONE = 'self';

export const emptyConfig = (): Config => ({ interfaces: [], zones: [] });

export type { TSchema };
