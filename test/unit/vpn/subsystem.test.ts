// The VPN subsystem against a fake charon: apply loads what differs, drift
// compares charon's content with the rendering (a connection or secret
// changed behind Junction's back shows and is repaired), and charon's
// errors reach the API only as ControlFailed. The normalization of
// list-conns is checked against real charon 5.9.8 output (fixtures).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { ControlFailed } from '../../../appliance/core/control-failed.js';
import { VpnSubsystem } from '../../../appliance/subsystems/vpn/index.js';
import { renderVpn } from '../../../appliance/subsystems/vpn/render.js';
import { contentDifferences, expectedContent, loadedContent } from '../../../appliance/subsystems/vpn/loaded-conns.js';
import { section } from '../../../appliance/subsystems/vpn/vici/codec.js';
import type { ViciPlain } from '../../../appliance/subsystems/vpn/vici/codec.js';
import { FakeCharon } from '../../support/fake-charon.js';
import { FakeIpRoutes } from '../../support/fake-ip-routes.js';
import { memoryLogger } from '../../support/memory-logger.js';

const PSK = 'supersecretsupersecret';
const certificate = readFileSync(new URL('./fixtures/moon-cert.pem', import.meta.url), 'utf8');
/** list-conns of charon 5.9.8 after loading the rendering of `fixtureDocument()` */
const listConns = JSON.parse(readFileSync(new URL('./fixtures/list-conns.json', import.meta.url), 'utf8')) as Array<{ name: string; value: ViciPlain }>;

function fixtureDocument(): Config {
  return {
    interfaces: [{ name: 'eth0', role: 'ccnn', addresses: ['192.0.2.1/24'] }],
    zones: [],
    vpn: {
      certificates: [{ name: 'me', certificate }, { name: 'ca', certificate }],
      peers: [
        { name: 'site', remote: '198.51.100.2', auth: { method: 'psk', psk: PSK }, remote_id: '@peer.example', nat_traversal: 'force', tunnels: [
          { name: 't1', local_subnets: ['10.0.0.0/24'], remote_subnets: ['10.9.0.0/24'], dpd_action: 'clear', start_action: 'trap' },
          { name: 't2', local_subnets: ['10.0.1.0/24', '2001:db8::/64'], remote_subnets: ['10.9.1.0/24'], start_action: 'trap', close_action: 'none' },
        ] },
        { name: 'v1', ike_version: 1, remote: '198.51.100.3', dpd_delay_s: 0, auth: { method: 'psk', psk: PSK }, tunnels: [
          { name: 't1', local_subnets: ['10.0.0.0/24'], remote_subnets: ['10.8.0.0/24'], start_action: 'none', dpd_action: 'trap' },
        ] },
        { name: 'crt', remote: 'peer.example.org', auth: { method: 'cert', certificate: 'me', ca: 'ca' }, tunnels: [
          { name: 't1', local_subnets: ['10.0.0.0/24'], remote_subnets: ['10.7.0.0/24'], start_action: 'none' },
        ] },
      ],
    },
  } as unknown as Config;
}

function differencesAgainstFixture(config: Config): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const c of renderVpn(config, NO_CAPABILITIES).connections) {
    const entry = listConns.find((e) => e.name === c.name)!.value;
    const expected = expectedContent(c);
    out[c.name] = contentDifferences(expected, loadedContent(entry, expected));
  }
  return out;
}

describe('list-conns by content (real charon output)', () => {
  it('finds no difference between the rendering and what charon loaded from it', () => {
    expect(differencesAgainstFixture(fixtureDocument())).toEqual({ site: [], v1: [], crt: [] });
  });

  it('names each key that differs, per connection and child', () => {
    const changed = fixtureDocument();
    const site = changed.vpn!.peers[0]!;
    site.tunnels[0]!.remote_subnets = ['10.66.0.0/24'];
    site.tunnels[1]!.close_action = 'start';
    site.rekey_time_s = 7200;
    site.tunnels.push({ name: 't3', local_subnets: ['10.0.3.0/24'], remote_subnets: ['10.9.3.0/24'] });
    changed.vpn!.peers[1]!.remote = '198.51.100.33';
    expect(differencesAgainstFixture(changed)).toEqual({
      site: ['rekey_time is 14400, configured 7200', 'child t1: remote_ts is 10.9.0.0/24, configured 10.66.0.0/24', 'child t2: close_action is none, configured start', 'child t3 is not loaded'],
      v1: ['remote_addrs is 198.51.100.3, configured 198.51.100.33', 'remote.id is 198.51.100.3, configured 198.51.100.33'],
      crt: [],
    });
  });
});

function subsystem() {
  const charon = new FakeCharon();
  const kernel = new FakeIpRoutes();
  const vpn = new VpnSubsystem({ runner: kernel, stateDir: '/nonexistent', log: memoryLogger(), launchCharon: charon.launch, connectVici: charon.connect });
  return { charon, kernel, vpn, artifact: vpn.render(fixtureDocument(), NO_CAPABILITIES) };
}

