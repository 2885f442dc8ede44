// Interfaces selected by match through the whole pipeline (fake kernel):
// the plan says which kernel interface each role got, apply and every
// subsystem use the kernel name, status shows the document's name and the
// criteria, and a match that is ambiguous or finds nothing is a 422 naming
// the document path with nothing changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutating, startHarness, type Harness } from './support/harness.js';
import { createAppliance } from '../../appliance/main/appliance.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { memoryLogger } from '../support/memory-logger.js';

describe('interfaces selected by MAC, index or subnet', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    // what ip -d -j addr show says of the fake kernel's links: attach order, MACs, an address the runtime gave
    [['ccnn0', 2, '52:54:00:00:00:10'], ['vpc0', 3, '52:54:00:00:00:21'], ['vpc1', 4, '52:54:00:00:00:22']].forEach(([name, ifindex, address]) => {
      Object.assign(h.kernel.links.get(name as string)!, { ifindex, address, link_type: 'ether' });
    });
    h.kernel.links.get('vpc0')!.addr_info.push({ family: 'inet', local: '10.1.0.1', prefixlen: 24, scope: 'global' });
    h.kernel.links.get('vpc1')!.addr_info.push({ family: 'inet', local: '10.2.0.1', prefixlen: 24, scope: 'global' });
  });
  afterAll(() => h.close());

  const doc = (vpcB: Record<string, unknown>) => ({
    interfaces: [
      { name: 'ccnn', match: { index: 0 }, role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc-a', match: { mac: '52-54-00-00-00-21' }, role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'], mtu: 9000 },
      { name: 'vpc-b', match: vpcB, role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }],
    nat: { egress: [{ id: 'out', sources: ['vpc-a', 'vpc-b'], interface: 'ccnn' }] },
    routes: { static: [{ id: 'default', destination: '0.0.0.0/0', via: '100.64.0.1', interface: 'ccnn' }] },
  });
  const put = (body: unknown, query = '') => h.app.inject({ method: 'PUT', url: `/v1/config${query}`, headers: h.auth(), payload: body as object });

  it('an ambiguous or empty match is a 422 naming /interfaces/N/match, and nothing changes', async () => {
    const from = h.runner.commands.length;
    const ambiguous = await put(doc({ subnet: '10.0.0.0/8' }));
    expect(ambiguous.statusCode).toBe(422);
    expect(ambiguous.json().problems).toEqual([{ path: '/interfaces/2/match', message: expect.stringMatching(/^2 interfaces have subnet 10\.0\.0\.0\/8: vpc0 .*, vpc1 /) }]);
    const missing = await put(doc({ mac: '02:00:00:00:00:99' }));
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ error: 'config_check_failed', problems: [{ path: '/interfaces/2/match', message: expect.stringMatching(/^no interface has mac 02:00:00:00:00:99 \(candidates in attach order: ccnn0 \(52:54:00:00:00:10\), vpc0/) }] });
    expect(mutating(h.transcriptSince(from))).toEqual([]);
    expect(h.appliance.store.currentRevisionId()).toBeNull();
  });

  it('plans and applies on the kernel names, and status says how each was selected', async () => {
    const dry = await put(doc({ subnet: '10.2.0.0/24' }), '?dry_run=true');
    expect(dry.statusCode, dry.body).toBe(200);
    const links = dry.json().plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'links');
    expect(links.add).toEqual(expect.arrayContaining([
      'interface ccnn -> ccnn0 (mac 52:54:00:00:00:10)',
      'interface vpc-a -> vpc0 (mac 52:54:00:00:00:21)',
      'interface vpc-b -> vpc1 (mac 52:54:00:00:00:22)',
      'interface vpc0 up mtu 9000',
      'address 100.64.0.2/24 on ccnn0',
    ]));
    const routes = dry.json().plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'routes');
    expect(routes.add.join('\n')).toContain('dev ccnn0');

    const from = h.runner.commands.length;
    const applied = await put(doc({ subnet: '10.2.0.0/24' }));
    expect(applied.statusCode, applied.body).toBe(200);
    const changes = mutating(h.transcriptSince(from));
    expect(changes).toEqual(expect.arrayContaining(['ip addr add 100.64.0.2/24 dev ccnn0', 'ip link set dev vpc0 mtu 9000']));
    expect(changes.join('\n')).not.toMatch(/dev (ccnn|vpc-a|vpc-b)\b(?!0)/);
    // the firewall matches kernel names: NAT egress out of ccnn0
    expect(JSON.stringify(h.kernel.table)).toContain('"ccnn0"');
    expect(JSON.stringify(h.kernel.table)).not.toContain('"vpc-a"');

    const status = (await h.app.inject({ method: 'GET', url: '/v1/status', headers: h.auth() })).json();
    const vpc0 = status.interfaces.find((i: { name: string }) => i.name === 'vpc0');
    expect(vpc0).toMatchObject({ configured: true, configured_name: 'vpc-a', selected_by: 'mac 52:54:00:00:00:21', role: 'vpc', zone: 'vpc-a' });
    expect(status.interfaces.find((i: { name: string }) => i.name === 'vpc1')).toMatchObject({ configured_name: 'vpc-b', selected_by: 'subnet 10.2.0.0/24' });

    // the document keeps its own names
    const stored = (await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() })).json();
    expect(stored.interfaces.map((i: { name: string }) => i.name)).toEqual(['ccnn', 'vpc-a', 'vpc-b']);
    expect(stored.nat.egress[0].interface).toBe('ccnn');
  });

  it('the same document again plans nothing and runs nothing', async () => {
    const from = h.runner.commands.length;
    const again = await put(doc({ subnet: '10.2.0.0/24' }));
    expect(again.statusCode).toBe(200);
    expect(again.json().plan.changed).toBe(false);
    expect(mutating(h.transcriptSince(from))).toEqual([]);
  });

  it('a NIC that moved: reconcile renders the revision onto the interface that now matches', async () => {
    // the MAC that selects vpc-a now belongs to a new interface (a VF re-attached under another name)
    h.kernel.links.set('vpc2', { ifname: 'vpc2', mtu: 1500, flags: ['UP'], addr_info: [], ...{ ifindex: 5, address: '52:54:00:00:00:21', link_type: 'ether' } } as never);
    Object.assign(h.kernel.links.get('vpc0')!, { address: '52:54:00:00:00:99' });
    const from = h.runner.commands.length;
    const report = (await h.app.inject({ method: 'POST', url: '/v1/reconcile', headers: h.auth() })).json();
    expect(report.errors).toEqual({});
    expect(mutating(h.transcriptSince(from))).toEqual(expect.arrayContaining(['ip link set dev vpc2 mtu 9000', 'ip addr add 10.1.0.1/24 dev vpc2']));
    expect(JSON.stringify(h.kernel.table)).toContain('"vpc2"');
    const status = (await h.app.inject({ method: 'GET', url: '/v1/status', headers: h.auth() })).json();
    expect(status.interfaces.find((i: { name: string }) => i.name === 'vpc2')).toMatchObject({ configured_name: 'vpc-a', selected_by: 'mac 52:54:00:00:00:21' });
  });

  it('a match that breaks later is reported by reconcile, and the last selection stays', async () => {
    h.kernel.links.delete('vpc2');
    const from = h.runner.commands.length;
    const report = (await h.app.inject({ method: 'POST', url: '/v1/reconcile', headers: h.auth() })).json();
    expect(report.errors.interfaces).toMatch(/\/interfaces\/1\/match: no interface has mac 52:54:00:00:00:21/);
    expect(mutating(h.transcriptSince(from)).filter((l) => l.includes('vpc0'))).toEqual([]);
  });

  it('a restart whose interfaces are not there applies nothing; the reconcile that finds them applies it as a commit would', async () => {
    // a new process on the same state dir: the MAC that selects vpc-a is on no interface now
    const restarted = createAppliance({ stateDir: h.stateDir, runner: h.runner, capabilities: NO_CAPABILITIES, log: memoryLogger() });
    const committed: number[] = [];
    restarted.reconciler.onCommitted((revision) => committed.push(revision.id));
    try {
      const from = h.runner.commands.length;
      const boot = await restarted.reconciler.boot();
      expect(boot.errors.interfaces).toMatch(/\/interfaces\/1\/match: no interface has mac 52:54:00:00:00:21/);
      expect(boot.errors.firewall).toBe('not applied: the interfaces could not be selected');
      expect(mutating(h.transcriptSince(from))).toEqual([]);
      expect(restarted.reconciler.runningConfig()).toBeUndefined();
      // the NIC shows up (late attach): the periodic reconcile selects it and applies
      h.kernel.links.set('vpc3', { ifname: 'vpc3', mtu: 1500, flags: ['UP'], addr_info: [], ...{ ifindex: 6, address: '52:54:00:00:00:21', link_type: 'ether' } } as never);
      const report = await restarted.reconciler.reconcile();
      expect(report.errors).toEqual({});
      expect(mutating(h.transcriptSince(from))).toEqual(expect.arrayContaining(['ip addr add 10.1.0.1/24 dev vpc3']));
      expect(committed).toEqual([report.revision]);
      expect(restarted.reconciler.runningConfig()?.interfaces[1].name).toBe('vpc3');
    } finally {
      restarted.close();
    }
  });
});
