// appliance/model/ip.ts: parsing, formatting, prefixes, ranges, bad input.
import { describe, expect, it } from 'vitest';
import {
  anyRange, familyOf, formatAddress, formatPrefix, formatRange, hasHostBits, networkOf, parseAddress,
  parseAddressLiteral, parseIPv4, parseIPv6, parsePrefix, rangeContains, rangesOverlap,
} from '../../appliance/model/ip.js';

describe('IPv4', () => {
  it('parses dotted quads to their value', () => {
    expect(parseIPv4('0.0.0.0')).toBe(0n);
    expect(parseIPv4('10.1.0.1')).toBe(0x0a010001n);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffffn);
    expect(parseIPv4('192.168.1.254')).toBe(0xc0a801fen);
  });

  it.each(['', '10.1.0', '10.1.0.1.2', '10.1.0.256', '10.1.0.300', '010.1.0.1', '10.1.0.01', '10.1.0.-1', '10.1..1', 'a.b.c.d', ' 10.1.0.1', '10.1.0.1 ', '1e1.0.0.1', '0x0a.1.0.1'])('rejects %j', (text) => {
    expect(parseIPv4(text)).toBeUndefined();
  });

  it('formats values back, including the top bit', () => {
    expect(formatAddress(4, 0n)).toBe('0.0.0.0');
    expect(formatAddress(4, 0xffffffffn)).toBe('255.255.255.255');
    expect(formatAddress(4, 0x80000001n)).toBe('128.0.0.1');
    expect(formatAddress(4, 0xc0a801fen)).toBe('192.168.1.254');
  });

  it('round-trips', () => {
    for (const text of ['1.2.3.4', '100.64.0.2', '172.31.255.0', '224.0.0.251', '255.255.255.254']) {
      expect(formatAddress(4, parseIPv4(text)!)).toBe(text);
    }
  });
});

