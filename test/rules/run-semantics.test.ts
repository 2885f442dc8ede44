// The compiled policy chain decides every packet as the document's ordered
// rules do (first match wins), whatever set shapes the runs got: random
// rule lists over a small address and port space, random packets, and an
// evaluator of the compiled chain (its set lookups with their kept
// dimensions, the reject run's TCP rule, the default) against a plain
// first-match evaluation of the rules. FUZZ_SEED and FUZZ_RUNS as elsewhere.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Config, FirewallRule } from '../../appliance/model/schema.js';
import { parseAddress, parseAddressLiteral, type Family } from '../../appliance/model/ip.js';
import { compileRuleset } from '../../rules/index.js';
import { fuzzParameters } from '../support/config-arbitraries.js';

interface Packet { family: Family; saddr: bigint; daddr: bigint; proto: number; port: number }
type Verdict = 'accept' | 'drop' | 'reject';

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };
const v4 = (net: number, host: number) => `10.${net}.0.${host}`;
const v6 = (net: number, host: number) => `2001:db8:${net}::${host}`;

const addressArb = (net: number) => fc.oneof(
  fc.integer({ min: 0, max: 15 }).map((h) => v4(net, h)),
  fc.integer({ min: 0, max: 3 }).map((h) => `${v4(net, h * 4)}/30`),
  fc.integer({ min: 0, max: 15 }).map((h) => v6(net, h)),
);
const serviceArb = fc.oneof(
  fc.integer({ min: 20, max: 25 }).map((p) => `tcp/${p}`),
  fc.tuple(fc.integer({ min: 20, max: 25 }), fc.integer({ min: 0, max: 3 })).map(([p, n]) => `udp/${p}-${p + n}`),
  fc.constant('icmp'), fc.constant('icmpv6'), fc.constant('tcp'),
);
const ruleArb = fc.record({
  action: fc.constantFrom<Verdict>('accept', 'drop', 'reject'),
  source: fc.option(fc.array(addressArb(1), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  destination: fc.option(fc.array(addressArb(2), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  services: fc.option(fc.array(serviceArb, { minLength: 1, maxLength: 2 }), { nil: undefined }),
});
const packetArb = fc.record({
  family: fc.constantFrom<Family>(4, 4, 6),
  s: fc.integer({ min: 0, max: 15 }),
  d: fc.integer({ min: 0, max: 15 }),
  proto: fc.constantFrom(6, 17, 1, 58, 47),
  port: fc.integer({ min: 19, max: 29 }),
}).map(({ family, s, d, proto, port }): Packet => {
  const address = (net: number, h: number) => parseAddress(family === 4 ? v4(net, h) : v6(net, h))!.value;
  return { family, saddr: address(1, s), daddr: address(2, d), proto, port };
});

/** The document's meaning: the first rule whose source, destination and service all match. */
function firstMatch(rules: FirewallRule[], p: Packet): Verdict {
  const inList = (list: string[] | undefined, value: bigint) => !list || list.some((a) => {
    const r = parseAddressLiteral(a)!;
    return r.family === p.family && r.first <= value && value <= r.last;
  });
  const service = (s: string) => {
    const [name, ports] = s.split('/');
    if (PROTOCOLS[name] !== p.proto) return false;
    if (!ports) return true;
    const [from, to] = ports.split('-').map(Number);
    return from <= p.port && p.port <= (to ?? from);
  };
  for (const rule of rules) {
    // a family-only protocol never matches the other family (icmp is IPv4's, icmpv6 IPv6's)
    const services = rule.services?.filter((s) => !(s === 'icmp' && p.family === 6) && !(s === 'icmpv6' && p.family === 4));
    if (rule.services && !services!.length) continue;
    if (inList(rule.source, p.saddr) && inList(rule.destination, p.daddr) && (!services || services.some(service))) return rule.action as Verdict;
  }
  return 'drop';
}

type Expr = Record<string, any>;
/** One key part's value for the packet, or undefined when the packet has no such field (another family). */
function field(part: Expr, p: Packet): bigint | number | string | undefined {
  if (part.meta?.key === 'nfproto') return p.family === 4 ? 'ipv4' : 'ipv6';
  if (part.meta?.key === 'l4proto') return p.proto;
  if (part.payload?.protocol === 'th') return p.port;
  if ((part.payload?.protocol === 'ip') !== (p.family === 4)) return undefined;
  return part.payload.field === 'saddr' ? p.saddr : p.daddr;
}
function partContains(element: unknown, value: bigint | number | string): boolean {
  if (typeof value === 'string') return element === value;
  if (typeof value === 'number') {
    const range = (element as { range?: number[] }).range;
    return range ? range[0] <= value && value <= range[1] : element === value;
  }
  const e = element as { prefix?: { addr: string; len: number }; range?: string[] } | string;
  const r = typeof e === 'string' ? parseAddressLiteral(e)! : e.prefix ? parseAddressLiteral(`${e.prefix.addr}/${e.prefix.len}`)! : parseAddressLiteral(`${e.range![0]}-${e.range![1]}`)!;
  return r.first <= value && value <= r.last;
}

/** The compiled chain's meaning: its rules in order, each a set lookup with the set's elements. */
function compiledVerdict(nftables: object[], chain: string, p: Packet): Verdict {
  const sets = new Map<string, unknown[]>();
  for (const c of nftables as Expr[]) if (c.add?.set) sets.set(c.add.set.name, c.add.set.elem ?? []);
  for (const c of nftables as Expr[]) {
    const rule = c.add?.rule;
    if (rule?.chain !== chain) continue;
    const expr = rule.expr as Expr[];
    const last = expr[expr.length - 1];
    if (last.log) continue;
    const matched = expr.slice(0, -1).every((s) => {
      if (!s.match) return true; // the default's named counter
      const { left, right } = s.match;
      if (typeof right === 'string' && right.startsWith('@')) {
        const parts: Expr[] = left.concat ?? [left];
        const values = parts.map((part) => field(part, p));
        if (values.some((v) => v === undefined)) return false;
        return sets.get(right.slice(1))!.some((element) => {
          const elementParts = parts.length === 1 ? [element] : (element as { concat: unknown[] }).concat;
          return elementParts.every((e, i) => partContains(e, values[i]!));
        });
      }
      return left.meta?.key === 'l4proto' && PROTOCOLS[right] === p.proto;
    });
    if (matched) return last.accept !== undefined ? 'accept' : last.drop !== undefined ? 'drop' : 'reject';
  }
  throw new Error('the chain ends without a verdict');
}

describe('compiled runs decide like first match', () => {
  it('for random rules and packets, the compiled chain and the ordered rules agree', () => {
    fc.assert(fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 8 }), fc.array(packetArb, { minLength: 20, maxLength: 20 }), (drafts, packets) => {
      const rules: FirewallRule[] = drafts.map((d, i) => ({ id: `r${i}`, action: d.action, ...(d.source ? { source: d.source } : {}), ...(d.destination ? { destination: d.destination } : {}), ...(d.services ? { services: d.services } : {}) }));
      const config: Config = {
        interfaces: [
          { name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/16'] },
          { name: 'vpc1', role: 'vpc', zone: 'b', addresses: ['10.2.0.1/16'] },
        ],
        zones: [{ name: 'a' }, { name: 'b' }],
        firewall: { policies: [{ name: 'a-to-b', from: 'a', to: 'b', default_action: 'drop', rules }] },
      };
      let nftables: object[];
      try {
        nftables = compileRuleset(config, { flowtable: false }).nftables;
      } catch {
        return true; // a rule with no common family is refused (a document problem, not a decision)
      }
      for (const p of packets) expect(compiledVerdict(nftables, 'pol_a-to-b', p), JSON.stringify({ rules, p: { ...p, saddr: String(p.saddr), daddr: String(p.daddr) } })).toBe(firstMatch(rules, p));
      return true;
    }), fuzzParameters(300));
  });
});
