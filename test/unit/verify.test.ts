// appliance/model/verify.ts: meaning across objects, each problem at its path.
import { describe, expect, it } from 'vitest';
import type { Config, StaticRoute } from '../../appliance/model/schema.js';
import { verifyConfig } from '../../appliance/model/verify.js';
import { documentValidator } from '../../appliance/model/validate.js';
import { ConfigRejected } from '../../appliance/model/problems.js';

const validateConfig = documentValidator();

function base(): Config {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24', 'fd00:1::1/64'] },
      { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }],
    firewall: { policies: [{ name: 'a-to-b', from: 'vpc-a', to: 'vpc-b', rules: [{ id: 'r1', action: 'accept' }] }] },
    nat: {
      egress: [{ id: 'out', sources: ['vpc-a'], interface: 'ccnn0' }],
      port_forwards: [{ id: 'web', interface: 'ccnn0', protocol: 'tcp', port: 8080, to_address: '10.1.0.11', to_port: 80 }],
      one_to_one: [{ id: 'nat1', interface: 'ccnn0', external: '100.64.0.10', internal: '10.2.0.10' }],
    },
    routes: { static: [{ id: 'default', destination: '0.0.0.0/0', via: '100.64.0.1' }] },
  };
}

const paths = (config: Config) => verifyConfig(config).map((p) => p.path);
const problemAt = (config: Config, path: string) => verifyConfig(config).find((p) => p.path === path);

