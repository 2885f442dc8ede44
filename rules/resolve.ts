// Resolution of the names used by rules and NAT: address objects (and their
// groups), service objects (and their groups), literals, and zones. Pure and
// memoised, so the config verifier can reuse it and 100k rules naming the same
// group resolve it once.
import type { Config, ServiceEntry } from '../appliance/model/schema.js';
import { parseAddress, parseAddressLiteral, parsePrefix, type IpRange } from '../appliance/model/ip.js';
import type { Problem } from './errors.js';

/** A protocol number range with a destination port range (0-65535 when the protocol has no ports). */
export interface ServiceRange {
  protoFirst: number;
  protoLast: number;
  portFirst: number;
  portLast: number;
}

export const PROTOCOL_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, icmpv6: 58 };
const PORTED = new Set(['tcp', 'udp']);
export const ANY_SERVICE: ServiceRange = { protoFirst: 0, protoLast: 255, portFirst: 0, portLast: 65535 };

/** A well-formed "first-last" range written the wrong way round, as a problem message; undefined otherwise. */
export function reversedRange(text: string, what: 'address' | 'port'): string | undefined {
  const [a, b, ...rest] = String(text).split('-');
  if (b === undefined || rest.length) return undefined;
  const reversed = what === 'port'
    ? /^[0-9]{1,5}$/.test(a) && /^[0-9]{1,5}$/.test(b) && Number(a) > Number(b)
    : (() => {
        const first = parseAddress(a);
        const last = parseAddress(b);
        return !!first && !!last && first.family === last.family && first.value > last.value;
      })();
  return reversed ? `"${text}" is a reversed range: the first ${what} is above the last (did you mean ${b}-${a}?)` : undefined;
}

/** "443" or "5000-5010" (or a number) as an inclusive port range. */
export function parsePortRange(value: number | string): { first: number; last: number } | undefined {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(String(value));
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (first < 1 || last > 65535 || first > last) return undefined;
  return { first, last };
}

/** One service entry ({protocol, ports}) as ranges, or an error message. */
export function serviceEntryRanges(entry: ServiceEntry): ServiceRange[] | string {
  if (entry.protocol === 'any') {
    return entry.ports?.length ? 'protocol "any" cannot have ports' : [ANY_SERVICE];
  }
  const proto = PROTOCOL_NUMBERS[entry.protocol];
  if (proto === undefined) return `unknown protocol "${entry.protocol}"`;
  if (!entry.ports?.length) return [{ protoFirst: proto, protoLast: proto, portFirst: 0, portLast: 65535 }];
  if (!PORTED.has(entry.protocol)) return `protocol "${entry.protocol}" has no ports`;
  const out: ServiceRange[] = [];
  for (const p of entry.ports) {
    const r = parsePortRange(p);
    if (!r) return reversedRange(String(p), 'port') ?? `"${p}" is not a port or port range (1-65535, "first-last")`;
    out.push({ protoFirst: proto, protoLast: proto, portFirst: r.first, portLast: r.last });
  }
  return out;
}

