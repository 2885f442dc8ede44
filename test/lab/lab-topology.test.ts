// The namespace lab on its own, with the router namespace configured by hand
// for plain routing (no Junction): L2 inside a VPC, routing between VPCs,
// egress to the internet host, jumbo frames, and a clean teardown.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Lab, LAB_STATE_DIR, LabSafetyError } from '../lab-kit/lab.js';
import { addressing } from '../lab-kit/topology.js';
import { iperf3Client, iperf3Server, ping, tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { SystemCommandRunner, type CommandRunner } from '../../appliance/platform/command-runner.js';
import { namespacesWithPrefix, requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';

const root = requireRoot();
const { vpcs, internet, ccnn } = addressing;

describe.skipIf(!root.isRoot)('namespace lab', () => {
  const prefix = uniquePrefix('t');
  // VPC a jumbo, VPC b standard: MTU is per VPC
  const lab = withLab({ prefix, mtu: { a: 9000 } }, root.isRoot);

  it('creates every namespace and records the lab', async () => {
    const names = await namespacesWithPrefix(prefix);
    expect(names.sort()).toEqual(lab().topology.namespaces.map((ns) => ns.name).sort());
    expect(existsSync(`${LAB_STATE_DIR}/${prefix}.json`)).toBe(true);
    const links = await lab().exec('router', ['ip', '-br', 'link'], { check: true });
    for (const ifname of ['ccnn0', 'vpc0', 'vpc1']) expect(links.stdout).toContain(ifname);
    // Junction owns the router's addresses: the lab assigned none
    const addrs = await lab().exec('router', ['ip', '-4', '-o', 'addr', 'show', 'scope', 'global'], { check: true });
    expect(addrs.stdout.trim()).toBe('');
  });

  it('refuses to run in a namespace that does not exist', async () => {
    await expect(lab().exec('onprem', ['true'])).rejects.toBeInstanceOf(LabSafetyError);
  });

  it('routes plainly once the router is configured by hand', async () => {
    const router = (argv: string[]) => lab().exec('router', argv, { check: true });
    await router(['ip', 'addr', 'add', `${ccnn.router}/24`, 'dev', 'ccnn0']);
    await router(['ip', 'addr', 'add', `${vpcs.a.gateway}/24`, 'dev', 'vpc0']);
    await router(['ip', 'addr', 'add', `${vpcs.b.gateway}/24`, 'dev', 'vpc1']);
    await router(['ip', 'route', 'add', 'default', 'via', ccnn.gateway]);
    await router(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // only in this test: the pod network has no route to a VPC, Junction NATs
    await lab().exec('ccnn', ['ip', 'route', 'add', '10.1.0.0/16', 'via', ccnn.router], { check: true });

    // same L2 segment
    const sameVpc = await ping(lab(), 'a1', vpcs.a.hosts.a2, { count: 2 });
    expect(sameVpc.lossPercent, sameVpc.output).toBe(0);
    // across the router to the other VPC
    const otherVpc = await ping(lab(), 'a1', vpcs.b.hosts.b1, { count: 2 });
    expect(otherVpc.lossPercent, otherVpc.output).toBe(0);
    // VPC b has no return route in ccnn, so it cannot reach the internet here
    expect(await tcpConnect(lab(), 'b1', internet.host, 9, 1000)).toBe(false);

    // to the internet host over TCP; the server sees the VPC address (no NAT)
    const listener = await tcpListen(lab(), 'inet', 8080, { lifetimeS: 30 });
    try {
      expect(await tcpConnect(lab(), 'a1', internet.host, 8080, 3000)).toBe(true);
      const peer = await listener.waitForPeer(5000);
      expect(peer.address).toBe(vpcs.a.hosts.a1);
      expect(peer.address.startsWith('10.1.')).toBe(true);
    } finally {
      await listener.close();
    }
    // nothing listens on another port
    expect(await tcpConnect(lab(), 'a1', internet.host, 8081, 1000)).toBe(false);
  });

  it('carries jumbo frames without fragmentation inside a 9000-byte VPC', async () => {
    const jumbo = await ping(lab(), 'a1', vpcs.a.hosts.a2, { count: 2, size: 8972, dontFragment: true });
    expect(jumbo.lossPercent, jumbo.output).toBe(0);
    // the same frame cannot leave through the 1500-byte VPC b
    const tooBig = await ping(lab(), 'a1', vpcs.b.hosts.b1, { count: 1, size: 8972, dontFragment: true, timeoutS: 2 });
    expect(tooBig.reachable, tooBig.output).toBe(false);
  });

  it('measures throughput with iperf3 inside the lab', async () => {
    const server = await iperf3Server(lab(), 'a2', { lifetimeS: 30 });
    try {
      const result = await iperf3Client(lab(), 'a1', vpcs.a.hosts.a2, { seconds: 1 });
      expect(result.bitsPerSecond).toBeGreaterThan(1e6);
    } finally {
      await server.close();
    }
  });

  it('down() kills its processes, removes everything, and is safe to repeat', async () => {
    const sleeper = lab().spawn('b2', ['sleep', '60']);
    expect(lab().pids()).toContain(sleeper.pid);
    await lab().down();
    await lab().down();
    expect(await sleeper.exited).not.toBe(0);
    expect(await namespacesWithPrefix(prefix)).toEqual([]);
    expect(existsSync(`${LAB_STATE_DIR}/${prefix}.json`)).toBe(false);
    // the safety rule: no namespace, no command
    await expect(lab().exec('a1', ['true'])).rejects.toBeInstanceOf(LabSafetyError);
    expect(() => lab().spawn('a1', ['true'])).toThrow(LabSafetyError);
  });

  it('cleans up after itself when up() fails halfway', async () => {
    const failPrefix = uniquePrefix('f');
    const real = new SystemCommandRunner();
    // fail the first route: namespaces, links and bridges already exist by then
    const failing: CommandRunner = {
      run: (program, args, options) =>
        args.includes('route') && args.includes('add')
          ? Promise.resolve({ code: 2, stdout: '', stderr: 'injected failure' })
          : real.run(program, args, options),
    };
    try {
      await expect(Lab.up({ prefix: failPrefix, runner: failing })).rejects.toThrow(/injected failure/);
      expect(await namespacesWithPrefix(failPrefix)).toEqual([]);
      expect(existsSync(`${LAB_STATE_DIR}/${failPrefix}.json`)).toBe(false);
    } finally {
      await Lab.cleanupStale(failPrefix);
    }
  });

  it('keeps a lab running and takes it down by prefix from its record', async () => {
    const keptPrefix = uniquePrefix('k');
    try {
      const kept = await Lab.up({ prefix: keptPrefix, keep: true, onprem: true, plainRouting: true });
      const server = kept.spawn('inet', ['sleep', '60']);
      const attached = await Lab.attach(keptPrefix);
      expect(attached.pids()).toContain(server.pid);
      // plain-routing baseline mode: the lab configured the router itself
      const viaRouter = await ping(attached, 'a1', internet.host, { count: 1 });
      expect(viaRouter.reachable, viaRouter.output).toBe(true);
      const dx = await ping(attached, 'onprem', addressing.onprem.dxRouter, { count: 1 });
      expect(dx.reachable, dx.output).toBe(true); // the Direct Connect link
      const wan = await ping(attached, 'onprem', ccnn.router, { count: 1 });
      expect(wan.reachable, wan.output).toBe(true); // the VPN path: onprem -> inet -> ccnn -> router
      const removed = await Lab.down(keptPrefix);
      expect(removed.sort()).toEqual(kept.topology.namespaces.map((ns) => ns.name).sort());
      expect(await server.exited).not.toBe(0);
    } finally {
      await Lab.cleanupStale(keptPrefix);
    }
    expect(await namespacesWithPrefix(keptPrefix)).toEqual([]);
  });
});

describe('lab teardown', () => {
  it.skipIf(!root.isRoot)('leaves no namespace with the test prefixes behind', async () => {
    for (const tag of ['t', 'f', 'k']) expect(await namespacesWithPrefix(uniquePrefix(tag))).toEqual([]);
  });
  it.skipIf(root.isRoot)(`skipped: ${root.reason || 'not root'}`, () => undefined);
});
