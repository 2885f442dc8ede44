import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BgpDriver, describeBgp, vpcSubnetsOf } from '../../../appliance/subsystems/bgp/driver.js';
import { parseRoutes, routeCommand } from '../../../appliance/subsystems/bgp/routes.js';
import { parseReplies } from '../../../appliance/subsystems/bgp/reply-codes.js';
import { selfServicesFor } from '../../../appliance/subsystems/firewall/self-services.js';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES, type Capabilities } from '../../../appliance/platform/capabilities.js';
import { memoryLogger } from '../../support/memory-logger.js';
import type { CommandRunner } from '../../../appliance/platform/command-runner.js';

const noRunner: CommandRunner = { run: () => Promise.reject(new Error('no commands in unit tests')) };
const driver = new BgpDriver({ runner: noRunner, stateDir: '/nonexistent', log: memoryLogger() });
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

describe('BgpDriver.verify', () => {
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

describe('BgpDriver.render and describe', () => {
  it('is inactive without a bgp section', () => {
    const { bgp: _bgp, ...rest } = config({});
    expect(driver.render(rest as Config)).toMatchObject({ active: false, text: '', lines: [] });
  });

  it('announces the vpc subnets and never describes the password', () => {
    const c = config({ interface: 'dx0', password: 'very-secret', bfd: true, max_prefix: { limit: 10, action: 'block' } });
    expect(vpcSubnetsOf(c)).toEqual([{ prefix: '10.1.0.0/24', interface: 'vpc0' }]);
    const artifact = driver.render(c);
    expect(artifact.text).toContain('password "very-secret";');
    expect(artifact.text).toContain('merge paths on');
    expect(driver.describe(artifact).join('\n')).not.toContain('very-secret');
    expect(describeBgp(c.bgp!, vpcSubnetsOf(c))).toEqual([
      'bgp local AS 64512, router id 169.254.10.1, kernel metric 2000, ECMP across equal paths',
      'neighbor dx-1: 169.254.10.2 AS 65000 (eBGP), direct on dx0, hold 90s, bfd 300ms x3, graceful restart 120s, md5 password set, enabled',
      'neighbor dx-1 import: nothing (eBGP default deny), max 10 prefixes then block',
      'neighbor dx-1 export: VPC subnets [10.1.0.0/24]',
    ]);
    expect(artifact.paths).toEqual({ 'dx-1': '/bgp/neighbors/0' });
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
