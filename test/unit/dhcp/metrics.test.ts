import { describe, expect, it } from 'vitest';
import { dhcpFamilies, poolSizes } from '../../../appliance/subsystems/dhcp/metrics.js';
import type { Config } from '../../../appliance/model/schema.js';
import type { DhcpStatus } from '../../../appliance/subsystems/dhcp/status.js';

const config = {
  dhcp: {
    servers: [
      { interface: 'vpc0', ranges: [{ start: '10.0.0.100', end: '10.0.0.199' }, { start: '10.0.0.210', end: '10.0.0.219' }], reservations: [{ mac: '02:00:00:00:00:01', address: '10.0.0.50' }] },
      { interface: 'vpc1', ranges: [{ start: '10.1.0.10', end: '10.1.0.19' }] },
      { interface: 'vpc2', dhcp: false },
    ],
  },
} as unknown as Config;

const status = (leases: DhcpStatus['leases']): DhcpStatus => ({
  dnsmasq: { running: true, pid: 42, restarts: 2 },
  dhcp_interfaces: ['vpc0', 'vpc1'],
  dns_interfaces: [],
  leases,
});

const samples = (families: ReturnType<typeof dhcpFamilies>, name: string) =>
  Object.fromEntries(families.find((f) => f.name === name)!.samples.map((s) => [Object.values(s.labels ?? {}).join(','), s.value]));

describe('DHCP metrics', () => {
  it('counts the pool of each served interface from its ranges and reservations, not the interfaces without DHCP', () => {
    expect([...poolSizes(config)]).toEqual([['vpc0', 111], ['vpc1', 10]]);
  });

  it('counts active leases per interface, zero where none, and leaves out expired ones', () => {
    const now = Date.parse('2026-12-02T00:00:00Z');
    const families = dhcpFamilies(config, status([
      { address: '10.0.0.100', mac: '02:00:00:00:00:02', expires: '2026-12-02T01:00:00Z', interface: 'vpc0' },
      { address: '10.0.0.50', mac: '02:00:00:00:00:01', expires: 'never', interface: 'vpc0' },
      { address: '10.0.0.101', mac: '02:00:00:00:00:03', expires: '2026-12-01T23:00:00Z', interface: 'vpc0' },
    ]), now);
    expect(samples(families, 'junction_dhcp_leases')).toEqual({ vpc0: 2, vpc1: 0 });
    expect(samples(families, 'junction_dhcp_pool_size')).toEqual({ vpc0: 111, vpc1: 10 });
    expect(samples(families, 'junction_daemon_restarts_total')).toEqual({ dnsmasq: 2 });
    expect(samples(families, 'junction_daemon_up')).toEqual({ dnsmasq: 1 });
  });
});
