// The elements of a rule: the product of its source ranges, destination ranges
// and services, per address family. Each dimension is first merged into
// disjoint intervals, so the elements of one rule never overlap each other
// (the kernel refuses overlapping elements in one concatenated interval set).
import { anyRange, type Family, type IpRange } from '../appliance/model/ip.js';
import type { ServiceRange } from './resolve.js';

/** A service as one interval of (protocol << 16 | port); only products of a protocol range and a port range are used. */
export interface ServiceInterval {
  first: number;
  last: number;
}

/** One element of a concatenated `saddr . daddr . l4proto . dport` set. */
export interface Element {
  src: IpRange;
  dst: IpRange;
  svc: ServiceInterval;
}

/**
 * A rule's elements per family, in named fields. (An object keyed 4 and 6
 * keeps its values in a separate indexed store of 7 slots: about 200 bytes
 * more per rule, kept for every rule of the policy.)
 */
export interface RuleElements {
  readonly v4: Element[];
  readonly v6: Element[];
}

export const ofFamily = (elements: RuleElements, family: Family): Element[] => (family === 4 ? elements.v4 : elements.v6);

const FULL_PORTS = 65535;

/** Sorted union of ranges of one family (adjacent ranges merged). */
export function mergeRanges(ranges: IpRange[]): IpRange[] {
  if (ranges.length < 2) return ranges.slice();
  const sorted = ranges.slice().sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: IpRange[] = [{ ...sorted[0] }];
  for (let i = 1; i < sorted.length; i++) {
    const last = out[out.length - 1];
    const r = sorted[i];
    if (r.first <= last.last + 1n) {
      if (r.last > last.last) last.last = r.last;
    } else out.push({ ...r });
  }
  return out;
}

/** Sorted, disjoint service intervals, each a product of a protocol range and a port range. */
export function mergeServices(services: ServiceRange[]): ServiceInterval[] {
  // one service within one protocol (most rules): already merged and a product
  if (services.length === 1 && services[0].protoFirst === services[0].protoLast) {
    const s = services[0];
    return [{ first: s.protoFirst * 65536 + s.portFirst, last: s.protoLast * 65536 + s.portLast }];
  }
  const flat: ServiceInterval[] = services.map((s) => ({
    first: s.protoFirst * 65536 + s.portFirst,
    last: s.protoLast * 65536 + s.portLast,
  }));
  flat.sort((a, b) => a.first - b.first);
  const merged: ServiceInterval[] = [];
  for (const s of flat) {
    const last = merged[merged.length - 1];
    if (last && s.first <= last.last + 1) last.last = Math.max(last.last, s.last);
    else merged.push({ ...s });
  }
  // A merged interval may run from the middle of one protocol's ports into
  // another protocol; split it into pieces that are products again.
  const out: ServiceInterval[] = [];
  for (const s of merged) {
    const p1 = s.first >> 16;
    const p2 = s.last >> 16;
    if (p1 === p2 || ((s.first & FULL_PORTS) === 0 && (s.last & FULL_PORTS) === FULL_PORTS)) {
      out.push(s);
      continue;
    }
    let from = p1;
    if ((s.first & FULL_PORTS) !== 0) {
      out.push({ first: s.first, last: p1 * 65536 + FULL_PORTS });
      from = p1 + 1;
    }
    const to = (s.last & FULL_PORTS) === FULL_PORTS ? p2 : p2 - 1;
    if (to >= from) out.push({ first: from * 65536, last: to * 65536 + FULL_PORTS });
    if (to < p2) out.push({ first: p2 * 65536, last: s.last });
  }
  return out;
}


/** Protocols that only make sense in one family; dropped from the other family's elements. */
const FAMILY_ONLY_PROTOCOL: Record<Family, number> = { 4: 58 /* icmpv6 */, 6: 1 /* icmp */ };

/** "any" as one side's ranges (never changed: sideRanges' callers only read) */
const ANY: Record<Family, readonly IpRange[]> = { 4: [anyRange(4)], 6: [anyRange(6)] };
const FAMILIES: Family[] = [4, 6];
const NO_RANGES: readonly IpRange[] = Object.freeze([]);
/** A family's elements when it has none: one shared empty list (CompiledRule elements are only read). */
const NO_ELEMENTS = Object.freeze([]) as unknown as Element[];

/** The ranges of one side of a rule in one family, merged; "any" when the side is absent. */
function sideRanges(ranges: IpRange[] | undefined, family: Family): readonly IpRange[] {
  if (ranges === undefined) return ANY[family];
  // one range (most rules): no list of its own
  if (ranges.length === 1) return ranges[0].family === family ? ranges : NO_RANGES;
  const mine: IpRange[] = [];
  for (const r of ranges) if (r.family === family) mine.push(r);
  return mine.length < 2 ? mine : mergeRanges(mine);
}

/**
 * Elements of a rule per family. `sources`/`destinations` undefined means any.
 * A family gets elements when both sides either are "any" or have ranges of it.
 * Returns 'mixed-family' when both sides name addresses but share no family.
 * (Plain loops: this runs once per rule, 100k times for big policies, and
 * what it returns is kept: lists of one element are made at their size, and
 * a family without elements shares one empty list.)
 */
export function ruleElements(
  sources: IpRange[] | undefined,
  destinations: IpRange[] | undefined,
  services: ServiceInterval[],
): RuleElements | 'mixed-family' {
  let v4 = NO_ELEMENTS;
  let v6 = NO_ELEMENTS;
  let familiesWithBoth = 0;
  for (const family of FAMILIES) {
    const src = sideRanges(sources, family);
    const dst = sideRanges(destinations, family);
    if (!src.length || !dst.length) continue;
    familiesWithBoth++;
    const foreign = FAMILY_ONLY_PROTOCOL[family];
    let list: Element[] | undefined;
    for (const svc of services) {
      if (svc.first >> 16 === foreign && svc.last >> 16 === foreign) continue;
      for (const s of src) {
        for (const d of dst) {
          const element = { src: s, dst: d, svc };
          if (list) list.push(element);
          else list = [element];
        }
      }
    }
    if (list && family === 4) v4 = list;
    else if (list) v6 = list;
  }
  if (familiesWithBoth === 0 && sources?.length && destinations?.length) return 'mixed-family';
  return { v4, v6 };
}

function countFamily(ranges: IpRange[] | undefined, family: Family): number {
  if (ranges === undefined) return 1;
  let n = 0;
  for (const r of ranges) if (r.family === family) n++;
  return n;
}

/** Number of elements a rule would produce, computed before building them (to refuse explosions early). */
export function elementCount(sources: IpRange[] | undefined, destinations: IpRange[] | undefined, services: number): number {
  return (countFamily(sources, 4) * countFamily(destinations, 4) + countFamily(sources, 6) * countFamily(destinations, 6)) * services;
}

export const elementContains = (outer: Element, inner: Element) =>
  outer.src.first <= inner.src.first && inner.src.last <= outer.src.last &&
  outer.dst.first <= inner.dst.first && inner.dst.last <= outer.dst.last &&
  outer.svc.first <= inner.svc.first && inner.svc.last <= outer.svc.last;

// The service first: plain numbers compare faster than the addresses' bigints, and often decide.
export const elementsOverlap = (a: Element, b: Element) =>
  a.svc.first <= b.svc.last && b.svc.first <= a.svc.last &&
  a.dst.first <= b.dst.last && b.dst.first <= a.dst.last &&
  a.src.first <= b.src.last && b.src.first <= a.src.last;
