// Interfaces by role on a real kernel: the lab router's interfaces get the
// kind of names a Pod or VM gives them (eth7, eth3, eth5, plus a spare
// veth pair nobody configured), and the configuration selects them by MAC
// and by the subnet of the address the "runtime" put on them. The real
// `junction serve` must plan and apply on the kernel names, forward real
// traffic by them, show the selection in status, and refuse an ambiguous
// or empty match with a 422 that names the path, changing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { addressing } from '../lab-kit/topology.js';
import { tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';

const root = requireRoot();
const { vpcs, internet, ccnn } = addressing;
const CCNN_MAC = '02:00:00:00:07:07';
const VPC_B_MAC = '02:00:00:00:05:05';

/** The demo's policy on roles whose kernel names the document never says. */
const document = (vpcA: Record<string, unknown>) => ({
  interfaces: [
    { name: 'ccnn', match: { mac: CCNN_MAC.toUpperCase().replaceAll(':', '-') }, role: 'ccnn', zone: 'ccnn', addresses: [`${ccnn.router}/24`] },
    { name: 'vpc-a', match: vpcA, role: 'vpc', zone: 'vpc-a', addresses: [`${vpcs.a.gateway}/24`] },
    { name: 'vpc-b', match: { mac: VPC_B_MAC }, role: 'vpc', zone: 'vpc-b', addresses: [`${vpcs.b.gateway}/24`] },
  ],
  zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }],
  firewall: { policies: [{ name: 'a-to-b', from: 'vpc-a', to: 'vpc-b', rules: [{ id: 'a-to-db', action: 'accept', destination: [vpcs.b.hosts.b1], services: ['tcp/5432'] }] }] },
  nat: { egress: [{ id: 'vpcs-out', sources: ['vpc-a', 'vpc-b'], interface: 'ccnn', mode: 'masquerade' }] },
  routes: { static: [{ id: 'default', destination: '0.0.0.0/0', via: ccnn.gateway, interface: 'ccnn' }] },
});

