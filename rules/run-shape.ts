// The cheapest exact set for a run's elements. A dimension (source,
// destination, protocol, port) that every element covers in full matches
// every packet, so it is left out of the key; and a set whose kept
// dimensions hold single values only is a plain hash set, not an interval
// set (pipapo, the kernel's concatenated interval set, costs several times
// more to load and grows superlinearly with its size). The lookup key always
// matches the kept dimensions, so the verdict and the counters are the same
// as with the full key. Without an address in the key the family is (an
// address implies it): `meta nfproto` leads the key, so an IPv4 set never
// matches IPv6 packets. (A separate `meta nfproto ipv4` match would do the
// same, but nft hides it in listings of a rule that rejects with a TCP
// reset, and the listing must read back as the batch.)
import * as nft from './nft-json.js';
import type { Family, IpRange } from '../appliance/model/ip.js';
import type { Element } from './elements.js';

export type Dimension = 'family' | 'saddr' | 'daddr' | 'proto' | 'port';
const DIMENSIONS: Dimension[] = ['saddr', 'daddr', 'proto', 'port'];

export interface RunShape {
  /** the kept dimensions, in key order */
  dims: Dimension[];
  /** some kept dimension of some element is a range, not a single value */
  interval: boolean;
}

const FULL: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };
const proto = (e: Element) => [e.svc.first >> 16, e.svc.last >> 16] as const;
const port = (e: Element) => [e.svc.first & 0xffff, e.svc.last & 0xffff] as const;
const fullAddress = (r: IpRange) => r.first === 0n && r.last === FULL[r.family];

// full() and single() run for every element of every run: plain arithmetic, no tuples.
function full(e: Element, dim: Dimension): boolean {
  if (dim === 'family') return false;
  if (dim === 'saddr') return fullAddress(e.src);
  if (dim === 'daddr') return fullAddress(e.dst);
  if (dim === 'proto') return e.svc.first >> 16 === 0 && e.svc.last >> 16 === 255;
  return (e.svc.first & 0xffff) === 0 && (e.svc.last & 0xffff) === 0xffff;
}

function single(e: Element, dim: Dimension): boolean {
  if (dim === 'family') return true;
  if (dim === 'saddr') return e.src.first === e.src.last;
  if (dim === 'daddr') return e.dst.first === e.dst.last;
  if (dim === 'proto') return e.svc.first >> 16 === e.svc.last >> 16;
  return (e.svc.first & 0xffff) === (e.svc.last & 0xffff);
}

/** The shape of one family's elements of a run (at least one element). */
export function runShape(elements: Element[]): RunShape {
  let dims = DIMENSIONS.filter((dim) => elements.some((e) => !full(e, dim)));
  // No address: the family leads the key (and is the whole key for a run of "any" rules).
  if (!dims.includes('saddr') && !dims.includes('daddr')) dims = ['family', ...dims];
  const interval = elements.some((e) => dims.some((dim) => !single(e, dim)));
  return { dims, interval };
}

const TAG: Record<Dimension, string> = { family: 'f', saddr: 's', daddr: 'd', proto: 'l', port: 'p' };

/** A short tag naming the shape: a letter per kept dimension (f s d l p), and "i" for an interval set. */
export function shapeTag(shape: RunShape): string {
  return `${shape.dims.map((d) => TAG[d]).join('')}${shape.interval ? 'i' : ''}`;
}

const FROM_TAG = new Map(Object.entries(TAG).map(([dim, letter]) => [letter, dim as Dimension]));

/** The family and shape a run's set name carries (policy-chains.ts names them `<r|l>_<anchor>_<family><tag>`). */
export function parseRunSetName(name: string): { family: Family; shape: RunShape } | undefined {
  const match = /^[rl]_.+_([46])([fsdlp]+)(i?)$/.exec(name);
  if (!match) return undefined;
  const dims = [...match[2]].map((letter) => FROM_TAG.get(letter)!);
  return { family: Number(match[1]) as Family, shape: { dims, interval: match[3] === 'i' } };
}

const TYPE: Record<Dimension, (family: Family) => string> = {
  family: () => 'nf_proto', saddr: nft.addrType, daddr: nft.addrType, proto: () => 'inet_proto', port: () => 'inet_service',
};

/** The set's key type: one type, or the concatenation's types. */
export function shapeType(shape: RunShape, family: Family): string | string[] {
  const types = shape.dims.map((dim) => TYPE[dim](family));
  return types.length === 1 ? types[0] : types;
}

function keyPart(dim: Dimension, family: Family): nft.Expr {
  if (dim === 'family') return nft.meta('nfproto');
  if (dim === 'saddr') return nft.saddr(family);
  if (dim === 'daddr') return nft.daddr(family);
  if (dim === 'proto') return nft.meta('l4proto');
  return nft.payload('th', 'dport');
}

/** The lookup of the run's set: its key, made of the kept dimensions. */
export function shapeLookup(shape: RunShape, family: Family, set: string): nft.Statement {
  const parts = shape.dims.map((dim) => keyPart(dim, family));
  return nft.match(parts.length === 1 ? parts[0] : nft.concat(...parts), nft.setRef(set));
}

function elementPart(e: Element, dim: Dimension): nft.Expr {
  if (dim === 'family') return e.src.family === 4 ? 'ipv4' : 'ipv6';
  if (dim === 'saddr') return nft.addressValue(e.src);
  if (dim === 'daddr') return nft.addressValue(e.dst);
  const [first, last] = dim === 'proto' ? proto(e) : port(e);
  return nft.numberRange(first, last);
}

/** One element as the set's key. */
export function shapeElement(shape: RunShape, e: Element): nft.Expr {
  if (shape.dims.length === 1) return elementPart(e, shape.dims[0]);
  return nft.concat(...shape.dims.map((dim) => elementPart(e, dim)));
}
