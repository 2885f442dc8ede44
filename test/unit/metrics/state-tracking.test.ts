// What the metrics count themselves because neither charon nor bird keeps
// it: a tunnel's rekeys and the time of its last state change, a BGP
// neighbor's flaps.
import { describe, expect, it } from 'vitest';
import { VpnMetrics } from '../../../appliance/subsystems/vpn/metrics.js';
import type { VpnStatus, TunnelStatus } from '../../../appliance/subsystems/vpn/status.js';
import { BgpMetrics } from '../../../appliance/subsystems/bgp/metrics.js';
import type { BgpStatus } from '../../../appliance/subsystems/bgp/status.js';
import type { MetricFamily } from '../../../appliance/core/metric-samples.js';
import { BGP_STATUS } from './fixture.js';

const valueOf = (families: MetricFamily[], name: string, labels: Record<string, string> = {}) =>
  families.find((f) => f.name === name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))?.value;

function vpnStatus(state: TunnelStatus['state'], establishedAt?: string): VpnStatus {
  const tunnel: TunnelStatus = { name: 'lan', state, ...(establishedAt ? { established_at: establishedAt } : {}), bytes_in: 0, bytes_out: 0, packets_in: 0, packets_out: 0, sas: [] };
  return { configured: true, dataplane: null, charon: { running: true, restarts: 1 }, peers: [{ name: 'site', state: 'ESTABLISHED', liveness_probes: { count: 2 }, tunnels: [tunnel] }] };
}
const LAN = { peer: 'site', tunnel: 'lan' };

describe('tunnel metrics', () => {
  it('counts child rekeys from charon\'s events, per tunnel', () => {
    const metrics = new VpnMetrics();
    for (let i = 0; i < 3; i++) metrics.noteEvent({ event: 'child-rekey', at: new Date().toISOString(), peer: 'site', tunnel: 'lan' });
    metrics.noteEvent({ event: 'ike-rekey', at: new Date().toISOString(), peer: 'site' });
    const families = metrics.families(vpnStatus('up'));
    expect(valueOf(families, 'junction_vpn_tunnel_rekeys_total', LAN)).toBe(3);
    expect(valueOf(families, 'junction_daemon_restarts_total', { daemon: 'charon' })).toBe(1);
  });

  it('dates the last change: the SA\'s install time at first sight, an up/down event, or the first collection that sees a change no event dated', () => {
    const metrics = new VpnMetrics();
    const lastChange = (status: VpnStatus, now: number) => valueOf(metrics.families(status, now), 'junction_vpn_tunnel_last_change_timestamp_seconds', LAN);
    expect(lastChange(vpnStatus('up', '2026-12-01T10:00:00.000Z'), Date.parse('2026-12-01T11:00:00Z'))).toBe(Date.parse('2026-12-01T10:00:00Z') / 1000);
    // up -> stalled has no event: dated by the collection that sees it
    expect(lastChange(vpnStatus('stalled'), Date.parse('2026-12-01T11:05:00Z'))).toBe(Date.parse('2026-12-01T11:05:00Z') / 1000);
    expect(lastChange(vpnStatus('stalled'), Date.parse('2026-12-01T11:06:00Z'))).toBe(Date.parse('2026-12-01T11:05:00Z') / 1000);
    // down with an event: the event's time, not the collection's
    metrics.noteEvent({ event: 'child-updown', at: '2026-12-01T11:07:30.000Z', peer: 'site', tunnel: 'lan', up: false });
    expect(lastChange(vpnStatus('down'), Date.parse('2026-12-01T11:08:00Z'))).toBe(Date.parse('2026-12-01T11:07:30Z') / 1000);
  });

  it('has no last change for a tunnel first seen down (nothing dates it)', () => {
    expect(valueOf(new VpnMetrics().families(vpnStatus('down')), 'junction_vpn_tunnel_last_change_timestamp_seconds', LAN)).toBeUndefined();
  });
});

describe('BGP neighbor metrics', () => {
  const neighbor = (established: boolean, since?: string): BgpStatus => ({
    ...BGP_STATUS,
    neighbors: [{ ...BGP_STATUS.neighbors[0]!, established, state: established ? 'Established' : 'Active', ...(since ? { since } : { since: undefined }), uptime_s: established ? 5 : undefined }],
  });
  const flaps = (metrics: BgpMetrics, status: BgpStatus) => valueOf(metrics.families(status), 'junction_bgp_neighbor_flaps_total', { neighbor: 'dx-1' });

  it('counts a flap when an established session goes down, or is established again since a later time', () => {
    const metrics = new BgpMetrics();
    expect(flaps(metrics, neighbor(false))).toBe(0); // never up: no flap
    expect(flaps(metrics, neighbor(true, '2026-12-01T10:00:00Z'))).toBe(0); // came up
    expect(flaps(metrics, neighbor(true, '2026-12-01T10:00:00Z'))).toBe(0); // still up
    expect(flaps(metrics, neighbor(false, '2026-12-01T10:05:00Z'))).toBe(1); // went down
    expect(flaps(metrics, neighbor(true, '2026-12-01T10:06:00Z'))).toBe(1); // back up: not another flap
    expect(flaps(metrics, neighbor(true, '2026-12-01T10:09:00Z'))).toBe(2); // down and up between two looks
  });

  it('shows every FSM state one-hot, the current one 1', () => {
    const families = new BgpMetrics().families(neighbor(false));
    const states = families.find((f) => f.name === 'junction_bgp_neighbor_state')!.samples;
    expect(states.filter((s) => s.value === 1).map((s) => s.labels!.state)).toEqual(['Active']);
    expect(states).toHaveLength(7);
    expect(valueOf(families, 'junction_bgp_neighbor_up', { neighbor: 'dx-1' })).toBe(0);
    expect(valueOf(families, 'junction_bgp_neighbor_uptime_seconds', { neighbor: 'dx-1' })).toBe(0);
  });

  it('reports bird only when BGP is configured (a stopped bird is not a failure then)', () => {
    const families = new BgpMetrics().families({ ...BGP_STATUS, configured: false, bird: { running: false, restarts: 0 }, neighbors: [] });
    expect(families.find((f) => f.name === 'junction_daemon_up')).toBeUndefined();
  });
});
