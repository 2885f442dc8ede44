// Small builders for libnftables JSON (as accepted and printed by nft 1.0.6),
// so the chain modules read like the rules they produce.
import { formatAddress, type Family, type IpRange } from '../appliance/model/ip.js';

export const TABLE = 'junction';
export const FAMILY = 'inet';

export type Expr = unknown;
export type Statement = Record<string, unknown>;

/** Chain priorities by name (JSON wants numbers). */
export const PRIORITY = { raw: -300, filter: 0, mangle: -150, dstnat: -100, srcnat: 100 } as const;

const where = { family: FAMILY, table: TABLE };

// ---- commands ----

export const addTable = () => ({ add: { table: { family: FAMILY, name: TABLE } } });
export const deleteTable = () => ({ delete: { table: { family: FAMILY, name: TABLE } } });

export interface BaseChain {
  type: 'filter' | 'nat';
  hook: 'forward' | 'input' | 'output' | 'prerouting' | 'postrouting';
  prio: number;
  policy?: 'accept' | 'drop';
}

export const addChain = (name: string, base?: BaseChain) => ({ add: { chain: { ...where, name, ...base } } });

export interface SetSpec {
  name: string;
  type: string | string[];
  interval?: boolean;
  /** for maps: "verdict" or "counter" */
  map?: string;
  /** every element carries its own counter (`counter` in the set's declaration) */
  counter?: boolean;
  elem?: unknown[];
}

export function addSet(spec: SetSpec) {
  const body: Record<string, unknown> = { ...where, name: spec.name, type: spec.type };
  if (spec.map) body.map = spec.map;
  if (spec.interval) body.flags = ['interval'];
  if (spec.counter) body.stmt = [{ counter: null }];
  // An empty "elem" list is refused by nft; leave it out.
  if (spec.elem?.length) body.elem = spec.elem;
  return { add: { [spec.map ? 'map' : 'set']: body } };
}

export const addCounter = (name: string) => ({ add: { counter: { family: FAMILY, table: TABLE, name } } });

export const addFlowtable = (name: string, devices: string[]) => ({
  add: { flowtable: { ...where, name, hook: 'ingress', prio: PRIORITY.filter, dev: devices } },
});

export const addRule = (chain: string, comment: string, expr: Statement[]) => ({
  add: { rule: { ...where, chain, expr, comment } },
});

// ---- expressions ----

export const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });
export const meta = (key: string) => ({ meta: { key } });
export const ct = (key: string) => ({ ct: { key } });
export const concat = (...parts: Expr[]) => ({ concat: parts });
export const setRef = (name: string) => `@${name}`;
export const anonSet = (items: Expr[]) => (items.length === 1 ? items[0] : { set: items });
export const range = (first: Expr, last: Expr) => ({ range: [first, last] });

export const saddr = (family: Family) => payload(family === 4 ? 'ip' : 'ip6', 'saddr');
export const daddr = (family: Family) => payload(family === 4 ? 'ip' : 'ip6', 'daddr');
export const nfFamily = (family: Family) => (family === 4 ? 'ip' : 'ip6');
export const addrType = (family: Family) => (family === 4 ? 'ipv4_addr' : 'ipv6_addr');

/** An address range as nft wants it: plain address, prefix, or range. */
export function addressValue(r: IpRange): Expr {
  if (r.family === 4) {
    // Number arithmetic for IPv4: this runs once per set element.
    const first = Number(r.first);
    const size = Number(r.last) - first + 1;
    const len = 32 - Math.log2(size);
    if (Number.isInteger(len) && first % size === 0) {
      const addr = formatAddress(4, r.first);
      return len === 32 ? addr : { prefix: { addr, len } };
    }
    return range(formatAddress(4, r.first), formatAddress(4, r.last));
  }
  const bits = 128;
  const size = r.last - r.first + 1n;
  if ((size & (size - 1n)) === 0n && (r.first & (size - 1n)) === 0n) {
    const len = bits - (size.toString(2).length - 1);
    const addr = formatAddress(r.family, r.first);
    return len === bits ? addr : { prefix: { addr, len } };
  }
  return range(formatAddress(r.family, r.first), formatAddress(r.family, r.last));
}

export const numberRange = (first: number, last: number): Expr => (first === last ? first : range(first, last));

// ---- statements ----

export const match = (left: Expr, right: Expr, op: '==' | '!=' | 'in' = '==') => ({ match: { op, left, right } });
export const counter = (): Statement => ({ counter: null });
export const namedCounter = (name: string): Statement => ({ counter: name });
export const vmap = (key: Expr, map: string): Statement => ({ vmap: { key, data: setRef(map) } });
export const limitPerMinute = (rate: number): Statement => ({ limit: { rate, per: 'minute' } });
export const limitPerSecond = (rate: number, burst: number): Statement => ({ limit: { rate, per: 'second', burst } });
/**
 * Firewall logs go to NFLOG group LOG_GROUP, not the kernel log: the kernel
 * drops `log` from non-initial network namespaces (containers, pods) unless
 * the host sets nf_log_all_netns, while NFLOG works in every namespace.
 * Junction's firewall-log reader (ulogd) listens on this group.
 */
export const LOG_GROUP = 7;
export const log = (prefix: string): Statement => ({ log: { prefix, group: LOG_GROUP } });
export const accept = (): Statement => ({ accept: null });
export const drop = (): Statement => ({ drop: null });
export const jump = (target: string): Statement => ({ jump: { target } });
export const rejectAdmin = (): Statement => ({ reject: { type: 'icmpx', expr: 'admin-prohibited' } });
export const rejectTcpReset = (): Statement => ({ reject: { type: 'tcp reset' } });
export const verdict = (action: 'accept' | 'drop' | 'reject'): Statement =>
  action === 'accept' ? accept() : action === 'drop' ? drop() : rejectAdmin();
