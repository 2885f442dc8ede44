// Which tunnels the driver brings up by itself: start_action=start tunnels
// with no live CHILD_SA, unless charon is negotiating with that peer; and
// which duplicate IKE_SAs of a peer it closes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { renderVpn } from '../../../appliance/subsystems/vpn/render.js';
import { downAlwaysOn, duplicateIkeSas, HEAL_DELAY_MS, HEAL_RETRIES, negotiatingPeers, startAction, TunnelHealer } from '../../../appliance/subsystems/vpn/sa-hygiene.js';
import type { Charon } from '../../../appliance/subsystems/vpn/charon.js';
import { SerialQueue } from '../../../appliance/platform/serial-queue.js';
import { memoryLogger } from '../../support/memory-logger.js';
import type { ViciClient } from '../../../appliance/subsystems/vpn/vici/client.js';
import type { ViciPlain } from '../../../appliance/subsystems/vpn/vici/index.js';

const config = {
  interfaces: [
    { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
    { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
  ],
  zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpn' }],
  vpn: {
    peers: [{
      name: 'onprem', remote: '198.18.1.2', auth: { method: 'psk', psk: 'unit-test-psk-0123456789' },
      tunnels: [
        { name: 'lan', local_subnets: ['10.1.0.0/25'], remote_subnets: ['192.168.50.0/24'] },
        { name: 'web', local_subnets: ['10.1.0.128/25'], remote_subnets: ['192.168.51.0/24'], start_action: 'trap' },
        { name: 'ops', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.52.0/24'] },
        { name: 'dev', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.53.0/24'], start_action: 'none' },
      ],
    }],
  },
} as unknown as Config;
const artifact = renderVpn(config, NO_CAPABILITIES);

/** A client whose list-sas answers with these IKE_SAs (name -> body). */
const listing = (sas: Array<[string, ViciPlain]>) => ({ listSas: async () => sas.map(([name, value]) => ({ name, value })) }) as unknown as ViciClient;
const ike = (state: string, children: Record<string, ViciPlain> = {}): ViciPlain => ({ state, 'child-sas': children });

describe('always-on tunnels', () => {
  it('reads each tunnel start_action from what was loaded', () => {
    const conn = artifact.connections[0]!;
    expect(startAction(conn, 'lan')).toBe('start');
    expect(startAction(conn, 'web')).toBe('trap');
    expect(startAction(conn, 'nope')).toBeUndefined();
  });

  it('are down when no live CHILD_SA carries them (trap tunnels are left to traffic)', async () => {
    expect(await downAlwaysOn(listing([]), artifact)).toEqual([['onprem', 'lan'], ['onprem', 'ops']]);
    // the peer came back with INITIAL_CONTACT and asked only for web
    const afterContact = listing([['onprem', ike('ESTABLISHED', { 'web-7': { name: 'web', state: 'INSTALLED' } })]]);
    expect(await downAlwaysOn(afterContact, artifact)).toEqual([['onprem', 'lan'], ['onprem', 'ops']]);
    const deleting = listing([['onprem', ike('ESTABLISHED', { 'lan-1': { name: 'lan', state: 'DELETING' }, 'ops-2': { name: 'ops', state: 'REKEYING' } })]]);
    expect(await downAlwaysOn(deleting, artifact)).toEqual([['onprem', 'lan']]);
  });

  it('are left alone while charon negotiates with that peer, or while they are up', async () => {
    expect(await downAlwaysOn(listing([['onprem', ike('CONNECTING')]]), artifact)).toEqual([]);
    // the next CHILD_SA of many is still queued on an established IKE_SA
    const queued = { ...ike('ESTABLISHED', { 'lan-1': { name: 'lan', state: 'INSTALLED' } }), 'tasks-queued': ['CHILD_CREATE'] };
    expect(await downAlwaysOn(listing([['onprem', queued]]), artifact)).toEqual([]);
    const idle = { ...ike('ESTABLISHED', { 'lan-1': { name: 'lan', state: 'INSTALLED' } }), 'tasks-queued': [], 'tasks-active': [] };
    expect(await downAlwaysOn(listing([['onprem', idle]]), artifact)).toEqual([['onprem', 'ops']]);
    const up = listing([['onprem', ike('ESTABLISHED', { 'lan-1': { name: 'lan', state: 'INSTALLED' }, 'ops-2': { name: 'ops', state: 'INSTALLED' } })]]);
    expect(await downAlwaysOn(up, artifact)).toEqual([]);
    // an IKE_SA on its way out carries nothing
    const dying = listing([['onprem', ike('DELETING', { 'lan-1': { name: 'lan', state: 'INSTALLED' }, 'ops-2': { name: 'ops', state: 'INSTALLED' } })]]);
    expect(await downAlwaysOn(dying, artifact)).toEqual([['onprem', 'lan'], ['onprem', 'ops']]);
  });

  it('closes the extra IKE_SAs of a peer whose tunnels Junction brings back on the one kept', async () => {
    const sa = (id: string, established: string, children: Record<string, ViciPlain>) => ({ ...ike('ESTABLISHED', children), uniqueid: id, established });
    const lan = (id: string) => ({ [`lan-${id}`]: { name: 'lan', state: 'INSTALLED' } });
    // the peer came back and started web (trap here: Junction does not start it) while Junction's own IKE_SA for lan completed
    const race = listing([['onprem', sa('4', '10', lan('7'))], ['onprem', sa('5', '12', { 'web-6': { name: 'web', state: 'INSTALLED' }, ...lan('8') })]]);
    expect(await duplicateIkeSas(race, artifact)).toEqual([{ kind: 'ike', id: '4', what: 'onprem' }]);
    // two IKE_SAs of Junction's own tunnels: the one with more CHILD_SAs is kept
    const two = listing([['onprem', sa('1', '30', lan('1'))], ['onprem', sa('2', '20', { ...lan('2'), 'ops-3': { name: 'ops', state: 'INSTALLED' } })]]);
    expect(await duplicateIkeSas(two, artifact)).toEqual([{ kind: 'ike', id: '1', what: 'onprem' }]);
    // each carries a tunnel only the peer brings back: both stay; one IKE_SA, or one still negotiating: nothing to do
    const web = { 'web-9': { name: 'web', state: 'INSTALLED' } };
    const dev = { 'dev-9': { name: 'dev', state: 'INSTALLED' } };
    expect(await duplicateIkeSas(listing([['onprem', sa('1', '30', web)], ['onprem', sa('2', '20', dev)]]), artifact)).toEqual([]);
    expect(await duplicateIkeSas(listing([['onprem', sa('1', '30', lan('1'))]]), artifact)).toEqual([]);
    expect(await duplicateIkeSas(listing([['onprem', sa('1', '30', lan('1'))], ['onprem', sa('2', '20', lan('2'))], ['onprem', ike('CONNECTING')]]), artifact)).toEqual([]);
  });

  describe('the heal after events settle', () => {
    afterEach(() => vi.useRealTimers());
    const sa = (id: string, established: string, children: Record<string, ViciPlain>) => ({ ...ike('ESTABLISHED', children), uniqueid: id, established });
    const lan = (id: string) => ({ [`lan-${id}`]: { name: 'lan', state: 'INSTALLED' } });

    /** A charon whose list-sas answers from `state()`; terminate drops the IKE_SA. */
    function fakeCharon(state: () => Array<[string, ViciPlain]>, terminated: string[]) {
      const client = {
        listSas: async () => state().map(([name, value]) => ({ name, value })),
        terminate: async ({ ikeId }: { ikeId: string }) => void terminated.push(ikeId),
        initiate: async () => undefined,
      } as unknown as ViciClient;
      return { pid: 1, connect: async () => client } as unknown as Charon;
    }

    it('a peer still negotiating when events stop is looked at again, so its duplicate IKE_SAs do not wait for the reconcile', async () => {
      vi.useFakeTimers();
      const terminated: string[] = [];
      const sas: Array<[string, ViciPlain]> = [['onprem', sa('1', '30', lan('1'))], ['onprem', sa('2', '20', lan('2'))], ['onprem', ike('CONNECTING')]];
      const healer = new TunnelHealer(fakeCharon(() => sas, terminated), new SerialQueue(), () => artifact, memoryLogger());
      expect(await negotiatingPeers(await fakeCharon(() => sas, []).connect(), artifact)).toEqual(['onprem']);
      healer.schedule();
      await vi.advanceTimersByTimeAsync(HEAL_DELAY_MS + 10);
      expect(terminated).toEqual([]); // left alone while negotiating
      sas.pop(); // the third IKE_SA finished (it failed and went)
      await vi.advanceTimersByTimeAsync(HEAL_DELAY_MS + 10);
      expect(terminated).toEqual(['2']);
    });

    it('gives up after HEAL_RETRIES waits, and never waits again once cancelled', async () => {
      vi.useFakeTimers();
      const looks: number[] = [];
      const always: Array<[string, ViciPlain]> = [['onprem', ike('CONNECTING')]];
      const charon = fakeCharon(() => (looks.push(1), always), []);
      const healer = new TunnelHealer(charon, new SerialQueue(), () => artifact, memoryLogger());
      healer.schedule();
      await vi.advanceTimersByTimeAsync((HEAL_RETRIES + 5) * (HEAL_DELAY_MS + 10));
      const heals = looks.length;
      expect(heals).toBeGreaterThan(HEAL_RETRIES); // each heal lists the SAs a few times
      await vi.advanceTimersByTimeAsync(10 * HEAL_DELAY_MS);
      expect(looks.length).toBe(heals);
      looks.length = 0;
      healer.schedule();
      await vi.advanceTimersByTimeAsync(HEAL_DELAY_MS + 10);
      healer.cancel();
      const seen = looks.length;
      await vi.advanceTimersByTimeAsync(10 * HEAL_DELAY_MS);
      expect(looks.length).toBe(seen);
    });
  });
});
