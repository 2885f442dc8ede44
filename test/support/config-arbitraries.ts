// fast-check arbitraries for configuration documents, shared by the property
// tests (schema -> verify -> render) and the real-tool re-parse checks.
// `validishConfig` builds documents from the schema's own vocabulary
// (interfaces, zones, objects, policies, NAT, routes, VPN, BGP) that are
// mostly accepted, with near-misses mixed in so the reject paths run too;
// the malformed arbitraries break shape, type, range, nesting and encoding.
import fc from 'fast-check';

/**
 * A fixed seed by default, so `npm test` is the same run every time and a
 * failure replays; FUZZ_SEED=N picks another, FUZZ_SEED=random a fresh one
 * each run (printed on failure), and FUZZ_RUNS sets the count, for longer
 * exploring runs.
 */
export const DEFAULT_FUZZ_SEED = 20261201;

export function fuzzParameters(defaultRuns: number): { seed?: number; numRuns: number } {
  const asked = process.env.FUZZ_SEED;
  const seed = asked === 'random' ? undefined : asked ? Number(asked) : DEFAULT_FUZZ_SEED;
  const numRuns = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultRuns;
  return { ...(seed !== undefined && Number.isFinite(seed) ? { seed } : {}), numRuns };
}

/** The lab router's interfaces (and the unit harness's fake kernel, plus dx0). */
export const INTERFACE_POOL = [
  { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
  { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
  { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'] },
  { name: 'dx0', role: 'dx', zone: 'dx', addresses: ['169.254.10.1/30'] },
] as const;

const ZONES = ['ccnn', 'vpc-a', 'vpc-b', 'dx', 'vpn'];
const OBJECT_NAMES = ['web', 'db', 'lan', 'onprem', 'grp', 'Mixed.Name_1'];
const SERVICE_NAMES = ['https', 'dns', 'pg', 'svc-grp'];

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
/** Mostly addresses inside the lab's subnets, sometimes anywhere. */
const labHost = (subnet: '10.1.0' | '10.2.0' | '100.64.0' | '10.50.1') => fc.integer({ min: 2, max: 254 }).map((h) => `${subnet}.${h}`);
const vpcHost = fc.oneof(labHost('10.1.0'), labHost('10.2.0'));
const hextet = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const ipv6 = fc.oneof(
  fc.tuple(hextet, hextet).map(([a, b]) => `fd00:${a}::${b}`),
  fc.array(hextet, { minLength: 8, maxLength: 8 }).map((h) => h.join(':')),
  fc.constant('::1'),
);

/** A network written with its network address (what verify wants), from a random address. */
function network4(address: string, length: number): string {
  const value = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - length);
  const base = Math.floor(value / size) * size;
  return [24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join('.') + `/${length}`;
}
const prefix4 = fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, l]) => network4(a, l));
const sloppyPrefix4 = fc.tuple(ipv4, fc.integer({ min: 0, max: 40 })).map(([a, l]) => `${a}/${l}`);

/** Address literals as rules and objects accept them: host, network, range, v6, plus near-misses. */
export const addressLiteral = fc.oneof(
  { weight: 4, arbitrary: vpcHost },
  { weight: 3, arbitrary: prefix4 },
  { weight: 1, arbitrary: sloppyPrefix4 },
  { weight: 1, arbitrary: fc.tuple(labHost('10.1.0'), labHost('10.1.0')).map(([a, b]) => `${a}-${b}`) },
  { weight: 1, arbitrary: ipv6 },
  { weight: 1, arbitrary: ipv6.map((a) => `${a}/64`) },
  { weight: 1, arbitrary: fc.constantFrom('10.1.0.999', '1.2.3', '::g', '10.0.0.0/33', '10.1.0.9-10.1.0.1') },
);

