// What /v1/vpn/status says, from list-sas answered by the fake charon (over
// the fake VICI transport): why ESP is in UDP (libipsec, NAT, forced) and
// what the peer must allow; tunnel counters that keep counting across
// rekeys, charon restarts and Junction restarts; liveness (stalled when
// packets go out and none come in); selectors the peer narrowed away.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { VpnSubsystem } from '../../../appliance/subsystems/vpn/index.js';
import { retireFromEvent } from '../../../appliance/subsystems/vpn/status.js';
import { TunnelCounters } from '../../../appliance/subsystems/vpn/tunnel-counters.js';
import { uncoveredSelectors } from '../../../appliance/subsystems/vpn/selector-coverage.js';
import type { ViciPlain } from '../../../appliance/subsystems/vpn/vici/codec.js';
import { FakeCharon } from '../../support/fake-charon.js';
import { FakeIpRoutes } from '../../support/fake-ip-routes.js';
import { memoryLogger } from '../../support/memory-logger.js';

const config = {
  interfaces: [{ name: 'ccnn0', role: 'ccnn', addresses: ['100.64.0.2/24'] }, { name: 'vpc0', role: 'vpc', addresses: ['10.1.0.1/24'] }],
  zones: [],
  vpn: { peers: [{ name: 'site', remote: '198.18.1.2', auth: { method: 'psk', psk: 'unit-test-psk-0123456789' }, tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'] }] }] },
} as unknown as Config;

function child(id: string, spi: string, bytes: number, extra: ViciPlain = {}): ViciPlain {
  return { name: 'lan', uniqueid: id, state: 'INSTALLED', 'spi-in': spi, 'spi-out': `f${spi}`, 'bytes-in': String(bytes), 'bytes-out': String(bytes * 2), 'packets-in': String(bytes / 100), 'packets-out': String(bytes / 50), 'install-time': '60', 'local-ts': ['10.1.0.0/24'], 'remote-ts': ['192.168.50.0/24'], ...extra };
}
const ike = (children: ViciPlain[], extra: ViciPlain = {}): { name: string; value: ViciPlain } => ({
  name: 'site',
  value: { state: 'ESTABLISHED', version: '2', 'local-host': '100.64.0.2', 'local-port': '4500', 'remote-host': '198.18.1.2', 'remote-port': '4500', 'nat-any': 'yes', 'nat-fake': 'yes', 'child-sas': Object.fromEntries(children.map((c) => [`lan-${c.uniqueid}`, c])), ...extra },
});

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

async function setup(capabilities = NO_CAPABILITIES, stateDir = '/nonexistent') {
  const charon = new FakeCharon();
  const vpn = new VpnSubsystem({ runner: new FakeIpRoutes(), stateDir, log: memoryLogger(), launchCharon: charon.launch, connectVici: charon.connect });
  await vpn.apply(vpn.render(config, capabilities));
  return { charon, vpn, lan: async () => (await vpn.status()).peers[0]!.tunnels[0]!, peer: async () => (await vpn.status()).peers[0]! };
}

describe('vpn status', () => {
  it('says ESP is in UDP 4500 because of libipsec (not NAT) and what the peer must allow', async () => {
    const { charon, peer } = await setup();
    charon.sas = [ike([child('1', 'c0000001', 1000)])];
    expect(await peer()).toMatchObject({ nat: { local: false, remote: false }, udp_encap: true, udp_encap_reason: 'libipsec', peer_must_allow: 'UDP 500 and UDP 4500 from 100.64.0.2 (ESP arrives inside UDP 4500; IP protocol 50 is not used)' });
  });

  it('on the kernel path: NAT when detected, plain ESP when not', async () => {
    const { charon, peer } = await setup({ ...NO_CAPABILITIES, xfrmEsp: true });
    charon.sas = [ike([child('1', 'c0000001', 1000)], { 'nat-any': undefined as never, 'nat-fake': undefined as never })];
    expect(await peer()).toMatchObject({ nat: { local: false, remote: false }, udp_encap: false, peer_must_allow: expect.stringContaining('ESP (IP protocol 50) from 100.64.0.2') });
    charon.sas = [ike([child('1', 'c0000001', 1000)], { 'nat-local': 'yes' })];
    expect(await peer()).toMatchObject({ nat: { local: true, remote: false }, udp_encap: true, udp_encap_reason: 'nat' });
    // behind NAT, or faking it for encapsulation (a libipsec peer): the wire does not tell which
    charon.sas = [ike([child('1', 'c0000001', 1000)], { 'nat-remote': 'yes' })];
    expect(await peer()).toMatchObject({ nat: { local: false, remote: true }, udp_encap: true, udp_encap_reason: 'peer' });
  });

  it('tunnel counters keep counting across a CHILD rekey and an SA that vanished (charon restart)', async () => {
    const { charon, lan } = await setup();
    charon.sas = [ike([child('1', 'c0000001', 5000)])];
    expect((await lan()).bytes_in).toBe(5000);
    // rekeyed: the old SA is gone, the new one starts from zero
    charon.sas = [ike([child('2', 'c0000002', 300)])];
    expect(await lan()).toMatchObject({ bytes_in: 5300, bytes_out: 10_600, packets_in: 53, packets_out: 106 });
    // charon restarted: ids start again at 1, the SPI differs
    charon.sas = [ike([child('1', 'c0000009', 100)])];
    expect((await lan()).bytes_in).toBe(5400);
  });

  it('a rekey event carries the old SA final counts; the old SA still listed is not counted twice', () => {
    const counters = new TunnelCounters();
    expect(counters.observe('site/lan', [{ key: '1:c1', bytes_in: 900, bytes_out: 0, packets_in: 9, packets_out: 0 }]).bytes_in).toBe(900);
    retireFromEvent(counters, 'child-rekey', { site: { 'child-sas': { lan: { old: child('1', 'c1', 1000), new: child('2', 'c2', 0) } } } });
    const traffic = counters.observe('site/lan', [{ key: '1:c1', bytes_in: 1000, bytes_out: 0, packets_in: 10, packets_out: 0 }, { key: '2:c2', bytes_in: 50, bytes_out: 0, packets_in: 1, packets_out: 0 }]);
    expect(traffic.bytes_in).toBe(1050);
  });

  it('the counts persist in the state directory across a Junction restart', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jn-counters-'));
    dirs.push(dir);
    const file = path.join(dir, 'vpn-tunnel-counters.json');
    new TunnelCounters(file).observe('site/lan', [{ key: '1:c1', bytes_in: 700, bytes_out: 1, packets_in: 7, packets_out: 1 }]);
    // the next process: the SA is still there (charon kept running) and then rekeys
    const next = new TunnelCounters(file);
    expect(next.observe('site/lan', [{ key: '1:c1', bytes_in: 800, bytes_out: 1, packets_in: 8, packets_out: 1 }]).bytes_in).toBe(800);
    expect(next.observe('site/lan', [{ key: '2:c2', bytes_in: 10, bytes_out: 0, packets_in: 1, packets_out: 0 }]).bytes_in).toBe(810);
  });

  it('is stalled while packets go out and none come in, up when both flow', async () => {
    const { charon, lan } = await setup();
    charon.sas = [ike([child('1', 'c1', 1000, { 'use-in': '1', 'use-out': '0' })])];
    expect(await lan()).toMatchObject({ state: 'up', last_in_s: 1, last_out_s: 0 });
    charon.sas = [ike([child('1', 'c1', 1000, { 'use-in': '7', 'use-out': '0' })])];
    expect(await lan()).toMatchObject({ state: 'stalled', last_in_s: 7 });
    // the last packet out read 2 s old (whole seconds, the kernel data plane): still stalled, not up
    charon.sas = [ike([child('1', 'c1', 1000, { 'use-in': '12', 'use-out': '2' })])];
    expect(await lan()).toMatchObject({ state: 'stalled', last_in_s: 12, last_out_s: 2 });
    // nothing at all in either direction: idle, not stalled
    charon.sas = [ike([child('1', 'c1', 1000, { 'use-in': '40', 'use-out': '40' })])];
    expect((await lan()).state).toBe('up');
  });

  it('flags the part of the selectors the peer narrowed away', async () => {
    const { charon, lan } = await setup();
    charon.sas = [ike([child('1', 'c1', 0, { 'local-ts': ['10.1.0.0/25'] })])];
    expect((await lan()).uncovered).toEqual({ local: ['10.1.0.128/25'], remote: [] });
    charon.sas = [ike([child('1', 'c1', 0)])];
    expect((await lan()).uncovered).toBeUndefined();
    expect(uncoveredSelectors(['10.0.0.0/24'], ['10.0.0.0/26', '10.0.0.200/32[tcp/80]'])).toEqual(['10.0.0.64/26', '10.0.0.128/26', '10.0.0.192/29', '10.0.0.201/32', '10.0.0.202/31', '10.0.0.204/30', '10.0.0.208/28', '10.0.0.224/27']);
    expect(uncoveredSelectors(['fd00::/64'], ['fd00::/65'])).toEqual(['fd00::8000:0:0:0/65']);
  });
});
