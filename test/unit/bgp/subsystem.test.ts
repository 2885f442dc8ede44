import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BgpSubsystem } from '../../../appliance/subsystems/bgp/index.js';
import { vpcSubnetsOf } from '../../../appliance/subsystems/bgp/render.js';
import { parseRoutes, routeCommand } from '../../../appliance/subsystems/bgp/routes.js';
import { parseReplies } from '../../../appliance/subsystems/bgp/reply-codes.js';
import { selfServicesFor } from '../../../appliance/subsystems/firewall/self-services.js';
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
    expect(selfServicesFor(c)).toEqual([
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
