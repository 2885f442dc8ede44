import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BgpSubsystem, type BirdDaemon } from '../../../appliance/subsystems/bgp/index.js';
import { ControlFailed } from '../../../appliance/core/control-failed.js';
import { FakeBird, showProtocolsFor } from '../../support/fake-bird.js';
import { RecordingCommandRunner } from '../../support/recording-runner.js';
import { vpcSubnetsOf } from '../../../appliance/subsystems/bgp/render.js';
import { parseRoutes, routeCommand } from '../../../appliance/subsystems/bgp/routes.js';
import { parseReplies } from '../../../appliance/subsystems/bgp/reply-codes.js';

import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES, type Capabilities } from '../../../appliance/platform/capabilities.js';
import { memoryLogger } from '../../support/memory-logger.js';
import type { CommandRunner } from '../../../appliance/platform/command-runner.js';

const noRunner: CommandRunner = { run: () => Promise.reject(new Error('no commands in unit tests')) };
const driver = new BgpSubsystem({ runner: noRunner, stateDir: '/nonexistent', log: memoryLogger() });
const withMd5 = (supported: boolean): Capabilities => ({ ...NO_CAPABILITIES, tcpMd5: { supported, how: 'kernel-config', detail: 'test' } });

function config(neighbor: Record<string, unknown>): Config {
  return {
    interfaces: [
      { name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/24'] },
      { name: 'dx0', role: 'dx', zone: 'dx', addresses: ['169.254.10.1/30'] },
    ],
    zones: [{ name: 'a' }, { name: 'dx' }],
    bgp: { asn: 64512, router_id: '169.254.10.1', neighbors: [{ id: 'dx-1', address: '169.254.10.2', remote_asn: 65000, ...neighbor } as never] },
  };
}

describe('BgpSubsystem.verify', () => {
  it('accepts a neighbor on a dx link', () => {
    expect(driver.verify(config({ interface: 'dx0', password: 'k' }), withMd5(true))).toEqual([]);
  });

  it('rejects a directly connected neighbor outside every dx subnet, unless multihop', () => {
    expect(driver.verify(config({ address: '10.99.0.1' }), NO_CAPABILITIES)).toEqual([
      { path: '/bgp/neighbors/0/address', message: expect.stringMatching(/not in the subnet of any dx interface/) },
    ]);
    expect(driver.verify(config({ address: '10.1.0.50' }), NO_CAPABILITIES)).toHaveLength(1); // a vpc subnet is not a dx link
    expect(driver.verify(config({ address: '10.99.0.1', multihop: 3 }), NO_CAPABILITIES)).toEqual([]);
  });

  it('names the interface when the neighbor is not on it, and rejects a non-dx interface', () => {
    expect(driver.verify(config({ interface: 'vpc0' }), NO_CAPABILITIES).map((p) => p.path)).toEqual(['/bgp/neighbors/0/interface', '/bgp/neighbors/0/address']);
  });

  it("rejects Junction's own address as the neighbor and a local address that is not ours", () => {
    expect(driver.verify(config({ address: '169.254.10.1' }), NO_CAPABILITIES).map((p) => p.path)).toEqual(['/bgp/neighbors/0/address']);
    expect(driver.verify(config({ local_address: '169.254.10.3' }), NO_CAPABILITIES).map((p) => p.path)).toEqual(['/bgp/neighbors/0/local_address']);
    expect(driver.verify(config({ local_address: '169.254.10.1' }), NO_CAPABILITIES)).toEqual([]);
  });

  it('rejects a password plainly when the kernel has no TCP MD5', () => {
    expect(driver.verify(config({ password: 'k' }), withMd5(false))).toEqual([
      { path: '/bgp/neighbors/0/password', message: expect.stringMatching(/TCP MD5/) },
    ]);
    expect(driver.verify(config({}), withMd5(false))).toEqual([]);
  });
});

describe('BgpSubsystem.render and describe', () => {
  it('is inactive without a bgp section', () => {
    const { bgp: _bgp, ...rest } = config({});
    expect(driver.render(rest as Config)).toMatchObject({ active: false, text: '', sysctls: {} });
    expect(driver.describe(driver.render(rest as Config))).toEqual([]);
  });

  it('announces the vpc subnets; describes every statement and the sysctl, the password only as a keyed digest', () => {
    const c = config({ interface: 'dx0', password: 'very-secret', bfd: true, max_prefix: { limit: 10, action: 'block' } });
    expect(vpcSubnetsOf(c)).toEqual([{ prefix: '10.1.0.0/24', interface: 'vpc0' }]);
    const artifact = driver.render(c);
    expect(artifact.text).toContain('password "very-secret";');
    expect(artifact.text).toContain('merge paths on');
    const lines = driver.describe(artifact);
    expect(lines.join('\n')).not.toContain('very-secret');
    expect(lines).toContain("bird: protocol bgp 'bgp_dx-1' > neighbor 169.254.10.2 as 65000;");
    expect(lines).toContain("bird: protocol bgp 'bgp_dx-1' > ipv4 > import limit 10 action block;");
    expect(lines).toContain('sysctl net.ipv4.fib_multipath_hash_policy=1');
    expect(lines.find((l) => l.includes('password'))).toMatch(/^bird: protocol bgp 'bgp_dx-1' > password "<secret, keyed digest [0-9a-f]{16}>";$/);
    // every statement of bird.conf is a line: nothing bird runs is left out of the plan
    const statements = artifact.text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('}'));
    expect(lines.filter((l) => l.startsWith('bird: '))).toHaveLength(statements.length);
    expect(artifact.paths).toEqual({ 'dx-1': '/bgp/neighbors/0' });
  });

  it('describes two artifacts that bird would run differently differently (a password change shows, not its value)', () => {
    const one = driver.describe(driver.render(config({ interface: 'dx0', password: 'secret-one' })));
    const two = driver.describe(driver.render(config({ interface: 'dx0', password: 'secret-two' })));
    const same = driver.describe(driver.render(config({ interface: 'dx0', password: 'secret-one' })));
    expect(same).toEqual(one);
    expect(two.filter((l) => !one.includes(l))).toEqual([expect.stringMatching(/password "<secret, keyed digest/)]);
    const hold = driver.describe(driver.render(config({ interface: 'dx0', password: 'secret-one', hold_time: 30 })));
    expect(hold.filter((l) => !one.includes(l))).toEqual(["bird: protocol bgp 'bgp_dx-1' > hold time 30;"]);
  });
});

describe('BGP self-services', () => {
  it('opens TCP 179 and BFD from each enabled neighbor on its interface', () => {
    const c = config({ interface: 'dx0', bfd: true });
    c.bgp!.neighbors.push({ id: 'mh', address: '10.9.9.9', remote_asn: 65001, multihop: 2, bfd: true }, { id: 'off', address: '169.254.10.2', remote_asn: 65000, enabled: false });
    expect(driver.firewallNeeds(c).selfServices).toEqual([
      { id: 'junction:bgp-dx-1', interfaces: ['dx0'], protocol: 'tcp', ports: [179], sources: ['169.254.10.2'] },
      { id: 'junction:bfd-dx-1', interfaces: ['dx0'], protocol: 'udp', ports: [3784, 3785], sources: ['169.254.10.2'] },
      { id: 'junction:bgp-mh', protocol: 'tcp', ports: [179], sources: ['10.9.9.9'] },
      { id: 'junction:bfd-mh', protocol: 'udp', ports: [4784], sources: ['10.9.9.9'] },
    ]);
  });
});

describe('learned routes', () => {
  it('builds the show route command from checked values only', () => {
    expect(routeCommand({})).toBe('show route where source = RTS_BGP all');
    expect(routeCommand({ prefix: '192.168.0.0/16', neighbor: 'dx-1', filtered: true }))
      .toBe("show route filtered protocol 'bgp_dx-1' where source = RTS_BGP && net ~ [ 192.168.0.0/16+ ] all");
    expect(() => routeCommand({ prefix: '10.0.0.0/33' })).toThrow(RangeError);
    expect(() => routeCommand({ prefix: '10.0.0.1' })).toThrow(RangeError);
    expect(() => routeCommand({ neighbor: "x' ; down" })).toThrow(RangeError);
  });

  it('parses routes, alternative paths, next hops and BGP attributes by reply code', () => {
    const [reply] = parseReplies(readFileSync(new URL('./fixtures/show-route-all.raw', import.meta.url), 'utf8'));
    const routes = parseRoutes(reply);
    expect(routes).toHaveLength(2);
    expect(routes[0]).toMatchObject({
      prefix: '192.168.50.0/24', neighbor: 'dx-1', protocol: 'bgp_dx-1', primary: true, preference: 100,
      next_hops: [{ address: '169.254.10.2', interface: 'x0' }], as_path: [65000], origin: 'IGP', local_pref: 100, filtered: false,
    });
    expect(routes[1]).toMatchObject({
      prefix: '192.168.50.0/24', neighbor: 'dx-2', primary: false,
      next_hops: [{ address: '169.254.10.6', interface: 'x1' }], as_path: [65000, 65001], med: 5,
    });
    expect(Date.parse(routes[0].since)).not.toBeNaN();
  });
});

describe('BgpSubsystem apply, drift and rollback by content', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A BGP subsystem over a fake bird that runs whatever `configure` (or start) last read, and a kernel with sysctls. */
  function setup() {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'jnb-bgp-'));
    dirs.push(stateDir);
    const confFile = path.join(stateDir, 'bird', 'bird.conf');
    const sysctls = new Map<string, string>([['net.ipv4.fib_multipath_hash_policy', '0']]);
    const runner = new RecordingCommandRunner().on((c) => c.program === 'sysctl', (c) => {
      if (c.args[0] === '-n') return { stdout: `${sysctls.get(c.args[1]) ?? ''}\n` };
      const [key, value] = c.args[2]!.split('=');
      sysctls.set(key!, value!);
      return {};
    });
    let runs = '';
    const bird = new FakeBird((command) => {
      if (command === 'show protocols') return showProtocolsFor(runs);
      if (command.startsWith('configure "')) runs = readFileSync(confFile, 'utf8');
      return '0002-Reading configuration\n0003 Reconfigured\n';
    });
    const daemon: { -readonly [K in keyof BirdDaemon]: BirdDaemon[K] } = { pid: 4242, restarts: 0, origin: undefined, adopt: async () => undefined, start: async () => { runs = readFileSync(confFile, 'utf8'); return 4242; }, stop: async () => undefined, detach: () => undefined, recentLog: () => [] };
    const bgp = new BgpSubsystem({ runner, stateDir, log: memoryLogger(), launchBird: () => daemon, control: bird });
    return { bgp, bird, sysctls, confFile, runBy: (text: string) => { runs = text; }, stopBird: () => { daemon.pid = undefined; } };
  }

  it('plans, applies and drift-checks the multipath sysctl; rollback puts the old value back', async () => {
    const { bgp, sysctls } = setup();
    const off = bgp.render({ ...config({}), bgp: undefined });
    const on = bgp.render(config({ interface: 'dx0' }));
    expect(bgp.describe(on).filter((l) => !bgp.describe(off).includes(l))).toContain('sysctl net.ipv4.fib_multipath_hash_policy=1');
    const before = await bgp.snapshot(on);
    expect(before.sysctls).toEqual({ 'net.ipv4.fib_multipath_hash_policy': '0' });
    expect(await bgp.apply(on)).toEqual(['start bird (pid 4242)', 'sysctl net.ipv4.fib_multipath_hash_policy=1']);
    expect(await bgp.drift(on)).toEqual([]);
    sysctls.set('net.ipv4.fib_multipath_hash_policy', '0');
    expect(await bgp.drift(on)).toEqual(['sysctl net.ipv4.fib_multipath_hash_policy is 0, configured 1']);
    expect(await bgp.apply(on)).toEqual(['sysctl net.ipv4.fib_multipath_hash_policy=1']);
    // rollback to the snapshot: bird stops and the sysctl is what it was
    expect(await bgp.apply(before)).toEqual(['stop bird (no bgp section)', 'sysctl net.ipv4.fib_multipath_hash_policy=0']);
    expect(sysctls.get('net.ipv4.fib_multipath_hash_policy')).toBe('0');
  });

  it('sees bird.conf edited by hand (statement by statement, passwords masked) and configures the rendering again', async () => {
    const { bgp, bird, confFile } = setup();
    const desired = bgp.render(config({ interface: 'dx0', password: 'very-secret' }));
    await bgp.apply(desired);
    writeFileSync(confFile, desired.text.replace('hold time 90;', 'hold time 9;').replace('very-secret', 'other-secret'));
    const drift = await bgp.drift(desired);
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatch(/^bird.conf differs from the rendering: - bird: protocol bgp 'bgp_dx-1' > hold time 9;; - bird: protocol bgp 'bgp_dx-1' > password "<secret, keyed digest [0-9a-f]{16}>";; \+ .*hold time 90;/);
    expect(drift[0]).not.toMatch(/secret"/);
    bird.sent.length = 0;
    expect((await bgp.apply(desired))[0]).toMatch(/^bird -p, configure: /);
    expect(bird.sent).toContain(`configure "${confFile}"`);
    expect(await bgp.drift(desired)).toEqual([]);
  });

  it('sees bird running other protocols than its file (configured by hand) and configures again although the file is right', async () => {
    const { bgp, bird, confFile, runBy } = setup();
    const desired = bgp.render(config({ interface: 'dx0' }));
    await bgp.apply(desired);
    runBy(desired.text.replace("protocol bgp 'bgp_dx-1'", "protocol bgp 'bgp_handmade'"));
    expect(await bgp.drift(desired)).toEqual(['bird does not run protocols bgp_dx-1', 'bird runs protocols that are not configured: bgp_handmade']);
    bird.sent.length = 0;
    await bgp.apply(desired);
    expect(bird.sent).toEqual(['show protocols', `configure "${confFile}"`]);
    expect(await bgp.drift(desired)).toEqual([]);
  });

  it("maps bird's errors to ControlFailed: 404 unknown neighbor, 400 bad prefix, 409 bird not running, 502 refused", async () => {
    const { bgp, bird, stopBird } = setup();
    await expect(bgp.reset('dx-1')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await bgp.apply(bgp.render(config({ interface: 'dx0' })));
    await expect(bgp.routes({ prefix: '10.0.0.0/33' })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    bird.answers = () => '9001 Parse error\n';
    const refused = await bgp.reset('dx-1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ControlFailed);
    expect(refused).toMatchObject({ status: 502, code: 'bird_refused' });
    stopBird();
    await expect(bgp.softReset('dx-1')).rejects.toMatchObject({ status: 409, code: 'bgp_unavailable' });
  });
});
