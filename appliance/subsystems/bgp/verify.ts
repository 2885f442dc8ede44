// Meaning checks for the bgp section that a JSON schema cannot express:
// the section on its own (verifyBgp), then against the rest of the document
// and the kernel's capabilities (verifyBgpConfig: neighbors on a dx link,
// local addresses Junction has, TCP MD5). Each problem names its path in
// the document, like the rest of verify.
import type { Config } from '../../model/schema.js';
import { familyOf, hasHostBits, parseAddress, parsePrefix, rangeContains, type IpRange } from '../../model/ip.js';
import type { Problem } from '../../model/problems.js';
import type { Capabilities } from '../../platform/capabilities.js';
import type { BgpSection, PrefixMatch } from './schema.js';

export interface BgpVerifyContext {
  /** interfaces of the document, to check that `interface` names a dx-role one */
  interfaces?: Array<{ name: string; role: string }>;
}

export function verifyBgp(section: BgpSection, context: BgpVerifyContext = {}): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (parseAddress(section.router_id)?.family !== 4) add('/bgp/router_id', 'router_id must be an IPv4 address');

  const seen = new Map<string, number>();
  section.neighbors.forEach((n, i) => {
    const at = `/bgp/neighbors/${i}`;
    const previous = seen.get(n.id);
    if (previous !== undefined) add(`${at}/id`, `duplicate neighbor id "${n.id}" (also /bgp/neighbors/${previous})`);
    else seen.set(n.id, i);

    const family = parseAddress(n.address)?.family;
    if (!family) add(`${at}/address`, `not an IP address: ${n.address}`);
    if (n.local_address !== undefined) {
      const localFamily = parseAddress(n.local_address)?.family;
      if (!localFamily) add(`${at}/local_address`, `not an IP address: ${n.local_address}`);
      else if (family && localFamily !== family) add(`${at}/local_address`, 'local_address and address are of different families');
    }
    if (n.interface !== undefined && context.interfaces) {
      const itf = context.interfaces.find((x) => x.name === n.interface);
      if (!itf) add(`${at}/interface`, `no such interface: ${n.interface}`);
      else if (itf.role !== 'dx') add(`${at}/interface`, `interface ${n.interface} has role ${itf.role}, not dx`);
    }
    if (n.interface !== undefined && n.multihop !== undefined) add(`${at}/interface`, 'interface applies only to directly connected sessions (no multihop)');
    const hold = n.hold_time ?? 90;
    if (n.keepalive !== undefined && n.keepalive >= hold) add(`${at}/keepalive`, 'keepalive must be shorter than hold_time');
    if (n.import) checkPrefixes(n.import.prefixes, family, `${at}/import/prefixes`, add);
    if (n.export?.prefixes) checkPrefixes(n.export.prefixes, family, `${at}/export/prefixes`, add);
  });
  return problems;
}

function checkPrefixes(list: PrefixMatch[], family: 4 | 6 | undefined, at: string, add: (p: string, m: string) => void): void {
  list.forEach((m, j) => {
    const p = parsePrefix(m.prefix);
    if (!p) return add(`${at}/${j}/prefix`, `not a prefix: ${m.prefix}`);
    if (hasHostBits(m.prefix)) add(`${at}/${j}/prefix`, `host bits set: ${m.prefix}`);
    if (family && familyOf(m.prefix) !== family) add(`${at}/${j}/prefix`, `${m.prefix} is not of the neighbor's address family`);
    const bits = p.family === 4 ? 32 : 128;
    const ge = m.ge ?? p.length;
    const le = m.le ?? (m.ge !== undefined ? bits : p.length);
    if (ge < p.length || le > bits || ge > le) add(`${at}/${j}`, `need ${p.length} <= ge <= le <= ${bits} (ge ${ge}, le ${le})`);
  });
}

interface Subnet { interface: string; role: string; range: IpRange; address: bigint }

function connectedSubnets(config: Config): Subnet[] {
  const out: Subnet[] = [];
  for (const iface of config.interfaces) {
    for (const text of iface.addresses ?? []) {
      const p = parsePrefix(text);
      if (p) out.push({ interface: iface.name, role: iface.role, range: { family: p.family, first: p.first, last: p.last }, address: p.address });
    }
  }
  return out;
}

/** The whole document's BGP checks: the section itself, its neighbors against the interfaces, passwords against TCP MD5. */
export function verifyBgpConfig(config: Config, capabilities: Capabilities): Problem[] {
  const section = config.bgp;
  if (!section) return [];
  const problems = verifyBgp(section, { interfaces: config.interfaces });
  const add = (p: string, message: string) => problems.push({ path: p, message });
  const subnets = connectedSubnets(config);
  const dx = subnets.filter((s) => s.role === 'dx');
  section.neighbors.forEach((n, i) => {
    const at = `/bgp/neighbors/${i}`;
    const address = parseAddress(n.address);
    if (address && n.multihop === undefined) {
      const point = { family: address.family, first: address.value, last: address.value };
      const onLink = dx.filter((s) => rangeContains(s.range, point) && (!n.interface || s.interface === n.interface));
      if (!onLink.length) {
        add(`${at}/address`, n.interface
          ? `${n.address} is not in a subnet of ${n.interface}; a directly connected neighbor must be on the link (or set multihop)`
          : `${n.address} is not in the subnet of any dx interface; a directly connected neighbor must be on a Direct Connect link (or set multihop)`);
      } else if (onLink.some((s) => s.address === address.value)) {
        add(`${at}/address`, `${n.address} is Junction's own address on ${onLink[0].interface}`);
      }
    }
    if (n.local_address !== undefined) {
      const local = parseAddress(n.local_address);
      if (local && !subnets.some((s) => s.address === local.value && s.range.family === local.family && (n.multihop !== undefined || s.role === 'dx'))) {
        add(`${at}/local_address`, `${n.local_address} is not an address of ${n.multihop !== undefined ? 'any' : 'a dx'} interface`);
      }
    }
    if (n.password !== undefined && capabilities.tcpMd5 && !capabilities.tcpMd5.supported) {
      add(`${at}/password`, `this kernel cannot sign TCP segments (TCP MD5, RFC 2385, CONFIG_TCP_MD5SIG): a BGP password cannot work here (${capabilities.tcpMd5.detail})`);
    }
  });
  return problems;
}
