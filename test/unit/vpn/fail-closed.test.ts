// Fail-closed tunnels and trap on libipsec: the remote subnets of every
// tunnel get an unreachable route (described in the plan, applied, drift
// when removed by hand) and a firewall rule; `fail_closed: false` is a
// warning; `trap` is refused where it cannot work; a peer inside its own
// remote subnets is refused (failing closed would cut its IKE packets).
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { verifyVpn } from '../../../appliance/subsystems/vpn/verify.js';
import { describeVpn, renderVpn, vpnTunnelOnly } from '../../../appliance/subsystems/vpn/render.js';
import { applyKernelPath, kernelPathDrift } from '../../../appliance/subsystems/vpn/kernel-path.js';
import { compileRuleset } from '../../../rules/index.js';
import { FakeIpRoutes } from '../../support/fake-ip-routes.js';

function doc(tunnels: unknown[], remote = '198.18.1.2'): Config {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24', 'fd00:1::1/64'] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpn' }],
    nat: { egress: [{ id: 'out', interface: 'ccnn0', sources: ['vpc-a'] }] },
    vpn: { peers: [{ name: 'onprem', remote, auth: { method: 'psk', psk: 'unit-test-psk-0123456789' }, tunnels: tunnels as never }] },
  } as Config;
}

const lan = { name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'] };
const v6 = { name: 'six', local_subnets: ['fd00:1::/64'], remote_subnets: ['fd50::/48'] };
const off = { name: 'open', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.70.0/24'], fail_closed: false };
const disabled = { name: 'later', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.80.0/24'], enabled: false };

describe('fail-closed tunnels', () => {
  const config = doc([lan, v6, off, disabled]);
  const artifact = renderVpn(config, NO_CAPABILITIES);

  it('renders an unreachable route for the remote subnets of every tunnel but the opted-out one, disabled ones included, and the plan shows them', () => {
    expect(artifact.failClosedRoutes.map((r) => r.destination)).toEqual(['192.168.50.0/24', 'fd50::/48', '192.168.80.0/24']);
    expect(describeVpn(artifact)).toEqual(expect.arrayContaining([
      'route unreachable 192.168.50.0/24 metric 2147483647 proto 78 (fail closed: onprem/lan)',
      'route unreachable fd50::/48 metric 2147483647 proto 78 (fail closed: onprem/six)',
    ]));
    expect(describeVpn(artifact).join('\n')).not.toContain('unreachable 192.168.70.0/24');
  });

  it('applies the routes in both families, sees one deleted by hand as drift, and puts it back', async () => {
    const kernel = new FakeIpRoutes();
    expect(await applyKernelPath(kernel, artifact)).toEqual([
      'ip -4 route replace unreachable 192.168.50.0/24 metric 2147483647 proto 78',
      'ip -6 route replace unreachable fd50::/48 metric 2147483647 proto 78',
      'ip -4 route replace unreachable 192.168.80.0/24 metric 2147483647 proto 78',
    ]);
    expect(await kernelPathDrift(kernel, artifact)).toEqual([]);
    expect(await applyKernelPath(kernel, artifact)).toEqual([]);
    await kernel.run('ip', ['-6', 'route', 'del', 'unreachable', 'fd50::/48', 'metric', '2147483647', 'proto', '78']);
    expect(await kernelPathDrift(kernel, artifact)).toEqual(['route unreachable fd50::/48 metric 2147483647 (fail closed) is missing']);
    expect(await applyKernelPath(kernel, artifact)).toEqual(['ip -6 route replace unreachable fd50::/48 metric 2147483647 proto 78']);
  });

  it('gives the firewall the networks and the tunnel interface: dropped unless leaving through it, never NATed', () => {
    const only = vpnTunnelOnly(config, NO_CAPABILITIES);
    expect(only).toEqual({ interface: 'ipsec0', networks: ['192.168.50.0/24', 'fd50::/48', '192.168.80.0/24'] });
    const text = JSON.stringify(compileRuleset(config, { flowtable: false, zoneMembers: [{ name: 'ipsec0', zone: 'vpn' }], tunnelOnly: only }).nftables);
    expect(text).toContain('{"match":{"op":"!=","left":{"meta":{"key":"oifname"}},"right":"ipsec0"}},{"counter":null},{"drop":null}');
    expect(text).toContain('"chain":"nat_postrouting","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"@tunnel_only"}},{"counter":null},{"return":null}]');
    expect(vpnTunnelOnly(doc([off]), NO_CAPABILITIES)).toBeUndefined();
  });

  it('warns about an opted-out tunnel, naming what then leaks', () => {
    expect(verifyVpn(config, NO_CAPABILITIES)).toEqual([
      { path: '/vpn/peers/0/tunnels/2/fail_closed', severity: 'warning', message: expect.stringContaining('traffic to 192.168.70.0/24 follows the other routes') },
    ]);
  });

  it('refuses a remote subnet that holds the peer itself', () => {
    const inside = doc([{ ...lan, remote_subnets: ['198.18.0.0/16'] }]);
    expect(verifyVpn(inside, NO_CAPABILITIES)).toEqual([{ path: '/vpn/peers/0/tunnels/0/remote_subnets/0', message: expect.stringContaining("holds the peer's own address 198.18.1.2") }]);
  });
});

describe('trap', () => {
  const trapped = doc([{ ...lan, start_action: 'trap', close_action: 'trap', dpd_action: 'trap' }]);
  it('is refused on libipsec for start, close and dpd actions, each by its path', () => {
    const problems = verifyVpn(trapped, NO_CAPABILITIES);
    expect(problems.map((p) => p.path)).toEqual(['/vpn/peers/0/tunnels/0/start_action', '/vpn/peers/0/tunnels/0/close_action', '/vpn/peers/0/tunnels/0/dpd_action']);
    expect(problems[0]!.message).toMatch(/never brings a tunnel up on the libipsec data plane/);
  });
  it('is accepted on the kernel data plane', () => {
    expect(verifyVpn(trapped, { ...NO_CAPABILITIES, xfrmEsp: true })).toEqual([]);
  });
});
