// The liveness probe (vpn/liveness-probe.ts) against the fake charon: a
// tunnel stalled (packets out, none in) for PROBE_AFTER_S gets its IKE_SA
// rekeyed over VICI (IKEv1: its CHILD_SA), at most once per PROBE_EVERY_S
// per peer (the wait doubling while it stays stalled), logged and counted in
// status and /metrics; a tunnel that is up,
// idle, or on an IKE_SA with an exchange under way is left alone.
import { describe, expect, it } from 'vitest';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import type { Config } from '../../../appliance/model/schema.js';
import { renderVpn } from '../../../appliance/subsystems/vpn/render.js';
import { LivenessProbe, PROBE_AFTER_S, PROBE_EVERY_S } from '../../../appliance/subsystems/vpn/liveness-probe.js';
import { VpnMetrics } from '../../../appliance/subsystems/vpn/metrics.js';
import type { ViciPlain } from '../../../appliance/subsystems/vpn/vici/codec.js';
import { FakeCharon } from '../../support/fake-charon.js';
import { memoryLogger } from '../../support/memory-logger.js';

const config = {
  interfaces: [{ name: 'ccnn0', role: 'ccnn', addresses: ['100.64.0.2/24'] }, { name: 'vpc0', role: 'vpc', addresses: ['10.1.0.1/24'] }],
  zones: [],
  vpn: { peers: [{ name: 'site', remote: '198.18.1.2', auth: { method: 'psk', psk: 'unit-test-psk-0123456789' }, tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'] }] }] },
} as unknown as Config;

const child = (extra: ViciPlain): ViciPlain => ({ name: 'lan', uniqueid: '7', state: 'INSTALLED', 'install-time': '60', ...extra });
const sa = (childExtra: ViciPlain, ikeExtra: ViciPlain = {}) => ({ name: 'site', value: { uniqueid: '3', state: 'ESTABLISHED', version: '2', 'child-sas': { 'lan-7': child(childExtra) }, ...ikeExtra } });
const STALLED = { 'use-out': '0', 'use-in': '9' };

function setup() {
  const charon = new FakeCharon();
  const log = memoryLogger();
  const artifact = renderVpn(config, NO_CAPABILITIES);
  const probe = new LivenessProbe({ pid: 4242, connect: charon.connect } as never, () => artifact, log);
  return { charon, probe, log, rekeys: () => charon.commands.filter((c) => c.startsWith('rekey')) };
}

describe('vpn liveness probe', () => {
  it('rekeys the IKE_SA of a tunnel stalled for PROBE_AFTER_S, once per PROBE_EVERY_S, logged and counted', async () => {
    const { charon, probe, log, rekeys } = setup();
    charon.sas = [sa(STALLED)];
    const t0 = 1_000_000;
    await probe.look(t0);
    expect(rekeys()).toEqual([]); // stalled just now: not yet
    await probe.look(t0 + PROBE_AFTER_S * 1000);
    expect(rekeys()).toEqual(['rekey ike-id 3']);
    await probe.look(t0 + PROBE_AFTER_S * 1000 + 5_000);
    expect(rekeys()).toHaveLength(1); // rate-limited
    const second = t0 + PROBE_AFTER_S * 1000 + PROBE_EVERY_S * 1000;
    await probe.look(second);
    expect(rekeys()).toEqual(['rekey ike-id 3', 'rekey ike-id 3']);
    expect(probe.record('site')).toMatchObject({ count: 2, last_tunnel: 'lan' });
    // still stalled (one-way traffic, or a peer that answers IKE but sends nothing): the wait has doubled
    await probe.look(second + PROBE_EVERY_S * 1000);
    expect(rekeys()).toHaveLength(2);
    await probe.look(second + 2 * PROBE_EVERY_S * 1000);
    expect(rekeys()).toHaveLength(3);
    expect(log.lines.map((l) => JSON.parse(l)).some((l) => l.message.includes('liveness probe sent') && l.peer === 'site' && l.tunnel === 'lan')).toBe(true);
    const families = new VpnMetrics().families({ configured: true, dataplane: null, charon: { running: true, restarts: 0 }, peers: [{ name: 'site', state: 'ESTABLISHED', liveness_probes: probe.record('site'), tunnels: [] }] });
    expect(families.find((f) => f.name === 'junction_vpn_liveness_probes_total')?.samples).toEqual([{ labels: { peer: 'site' }, value: 3 }]);
  });

  it('leaves alone a tunnel that is up, idle, or recovered before PROBE_AFTER_S, and an IKE_SA with an exchange under way', async () => {
    const { charon, probe, rekeys } = setup();
    const t0 = 2_000_000;
    for (const [i, extra] of [{ 'use-out': '0', 'use-in': '0' }, { 'use-out': '40', 'use-in': '40' }].entries()) {
      charon.sas = [sa(extra)];
      await probe.look(t0 + i * 10_000);
    }
    // stalled, then traffic came back, then stalled again: the wait starts over
    charon.sas = [sa(STALLED)];
    await probe.look(t0 + 30_000);
    charon.sas = [sa({ 'use-out': '0', 'use-in': '0' })];
    await probe.look(t0 + 31_000);
    charon.sas = [sa(STALLED)];
    await probe.look(t0 + 32_000);
    charon.sas = [sa(STALLED, { 'tasks-active': ['IKE_DPD'] })];
    await probe.look(t0 + 40_000);
    expect(rekeys()).toEqual([]);
  });

  it('starts again from PROBE_EVERY_S once the peer is no longer stalled', async () => {
    const { charon, probe, rekeys } = setup();
    const t0 = 5_000_000;
    charon.sas = [sa(STALLED)];
    for (const at of [0, PROBE_AFTER_S * 1000, (PROBE_AFTER_S + PROBE_EVERY_S) * 1000]) await probe.look(t0 + at);
    expect(rekeys()).toHaveLength(2);
    charon.sas = [sa({ 'use-out': '0', 'use-in': '0' })];
    const back = t0 + (PROBE_AFTER_S + PROBE_EVERY_S + 1) * 1000;
    await probe.look(back);
    charon.sas = [sa(STALLED)];
    // stalled again at once: still at most one probe per PROBE_EVERY_S since the last one
    await probe.look(back + 1000);
    await probe.look(back + 1000 + PROBE_AFTER_S * 1000);
    expect(rekeys()).toHaveLength(2);
    const third = t0 + (PROBE_AFTER_S + 2 * PROBE_EVERY_S) * 1000;
    await probe.look(third);
    expect(rekeys()).toHaveLength(3);
    // and the wait is PROBE_EVERY_S again, not the doubled one of before
    await probe.look(third + PROBE_EVERY_S * 1000);
    expect(rekeys()).toHaveLength(4);
  });

  it('IKEv1 (no inline IKE rekey): rekeys the stalled CHILD_SA', async () => {
    const { charon, probe, rekeys } = setup();
    charon.sas = [sa(STALLED, { version: '1' })];
    await probe.look(3_000_000);
    await probe.look(3_000_000 + PROBE_AFTER_S * 1000);
    expect(rekeys()).toEqual(['rekey child-id 7']);
  });

  it('a refused rekey is logged and not counted', async () => {
    const { charon, probe, log } = setup();
    charon.refuse.set('rekey', 'no such SA');
    charon.sas = [sa(STALLED)];
    await probe.look(4_000_000);
    await probe.look(4_000_000 + PROBE_AFTER_S * 1000);
    expect(probe.record('site').count).toBe(0);
    expect(log.lines.some((l) => l.includes('liveness probe refused'))).toBe(true);
  });
});
