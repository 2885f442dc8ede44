// Stage 2, verify: meaning across objects. Each check names the path of the
// offending field. Object references inside firewall rules and NAT sources
// are resolved (and reported) by the rules compiler, which the firewall
// driver runs as its own verify step; every other check has its one owner
// here, and the compiler trusts what passed it (zone pairs, rule ids, NAT
// interfaces and ports are not checked twice in different words).
import { SELF_ZONE, type Config } from './schema.js';
import { ProblemList, type Problem } from './problems.js';
import { parseAddress, parsePrefix, parseAddressLiteral, rangesOverlap, rangeContains, type IpRange } from './ip.js';
import { verifyUniqueIds } from './unique-ids.js';

export function verifyConfig(config: Config): Problem[] {
  const problems = new ProblemList();
  const zones = verifyZones(config, problems);
  const interfaces = verifyInterfaces(config, zones, problems);
  verifyPolicies(config, zones, problems);
  verifyNat(config, interfaces, problems);
  verifyRoutes(config, interfaces, problems);
  verifySystem(config, zones, problems);
  verifyUniqueIds(config, problems);
  return problems.items;
}

function duplicates<T>(items: T[], key: (item: T) => string, path: (index: number) => string, what: string, problems: ProblemList): Set<string> {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) problems.add(path(index), `duplicate ${what} "${k}"`);
    seen.add(k);
  });
  return seen;
}

function verifyZones(config: Config, problems: ProblemList): Set<string> {
  config.zones.forEach((zone, i) => {
    if (zone.name === SELF_ZONE) problems.add(`/zones/${i}/name`, `"${SELF_ZONE}" is reserved for the router itself`);
  });
  return duplicates(config.zones, (z) => z.name, (i) => `/zones/${i}/name`, 'zone', problems);
}

/** The connected subnets of each interface, used by later checks. */
export interface ConnectedSubnet {
  interface: string;
  role: string;
  range: IpRange;
  path: string;
}

function verifyInterfaces(config: Config, zones: Set<string>, problems: ProblemList): ConnectedSubnet[] {
  duplicates(config.interfaces, (i) => i.name, (i) => `/interfaces/${i}/name`, 'interface', problems);
  const subnets: ConnectedSubnet[] = [];
  config.interfaces.forEach((iface, i) => {
    const base = `/interfaces/${i}`;
    if (!zones.has(iface.zone)) problems.add(`${base}/zone`, `unknown zone "${iface.zone}"`);
    if (iface.dhcp && iface.role !== 'ccnn') problems.add(`${base}/dhcp`, 'the DHCP client is only for the ccnn interface; VPC interfaces need static addresses');
    if (iface.dhcp && iface.addresses?.length) problems.add(`${base}/addresses`, 'give either static addresses or dhcp: true, not both');
    (iface.addresses ?? []).forEach((text, j) => {
      const path = `${base}/addresses/${j}`;
      const prefix = parsePrefix(text);
      if (!prefix || !text.includes('/')) return problems.add(path, `"${text}" is not an address with a prefix length (e.g. 10.1.0.1/24)`);
      if (prefix.family === 4 && prefix.length < 31 && (prefix.address === prefix.first || prefix.address === prefix.last)) {
        return problems.add(path, `"${text}" is the network or broadcast address of its subnet`);
      }
      const range = { family: prefix.family, first: prefix.first, last: prefix.last };
      const clash = subnets.find((s) => rangesOverlap(s.range, range));
      if (clash) problems.add(path, `subnet of "${text}" overlaps the subnet at ${clash.path} on ${clash.interface}`);
      subnets.push({ interface: iface.name, role: iface.role, range, path });
    });
  });
  return subnets;
}

