// One appliance's worth of metrics from fakes, for the unit tests of
// GET /metrics and the Grafana board: the real links, firewall and VPN
// metrics code over a fake `ip`/`nft` and a fake charon, BGP's from a
// status as bird-status.ts would report it. Every family gets samples.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { MetricsService } from '../../../appliance/core/metrics.js';
import { family, SHARED_FAMILIES, type MetricFamily } from '../../../appliance/core/metric-samples.js';
import { linksMetrics } from '../../../appliance/subsystems/links/metrics.js';
import { firewallMetrics } from '../../../appliance/subsystems/firewall/metrics.js';
import type { FirewallStatus } from '../../../appliance/subsystems/firewall/status.js';
import { BgpMetrics } from '../../../appliance/subsystems/bgp/metrics.js';
import type { BgpStatus } from '../../../appliance/subsystems/bgp/status.js';
import { VpnSubsystem } from '../../../appliance/subsystems/vpn/index.js';
import type { ViciPlain } from '../../../appliance/subsystems/vpn/vici/codec.js';
import { RecordingCommandRunner } from '../../support/recording-runner.js';
import { FakeCharon } from '../../support/fake-charon.js';
import { FakeIpRoutes } from '../../support/fake-ip-routes.js';
import { memoryLogger } from '../../support/memory-logger.js';

export const demoConfig = (): Config => parseYaml(readFileSync(new URL('../../lab-kit/demo.yaml', import.meta.url), 'utf8')) as Config;

const stats = (bytes: number, packets: number) => ({ bytes, packets, errors: 1, dropped: 2 });
export const IP_LINKS = [
  { ifname: 'lo', operstate: 'UNKNOWN', stats64: { rx: stats(1, 1), tx: stats(1, 1) } },
  { ifname: 'ccnn0', operstate: 'UP', stats64: { rx: stats(5000, 50), tx: stats(7000, 70) } },
  { ifname: 'vpc0', operstate: 'DOWN', stats64: { rx: stats(300, 3), tx: stats(400, 4) } },
];

const natRule = (comment: string, packets: number, bytes: number) => ({ rule: { family: 'inet', table: 'junction', chain: 'x', handle: 1, comment, expr: [{ match: {} }, { counter: { packets, bytes } }, { masquerade: null }] } });
export const NAT_CHAINS: Record<string, object> = {
  nat_prerouting: { nftables: [{ metainfo: {} }, { chain: { name: 'nat_prerouting' } }, natRule('web-in', 3, 180)] },
  // an egress entry has a rule per address family: their counts add up
  nat_postrouting: { nftables: [{ chain: { name: 'nat_postrouting' } }, natRule('vpcs-out', 10, 600), natRule('vpcs-out', 2, 160), natRule('junction:tunnel-only', 9, 9)] },
};

/** A fake `ip` and `nft` answering what the metrics code reads. */
export function fakeKernel(links = IP_LINKS, natChains = NAT_CHAINS): RecordingCommandRunner {
  return new RecordingCommandRunner()
    .on((c) => c.program === 'ip' && c.args.join(' ') === '-j -s link show', () => ({ stdout: JSON.stringify(links) }))
    .on((c) => c.program === 'nft' && c.args.slice(0, 5).join(' ') === '-j list chain inet junction', (c) => (natChains[c.args[5]!] ? { stdout: JSON.stringify(natChains[c.args[5]!]) } : { code: 1, stderr: 'Error: No such file or directory' }));
}

export const FIREWALL_STATUS: FirewallStatus = {
  firewall: { loaded: true, rules: [{ id: 'a-to-db', policy: 'a-to-b', packets: 12, bytes: 900 }], builtin: [{ name: 'default_a-to-b', packets: 4, bytes: 240 }] },
  conntrack: { count: 17, max: 262144 },
};

