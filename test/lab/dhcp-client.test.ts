// The ccnn interface addressed by DHCP: dnsmasq in the lab's ccnn namespace
// plays the cloud's DHCP server; Junction's udhcpc takes a lease, installs
// the default route, and NAT egress uses the leased address.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressing } from '../lab-kit/topology.js';
import { tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { requireTools } from './support/tools.js';

const root = requireRoot();
requireTools('dhcp-client', root.isRoot, [{ program: 'dnsmasq', pkg: 'dnsmasq' }, { program: 'busybox', pkg: 'busybox' }]);
const { internet, ccnn } = addressing;

const config = {
  interfaces: [
    { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', dhcp: true },
    { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
  ],
  zones: [{ name: 'ccnn' }, { name: 'vpc-a' }],
  nat: { egress: [{ id: 'out', sources: ['vpc-a'], interface: 'ccnn0' }] },
};

describe.skipIf(!root.isRoot)('DHCP client on the ccnn interface', () => {
  const prefix = uniquePrefix('d');
  const lab = withLab({ prefix }, root.isRoot);
  let junction: RunningJunction;

  beforeAll(async () => {
    lab().spawn('ccnn', [
      'dnsmasq', '--no-daemon', '--port=0', '--user=root', '--interface=pod0', '--bind-interfaces', '--no-resolv',
      '--dhcp-range=100.64.0.100,100.64.0.150,255.255.255.0,1h', `--dhcp-option=3,${ccnn.gateway}`,
      `--dhcp-leasefile=/tmp/${prefix}.leases`, `--pid-file=/tmp/${prefix}.dnsmasq.pid`,
    ]);
    junction = await startJunction(lab());
  });

  afterAll(async () => {
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
    rmSync(`/tmp/${prefix}.leases`, { force: true });
    rmSync(`/tmp/${prefix}.dnsmasq.pid`, { force: true });
  });

  it('takes a lease, installs the default route, and NATs egress to the leased address', async () => {
    const put = await junction.api('PUT', '/v1/config', config);
    expect(put.status, put.text).toBe(200);
    let leased: string | undefined;
    for (let i = 0; i < 60 && !leased; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const out = await lab().exec('router', ['ip', '-4', '-j', 'addr', 'show', 'dev', 'ccnn0'], { check: true });
      leased = JSON.parse(out.stdout)[0]?.addr_info?.find((a: { scope: string }) => a.scope === 'global')?.local;
    }
    expect(leased).toMatch(/^100\.64\.0\.(1[0-4][0-9]|150)$/);
    const routes = await lab().exec('router', ['ip', 'route', 'show', 'default'], { check: true });
    expect(routes.stdout).toContain(`default via ${ccnn.gateway} dev ccnn0 proto dhcp`);

    const listener = await tcpListen(lab(), 'inet', 9100);
    try {
      expect(await tcpConnect(lab(), 'a1', internet.host, 9100)).toBe(true);
      expect((await listener.waitForPeer()).address).toBe(leased);
    } finally {
      await listener.close();
    }
    const status = await junction.api('GET', '/v1/status');
    const ccnn0 = status.body.interfaces.find((i: { name: string }) => i.name === 'ccnn0');
    expect(ccnn0.dhcp_lease.address).toBe(`${leased}/24`);

    // A Junction killed with SIGKILL leaves its udhcpc behind; the next
    // start replaces it (one client, same lease) and forwarding never stops.
    const clients = async () => {
      const pids = (await lab().exec('router', ['ip', 'netns', 'pids', lab().nsName('router')], { check: true })).stdout.split('\n').filter(Boolean);
      return pids.filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('udhcpc');
        } catch {
          return false;
        }
      });
    };
    expect(await clients()).toHaveLength(1);
    junction.process.kill('SIGKILL');
    await junction.process.exited;
    expect(await clients()).toHaveLength(1); // orphaned, still holding the lease
    junction = await startJunction(lab(), { stateDir: junction.stateDir });
    const after = await clients();
    expect(after).toHaveLength(1);
    const again = await lab().exec('router', ['ip', '-4', '-j', 'addr', 'show', 'dev', 'ccnn0'], { check: true });
    expect(JSON.parse(again.stdout)[0].addr_info.find((a: { scope: string }) => a.scope === 'global').local).toBe(leased);
  });
});