describe('verifyConfig', () => {
  it('a sound document has no problems', () => {
    expect(verifyConfig(base())).toEqual([]);
    expect(verifyConfig({ interfaces: [], zones: [] })).toEqual([]);
  });

  describe('zones and interfaces', () => {
    it('"self" is reserved; zone names are unique', () => {
      const c = base();
      c.zones.push({ name: 'self' }, { name: 'vpc-a' });
      expect(problemAt(c, '/zones/3/name')?.message).toMatch(/reserved/);
      expect(problemAt(c, '/zones/4/name')?.message).toBe('duplicate zone "vpc-a"');
    });

    it('unknown zone and duplicate interface name', () => {
      const c = base();
      c.interfaces[2].zone = 'nowhere';
      c.interfaces.push({ name: 'vpc0', role: 'vpc', zone: 'vpc-a' });
      expect(problemAt(c, '/interfaces/2/zone')?.message).toBe('unknown zone "nowhere"');
      expect(problemAt(c, '/interfaces/3/name')?.message).toBe('duplicate interface "vpc0"');
    });

    it('dhcp only on ccnn, and not together with static addresses', () => {
      const c = base();
      c.interfaces[1].dhcp = true;
      expect(paths(c)).toEqual(expect.arrayContaining(['/interfaces/1/dhcp', '/interfaces/1/addresses']));
      const ok = base();
      ok.interfaces[0] = { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', dhcp: true };
      ok.nat!.one_to_one = [];
      ok.routes!.static = [{ id: 'default', destination: '0.0.0.0/0', via: '100.64.0.1', interface: 'ccnn0' }];
      expect(verifyConfig(ok)).toEqual([]);
    });

    it.each([
      ['10.1.0.300/24', /not an address with a prefix length/],
      ['10.1.0.1', /not an address with a prefix length/],
      ['10.1.0.1/33', /not an address with a prefix length/],
      ['10.1.0.0/24', /network or broadcast/],
      ['10.1.0.255/24', /network or broadcast/],
    ])('interface address %s is refused', (address, message) => {
      const c = base();
      c.interfaces[1].addresses = [address];
      c.nat!.port_forwards = [];
      expect(problemAt(c, '/interfaces/1/addresses/0')?.message).toMatch(message);
    });

    it('/31 and /32 have no network or broadcast address to refuse', () => {
      const c = base();
      c.interfaces[2].addresses = ['10.2.0.0/31'];
      c.nat!.one_to_one = [];
      expect(verifyConfig(c)).toEqual([]);
    });

    it('overlapping subnets, across interfaces and on one interface', () => {
      const c = base();
      c.interfaces[2].addresses = ['10.1.0.200/25'];
      expect(problemAt(c, '/interfaces/2/addresses/0')?.message).toBe('subnet of "10.1.0.200/25" overlaps the subnet at /interfaces/1/addresses/0 on vpc0');
      const same = base();
      same.interfaces[0].addresses = ['100.64.0.2/24', '100.64.0.3/24'];
      expect(paths(same)).toContain('/interfaces/0/addresses/1');
      // IPv4 and IPv6 never overlap.
      const mixed = base();
      mixed.interfaces[2].addresses = ['10.2.0.1/24', 'fd00:2::1/64'];
      expect(verifyConfig(mixed)).toEqual([]);
    });
  });

  describe('policies', () => {
    it('unknown zones, self-pairs, duplicate names and zone pairs', () => {
      const c = base();
      c.firewall!.policies.push(
        { name: 'a-to-b', from: 'vpc-b', to: 'vpc-a', rules: [] },
        { name: 'again', from: 'vpc-a', to: 'vpc-b', rules: [] },
        { name: 'loop', from: 'vpc-a', to: 'vpc-a', rules: [] },
        { name: 'ghost', from: 'mars', to: 'venus', rules: [] },
      );
      const found = verifyConfig(c);
      expect(found).toContainEqual({ path: '/firewall/policies/1/name', message: 'duplicate policy "a-to-b"' });
      expect(found).toContainEqual({ path: '/firewall/policies/2/to', message: 'duplicate policy for zone pair "vpc-a -> vpc-b"' });
      expect(found.find((p) => p.path === '/firewall/policies/3/to')?.message).toMatch(/two different zones/);
      expect(found).toContainEqual({ path: '/firewall/policies/4/from', message: 'unknown zone "mars"' });
      expect(found.find((p) => p.path === '/firewall/policies/4/to')?.message).toMatch(/unknown zone "venus".*self/);
    });

    it('"self" is a valid destination zone', () => {
      const c = base();
      c.firewall!.policies.push({ name: 'a-to-router', from: 'vpc-a', to: 'self', rules: [] });
      expect(verifyConfig(c)).toEqual([]);
    });

    it('ids are unique across rules, NAT and routes', () => {
      const c = base();
      c.firewall!.policies[0].rules.push({ id: 'r1', action: 'drop' });
      c.routes!.static.push({ id: 'web', destination: '192.168.0.0/16', via: '10.2.0.254' });
      const found = verifyConfig(c);
      expect(found).toContainEqual({ path: '/firewall/policies/0/rules/1/id', message: 'id "r1" is already used at /firewall/policies/0/rules/0/id' });
      expect(found).toContainEqual({ path: '/routes/static/1/id', message: 'id "web" is already used at /nat/port_forwards/0/id' });
    });
  });

  describe('NAT', () => {
    it('unknown interfaces and snat/masquerade addresses', () => {
      const c = base();
      c.nat!.egress = [
        { id: 'e1', sources: ['vpc-a'], interface: 'eth9' },
        { id: 'e2', sources: ['vpc-b'], interface: 'ccnn0', mode: 'snat' },
        { id: 'e3', sources: ['vpc-b'], interface: 'ccnn0', mode: 'masquerade', to_address: '100.64.0.9' },
        { id: 'e4', sources: ['vpc-b'], interface: 'ccnn0', mode: 'snat', to_address: '100.64.0.999' },
      ];
      const found = verifyConfig(c);
      expect(found).toContainEqual({ path: '/nat/egress/0/interface', message: 'unknown interface "eth9"' });
      expect(found).toContainEqual({ path: '/nat/egress/1/to_address', message: 'mode snat needs to_address' });
      expect(found).toContainEqual({ path: '/nat/egress/2/to_address', message: 'to_address is only for mode snat' });
      expect(found).toContainEqual({ path: '/nat/egress/3/to_address', message: '"100.64.0.999" is not an IP address' });
    });

    it('a NAT target is never the router itself, whichever interface holds the address', () => {
      const c = base();
      c.nat!.port_forwards![0].to_address = '10.1.0.1';
      c.nat!.one_to_one![0].internal = '10.2.0.1';
      expect(problemAt(c, '/nat/port_forwards/0/to_address')?.message).toBe("10.1.0.1 is the router's own address (on vpc0); a NAT target must be a host behind the router");
      expect(problemAt(c, '/nat/one_to_one/0/internal')?.message).toBe("10.2.0.1 is the router's own address (on vpc1); a NAT target must be a host behind the router");
      const v6 = base();
      v6.nat!.port_forwards![0].to_address = 'fd00:1:0::1';
      expect(problemAt(v6, '/nat/port_forwards/0/to_address')?.message).toMatch(/router's own address \(on vpc0\)/);
      const neighbour = base();
      neighbour.nat!.port_forwards![0].to_address = '10.1.0.2';
      expect(verifyConfig(neighbour)).toEqual([]);
    });

    it('port forwards go to a VPC, with sane ports, once', () => {
      const c = base();
      const web = c.nat!.port_forwards![0];
      c.nat!.port_forwards = [
        web,
        { ...web, id: 'web2' },
        { ...web, id: 'out', port: 9000, to_address: '100.64.0.50' },
        { ...web, id: 'range', port: '9000-8000' },
        { ...web, id: 'ranged', port: '7000-7010', to_port: 80 },
      ];
      const found = verifyConfig(c);
      expect(found).toContainEqual({ path: '/nat/port_forwards/1/port', message: 'duplicate port forward "ccnn0/*/tcp/8080"' });
      expect(found.find((p) => p.path === '/nat/port_forwards/2/to_address')?.message).toMatch(/not in the subnet of any vpc or dx interface/);
      expect(found.find((p) => p.path === '/nat/port_forwards/3/port')?.message).toBe('"9000-8000" is a reversed range: the first port is above the last (did you mean 8000-9000?)');
      expect(found.find((p) => p.path === '/nat/port_forwards/4/to_port')?.message).toMatch(/cannot be combined with a port range/);
    });

    it('1:1 NAT: internal in a VPC, each address once', () => {
      const c = base();
      c.nat!.one_to_one = [
        { id: 'n1', interface: 'ccnn0', external: '100.64.0.10', internal: '10.2.0.10' },
        { id: 'n2', interface: 'ccnn0', external: '100.64.0.10', internal: '10.2.0.10' },
        { id: 'n3', interface: 'ccnn0', external: '100.64.0.11', internal: '172.16.0.1' },
      ];
      const found = verifyConfig(c);
      expect(found).toContainEqual({ path: '/nat/one_to_one/1/external', message: 'duplicate external address "100.64.0.10"' });
      expect(found).toContainEqual({ path: '/nat/one_to_one/1/internal', message: 'duplicate internal address "10.2.0.10"' });
      expect(found.find((p) => p.path === '/nat/one_to_one/2/internal')?.message).toMatch(/172\.16\.0\.1 is not in the subnet/);
    });
  });

  describe('static routes', () => {
    const withRoute = (route: Record<string, unknown>) => {
      const c = base();
      c.routes!.static.push({ id: 'extra', ...route } as StaticRoute);
      return c;
    };

    it.each([
      [{ destination: '192.168.1.1/16', via: '10.2.0.254' }, '/routes/static/1/destination', /host bits set/],
      [{ destination: '10.0.0.5-10.0.0.9', via: '10.2.0.254' }, '/routes/static/1/destination', /not a network/],
      [{ destination: '192.168.0.0/16' }, '/routes/static/1', /needs via, interface, or blackhole/],
      [{ destination: '192.168.0.0/16', via: '172.16.0.1' }, '/routes/static/1/via', /not in any connected subnet/],
      [{ destination: '192.168.0.0/16', via: 'fd00:1::fe' }, '/routes/static/1/via', /different address families/],
      [{ destination: '192.168.0.0/16', interface: 'eth7' }, '/routes/static/1/interface', /unknown interface "eth7"/],
      [{ destination: '192.168.0.0/16', blackhole: true, via: '10.2.0.254' }, '/routes/static/1/blackhole', /no via or interface/],
      [{ destination: '0.0.0.0/0', via: '10.2.0.254' }, '/routes/static/1/destination', /duplicate route/],
    ])('%j is refused at its path', (route, path, message) => {
      expect(problemAt(withRoute(route), path)?.message).toMatch(message);
    });

    it('accepts on-link next hops, named interfaces, blackholes and a second metric', () => {
      expect(verifyConfig(withRoute({ destination: '192.168.0.0/16', via: '10.2.0.254' }))).toEqual([]);
      expect(verifyConfig(withRoute({ destination: '192.168.0.0/16', via: '172.16.0.1', interface: 'vpc1' }))).toEqual([]);
      expect(verifyConfig(withRoute({ destination: '192.168.0.0/16', blackhole: true }))).toEqual([]);
      expect(verifyConfig(withRoute({ destination: '0.0.0.0/0', via: '10.2.0.254', metric: 100 }))).toEqual([]);
      expect(verifyConfig(withRoute({ destination: 'fd00:9::/48', via: 'fd00:1::fe' }))).toEqual([]);
    });
  });

  it('system.api_zones must name zones', () => {
    const c = base();
    c.system = { api_zones: ['ccnn', 'dmz'] };
    expect(verifyConfig(c)).toEqual([{ path: '/system/api_zones/1', message: 'unknown zone "dmz"' }]);
  });

  it('reports every problem, not just the first', () => {
    const c = base();
    c.interfaces[1].zone = 'x';
    c.interfaces[2].zone = 'y';
    c.routes!.static[0].interface = 'eth9';
    expect(paths(c)).toEqual(expect.arrayContaining(['/interfaces/1/zone', '/interfaces/2/zone', '/routes/static/0/interface']));
  });
});

describe('validateConfig (the shape check before verify)', () => {
  const rejected = (doc: unknown) => {
    try {
      validateConfig(doc);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigRejected);
      return (error as ConfigRejected).problems;
    }
    throw new Error('expected the document to be rejected');
  };

  it('accepts the base document', () => {
    expect(validateConfig(base())).toEqual(base());
  });

  it('names the path of wrong types, unknown fields and missing fields', () => {
    const c = base() as any;
    c.interfaces[1].mtu = 'big';
    c.interfaces[0].colour = 'blue';
    delete c.zones[2].name;
    const found = rejected(c).map((p) => p.path);
    expect(found).toEqual(expect.arrayContaining(['/interfaces/1/mtu', '/interfaces/0/colour', '/zones/2/name']));
  });

  it('reports a failing union once per path', () => {
    const c = base() as any;
    c.firewall.policies[0].rules[0].action = 'allow';
    const found = rejected(c).filter((p) => p.path === '/firewall/policies/0/rules/0/action');
    expect(found).toHaveLength(1);
  });
});