/** Digits (at most 5, like parsePortRange) from `i` to `end` as a number; -1 when not that. */
function scanPort(text: string, i: number, end: number): number {
  if (end <= i || end - i > 5) return -1;
  let value = 0;
  for (; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * "tcp/443" and "udp/5000-5010", the literals big rule bases are made of,
 * read by a scan: what it returns is what the general path below returns
 * (test/unit/service-literal-reference.test.ts); anything else, good or
 * bad, is left to that path (undefined).
 */
function portedLiteral(text: string): ServiceRange[] | undefined {
  if (text.length < 5 || text.charCodeAt(3) !== 0x2f) return undefined;
  const protocol = text.startsWith('tcp') ? PROTOCOL_NUMBERS.tcp : text.startsWith('udp') ? PROTOCOL_NUMBERS.udp : 0;
  if (!protocol) return undefined;
  const dash = text.indexOf('-', 4);
  const first = scanPort(text, 4, dash < 0 ? text.length : dash);
  const last = dash < 0 ? first : scanPort(text, dash + 1, text.length);
  if (first < 1 || last > 65535 || first > last) return undefined;
  return [{ protoFirst: protocol, protoLast: protocol, portFirst: first, portLast: last }];
}

/** "tcp/443", "udp/5000-5010", "icmp", "tcp", "any". */
export function parseServiceLiteral(text: string): ServiceRange[] | string {
  const ported = portedLiteral(text);
  if (ported) return ported;
  const [protocol, ports, ...rest] = text.split('/');
  if (rest.length) return `"${text}" is not a service literal`;
  if (protocol !== 'any' && PROTOCOL_NUMBERS[protocol] === undefined) return `unknown service or protocol "${text}"`;
  return serviceEntryRanges({ protocol: protocol as ServiceEntry['protocol'], ports: ports === undefined ? undefined : [ports] });
}

const looksLikeName = (text: string) => /^[A-Za-z][A-Za-z0-9_.-]*$/.test(text) && !text.includes(':');

/**
 * Service literals parsed once per process, not once per compile: their
 * ranges depend on the text alone, and big rule bases repeat them (address
 * literals do not, and parse faster than a lookup among 100k of them; nor
 * are tcp/udp port literals kept, which portedLiteral scans faster).
 * Bounded: emptied when it reaches LITERAL_MEMO_MAX.
 */
const LITERAL_MEMO_MAX = 1_000_000;
const serviceLiteralMemo = new Map<string, ServiceRange[]>();
function remember<T>(memo: Map<string, T>, key: string, value: T): void {
  if (memo.size >= LITERAL_MEMO_MAX) memo.clear();
  memo.set(key, value);
}

/**
 * Resolves names against one config document. Problems are collected (each
 * once, at the path where it is), and a failed name resolves to undefined.
 */
export class Resolver {
  readonly problems: Problem[] = [];
  private readonly addressIndex = new Map<string, number>();
  private readonly serviceIndex = new Map<string, number>();
  private readonly addressMemo = new Map<string, IpRange[] | null>();
  private readonly serviceMemo = new Map<string, ServiceRange[] | null>();
  private readonly zoneIndex = new Map<string, number>();
  private readonly serviceLiteralMemo = serviceLiteralMemo;

  constructor(private readonly config: Config) {
    config.objects?.addresses?.forEach((o, i) => this.addressIndex.set(o.name, i));
    config.objects?.services?.forEach((o, i) => this.serviceIndex.set(o.name, i));
    config.zones.forEach((z, i) => this.zoneIndex.set(z.name, i));
  }

  private readonly seen = new Set<string>();

  // Objects may be reached from many rules and both ends of a cycle; report each problem once.
  private problem(path: string, message: string): void {
    const key = `${path}\n${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.problems.push({ path, message });
  }

  /** The networks of the addresses configured on a zone's interfaces. */
  zoneNetworks(zone: string): IpRange[] {
    const out: IpRange[] = [];
    for (const itf of this.config.interfaces) {
      if (itf.zone !== zone) continue;
      for (const a of itf.addresses ?? []) {
        const p = parsePrefix(a);
        if (p) out.push({ family: p.family, first: p.first, last: p.last });
      }
    }
    return out;
  }

  /** An address object name or a literal, as ranges; undefined (with a problem at `path`) if neither. */
  address(ref: string, path: string): IpRange[] | undefined {
    if (this.addressIndex.has(ref)) return this.addressObject(ref, []) ?? undefined;
    // Parsed anew each time: a scan of a few characters costs less than a lookup in a map of 100k literals.
    const literal = parseAddressLiteral(ref);
    if (literal) return [literal];
    this.problem(path, looksLikeName(ref) ? `unknown address object "${ref}"` : reversedRange(ref, 'address') ?? `"${ref}" is not an address literal (address, network/prefix or first-last range)`);
    return undefined;
  }

  /** A zone name, an address object name or a literal (NAT egress sources). */
  addressOrZone(ref: string, path: string): IpRange[] | undefined {
    if (this.zoneIndex.has(ref) && !this.addressIndex.has(ref)) return this.zoneNetworks(ref);
    if (!this.addressIndex.has(ref) && !parseAddressLiteral(ref) && looksLikeName(ref)) {
      this.problem(path, `unknown zone or address object "${ref}"`);
      return undefined;
    }
    return this.address(ref, path);
  }

  /** A service object name or a literal; undefined (with a problem) if neither. */
  service(ref: string, path: string): ServiceRange[] | undefined {
    if (this.serviceIndex.has(ref)) return this.serviceObject(ref, []) ?? undefined;
    // the common literal: its scan costs less than a lookup among 50k memoized ones (10 ms against 30 per 100k rules)
    const ported = portedLiteral(ref);
    if (ported) return ported;
    const cached = this.serviceLiteralMemo.get(ref);
    if (cached) return cached;
    const literal = parseServiceLiteral(ref);
    if (typeof literal !== 'string') {
      remember(this.serviceLiteralMemo, ref, literal);
      return literal;
    }
    this.problem(path, looksLikeName(ref) && !ref.includes('/') && PROTOCOL_NUMBERS[ref] === undefined ? `unknown service object "${ref}"` : literal);
    return undefined;
  }

  // Groups resolve depth first; `stack` holds the names being resolved so a
  // member naming one of them is a cycle. null marks a failed object.
  private addressObject(name: string, stack: string[]): IpRange[] | null {
    const memo = this.addressMemo.get(name);
    if (memo !== undefined) return memo;
    const index = this.addressIndex.get(name)!;
    const object = this.config.objects!.addresses![index];
    const base = `/objects/addresses/${index}`;
    let ok = true;
    const out: IpRange[] = [];
    object.entries?.forEach((entry, i) => {
      const r = parseAddressLiteral(entry);
      if (r) out.push(r);
      else { ok = false; this.problem(`${base}/entries/${i}`, reversedRange(entry, 'address') ?? `"${entry}" is not an address literal`); }
    });
    const inner = [...stack, name];
    object.members?.forEach((member, i) => {
      const path = `${base}/members/${i}`;
      if (inner.includes(member)) { ok = false; this.problem(path, `address group cycle: ${[...inner, member].join(' -> ')}`); return; }
      if (!this.addressIndex.has(member)) { ok = false; this.problem(path, `unknown address object "${member}"`); return; }
      const ranges = this.addressObject(member, inner);
      if (ranges) out.push(...ranges);
      else ok = false;
    });
    const result = ok ? out : null;
    // A failure inside a cycle is only final once the outermost call ends.
    if (ok || stack.length === 0) this.addressMemo.set(name, result);
    return result;
  }

  private serviceObject(name: string, stack: string[]): ServiceRange[] | null {
    const memo = this.serviceMemo.get(name);
    if (memo !== undefined) return memo;
    const index = this.serviceIndex.get(name)!;
    const object = this.config.objects!.services![index];
    const base = `/objects/services/${index}`;
    let ok = true;
    const out: ServiceRange[] = [];
    object.entries?.forEach((entry, i) => {
      const r = serviceEntryRanges(entry);
      if (typeof r === 'string') { ok = false; this.problem(`${base}/entries/${i}`, r); } else out.push(...r);
    });
    const inner = [...stack, name];
    object.members?.forEach((member, i) => {
      const path = `${base}/members/${i}`;
      if (inner.includes(member)) { ok = false; this.problem(path, `service group cycle: ${[...inner, member].join(' -> ')}`); return; }
      if (!this.serviceIndex.has(member)) { ok = false; this.problem(path, `unknown service object "${member}"`); return; }
      const ranges = this.serviceObject(member, inner);
      if (ranges) out.push(...ranges);
      else ok = false;
    });
    const result = ok ? out : null;
    if (ok || stack.length === 0) this.serviceMemo.set(name, result);
    return result;
  }
}
