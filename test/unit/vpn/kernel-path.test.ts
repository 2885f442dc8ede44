// The kernel data plane's own pieces (kernel-path.ts): xfrm0 with Junction's
// if_id on the peer's local interface, the routes into it and the fail-closed
// routes under them; what an operator changes by hand (xfrm0 down, another
// if_id) is drift, and apply puts it right. The lab runs the same on a real
// kernel in `npm run test:xfrm`.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { renderVpn } from '../../../appliance/subsystems/vpn/render.js';
import { verifyVpn } from '../../../appliance/subsystems/vpn/verify.js';
import { applyKernelPath, kernelPathDrift } from '../../../appliance/subsystems/vpn/kernel-path.js';
import { FakeIpRoutes } from '../../support/fake-ip-routes.js';

const XFRM = { ...NO_CAPABILITIES, xfrmEsp: true };

function doc(peers: unknown[]): Config {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpn' }],
    vpn: { peers: peers as never },
  } as Config;
}

const peer = { name: 'onprem', remote: '198.18.1.2', auth: { method: 'psk', psk: 'unit-test-psk-0123456789' }, tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'] }] };

describe('kernel data plane (xfrm): xfrm0 and its routes', () => {
  const artifact = renderVpn(doc([peer]), XFRM);

  it('renders xfrm0 on the peer-facing interface and a route into it per remote subnet', () => {
    expect(artifact.dataplane.dataplane).toBe('xfrm');
    expect(artifact.xfrmInterface).toEqual({ name: 'xfrm0', ifId: 42, underlying: 'ccnn0' });
    expect(artifact.routes).toEqual([{ destination: '192.168.50.0/24', dev: 'xfrm0', peer: 'onprem' }]);
  });

  it('creates xfrm0 up before routing into it, then has no drift and nothing more to do', async () => {
    const kernel = new FakeIpRoutes();
    expect(await applyKernelPath(kernel, artifact)).toEqual([
      'ip link add xfrm0 type xfrm dev ccnn0 if_id 42',
      'ip link set xfrm0 up',
      'ip -4 route replace 192.168.50.0/24 dev xfrm0 proto 78',
      'ip -4 route replace unreachable 192.168.50.0/24 metric 2147483647 proto 78',
    ]);
    expect(await kernelPathDrift(kernel, artifact)).toEqual([]);
    expect(await applyKernelPath(kernel, artifact)).toEqual([]);
  });

  it('xfrm0 set down by hand is drift; apply sets it up again', async () => {
    const kernel = new FakeIpRoutes();
    await applyKernelPath(kernel, artifact);
    kernel.links.get('xfrm0')!.up = false;
    expect(await kernelPathDrift(kernel, artifact)).toEqual(['xfrm0 is down']);
    expect(await applyKernelPath(kernel, artifact)).toEqual(['ip link set xfrm0 up']);
    expect(await kernelPathDrift(kernel, artifact)).toEqual([]);
  });

  it('xfrm0 with another if_id is drift; apply makes it again and puts its route back', async () => {
    const kernel = new FakeIpRoutes();
    await applyKernelPath(kernel, artifact);
    kernel.links.get('xfrm0')!.ifId = 7;
    expect(await kernelPathDrift(kernel, artifact)).toEqual(['xfrm0 has if_id 7, configured 42']);
    expect(await applyKernelPath(kernel, artifact)).toEqual([
      'ip link del xfrm0',
      'ip link add xfrm0 type xfrm dev ccnn0 if_id 42',
      'ip link set xfrm0 up',
      'ip -4 route replace 192.168.50.0/24 dev xfrm0 proto 78',
    ]);
    expect(await kernelPathDrift(kernel, artifact)).toEqual([]);
  });

  it('without peers, the routes and xfrm0 go', async () => {
    const kernel = new FakeIpRoutes();
    await applyKernelPath(kernel, artifact);
    expect(await applyKernelPath(kernel, renderVpn(doc([]), XFRM))).toEqual([
      'ip -4 route del 192.168.50.0/24 proto 78',
      'ip -4 route del unreachable 192.168.50.0/24 metric 2147483647 proto 78',
      'ip link del xfrm0',
    ]);
    expect(kernel.links.size).toBe(0);
    expect(kernel.routes).toEqual([]);
  });

  it('says that fail_closed: false changes nothing here: xfrm0 drops what no SA takes', () => {
    const open = { ...peer, tunnels: [{ ...peer.tunnels[0], fail_closed: false }] };
    expect(verifyVpn(doc([open]), XFRM)).toEqual(expect.arrayContaining([
      { path: '/vpn/peers/0/tunnels/0/fail_closed', severity: 'warning', message: expect.stringContaining('has no effect on the kernel data plane (xfrm): traffic to 192.168.50.0/24 is routed into the XFRM interface') },
    ]));
  });
});