describe.skipIf(!root.isRoot)('interfaces selected by MAC and subnet in the lab', () => {
  const lab = withLab({ prefix: uniquePrefix('sel') }, root.isRoot);
  let junction: RunningJunction;
  const router = (...argv: string[]) => lab().exec('router', argv, { check: true });
  const ruleset = async () => (await router('nft', 'list', 'ruleset')).stdout;

  beforeAll(async () => {
    // What a runtime leaves: platform names, MACs it chose, the VPC-a address from its IPAM.
    for (const [from, to] of [['ccnn0', 'eth7'], ['vpc0', 'eth3'], ['vpc1', 'eth5']]) {
      await router('ip', 'link', 'set', 'dev', from, 'down');
      await router('ip', 'link', 'set', 'dev', from, 'name', to);
    }
    await router('ip', 'link', 'set', 'dev', 'eth7', 'address', CCNN_MAC);
    await router('ip', 'link', 'set', 'dev', 'eth5', 'address', VPC_B_MAC);
    for (const dev of ['eth7', 'eth3', 'eth5']) await router('ip', 'link', 'set', 'dev', dev, 'up');
    await router('ip', 'addr', 'add', `${vpcs.a.gateway}/24`, 'dev', 'eth3');
    // an attachment nobody configured, with an address in 10/8 as well
    await router('ip', 'link', 'add', 'eth9', 'type', 'veth', 'peer', 'name', 'eth8');
    await router('ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'eth9');
    await router('ip', 'link', 'set', 'dev', 'eth9', 'up');
    junction = await startJunction(lab());
  });

  afterAll(async () => {
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
  });

  it('refuses an ambiguous and an empty match with 422 at /interfaces/1/match, changing nothing', async () => {
    const before = await ruleset();
    const ambiguous = await junction.api('PUT', '/v1/config', document({ subnet: '10.0.0.0/8' }));
    expect(ambiguous.status).toBe(422);
    expect(ambiguous.body.problems).toEqual([{ path: '/interfaces/1/match', message: expect.stringMatching(/^2 interfaces have subnet 10\.0\.0\.0\/8: eth3 .*, eth9 /) }]);
    const empty = await junction.api('PUT', '/v1/config', document({ mac: '02:00:00:00:09:99' }));
    expect(empty.status).toBe(422);
    expect(empty.body.problems).toEqual([{ path: '/interfaces/1/match', message: expect.stringMatching(/^no interface has mac 02:00:00:00:09:99 \(candidates in attach order: .*eth7 \(02:00:00:00:07:07/) }]);
    expect(await ruleset()).toBe(before);
    expect((await junction.api('GET', '/v1/status')).body.revision).toBeNull();
  });

  it('plans which kernel interface each role got, and applies on those names', async () => {
    const put = await junction.api('PUT', '/v1/config', document({ subnet: '10.1.0.0/24' }));
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const links = put.body.plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'links');
    expect(links.add).toEqual(expect.arrayContaining([
      `interface ccnn -> eth7 (mac ${CCNN_MAC})`,
      expect.stringMatching(/^interface vpc-a -> eth3 \(mac [0-9a-f:]{17}\)$/),
      `interface vpc-b -> eth5 (mac ${VPC_B_MAC})`,
      `address ${ccnn.router}/24 on eth7`,
    ]));
    const rules = await ruleset();
    expect(rules).toMatch(/oifname "eth7"/);
    expect(rules).not.toMatch(/ifname "(ccnn|vpc-a|vpc-b)"/);
    expect((await router('ip', '-o', 'addr', 'show', 'dev', 'eth7')).stdout).toContain(`${ccnn.router}/24`);
    expect((await router('ip', 'route', 'show', 'default')).stdout).toContain('dev eth7');
    // the spare attachment is not Junction's: left as it was
    expect((await router('ip', '-o', 'addr', 'show', 'dev', 'eth9')).stdout).toContain('10.77.0.1/24');
  });

  it('forwards real traffic by the selected interfaces: NAT egress and the inter-VPC policy', async () => {
    const listener = await tcpListen(lab(), 'inet', 9000);
    try {
      expect(await tcpConnect(lab(), 'a1', internet.host, 9000)).toBe(true);
      expect((await listener.waitForPeer()).address).toBe(ccnn.router);
    } finally {
      await listener.close();
    }
    const db = await tcpListen(lab(), 'b1', 5432);
    const back = await tcpListen(lab(), 'a1', 5432);
    try {
      expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 5432)).toBe(true);
      expect(await tcpConnect(lab(), 'b1', vpcs.a.hosts.a1, 5432, 1500)).toBe(false);
      expect(back.peers()).toHaveLength(0);
    } finally {
      await Promise.all([db.close(), back.close()]);
    }
  });

  it('status shows each kernel interface with the name the document gives it and how it was selected', async () => {
    const status = (await junction.api('GET', '/v1/status')).body;
    const byName = (name: string) => status.interfaces.find((i: { name: string }) => i.name === name);
    expect(byName('eth7')).toMatchObject({ configured: true, configured_name: 'ccnn', selected_by: `mac ${CCNN_MAC}`, role: 'ccnn', mac: CCNN_MAC });
    expect(byName('eth3')).toMatchObject({ configured: true, configured_name: 'vpc-a', selected_by: 'subnet 10.1.0.0/24', zone: 'vpc-a' });
    expect(byName('eth5')).toMatchObject({ configured_name: 'vpc-b', selected_by: `mac ${VPC_B_MAC}` });
    expect(byName('eth9')).toMatchObject({ configured: false });
    const reconcile = await junction.api('POST', '/v1/reconcile');
    expect(reconcile.status).toBe(200);
    expect(reconcile.body).toMatchObject({ repaired: {}, errors: {} });
  });
});
