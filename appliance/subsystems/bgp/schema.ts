// The `bgp` section of the configuration document (Config's `bgp?:`, typed by the declaration at the end).
// Shape only; meaning across objects is checked in verify.ts.
// Defaults follow the AWS Direct Connect profile: hold time
// 90 s, BFD 300 ms x 3, graceful restart 120 s, TTL 1 (directly connected).
import { Type, type Static } from '@sinclair/typebox';
import { interfaceReference, IpAddress, IPv4Address, Network } from '../../model/primitives.js';

export const Asn = Type.Integer({ minimum: 1, maximum: 4294967295, description: 'autonomous system number (4-octet)' });

/** Neighbor ids become BIRD protocol and filter names, so they stay plain. */
const NeighborId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$',
  description: 'neighbor id: letters, digits, "_" and "-", at most 32 characters',
});
const IfName = interfaceReference('interface name (a dx-role interface)');
const PrefixLength = Type.Integer({ minimum: 0, maximum: 128 });

export const PrefixMatch = Type.Object(
  {
    prefix: Type.String({ pattern: Network.pattern, description: 'network, e.g. 10.0.0.0/8' }),
    ge: Type.Optional(PrefixLength),
    le: Type.Optional(PrefixLength),
  },
  { additionalProperties: false, description: 'matches the prefix itself, or lengths ge..le inside it' },
);

export const BfdOptions = Type.Object(
  {
    interval_ms: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000, description: 'tx/rx interval (default 300)' })),
    multiplier: Type.Optional(Type.Integer({ minimum: 1, maximum: 255, description: 'missed packets before down (default 3)' })),
  },
  { additionalProperties: false },
);

export const GracefulRestartOptions = Type.Object(
  { restart_time_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 4095, description: 'default 120' })) },
  { additionalProperties: false },
);

export const MaxPrefixAction = Type.Union([
  Type.Literal('warn'), Type.Literal('block'), Type.Literal('restart'), Type.Literal('disable'),
]);

export const MaxPrefix = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 10_000_000 }), action: MaxPrefixAction },
  { additionalProperties: false },
);

export const BgpNeighbor = Type.Object(
  {
    id: NeighborId,
    address: IpAddress,
    remote_asn: Asn,
    interface: Type.Optional(IfName),
    local_address: Type.Optional(IpAddress),
    password: Type.Optional(Type.String({
      minLength: 1,
      maxLength: 80,
      // BIRD strings have no escapes, so quotes and backslashes cannot be carried.
      pattern: '^[^"\\\\\\n\\r]*$',
      writeOnly: true,
      description: 'TCP MD5 key (RFC 2385); write-only, never returned or logged',
    })),
    hold_time: Type.Optional(Type.Integer({ minimum: 3, maximum: 65535, description: 'seconds (default 90)' })),
    keepalive: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'seconds (default hold_time / 3)' })),
    bfd: Type.Optional(Type.Union([Type.Boolean(), BfdOptions])),
    graceful_restart: Type.Optional(Type.Union([Type.Boolean(), GracefulRestartOptions], { description: 'default on, 120 s' })),
    multihop: Type.Optional(Type.Integer({ minimum: 2, maximum: 255, description: 'TTL for a multihop session; absent = directly connected (TTL 1)' })),
    max_prefix: Type.Optional(MaxPrefix),
    import: Type.Optional(Type.Object(
      { prefixes: Type.Array(PrefixMatch, { maxItems: 10_000 }) },
      { additionalProperties: false, description: 'prefixes accepted from the neighbor; absent = none for eBGP, all for iBGP' },
    )),
    export: Type.Optional(Type.Object(
      { prefixes: Type.Optional(Type.Array(PrefixMatch, { maxItems: 10_000 })) },
      { additionalProperties: false, description: 'prefixes announced; absent = the VPC subnets' },
    )),
    local_pref: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'set on routes imported from this neighbor' })),
    med: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'MED sent with our announcements' })),
    prepend: Type.Optional(Type.Integer({ minimum: 1, maximum: 16, description: 'extra copies of our ASN on announcements' })),
    enabled: Type.Optional(Type.Boolean({ description: 'default true' })),
    description: Type.Optional(Type.String({ maxLength: 128, pattern: '^[^"\\\\\\n]*$' })),
  },
  { additionalProperties: false },
);

