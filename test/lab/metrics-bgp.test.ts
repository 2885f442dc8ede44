// BGP in GET /metrics for real: `junction serve` in the lab's router
// namespace peers over dx0 with an on-prem bird (configured by hand in the
// onprem namespace). The neighbor's state, uptime and prefixes (received,
// accepted, exported) come from Junction's bird; a session the on-prem side
// takes down and back up counts as one flap. The on-prem bird is stopped by
// its pid; the lab (namespaces, Junction, its bird) goes in afterAll.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { addressing } from '../lab-kit/topology.js';
import { waitFor } from '../lab-kit/wait.js';
import { parseExposition, type Exposition } from '../support/prometheus-text.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { DEFAULT_ANNOUNCE, JUNCTION_ASN, ONPREM_ASN, OnpremBird } from './support/onprem-bird.js';
import { requireTools } from './support/tools.js';

const root = requireRoot();
requireTools('metrics-bgp', root.isRoot, [{ program: 'bird', pkg: 'bird2' }]);
const op = addressing.onprem;
const demo = parseYaml(readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8')) as Record<string, any>;
const NEIGHBOR = { neighbor: 'dx-1', address: op.dxOnprem };

/** The demo plus dx0 in zone "dx" and one BGP neighbor that accepts the on-prem LAN and 10.50.0.0/16 up to /24. */
function document(): Record<string, any> {
  return {
    ...demo,
    interfaces: [...demo.interfaces, { name: 'dx0', role: 'dx', zone: 'dx', addresses: [`${op.dxRouter}/30`] }],
    zones: [...demo.zones, { name: 'dx' }],
    bgp: {
      asn: JUNCTION_ASN,
      router_id: op.dxRouter,
      neighbors: [{
        id: 'dx-1', address: op.dxOnprem, remote_asn: ONPREM_ASN, interface: 'dx0', bfd: { interval_ms: 300, multiplier: 3 },
        import: { prefixes: [{ prefix: op.lanSubnet }, { prefix: '10.50.0.0/16', le: 24 }] },
      }],
    },
  };
}

describe.skipIf(!root.isRoot)('BGP neighbors in GET /metrics', () => {
  const lab = withLab({ prefix: uniquePrefix('n'), onprem: true, dxLinks: 1 }, root.isRoot);
  let junction: RunningJunction;
  let onprem: OnpremBird;

  const scrape = async (): Promise<Exposition> => {
    const answer = await junction.api('GET', '/metrics');
    expect(answer.status, answer.text).toBe(200);
    return parseExposition(answer.text);
  };
  const whenScraped = (what: string, ok: (m: Exposition) => boolean) => waitFor(what, async () => {
    const m = await scrape();
    return ok(m) ? m : undefined;
  }, 45_000, 500);

  beforeAll(async () => {
    onprem = new OnpremBird(lab());
    await onprem.start({ bfdIntervalMs: 300 });
    junction = await startJunction(lab(), { args: ['--metrics-max-age', '1'] });
    const put = await junction.api('PUT', '/v1/config?comment=bgp', document());
    expect(put.status, put.text).toBe(200);
  });

  afterAll(async () => {
    await onprem?.stop();
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
  });

  it('shows an established session with its prefixes received, accepted and exported, and bird running', async () => {
    const m = await whenScraped('dx-1 Established with its prefixes', (x) => x.value('junction_bgp_neighbor_up', NEIGHBOR) === 1 && x.value('junction_bgp_neighbor_prefixes_received', NEIGHBOR) === DEFAULT_ANNOUNCE.length + 1);
    expect(m.value('junction_bgp_neighbor_state', { ...NEIGHBOR, state: 'Established' })).toBe(1);
    expect(m.all('junction_bgp_neighbor_state').filter((s) => s.value === 1)).toHaveLength(1);
    // the LAN and 10.50.1.0/24, 10.50.2.0/24 pass the import filter; 203.0.113.0/24 does not
    expect(m.value('junction_bgp_neighbor_prefixes_accepted', NEIGHBOR)).toBe(3);
    // the two VPC subnets (the default export)
    expect(m.value('junction_bgp_neighbor_prefixes_exported', NEIGHBOR)).toBe(2);
    expect(m.value('junction_bgp_neighbor_uptime_seconds', NEIGHBOR)).toBeGreaterThanOrEqual(0);
    expect(m.value('junction_bgp_neighbor_flaps_total', NEIGHBOR)).toBe(0);
    expect(m.value('junction_daemon_up', { daemon: 'bird' })).toBe(1);
    expect(m.value('junction_daemon_restarts_total', { daemon: 'bird' })).toBe(0);
    expect(m.value('junction_metrics_collector_up', { subsystem: 'bgp' })).toBe(1);
  });

  it('counts one flap when the on-prem side takes the session down and back up', async () => {
    const before = await whenScraped('dx-1 up', (x) => x.value('junction_bgp_neighbor_up', NEIGHBOR) === 1);
    const upSince = before.value('junction_bgp_neighbor_uptime_seconds', NEIGHBOR)!;
    await onprem.command('disable j1');
    const down = await whenScraped('dx-1 down', (x) => x.value('junction_bgp_neighbor_up', NEIGHBOR) === 0);
    expect(down.value('junction_bgp_neighbor_flaps_total', NEIGHBOR)).toBe(1);
    expect(down.value('junction_bgp_neighbor_state', { ...NEIGHBOR, state: 'Established' })).toBe(0);
    expect(down.value('junction_bgp_neighbor_uptime_seconds', NEIGHBOR)).toBe(0);
    expect(down.value('junction_bgp_neighbor_prefixes_received', NEIGHBOR)).toBe(0);
    await onprem.command('enable j1');
    const again = await whenScraped('dx-1 up again', (x) => x.value('junction_bgp_neighbor_up', NEIGHBOR) === 1);
    expect(again.value('junction_bgp_neighbor_flaps_total', NEIGHBOR)).toBe(1);
    console.log(`uptime before the flap ${upSince} s, after ${again.value('junction_bgp_neighbor_uptime_seconds', NEIGHBOR)} s`);
  });
});
