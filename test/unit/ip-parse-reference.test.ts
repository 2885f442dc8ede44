// The IPv4 scanner and the Number-arithmetic prefix path (model/ip.ts, fast
// for 100k-rule compiles) against the plain definitions they replaced:
// split, regex and BigInt masks. Random and hand-picked texts, good and bad.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAddressLiteral, parseIPv4, parsePrefix } from '../../appliance/model/ip.js';

function referenceIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256n + BigInt(part);
  }
  return value;
}

function referenceIPv4Prefix(text: string) {
  const [addrText, lenText, ...rest] = text.split('/');
  if (rest.length) return undefined;
  const address = referenceIPv4(addrText);
  if (address === undefined) return undefined;
  let length = 32;
  if (lenText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
    length = Number(lenText);
    if (length > 32) return undefined;
  }
  const mask = ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - length)) - 1n);
  const first = address & mask;
  return { family: 4, address, length, first, last: first | (((1n << 32n) - 1n) ^ mask) };
}

const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('', '00', '01', '007', '1a', ' 1', '-1', '2555'));
const ipv4ish = fc.oneof(
  fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')),
  fc.array(octet, { minLength: 0, maxLength: 6 }).map((o) => o.join('.')),
  fc.string({ maxLength: 18 }),
);
const prefixish = fc.oneof(
  ipv4ish,
  fc.tuple(ipv4ish, fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constantFrom('', '033', '1/2', 'x', '-1', '0032'))).map(([a, l]) => `${a}/${l}`),
);

describe('IPv4 parsing, fast path against its reference', () => {
  it('parseIPv4 agrees on every text', () => {
    fc.assert(fc.property(ipv4ish, (text) => {
        expect(parseIPv4(text)).toBe(referenceIPv4(text));
      }), { numRuns: 20_000 });
  });

  it('parsePrefix agrees on every IPv4 text (network, host bits set, bare host, bad length)', () => {
    fc.assert(
      fc.property(prefixish, (text) => {
        const got = parsePrefix(text);
        const want = referenceIPv4Prefix(text);
        if (want) expect(got).toEqual(want);
        // not IPv4: the IPv6 path decides, and it never accepts a text the IPv4 reference rejects for its dots
        else if (got) expect(got.family).toBe(6);
      }),
      { numRuns: 20_000 },
    );
  });

  it('hand-picked edges', () => {
    expect(parsePrefix('0.0.0.0/0')).toEqual({ family: 4, address: 0n, length: 0, first: 0n, last: 0xffffffffn });
    expect(parsePrefix('255.255.255.255/32')).toEqual({ family: 4, address: 0xffffffffn, length: 32, first: 0xffffffffn, last: 0xffffffffn });
    expect(parsePrefix('10.1.0.5/24')).toMatchObject({ first: 0x0a010000n, last: 0x0a0100ffn, address: 0x0a010005n });
    expect(parsePrefix('10.1.0.5/33')).toBeUndefined();
    expect(parsePrefix('10.1.0.5/24/1')).toBeUndefined();
    expect(parseAddressLiteral('10.0.0.1-10.0.0.9')).toEqual({ family: 4, first: 0x0a000001n, last: 0x0a000009n });
    expect(parsePrefix('2001:db8::1/64')).toMatchObject({ family: 6, length: 64 });
    for (const bad of ['1.2.3', '1.2.3.4.', '.1.2.3', '1..2.3', '01.2.3.4', '256.1.1.1', '1.2.3.4 ']) expect(parseIPv4(bad)).toBeUndefined();
  });
});
