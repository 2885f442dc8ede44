// Which part of a tunnel's configured selectors its SAs do not carry. A peer
// may narrow the traffic selectors (IKEv2 lets the responder pick a subset:
// a /25 inside Junction's /24); the tunnel is then "up" while traffic to the
// rest of the subnet has no SA and is dropped (fail closed) or, without
// fail-closed, routed elsewhere. Status names that rest as prefixes.
import { formatPrefix, parseAddress, parsePrefix, type Family, type IpRange } from '../../model/ip.js';

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** A selector as charon lists it: "10.1.0.0/24", "10.1.0.0/24[tcp/80]" or "10.1.0.1..10.1.0.9". */
function selectorRange(text: string): IpRange | undefined {
  const address = text.replace(/\[.*\]$/, '');
  if (address.includes('..')) {
    const [a, b] = address.split('..').map((x) => parseAddress(x));
    return a && b && a.family === b.family ? { family: a.family, first: a.value, last: b.value } : undefined;
  }
  return parsePrefix(address);
}

/** The ranges of `from` that none of `minus` covers. */
function subtract(from: IpRange, minus: IpRange[]): IpRange[] {
  let left = [from];
  for (const m of minus.filter((r) => r.family === from.family)) {
    left = left.flatMap((r) => {
      if (m.last < r.first || m.first > r.last) return [r];
      const out: IpRange[] = [];
      if (m.first > r.first) out.push({ family: r.family, first: r.first, last: m.first - 1n });
      if (m.last < r.last) out.push({ family: r.family, first: m.last + 1n, last: r.last });
      return out;
    });
  }
  return left;
}

/** A range as the fewest prefixes that make it up. */
function prefixes(r: IpRange): string[] {
  const out: string[] = [];
  let first = r.first;
  while (first <= r.last) {
    let length = BITS[r.family];
    // grow the block while it stays aligned and inside the range
    while (length > 0) {
      const size = 1n << BigInt(BITS[r.family] - length + 1);
      if ((first & (size - 1n)) !== 0n || first + size - 1n > r.last) break;
      length--;
    }
    out.push(formatPrefix({ family: r.family, first, length }));
    first += 1n << BigInt(BITS[r.family] - length);
  }
  return out;
}

/** The parts of the configured subnets that the negotiated selectors leave out (empty: fully covered). */
export function uncoveredSelectors(configured: string[], negotiated: string[]): string[] {
  const carried = negotiated.map(selectorRange).filter((r): r is IpRange => !!r);
  return configured.flatMap((text) => {
    const wanted = parsePrefix(text);
    return wanted ? subtract(wanted, carried).flatMap(prefixes) : [];
  });
}