describe('IPv6', () => {
  it('parses full, compressed and v4-mapped forms', () => {
    expect(parseIPv6('::')).toBe(0n);
    expect(parseIPv6('::1')).toBe(1n);
    expect(parseIPv6('2001:db8::1')).toBe(0x20010db8000000000000000000000001n);
    expect(parseIPv6('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe(0x20010db8000000000000000000000001n);
    expect(parseIPv6('fe80::')).toBe(0xfe800000000000000000000000000000n);
    expect(parseIPv6('::ffff:10.1.0.1')).toBe(0xffff0a010001n);
    expect(parseIPv6('FFFF:ffff:FFFF:ffff:FFFF:ffff:FFFF:ffff')).toBe((1n << 128n) - 1n);
  });

  it.each([
    '', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '2001:db8::g', '12345::', '1:2:3:4:5:6:7:8::',
    '::ffff:10.1.0.300', '::10.1.0.1:1', '2001:db8::/64', 'fe80::1%eth0',
  ])('rejects %j', (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });

  it('formats the canonical RFC 5952 text', () => {
    expect(formatAddress(6, 0n)).toBe('::');
    expect(formatAddress(6, 1n)).toBe('::1');
    expect(formatAddress(6, parseIPv6('2001:0db8:0000:0000:0000:0000:0000:0001')!)).toBe('2001:db8::1');
    // The longest run of zeros is compressed; the first one on a tie.
    expect(formatAddress(6, parseIPv6('2001:0:0:1:0:0:0:1')!)).toBe('2001:0:0:1::1');
    expect(formatAddress(6, parseIPv6('2001:db8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    // A single zero group is not compressed.
    expect(formatAddress(6, parseIPv6('2001:db8:0:1:1:1:1:1')!)).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatAddress(6, parseIPv6('fe80::')!)).toBe('fe80::');
  });
});

describe('parseAddress', () => {
  it('tells the families apart', () => {
    expect(parseAddress('10.0.0.1')).toEqual({ family: 4, value: 0x0a000001n });
    expect(parseAddress('::1')).toEqual({ family: 6, value: 1n });
    expect(parseAddress('10.0.0.1/32')).toBeUndefined();
    expect(parseAddress('db-servers')).toBeUndefined();
    expect(parseAddress('1234')).toBeUndefined();
  });
});

describe('prefixes', () => {
  it('keeps the written address and computes the network', () => {
    expect(parsePrefix('10.1.0.1/24')).toEqual({ family: 4, address: 0x0a010001n, length: 24, first: 0x0a010000n, last: 0x0a0100ffn });
    expect(parsePrefix('0.0.0.0/0')).toEqual({ family: 4, address: 0n, length: 0, first: 0n, last: 0xffffffffn });
    expect(parsePrefix('10.1.0.7')).toMatchObject({ length: 32, first: 0x0a010007n, last: 0x0a010007n });
    expect(parsePrefix('2001:db8::1/64')).toMatchObject({ family: 6, length: 64, first: 0x20010db8000000000000000000000000n, last: 0x20010db800000000ffffffffffffffffn });
    expect(parsePrefix('::/0')).toMatchObject({ family: 6, length: 0, last: (1n << 128n) - 1n });
  });

  it.each(['10.1.0.0/33', '10.1.0.300/24', '10.1.0.0/', '10.1.0.0/24/1', '10.1.0.0/-1', '10.1.0.0/2a', '::/129', '/24', '10.1.0.0/1000'])('rejects %j', (text) => {
    expect(parsePrefix(text)).toBeUndefined();
  });

  it('networkOf and hasHostBits', () => {
    expect(networkOf('10.1.0.1/24')).toBe('10.1.0.0/24');
    expect(networkOf('2001:db8::1/64')).toBe('2001:db8::/64');
    expect(networkOf('nonsense')).toBeUndefined();
    expect(hasHostBits('10.1.0.1/24')).toBe(true);
    expect(hasHostBits('10.1.0.0/24')).toBe(false);
    expect(hasHostBits('10.1.0.1')).toBe(false);
    expect(formatPrefix(parsePrefix('192.168.7.9/16')!)).toBe('192.168.0.0/16');
  });
});

describe('ranges', () => {
  it('parses "a-b" ranges and refuses reversed or mixed ones', () => {
    expect(parseAddressLiteral('10.0.0.5-10.0.0.9')).toEqual({ family: 4, first: 0x0a000005n, last: 0x0a000009n });
    expect(parseAddressLiteral('10.0.0.5-10.0.0.5')).toEqual({ family: 4, first: 0x0a000005n, last: 0x0a000005n });
    expect(parseAddressLiteral('2001:db8::1-2001:db8::ff')).toEqual({ family: 6, first: 0x20010db8000000000000000000000001n, last: 0x20010db80000000000000000000000ffn });
    expect(parseAddressLiteral('10.0.0.9-10.0.0.5')).toBeUndefined();
    expect(parseAddressLiteral('10.0.0.1-::1')).toBeUndefined();
    expect(parseAddressLiteral('10.0.0.1-10.0.0.2-10.0.0.3')).toBeUndefined();
    expect(parseAddressLiteral('10.0.0.0/24')).toEqual({ family: 4, first: 0x0a000000n, last: 0x0a0000ffn });
    expect(parseAddressLiteral('web-servers')).toBeUndefined();
  });

  it('overlap and containment are per family', () => {
    const a = parseAddressLiteral('10.1.0.0/24')!;
    const b = parseAddressLiteral('10.1.0.128/25')!;
    const c = parseAddressLiteral('10.1.1.0/24')!;
    const edge = parseAddressLiteral('10.1.0.255-10.1.1.0')!;
    expect(rangesOverlap(a, b)).toBe(true);
    expect(rangesOverlap(a, c)).toBe(false);
    expect(rangesOverlap(a, edge)).toBe(true);
    expect(rangesOverlap(c, edge)).toBe(true);
    expect(rangeContains(a, b)).toBe(true);
    expect(rangeContains(b, a)).toBe(false);
    expect(rangeContains(a, edge)).toBe(false);
    const v6 = { family: 6 as const, first: a.first, last: a.last };
    expect(rangesOverlap(a, v6)).toBe(false);
    expect(rangeContains(anyRange(4), a)).toBe(true);
    expect(rangeContains(anyRange(4), v6)).toBe(false);
  });

  it('formats a range as a prefix where it is one', () => {
    expect(formatRange(parseAddressLiteral('10.0.0.0-10.0.0.255')!)).toBe('10.0.0.0/24');
    expect(formatRange(parseAddressLiteral('10.0.0.7')!)).toBe('10.0.0.7');
    expect(formatRange(parseAddressLiteral('10.0.0.1-10.0.0.4')!)).toBe('10.0.0.1-10.0.0.4');
    expect(formatRange(parseAddressLiteral('10.0.0.128-10.0.0.255')!)).toBe('10.0.0.128/25');
    // Right size, wrong alignment: not a prefix.
    expect(formatRange(parseAddressLiteral('10.0.0.64-10.0.0.191')!)).toBe('10.0.0.64-10.0.0.191');
    expect(formatRange(anyRange(4))).toBe('0.0.0.0/0');
    expect(formatRange(anyRange(6))).toBe('::/0');
    expect(formatRange(parseAddressLiteral('2001:db8::/48')!)).toBe('2001:db8::/48');
  });

  it('familyOf', () => {
    expect(familyOf('10.0.0.0/8')).toBe(4);
    expect(familyOf('fd00::1-fd00::9')).toBe(6);
    expect(familyOf('vpc-a')).toBeUndefined();
  });
});