const port = fc.integer({ min: 1, max: 65535 });
const portSpec = fc.oneof(
  { weight: 3, arbitrary: port },
  { weight: 2, arbitrary: fc.tuple(port, port).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`) },
  { weight: 1, arbitrary: fc.constantFrom('0', '70000', '9-1', '443') },
);
const serviceLiteral = fc.oneof(
  fc.tuple(fc.constantFrom('tcp', 'udp'), portSpec).map(([p, n]) => `${p}/${n}`),
  fc.constantFrom('icmp', 'icmpv6', 'esp', 'gre', 'any', 'tcp', 'udp/0', 'sctp/5'),
);

const comment = fc.oneof(fc.constant(undefined), fc.stringMatching(/^[A-Za-z0-9 ,.:_-]{0,40}$/));
const optional = <T>(arb: fc.Arbitrary<T>, freq = 2): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq });
/** Drops undefined values so the document is what a JSON client would send. */
function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const interfaces = fc.subarray([...INTERFACE_POOL], { minLength: 1 }).chain((chosen) =>
  fc.tuple(...chosen.map((iface) => fc.record({
    extraV6: fc.boolean(),
    mtu: optional(fc.integer({ min: 576, max: 9000 })),
    mss_clamp: optional(fc.boolean()),
  }).map(({ extraV6, mtu, mss_clamp }) => compact({
    ...iface,
    addresses: [...iface.addresses, ...(extraV6 ? [`fd00:${chosen.indexOf(iface) + 1}::1/64`] : [])],
    mtu,
    mss_clamp,
  })))),
);

const addressObject = (name: string) => fc.record({
  entries: optional(fc.array(addressLiteral, { maxLength: 6 }), 4),
  members: optional(fc.subarray(OBJECT_NAMES.filter((n) => n !== name), { maxLength: 2 }), 1),
  description: comment,
}).map((o) => compact({ name, ...o }));

const serviceObject = (name: string) => fc.record({
  entries: optional(fc.array(fc.record({
    protocol: fc.constantFrom('tcp', 'udp', 'icmp', 'icmpv6', 'esp', 'gre', 'any'),
    ports: optional(fc.array(portSpec, { minLength: 1, maxLength: 4 })),
  }).map(compact), { maxLength: 3 }), 4),
  members: optional(fc.subarray(SERVICE_NAMES.filter((n) => n !== name), { maxLength: 2 }), 1),
}).map((o) => compact({ name, ...o }));

const endpointList = optional(fc.array(fc.oneof(addressLiteral, fc.constantFrom(...OBJECT_NAMES)), { minLength: 1, maxLength: 4 }));

const rule = fc.record({
  action: fc.constantFrom('accept', 'drop', 'reject'),
  source: endpointList,
  destination: endpointList,
  services: optional(fc.array(fc.oneof(serviceLiteral, fc.constantFrom(...SERVICE_NAMES)), { minLength: 1, maxLength: 3 })),
  log: optional(fc.oneof(fc.boolean(), fc.record({ prefix: optional(fc.stringMatching(/^[A-Za-z0-9 _.:-]{0,20}$/)), rate_per_minute: optional(fc.integer({ min: 1, max: 6000 })) }).map(compact)), 1),
  enabled: optional(fc.boolean(), 1),
  comment,
});

const policy = fc.record({
  from: fc.constantFrom(...ZONES),
  to: fc.constantFrom(...ZONES, 'self'),
  default_action: optional(fc.constantFrom('accept', 'drop', 'reject')),
  log_default: optional(fc.boolean(), 1),
  rules: fc.array(rule, { maxLength: 6 }),
});

const natEgress = fc.record({
  sources: fc.array(fc.oneof(fc.constantFrom(...ZONES), addressLiteral, fc.constantFrom(...OBJECT_NAMES)), { minLength: 1, maxLength: 3 }),
  interface: fc.constantFrom('ccnn0', 'dx0', 'vpc0'),
  snat: fc.boolean(),
  to_address: labHost('100.64.0'),
  allow_forward: optional(fc.boolean()),
}).map(({ snat, to_address, ...rest }) => compact({ ...rest, mode: snat ? 'snat' : 'masquerade', to_address: snat ? to_address : undefined }));

const portForward = fc.record({
  interface: fc.constantFrom('ccnn0', 'ccnn0', 'dx0'),
  protocol: fc.constantFrom('tcp', 'udp'),
  port: portSpec,
  external_address: optional(labHost('100.64.0'), 1),
  to_address: fc.oneof(vpcHost, vpcHost, ipv4),
  to_port: optional(port),
  allowed_sources: optional(fc.array(addressLiteral, { minLength: 1, maxLength: 3 }), 1),
  comment,
}).map(compact);

const oneToOne = fc.record({
  interface: fc.constant('ccnn0'),
  external: labHost('100.64.0'),
  internal: vpcHost,
}).map(compact);

const staticRoute = fc.oneof(
  fc.record({ destination: prefix4, via: fc.oneof(labHost('100.64.0'), vpcHost), metric: optional(fc.integer({ min: 0, max: 65535 })) }),
  fc.record({ destination: prefix4, interface: fc.constantFrom('vpc0', 'vpc1', 'ccnn0'), metric: optional(fc.integer({ min: 0, max: 65535 })) }),
  fc.record({ destination: prefix4, blackhole: fc.constant(true) }),
  fc.record({ destination: fc.oneof(sloppyPrefix4, ipv6.map((a) => `${a}/64`)), via: optional(fc.oneof(vpcHost, ipv6)) }),
).map((r) => compact(r as Record<string, unknown>));

const PROPOSALS = ['aes256gcm16-prfsha384-ecp384', 'aes128gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048', 'aes128-sha1-modp1024', 'chacha20poly1305-prfsha256-x25519', 'bogus-nothing'];
const ESP_PROPOSALS = ['aes256gcm16-ecp256', 'aes128gcm16', 'aes256-sha256-modp2048', 'aes128-sha1', 'nonsense'];

const tunnel = fc.record({
  local_subnets: fc.array(fc.constantFrom('10.1.0.0/24', '10.2.0.0/24', '10.1.0.0/16', '10.9.0.0/24'), { minLength: 1, maxLength: 2 }),
  remote_subnets: fc.array(fc.integer({ min: 0, max: 255 }).map((n) => `10.50.${n}.0/24`), { minLength: 1, maxLength: 2 }),
  start_action: optional(fc.constantFrom('start', 'trap', 'none')),
  close_action: optional(fc.constantFrom('start', 'trap', 'none')),
  dpd_action: optional(fc.constantFrom('restart', 'clear', 'trap', 'none')),
  esp_proposals: optional(fc.array(fc.constantFrom(...ESP_PROPOSALS), { minLength: 1, maxLength: 2 }), 1),
  pfs: optional(fc.boolean()),
  rekey_time_s: optional(fc.integer({ min: 60, max: 86_400 })),
  enabled: optional(fc.boolean(), 1),
}).map(compact);

const ikePeer = fc.record({
  remote: fc.oneof(labHost('100.64.0'), fc.constantFrom('198.18.0.2', 'vpn.example.com', '2001:db8::1')),
  ike_version: optional(fc.constantFrom(1, 2), 1),
  psk: fc.stringMatching(/^[\x20-\x7e]{16,40}$/),
  local_id: optional(fc.stringMatching(/^[a-z0-9.@]{1,20}$/), 1),
  remote_id: optional(fc.stringMatching(/^[a-z0-9.@]{1,20}$/), 1),
  ike_proposals: optional(fc.array(fc.constantFrom(...PROPOSALS), { minLength: 1, maxLength: 3 }), 1),
  rekey_time_s: optional(fc.integer({ min: 300, max: 86_400 * 7 })),
  dpd_delay_s: optional(fc.integer({ min: 0, max: 3600 })),
  nat_traversal: optional(fc.constantFrom('auto', 'force')),
  tunnels: fc.array(tunnel, { minLength: 1, maxLength: 3 }),
  enabled: optional(fc.boolean(), 1),
}).map(({ psk, tunnels, ...peer }) => compact({ ...peer, auth: { method: 'psk', psk }, tunnels: tunnels.map((t, i) => ({ name: `t${i}`, ...t })) }));

const prefixMatch = fc.record({
  prefix: fc.oneof(prefix4, sloppyPrefix4),
  ge: optional(fc.integer({ min: 0, max: 32 }), 1),
  le: optional(fc.integer({ min: 0, max: 32 }), 1),
}).map(compact);

const bgpNeighbor = fc.record({
  address: fc.oneof(fc.constant('169.254.10.2'), ipv4, ipv6),
  remote_asn: fc.oneof(fc.constant(65000), fc.constant(64512), fc.integer({ min: 1, max: 4294967295 })),
  interface: optional(fc.constantFrom('dx0', 'vpc0')),
  password: optional(fc.stringMatching(/^[A-Za-z0-9 !#$%&'()*+,./:;<=>?@^_`{|}~-]{1,30}$/), 1),
  hold_time: optional(fc.integer({ min: 3, max: 65535 })),
  keepalive: optional(fc.integer({ min: 1, max: 100 }), 1),
  bfd: optional(fc.oneof(fc.boolean(), fc.record({ interval_ms: optional(fc.integer({ min: 10, max: 60_000 })), multiplier: optional(fc.integer({ min: 1, max: 255 })) }).map(compact))),
  graceful_restart: optional(fc.oneof(fc.boolean(), fc.record({ restart_time_s: optional(fc.integer({ min: 1, max: 4095 })) }).map(compact))),
  multihop: optional(fc.integer({ min: 2, max: 255 }), 1),
  max_prefix: optional(fc.record({ limit: fc.integer({ min: 1, max: 10_000_000 }), action: fc.constantFrom('warn', 'block', 'restart', 'disable') })),
  import: optional(fc.record({ prefixes: fc.array(prefixMatch, { maxLength: 4 }) })),
  export: optional(fc.record({ prefixes: optional(fc.array(prefixMatch, { maxLength: 4 })) }).map(compact)),
  local_pref: optional(fc.integer({ min: 0, max: 4294967295 }), 1),
  med: optional(fc.integer({ min: 0, max: 4294967295 }), 1),
  prepend: optional(fc.integer({ min: 1, max: 16 }), 1),
  enabled: optional(fc.boolean(), 1),
  description: comment,
}).map(compact);