export const BgpSection = Type.Object(
  {
    asn: Asn,
    router_id: IPv4Address,
    neighbors: Type.Array(BgpNeighbor, { maxItems: 64 }),
    kernel: Type.Optional(Type.Object(
      {
        metric: Type.Optional(Type.Integer({
          minimum: 1,
          maximum: 4294967295,
          description: 'kernel route metric of BGP routes (default 2000; see render.ts)',
        })),
      },
      { additionalProperties: false },
    )),
  },
  { additionalProperties: false },
);

export type BgpSection = Static<typeof BgpSection>;
export type BgpNeighbor = Static<typeof BgpNeighbor>;
export type PrefixMatch = Static<typeof PrefixMatch>;
export type BfdOptions = Static<typeof BfdOptions>;
export type MaxPrefix = Static<typeof MaxPrefix>;
export type MaxPrefixAction = Static<typeof MaxPrefixAction>;

/** The Direct Connect profile: every default in one place. */
export const BGP_DEFAULTS = {
  holdTime: 90,
  bfdIntervalMs: 300,
  bfdMultiplier: 3,
  gracefulRestart: true,
  gracefulRestartTime: 120,
  /**
   * Linux picks the lowest metric among routes to the same prefix. IPv4
   * routes added without a metric get 0 and IPv6 ones 1024, so Junction's
   * static routes win over BGP by default, and a static route with a metric
   * above 2000 becomes a floating backup behind the Direct Connect.
   */
  kernelMetric: 2000,
} as const;

/** A neighbor with every default filled in: what render.ts works from. */
export interface ResolvedNeighbor {
  id: string;
  address: string;
  remoteAsn: number;
  interface?: string;
  localAddress?: string;
  password?: string;
  holdTime: number;
  keepalive?: number;
  bfd?: { intervalMs: number; multiplier: number };
  gracefulRestart?: { time: number };
  /** undefined = directly connected (TTL 1) */
  multihop?: number;
  maxPrefix?: MaxPrefix;
  /** undefined = default (deny for eBGP, accept for iBGP) */
  importPrefixes?: PrefixMatch[];
  /** undefined = the VPC subnets */
  exportPrefixes?: PrefixMatch[];
  localPref?: number;
  med?: number;
  prepend: number;
  enabled: boolean;
  ibgp: boolean;
}

export function resolveNeighbor(n: BgpNeighbor, localAsn: number): ResolvedNeighbor {
  const bfd = n.bfd === undefined || n.bfd === false ? undefined
    : { intervalMs: (n.bfd === true ? undefined : n.bfd.interval_ms) ?? BGP_DEFAULTS.bfdIntervalMs,
        multiplier: (n.bfd === true ? undefined : n.bfd.multiplier) ?? BGP_DEFAULTS.bfdMultiplier };
  const gr = n.graceful_restart ?? BGP_DEFAULTS.gracefulRestart;
  return {
    id: n.id,
    address: n.address,
    remoteAsn: n.remote_asn,
    ...(n.interface !== undefined ? { interface: n.interface } : {}),
    ...(n.local_address !== undefined ? { localAddress: n.local_address } : {}),
    ...(n.password !== undefined ? { password: n.password } : {}),
    holdTime: n.hold_time ?? BGP_DEFAULTS.holdTime,
    ...(n.keepalive !== undefined ? { keepalive: n.keepalive } : {}),
    ...(bfd ? { bfd } : {}),
    ...(gr === false ? {} : { gracefulRestart: { time: (gr === true ? undefined : gr.restart_time_s) ?? BGP_DEFAULTS.gracefulRestartTime } }),
    ...(n.multihop !== undefined ? { multihop: n.multihop } : {}),
    ...(n.max_prefix ? { maxPrefix: n.max_prefix } : {}),
    ...(n.import ? { importPrefixes: n.import.prefixes } : {}),
    ...(n.export?.prefixes ? { exportPrefixes: n.export.prefixes } : {}),
    ...(n.local_pref !== undefined ? { localPref: n.local_pref } : {}),
    ...(n.med !== undefined ? { med: n.med } : {}),
    prepend: n.prepend ?? 0,
    enabled: n.enabled ?? true,
    ibgp: n.remote_asn === localAsn,
  };
}

declare module '../../model/schema.js' {
  interface SubsystemSections {
    bgp: BgpSection;
  }
}
