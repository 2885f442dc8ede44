// Which tunnels the driver brings up by itself: start_action=start tunnels
// with no live CHILD_SA, unless charon is negotiating with that peer.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { renderVpn } from '../../../appliance/subsystems/vpn/render.js';
import { downAlwaysOn, startAction } from '../../../appliance/subsystems/vpn/sa-hygiene.js';
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
});