function verifyPolicies(config: Config, zones: Set<string>, problems: ProblemList): void {
  const policies = config.firewall?.policies ?? [];
  duplicates(policies, (p) => p.name, (i) => `/firewall/policies/${i}/name`, 'policy', problems);
  // One policy per zone pair: the forward path dispatches on the pair.
  duplicates(policies, (p) => `${p.from} -> ${p.to}`, (i) => `/firewall/policies/${i}/to`, 'policy for zone pair', problems);
  policies.forEach((policy, i) => {
    const base = `/firewall/policies/${i}`;
    if (!zones.has(policy.from)) problems.add(`${base}/from`, `unknown zone "${policy.from}"`);
    if (policy.to !== SELF_ZONE && !zones.has(policy.to)) problems.add(`${base}/to`, `unknown zone "${policy.to}" (use "${SELF_ZONE}" for traffic to the router itself)`);
    if (policy.from === policy.to) problems.add(`${base}/to`, 'a policy joins two different zones; traffic inside a zone follows the zone\'s intra_zone setting');
  });
}

function interfaceIndex(config: Config): Map<string, number> {
  return new Map(config.interfaces.map((iface, i) => [iface.name, i]));
}

function inConnectedSubnet(address: string, subnets: ConnectedSubnet[], roles?: string[]): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  const range = { family: parsed.family, first: parsed.value, last: parsed.value };
  return subnets.some((s) => (!roles || roles.includes(s.role)) && rangeContains(s.range, range));
}

function verifyAddress(text: string, path: string, problems: ProblemList): boolean {
  if (parseAddress(text)) return true;
  problems.add(path, `"${text}" is not an IP address`);
  return false;
}

function verifyPortRange(value: number | string, path: string, problems: ProblemList): void {
  if (typeof value === 'number') return;
  const [a, b] = value.split('-').map(Number);
  const last = b ?? a;
  if (!(a >= 1 && last <= 65535)) problems.add(path, `"${value}" is not a port or a port range within 1-65535`);
  else if (a > last) problems.add(path, `"${value}" is a reversed range: the first port is above the last (did you mean ${last}-${a}?)`);
}

/** The router's own interface addresses, keyed "family:value", with the interface that holds each. */
export function routerAddresses(config: Config): Map<string, string> {
  const own = new Map<string, string>();
  for (const iface of config.interfaces) {
    for (const text of iface.addresses ?? []) {
      const prefix = parsePrefix(text);
      if (prefix) own.set(`${prefix.family}:${prefix.address}`, iface.name);
    }
  }
  return own;
}

/** The interface that holds `text` when it is one of the router's own addresses. */
export function routerInterfaceOf(text: string, own: Map<string, string>): string | undefined {
  const address = parseAddress(text);
  return address && own.get(`${address.family}:${address.value}`);
}

/** A NAT target must be a host behind the router: DNAT to the router itself loops back into its own services. */
function verifyNotRouter(text: string, path: string, own: Map<string, string>, problems: ProblemList): void {
  const iface = routerInterfaceOf(text, own);
  if (iface) problems.add(path, `${text} is the router's own address (on ${iface}); a NAT target must be a host behind the router`);
}

