// The scan of "tcp/N" and "udp/N-M" service literals (rules/resolve.ts, fast
// for 100k-rule compiles) against the plain definition it sits in front of:
// split and regex. Random and hand-picked texts, good and bad.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseServiceLiteral, PROTOCOL_NUMBERS } from '../../rules/resolve.js';

/** The literal as the general path reads it (split, regex), for tcp/udp with ports; undefined when it is not that. */
function referencePorted(text: string) {
  const [protocol, ports, ...rest] = text.split('/');
  if (rest.length || (protocol !== 'tcp' && protocol !== 'udp') || ports === undefined) return undefined;
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(ports);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (first < 1 || last > 65535 || first > last) return undefined;
  const proto = PROTOCOL_NUMBERS[protocol];
  return [{ protoFirst: proto, protoLast: proto, portFirst: first, portLast: last }];
}

const port = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('', '0', '00080', '000001', '65535', '65536', '1a', ' 1', '-', '123456'));
const literal = fc.oneof(
  fc.tuple(fc.constantFrom('tcp', 'udp', 'icmp', 'tcpx', 'TCP', 'ud', 'any', ''), port).map(([p, n]) => `${p}/${n}`),
  fc.tuple(fc.constantFrom('tcp', 'udp', 'icmp'), port, port).map(([p, a, b]) => `${p}/${a}-${b}`),
  fc.tuple(fc.constantFrom('tcp', 'udp'), port, port, port).map(([p, a, b, c]) => `${p}/${a}-${b}-${c}`),
  fc.string({ maxLength: 14 }),
);

describe('service literal scan', () => {
  it('gives what split and regex give, for tcp/udp with ports; everything else goes the general way', () => {
    fc.assert(fc.property(literal, (text) => {
      const expected = referencePorted(text);
      const got = parseServiceLiteral(text);
      if (expected) expect(got, text).toEqual(expected);
      else expect(Array.isArray(got) && got.length === 1 && got[0].protoFirst === got[0].protoLast && [6, 17].includes(got[0].protoFirst) && got[0].portFirst > 0 ? 'a tcp/udp port range' : 'something else', text).toBe('something else');
    }), { numRuns: 20_000 });
  });

  it('hand-picked texts', () => {
    expect(parseServiceLiteral('tcp/443')).toEqual([{ protoFirst: 6, protoLast: 6, portFirst: 443, portLast: 443 }]);
    expect(parseServiceLiteral('udp/5000-5010')).toEqual([{ protoFirst: 17, protoLast: 17, portFirst: 5000, portLast: 5010 }]);
    expect(parseServiceLiteral('tcp/00080')).toEqual([{ protoFirst: 6, protoLast: 6, portFirst: 80, portLast: 80 }]);
    expect(parseServiceLiteral('tcp/0')).toMatch(/not a port/);
    expect(parseServiceLiteral('tcp/65536')).toMatch(/not a port/);
    expect(parseServiceLiteral('tcp/20-10')).toMatch(/reversed range/);
    expect(parseServiceLiteral('tcp/1-2-3')).toMatch(/not a port/);
    expect(parseServiceLiteral('tcp')).toEqual([{ protoFirst: 6, protoLast: 6, portFirst: 0, portLast: 65535 }]);
    expect(parseServiceLiteral('icmp/8')).toMatch(/has no ports/);
  });
});