const bgpSection = fc.record({
  asn: fc.oneof(fc.constant(64512), fc.integer({ min: 1, max: 4294967295 })),
  router_id: fc.oneof(fc.constant('169.254.10.1'), ipv4),
  neighbors: fc.array(bgpNeighbor, { maxLength: 3 }),
  kernel: optional(fc.record({ metric: optional(fc.integer({ min: 1, max: 4294967295 })) }).map(compact), 1),
}).map(({ neighbors, ...rest }) => compact({ ...rest, neighbors: neighbors.map((n, i) => ({ id: `n${i}`, ...n })) }));

/** Gives every object of a list a distinct id (most generated documents should pass verify). */
const withIds = <T extends Record<string, unknown>>(prefix: string, items: T[]) => items.map((item, i) => ({ id: `${prefix}${i}`, ...item }));
const uniqueBy = <T>(items: T[], key: (item: T) => string) => items.filter((item, i) => items.findIndex((other) => key(other) === key(item)) === i);

export interface ArbitraryOptions {
  /** include vpn and bgp sections (they make apply start daemons) */
  daemons?: boolean;
  /** the interfaces a document may use (default: all of INTERFACE_POOL) */
  interfaces?: string[];
}

/**
 * A document that verify should accept: every reference names something
 * the document declares, every address sits where verify wants it. (If
 * verify still rejects one, the problem names the path, which the property
 * tests check; the acceptance ratio they print shows the mix.)
 */