function verifyNat(config: Config, subnets: ConnectedSubnet[], problems: ProblemList): void {
  const interfaces = interfaceIndex(config);
  const known = (name: string, path: string) => {
    if (!interfaces.has(name)) problems.add(path, `unknown interface "${name}"`);
  };
  (config.nat?.egress ?? []).forEach((rule, i) => {
    const base = `/nat/egress/${i}`;
    known(rule.interface, `${base}/interface`);
    const mode = rule.mode ?? 'masquerade';
    if (mode === 'snat' && !rule.to_address) problems.add(`${base}/to_address`, 'mode snat needs to_address');
    if (mode === 'masquerade' && rule.to_address) problems.add(`${base}/to_address`, 'to_address is only for mode snat');
    if (rule.to_address) verifyAddress(rule.to_address, `${base}/to_address`, problems);
  });
  const own = routerAddresses(config);
  const forwards = config.nat?.port_forwards ?? [];
  forwards.forEach((fwd, i) => {
    const base = `/nat/port_forwards/${i}`;
    known(fwd.interface, `${base}/interface`);
    verifyPortRange(fwd.port, `${base}/port`, problems);
    if (fwd.external_address) verifyAddress(fwd.external_address, `${base}/external_address`, problems);
    if (verifyAddress(fwd.to_address, `${base}/to_address`, problems)) {
      if (!inConnectedSubnet(fwd.to_address, subnets, ['vpc', 'dx'])) problems.add(`${base}/to_address`, `${fwd.to_address} is not in the subnet of any vpc or dx interface`);
      else verifyNotRouter(fwd.to_address, `${base}/to_address`, own, problems);
    }
    if (fwd.to_port !== undefined && typeof fwd.port === 'string' && fwd.port.includes('-')) {
      problems.add(`${base}/to_port`, 'to_port cannot be combined with a port range; the range is forwarded port for port');
    }
  });
  duplicates(forwards, (f) => `${f.interface}/${f.external_address ?? '*'}/${f.protocol}/${f.port}`, (i) => `/nat/port_forwards/${i}/port`, 'port forward', problems);
  const oneToOne = config.nat?.one_to_one ?? [];
  oneToOne.forEach((nat, i) => {
    const base = `/nat/one_to_one/${i}`;
    known(nat.interface, `${base}/interface`);
    verifyAddress(nat.external, `${base}/external`, problems);
    if (verifyAddress(nat.internal, `${base}/internal`, problems)) {
      if (!inConnectedSubnet(nat.internal, subnets, ['vpc', 'dx'])) problems.add(`${base}/internal`, `${nat.internal} is not in the subnet of any vpc or dx interface`);
      else verifyNotRouter(nat.internal, `${base}/internal`, own, problems);
    }
  });
  duplicates(oneToOne, (n) => n.external, (i) => `/nat/one_to_one/${i}/external`, 'external address', problems);
  duplicates(oneToOne, (n) => n.internal, (i) => `/nat/one_to_one/${i}/internal`, 'internal address', problems);
}

function verifyRoutes(config: Config, subnets: ConnectedSubnet[], problems: ProblemList): void {
  const interfaces = interfaceIndex(config);
  const routes = config.routes?.static ?? [];
  routes.forEach((route, i) => {
    const base = `/routes/static/${i}`;
    const prefix = parsePrefix(route.destination);
    if (!prefix || route.destination.includes('-')) {
      problems.add(`${base}/destination`, `"${route.destination}" is not a network (e.g. 192.168.0.0/16)`);
    } else if (prefix.address !== prefix.first) {
      problems.add(`${base}/destination`, `"${route.destination}" has host bits set; did you mean ${parseAddressLiteral(route.destination) ? 'its network address' : 'a network'}?`);
    }
    if (route.interface && !interfaces.has(route.interface)) problems.add(`${base}/interface`, `unknown interface "${route.interface}"`);
    if (route.blackhole) {
      if (route.via || route.interface) problems.add(`${base}/blackhole`, 'a blackhole route has no via or interface');
      return;
    }
    if (!route.via && !route.interface) problems.add(base, 'a route needs via, interface, or blackhole: true');
    if (route.via && verifyAddress(route.via, `${base}/via`, problems)) {
      const via = parseAddress(route.via)!;
      if (prefix && via.family !== prefix.family) problems.add(`${base}/via`, 'next hop and destination are of different address families');
      else if (!route.interface && !inConnectedSubnet(route.via, subnets)) {
        problems.add(`${base}/via`, `next hop ${route.via} is not in any connected subnet; name the interface to reach it on-link`);
      }
    }
  });
  duplicates(routes, (r) => `${r.destination}/${r.metric ?? 0}`, (i) => `/routes/static/${i}/destination`, 'route (destination and metric)', problems);
}

function verifySystem(config: Config, zones: Set<string>, problems: ProblemList): void {
  (config.system?.api_zones ?? []).forEach((zone, i) => {
    if (!zones.has(zone)) problems.add(`/system/api_zones/${i}`, `unknown zone "${zone}"`);
  });
}
