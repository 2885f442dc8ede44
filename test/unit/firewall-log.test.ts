import { describe, expect, it } from 'vitest';
import { isoTimestamp, loggingWanted, parseLogLine } from '../../appliance/subsystems/firewall/log-reader.js';
import type { Config } from '../../appliance/model/schema.js';

// A line ulogd2 2.0.8's JSON output wrote for a logged SYN (captured in the lab).
const SYN = '{"timestamp": "2026-11-22T00:10:51.839880", "dvc": "Netfilter", "raw.pktlen": 60, "raw.pktcount": 1, "oob.prefix": "a-to-b:a-to-db ", "oob.hook": 2, "oob.family": 2, "ip.protocol": 6, "ip.ttl": 63, "src_port": 40872, "dest_port": 5432, "tcp.syn": 1, "oob.in": "vpc0", "oob.out": "vpc1", "src_ip": "10.1.0.11", "dest_ip": "10.2.0.11"}';

describe('firewall log', () => {
  it('parses a ulogd JSON line into policy, rule and five-tuple', () => {
    expect(parseLogLine(SYN)).toEqual({
      time: '2026-11-22T00:10:51.839880Z',
      prefix: 'a-to-b:a-to-db',
      policy: 'a-to-b',
      rule: 'a-to-db',
      in: 'vpc0',
      out: 'vpc1',
      src: '10.1.0.11',
      dst: '10.2.0.11',
      protocol: 6,
      sport: 40872,
      dport: 5432,
      length: 60,
    });
  });

  it('gives every timestamp its offset (ISO 8601): none written means UTC, "+hhmm" becomes "+hh:mm"', () => {
    expect(isoTimestamp('2026-11-22T00:10:51.839880')).toBe('2026-11-22T00:10:51.839880Z');
    expect(isoTimestamp('2026-11-22T01:10:51.839880+0100')).toBe('2026-11-22T01:10:51.839880+01:00');
    expect(isoTimestamp('2026-11-21T19:10:51.5-0500')).toBe('2026-11-21T19:10:51.5-05:00');
    expect(isoTimestamp('2026-11-22T00:10:51+0000')).toBe('2026-11-22T00:10:51Z');
    expect(isoTimestamp('2026-11-22T00:10:51.839880Z')).toBe('2026-11-22T00:10:51.839880Z');
    // the same instant, whichever way it was written
    expect(Date.parse(isoTimestamp('2026-11-22T01:10:51.839+0100'))).toBe(Date.parse(isoTimestamp('2026-11-22T00:10:51.839')));
    expect(isoTimestamp('not a time')).toBe('not a time');
  });

  it('keeps a custom prefix whole and skips lines that are not JSON', () => {
    expect(parseLogLine('{"oob.prefix": "web ", "timestamp": "t"}')).toEqual({ time: 't', prefix: 'web' });
    expect(parseLogLine('not json')).toBeUndefined();
  });

  it('wants the reader only when an enabled rule or a policy default logs', () => {
    const base = { interfaces: [], zones: [] } as Config;
    const policy = (rules: unknown[], extra = {}) => ({ ...base, firewall: { policies: [{ name: 'p', from: 'a', to: 'b', rules, ...extra }] } }) as Config;
    expect(loggingWanted(base)).toBe(false);
    expect(loggingWanted(policy([{ id: 'r', action: 'accept' }]))).toBe(false);
    expect(loggingWanted(policy([{ id: 'r', action: 'accept', log: true, enabled: false }]))).toBe(false);
    expect(loggingWanted(policy([{ id: 'r', action: 'accept', log: { rate_per_minute: 5 } }]))).toBe(true);
    expect(loggingWanted(policy([], { log_default: true }))).toBe(true);
  });
});