describe('VpnSubsystem apply and drift', () => {
  it('loads keys, secrets and connections once; a second apply writes nothing; drift is empty', async () => {
    const { charon, vpn, artifact } = subsystem();
    expect(await vpn.drift(artifact)).toEqual(['charon is not running while peers exist']);
    const actions = await vpn.apply(artifact);
    expect(actions).toEqual(expect.arrayContaining(['start charon (libipsec)', 'load-conn site', 'load-conn v1', 'load-conn crt', 'load-shared psk-site (owners 192.0.2.1, @peer.example)']));
    expect([...charon.conns.keys()]).toEqual(['site', 'v1', 'crt']);
    expect(JSON.stringify(actions)).not.toContain(PSK);
    const writes = charon.writes().length;
    expect(await vpn.drift(artifact)).toEqual([]);
    expect(await vpn.apply(artifact)).toEqual([]);
    expect(charon.writes()).toHaveLength(writes);
  });

  it('sees a connection loaded by hand with other settings, and loads the configured one again', async () => {
    const { charon, vpn, artifact } = subsystem();
    await vpn.apply(artifact);
    const operator = await charon.byHand();
    await operator.loadConn('site', section([['version', 2], ['remote_addrs', ['198.51.100.2']], ['children', section([['t1', section([['local_ts', ['10.0.0.0/24']], ['remote_ts', ['10.66.0.0/24']]])]])]]));
    operator.close();
    const drift = await vpn.drift(artifact);
    expect(drift).toEqual(expect.arrayContaining([
      'connection site: child t1: remote_ts is 10.66.0.0/24, configured 10.9.0.0/24',
      'connection site: child t2 is not loaded',
      'connection site: local.id is (not set), configured 192.0.2.1',
    ]));
    expect(drift.join('\n')).not.toContain(PSK);
    const repair = await vpn.apply(artifact);
    expect(repair).toContain('load-conn site (charon held other settings: loaded again)');
    expect(repair.filter((a) => a.startsWith('load-conn'))).toHaveLength(1);
    expect(await vpn.drift(artifact)).toEqual([]);
  });

  it('sees a secret unloaded and a connection added by hand, and repairs both', async () => {
    const { charon, vpn, artifact } = subsystem();
    await vpn.apply(artifact);
    const operator = await charon.byHand();
    await operator.unloadShared('psk-site');
    await operator.loadConn('stray', section([['version', 2], ['remote_addrs', ['203.0.113.9']]]));
    operator.close();
    expect(await vpn.drift(artifact)).toEqual(['connection stray is loaded but not configured', 'shared secret psk-site is not loaded']);
    const repair = await vpn.apply(artifact);
    expect(repair).toEqual(['load-shared psk-site (owners 192.0.2.1, @peer.example)', 'unload-conn stray']);
    expect(charon.shared.get('psk-site')?.data).toBe(PSK);
    expect(await vpn.drift(artifact)).toEqual([]);
  });

  it('a document change updates tunnels in place; a connection unloaded by hand is loaded again', async () => {
    const { charon, vpn, artifact } = subsystem();
    await vpn.apply(artifact);
    const changed = fixtureDocument();
    changed.vpn!.peers[0]!.tunnels[0]!.remote_subnets = ['10.66.0.0/24'];
    const next = vpn.render(changed, NO_CAPABILITIES);
    expect(await vpn.drift(next)).toEqual([
      'connection site: child t1: remote_ts is 10.9.0.0/24, configured 10.66.0.0/24',
      'route unreachable 10.66.0.0/24 metric 2147483647 (fail closed) is missing',
      'route unreachable 10.9.0.0/24 proto 78 is not configured',
    ]);
    expect(await vpn.apply(next)).toEqual([
      // the new subnet is closed before the old one is opened
      'ip -4 route replace unreachable 10.66.0.0/24 metric 2147483647 proto 78',
      'ip -4 route del unreachable 10.9.0.0/24 metric 2147483647 proto 78',
      'load-conn site (tunnels updated in place: t1)',
    ]);
    const operator = await charon.byHand();
    await operator.unloadConn('v1');
    operator.close();
    expect(await vpn.drift(next)).toEqual(['connection v1 is not loaded']);
    expect(await vpn.apply(next)).toEqual(['load-conn v1 (charon had unloaded it: loaded again)']);
    expect(await vpn.drift(next)).toEqual([]);
  });

  it('a changed PSK is drift until applied (the value never shows)', async () => {
    const { charon, vpn, artifact } = subsystem();
    await vpn.apply(artifact);
    const changed = fixtureDocument();
    changed.vpn!.peers[0]!.auth = { method: 'psk', psk: `${PSK}-2` };
    const next = vpn.render(changed, NO_CAPABILITIES);
    const drift = await vpn.drift(next);
    expect(drift).toEqual(['shared secret psk-site: the loaded value or owners differ from the configuration']);
    expect(await vpn.apply(next)).toEqual(['load-shared psk-site (owners 192.0.2.1, @peer.example)']);
    expect(charon.shared.get('psk-site')?.data).toBe(`${PSK}-2`);
  });
});

describe('VpnSubsystem control', () => {
  it('answers with ControlFailed: 404 for an unknown tunnel, 409 without charon, 502 when charon refuses', async () => {
    const { charon, vpn, artifact } = subsystem();
    await expect(vpn.initiate('site', 't1')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await vpn.apply(artifact);
    await expect(vpn.initiate('nope', 't1')).rejects.toMatchObject({ status: 404 });
    await expect(vpn.initiate('site', 'nope')).rejects.toMatchObject({ status: 404 });
    charon.refuse.set('initiate', 'establishing CHILD_SA failed');
    const refused = await vpn.initiate('site', 't1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ControlFailed);
    expect(refused).toMatchObject({ status: 502, code: 'charon_refused', message: 'charon: establishing CHILD_SA failed' });
    charon.pid = undefined;
    await expect(vpn.terminate('site', 't1')).rejects.toMatchObject({ status: 409, code: 'vpn_unavailable' });
  });
});
