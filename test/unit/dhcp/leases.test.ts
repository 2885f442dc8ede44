// dnsmasq's lease file, parsed: leases with their interface, infinite
// leases, DHCPv6 lines skipped, garbage counted rather than guessed at.
import { describe, expect, it } from 'vitest';
import { parseLeaseFile } from '../../../appliance/subsystems/dhcp/leases.js';

describe('dnsmasq lease file', () => {
  it('parses leases, maps them to interfaces, sorts by address', () => {
    const text = [
      '1764640800 02:00:00:00:0A:02 10.1.0.50 db 01:02:00:00:00:0a:02',
      '0 02:00:00:00:0b:01 10.2.0.7 * *',
      '1764637200 02:00:00:00:0a:01 10.1.0.123 * ff:00:00:00:0a:01',
      'not a lease',
      '1764637200 zz:00:00:00:0a:01 10.1.0.9 * *',
      '1764637200 02:00:00:00:0a:09 10.1.0.999 * *',
      'duid 00:01:00:01:2c:00:00:00:02:00:00:00:00:01',
      '1764637200 1234 fd00::5 host 00:01',
      '',
    ].join('\n');
    const interfaceOf = (a: string) => (a.startsWith('10.1.') ? 'vpc0' : undefined);
    const { leases, unreadable } = parseLeaseFile(text, interfaceOf);
    expect(unreadable).toBe(3);
    expect(leases).toEqual([
      { address: '10.1.0.50', mac: '02:00:00:00:0a:02', hostname: 'db', client_id: '01:02:00:00:00:0a:02', expires: '2025-12-02T02:00:00.000Z', interface: 'vpc0' },
      { address: '10.1.0.123', mac: '02:00:00:00:0a:01', client_id: 'ff:00:00:00:0a:01', expires: '2025-12-02T01:00:00.000Z', interface: 'vpc0' },
      { address: '10.2.0.7', mac: '02:00:00:00:0b:01', expires: 'never' },
    ]);
  });

  it('an empty or missing file has no leases', () => {
    expect(parseLeaseFile('')).toEqual({ leases: [], unreadable: 0 });
  });
});
