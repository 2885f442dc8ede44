// Pure IPv4/IPv6 address arithmetic: parsing, prefixes, ranges, containment.
// Addresses are bigints so that both families share one code path.

export type Family = 4 | 6;

export interface IpRange {
  family: Family;
  first: bigint;
  last: bigint;
}

export interface Prefix extends IpRange {
  /** the address as written (may have host bits set, e.g. an interface address) */
  address: bigint;
  length: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function parseIPv4(text: string): bigint | undefined {
  const value = ipv4Number(text);
  return value === undefined ? undefined : BigInt(value);
}

/**
 * A dotted-quad IPv4 address as a number (0 to 2^32-1): four decimal
 * octets up to 255 without leading zeros. A scanner, with Number arithmetic
 * and no split or regex: compiles parse 100k literals.
 */
function ipv4Number(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return undefined;
    if (digits > 0 && octet === 0) return undefined; // a leading zero
    octet = octet * 10 + (c - 48);
    if (++digits > 3 || octet > 255) return undefined;
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : undefined;
}

export function parseIPv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.includes(':::')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array(missing).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

export function parseAddress(text: string): { family: Family; value: bigint } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (text.includes(':')) {
    const v6 = parseIPv6(text);
    if (v6 !== undefined) return { family: 6, value: v6 };
  }
  return undefined;
}

function mask(family: Family, length: number): bigint {
  const bits = BITS[family];
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - length)) - 1n);
}

/** "10.1.0.1/24" or "10.1.0.0/24" or a bare address (a host prefix). */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  if (lenText?.includes('/')) return undefined;
  const v4 = ipv4Number(addrText);
  if (v4 !== undefined) return ipv4Prefix(v4, lenText);
  const addr = parseAddress(addrText);
  if (!addr) return undefined;
  const bits = BITS[addr.family];
  let length = bits;
  if (lenText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
    length = Number(lenText);
    if (length > bits) return undefined;
  }
  const m = mask(addr.family, length);
  const first = addr.value & m;
  const last = first | (((1n << BigInt(bits)) - 1n) ^ m);
  return { family: addr.family, address: addr.value, length, first, last };
}

/** parsePrefix for an IPv4 address (as a number): Number arithmetic, BigInts only for the result. */
function ipv4Prefix(value: number, lenText: string | undefined): Prefix | undefined {
  if (lenText === undefined) {
    const address = BigInt(value);
    return { family: 4, address, length: 32, first: address, last: address };
  }
  if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
  const length = Number(lenText);
  if (length > 32) return undefined;
  const hostBits = 2 ** (32 - length); // the network's size
  const first = value - (value % hostBits);
  return { family: 4, address: BigInt(value), length, first: BigInt(first), last: BigInt(first + hostBits - 1) };
}

/** A network, host or "a-b" range literal, as an inclusive range. */
export function parseAddressLiteral(text: string): IpRange | undefined {
  if (text.includes('-')) {
    const [a, b, ...rest] = text.split('-');
    if (rest.length) return undefined;
    const first = parseAddress(a);
    const last = parseAddress(b);
    if (!first || !last || first.family !== last.family || first.value > last.value) return undefined;
    return { family: first.family, first: first.value, last: last.value };
  }
  const prefix = parsePrefix(text);
  return prefix && { family: prefix.family, first: prefix.first, last: prefix.last };
}

/** True when a literal names a network whose host bits are set ("10.1.0.5/24"). */
export function hasHostBits(text: string): boolean {
  const p = parsePrefix(text);
  return !!p && text.includes('/') && p.address !== p.first;
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const head = groups.slice(0, bestStart).join(':');
  const tail = groups.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

export function formatPrefix(p: { family: Family; first: bigint; length: number }): string {
  return `${formatAddress(p.family, p.first)}/${p.length}`;
}

/** The canonical network form of an address with a prefix: "10.1.0.1/24" -> "10.1.0.0/24". */
export function networkOf(text: string): string | undefined {
  const p = parsePrefix(text);
  return p && formatPrefix(p);
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function rangeContains(outer: IpRange, inner: IpRange): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

export function familyOf(text: string): Family | undefined {
  return parseAddressLiteral(text)?.family;
}

/** The whole address space of a family, for "any". */
export function anyRange(family: Family): IpRange {
  return { family, first: 0n, last: (1n << BigInt(BITS[family])) - 1n };
}

/** Formats a range the way nft accepts it: a prefix where it is one, else "a-b". */
export function formatRange(r: IpRange): string {
  const bits = BITS[r.family];
  const size = r.last - r.first + 1n;
  if ((size & (size - 1n)) === 0n && (r.first & (size - 1n)) === 0n) {
    const length = bits - (size.toString(2).length - 1);
    return length === bits ? formatAddress(r.family, r.first) : formatPrefix({ family: r.family, first: r.first, length });
  }
  return `${formatAddress(r.family, r.first)}-${formatAddress(r.family, r.last)}`;
}