export function coherentConfig(options: ArbitraryOptions = {}): fc.Arbitrary<Record<string, any>> {
  const daemons = options.daemons ?? true;
  const allowed = new Set(options.interfaces ?? INTERFACE_POOL.map((i) => i.name));
  return interfaces.map((list) => list.filter((i) => allowed.has(i.name))).filter((list) => list.length > 0).chain((ifaces) => {
    const names = ifaces.map((i) => i.name);
    const has = (name: string) => (names as string[]).includes(name);
    const vpcSubnets = ifaces.filter((i) => i.role === 'vpc' || i.role === 'dx').map((i) => i.addresses[0]!.replace(/\.1\//, '.0/'));
    const vpcHosts = (['10.1.0', '10.2.0'] as const).filter((n) => has(n === '10.1.0' ? 'vpc0' : 'vpc1')).map(labHost);
    const withVpn = daemons && has('ccnn0') && vpcHosts.length > 0;
    const zones = [...new Set(ifaces.map((i) => i.zone)), ...(withVpn ? ['vpn'] : [])];
    const host = vpcHosts.length ? fc.oneof(...vpcHosts) : fc.constant('100.64.0.9');
    const v6Subnets = ifaces.filter((i) => i.addresses.length > 1).map((i) => i.addresses[1]!.replace(/::1\/64$/, '::'));
    const literal = fc.oneof(
      { weight: 6, arbitrary: fc.oneof(host, prefix4, fc.tuple(labHost('10.1.0'), fc.integer({ min: 1, max: 20 })).map(([a, n]) => `${a}-10.1.0.${Math.min(254, Number(a.split('.')[3]) + n)}`)) },
      // IPv6 hosts and networks in the interfaces' v6 subnets (a rule mixing families is rejected, with its path)
      { weight: v6Subnets.length ? 1 : 0, arbitrary: v6Subnets.length ? fc.tuple(fc.constantFrom(...v6Subnets), hextet, fc.boolean()).map(([net, h, asNet]) => (asNet ? `${net}/64` : `${net}${h}`)) : fc.constant('fd00:9::1') },
    );
    const goodPort = fc.oneof(port, fc.tuple(port, port).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
    return fc.record({
      objectNames: fc.subarray(OBJECT_NAMES),
      serviceNames: fc.subarray(SERVICE_NAMES),
      pairs: fc.shuffledSubarray(zones.flatMap((from) => [...zones, 'self'].filter((to) => to !== from).map((to) => [from, to] as const))).map((p) => p.slice(0, 4)),
    }).chain(({ objectNames, serviceNames, pairs }) => {
      // Groups refer only to objects declared before them: no cycles.
      const addressObjects = fc.tuple(...objectNames.map((name, i) => fc.record({
        entries: fc.array(literal, { minLength: 1, maxLength: 5 }),
        members: i > 0 ? optional(fc.subarray(objectNames.slice(0, i), { minLength: 1 }), 1) : fc.constant(undefined),
        description: comment,
      }).map((o) => compact({ name, ...o, members: o.members?.length ? o.members : undefined }))));
      const serviceObjects = fc.tuple(...serviceNames.map((name, i) => fc.record({
        entries: fc.array(fc.oneof(
          fc.record({ protocol: fc.constantFrom('tcp', 'udp'), ports: fc.array(goodPort, { minLength: 1, maxLength: 3 }) }),
          fc.record({ protocol: fc.constantFrom('icmp', 'esp', 'gre', 'any') }),
        ), { minLength: 1, maxLength: 3 }),
        members: i > 0 ? optional(fc.subarray(serviceNames.slice(0, i), { minLength: 1 }), 1) : fc.constant(undefined),
      }).map((o) => compact({ name, ...o, members: o.members?.length ? o.members : undefined }))));
      const endpoints = optional(fc.array(objectNames.length ? fc.oneof(literal, fc.constantFrom(...objectNames)) : literal, { minLength: 1, maxLength: 3 }));
      const serviceRef = fc.oneof(
        fc.tuple(fc.constantFrom('tcp', 'udp'), goodPort).map(([p, n]) => `${p}/${n}`),
        fc.constantFrom('icmp', 'icmpv6', 'esp', 'gre'),
        ...(serviceNames.length ? [fc.constantFrom(...serviceNames)] : []),
      );
      const goodRule = rule.chain((r) => fc.record({ source: endpoints, destination: endpoints, services: optional(fc.array(serviceRef, { minLength: 1, maxLength: 3 })) })
        .map((refs) => compact({ ...r, ...refs })));
      const policies = fc.tuple(...pairs.map(([from, to]) => fc.record({
        default_action: optional(fc.constantFrom('accept', 'drop', 'reject')),
        log_default: optional(fc.boolean(), 1),
        rules: fc.array(goodRule, { maxLength: 5 }),
      }).map((p) => compact({ from, to, ...p }))));
      const egressIfaces = names.filter((n) => n === 'ccnn0' || n === 'dx0');
      const egress = egressIfaces.length ? fc.array(fc.record({
        sources: fc.subarray(zones.filter((z) => z !== 'vpn'), { minLength: 1 }),
        interface: fc.constantFrom(...egressIfaces),
        snat: fc.boolean(),
        to_address: labHost('100.64.0'),
      }).map(({ snat, to_address, ...rest }) => compact({ ...rest, mode: snat ? 'snat' : 'masquerade', to_address: snat ? to_address : undefined })), { maxLength: 2 }) : fc.constant([]);
      const forwards = egressIfaces.length && vpcHosts.length ? fc.array(fc.record({
        interface: fc.constantFrom(...egressIfaces),
        protocol: fc.constantFrom('tcp', 'udp'),
        port: goodPort,
        to_address: host,
        to_port: optional(port),
        allowed_sources: optional(fc.array(literal, { minLength: 1, maxLength: 2 }), 1),
      }).map((f) => compact({ ...f, to_port: typeof f.port === 'number' ? f.to_port : undefined })), { maxLength: 3 })
        .map((list) => uniqueBy(list, (f) => `${f.interface}/${f.protocol}/${f.port}`)) : fc.constant([]);
      const oneToOnes = has('ccnn0') && vpcHosts.length ? fc.array(fc.record({ interface: fc.constant('ccnn0'), external: labHost('100.64.0'), internal: host }), { maxLength: 2 })
        .map((list) => uniqueBy(uniqueBy(list, (n) => n.external), (n) => n.internal)) : fc.constant([]);
      const nextHop = has('ccnn0') ? labHost('100.64.0') : host;
      const routes = fc.array(fc.oneof(
        fc.record({ destination: prefix4, via: nextHop, metric: optional(fc.integer({ min: 0, max: 65535 })) }),
        fc.record({ destination: prefix4, interface: fc.constantFrom(...names), metric: optional(fc.integer({ min: 0, max: 65535 })) }),
        fc.record({ destination: prefix4, blackhole: fc.constant(true) }),
      ).map((r) => compact(r as Record<string, unknown>)), { maxLength: 4 })
        // 0.0.0.0/0 and friends are fine; a route equal to a connected subnet is too, for the kernel
        .map((list) => uniqueBy(list, (r) => `${r.destination}/${r.metric ?? 0}`));
      const peers = withVpn ? fc.array(ikePeer.map((peer) => ({
        ...peer,
        ike_version: 2,
        ike_proposals: undefined,
        tunnels: peer.tunnels.map((t: Record<string, unknown>) => compact({ ...t, esp_proposals: undefined, local_subnets: vpcSubnets.filter((s) => s.startsWith('10.')).slice(0, 1) })),
      })).map((p) => compact(p)), { maxLength: 2 }) : fc.constant([]);
      const bgp = daemons && has('dx0') ? optional(fc.record({
        asn: fc.constant(64512),
        router_id: fc.constant('169.254.10.1'),
        neighbors: fc.array(bgpNeighbor.map((n) => {
          const fix = (list?: Array<{ prefix: string; ge?: number; le?: number }>) => list?.map((m) => {
            const length = Number(m.prefix.split('/')[1]);
            const p = network4(m.prefix.split('/')[0]!, Math.min(length, 32));
            const l = Number(p.split('/')[1]);
            return compact({ prefix: p, ge: m.ge !== undefined ? Math.max(l, Math.min(m.ge, 32)) : undefined, le: m.le !== undefined ? 32 : undefined });
          });
          return compact({
            ...n,
            address: '169.254.10.2',
            interface: 'dx0',
            multihop: undefined,
            local_address: undefined,
            keepalive: undefined,
            import: n.import ? { prefixes: fix(n.import.prefixes) } : undefined,
            export: n.export?.prefixes ? { prefixes: fix(n.export.prefixes) } : n.export,
          });
        }), { maxLength: 1 }).map((list) => list.map((n, i) => ({ ...n, id: `n${i}` }))),
      })) : fc.constant(undefined);
      return fc.record({ addressObjects, serviceObjects, policies, egress, forwards, oneToOnes, routes, peers, bgp }).map((d) => compact({
        interfaces: ifaces,
        zones: zones.map((name) => ({ name })),
        objects: { addresses: d.addressObjects, services: d.serviceObjects },
        firewall: { policies: d.policies.map((p, i) => ({ name: `p${i}`, ...p, rules: withIds(`p${i}r`, p.rules as Array<Record<string, unknown>>) })) },
        nat: { egress: withIds('eg', d.egress), port_forwards: withIds('pf', d.forwards), one_to_one: withIds('nat1-', d.oneToOnes) },
        routes: { static: withIds('rt', d.routes) },
        vpn: d.peers.length ? { peers: d.peers.map((p, i) => ({ ...p, name: `peer${i}`, remote: `198.18.0.${i + 2}`, tunnels: (p.tunnels as Array<Record<string, unknown>>).map((t, j) => ({ ...t, remote_subnets: [`10.5${i}.${j}.0/24`] })) })) } : undefined,
        bgp: d.bgp,
      }));
    });
  });
}

/** Documents from the schema's vocabulary with loose references and near-miss values: often rejected. */
export function sloppyConfig(options: ArbitraryOptions = {}): fc.Arbitrary<Record<string, any>> {
  const daemons = options.daemons ?? true;
  const allowed = new Set(options.interfaces ?? INTERFACE_POOL.map((i) => i.name));
  return fc.record({
    interfaces: interfaces.map((list) => list.filter((i) => allowed.has(i.name))),
    extraZones: fc.subarray(['vpn', 'spare']),
    addresses: fc.subarray(OBJECT_NAMES).chain((names) => fc.tuple(...names.map(addressObject))),
    services: fc.subarray(SERVICE_NAMES).chain((names) => fc.tuple(...names.map(serviceObject))),
    policies: fc.array(policy, { maxLength: 4 }),
    egress: fc.array(natEgress, { maxLength: 2 }),
    forwards: fc.array(portForward, { maxLength: 3 }),
    oneToOne: fc.array(oneToOne, { maxLength: 2 }),
    routes: fc.array(staticRoute, { maxLength: 4 }),
    peers: daemons ? fc.array(ikePeer, { maxLength: 2 }) : fc.constant([]),
    bgp: daemons ? optional(bgpSection) : fc.constant(undefined),
    system: optional(fc.record({
      allow_ping: optional(fc.boolean()),
      api_zones: optional(fc.subarray(ZONES, { maxLength: 2 }), 1),
      flowtable: optional(fc.constantFrom('auto', 'off')),
    }).map(compact), 1),
  }).map((d) => {
    const zones = [...new Set([...d.interfaces.map((i) => i.zone), ...d.extraZones])].map((name) => ({ name }));
    return compact({
      system: d.system,
      interfaces: d.interfaces,
      zones,
      objects: { addresses: d.addresses, services: d.services },
      firewall: { policies: d.policies.map((p, i) => ({ name: `p${i}`, ...p, rules: withIds(`p${i}r`, p.rules) })) },
      nat: { egress: withIds('eg', d.egress), port_forwards: withIds('pf', d.forwards), one_to_one: withIds('nat1-', d.oneToOne) },
      routes: { static: withIds('rt', d.routes) },
      vpn: d.peers.length ? { peers: d.peers.map((p, i) => ({ name: `peer${i}`, ...p })) } : undefined,
      bgp: d.bgp,
    });
  });
}

/** Mostly documents verify accepts, and a good share of near misses. */
export function validishConfig(options: ArbitraryOptions = {}): fc.Arbitrary<Record<string, any>> {
  return fc.oneof({ weight: 3, arbitrary: coherentConfig(options) }, { weight: 2, arbitrary: sloppyConfig(options) });
}

/** One item per resource collection of the API, with the URL it is posted to (ids and names added). */
export function collectionItem(): fc.Arbitrary<{ url: string; body: Record<string, unknown> }> {
  const at = (url: string, key: 'id' | 'name', arb: fc.Arbitrary<Record<string, unknown>>) =>
    fc.tuple(arb, fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/)).map(([body, k]) => ({ url, body: { [key]: k, ...body } }));
  return fc.oneof(
    at('/v1/firewall/policies/a-to-b/rules', 'id', rule as fc.Arbitrary<Record<string, unknown>>),
    at('/v1/objects/addresses', 'name', addressObject('x').map(({ name: _n, ...rest }) => rest)),
    at('/v1/nat/egress', 'id', natEgress),
    at('/v1/nat/port-forwards', 'id', portForward),
    at('/v1/nat/one-to-one', 'id', oneToOne),
    at('/v1/routes/static', 'id', staticRoute),
    at('/v1/vpn/peers', 'name', ikePeer),
    at('/v1/vpn/peers/peer0/tunnels', 'name', tunnel),
    at('/v1/bgp/neighbors', 'id', bgpNeighbor),
  );
}

/** JSON scalars that break types and ranges: huge, negative, fractional, empty, unicode. */
export const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -1, -0, 0.5, 1e308, -1e308, 2 ** 53 + 1, 4294967296, 65536, Number.MAX_SAFE_INTEGER, '', ' ', '\u0000', '\n', '"', '\\', 'self', '********', null, true, false, [], {}),
  fc.fullUnicodeString({ maxLength: 40 }),
  fc.string({ minLength: 200, maxLength: 600 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Every path to a value inside a JSON document. */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const here = [prefix];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  return here;
}

function replaceAt(doc: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy: any = Array.isArray(doc) ? [...doc] : { ...(doc as object) };
  copy[head] = replaceAt(copy[head], rest, value);
  return copy;
}

/** A generated document with one value (anywhere, the root included) replaced by a hostile one. */
export const mutatedConfig: fc.Arbitrary<unknown> = validishConfig().chain((doc) => {
  const all = paths(doc);
  return fc.tuple(fc.integer({ min: 0, max: all.length - 1 }), fc.oneof(hostileScalar, fc.jsonValue({ maxDepth: 3 })), fc.boolean())
    .map(([index, value, extraKey]) => {
      const path = all[index];
      // Sometimes add an unknown key beside the value instead of replacing it.
      if (extraKey && path.length > 0) return replaceAt(doc, [...path.slice(0, -1), `x\u00e9\u{1F600}${String(path.at(-1))}`], value);
      return replaceAt(doc, path, value);
    });
});

/** Arrays and objects nested `depth` deep, as a JSON text (what a client would send). */
export function deeplyNested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
