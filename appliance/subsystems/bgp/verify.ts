// Meaning checks for the bgp section that a JSON schema cannot express.
// Each problem names its path in the document, like the rest of verify.
import { familyOf, hasHostBits, parseAddress, parsePrefix } from '../../model/ip.js';
import type { Problem } from '../../model/problems.js';
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