export const BGP_STATUS: BgpStatus = {
  configured: true,
  bird: { running: true, pid: 99, restarts: 2 },
  neighbors: [{
    id: 'dx-1', address: '169.254.10.2', remote_asn: 65010, enabled: true, state: 'Established', protocol_state: 'up', established: true,
    since: '2026-12-01T10:00:00.000Z', uptime_s: 600, prefixes: { received: 5, accepted: 4, filtered: 1, advertised: 3 }, md5: false, bfd: { configured: false },
  }],
};

const vpnConfig = {
  interfaces: [{ name: 'ccnn0', role: 'ccnn', addresses: ['100.64.0.2/24'] }, { name: 'vpc0', role: 'vpc', addresses: ['10.1.0.1/24'] }],
  zones: [],
  vpn: { peers: [{ name: 'site', remote: '198.18.1.2', auth: { method: 'psk', psk: 'unit-test-psk-0123456789' }, tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'] }] }] },
} as unknown as Config;

export const lanSa = (bytes: number): ViciPlain => ({ name: 'lan', uniqueid: '1', state: 'INSTALLED', 'spi-in': 'c0000001', 'spi-out': 'fc0000001', 'bytes-in': String(bytes), 'bytes-out': String(bytes * 2), 'packets-in': String(bytes / 100), 'packets-out': String(bytes / 50), 'install-time': '60', 'use-in': '0', 'use-out': '0', 'local-ts': ['10.1.0.0/24'], 'remote-ts': ['192.168.50.0/24'] });
export const siteIke = (children: ViciPlain[]) => ({ name: 'site', value: { state: 'ESTABLISHED', version: '2', 'local-host': '100.64.0.2', 'local-port': '4500', 'remote-host': '198.18.1.2', 'remote-port': '4500', 'child-sas': Object.fromEntries(children.map((c) => [`lan-${String(c.uniqueid)}`, c])) } });

/** The VPN subsystem over a fake charon with the tunnel site/lan applied. */
export async function fakeVpn(): Promise<{ vpn: VpnSubsystem; charon: FakeCharon }> {
  const charon = new FakeCharon();
  const vpn = new VpnSubsystem({ runner: new FakeIpRoutes(), stateDir: '/nonexistent', log: memoryLogger(), launchCharon: charon.launch, connectVici: charon.connect });
  await vpn.apply(vpn.render(vpnConfig, NO_CAPABILITIES));
  return { vpn, charon };
}

/** The metrics service over all of the above (plus a DHCP server's contribution, as the contract lets one add it). */
export async function fakeMetrics(options: { maxAgeS?: number } = {}): Promise<MetricsService> {
  const runner = fakeKernel();
  const { vpn, charon } = await fakeVpn();
  charon.sas = [siteIke([lanSa(1000)])];
  const bgp = new BgpMetrics();
  const dhcp = async (): Promise<MetricFamily[]> => [family(SHARED_FAMILIES.dhcpLeases, [{ labels: { interface: 'vpc0' }, value: 3 }]), family(SHARED_FAMILIES.dhcpPoolSize, [{ labels: { interface: 'vpc0' }, value: 100 }])];
  const config = demoConfig();
  const service = new MetricsService([
    { name: 'links', metrics: () => linksMetrics(runner, [{ interface: 'ccnn0', running: true, restarts: 1 }]) },
    { name: 'vpn', metrics: () => vpn.metrics() },
    { name: 'bgp', metrics: async () => bgp.families(BGP_STATUS) },
    { name: 'dhcp', metrics: dhcp },
    { name: 'firewall', metrics: (c) => firewallMetrics(runner, c, { running: true, restarts: 0 }, async () => FIREWALL_STATUS) },
  ], () => ({ config, revision: 7, pendingConfirm: false }), { maxAgeS: options.maxAgeS, build: { version: '0.1.0-test' } });
  service.noteCommit({ source: 'api', ok: true, seconds: 0.2, revert: false, applySeconds: { firewall: 0.15 } });
  return service;
}
